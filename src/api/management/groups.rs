//! Groups on the management surface.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};

use super::body::custom_patch;
use super::body::{merge_patch, Body, Patch};
use super::models::{GroupBody, GroupListQuery, GroupMergePatch, GroupPagedList, GroupPagingQuery, ManagementGroup, GROUP_SORTS};
use crate::api::error::ManagementError;
use crate::api::GroupIds;
use crate::api::{Caller, CheckLater};
use crate::domain::profile;
use crate::domain::{GroupDescription, GroupIdentifier, GroupName, GroupSort};
use crate::engine::groups::GroupPatch;
use crate::error::Error;
use crate::service::Service;
use serde_json::Value;

/// Create a group
///
/// **Permissions:** `group_create` (setting `permissions` needs membership of `System Administrators`).
#[utoipa::path(
    tag = "Management: groups",
    request_body = GroupBody,
    responses(
        (status = 201, description = "The group", body = ManagementGroup),
        (status = 422, description = "The body breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 409, description = "The name is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/groups/")]
pub async fn create_group(service: web::Data<Service>, caller: CheckLater, body: Body<GroupBody>) -> Result<HttpResponse, Error> {
    create(service, caller, body).await
}

/// Create a group (no trailing slash)
///
/// The same operation as `POST …/groups/`, as the vendor's client calls it.
///
/// **Permissions:** `group_create` (setting `permissions` needs membership of `System Administrators`).
#[utoipa::path(
    tag = "Management: groups",
    request_body = GroupBody,
    responses(
        (status = 201, description = "The group", body = ManagementGroup),
        (status = 422, description = "The body breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 409, description = "The name is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/groups")]
pub async fn create_group_without_slash(
    service: web::Data<Service>,
    caller: CheckLater,
    body: Body<GroupBody>,
) -> Result<HttpResponse, Error> {
    create(service, caller, body).await
}

/// List groups (no trailing slash)
///
/// The same operation as `GET …/groups/`, as the vendor's client calls it.
///
/// **Permissions:** `group_read`.
#[utoipa::path(
    tag = "Management: groups",
    params(GroupPagingQuery),
    responses(
        (status = 200, description = "A page of groups", body = GroupPagedList),
        (status = 400, description = "Invalid paging (`VALIDATION_ERROR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/groups")]
pub async fn list_groups_without_slash(
    service: web::Data<Service>,
    caller: Caller,
    query: web::Query<GroupPagingQuery>,
) -> Result<HttpResponse, Error> {
    list(service, caller, query).await
}

async fn create(service: web::Data<Service>, caller: CheckLater, body: Body<GroupBody>) -> Result<HttpResponse, Error> {
    let body = body.into_inner();
    let name = GroupName::parse(&body.name).map_err(Error::unprocessable)?;
    let description = GroupDescription::parse(body.description.as_deref()).map_err(Error::unprocessable)?;
    let grants = body.permissions;
    let custom = body.custom.as_ref().map(profile::custom).transpose().map_err(Error::unprocessable)?;
    let group = service.create_group_checking(&caller.caller, caller.unchecked, name, description, grants, custom).await?;
    Ok(HttpResponse::Created().json(ManagementGroup::from(group)))
}

/// List groups
///
/// A page of the account's groups.
///
/// **Permissions:** `group_read`.
#[utoipa::path(
    tag = "Management: groups",
    params(GroupPagingQuery),
    responses(
        (status = 200, description = "A page of groups", body = GroupPagedList),
        (status = 400, description = "Invalid paging (`VALIDATION_ERROR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/groups/")]
pub async fn list_groups(service: web::Data<Service>, caller: Caller, query: web::Query<GroupPagingQuery>) -> Result<HttpResponse, Error> {
    list(service, caller, query).await
}

async fn list(service: web::Data<Service>, caller: Caller, query: web::Query<GroupPagingQuery>) -> Result<HttpResponse, Error> {
    let paging = query.paging()?;
    let sort = query.sort(GroupSort::Name, &GROUP_SORTS)?;
    let found = service.list_groups(&caller, paging.search.clone(), sort, paging.page).await?;
    let items = found.items.into_iter().map(ManagementGroup::from).collect();
    Ok(HttpResponse::Ok().json(GroupPagedList::new(&paging, found.total, items)))
}

/// Get a group
///
/// **Permissions:** `group_read`.
#[utoipa::path(
    tag = "Management: groups",
    params(("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)", example = "Paper Street Soap Company")),
    responses(
        (status = 200, description = "The group", body = ManagementGroup),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/groups/{groupIdentifier}")]
pub async fn get_group(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let group = service.get_group(&caller, group).await?;
    Ok(HttpResponse::Ok().json(ManagementGroup::from(group)))
}

/// Replace a group
///
/// Sets the name and description (absent: empty); `permissions`, when
/// present, replaces the granted permissions (administrators only).
/// `System Administrators` keeps its name and permissions (409 `SYSTEM_GROUP`).
///
/// **Permissions:** `group_update`.
#[utoipa::path(
    tag = "Management: groups",
    params(("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)")),
    request_body = GroupBody,
    responses(
        (status = 200, description = "The group", body = ManagementGroup),
        (status = 422, description = "The body breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The name is taken (`NAME_TAKEN`), or System Administrators cannot change so (`SYSTEM_GROUP`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/groups/{groupIdentifier}")]
pub async fn replace_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<GroupBody>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let body = body.into_inner();
    let patch = (|| {
        Ok::<_, Error>(GroupPatch {
            name: Some(GroupName::parse(&body.name)?),
            description: Some(GroupDescription::parse(body.description.as_deref())?),
            permissions: body.permissions.clone(),
            custom: Some(body.custom.as_ref().map(profile::custom).transpose()?),
        })
    })()
    .map_err(Error::unprocessable)?;
    let group = service.update_group(&caller, group, patch).await?;
    Ok(HttpResponse::Ok().json(ManagementGroup::from(group)))
}

/// Update a group (merge patch)
///
/// RFC 7396 (`application/merge-patch+json`): a property present sets the
/// field, `null` clears it (`description` to empty, `permissions` to none;
/// `name` cannot be cleared), an absent one keeps it. Property names are
/// matched case-insensitively; read-only properties (`id`, `type`,
/// `created`, …) are accepted and ignored.
///
/// **Permissions:** `group_update` (`permissions` needs membership of `System Administrators`).
#[utoipa::path(
    tag = "Management: groups",
    params(("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)")),
    request_body(content = GroupMergePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The group as updated", body = ManagementGroup),
        (status = 422, description = "A value breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The name is taken (`NAME_TAKEN`), or System Administrators cannot change so (`SYSTEM_GROUP`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[patch("/groups/{groupIdentifier}")]
pub async fn update_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<Value>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let patch = group_merge_patch(body).map_err(Error::unprocessable)?;
    let group = service.update_group(&caller, group, patch).await?;
    Ok(HttpResponse::Ok().json(ManagementGroup::from(group)))
}

/// The group patch a merge-patch body asks for.
fn group_merge_patch(body: Body<Value>) -> Result<GroupPatch, Error> {
    let fields = merge_patch(body)?;
    Ok(GroupPatch {
        name: match Patch::<String>::of(&fields, "name")? {
            Patch::Keep => None,
            Patch::Clear => return Err(Error::validation("name cannot be cleared").detail("field", "name".into())),
            Patch::Set(name) => Some(GroupName::parse(&name)?),
        },
        description: match Patch::<String>::of(&fields, "description")? {
            Patch::Keep => None,
            Patch::Clear => Some(GroupDescription::parse(None)?),
            Patch::Set(d) => Some(GroupDescription::parse(Some(&d))?),
        },
        permissions: match Patch::of(&fields, "permissions")? {
            Patch::Keep => None,
            Patch::Clear => Some(Vec::new()),
            Patch::Set(p) => Some(p),
        },
        custom: custom_patch(&fields)?,
    })
}

/// Delete a group
///
/// Deletes the group with its memberships and nesting. `System
/// Administrators` cannot be deleted (409 `SYSTEM_GROUP`).
///
/// **Permissions:** `group_delete`.
#[utoipa::path(
    tag = "Management: groups",
    params(("groupIdentifier" = String, Path, description = "The group id (UUID) or name (case-insensitive)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "System Administrators cannot be deleted (`SYSTEM_GROUP`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/groups/{groupIdentifier}")]
pub async fn delete_group(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    service.delete_group(&caller, group).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Nest a group
///
/// Puts the child group under the group: the child's members become
/// (inherited) members of the group and hold its permissions. Idempotent.
/// A group can never contain itself, directly or through others (400
/// `GROUP_CYCLE`).
///
/// **Permissions:** `group_update`, and you must already hold everything a member of the parent holds (its permissions and those of every group above it; at or below `System Administrators`, everything), so delegated rights never grow themselves (else 403).
#[utoipa::path(
    tag = "Management: child groups",
    params(
        ("groupIdentifier" = String, Path, description = "The parent group: id (UUID) or name"),
        ("childGroupIdentifier" = String, Path, description = "The child group: id (UUID) or name"),
    ),
    responses(
        (status = 204, description = "The child is in the group"),
        (status = 400, description = "The nesting would make a cycle (`GROUP_CYCLE`)", body = ManagementError),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/groups/{groupIdentifier}/groups/{childGroupIdentifier}")]
pub async fn add_child_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (parent, child) = path.into_inner();
    let parent = GroupIdentifier::parse(&parent)?;
    let child = GroupIdentifier::parse(&child)?;
    service.add_child_groups(&caller, parent, vec![child]).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Nest many groups
///
/// Puts 1 to 100 groups, by id, under the group in one transaction: all or
/// none. Unknown ids: 400 `UNKNOWN_GROUPS` listing them in `data.groupIds`;
/// a cycle: 400 `GROUP_CYCLE`.
///
/// **Permissions:** `group_update`, and you must already hold everything a member of the parent holds (its permissions and those of every group above it; at or below `System Administrators`, everything), so delegated rights never grow themselves (else 403).
#[utoipa::path(
    tag = "Management: child groups",
    params(("groupIdentifier" = String, Path, description = "The parent group: id (UUID) or name")),
    request_body(content = GroupIds, description = "The child group ids"),
    responses(
        (status = 204, description = "Every listed group is a child of the group"),
        (status = 400, description = "Invalid body (`VALIDATION_ERROR`), unknown groups (`UNKNOWN_GROUPS`) or a cycle (`GROUP_CYCLE`)", body = ManagementError),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/groups/{groupIdentifier}/groups")]
pub async fn add_child_groups(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: web::Json<GroupIds>,
) -> Result<HttpResponse, Error> {
    let parent = GroupIdentifier::parse(&path.into_inner())?;
    let children = body.into_inner().parse()?.as_slice().iter().map(|id| GroupIdentifier::Id(*id)).collect();
    service.add_child_groups(&caller, parent, children).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Un-nest a group
///
/// **Permissions:** `group_update` (from `System Administrators`: administrators only).
#[utoipa::path(
    tag = "Management: child groups",
    params(
        ("groupIdentifier" = String, Path, description = "The parent group: id (UUID) or name"),
        ("childGroupIdentifier" = String, Path, description = "The child group: id (UUID) or name"),
    ),
    responses(
        (status = 204, description = "The child is no longer in the group"),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`), or not a child of the group (`NOT_A_CHILD`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/groups/{groupIdentifier}/groups/{childGroupIdentifier}")]
pub async fn remove_child_group(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (parent, child) = path.into_inner();
    let parent = GroupIdentifier::parse(&parent)?;
    let child = GroupIdentifier::parse(&child)?;
    service.remove_child_group(&caller, parent, child).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List child groups
///
/// The groups in the group (with `includeInherited`, at any depth below it),
/// a page at a time, in name order unless `order` says otherwise.
///
/// **Permissions:** `group_read`.
#[utoipa::path(
    tag = "Management: child groups",
    params(("groupIdentifier" = String, Path, description = "The group: id (UUID) or name"), GroupListQuery),
    responses(
        (status = 200, description = "A page of the child groups", body = GroupPagedList),
        (status = 404, description = "Group not found (`GROUP_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/groups/{groupIdentifier}/groups")]
pub async fn list_child_groups(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<GroupListQuery>,
) -> Result<HttpResponse, Error> {
    let group = GroupIdentifier::parse(&path.into_inner())?;
    let (inherited, include_self) = (query.include_inherited.unwrap_or(false), query.include_self.unwrap_or(false));
    let listing = query.parse()?;
    let (total, page) = service.list_child_groups(&caller, group, inherited, include_self, listing.selection()).await?;
    Ok(HttpResponse::Ok().json(listing.page(total, page)))
}
