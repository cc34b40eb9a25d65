//! The management surface's bodies (camelCase) and paging.

use crate::api::timestamp;
use crate::db::users::User;
use crate::domain::{normalize_key, GroupIdentifier, GroupSort, Page, Permission, Search, Sort, UserSort};
use crate::engine::groups::{GroupView, Selection};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The fields the management listings sort by, in its (camelCase) names.
/// Rollcall's names and the vendor model's (`userName`, `created`, `modified`).
pub const USER_SORTS: [(&str, UserSort); 9] = [
    ("email", UserSort::Email),
    ("username", UserSort::Username),
    ("userName", UserSort::Username),
    ("firstName", UserSort::FirstName),
    ("lastName", UserSort::LastName),
    ("createdAt", UserSort::CreatedAt),
    ("created", UserSort::CreatedAt),
    ("updatedAt", UserSort::UpdatedAt),
    ("modified", UserSort::UpdatedAt),
];
pub const GROUP_SORTS: [(&str, GroupSort); 5] = [
    ("name", GroupSort::Name),
    ("createdAt", GroupSort::CreatedAt),
    ("created", GroupSort::CreatedAt),
    ("updatedAt", GroupSort::UpdatedAt),
    ("modified", GroupSort::UpdatedAt),
];

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementUser {
    #[schema(format = "uuid")]
    pub id: String,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub avatar_url: Option<String>,
    /// The client's free JSON object
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    pub opt_out_of_notifications: bool,
    pub status: UserStatus,
    /// When the user was created (the vendor's name; also `createdAt`)
    #[schema(format = "date-time")]
    pub created: String,
    /// When the user was last changed (the vendor's name; also `updatedAt`)
    #[schema(format = "date-time")]
    pub modified: String,
    /// The last successful password sign-in
    #[schema(format = "date-time")]
    pub last_login: Option<String>,
    /// When the password was last set
    #[schema(format = "date-time")]
    pub password_changed: Option<String>,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub updated_at: String,
}

/// A user's sign-in status (read-only; change it with the user actions).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// Suspended: no sign-in, no token accepted
    pub suspended: bool,
    /// Locked after repeated failed sign-ins (until the lock ends or `unlock`)
    pub locked: bool,
    /// Someone else set the password; the user is asked to choose their own
    pub password_reset_required: bool,
}

fn custom_object(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl From<User> for ManagementUser {
    fn from(u: User) -> Self {
        let locked = u.locked_until.is_some_and(|until| until > crate::engine::now());
        // Each under two names (the vendor's and ours).
        let (created, modified) = (timestamp(u.created_at), timestamp(u.updated_at));
        Self {
            id: u.id.to_string(),
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            timezone: u.timezone,
            language: u.language,
            avatar_url: u.avatar_url,
            custom: custom_object(u.custom),
            opt_out_of_notifications: u.opt_out_of_notifications,
            status: UserStatus { suspended: u.suspended, locked, password_reset_required: u.password_reset_required },
            created_at: created.clone(),
            updated_at: modified.clone(),
            created,
            modified,
            last_login: u.last_sign_in_at.map(timestamp),
            password_changed: u.password_changed_at.map(timestamp),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroup {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    pub description: String,
    /// True for the built-in `System Administrators` group
    pub is_system: bool,
    /// `sys` for the built-in `System Administrators`, `contensis` for every other group (the vendor's names)
    #[serde(rename = "type")]
    #[schema(value_type = GroupType)]
    pub kind: &'static str,
    /// The client's free JSON object
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    /// Permissions the group's members (and members of groups below it) hold
    pub permissions: Vec<Permission>,
    /// When the group was created (the vendor's name; also `createdAt`)
    #[schema(format = "date-time")]
    pub created: String,
    /// When the group was last changed (the vendor's name; also `updatedAt`)
    #[schema(format = "date-time")]
    pub modified: String,
    #[schema(format = "date-time")]
    pub created_at: String,
    #[schema(format = "date-time")]
    pub updated_at: String,
}

/// The vendor's group types; Rollcall's groups are `sys` or `contensis`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code, reason = "documents the values")]
pub enum GroupType {
    Sys,
    Contensis,
}

impl From<GroupView> for ManagementGroup {
    fn from(v: GroupView) -> Self {
        let g = v.group;
        // Each under two names (the vendor's and ours).
        let (created, modified) = (timestamp(g.created_at), timestamp(g.updated_at));
        Self {
            id: g.id.to_string(),
            name: g.name,
            description: g.description,
            is_system: g.is_system,
            kind: if g.is_system { "sys" } else { "contensis" },
            custom: custom_object(g.custom),
            permissions: v.permissions,
            created_at: created.clone(),
            updated_at: modified.clone(),
            created,
            modified,
        }
    }
}

/// A user as sent to create or replace one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserBody {
    /// Email address, unique in the account by its name key (Unicode NFKC_Casefold: case, width, compatibility forms and invisible characters make no difference); no control characters,
    /// no leading or trailing whitespace
    #[schema(format = "email", min_length = 3, max_length = 320, example = "t.durden@fightclub.com")]
    pub email: String,
    /// Username, unique in the account by its name key (Unicode NFKC_Casefold: case, width, compatibility forms and invisible characters make no difference):
    /// no control characters or line separators, no leading or trailing
    /// whitespace, no `@` or `/`, not a hyphenated UUID
    #[schema(min_length = 1, max_length = 255, example = "tdurden")]
    pub username: Option<String>,
    #[schema(max_length = 255, example = "Tyler")]
    pub first_name: Option<String>,
    #[schema(max_length = 255, example = "Durden")]
    pub last_name: Option<String>,
    /// A time zone name
    #[schema(max_length = 64, example = "Europe/London")]
    pub timezone: Option<String>,
    /// A language tag
    #[schema(max_length = 35, example = "en-GB")]
    pub language: Option<String>,
    /// An http(s) URL
    #[schema(max_length = 2048, example = "https://example.com/tyler.png")]
    pub avatar_url: Option<String>,
    /// A free JSON object of the client's (at most 16 KiB as JSON), stored and answered as sent
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
    pub opt_out_of_notifications: Option<bool>,
    /// Not part of a replacement: refused there, never ignored (passwords
    /// change through `…/credentials/password`).
    #[serde(default)]
    #[schema(ignore)]
    pub credentials: Option<serde::de::IgnoredAny>,
}

/// A merge patch of a user (RFC 7396): present sets, `null` clears, absent keeps.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "documents the patch; the handler reads the JSON object")]
pub struct UserMergePatch {
    /// Cannot be cleared
    #[schema(format = "email", min_length = 3, max_length = 320, nullable = false)]
    email: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    username: Option<String>,
    #[schema(max_length = 255)]
    first_name: Option<String>,
    #[schema(max_length = 255)]
    last_name: Option<String>,
    #[schema(max_length = 64)]
    timezone: Option<String>,
    #[schema(max_length = 35)]
    language: Option<String>,
    #[schema(max_length = 2048)]
    avatar_url: Option<String>,
    /// Replaces the whole object; `null` removes it
    #[schema(value_type = Option<Object>)]
    custom: Option<Value>,
    opt_out_of_notifications: Option<bool>,
}

/// A merge patch of a group (RFC 7396): present sets, `null` clears, absent keeps.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code, reason = "documents the patch; the handler reads the JSON object")]
pub struct GroupMergePatch {
    /// Cannot be cleared
    #[schema(min_length = 1, max_length = 255, nullable = false)]
    name: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    /// Permissions to grant (administrators only)
    permissions: Option<Vec<Permission>>,
    /// Replaces the whole object; `null` removes it
    #[schema(value_type = Option<Object>)]
    custom: Option<Value>,
}

/// A user as sent to create one: the fields of a user, and optionally a password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserBody {
    #[serde(flatten)]
    pub user: UserBody,
    /// The user's password (stored as an Argon2id hash, never shown); without
    /// one the user signs in with API keys only
    pub credentials: Option<UserCredentials>,
}

/// A user's credentials, as sent when creating them.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserCredentials {
    /// 8 to 256 characters, no control characters
    #[schema(min_length = 8, max_length = 256, write_only, example = "correct horse battery staple")]
    pub password: String,
}

/// A new password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    /// The new password: 8 to 256 characters, no control characters
    #[schema(min_length = 8, max_length = 256, write_only)]
    pub new: String,
    /// The current password: needed to change your own (when you have one)
    #[schema(write_only)]
    pub existing: Option<String>,
}

/// A user action.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserActionBody {
    /// `suspend` (refuses sign-in and every token issued so far), `unsuspend`, `unlock` (lifts the lock after failed sign-ins), `setPasswordToExpirable`
    #[serde(rename = "type")]
    #[schema(value_type = UserActionType, example = "suspend")]
    pub kind: String,
}

/// The vendor's user actions.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code, reason = "documents the values; the handler parses the string")]
pub enum UserActionType {
    Suspend,
    Unsuspend,
    Unlock,
    SetPasswordToExpirable,
}

/// A group as sent to create or replace one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    /// Group name, unique in the account by its name key (Unicode NFKC_Casefold: case, width, compatibility forms and invisible characters make no difference):
    /// no control characters or line separators, no leading or trailing
    /// whitespace, not a hyphenated UUID
    #[schema(min_length = 1, max_length = 255, example = "Paper Street Soap Company")]
    pub name: String,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// Permissions to grant (administrators only); absent leaves them as they are
    pub permissions: Option<Vec<Permission>>,
    /// A free JSON object of the client's (at most 16 KiB as JSON), stored and answered as sent
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Value>,
}

/// Where a page of a listing is, as written (the fields of the
/// `…PagedList` schemas but their `items`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paged {
    pub page_index: i64,
    pub page_size: i64,
    pub total_count: i64,
    pub page_count: i64,
}

impl Paged {
    pub fn new(paging: &Paging, total: i64) -> Self {
        Paged {
            page_index: paging.page_index,
            page_size: paging.page.limit,
            total_count: total,
            page_count: (total + paging.page.limit - 1) / paging.page.limit,
        }
    }
}

macro_rules! paged_list {
    ($name:ident, $item:ty) => {
        /// One page of a listing.
        #[derive(Debug, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The page, counted from 0
            pub page_index: i64,
            pub page_size: i64,
            /// Items in all pages
            pub total_count: i64,
            pub page_count: i64,
            pub items: Vec<$item>,
        }

        impl $name {
            pub fn new(paging: &Paging, total: i64, items: Vec<$item>) -> Self {
                let Paged { page_index, page_size, total_count, page_count } = Paged::new(paging, total);
                Self { page_index, page_size, total_count, page_count, items }
            }
        }
    };
}

paged_list!(UserPagedList, ManagementUser);
paged_list!(GroupPagedList, ManagementGroup);

/// Paging query parameters; each listing names the fields it sorts by.
macro_rules! paging_query {
    ($name:ident, $pattern:literal, $doc:literal) => {
        #[derive(Debug, Deserialize, IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The page, counted from 0
            #[param(minimum = 0, maximum = 1000000, default = 0)]
            pub page_index: Option<i64>,
            /// Items a page, 1 to 1000
            #[param(minimum = 1, maximum = 1000, default = 25)]
            pub page_size: Option<i64>,
            #[doc = $doc]
            #[param(pattern = $pattern)]
            pub order: Option<String>,
            /// Only items whose name (groups) or email, username, first or
            /// last name (users) contains this text, case-insensitive
            pub q: Option<String>,
        }

        impl $name {
            pub fn paging(&self) -> Result<Paging, Error> {
                paging(self.page_index, self.page_size, self.q.as_deref())
            }

            pub fn sort<K: Copy + PartialEq>(&self, default: K, fields: &[(&str, K)]) -> Result<Sort<K>, Error> {
                Sort::parse_list("order", self.order.as_deref(), default, fields)
            }
        }
    };
}

paging_query!(
    GroupPagingQuery,
    "^-?(name|createdAt|created|updatedAt|modified)(,-?(name|createdAt|created|updatedAt|modified)){0,2}$",
    "Up to three sort fields, comma-separated: `name` (default), `createdAt` (or `created`), `updatedAt` (or `modified`); prefix `-` for descending"
);
paging_query!(
    UserPagingQuery,
    "^-?(email|username|userName|firstName|lastName|createdAt|created|updatedAt|modified)(,-?(email|username|userName|firstName|lastName|createdAt|created|updatedAt|modified)){0,2}$",
    "Up to three sort fields, comma-separated: `email` (default), `username` (or `userName`), `firstName`, `lastName`, `createdAt` (or `created`), `updatedAt` (or `modified`); prefix `-` for descending"
);

pub struct Paging {
    pub page_index: i64,
    pub page: Page,
    pub search: Option<Search>,
}

pub fn paging(page_index: Option<i64>, page_size: Option<i64>, q: Option<&str>) -> Result<Paging, Error> {
    let index = page_index.unwrap_or(0);
    if !(0..=1_000_000).contains(&index) {
        return Err(Error::validation("pageIndex must be between 0 and 1000000").detail("field", "pageIndex".into()));
    }
    let size = Page::new(("pageIndex", Some(0)), ("pageSize", page_size), 25, 1000)?.limit;
    Ok(Paging { page_index: index, page: Page { offset: index * size, limit: size }, search: Search::parse("q", q)? })
}

/// The query of the group listings that are not searched (a group's child
/// groups, a user's groups): paging, order, groups to leave out.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct GroupListQuery {
    /// Also the groups reached through nesting (below the children; above the user's groups)
    pub include_inherited: Option<bool>,
    /// Child groups only: also the group itself
    pub include_self: Option<bool>,
    /// Comma-separated group ids or names to leave out of the listing
    #[param(example = "System Administrators")]
    pub excluded_groups: Option<String>,
    /// The page, counted from 0
    #[param(minimum = 0, maximum = 1000000, default = 0)]
    pub page_index: Option<i64>,
    /// Items a page, 1 to 1000
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub page_size: Option<i64>,
    /// Up to three sort fields, comma-separated, each `name` (default), `createdAt` (or `created`) or `updatedAt` (or `modified`); prefix `-` for descending
    #[param(pattern = "^-?(name|createdAt|created|updatedAt|modified)(,-?(name|createdAt|created|updatedAt|modified)){0,2}$")]
    pub order: Option<String>,
    /// Only groups whose name contains this text (case-insensitive, by the name key)
    pub q: Option<String>,
}

impl GroupListQuery {
    /// The query's paging, order, search and exclusions, checked (before
    /// anything is read).
    pub fn parse(&self) -> Result<GroupListing, Error> {
        let search = Search::parse("q", self.q.as_deref())?.and(self.q.as_deref()).map(normalize_key);
        Ok(GroupListing {
            paging: paging(self.page_index, self.page_size, None)?,
            sort: Sort::parse_list("order", self.order.as_deref(), GroupSort::Name, &GROUP_SORTS)?,
            excluded: self.excluded_groups.as_deref().map(group_list).transpose()?.unwrap_or_default(),
            search,
        })
    }
}

/// A checked [`GroupListQuery`].
pub struct GroupListing {
    paging: Paging,
    sort: Sort<GroupSort>,
    excluded: Vec<GroupIdentifier>,
    /// The name key to find within group names.
    search: Option<String>,
}

impl GroupListing {
    /// The page asked for (searched, without the excluded ones, sorted),
    /// picked before the groups' permissions are read.
    pub fn selection(&self) -> Selection {
        Selection {
            search: self.search.clone(),
            excluded: self.excluded.clone(),
            sort: self.sort.clone(),
            offset: self.paging.page.offset as usize,
            limit: Some(self.paging.page.limit as usize),
        }
    }

    /// The page of [`Self::selection`]'s groups, with their permissions.
    pub fn page(self, total: i64, page: Vec<GroupView>) -> GroupPagedList {
        GroupPagedList::new(&self.paging, total, page.into_iter().map(ManagementGroup::from).collect())
    }
}

/// A comma-separated list of group identifiers.
pub fn group_list(raw: &str) -> Result<Vec<GroupIdentifier>, Error> {
    raw.split(',').filter(|s| !s.is_empty()).map(GroupIdentifier::parse).collect()
}
