//! The one engine behind all three API surfaces: each function is one use
//! case, takes parsed domain values, and does its writes in one transaction.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod events;
pub mod groups;
pub mod hierarchy;
pub mod members;
pub mod scim;
pub mod sign_in;
pub mod user_status;
pub mod users;
pub mod webhooks;

pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
