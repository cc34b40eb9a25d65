//! Builds the actix application: every route, the spec, Swagger UI, and the
//! request-body rules that turn extractor failures into the surface's error.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::Logger;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::api::docs::{self, SPEC_30_PATH, SPEC_PATH, SWAGGER_PATH};
use crate::api::fallback::{self, RouteTable};
use crate::api::{management, v1};
use crate::auth::TokenKeys;
use crate::db::Pool;
use crate::error::{ApiError, ApiSurface, ErrorKind};

/// Largest accepted JSON body: a 100-id bulk is about 4 KiB.
pub const JSON_LIMIT: usize = 64 * 1024;

fn api<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    // Each scope names its surface: error bodies and the account-header rule
    // follow the route that matched (`ApiSurface::of`).
    app.service(scope(v1::PREFIX).app_data(ApiSurface::V1).configure(v1::routes))
        .service(scope(management::PREFIX).app_data(ApiSurface::Management).configure(management::routes))
        .service(scope(management::LEGACY_PREFIX).app_data(ApiSurface::Management).configure(management::routes))
}

/// The OpenAPI document, exactly as served.
pub fn openapi() -> serde_json::Value {
    docs::finish(api(App::new().into_utoipa_app().openapi(docs::base())).split_for_parts().1)
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

fn json_error(err: JsonPayloadError, req: &HttpRequest) -> actix_web::Error {
    let error = match &err {
        JsonPayloadError::ContentType => {
            ApiError::new(ErrorKind::UnsupportedMediaType, "The body must be JSON (Content-Type: application/json)")
        }
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(ErrorKind::PayloadTooLarge, format!("The body is larger than {JSON_LIMIT} bytes"))
        }
        JsonPayloadError::Deserialize(e) => ApiError::validation("The body is not valid for this operation").developer(e.to_string()),
        _ => ApiError::validation("The body could not be read").developer(err.to_string()),
    };
    error.into_actix_for(req)
}

fn path_error(err: PathError, req: &HttpRequest) -> actix_web::Error {
    ApiError::validation("A path parameter is not valid").developer(err.to_string()).into_actix_for(req)
}

fn query_error(err: QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    ApiError::validation("A query parameter is not valid").developer(err.to_string()).into_actix_for(req)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(pool: web::Data<Pool>) -> HttpResponse {
    let ready = pool.run(|conn| crate::db::ping(conn)).await;
    match ready {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Err(e) => e.response_for(ApiSurface::Management),
    }
}

async fn swagger_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header(("Location", SWAGGER_PATH)).finish()
}

pub fn app(
    pool: Pool,
    keys: TokenKeys,
) -> App<
    impl ServiceFactory<ServiceRequest, Config = (), Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error, InitError = ()>,
> {
    let (app, doc) = api(App::new()
        .into_utoipa_app()
        .openapi(docs::base())
        .app_data(web::Data::new(pool))
        .app_data(web::Data::new(keys))
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(json_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error)))
    .split_for_parts();
    let doc = docs::finish(doc);
    let routes = web::Data::new(RouteTable::from_openapi(&doc));
    let spec30 = web::Data::new(Spec30(crate::api::openapi30::from_31(&doc)));
    // No validator badge: the page must not call any host but this server.
    let swagger_config = SwaggerConfig::new([SPEC_PATH]).validator_url("none").persist_authorization(true);
    app.service(SwaggerUi::new("/swagger-ui/{_:.*}").external_url_unchecked(SPEC_PATH, doc).config(swagger_config))
        .route("/swagger-ui", web::get().to(swagger_redirect))
        .service(web::resource(SPEC_30_PATH).app_data(spec30).route(web::get().to(spec_30)))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .app_data(routes)
        .default_service(web::to(fallback::not_matched))
        .wrap(actix_web::middleware::from_fn(crate::api::edge::checks))
        .wrap(Logger::new("%a \"%r\" %s %b %Dms"))
}

/// Starts serving on an already bound listener (tests bind port 0).
pub fn serve(listener: TcpListener, pool: Pool, keys: TokenKeys, workers: usize) -> std::io::Result<Server> {
    let server = HttpServer::new(move || app(pool.clone(), keys.clone())).workers(workers.max(1)).listen(listener)?.run();
    Ok(server)
}
