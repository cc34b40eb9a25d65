//! Users on the management surface.

use actix_web::{delete, get, head, patch, post, put, web, HttpResponse};

use super::body::{custom_patch, merge_patch, text_patch, Body, Patch};
use super::models::{
    group_list, GroupListQuery, GroupPagedList, ManagementUser, NewUserBody, PasswordChange, UserActionBody, UserBody, UserMergePatch,
    UserPagedList, UserPagingQuery, USER_SORTS,
};
use crate::api::error::ManagementError;
use crate::api::{Caller, CheckLater};
use crate::credentials::Password;
use crate::db::users::UserFilter;
use crate::domain::profile::{self, UserProfile};
use crate::domain::{user_query, Sort};
use crate::domain::{Email, PersonName, UserIdentifier, UserSort, Username};
use crate::engine::user_status::UserAction;
use crate::engine::users::{UserDraft, UserPatch};
use crate::error::Error;
use crate::service::Service;
use serde_json::Value;

/// The vendor's name for the caller, usable wherever a user is named.
pub const CURRENT_USER: &str = "@current";

/// A user identifier of the management surface: `@current` is the caller.
pub fn user_identifier(caller: &Caller, raw: &str) -> Result<UserIdentifier, Error> {
    if raw == CURRENT_USER {
        return Ok(UserIdentifier::Id(caller.user));
    }
    UserIdentifier::parse(raw)
}

fn draft(body: &UserBody) -> Result<UserDraft, Error> {
    Ok(UserDraft {
        email: Email::parse(&body.email)?,
        username: body.username.as_deref().map(Username::parse).transpose()?,
        first_name: PersonName::parse("firstName", body.first_name.as_deref())?,
        last_name: PersonName::parse("lastName", body.last_name.as_deref())?,
        password_hash: None,
        suspended: false,
        profile: UserProfile {
            timezone: body.timezone.as_deref().map(profile::timezone).transpose()?,
            language: body.language.as_deref().map(profile::language).transpose()?,
            avatar_url: body.avatar_url.as_deref().map(profile::avatar_url).transpose()?,
            custom: body.custom.as_ref().map(profile::custom).transpose()?,
            opt_out_of_notifications: body.opt_out_of_notifications.unwrap_or(false),
        },
    })
}

/// Query of a user creation.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateUserQuery {
    /// Create the user suspended: they cannot sign in until `unsuspend`
    pub suspended: Option<bool>,
}

/// Create a user
///
/// With `credentials.password` the user can sign in with the password
/// grant of the token endpoint; without, they are a service user (API keys only).
///
/// **Permissions:** `user_create`.
#[utoipa::path(
    tag = "Management: users",
    params(CreateUserQuery),
    request_body = NewUserBody,
    responses(
        (status = 201, description = "The user", body = ManagementUser),
        (status = 422, description = "The body breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 409, description = "The email or username is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/users")]
pub async fn create_user(
    service: web::Data<Service>,
    caller: CheckLater,
    query: web::Query<CreateUserQuery>,
    body: Body<NewUserBody>,
) -> Result<HttpResponse, Error> {
    let password = body
        .credentials
        .as_ref()
        .map(|c| Password::parse("credentials.password", &c.password))
        .transpose()
        .map_err(Error::unprocessable)?;
    let mut draft = draft(&body.user).map_err(Error::unprocessable)?;
    draft.suspended = query.suspended.unwrap_or(false);
    let user = service.create_user_checking(&caller.caller, caller.unchecked, draft, password).await?;
    Ok(HttpResponse::Created().json(ManagementUser::from(user)))
}

/// List users
///
/// **Permissions:** `user_read`.
#[utoipa::path(
    tag = "Management: users",
    params(UserPagingQuery),
    responses(
        (status = 200, description = "A page of users", body = UserPagedList),
        (status = 400, description = "Invalid paging (`VALIDATION_ERROR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users")]
pub async fn list_users(service: web::Data<Service>, caller: Caller, query: web::Query<UserPagingQuery>) -> Result<HttpResponse, Error> {
    let paging = query.paging()?;
    let sort = query.sort(UserSort::Email, &USER_SORTS)?;
    let filter = UserFilter { any: paging.search.clone(), ..UserFilter::default() };
    let found = service.list_users(&caller, filter, sort, paging.page).await?;
    let items = found.items.into_iter().map(ManagementUser::from).collect();
    Ok(HttpResponse::Ok().json(UserPagedList::new(&paging, found.total, items)))
}

/// The vendor client's search query: its `where` clause, `orderBy`, paging.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchQuery {
    /// The client's where clause as JSON: an array of expressions that must all hold; each `{"field": f, op: value}` with op `equalTo`, `contains`, `startsWith`, `endsWith`, `in`, `exists`, `greaterThan`, `greaterThanOrEqualTo`, `lessThan`, `lessThanOrEqualTo`, `between`, or `{"and": [...]}`, `{"or": [...]}`, `{"not": {...}}`. Fields: `id`, `username` (`userName`), `email`, `firstName`, `lastName` (by name key, case-insensitive), `timezone`, `language`, `created`, `modified`, `optOutOfNotifications`. Anything else (`freeText`, other fields) is a 400.
    #[param(example = r#"[{"field":"lastName","startsWith":"dur"}]"#)]
    #[serde(rename = "where")]
    pub where_: Option<String>,
    /// JSON: a field name, `-name`, or an array of them or of `{"asc": name}` / `{"desc": name}` (the listing's order fields)
    pub order_by: Option<String>,
    /// The page, counted from 0
    #[param(minimum = 0, maximum = 1000000, default = 0)]
    pub page_index: Option<i64>,
    /// Items a page, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub page_size: Option<i64>,
}

/// The same query sent as a JSON body (`POST …/users/search`), as the client does for long ones.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchBody {
    /// The where clause (see `GET …/users/search`)
    #[serde(rename = "where")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub where_: Option<Value>,
    /// Order fields (see `GET …/users/search`)
    #[schema(value_type = Option<Object>)]
    pub order_by: Option<Value>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub page_index: Option<i64>,
    #[schema(minimum = 1, maximum = 1000)]
    pub page_size: Option<i64>,
    /// Only `false`: Rollcall keeps no archived users
    pub include_archived: Option<bool>,
    /// Only `false`: deleted users are not searched
    pub include_deleted: Option<bool>,
}

/// The order of a search: the client's `orderBy` as the listing's `order` list.
fn search_order(order_by: Option<&Value>) -> Result<Sort<UserSort>, Error> {
    let bad = || {
        Error::validation("orderBy must be a field, -field, or an array of them or of {\"asc\"|\"desc\": field}")
            .detail("field", "orderBy".into())
    };
    let one = |v: &Value| -> Result<String, Error> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) if o.len() == 1 => match (o.get("asc"), o.get("desc")) {
                (Some(Value::String(f)), None) => Ok(f.clone()),
                (None, Some(Value::String(f))) => Ok(format!("-{f}")),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    };
    let fields: Vec<String> = match order_by {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(one).collect::<Result<_, _>>()?,
        Some(other) => vec![one(other)?],
    };
    let list = (!fields.is_empty()).then(|| fields.join(","));
    Sort::parse_list("orderBy", list.as_deref(), UserSort::Email, &USER_SORTS)
}

async fn search(service: web::Data<Service>, caller: Caller, body: UserSearchBody) -> Result<HttpResponse, Error> {
    if body.include_archived == Some(true) || body.include_deleted == Some(true) {
        return Err(Error::validation(
            "includeArchived and includeDeleted are not implemented by Rollcall: deleted users are not searched",
        ));
    }
    let expr = user_query::parse_where(body.where_.as_ref().unwrap_or(&Value::Null))?;
    let sort = search_order(body.order_by.as_ref())?;
    let paging = super::models::paging(body.page_index, body.page_size, None)?;
    let found = service.search_users(&caller, expr, sort, paging.page).await?;
    let items = found.items.into_iter().map(ManagementUser::from).collect();
    Ok(HttpResponse::Ok().json(UserPagedList::new(&paging, found.total, items)))
}

/// Search users
///
/// The vendor client's `users.search(query)`: a where clause over the user
/// model, order, paging. (A user named `search` is reached by id or email.)
///
/// **Permissions:** `user_read`.
#[utoipa::path(
    tag = "Management: users",
    params(UserSearchQuery),
    responses(
        (status = 200, description = "A page of matching users", body = UserPagedList),
        (status = 400, description = "The where clause or order is not valid, or names what Rollcall does not implement (`VALIDATION_ERROR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users/search")]
pub async fn search_users(service: web::Data<Service>, caller: Caller, query: web::Query<UserSearchQuery>) -> Result<HttpResponse, Error> {
    let query = query.into_inner();
    let json = |name: &str, raw: Option<String>| -> Result<Option<Value>, Error> {
        raw.map(|r| {
            serde_json::from_str(&r)
                .map_err(|e| Error::validation(format!("{name} is not valid JSON")).developer(e.to_string()).detail("field", name.into()))
        })
        .transpose()
    };
    // Empty parameters are absent ones, as everywhere.
    let (where_, order_by) = (query.where_.filter(|w| !w.is_empty()), query.order_by.filter(|o| !o.is_empty()));
    let body = UserSearchBody {
        where_: json("where", where_)?,
        order_by: match order_by {
            // A bare field name need not be quoted.
            Some(raw) if !raw.trim_start().starts_with(['[', '{', '"']) => Some(Value::String(raw)),
            other => json("orderBy", other)?,
        },
        page_index: query.page_index,
        page_size: query.page_size,
        include_archived: None,
        include_deleted: None,
    };
    search(service, caller, body).await
}

/// Search users (query in the body)
///
/// The same search with the query as a JSON body.
///
/// **Permissions:** `user_read`.
#[utoipa::path(
    tag = "Management: users",
    request_body = UserSearchBody,
    responses(
        (status = 200, description = "A page of matching users", body = UserPagedList),
        (status = 400, description = "The where clause or order is not valid, or names what Rollcall does not implement (`VALIDATION_ERROR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/users/search")]
pub async fn search_users_by_body(
    service: web::Data<Service>,
    caller: Caller,
    body: web::Json<UserSearchBody>,
) -> Result<HttpResponse, Error> {
    search(service, caller, body.into_inner()).await
}

/// Get a user
///
/// `GET …/users/@current` answers the caller (the vendor client's `users.getCurrent`).
///
/// **Permissions:** `user_read`; anyone may read themself.
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller", example = "tdurden")),
    responses(
        (status = 200, description = "The user", body = ManagementUser),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users/{userIdentifier}")]
pub async fn get_user(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    let user = service.get_user(&caller, user, false).await?;
    Ok(HttpResponse::Ok().json(ManagementUser::from(user)))
}

/// Replace a user
///
/// Sets every field; absent optional fields are cleared.
///
/// **Permissions:** `user_update`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller")),
    request_body = UserBody,
    responses(
        (status = 200, description = "The user", body = ManagementUser),
        (status = 422, description = "The body breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The email or username is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[put("/users/{userIdentifier}")]
pub async fn replace_user(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<UserBody>,
) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    if body.credentials.is_some() {
        return Err(Error::validation(
            "credentials are set at creation; change a password with POST …/users/{userIdentifier}/credentials/password",
        )
        .detail("field", "credentials".into())
        .unprocessable());
    }
    let patch = UserPatch::from(draft(&body).map_err(Error::unprocessable)?);
    let user = service.update_user(&caller, user, patch).await?;
    Ok(HttpResponse::Ok().json(ManagementUser::from(user)))
}

/// Update a user (merge patch)
///
/// RFC 7396, as the vendor's client sends it (`application/merge-patch+json`):
/// a property present sets the field, `null` clears it (`email` cannot be
/// cleared), an absent one keeps it. Property names are matched
/// case-insensitively. Read-only properties of the user model (`id`,
/// `created`, `status`, …) are accepted and ignored, so a user as read can
/// be sent back changed; `credentials` is refused (passwords change through
/// `…/credentials/password`).
///
/// **Permissions:** `user_update`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller")),
    request_body(content = UserMergePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The user as updated", body = ManagementUser),
        (status = 422, description = "A value breaks the rules (`VALIDATION_ERROR`, `data.field`); malformed JSON is a 400", body = ManagementError),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The email or username is taken (`NAME_TAKEN`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[patch("/users/{userIdentifier}")]
pub async fn update_user(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<Value>,
) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    let patch = user_merge_patch(body).map_err(Error::unprocessable)?;
    let user = service.update_user(&caller, user, patch).await?;
    Ok(HttpResponse::Ok().json(ManagementUser::from(user)))
}

/// The user patch a merge-patch body asks for.
fn user_merge_patch(body: Body<Value>) -> Result<UserPatch, Error> {
    let fields = merge_patch(body)?;
    if fields.contains_key("credentials") {
        return Err(Error::validation("credentials cannot be patched; change a password with POST …/credentials/password")
            .detail("field", "credentials".into()));
    }
    let text = |name: &str| Patch::<String>::of(&fields, name);
    Ok(UserPatch {
        email: match text("email")? {
            Patch::Keep => None,
            Patch::Clear => return Err(Error::validation("email cannot be cleared").detail("field", "email".into())),
            Patch::Set(e) => Some(Email::parse(&e)?),
        },
        username: match text("username")? {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(u) => Some(Some(Username::parse(&u)?)),
        },
        first_name: person_name(text("firstName")?, "firstName")?,
        last_name: person_name(text("lastName")?, "lastName")?,
        timezone: text_patch(&fields, "timezone", profile::timezone)?,
        language: text_patch(&fields, "language", profile::language)?,
        avatar_url: text_patch(&fields, "avatarUrl", profile::avatar_url)?,
        custom: custom_patch(&fields)?,
        opt_out_of_notifications: match Patch::<bool>::of(&fields, "optOutOfNotifications")? {
            Patch::Keep => None,
            Patch::Clear => Some(false),
            Patch::Set(b) => Some(b),
        },
    })
}

fn person_name(patch: Patch<String>, field: &str) -> Result<Option<PersonName>, Error> {
    Ok(match patch {
        Patch::Keep => None,
        Patch::Clear => Some(PersonName::parse(field, None)?),
        Patch::Set(name) => Some(PersonName::parse(field, Some(&name))?),
    })
}

/// Delete a user
///
/// Soft delete: the user leaves every listing and cannot be added to groups;
/// the email and username stay taken. The last member of `System
/// Administrators` cannot be deleted (409 `LAST_ADMINISTRATOR`).
///
/// **Permissions:** `user_delete`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The last administrator (`LAST_ADMINISTRATOR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[delete("/users/{userIdentifier}")]
pub async fn delete_user(service: web::Data<Service>, caller: Caller, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    service.delete_user(&caller, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a user's groups
///
/// The groups the user is a member of (with `includeInherited`, also the
/// groups above them), a page at a time, in name order unless `order` says
/// otherwise; `excludedGroups` leaves the named groups out.
///
/// **Permissions:** `user_read`; anyone may list their own.
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller"), GroupListQuery),
    responses(
        (status = 200, description = "A page of the user's groups", body = GroupPagedList),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[get("/users/{userIdentifier}/groups")]
pub async fn list_user_groups(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<GroupListQuery>,
) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    let inherited = query.include_inherited.unwrap_or(false);
    let listing = query.parse()?;
    let (total, page) = service.groups_of_user(&caller, user, inherited, listing.selection()).await?;
    Ok(HttpResponse::Ok().json(listing.page(total, page)))
}

/// Is the user in any of the groups?
///
/// 204 when the user belongs to at least one of the comma-separated groups
/// (ids or names), directly or through a child group; 404 otherwise.
///
/// **Permissions:** `user_read`; anyone may ask about themself.
#[utoipa::path(
    tag = "Management: users",
    params(
        ("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller"),
        ("groupIdentifiers" = String, Path, description = "Comma-separated group ids or names", example = "Paper Street Soap Company,System Administrators"),
    ),
    responses(
        (status = 204, description = "A member of at least one of the groups"),
        (status = 404, description = "Not a member of any, or the user does not exist"),
    ),
    security(("bearerAuth" = []))
)]
#[head("/users/{userIdentifier}/groups/{groupIdentifiers}")]
pub async fn user_in_groups(service: web::Data<Service>, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, Error> {
    let (user, groups) = path.into_inner();
    let user = user_identifier(&caller, &user)?;
    let groups = group_list(&groups)?;
    let member = service.user_in_any_group(&caller, user, groups).await?;
    Ok(if member { HttpResponse::NoContent().finish() } else { HttpResponse::NotFound().finish() })
}

/// Change a user's password
///
/// Your own needs `existing` (when you have a password); another user's
/// needs `user_update` and holding everything they hold. Ends the user's
/// other password sign-ins (their refresh tokens and tokens); API keys stay.
///
/// **Permissions:** none for yourself; else `user_update`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller")),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "The new password breaks the rules, or `existing` is missing or wrong (`VALIDATION_ERROR`, `data.field`)", body = ManagementError),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/users/{userIdentifier}/credentials/password")]
pub async fn change_password(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<PasswordChange>,
) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    let new = Password::parse("new", &body.new).map_err(Error::unprocessable)?;
    let existing = body.existing.as_deref().map(Password::candidate);
    service.change_password(&caller, caller.session, user, new, existing).await.map_err(Error::unprocessable)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Act on a user
///
/// `suspend`: the user can no longer sign in, and every token issued to them
/// so far is refused from the next request on (the last active member of
/// System Administrators cannot be suspended: 409 `LAST_ADMINISTRATOR`).
/// `unsuspend` reinstates them (old tokens stay refused). `unlock` lifts the
/// lock that repeated failed sign-ins set. `setPasswordToExpirable` marks
/// the password as subject to expiry.
///
/// **Permissions:** `user_update`, and holding everything the user holds (else 403).
#[utoipa::path(
    tag = "Management: users",
    params(("userIdentifier" = String, Path, description = "The user id (UUID), email (contains `@`) or username; `@current` is the caller")),
    request_body = UserActionBody,
    responses(
        (status = 204, description = "Done"),
        (status = 422, description = "Unknown action type (`VALIDATION_ERROR`)", body = ManagementError),
        (status = 404, description = "User not found (`USER_NOT_FOUND`)", body = ManagementError),
        (status = 409, description = "The last active administrator (`LAST_ADMINISTRATOR`)", body = ManagementError),
    ),
    security(("bearerAuth" = []))
)]
#[post("/users/{userIdentifier}/actions")]
pub async fn act_on_user(
    service: web::Data<Service>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<UserActionBody>,
) -> Result<HttpResponse, Error> {
    let user = user_identifier(&caller, &path.into_inner())?;
    let action = UserAction::parse(&body.kind).map_err(Error::unprocessable)?;
    service.user_action(&caller, user, action).await?;
    Ok(HttpResponse::NoContent().finish())
}
