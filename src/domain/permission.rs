//! Permissions that can be granted to groups (PRODUCT.md, "Access").

use std::fmt;
use std::str::FromStr;

/// A permission that can be granted to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    GroupRead,
    GroupCreate,
    GroupUpdate,
    GroupDelete,
    UserRead,
    UserCreate,
    UserUpdate,
    UserDelete,
    /// Reading the change feed (`GET /v1/events`).
    AuditRead,
}

impl Permission {
    pub const ALL: [Permission; 9] = [
        Self::GroupRead,
        Self::GroupCreate,
        Self::GroupUpdate,
        Self::GroupDelete,
        Self::UserRead,
        Self::UserCreate,
        Self::UserUpdate,
        Self::UserDelete,
        Self::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GroupRead => "group_read",
            Self::GroupCreate => "group_create",
            Self::GroupUpdate => "group_update",
            Self::GroupDelete => "group_delete",
            Self::UserRead => "user_read",
            Self::UserCreate => "user_create",
            Self::UserUpdate => "user_update",
            Self::UserDelete => "user_delete",
            Self::AuditRead => "audit_read",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| format!("unknown permission '{s}'"))
    }
}

impl Permission {
    /// A permission as stored; a name no version of Rollcall wrote is a
    /// corrupt row, reported as such rather than skipped.
    pub fn from_stored(name: &str) -> Result<Self, crate::error::Error> {
        name.parse().map_err(|why: String| crate::error::Error::internal(format!("stored {why}")))
    }
}
