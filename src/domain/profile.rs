//! The profile fields of the vendor's user and group models: parsed once,
//! stored as sent (the free `custom` object as its JSON text).

use serde_json::Value;

use super::names::check_plain_text;
use crate::error::Error;

/// Largest `custom` object, as JSON text.
pub const CUSTOM_MAX_BYTES: usize = 16 * 1024;
pub const LANGUAGE_PATTERN: &str = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$";
pub const TIMEZONE_PATTERN: &str = r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$";
pub const AVATAR_URL_PATTERN: &str = r"^https?://[^\u0000-\u0020\u007F-\u009F]+$";

fn invalid(field: &str, why: &str) -> Error {
    Error::validation(format!("{field} {why}")).detail("field", field.into())
}

/// A time zone name (`Europe/London`): letters, digits, `_+-`, `/` between parts; up to 64.
pub fn timezone(raw: &str) -> Result<String, Error> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.split('/').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c)));
    ok.then(|| raw.to_owned()).ok_or_else(|| invalid("timezone", "must be a time zone name such as Europe/London"))
}

/// A language tag (BCP 47 shape: `en`, `en-GB`); up to 35.
pub fn language(raw: &str) -> Result<String, Error> {
    let mut parts = raw.split('-');
    let first = parts.next().unwrap_or_default();
    let ok = raw.len() <= 35
        && (2..=8).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    ok.then(|| raw.to_owned()).ok_or_else(|| invalid("language", "must be a language tag such as en-GB"))
}

/// An http(s) URL of up to 2048 characters, without spaces or control characters.
pub fn avatar_url(raw: &str) -> Result<String, Error> {
    check_plain_text("avatarUrl", raw)?;
    let rest = raw.strip_prefix("https://").or_else(|| raw.strip_prefix("http://"));
    let ok = raw.len() <= 2048 && rest.is_some_and(|r| !r.is_empty() && !r.chars().any(|c| c <= ' ' || ('\u{7f}'..='\u{9f}').contains(&c)));
    ok.then(|| raw.to_owned()).ok_or_else(|| invalid("avatarUrl", "must be an http or https URL"))
}

/// A free JSON object, kept as its JSON text (at most 16 KiB).
pub fn custom(value: &Value) -> Result<String, Error> {
    if !value.is_object() {
        return Err(invalid("custom", "must be a JSON object"));
    }
    let text = value.to_string();
    if text.len() > CUSTOM_MAX_BYTES {
        return Err(invalid("custom", &format!("must be at most {CUSTOM_MAX_BYTES} bytes as JSON")));
    }
    Ok(text)
}

/// A user's profile, as a client set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserProfile {
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub avatar_url: Option<String>,
    /// JSON text of an object.
    pub custom: Option<String>,
    pub opt_out_of_notifications: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profile_fields_are_checked() {
        assert!(timezone("Europe/London").is_ok() && timezone("Etc/GMT+1").is_ok());
        assert!(timezone("").is_err() && timezone("Europe//London").is_err() && timezone("a b").is_err());
        assert!(language("en").is_ok() && language("en-GB").is_ok() && language("zh-Hant-TW").is_ok());
        assert!(language("e").is_err() && language("en_GB").is_err() && language("en-").is_err());
        assert!(avatar_url("https://example.com/a.png").is_ok());
        assert!(avatar_url("ftp://x").is_err() && avatar_url("https://a b").is_err() && avatar_url("https://").is_err());
        assert_eq!(custom(&json!({"a": [1]})).unwrap(), r#"{"a":[1]}"#);
        assert!(custom(&json!([1])).is_err() && custom(&json!({"a": "x".repeat(20_000)})).is_err());
    }
}
