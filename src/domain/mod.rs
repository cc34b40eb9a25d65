//! Identifiers and rules of the domain; no actix or diesel in here.

mod identifiers;
mod names;
mod permission;

pub use identifiers::{GroupIdentifier, UserIdList, UserIdentifier, MAX_BULK_USERS};
pub use names::{normalize_key, Email, GroupDescription, GroupName, PersonName, Username};
pub use permission::Permission;
