//! Identifiers and rules of the domain; no actix or diesel in here.

mod identifiers;
mod listing;
mod names;
mod permission;

pub use identifiers::{GroupIdentifier, UserIdList, UserIdentifier, MAX_BULK_USERS};
pub use listing::{GroupSort, Page, Search, Sort, UserSort};
pub use names::{
    check_account_name, check_plain_text, normalize_key, parse_uuid, Email, GroupDescription, GroupName, PersonName, Username,
    DESCRIPTION_PATTERN, EMAIL_PATTERN, NAME_PATTERN, PERSON_NAME_PATTERN, TEXT_PATTERN, USERNAME_PATTERN,
};
pub use permission::Permission;
