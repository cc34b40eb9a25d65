//! Identifiers, names, permissions and changes of the domain: plain values
//! and the rules that parse them; no HTTP, no queries.

mod change;
mod identifiers;
mod ids;
mod listing;
mod names;
mod permission;
pub mod profile;
pub mod scim;
pub mod user_query;

pub use change::{Change, Principal, Subjects, KINDS as CHANGE_KINDS};
pub use identifiers::{GroupIdList, GroupIdentifier, IdList, UserIdList, UserIdentifier, MAX_BULK_IDS, MAX_BULK_USERS};
pub use ids::{AccountId, ApiKeyId, GroupId, SessionId, UserId, WebhookId};
pub use listing::{GroupSort, Page, Search, Sort, UserSort};
pub use names::{
    check_account_name, check_plain_text, normalize_key, parse_uuid, Email, GroupDescription, GroupName, PersonName, Username,
    DESCRIPTION_PATTERN, EMAIL_PATTERN, NAME_PATTERN, PERSON_NAME_PATTERN, TEXT_PATTERN, USERNAME_PATTERN,
};
pub use permission::Permission;
