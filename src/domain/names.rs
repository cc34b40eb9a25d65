//! Names that clients choose, checked once at the edge.

use uuid::Uuid;

use crate::error::ApiError;

/// The case-insensitive lookup key of a name, username or email.
pub fn normalize_key(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn check_length(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if chars == 0 || value.trim().is_empty() {
        return Err(ApiError::validation(format!("{field} must not be empty")).detail("field", field.into()));
    }
    if chars > max {
        return Err(
            ApiError::validation(format!("{field} is longer than {max} characters")).detail("field", field.into())
        );
    }
    if value.chars().any(char::is_control) {
        return Err(
            ApiError::validation(format!("{field} must not contain control characters")).detail("field", field.into())
        );
    }
    Ok(())
}

/// A UUID-shaped name would make an identifier ambiguous (PRODUCT.md).
fn refuse_uuid(field: &str, value: &str) -> Result<(), ApiError> {
    if Uuid::try_parse(value.trim()).is_ok() {
        return Err(ApiError::validation(format!("{field} must not be a UUID")).detail("field", field.into()));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let value = raw.trim();
        check_length("name", value, 255)?;
        refuse_uuid("name", value)?;
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        normalize_key(&self.0)
    }
}

#[derive(Debug, Clone)]
pub struct GroupDescription(String);

impl GroupDescription {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let value = raw.unwrap_or("");
        if value.chars().count() > 1000 {
            return Err(ApiError::validation("description is longer than 1000 characters")
                .detail("field", "description".into()));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: not a UUID and without `@`, so that a user identifier always
/// reads back as the username.
#[derive(Debug, Clone)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let value = raw.trim();
        check_length("username", value, 255)?;
        refuse_uuid("username", value)?;
        if value.contains('@') || value.contains('/') {
            return Err(ApiError::validation("username must not contain '@' or '/'")
                .detail("field", "username".into()));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        normalize_key(&self.0)
    }
}

#[derive(Debug, Clone)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let value = raw.trim();
        check_length("email", value, 320)?;
        if !validator::ValidateEmail::validate_email(&value) || value.contains('/') {
            return Err(ApiError::validation("email is not a valid email address").detail("field", "email".into()));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        normalize_key(&self.0)
    }
}

/// A first or last name; optional, at most 255 characters.
#[derive(Debug, Clone)]
pub struct PersonName(Option<String>);

impl PersonName {
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Self(None)),
            Some(value) => {
                check_length(field, value, 255)?;
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
    fn uuid_shaped_names_are_refused() {
        let id = Uuid::new_v4().to_string();
        assert!(GroupName::parse(&id).is_err());
        assert!(Username::parse(&id).is_err());
        assert!(GroupName::parse("Paper Street Soap Company").is_ok());
    }

    #[test]
    fn usernames_cannot_look_like_emails() {
        assert!(Username::parse("t@durden").is_err());
        assert!(Username::parse("tdurden").is_ok());
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
