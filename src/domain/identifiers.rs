//! How clients name groups and users (PRODUCT.md, "Identifiers").

use uuid::Uuid;

use super::names::{check_plain_text, normalize_key, parse_uuid};
use crate::error::ApiError;

/// A group by id or by (case-insensitive) name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupIdentifier {
    Id(Uuid),
    /// The lowercased lookup key of a name.
    Name(String),
}

impl GroupIdentifier {
    /// A UUID means the id; anything else is the name. Percent-decoding has
    /// already happened in the router.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.is_empty() {
            return Err(ApiError::validation("The group identifier is empty"));
        }
        check_plain_text("groupIdentifier", raw)?;
        Ok(match parse_uuid(raw) {
            Some(id) => Self::Id(id),
            None => Self::Name(normalize_key(raw)),
        })
    }
}

/// A user by id, email (contains `@`) or username, the latter two
/// case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserIdentifier {
    Id(Uuid),
    Email(String),
    Username(String),
}

impl UserIdentifier {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.is_empty() {
            return Err(ApiError::validation("The user identifier is empty"));
        }
        check_plain_text("userIdentifier", raw)?;
        Ok(if let Some(id) = parse_uuid(raw) {
            Self::Id(id)
        } else if raw.contains('@') {
            Self::Email(normalize_key(raw))
        } else {
            Self::Username(normalize_key(raw))
        })
    }
}

pub const MAX_BULK_USERS: usize = 100;

/// The body of a bulk add: 1–100 ids as sent, deduplicated in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdList(Vec<Uuid>);

impl UserIdList {
    /// The limits apply to the array as sent, duplicates included, so the
    /// spec's `minItems`/`maxItems` mean exactly what the server enforces.
    pub fn parse(ids: Vec<Uuid>) -> Result<Self, ApiError> {
        if ids.is_empty() {
            return Err(ApiError::validation("The body must list at least one user id"));
        }
        if ids.len() > MAX_BULK_USERS {
            return Err(ApiError::validation(format!(
                "The body lists {} user ids; at most {MAX_BULK_USERS} are allowed per request",
                ids.len()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        let unique = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        Ok(Self(unique))
    }

    pub fn as_slice(&self) -> &[Uuid] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_identifier_is_an_id_only_when_it_parses_as_a_uuid() {
        let id = Uuid::new_v4();
        assert_eq!(GroupIdentifier::parse(&id.to_string()).unwrap(), GroupIdentifier::Id(id));
        assert_eq!(GroupIdentifier::parse("Paper Street Soap Company").unwrap(), GroupIdentifier::Name("paper street soap company".into()));
        assert!(GroupIdentifier::parse("").is_err());
        assert_eq!(GroupIdentifier::parse(&id.simple().to_string()).unwrap(), GroupIdentifier::Name(id.simple().to_string()));
    }

    #[test]
    fn user_identifier_distinguishes_id_email_and_username() {
        let id = Uuid::new_v4();
        assert_eq!(UserIdentifier::parse(&id.to_string()).unwrap(), UserIdentifier::Id(id));
        assert_eq!(UserIdentifier::parse("T.Durden@FightClub.com").unwrap(), UserIdentifier::Email("t.durden@fightclub.com".into()));
        assert_eq!(UserIdentifier::parse("TDurden").unwrap(), UserIdentifier::Username("tdurden".into()));
    }

    #[test]
    fn user_id_list_counts_duplicates_against_the_limit_then_drops_them() {
        let a = Uuid::new_v4();
        assert!(UserIdList::parse(vec![]).is_err());
        assert!(UserIdList::parse(vec![a; 101]).is_err());
        assert_eq!(UserIdList::parse(vec![a; 100]).unwrap().as_slice(), &[a]);
    }
}
