//! Names that clients choose, checked once at the edge, and the one key they
//! are compared by (PRODUCT.md, "Names").
//!
//! The rules are exactly what the spec's patterns say (see the `*_PATTERN`
//! constants), so a client generating valid requests from the spec is never
//! refused. Group names, usernames, emails and person names are stored as
//! sent, and refuse: C0 and C1 control characters (NUL included), the line
//! and paragraph separators, and leading or trailing whitespace (Unicode
//! `White_Space`). Group names and usernames must not be a hyphenated UUID.
//!
//! They are compared, kept unique, looked up and searched by [`normalize_key`]:
//! Unicode `NFKC_Casefold` (compatibility normalization, full case folding,
//! default-ignorable code points removed), computed here with ICU4X so that
//! SQLite and PostgreSQL compare identical stored keys.

use icu_casemap::CaseMapper;
use icu_normalizer::ComposingNormalizer;
use icu_properties::props::DefaultIgnorableCodePoint;
use icu_properties::CodePointSetData;

use crate::error::Error;

/// The lookup key of a name, username or email: `toNFKC_Casefold`, as the
/// Unicode Standard defines it for caseless identifier matching — NFKC, case
/// folding and removal of default-ignorable code points (zero-width spaces,
/// joiners, variation selectors, …), repeated until stable. `Straße`,
/// `STRASSE` and `strasse` share one key; so do NFC and NFD `café`.
pub fn normalize_key(raw: &str) -> String {
    // ASCII is its own NFKC, folds to lowercase and holds no default-ignorable.
    if raw.is_ascii() {
        return raw.to_ascii_lowercase();
    }
    let nfkc = ComposingNormalizer::new_nfkc();
    let fold = CaseMapper::new();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let mut key = nfkc.normalize(raw).into_owned();
    // One round is enough for all but a few characters; the cap only guards.
    for _ in 0..4 {
        let folded: String = fold.fold_string(&key).chars().filter(|c| !ignorable.contains(*c)).collect();
        let next = nfkc.normalize(&folded).into_owned();
        if next == key {
            break;
        }
        key = next;
    }
    key
}

/// A hyphenated UUID (any case) — the only spelling that identifies by id.
pub fn parse_uuid(raw: &str) -> Option<uuid::Uuid> {
    if raw.len() == 36 {
        uuid::Uuid::try_parse(raw).ok()
    } else {
        None
    }
}

/// Group names: see the module docs. `[ \u00A0…]` is Unicode White_Space
/// less the control characters and separators refused anyway.
pub const NAME_PATTERN: &str = r"^(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)(?![ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000])(?!.*[ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]$)[^\u0000-\u001F\u007F-\u009F\u2028\u2029]+$";
/// Usernames: as names, and without `@` (which marks an email identifier)
/// or `/` (which cannot stand in a path segment unencoded).
pub const USERNAME_PATTERN: &str = r"^(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)(?![ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000])(?!.*[ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]$)[^@/\u0000-\u001F\u007F-\u009F\u2028\u2029]+$";
/// First and last names: empty (none), or as names without the UUID rule.
pub const PERSON_NAME_PATTERN: &str = r"^(?:(?![ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000])(?!.*[ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]$)[^\u0000-\u001F\u007F-\u009F\u2028\u2029]+)?$";
/// Emails: the name rules (the address format is checked besides).
pub const EMAIL_PATTERN: &str = r"^(?![ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000])(?!.*[ \u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]$)[^\u0000-\u001F\u007F-\u009F\u2028\u2029]+$";
/// Descriptions: free text; tabs and line breaks allowed, other control
/// characters (NUL included) not.
pub const DESCRIPTION_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// Identifiers and search text in paths and query strings: no control characters.
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}

fn invalid(field: &str, why: &str) -> Error {
    Error::validation(format!("{field} {why}")).detail("field", field.into())
}

/// Identifiers and search text: no control characters (NUL included), the
/// same answer on every backend.
pub fn check_plain_text(field: &str, value: &str) -> Result<(), Error> {
    if value.chars().any(is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), Error> {
    let chars = value.chars().count();
    if chars > max {
        return Err(invalid(field, &format!("is longer than {max} characters")));
    }
    check_plain_text(field, value)?;
    if value.contains(['\u{2028}', '\u{2029}']) {
        return Err(invalid(field, "must not contain line or paragraph separators"));
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(invalid(field, "must not start or end with whitespace"));
    }
    Ok(())
}

fn check_name(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid(field, "must contain a visible character"));
    }
    check_text(field, value, max)?;
    if parse_uuid(value).is_some() {
        return Err(invalid(field, "must not be a UUID"));
    }
    Ok(())
}

/// An account name: the group name rules.
pub fn check_account_name(value: &str) -> Result<(), Error> {
    check_name("account name", value, 255)
}

#[derive(Debug, Clone)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        check_name("name", raw, 255)?;
        Ok(Self(raw.to_owned()))
    }
}

/// `as_str`, and `key`: the case-insensitive lookup key.
macro_rules! name_accessors {
    ($($name:ty),*) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn key(&self) -> String {
                normalize_key(&self.0)
            }
        }
    )*};
}

name_accessors!(GroupName, Username, Email);

#[derive(Debug, Clone)]
pub struct GroupDescription(String);

impl GroupDescription {
    pub fn parse(raw: Option<&str>) -> Result<Self, Error> {
        let value = raw.unwrap_or("");
        if value.chars().count() > 1000 {
            return Err(invalid("description", "is longer than 1000 characters"));
        }
        if value.chars().any(|c| is_control(c) && !matches!(c, '\t' | '\n' | '\r')) {
            return Err(invalid("description", "must not contain control characters other than tabs and line breaks"));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: a name without `@`, so that a user identifier always reads
/// back as the username.
#[derive(Debug, Clone)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        check_name("username", raw, 255)?;
        if raw.contains(['@', '/']) {
            return Err(invalid("username", "must not contain '@' or '/'"));
        }
        Ok(Self(raw.to_owned()))
    }
}

#[derive(Debug, Clone)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() {
            return Err(invalid("email", "is not a valid email address"));
        }
        check_text("email", raw, 320)?;
        if !validator::ValidateEmail::validate_email(&raw) {
            return Err(invalid("email", "is not a valid email address"));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A first or last name: optional, at most 255 characters; empty means none.
#[derive(Debug, Clone)]
pub struct PersonName(Option<String>);

impl PersonName {
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Self, Error> {
        match raw {
            None | Some("") => Ok(Self(None)),
            Some(value) => {
                check_text(field, value, 255)?;
                Ok(Self(Some(value.to_owned())))
            }
        }
    }
    pub fn into_inner(self) -> Option<String> {
        self.0
    }
    /// The search key, when there is a name.
    pub fn key(&self) -> Option<String> {
        self.0.as_deref().map(normalize_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shaped_names_are_refused_but_other_uuid_spellings_are_names() {
        let id = uuid::Uuid::new_v4();
        assert!(GroupName::parse(&id.to_string()).is_err());
        assert!(GroupName::parse(&id.to_string().to_uppercase()).is_err());
        assert!(Username::parse(&id.to_string()).is_err());
        assert!(GroupName::parse(&id.simple().to_string()).is_ok());
        assert!(GroupName::parse("Paper Street Soap Company").is_ok());
    }

    #[test]
    fn names_need_a_visible_character_and_no_control_characters() {
        assert!(GroupName::parse("").is_err());
        assert!(GroupName::parse("   ").is_err());
        assert!(GroupName::parse("a\u{89}").is_err());
        assert!(GroupName::parse("tab\there").is_err());
        assert!(GroupName::parse("nul\0here").is_err());
        assert!(GroupName::parse("line\u{2028}break").is_err());
        assert!(GroupName::parse(" padded").is_err());
        assert!(GroupName::parse("padded ").is_err());
        assert!(GroupName::parse("padded\u{3000}").is_err());
        assert!(GroupName::parse("inner space").is_ok());
        assert!(PersonName::parse("firstName", Some(" Tyler")).is_err());
        assert!(GroupDescription::parse(Some("two\nlines\tand a tab")).is_ok());
        assert!(GroupDescription::parse(Some("nul\0")).is_err());
    }

    #[test]
    fn usernames_cannot_look_like_emails() {
        assert!(Username::parse("t@durden").is_err());
        assert!(Username::parse("t/durden").is_err());
    }

    #[test]
    fn one_key_for_every_spelling_of_a_name() {
        assert_eq!(normalize_key("Straße"), normalize_key("STRASSE"));
        assert_eq!(normalize_key("café"), normalize_key("cafe\u{301}"));
        assert_eq!(normalize_key("Élodie"), "élodie");
        assert_eq!(normalize_key("sta\u{200B}ff"), "staff");
        assert_eq!(normalize_key("ＦＵＬＬ"), "full");
        assert_eq!(normalize_key("ﬁle"), "file");
        assert_eq!(normalize_key("Paper Street"), "paper street");
        for s in ["Straße", "ΣΊΣΥΦΟΣ", "İstanbul", "ǅemal", "㌀"] {
            let key = normalize_key(s);
            assert_eq!(normalize_key(&key), key, "{s}: the key is its own key");
        }
    }

    #[test]
    fn emails_are_checked() {
        assert!(Email::parse("t.durden@fightclub.com").is_ok());
        assert!(Email::parse("not an email").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn limits_count_characters() {
        assert!(GroupName::parse(&"é".repeat(255)).is_ok());
        assert!(GroupName::parse(&"é".repeat(256)).is_err());
        assert!(GroupDescription::parse(Some(&"x".repeat(1001))).is_err());
    }
}
