//! The one error type of the service, and how each API surface renders it.
//!
//! Every failure becomes an [`ApiError`] with a fresh id. The v1 surface renders
//! it as `ErrorResponse`, the management surfaces as `Error`; both carry the same
//! id, and the same id is logged together with any internal detail, which never
//! reaches the client.

use std::fmt;
use std::marker::PhantomData;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

/// What went wrong, as far as a client is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    UnknownUsers,
    UnknownGroups,
    GroupCycle,
    Unauthenticated,
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
    PayloadTooLarge,
    UriTooLong,
    HeadersTooLarge,
    UnsupportedMediaType,
    ServiceUnavailable,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation | Self::UnknownUsers | Self::UnknownGroups | Self::GroupCycle => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::AccountMismatch => StatusCode::FORBIDDEN,
            Self::GroupNotFound | Self::UserNotFound | Self::NotAMember | Self::NotAChild | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NameTaken | Self::SystemGroup | Self::LastAdministrator => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code, part of the public contract.
    pub fn code(self) -> &'static str {
        match self {
            Self::Validation => "VALIDATION_ERROR",
            Self::UnknownUsers => "UNKNOWN_USERS",
            Self::UnknownGroups => "UNKNOWN_GROUPS",
            Self::GroupCycle => "GROUP_CYCLE",
            Self::NotAMember => "NOT_A_MEMBER",
            Self::NotAChild => "NOT_A_CHILD",
            Self::SystemGroup => "SYSTEM_GROUP",
            Self::LastAdministrator => "LAST_ADMINISTRATOR",
            Self::Unauthenticated => "UNAUTHENTICATED",
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
pub struct ApiError {
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

impl ApiError {
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

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
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

    pub fn unknown_users(ids: &[Uuid]) -> Self {
        let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
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

    fn transient(mut self) -> Self {
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

    fn log(&self) {
        let status = self.kind.status();
        match &self.internal {
            Some(cause) if status.is_server_error() => {
                log::error!("error_id={} code={} status={} cause={}", self.id, self.kind.code(), status.as_u16(), cause)
            }
            _ => log::info!("error_id={} code={} status={} {}", self.id, self.kind.code(), status.as_u16(), self.developer_message),
        }
    }

    /// Renders this error in the shape of `surface`.
    pub fn response_for(&self, surface: ApiSurface) -> HttpResponse {
        match surface {
            ApiSurface::V1 => V1::render(self),
            ApiSurface::Management => Management::render(self),
        }
    }

    /// The same, as an `actix_web::Error` for extractors and config handlers,
    /// in the shape of the surface that serves `req` ([`ApiSurface::of`]).
    pub fn into_actix_for(self, req: &HttpRequest) -> actix_web::Error {
        let response = self.response_for(ApiSurface::of(req));
        actix_web::error::InternalError::from_response(self, response).into()
    }
}

/// Which API surface a request belongs to: it decides the error body and
/// whether `X-Account-ID` is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiSurface {
    V1,
    Management,
}

impl ApiSurface {
    /// The surface of the route that matched: each surface's scope carries it
    /// as app data, so the decision is the router's, never a string test on
    /// the raw path (which `/%76%31/…` spells differently from `/v1/…`). A
    /// request no route matched is classified by the path the router saw
    /// (percent-decoded, as routing does).
    pub fn of(req: &HttpRequest) -> Self {
        match req.app_data::<ApiSurface>() {
            Some(surface) => *surface,
            None => Self::of_routed_path(req.match_info().as_str()),
        }
    }

    /// The surface whose prefix a routed (percent-decoded) path has.
    pub fn of_routed_path(path: &str) -> Self {
        let v1 = crate::api::v1::PREFIX;
        if path == v1 || path.strip_prefix(v1).is_some_and(|rest| rest.starts_with('/')) {
            Self::V1
        } else {
            Self::Management
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind.code(), self.id, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<diesel::result::Error> for ApiError {
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
                        log::warn!("unmapped {kind:?}: {}", info.message());
                        ApiError::unavailable(e).transient()
                    }
                }
            }
            // PostgreSQL refuses NUL in text; the edge refuses it first, so
            // this is only a net under a field added without its check.
            E::DatabaseError(_, info) if info.message().contains("invalid byte sequence for encoding") => {
                ApiError::validation("A text value contains a NUL character").developer(info.message().to_owned())
            }
            E::DatabaseError(K::ClosedConnection, _) => ApiError::unavailable(e),
            E::DatabaseError(K::SerializationFailure, _) => ApiError::unavailable(e).transient(),
            E::DatabaseError(K::Unknown, info) if is_transient(info.message()) => ApiError::unavailable(e).transient(),
            _ => ApiError::internal(e),
        }
    }
}

/// Every constraint of the schema that a race can violate, by its
/// PostgreSQL name and by the columns SQLite names in its message, with the
/// answer the explicit check would have given.
const CONSTRAINTS: [(&str, &str, fn() -> ApiError); 9] = [
    ("users_account_email_key", "users.email_key", || ApiError::name_taken("email")),
    ("users_account_username_key", "users.username_key", || ApiError::name_taken("username")),
    ("groups_account_name_key", "groups.name_key", || ApiError::name_taken("name")),
    ("accounts_name_key_key", "accounts.name_key", || ApiError::name_taken("account name")),
    ("memberships_group_id_fkey", "-", ApiError::group_not_found),
    ("memberships_user_id_fkey", "-", ApiError::user_not_found),
    ("group_permissions_group_id_fkey", "-", ApiError::group_not_found),
    ("group_children_parent_id_fkey", "-", ApiError::group_not_found),
    ("group_children_child_id_fkey", "-", ApiError::group_not_found),
];

/// The client answer for a violated constraint, if it is one of [`CONSTRAINTS`].
/// (SQLite names no constraint and, for foreign keys, no column either; its
/// writes are serial, so only the unique ones can be reached there.)
fn violated(constraint: Option<&str>, message: &str) -> Option<ApiError> {
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

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ApiError::unavailable(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}

/// An API surface with its own error body.
pub trait Surface: 'static {
    fn body(e: &ApiError) -> Value;

    fn render(e: &ApiError) -> HttpResponse {
        e.log();
        let mut response = HttpResponse::build(e.kind.status());
        if e.kind == ErrorKind::Unauthenticated {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(Self::body(e))
    }
}

/// The native `/v1` surface.
pub struct V1;
/// The management surfaces (`/api/security`, `/api/management/security`).
pub struct Management;

/// Error body of the `/v1` surface.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    /// HTTP status code
    #[schema(value_type = f64)]
    pub status: u16,
    /// Error message
    pub message: String,
    /// Unique error identifier, also written to the server log
    pub error_id: String,
    /// Error code, stable SCREAMING_SNAKE_CASE (e.g. `GROUP_NOT_FOUND`)
    pub error_code: String,
    /// Additional details for developers
    pub developer_message: String,
}

/// Error body of the management surfaces.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ManagementError {
    /// Identifier of this error, also written to the server log
    #[serde(rename = "logId")]
    pub log_id: Uuid,
    /// Error message
    pub message: String,
    /// Details: always `code` (the stable error code), plus e.g. `userIds`
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    /// Always `error`
    #[serde(rename = "type")]
    #[schema(example = "error")]
    pub kind: String,
}

impl Surface for V1 {
    fn body(e: &ApiError) -> Value {
        json!(ErrorResponse {
            status: e.kind.status().as_u16(),
            message: e.message.clone(),
            error_id: e.id.to_string(),
            error_code: e.kind.code().to_owned(),
            developer_message: e.developer_message.clone(),
        })
    }
}

impl Surface for Management {
    fn body(e: &ApiError) -> Value {
        let mut data = e.details.clone();
        data.insert("code".into(), json!(e.kind.code()));
        if e.developer_message != e.message {
            data.insert("developerMessage".into(), json!(e.developer_message));
        }
        json!(ManagementError { log_id: e.id, message: e.message.clone(), data, kind: "error".into() })
    }
}

/// An [`ApiError`] on its way out through surface `S`; handlers return this so
/// that `?` on any `ApiError` renders in the right shape.
pub struct SurfaceError<S: Surface>(pub ApiError, PhantomData<S>);

impl<S: Surface> From<ApiError> for SurfaceError<S> {
    fn from(e: ApiError) -> Self {
        Self(e, PhantomData)
    }
}

impl<S: Surface> fmt::Debug for SurfaceError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<S: Surface> fmt::Display for SurfaceError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<S: Surface> ResponseError for SurfaceError<S> {
    fn status_code(&self) -> StatusCode {
        self.0.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        S::render(&self.0)
    }
}

pub type V1Result<T> = Result<T, SurfaceError<V1>>;
pub type ManagementResult<T> = Result<T, SurfaceError<Management>>;

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
        assert!(kind(None, "FOREIGN KEY constraint failed").is_none());
        assert!(kind(Some("something_new"), "").is_none());
    }
}
