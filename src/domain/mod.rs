//! Identifiers and rules of the domain; no actix or diesel in here.

mod identifiers;
mod listing;
mod names;
mod permission;

pub use identifiers::{GroupIdentifier, UserIdList, UserIdentifier, MAX_BULK_USERS};
pub use names::{
    normalize_key, parse_uuid, Email, GroupDescription, GroupName, PersonName, Username, NAME_PATTERN,
    PERSON_NAME_PATTERN, USERNAME_PATTERN,
};
pub use listing::{GroupSort, Page, Search, Sort, UserSort};
pub use permission::Permission;
