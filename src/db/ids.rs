//! The typed ids as the text columns they are stored in.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use crate::domain::{AccountId, ApiKeyId, GroupId, SessionId, UserId, WebhookId};

macro_rules! text_id {
    ($name:ident) => {
        impl ToSql<Text, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.to_string());
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                use std::io::Write;
                write!(out, "{}", self)?;
                Ok(IsNull::No)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                uuid::Uuid::try_parse(&text).map(Self::from).map_err(|e| format!("stored id '{text}': {e}").into())
            }
        }
    };
}

text_id!(AccountId);
text_id!(UserId);
text_id!(GroupId);
text_id!(ApiKeyId);
text_id!(SessionId);
text_id!(WebhookId);
