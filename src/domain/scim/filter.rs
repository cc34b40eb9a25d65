//! SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2): parsed
//! into a tree, never evaluated here. Every operator of the RFC, `and`/`or`
//! (`and` binding tighter), `not (…)`, grouping and value paths such as
//! `emails[type eq "work"]`. Attribute names and operators are matched
//! case-insensitively; a URN prefix names the attribute's schema.

use crate::error::Error;

/// Longest filter accepted, and deepest nesting.
pub const MAX_FILTER_LEN: usize = 4096;
pub const MAX_DEPTH: usize = 32;

/// `[schema:]name[.sub]`, as written (names are compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `urn:…:User:name.givenName`, `name.givenName` or `userName`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (schema, rest) = match raw.rfind(':') {
            Some(i) if raw[..i].to_ascii_lowercase().starts_with("urn:") => (Some(raw[..i].to_owned()), &raw[i + 1..]),
            Some(_) => return Err(format!("'{raw}' is not an attribute path")),
            None => (None, raw),
        };
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        let valid = |s: &str| {
            let mut chars = s.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !valid(name) || sub.is_some_and(|s| !valid(s)) {
            return Err(format!("'{raw}' is not an attribute path"));
        }
        Ok(Self { schema, name: name.to_owned(), sub: sub.map(str::to_owned) })
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}:")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`,
    /// whose paths name its sub-attributes.
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH operation's `path`: an attribute, or the values of a multi-valued
/// one that a filter selects, optionally one sub-attribute of them.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after `[…]` (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(f64),
    Open,
    Close,
    LBracket,
    RBracket,
}

fn invalid(why: impl Into<String>) -> Error {
    Error::validation(why.into()).detail("scimType", "invalidFilter".into())
}

fn tokenize(raw: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1
            }
            ')' => {
                out.push(Token::Close);
                i += 1
            }
            '[' => {
                out.push(Token::LBracket);
                i += 1
            }
            ']' => {
                out.push(Token::RBracket);
                i += 1
            }
            '"' => {
                // A JSON string, escapes included.
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(invalid("A string in the filter is not closed"));
                }
                let text: String = chars[start..=i].iter().collect();
                let value: String = serde_json::from_str(&text).map_err(|_| invalid("A string in the filter is not valid JSON"))?;
                out.push(Token::Str(value));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '\n' | '\r' | '(' | ')' | '[' | ']' | '"') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                    let n: f64 = word.parse().map_err(|_| invalid(format!("'{word}' is not a number")))?;
                    out.push(Token::Num(n));
                } else {
                    out.push(Token::Word(word));
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid(format!("The filter nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, Error> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, Error> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn group(&mut self) -> Result<Filter, Error> {
        self.deeper()?;
        let inner = self.or()?;
        match self.next() {
            Some(Token::Close) => {}
            _ => return Err(invalid("A '(' in the filter is not closed")),
        }
        self.depth -= 1;
        Ok(inner)
    }

    fn unary(&mut self) -> Result<Filter, Error> {
        if self.keyword("not") && matches!(self.tokens.get(self.at + 1), Some(Token::Open)) {
            self.at += 2;
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        match self.next() {
            Some(Token::Open) => self.group(),
            Some(Token::Word(w)) => {
                let attr = AttrPath::parse(&w).map_err(invalid)?;
                if matches!(self.peek(), Some(Token::LBracket)) {
                    self.at += 1;
                    self.deeper()?;
                    let inner = self.or()?;
                    match self.next() {
                        Some(Token::RBracket) => {}
                        _ => return Err(invalid("A '[' in the filter is not closed")),
                    }
                    self.depth -= 1;
                    return Ok(Filter::ValuePath(attr, Box::new(inner)));
                }
                let op = match self.next() {
                    Some(Token::Word(op)) => op,
                    _ => return Err(invalid(format!("An operator must follow {w}"))),
                };
                if op.eq_ignore_ascii_case("pr") {
                    return Ok(Filter::Present(attr));
                }
                let op = CompareOp::parse(&op).ok_or_else(|| invalid(format!("'{op}' is not a filter operator")))?;
                let value = match self.next() {
                    Some(Token::Str(s)) => CompValue::Str(s),
                    Some(Token::Num(n)) => CompValue::Num(n),
                    Some(Token::Word(v)) if v.eq_ignore_ascii_case("true") => CompValue::Bool(true),
                    Some(Token::Word(v)) if v.eq_ignore_ascii_case("false") => CompValue::Bool(false),
                    Some(Token::Word(v)) if v.eq_ignore_ascii_case("null") => CompValue::Null,
                    _ => return Err(invalid(format!("A value (string, number, true, false or null) must follow {w} {op:?}"))),
                };
                Ok(Filter::Compare(attr, op, value))
            }
            _ => Err(invalid("The filter is not a valid SCIM filter")),
        }
    }
}

/// Parses a filter; 400 `invalidFilter` saying what is wrong.
pub fn parse(raw: &str) -> Result<Filter, Error> {
    if raw.len() > MAX_FILTER_LEN {
        return Err(invalid(format!("The filter is longer than {MAX_FILTER_LEN} bytes")));
    }
    let mut p = Parser { tokens: tokenize(raw)?, at: 0, depth: 0 };
    if p.tokens.is_empty() {
        return Err(invalid("The filter is empty"));
    }
    let filter = p.or()?;
    if p.at != p.tokens.len() {
        return Err(invalid("The filter has text after its end"));
    }
    Ok(filter)
}

/// Parses a PATCH path; 400 `invalidPath`.
pub fn parse_path(raw: &str) -> Result<PatchPath, Error> {
    let bad = |why: String| Error::validation(why).detail("scimType", "invalidPath".into());
    let raw = raw.trim();
    let Some(open) = raw.find('[') else {
        return Ok(PatchPath { attr: AttrPath::parse(raw).map_err(bad)?, filter: None, sub: None });
    };
    let close = raw.rfind(']').ok_or_else(|| bad(format!("The path '{raw}' has a '[' without ']'")))?;
    let attr = AttrPath::parse(&raw[..open]).map_err(bad)?;
    if attr.sub.is_some() {
        return Err(bad(format!("The path '{raw}' filters a sub-attribute")));
    }
    let filter = parse(&raw[open + 1..close]).map_err(|e| bad(e.message.to_string()))?;
    let rest = &raw[close + 1..];
    let sub = match rest.strip_prefix('.') {
        Some(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_') => Some(s.to_owned()),
        None if rest.is_empty() => None,
        _ => return Err(bad(format!("The path '{raw}' has text after its ']'"))),
    };
    Ok(PatchPath { attr, filter: Some(filter), sub })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(name: &str, op: CompareOp, v: &str) -> Filter {
        Filter::Compare(AttrPath::parse(name).unwrap(), op, CompValue::Str(v.into()))
    }

    #[test]
    fn precedence_grouping_and_value_paths() {
        let f = parse(r#"userName eq "a" or userName eq "b" and not (active eq false)"#).unwrap();
        let expected = Filter::Or(
            Box::new(cmp("userName", CompareOp::Eq, "a")),
            Box::new(Filter::And(
                Box::new(cmp("userName", CompareOp::Eq, "b")),
                Box::new(Filter::Not(Box::new(Filter::Compare(AttrPath::parse("active").unwrap(), CompareOp::Eq, CompValue::Bool(false))))),
            )),
        );
        assert_eq!(f, expected);
        let f = parse(r#"emails[type eq "work" and value co "@x.org"] AND meta.lastModified GT "2020-01-01T00:00:00Z""#).unwrap();
        assert!(matches!(f, Filter::And(ref l, _) if matches!(**l, Filter::ValuePath(..))));
        assert!(parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName sw "O\"B""#).is_ok());
    }

    #[test]
    fn syntax_errors() {
        for bad in ["", "userName", "userName eq", "userName zz \"a\"", "(userName pr", "userName eq \"a", "a[b eq 1", "userName pr x"] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.details.get("scimType").and_then(|v| v.as_str()), Some("invalidFilter"), "{bad}");
        }
    }

    #[test]
    fn patch_paths() {
        let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert!(p.attr.is("emails") && p.filter.is_some() && p.sub.as_deref() == Some("value"));
        let p = parse_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
        assert!(p.attr.is("members") && p.sub.is_none());
        assert!(parse_path("name.givenName").unwrap().attr.sub.as_deref() == Some("givenName"));
        assert!(parse_path("members[value eq").is_err());
    }
}
