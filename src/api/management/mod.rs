//! The management surface, mounted at `/api/security` and, for clients of the
//! older documents, again at `/api/management/security`.

mod body;
mod groups;
mod members;
mod models;
mod users;

use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ManagementError, Surface, SurfaceDocs};

pub const PREFIX: &str = "/api/security";
pub const LEGACY_PREFIX: &str = "/api/management/security";

/// Filters the vendor's client can send that Rollcall does not implement: a
/// script that deletes what a filtered listing returns must not get every
/// user because the filter was ignored.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("zenQL", "filter with q, or list a group's members"),
    ("classicUserId", "Rollcall has no classic user ids; name users by id, email or username"),
];

/// Errors as the vendor's `Error`; the account comes from the token alone.
pub const SURFACE: Surface =
    Surface::new(false, ManagementError::body, SurfaceDocs { error_schema: "Error", operation_prefix: "", tag: None })
        .with_unsupported_params(UNSUPPORTED);

/// The same surface under its older prefix: same answers, its own
/// operation ids and tag in the spec.
pub const LEGACY_SURFACE: Surface = Surface::new(
    false,
    ManagementError::body,
    SurfaceDocs { error_schema: "Error", operation_prefix: "legacy_", tag: Some("Management (legacy paths)") },
)
.with_unsupported_params(UNSUPPORTED);

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
        // Likewise for the group collection, which the vendor's client
        // calls without the slash.
        .service(groups::create_group_without_slash)
        .service(groups::list_groups_without_slash)
        .service(groups::get_group)
        .service(groups::replace_group)
        .service(groups::update_group)
        .service(groups::delete_group)
        .service(groups::add_child_group)
        .service(groups::add_child_groups)
        .service(groups::remove_child_group)
        .service(groups::list_child_groups)
        .service(users::create_user)
        .service(users::list_users)
        // Before `users/{userIdentifier}`, which would read `search` as a username.
        .service(users::search_users)
        .service(users::search_users_by_body)
        .service(users::get_user)
        .service(users::replace_user)
        .service(users::update_user)
        .service(users::delete_user)
        .service(users::list_user_groups)
        .service(users::user_in_groups)
        .service(users::change_password)
        .service(users::act_on_user);
}
