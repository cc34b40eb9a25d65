//! How the surfaces answer a core [`Error`]: its HTTP status, and the body of
//! the surface whose scope served the request.
//!
//! Handlers, extractors and middleware all fail with the core error; the
//! response they produce carries it, and one middleware ([`render`]) writes
//! it in the body of the [`Surface`] that the matched scope declares as app
//! data. A request that no surface's scope matched is answered in the
//! management body.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, ErrorKind};

/// The HTTP status of each kind of failure.
pub fn status(kind: ErrorKind) -> StatusCode {
    use ErrorKind as K;
    match kind {
        K::Validation
        | K::UnknownUsers
        | K::UnknownGroups
        | K::GroupCycle
        | K::InvalidGrant
        | K::UnsupportedGrantType
        | K::InvalidScope => StatusCode::BAD_REQUEST,
        K::Unauthenticated => StatusCode::UNAUTHORIZED,
        K::Forbidden | K::AccountMismatch => StatusCode::FORBIDDEN,
        K::GroupNotFound | K::UserNotFound | K::ApiKeyNotFound | K::WebhookNotFound | K::NotAMember | K::NotAChild | K::RouteNotFound => {
            StatusCode::NOT_FOUND
        }
        K::CursorExpired => StatusCode::GONE,
        K::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        K::InvalidEntity => StatusCode::UNPROCESSABLE_ENTITY,
        K::NameTaken | K::SystemGroup | K::LastAdministrator => StatusCode::CONFLICT,
        K::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        K::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        K::UriTooLong => StatusCode::URI_TOO_LONG,
        K::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        K::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        K::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        K::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An API surface: its error body, its request rules, and how the spec
/// presents it. Each surface's scope carries its `Surface` as app data;
/// nothing else decides.
#[derive(Debug, Clone, Copy)]
pub struct Surface {
    /// Whether a request must name the token's account again in `X-Account-ID`.
    pub account_header: bool,
    body: fn(&Error) -> Value,
    pub docs: SurfaceDocs,
    /// The `WWW-Authenticate` challenge of a 401.
    challenge: &'static str,
    /// Query parameters its clients send that Rollcall does not implement,
    /// each with why: refused (400), never silently ignored.
    unsupported_params: &'static [(&'static str, &'static str)],
    /// Whether a `scim` API key is accepted as it is as the bearer token.
    pub direct_keys: bool,
    /// The media type of its bodies, errors included.
    pub content_type: &'static str,
}

/// How the spec presents a surface's operations.
#[derive(Debug, Clone, Copy)]
pub struct SurfaceDocs {
    /// The component schema of its error body.
    pub error_schema: &'static str,
    /// Prefixed to its operation ids (a surface mounted twice needs unique ones).
    pub operation_prefix: &'static str,
    /// A tag that replaces the operations' own.
    pub tag: Option<&'static str>,
}

impl Surface {
    pub const fn new(account_header: bool, body: fn(&Error) -> Value, docs: SurfaceDocs) -> Self {
        Self {
            account_header,
            body,
            docs,
            challenge: "Bearer",
            unsupported_params: &[],
            direct_keys: false,
            content_type: "application/json",
        }
    }

    pub const fn with_unsupported_params(mut self, params: &'static [(&'static str, &'static str)]) -> Self {
        self.unsupported_params = params;
        self
    }

    /// 400 when the query names a parameter this surface does not implement
    /// (matched case-insensitively).
    pub fn check_params(&self, query: &str) -> Result<(), Error> {
        if self.unsupported_params.is_empty() || query.is_empty() {
            return Ok(());
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        for (name, _) in pairs {
            if let Some((_, why)) = self.unsupported_params.iter().find(|(p, _)| p.eq_ignore_ascii_case(&name)) {
                return Err(
                    Error::validation(format!("The parameter {name} is not implemented by Rollcall: {why}")).detail("field", name.into())
                );
            }
        }
        Ok(())
    }

    pub const fn with_content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    pub const fn with_direct_keys(mut self) -> Self {
        self.direct_keys = true;
        self
    }

    pub const fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = challenge;
        self
    }

    /// The surface of the scope that served `req`; the management one outside every scope.
    pub fn of(req: &HttpRequest) -> Surface {
        req.app_data::<Surface>().copied().unwrap_or(crate::api::management::SURFACE)
    }

    /// The error as this surface answers it (logged with its id).
    pub fn respond(&self, e: &Error) -> HttpResponse {
        let status = status(e.kind);
        match e.cause() {
            Some(cause) if e.is_server_fault() => {
                tracing::error!(error_id = %e.id, code = e.kind.code(), status = status.as_u16(), cause, "request failed")
            }
            _ => tracing::info!(
                error_id = %e.id,
                code = e.kind.code(),
                status = status.as_u16(),
                detail = %e.developer_message,
                "request refused"
            ),
        }
        let mut response = HttpResponse::build(status);
        if e.kind == ErrorKind::Unauthenticated {
            response.insert_header(("WWW-Authenticate", self.challenge));
        }
        response.content_type(self.content_type).body((self.body)(e).to_string())
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status(self.kind)
    }

    /// A placeholder that [`render`] replaces with the surface's body.
    fn error_response(&self) -> HttpResponse<BoxBody> {
        HttpResponse::new(self.status_code())
    }
}

/// Writes every failure in the body of the surface that served the request.
pub async fn render(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let refusal = refusal_of_unchecked_token(&res).await;
    let failure = refusal.as_ref().or_else(|| res.response().error().and_then(|e| e.as_error::<Error>()));
    match failure {
        Some(e) => {
            let mut answer = Surface::of(res.request()).respond(e);
            // Headers the failing side set (`Allow` on a 405) stay.
            for (name, value) in res.response().headers() {
                if name != actix_web::http::header::CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
                    answer.headers_mut().insert(name.clone(), value.clone());
                }
            }
            Ok(res.into_response(answer).map_into_right_body())
        }
        None => Ok(res.map_into_left_body()),
    }
}

/// The refusal of a token whose database check was left to the use case
/// ([`super::principal::CheckLater`]), when the request failed: a token
/// that no longer holds is the answer, whatever else failed first.
async fn refusal_of_unchecked_token<B>(res: &ServiceResponse<B>) -> Option<Error> {
    use actix_web::HttpMessage;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || status == StatusCode::UNAUTHORIZED {
        return None;
    }
    let credential = res.request().extensions().get::<super::principal::Unchecked>().copied()?.0;
    let service = res.request().app_data::<actix_web::web::Data<crate::service::Service>>()?.clone();
    service.check_credential(credential).await.err().filter(|e| self::status(e.kind) == StatusCode::UNAUTHORIZED)
}

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

impl ErrorResponse {
    pub fn body(e: &Error) -> Value {
        json!(ErrorResponse {
            status: status(e.kind).as_u16(),
            message: e.message.clone(),
            error_id: e.id.to_string(),
            error_code: e.kind.code().to_owned(),
            developer_message: e.developer_message.clone(),
        })
    }
}

/// Error body of the SCIM surface (RFC 7644 §3.12).
#[derive(Serialize, ToSchema)]
pub struct ScimError {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`
    pub schemas: Vec<String>,
    /// The HTTP status code, as a string
    #[schema(example = "400")]
    pub status: String,
    /// The RFC's error keyword where it defines one (`invalidFilter`, `invalidSyntax`, `invalidPath`, `noTarget`, `invalidValue`, `mutability`, `uniqueness`, `invalidVers`)
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// What went wrong
    pub detail: String,
}

impl ScimError {
    pub fn body(e: &Error) -> Value {
        let status = status(e.kind);
        let given = e.details.get("scimType").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
        let scim_type = match (e.kind, given) {
            (_, Some(t)) => Some(t),
            (ErrorKind::NameTaken, None) => Some("uniqueness".to_owned()),
            (_, None) if status == StatusCode::BAD_REQUEST => Some("invalidValue".to_owned()),
            _ => None,
        };
        let detail = if e.developer_message.is_empty() || e.developer_message == e.message {
            e.message.clone()
        } else {
            format!("{} ({})", e.message, e.developer_message)
        };
        json!(ScimError { schemas: vec![crate::domain::scim::ERROR.to_owned()], status: status.as_str().to_owned(), scim_type, detail })
    }
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

impl ManagementError {
    pub fn body(e: &Error) -> Value {
        let mut data = e.details.clone();
        data.insert("code".into(), json!(e.kind.code()));
        if e.developer_message != e.message {
            data.insert("developerMessage".into(), json!(e.developer_message));
        }
        json!(ManagementError { log_id: e.id, message: e.message.clone(), data, kind: "error".into() })
    }
}
