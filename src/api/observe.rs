//! Request ids, access logs and request metrics (one middleware around every
//! request), and the Prometheus endpoint.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::service::Service;

pub const METRICS_PATH: &str = "/metrics";
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest client request id taken as is.
pub const MAX_REQUEST_ID: usize = 128;

/// The process's Prometheus recorder (installed on first use).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
            const JOBS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("rollcall_http_request_duration_seconds".into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("rollcall_group_commit_batch_size".into()), JOBS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("rollcall_single_add_batch_size".into()), JOBS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("rollcall_creation_batch_size".into()), JOBS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("rollcall_token_check_batch_size".into()), JOBS));
            match builder.and_then(PrometheusBuilder::install_recorder) {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!("metrics are off: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// A client's request id, when it is one we can echo and log safely:
/// 1 to 128 characters of letters, digits and `-._~:/+=`.
fn well_formed(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'+' | b'='))
}

/// The request id of a request: the client's when well-formed, else fresh.
fn request_id(req: &ServiceRequest) -> String {
    let mut sent = req.headers().get_all(REQUEST_ID_HEADER);
    match (sent.next().and_then(|v| v.to_str().ok()), sent.next()) {
        (Some(id), None) if well_formed(id) => id.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Gives the request its id (echoed in `X-Request-Id`, and on every log line
/// written while it is served, in whatever thread), logs one access line,
/// and counts it by route and status class.
pub async fn request_scope(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    // At error level, so that the span (and the request id) is on every
    // line whatever level the logs are filtered to.
    let span = tracing::error_span!("request", request_id = %id);
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let mut res = crate::observe::REQUEST_ID.scope(id.clone(), next.call(req).instrument(span.clone())).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let labels = [("route", route), ("method", method.to_string()), ("status", status_class(status).to_owned())];
    metrics::counter!("rollcall_http_requests_total", &labels).increment(1);
    metrics::histogram!("rollcall_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    span.in_scope(
        || tracing::info!(target: "rollcall::access", %method, %path, status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "served"),
    );
    Ok(res)
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(service: web::Data<Service>) -> HttpResponse {
    service.pool().report_state();
    match prometheus() {
        Some(handle) => {
            handle.run_upkeep();
            HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(handle.render())
        }
        None => HttpResponse::ServiceUnavailable().body("metrics are off: another recorder is installed\n"),
    }
}
