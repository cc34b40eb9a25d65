//! Checks every request passes before its handler (each scope wraps them), so that what no handler
//! should ever see is refused identically on every route and backend, in the
//! surface's error body: a NUL anywhere in the path or query (PostgreSQL
//! cannot store one; SQLite would), and request heads larger than Rollcall
//! serves (below the HTTP layer's own limits, which answer with bare bodies;
//! see the README).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpRequest;

use crate::error::{Error, ErrorKind};

/// Longest path and query accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest single header value, and the most header bytes, accepted.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_HEADERS_BYTES: usize = 32 * 1024;
/// Most headers accepted (the HTTP layer refuses more than 96 on its own).
pub const MAX_HEADERS: usize = 64;

fn refusal(req: &HttpRequest) -> Option<Error> {
    let uri = req.uri();
    let path_and_query = uri.path_and_query().map_or("", |pq| pq.as_str());
    if path_and_query.len() > MAX_URI_BYTES {
        return Some(Error::new(ErrorKind::UriTooLong, format!("The path and query are longer than {MAX_URI_BYTES} bytes")));
    }
    // A NUL can reach a URI only percent-encoded.
    let bytes = path_and_query.as_bytes();
    if bytes.windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0') {
        return Some(Error::validation("The path or query contains a NUL character (%00)"));
    }
    let headers = req.headers();
    let total: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    let largest = headers.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    if headers.len() > MAX_HEADERS || largest > MAX_HEADER_BYTES || total > MAX_HEADERS_BYTES {
        return Some(Error::new(
            ErrorKind::HeadersTooLarge,
            format!("Send at most {MAX_HEADERS} headers, each at most {MAX_HEADER_BYTES} bytes, {MAX_HEADERS_BYTES} bytes in all"),
        ));
    }
    None
}

pub async fn checks(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(error) = refusal(req.request()) {
        // A response carrying the error: `api::error::render` writes its body.
        return Ok(req.error_response(error).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
