//! The management surface, mounted at `/api/security` and, for clients of the
//! older documents, again at `/api/management/security`.

mod members;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

pub const PREFIX: &str = "/api/security";
pub const LEGACY_PREFIX: &str = "/api/management/security";

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(members::add_user_to_group)
        .service(members::add_users_to_group)
        // The documents spell the bulk path with a trailing slash; clients
        // often drop it. Same handler, left out of the spec.
        .route("/groups/{groupIdentifier}/users", web::post().to(members::add_users));
}
