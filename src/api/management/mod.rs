//! The management surface, mounted at `/api/security` and, for clients of the
//! older documents, again at `/api/management/security`.

mod groups;
mod members;
mod models;
mod users;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ManagementError, Surface, SurfaceDocs};

pub const PREFIX: &str = "/api/security";
pub const LEGACY_PREFIX: &str = "/api/management/security";

/// Errors as the vendor's `Error`; the account comes from the token alone.
pub const SURFACE: Surface =
    Surface::new(false, ManagementError::body, SurfaceDocs { error_schema: "Error", operation_prefix: "", tag: None });

/// The same surface under its older prefix: same answers, its own
/// operation ids and tag in the spec.
pub const LEGACY_SURFACE: Surface = Surface::new(
    false,
    ManagementError::body,
    SurfaceDocs { error_schema: "Error", operation_prefix: "legacy_", tag: Some("Management (legacy paths)") },
);

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(members::add_user_to_group)
        .service(members::add_users_to_group)
        // The documents spell the bulk path with a trailing slash; clients
        // often drop it. Same handler, documented as its own operation.
        .service(members::add_users_to_group_without_slash)
        .service(members::list_group_users)
        .service(members::remove_user_from_group)
        .service(members::user_in_group)
        .service(groups::create_group)
        .service(groups::list_groups)
        // Likewise for the group collection (left out of the spec: its path
        // is not a documented one, so nothing else answers there).
        .route("/groups", web::post().to(groups::create))
        .route("/groups", web::get().to(groups::list))
        .service(groups::get_group)
        .service(groups::replace_group)
        .service(groups::delete_group)
        .service(groups::add_child_group)
        .service(groups::add_child_groups)
        .service(groups::remove_child_group)
        .service(groups::list_child_groups)
        .service(users::create_user)
        .service(users::list_users)
        .service(users::get_user)
        .service(users::replace_user)
        .service(users::delete_user)
        .service(users::list_user_groups)
        .service(users::user_in_groups)
        .service(users::change_password)
        .service(users::act_on_user);
}
