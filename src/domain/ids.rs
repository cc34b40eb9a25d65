//! Typed identifiers of the core: an account, a user and a group id are
//! different types, so one cannot be passed where another is meant. They are
//! UUIDs, written in the hyphenated lowercase spelling everywhere (stored,
//! rendered, signed into tokens). (The diesel derives only let the database
//! layer bind them as text; how is written there, in `db::ids`.)

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        /// Only the hyphenated spelling ([`super::parse_uuid`]).
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                super::parse_uuid(s).map(Self).ok_or_else(|| format!("'{s}' is not a hyphenated UUID"))
            }
        }
    };
}

id_type!(
    /// An account (tenant).
    AccountId
);
id_type!(
    /// A user of an account.
    UserId
);
id_type!(
    /// A group of an account.
    GroupId
);
id_type!(
    /// An API key (its id is the OAuth2 `client_id`).
    ApiKeyId
);
id_type!(
    /// A webhook of an account.
    WebhookId
);
id_type!(
    /// A password sign-in and the refresh token that continues it.
    SessionId
);
