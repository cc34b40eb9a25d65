//! SCIM 2.0 resources (RFC 7643) as Rollcall stores them: the attributes of
//! `User` and `Group` it keeps, how a client's JSON becomes them, and how
//! they read back. Plain values; no HTTP, no queries.

pub mod filter;
pub mod patch;

use serde_json::{json, Map, Value};

use super::{check_plain_text, Email, GroupName, PersonName};
use crate::error::Error;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Longest `displayName`, `externalId`, email `type` and `userName` kept.
pub const MAX_TEXT: usize = 256;
/// Most member values one request may name (POST, PUT or PATCH of a group).
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn schema(self) -> &'static str {
        match self {
            Kind::User => USER_SCHEMA,
            Kind::Group => GROUP_SCHEMA,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    /// The canonical spelling of a top-level attribute, matched
    /// case-insensitively; `None` for one Rollcall does not store.
    pub fn attribute(self, raw: &str) -> Option<&'static str> {
        let names: &[&'static str] = match self {
            Kind::User => &["id", "externalId", "meta", "schemas", "userName", "name", "displayName", "emails", "active", "groups"],
            Kind::Group => &["id", "externalId", "meta", "schemas", "displayName", "members"],
        };
        names.iter().copied().find(|n| n.eq_ignore_ascii_case(raw))
    }

    /// The canonical spelling of a sub-attribute of `attr`.
    pub fn sub_attribute(self, attr: &str, raw: &str) -> Option<&'static str> {
        let subs: &[&'static str] = match (self, attr) {
            (Kind::User, "name") => &["givenName", "familyName"],
            (Kind::User, "emails") => &["value", "type", "primary"],
            (Kind::User, "groups") => &["value", "$ref", "display", "type"],
            (Kind::User, "meta") | (Kind::Group, "meta") => &["resourceType", "created", "lastModified", "location", "version"],
            (Kind::Group, "members") => &["value", "$ref", "type"],
            _ => &[],
        };
        subs.iter().copied().find(|n| n.eq_ignore_ascii_case(raw))
    }

    /// Attributes a client cannot write (RFC 7643 `mutability: readOnly`).
    pub fn is_read_only(self, attr: &str) -> bool {
        matches!(attr, "id" | "meta" | "schemas" | "groups")
    }

    /// Whether the attribute holds several values.
    pub fn is_multi_valued(self, attr: &str) -> bool {
        matches!(attr, "emails" | "groups" | "members")
    }
}

pub(crate) fn scim_error(scim_type: &str, message: impl Into<String>) -> Error {
    Error::validation(message.into()).detail("scimType", scim_type.into())
}

fn invalid_value(message: impl Into<String>) -> Error {
    scim_error("invalidValue", message)
}

/// A member of a JSON object by its name, matched case-insensitively (SCIM's rule).
pub fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The body as an object whose `schemas` lists `urn`; else 400 `invalidSyntax`.
pub fn message<'a>(body: &'a Value, urn: &str, what: &str) -> Result<&'a Map<String, Value>, Error> {
    let Value::Object(object) = body else {
        return Err(scim_error("invalidSyntax", format!("The body must be {what} (a JSON object)")));
    };
    let listed = field(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))));
    if !listed {
        return Err(scim_error("invalidSyntax", format!("schemas must list {urn}")));
    }
    Ok(object)
}

/// A request body's resource: its `schemas` must name the resource's core
/// schema; its attribute names are made canonical (unknown ones are dropped:
/// Rollcall does not store them, and `/Schemas` says what it stores).
pub fn canonical_resource(kind: Kind, body: &Value) -> Result<Map<String, Value>, Error> {
    let object = message(body, kind.schema(), &format!("a {} resource", kind.name()))?;
    let mut out = Map::new();
    for (key, value) in object {
        let key = key.strip_prefix(kind.schema()).and_then(|k| k.strip_prefix(':')).unwrap_or(key);
        if let Some(name) = kind.attribute(key) {
            if kind.is_read_only(name) {
                continue;
            }
            if out.insert(name.to_owned(), canonical_value(kind, name, value.clone())).is_some() {
                return Err(scim_error("invalidSyntax", format!("{name} is given twice (attribute names are case-insensitive)")));
            }
        }
    }
    Ok(out)
}

/// The value with its sub-attribute names made canonical (unknown ones dropped).
pub fn canonical_value(kind: Kind, attr: &str, value: Value) -> Value {
    let fix = |v: Value| match v {
        Value::Object(o) => {
            Value::Object(o.into_iter().filter_map(|(k, v)| kind.sub_attribute(attr, &k).map(|k| (k.to_owned(), v))).collect())
        }
        other => other,
    };
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(fix).collect()),
        other => fix(other),
    }
}

/// A boolean as identity providers send it: `true`, or the strings `"True"` / `"false"`.
pub fn boolean(field: &str, value: &Value) -> Result<bool, Error> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid_value(format!("{field} must be a boolean"))),
    }
}

fn text(field: &str, value: Option<&Value>) -> Result<Option<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            check_plain_text(field, s).map_err(|e| invalid_value(e.message.to_string()))?;
            if s.trim() != s || s.is_empty() || s.chars().count() > MAX_TEXT {
                return Err(invalid_value(format!("{field} must have 1 to {MAX_TEXT} characters without leading or trailing spaces")));
            }
            Ok(Some(s.clone()))
        }
        Some(_) => Err(invalid_value(format!("{field} must be a string"))),
    }
}

fn with_field(e: Error, field: &str) -> Error {
    let scim_type = e.details.get("scimType").cloned().unwrap_or_else(|| "invalidValue".into());
    Error::validation(e.message.to_string()).detail("scimType", scim_type).detail("field", field.into())
}

/// A SCIM User as Rollcall stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub email: String,
    pub email_type: Option<String>,
    pub email_primary: Option<bool>,
    pub active: bool,
    pub external_id: Option<String>,
}

impl ScimUser {
    /// From canonical attributes ([`canonical_resource`]): `userName` and
    /// exactly one email are required (Rollcall keeps one email per user);
    /// `active` is true unless given.
    pub fn from_attributes(attrs: &Map<String, Value>) -> Result<Self, Error> {
        let user_name = text("userName", attrs.get("userName"))?.ok_or_else(|| invalid_value("userName is required"))?;
        let (given_name, family_name) = match attrs.get("name") {
            None | Some(Value::Null) => (None, None),
            Some(Value::Object(name)) => {
                let part = |field: &str, key: &str| -> Result<Option<String>, Error> {
                    let raw = text(field, name.get(key))?;
                    Ok(PersonName::parse(field, raw.as_deref()).map_err(|e| with_field(e, field))?.into_inner())
                };
                (part("name.givenName", "givenName")?, part("name.familyName", "familyName")?)
            }
            Some(_) => return Err(invalid_value("name must be an object")),
        };
        let emails = match attrs.get("emails") {
            Some(Value::Array(list)) => list.clone(),
            Some(Value::Object(one)) => vec![Value::Object(one.clone())],
            None | Some(Value::Null) => vec![],
            Some(_) => return Err(invalid_value("emails must be an array")),
        };
        let [email] = emails.as_slice() else {
            return Err(invalid_value(format!("Rollcall keeps exactly one email per user; {} given", emails.len()))
                .detail("field", "emails".into()));
        };
        let Value::Object(email) = email else { return Err(invalid_value("Each email must be an object")) };
        let value = text("emails.value", email.get("value"))?.ok_or_else(|| invalid_value("emails.value is required"))?;
        let value = Email::parse(&value).map_err(|e| with_field(e, "emails.value"))?.as_str().to_owned();
        let email_type = text("emails.type", email.get("type"))?;
        let email_primary = match email.get("primary") {
            None | Some(Value::Null) => None,
            Some(v) => Some(boolean("emails.primary", v)?),
        };
        let active = match attrs.get("active") {
            None | Some(Value::Null) => true,
            Some(v) => boolean("active", v)?,
        };
        Ok(Self {
            user_name,
            given_name,
            family_name,
            display_name: text("displayName", attrs.get("displayName"))?,
            email: value,
            email_type,
            email_primary,
            active,
            external_id: text("externalId", attrs.get("externalId"))?,
        })
    }

    /// The writable attributes, as a client reads them back.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(e) = &self.external_id {
            out.insert("externalId".into(), json!(e));
        }
        out.insert("userName".into(), json!(self.user_name));
        let mut name = Map::new();
        if let Some(g) = &self.given_name {
            name.insert("givenName".into(), json!(g));
        }
        if let Some(f) = &self.family_name {
            name.insert("familyName".into(), json!(f));
        }
        if !name.is_empty() {
            out.insert("name".into(), Value::Object(name));
        }
        if let Some(d) = &self.display_name {
            out.insert("displayName".into(), json!(d));
        }
        let mut email = Map::new();
        email.insert("value".into(), json!(self.email));
        if let Some(t) = &self.email_type {
            email.insert("type".into(), json!(t));
        }
        if let Some(p) = self.email_primary {
            email.insert("primary".into(), json!(p));
        }
        out.insert("emails".into(), json!([email]));
        out.insert("active".into(), json!(self.active));
        out
    }
}

/// A SCIM Group as Rollcall stores it (members apart: see [`patch::MemberChange`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroup {
    pub display_name: String,
    pub external_id: Option<String>,
}

impl ScimGroup {
    pub fn from_attributes(attrs: &Map<String, Value>) -> Result<Self, Error> {
        let name = text("displayName", attrs.get("displayName"))?.ok_or_else(|| invalid_value("displayName is required"))?;
        Ok(Self { display_name: name, external_id: text("externalId", attrs.get("externalId"))? })
    }

    pub fn attributes(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(e) = &self.external_id {
            out.insert("externalId".into(), json!(e));
        }
        out.insert("displayName".into(), json!(self.display_name));
        out
    }

    /// The Rollcall name of a group with this displayName, and whether the
    /// displayName must be kept apart: a UUID-shaped one (which group names
    /// cannot be, so that identifiers stay unambiguous) names the group
    /// `<displayName> (SCIM)`.
    pub fn group_name(&self) -> Result<(GroupName, Option<String>), Error> {
        match GroupName::parse(&self.display_name) {
            Ok(name) => Ok((name, None)),
            Err(_) => {
                let name = GroupName::parse(&format!("{} (SCIM)", self.display_name)).map_err(|e| with_field(e, "displayName"))?;
                Ok((name, Some(self.display_name.clone())))
            }
        }
    }
}

/// The member values of a `members` attribute: `[{"value": id}, …]` (a bare
/// object or id string is taken as one).
pub fn member_values(value: &Value) -> Result<Vec<String>, Error> {
    let one = |v: &Value| -> Result<String, Error> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => match field(o, "value") {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(invalid_value("Each member must have a string value")),
            },
            _ => Err(invalid_value("Each member must be an object with a value")),
        }
    };
    let values = match value {
        Value::Array(items) => items.iter().map(one).collect::<Result<Vec<_>, _>>()?,
        Value::Null => vec![],
        other => vec![one(other)?],
    };
    if values.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(scim_error("invalidValue", format!("At most {MAX_MEMBERS_PER_REQUEST} members per request")));
    }
    Ok(values)
}
