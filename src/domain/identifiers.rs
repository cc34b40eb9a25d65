//! How clients name groups and users (PRODUCT.md, "Identifiers").

use std::hash::Hash;

use super::ids::{GroupId, UserId};
use super::names::{check_plain_text, normalize_key, parse_uuid};
use crate::error::Error;

/// A group by id or by (case-insensitive) name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupIdentifier {
    Id(GroupId),
    /// The lowercased lookup key of a name.
    Name(String),
}

impl GroupIdentifier {
    /// A UUID means the id; anything else is the name. Percent-decoding has
    /// already happened in the router.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() {
            return Err(Error::validation("The group identifier is empty"));
        }
        check_plain_text("groupIdentifier", raw)?;
        Ok(match parse_uuid(raw) {
            Some(id) => Self::Id(id.into()),
            None => Self::Name(normalize_key(raw)),
        })
    }
}

/// A user by id, email (contains `@`) or username, the latter two
/// case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserIdentifier {
    Id(UserId),
    Email(String),
    Username(String),
}

impl UserIdentifier {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() {
            return Err(Error::validation("The user identifier is empty"));
        }
        check_plain_text("userIdentifier", raw)?;
        Ok(if let Some(id) = parse_uuid(raw) {
            Self::Id(id.into())
        } else if raw.contains('@') {
            Self::Email(normalize_key(raw))
        } else {
            Self::Username(normalize_key(raw))
        })
    }
}

pub const MAX_BULK_USERS: usize = 100;
/// Most ids one list in a body may hold (users to add or remove, groups to nest).
pub const MAX_BULK_IDS: usize = MAX_BULK_USERS;

/// The ids of a bulk body: 1–100 as sent, deduplicated in first-seen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdList<T>(Vec<T>);

/// The users of a bulk add or removal.
pub type UserIdList = IdList<UserId>;
/// The groups of a bulk nesting.
pub type GroupIdList = IdList<GroupId>;

impl<T: Copy + Eq + Hash> IdList<T> {
    /// The limits apply to the array as sent, duplicates included, so the
    /// spec's `minItems`/`maxItems` mean exactly what the server enforces.
    /// `what` names the ids in messages (`user`, `group`).
    pub fn parse(what: &str, ids: Vec<T>) -> Result<Self, Error> {
        if ids.is_empty() {
            return Err(Error::validation(format!("The body must list at least one {what} id")));
        }
        if ids.len() > MAX_BULK_IDS {
            return Err(Error::validation(format!(
                "The body lists {} {what} ids; at most {MAX_BULK_IDS} are allowed per request",
                ids.len()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        let unique = ids.into_iter().filter(|id| seen.insert(*id)).collect();
        Ok(Self(unique))
    }

    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_identifier_is_an_id_only_when_it_parses_as_a_uuid() {
        let id = GroupId::new();
        assert_eq!(GroupIdentifier::parse(&id.to_string()).unwrap(), GroupIdentifier::Id(id));
        assert_eq!(GroupIdentifier::parse("Paper Street Soap Company").unwrap(), GroupIdentifier::Name("paper street soap company".into()));
        assert!(GroupIdentifier::parse("").is_err());
        assert_eq!(GroupIdentifier::parse(&id.uuid().simple().to_string()).unwrap(), GroupIdentifier::Name(id.uuid().simple().to_string()));
    }

    #[test]
    fn user_identifier_distinguishes_id_email_and_username() {
        let id = UserId::new();
        assert_eq!(UserIdentifier::parse(&id.to_string()).unwrap(), UserIdentifier::Id(id));
        assert_eq!(UserIdentifier::parse("T.Durden@FightClub.com").unwrap(), UserIdentifier::Email("t.durden@fightclub.com".into()));
        assert_eq!(UserIdentifier::parse("TDurden").unwrap(), UserIdentifier::Username("tdurden".into()));
    }

    #[test]
    fn user_id_list_counts_duplicates_against_the_limit_then_drops_them() {
        let a = UserId::new();
        assert!(UserIdList::parse("user", vec![]).is_err());
        assert!(UserIdList::parse("user", vec![a; 101]).is_err());
        assert_eq!(UserIdList::parse("user", vec![a; 100]).unwrap().as_slice(), &[a]);
    }
}
