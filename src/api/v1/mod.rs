//! The native `/v1` surface: UUID identifiers only, `X-Account-ID` required,
//! errors as `ErrorResponse`.

mod groups;
mod members;
mod users;

pub use groups::GROUP_SORTS_MANAGEMENT;
pub use users::USER_SORTS_MANAGEMENT;

use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::error::ApiError;

pub const PREFIX: &str = "/v1";

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
        .service(members::remove_users_from_group);
}

/// v1 takes UUIDs only; anything else is a 400 (PRODUCT.md).
fn parse_id(raw: &str, name: &str) -> Result<Uuid, ApiError> {
    crate::domain::parse_uuid(raw).ok_or_else(|| ApiError::validation(format!("{name} must be a UUID")).detail("field", name.into()))
}

fn timestamp(at: chrono::NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
