//! The one error type of the core, free of HTTP: what went wrong (an
//! [`ErrorKind`] with a stable code), a fresh id, the client-facing message
//! and details, and an internal cause that is logged and never shown. Each
//! API surface turns it into its own status and body in one place
//! (`api::error`).

use std::fmt;

use serde_json::{json, Map, Value};
use uuid::Uuid;

/// What went wrong, as far as a client is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    /// A body that is well-formed JSON but breaks the rules, where the
    /// surface answers that with 422 (the management surfaces); code
    /// `VALIDATION_ERROR` like [`ErrorKind::Validation`].
    InvalidEntity,
    UnknownUsers,
    UnknownGroups,
    GroupCycle,
    Unauthenticated,
    /// A password or refresh grant that does not hold (RFC 6749 `invalid_grant`).
    InvalidGrant,
    UnsupportedGrantType,
    InvalidScope,
    ApiKeyNotFound,
    WebhookNotFound,
    /// A feed cursor from before events of its account were pruned.
    CursorExpired,
    Forbidden,
    AccountMismatch,
    GroupNotFound,
    UserNotFound,
    NotAMember,
    NotAChild,
    RouteNotFound,
    MethodNotAllowed,
    NameTaken,
    SystemGroup,
    LastAdministrator,
    /// `If-Match` names a version the resource no longer has.
    PreconditionFailed,
    PayloadTooLarge,
    UriTooLong,
    HeadersTooLarge,
    UnsupportedMediaType,
    ServiceUnavailable,
    Internal,
}

impl ErrorKind {
    /// Stable machine-readable code, part of the public contract.
    pub fn code(self) -> &'static str {
        match self {
            Self::Validation | Self::InvalidEntity => "VALIDATION_ERROR",
            Self::UnknownUsers => "UNKNOWN_USERS",
            Self::UnknownGroups => "UNKNOWN_GROUPS",
            Self::GroupCycle => "GROUP_CYCLE",
            Self::NotAMember => "NOT_A_MEMBER",
            Self::NotAChild => "NOT_A_CHILD",
            Self::SystemGroup => "SYSTEM_GROUP",
            Self::LastAdministrator => "LAST_ADMINISTRATOR",
            Self::PreconditionFailed => "PRECONDITION_FAILED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::InvalidGrant => "INVALID_GRANT",
            Self::UnsupportedGrantType => "UNSUPPORTED_GRANT_TYPE",
            Self::InvalidScope => "INVALID_SCOPE",
            Self::ApiKeyNotFound => "API_KEY_NOT_FOUND",
            Self::WebhookNotFound => "WEBHOOK_NOT_FOUND",
            Self::CursorExpired => "CURSOR_EXPIRED",
            Self::Forbidden => "FORBIDDEN",
            Self::AccountMismatch => "ACCOUNT_MISMATCH",
            Self::GroupNotFound => "GROUP_NOT_FOUND",
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::RouteNotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::NameTaken => "NAME_TAKEN",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UriTooLong => "URI_TOO_LONG",
            Self::HeadersTooLarge => "HEADERS_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL_ERROR",
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub id: Uuid,
    pub message: String,
    /// Client-facing details (`developer_message` / `data`).
    pub details: Map<String, Value>,
    pub developer_message: String,
    /// Internal cause: logged, never rendered.
    internal: Option<String>,
    /// A transient database conflict (deadlock, serialization failure, lock
    /// timeout): the whole transaction may be run again.
    pub retryable: bool,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            kind,
            id: Uuid::new_v4(),
            developer_message: message.clone(),
            message,
            details: Map::new(),
            internal: None,
            retryable: false,
        }
    }

    /// The same error for another caller (a batch's failure, answered to
    /// each of its requests), with an id of its own.
    pub fn again(&self) -> Self {
        Self {
            kind: self.kind,
            id: Uuid::new_v4(),
            message: self.message.clone(),
            details: self.details.clone(),
            developer_message: self.developer_message.clone(),
            internal: self.internal.clone(),
            retryable: self.retryable,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// A validation failure of a body the surface answers with 422.
    pub fn unprocessable(mut self) -> Self {
        if self.kind == ErrorKind::Validation {
            self.kind = ErrorKind::InvalidEntity;
        }
        self
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorKind::Forbidden, "You do not have permission to do this")
    }

    pub fn unauthenticated(why: &str) -> Self {
        Self::new(ErrorKind::Unauthenticated, "Authentication required").developer(why)
    }

    pub fn group_not_found() -> Self {
        Self::new(ErrorKind::GroupNotFound, "Group not found")
    }

    pub fn user_not_found() -> Self {
        Self::new(ErrorKind::UserNotFound, "User not found")
    }

    pub fn name_taken(what: &str) -> Self {
        Self::new(ErrorKind::NameTaken, format!("The {what} is already taken in this account")).detail("field", json!(what))
    }

    pub fn unknown_users(ids: &[crate::domain::UserId]) -> Self {
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        Self::new(ErrorKind::UnknownUsers, "Some users do not exist in this account")
            .developer(format!("Unknown user ids: {}", list.join(", ")))
            .detail("userIds", json!(list))
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(ErrorKind::Internal, "Internal server error");
        e.internal = Some(cause.to_string());
        e
    }

    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(ErrorKind::ServiceUnavailable, "The service is temporarily unavailable; retry later");
        e.internal = Some(cause.to_string());
        e
    }

    pub(crate) fn transient(mut self) -> Self {
        self.retryable = true;
        self
    }

    pub fn developer(mut self, message: impl Into<String>) -> Self {
        self.developer_message = message.into();
        self
    }

    pub fn detail(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }

    /// The internal cause (logged, never rendered), if any.
    pub fn cause(&self) -> Option<&str> {
        self.internal.as_deref()
    }

    /// Whether the service, not the client, is at fault.
    pub fn is_server_fault(&self) -> bool {
        matches!(self.kind, ErrorKind::Internal | ErrorKind::ServiceUnavailable)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind.code(), self.id, self.message)
    }
}

impl std::error::Error for Error {}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            // Reached only when a concurrent writer won a race that the
            // explicit checks inside the transaction could not see: a client
            // answer by the constraint's name, never a 500.
            E::DatabaseError(kind @ (K::UniqueViolation | K::ForeignKeyViolation), info) => {
                match violated(info.constraint_name(), info.message()) {
                    Some(answer) => answer,
                    // A constraint this table does not know: run the whole
                    // transaction again; its explicit checks then see the
                    // committed state and answer.
                    None => {
                        tracing::warn!("unmapped {kind:?}: {}", info.message());
                        Error::unavailable(e).transient()
                    }
                }
            }
            // PostgreSQL refuses NUL in text; the edge refuses it first, so
            // this is only a net under a field added without its check.
            E::DatabaseError(_, info) if info.message().contains("invalid byte sequence for encoding") => {
                Error::validation("A text value contains a NUL character").developer(info.message().to_owned())
            }
            // The connection is gone (a restarted or failed-over server):
            // the pool replaces it ([`crate::db::Conn::discard_if_dead`]).
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => Error::unavailable(e),
            E::DatabaseError(K::SerializationFailure, _) => Error::unavailable(e).transient(),
            E::DatabaseError(K::Unknown, info) if is_transient(info.message()) => Error::unavailable(e).transient(),
            _ => Error::internal(e),
        }
    }
}

/// Every constraint of the schema that a race can violate, by its
/// PostgreSQL name and by the columns SQLite names in its message, with the
/// answer the explicit check would have given.
type Answer = fn() -> Error;
const CONSTRAINTS: [(&str, &str, Answer); 11] = [
    ("users_account_scim_user_name_key", "users.scim_user_name_key", || Error::name_taken("userName")),
    ("groups_account_scim_display_name_key", "groups.scim_display_name_key", || Error::name_taken("displayName")),
    ("users_account_email_key", "users.email_key", || Error::name_taken("email")),
    ("users_account_username_key", "users.username_key", || Error::name_taken("username")),
    ("groups_account_name_key", "groups.name_key", || Error::name_taken("name")),
    ("accounts_name_key_key", "accounts.name_key", || Error::name_taken("account name")),
    ("memberships_group_id_fkey", "-", Error::group_not_found),
    ("memberships_user_id_fkey", "-", Error::user_not_found),
    ("group_permissions_group_id_fkey", "-", Error::group_not_found),
    ("group_children_parent_id_fkey", "-", Error::group_not_found),
    ("group_children_child_id_fkey", "-", Error::group_not_found),
];

/// The client answer for a violated constraint, if it is one of [`CONSTRAINTS`].
/// (SQLite names no constraint and, for foreign keys, no column either; its
/// writes are serial, so only the unique ones can be reached there.)
fn violated(constraint: Option<&str>, message: &str) -> Option<Error> {
    CONSTRAINTS.iter().find_map(|(name, sqlite_column, answer)| {
        let hit = match constraint {
            Some(c) => c == *name,
            None => *sqlite_column != "-" && message.contains(sqlite_column),
        };
        hit.then(answer)
    })
}

fn is_transient(message: &str) -> bool {
    // SQLite reports lock timeouts, and diesel PostgreSQL deadlocks (40P01),
    // only as text.
    message.contains("database is locked") || message.contains("database is busy") || message.contains("deadlock detected")
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::unavailable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_violations_map_to_the_answers_of_the_explicit_checks() {
        let kind = |c: Option<&str>, m: &str| violated(c, m).map(|e| (e.kind, e.details.get("field").cloned()));
        assert_eq!(kind(Some("memberships_group_id_fkey"), ""), Some((ErrorKind::GroupNotFound, None)));
        assert_eq!(kind(Some("group_children_child_id_fkey"), ""), Some((ErrorKind::GroupNotFound, None)));
        assert_eq!(kind(Some("memberships_user_id_fkey"), ""), Some((ErrorKind::UserNotFound, None)));
        assert_eq!(kind(Some("users_account_email_key"), ""), Some((ErrorKind::NameTaken, Some(json!("email")))));
        assert_eq!(
            kind(None, "UNIQUE constraint failed: users.account_id, users.username_key"),
            Some((ErrorKind::NameTaken, Some(json!("username"))))
        );
        assert_eq!(
            kind(None, "UNIQUE constraint failed: groups.account_id, groups.name_key"),
            Some((ErrorKind::NameTaken, Some(json!("name"))))
        );
        assert_eq!(
            kind(None, "UNIQUE constraint failed: users.account_id, users.scim_user_name_key"),
            Some((ErrorKind::NameTaken, Some(json!("userName"))))
        );
        assert_eq!(kind(Some("groups_account_scim_display_name_key"), ""), Some((ErrorKind::NameTaken, Some(json!("displayName")))));
        assert!(kind(None, "FOREIGN KEY constraint failed").is_none());
        assert!(kind(Some("something_new"), "").is_none());
    }
}
