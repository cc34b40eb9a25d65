//! Builds the actix application: each surface's scope, the spec, Swagger UI,
//! the request-body rules, and the cross-cutting layers (request id, logs,
//! metrics, error rendering) — each registered once, here.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::api::docs::{self, SPEC_30_PATH, SPEC_PATH, SWAGGER_PATH};
use crate::api::fallback::{self, RouteTable};
use crate::api::{accounts, edge, management, observe, scim, sign_in, v1, Surface};
use crate::error::{Error, ErrorKind};
use crate::service::Service;

/// Largest accepted JSON body: a 100-id bulk is about 4 KiB.
pub const JSON_LIMIT: usize = 64 * 1024;

type Routes = fn(&mut utoipa_actix_web::service_config::ServiceConfig);

/// The surfaces, each under its prefix. A new surface is one more line here.
const SURFACES: [(&str, Surface, Routes); 5] = [
    (v1::PREFIX, v1::SURFACE, v1::routes),
    (sign_in::PREFIX, sign_in::SURFACE, sign_in::routes),
    (management::PREFIX, management::SURFACE, management::routes),
    (management::LEGACY_PREFIX, management::LEGACY_SURFACE, management::routes),
    (scim::PREFIX, scim::SURFACE, scim::routes),
];

/// A surface's scope: carrying its [`Surface`] (error body, request rules),
/// checked at the edge, and answering unmatched paths below it itself.
fn mount<T>(app: UtoipaApp<T>, (prefix, surface, routes): (&str, Surface, Routes)) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.service(
        scope(prefix).app_data(surface).configure(routes).default_service(web::to(fallback::not_matched)).wrap(from_fn(edge::checks)),
    )
}

fn api<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    SURFACES.into_iter().fold(app, mount)
}

/// The OpenAPI document, exactly as served: each surface's operations as
/// that surface presents them.
pub fn openapi() -> serde_json::Value {
    let mut doc = docs::base();
    for surface in SURFACES {
        let (_, operations) = mount(App::new().into_utoipa_app(), surface).split_for_parts();
        doc.merge(docs::for_surface(&surface.1, operations));
    }
    docs::finish(doc)
}

/// The same document in OpenAPI 3.0.3 terms.
pub fn openapi_30() -> serde_json::Value {
    crate::api::openapi30::from_31(&openapi())
}

/// The 3.0.3 rendition, computed once per worker.
struct Spec30(serde_json::Value);

async fn spec_30(spec: web::Data<Spec30>) -> HttpResponse {
    HttpResponse::Ok().json(&spec.0)
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let error = match &err {
        JsonPayloadError::ContentType => {
            Error::new(ErrorKind::UnsupportedMediaType, "The body must be JSON (Content-Type: application/json)")
        }
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            Error::new(ErrorKind::PayloadTooLarge, format!("The body is larger than {JSON_LIMIT} bytes"))
        }
        JsonPayloadError::Deserialize(e) => Error::validation("The body is not valid for this operation").developer(e.to_string()),
        _ => Error::validation("The body could not be read").developer(err.to_string()),
    };
    error.into()
}

fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    Error::validation("A path parameter is not valid").developer(err.to_string()).into()
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    Error::validation("A query parameter is not valid").developer(err.to_string()).into()
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(service: web::Data<Service>) -> Result<HttpResponse, Error> {
    service.pool().run(crate::db::ping).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

async fn swagger_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header(("Location", SWAGGER_PATH)).finish()
}

pub fn app(
    service: Service,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    let (app, _) = api(App::new()
        .into_utoipa_app()
        .app_data(web::Data::new(service))
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(json_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error)))
    .split_for_parts();
    let doc = openapi();
    let routes = web::Data::new(RouteTable::from_openapi(&doc));
    let spec30 = web::Data::new(Spec30(crate::api::openapi30::from_31(&doc)));
    // No validator badge: the page must not call any host but this server.
    let swagger_config = SwaggerConfig::new([SPEC_PATH]).validator_url("none").persist_authorization(true);
    // Everything outside the surfaces: documentation, probes, metrics.
    let rest = web::scope("")
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").external_url_unchecked(SPEC_PATH, doc).config(swagger_config))
        .route("/swagger-ui", web::get().to(swagger_redirect))
        .service(web::resource(SPEC_30_PATH).app_data(spec30).route(web::get().to(spec_30)))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route(observe::METRICS_PATH, web::get().to(observe::metrics))
        .default_service(web::to(fallback::not_matched))
        .wrap(from_fn(edge::checks));
    app.app_data(routes)
        // `rest` matches every path no surface took, so it is also the default.
        .service(rest)
        .wrap(from_fn(accounts::base_path))
        .wrap(from_fn(crate::api::error::render))
        .wrap(from_fn(observe::request_scope))
}

/// Starts serving on an already bound listener (tests bind port 0).
pub fn serve(listener: TcpListener, service: Service, workers: usize) -> std::io::Result<Server> {
    // The metrics recorder counts from the start, not from the first scrape
    // (what happened before it was installed would be lost).
    crate::api::observe::prometheus();
    crate::feed::start(&service);
    crate::webhooks::start(&service);
    let server = HttpServer::new(move || app(service.clone())).workers(workers.max(1)).listen(listener)?.run();
    Ok(server)
}
