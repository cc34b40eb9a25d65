//! The vendor client's user search (`users.search(query)`): a `where` clause
//! of its query builder, parsed into an expression over the user model.
//! Every field and operator it can name is either implemented or refused
//! with 400 (never ignored, so a filter cannot silently match everyone).
//!
//! The JSON is the client's `WhereExpression`: an array of expressions, all
//! of which must hold; an expression is `{"and": [...]}`, `{"or": [...]}`,
//! `{"not": {...}}` or `{"field": name, <operator>: value}`.

use chrono::NaiveDateTime;
use serde_json::Value;

use super::{normalize_key, parse_uuid, UserId};
use crate::error::Error;

/// Deepest nesting of `and`/`or`/`not` accepted, and most expressions.
pub const MAX_DEPTH: usize = 16;
pub const MAX_NODES: usize = 256;

/// A searchable field of the user model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    /// Compared by the name key (case-insensitive, as lookups are).
    Username,
    Email,
    FirstName,
    LastName,
    /// Compared as stored.
    Timezone,
    Language,
    Created,
    Modified,
    OptOutOfNotifications,
}

impl Field {
    pub const NAMES: [(&'static str, Field); 13] = [
        ("id", Field::Id),
        ("username", Field::Username),
        ("userName", Field::Username),
        ("email", Field::Email),
        ("firstName", Field::FirstName),
        ("lastName", Field::LastName),
        ("timezone", Field::Timezone),
        ("language", Field::Language),
        ("created", Field::Created),
        ("createdAt", Field::Created),
        ("modified", Field::Modified),
        ("updatedAt", Field::Modified),
        ("optOutOfNotifications", Field::OptOutOfNotifications),
    ];

    fn parse(raw: &str) -> Result<Self, Error> {
        Self::NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(raw)).map(|(_, f)| *f).ok_or_else(|| {
            let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
            invalid(&format!("The field {raw} cannot be searched; searchable: {}", names.join(", ")))
        })
    }

    fn is_text(self) -> bool {
        matches!(self, Field::Username | Field::Email | Field::FirstName | Field::LastName | Field::Timezone | Field::Language)
    }

    /// Whether values are compared by their name key.
    pub fn by_key(self) -> bool {
        matches!(self, Field::Username | Field::Email | Field::FirstName | Field::LastName)
    }
}

/// A value to compare a field with, of the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Id(UserId),
    Time(NaiveDateTime),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Field, Compare, Scalar),
    /// A LIKE pattern (escaped with `\`) over the field.
    Like(Field, String),
    In(Field, Vec<Scalar>),
    Exists(Field, bool),
}

fn invalid(message: &str) -> Error {
    Error::validation(message.to_owned()).detail("field", "where".into())
}

/// The `where` clause as the client sends it (an array; an object is one expression).
pub fn parse_where(value: &Value) -> Result<Expr, Error> {
    let mut nodes = 0;
    match value {
        Value::Array(items) => Ok(Expr::And(items.iter().map(|e| parse_expr(e, 0, &mut nodes)).collect::<Result<_, _>>()?)),
        Value::Null => Ok(Expr::And(Vec::new())),
        other => parse_expr(other, 0, &mut nodes),
    }
}

fn parse_expr(value: &Value, depth: usize, nodes: &mut usize) -> Result<Expr, Error> {
    *nodes += 1;
    if depth > MAX_DEPTH || *nodes > MAX_NODES {
        return Err(invalid(&format!("The where clause may nest {MAX_DEPTH} deep and hold {MAX_NODES} expressions")));
    }
    let Value::Object(object) = value else { return Err(invalid("Each where expression is a JSON object")) };
    let list = |v: &Value, nodes: &mut usize| -> Result<Vec<Expr>, Error> {
        match v {
            Value::Array(items) => items.iter().map(|e| parse_expr(e, depth + 1, nodes)).collect(),
            _ => Err(invalid("and / or take an array of expressions")),
        }
    };
    if let Some(v) = object.get("and") {
        return Ok(Expr::And(list(v, nodes)?));
    }
    if let Some(v) = object.get("or") {
        return Ok(Expr::Or(list(v, nodes)?));
    }
    if let Some(v) = object.get("not") {
        let inner = match v {
            Value::Array(items) if items.len() == 1 => parse_expr(&items[0], depth + 1, nodes)?,
            other => parse_expr(other, depth + 1, nodes)?,
        };
        return Ok(Expr::Not(Box::new(inner)));
    }
    let field =
        object.get("field").and_then(Value::as_str).ok_or_else(|| invalid("A where expression needs a field (or and / or / not)"))?;
    let field = Field::parse(field)?;
    let operators: Vec<(&String, &Value)> = object.iter().filter(|(k, _)| *k != "field" && *k != "weight").collect();
    let [(operator, operand)] = operators.as_slice() else {
        return Err(invalid("A where expression has exactly one operator"));
    };
    let scalar = |v: &Value| scalar(field, v);
    let text = |v: &Value| -> Result<String, Error> {
        if !field.is_text() {
            return Err(invalid(&format!("{operator} applies to text fields only")));
        }
        let raw = v.as_str().ok_or_else(|| invalid(&format!("{operator} takes a string")))?;
        super::check_plain_text("where", raw)?;
        Ok(escape_like(&if field.by_key() { normalize_key(raw) } else { raw.to_owned() }))
    };
    let compare = |op: Compare| Ok::<_, Error>(Expr::Compare(field, op, scalar(operand)?));
    match operator.as_str() {
        "equalTo" => compare(Compare::Eq),
        "greaterThan" => compare(Compare::Gt),
        "greaterThanOrEqualTo" => compare(Compare::Ge),
        "lessThan" => compare(Compare::Lt),
        "lessThanOrEqualTo" => compare(Compare::Le),
        "between" => match operand {
            Value::Array(pair) if pair.len() == 2 => Ok(Expr::And(vec![
                Expr::Compare(field, Compare::Ge, scalar(&pair[0])?),
                Expr::Compare(field, Compare::Le, scalar(&pair[1])?),
            ])),
            _ => Err(invalid("between takes [minimum, maximum]")),
        },
        "contains" => Ok(Expr::Like(field, format!("%{}%", text(operand)?))),
        "startsWith" => Ok(Expr::Like(field, format!("{}%", text(operand)?))),
        "endsWith" => Ok(Expr::Like(field, format!("%{}", text(operand)?))),
        "in" => match operand {
            Value::Array(values) if values.len() <= MAX_NODES => Ok(Expr::In(field, values.iter().map(scalar).collect::<Result<_, _>>()?)),
            _ => Err(invalid(&format!("in takes an array of at most {MAX_NODES} values"))),
        },
        "exists" => Ok(Expr::Exists(field, operand.as_bool().ok_or_else(|| invalid("exists takes true or false"))?)),
        "freeText" | "distanceWithin" | "where" => Err(invalid(&format!("The operator {operator} is not implemented by Rollcall"))),
        other => Err(invalid(&format!("Unknown operator {other}"))),
    }
}

fn scalar(field: Field, value: &Value) -> Result<Scalar, Error> {
    let wrong = |what: &str| invalid(&format!("The field compares with {what}"));
    match field {
        Field::Id => value.as_str().and_then(parse_uuid).map(|u| Scalar::Id(u.into())).ok_or_else(|| wrong("a user id (UUID)")),
        Field::Created | Field::Modified => value
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| Scalar::Time(t.naive_utc()))
            .ok_or_else(|| wrong("an RFC 3339 time")),
        Field::OptOutOfNotifications => value.as_bool().map(Scalar::Bool).ok_or_else(|| wrong("true or false")),
        text => {
            let raw = value.as_str().ok_or_else(|| wrong("a string"))?;
            super::check_plain_text("where", raw)?;
            Ok(Scalar::Text(if text.by_key() { normalize_key(raw) } else { raw.to_owned() }))
        }
    }
}

/// `raw` for a LIKE pattern with `\` as the escape character.
fn escape_like(raw: &str) -> String {
    raw.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_clients_where_clauses_parse() {
        let e = parse_where(&json!([{"field": "userName", "equalTo": "TDurden"}, {"or": [{"field": "email", "contains": "50%"}, {"not": {"field": "lastName", "exists": true}}]}])).unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                Expr::Compare(Field::Username, Compare::Eq, Scalar::Text("tdurden".into())),
                Expr::Or(vec![Expr::Like(Field::Email, "%50\\%%".into()), Expr::Not(Box::new(Expr::Exists(Field::LastName, true)))]),
            ])
        );
        assert!(parse_where(&json!([{"field": "password", "equalTo": "x"}])).is_err());
        assert!(parse_where(&json!([{"field": "email", "freeText": {"term": "x"}}])).is_err());
        assert!(parse_where(&json!([{"field": "email", "equalTo": "x", "contains": "y"}])).is_err());
        assert!(parse_where(&json!([{"field": "created", "greaterThan": "yesterday"}])).is_err());
        assert!(parse_where(&json!([{"field": "created", "contains": "2020"}])).is_err());
        let deep = (0..40).fold(json!({"field": "email", "exists": true}), |inner, _| json!({"not": inner}));
        assert!(parse_where(&json!([deep])).is_err());
    }
}
