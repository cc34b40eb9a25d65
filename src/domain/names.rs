//! Names that clients choose, checked once at the edge.
//!
//! The rules are exactly what the spec's patterns say (see the `*_PATTERN`
//! constants), so a client generating valid requests from the spec is never
//! refused: names are stored as sent (no trimming), must contain a visible
//! character, no C0/C1 control characters, and must not be a hyphenated UUID.

use crate::error::ApiError;

/// The case-insensitive lookup key of a name, username or email.
pub fn normalize_key(raw: &str) -> String {
    raw.to_lowercase()
}

/// A hyphenated UUID (any case) — the only spelling that identifies by id.
pub fn parse_uuid(raw: &str) -> Option<uuid::Uuid> {
    if raw.len() == 36 {
        uuid::Uuid::try_parse(raw).ok()
    } else {
        None
    }
}

/// Group names: see the module docs.
pub const NAME_PATTERN: &str = r"^(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)(?=.*\S)[^\u0000-\u001F\u007F-\u009F]+$";
/// Usernames: as names, and without `@` (which marks an email identifier).
pub const USERNAME_PATTERN: &str = r"^(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)(?=.*\S)[^@\u0000-\u001F\u007F-\u009F]+$";
/// First and last names: no control characters.
pub const PERSON_NAME_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}')
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::validation(format!("{field} {why}")).detail("field", field.into())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if chars > max {
        return Err(invalid(field, &format!("is longer than {max} characters")));
    }
    if value.chars().any(is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_name(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    check_text(field, value, max)?;
    if value.chars().all(char::is_whitespace) {
        return Err(invalid(field, "must contain a visible character"));
    }
    if parse_uuid(value).is_some() {
        return Err(invalid(field, "must not be a UUID"));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
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
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let value = raw.unwrap_or("");
        if value.chars().count() > 1000 {
            return Err(invalid("description", "is longer than 1000 characters"));
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
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        check_name("username", raw, 255)?;
        if raw.contains('@') {
            return Err(invalid("username", "must not contain '@'"));
        }
        Ok(Self(raw.to_owned()))
    }
}

#[derive(Debug, Clone)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
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
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Self, ApiError> {
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
        assert!(GroupName::parse(" padded ").is_ok());
    }

    #[test]
    fn usernames_cannot_look_like_emails() {
        assert!(Username::parse("t@durden").is_err());
        assert!(Username::parse("t/durden").is_ok());
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
