//! The native `/v1` surface: UUID identifiers only, `X-Account-ID` required,
//! errors as `ErrorResponse`.

mod auth;
mod events;
mod groups;
mod members;
mod users;

use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::error::{ErrorResponse, Surface, SurfaceDocs};
use crate::error::Error;

pub const PREFIX: &str = "/v1";

/// Errors as `ErrorResponse`; the token's account named again in `X-Account-ID`.
pub const SURFACE: Surface =
    Surface::new(true, ErrorResponse::body, SurfaceDocs { error_schema: "ErrorResponse", operation_prefix: "v1_", tag: None });

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(users::create_user)
        .service(users::list_users)
        .service(users::get_user)
        .service(users::update_user)
        .service(users::delete_user)
        .service(users::list_user_groups)
        .service(groups::create_group)
        .service(groups::list_groups)
        .service(groups::get_group)
        .service(groups::update_group)
        .service(groups::delete_group)
        .service(members::add_users_to_group)
        .service(members::list_group_members)
        .service(members::remove_users_from_group)
        .service(auth::token)
        .service(auth::create_api_key)
        .service(auth::list_api_keys)
        .service(auth::revoke_api_key)
        .service(events::list_events)
        .service(events::create_webhook)
        .service(events::list_webhooks)
        .service(events::get_webhook)
        .service(events::update_webhook)
        .service(events::delete_webhook)
        .service(events::list_deliveries);
}

/// v1 takes UUIDs only; anything else is a 400 (PRODUCT.md).
fn parse_id<T: From<Uuid>>(raw: &str, name: &str) -> Result<T, Error> {
    crate::domain::parse_uuid(raw)
        .map(T::from)
        .ok_or_else(|| Error::validation(format!("{name} must be a UUID")).detail("field", name.into()))
}
