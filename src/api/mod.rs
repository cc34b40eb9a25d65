//! The HTTP surfaces: adapters over the service. Each surface is one module
//! that mounts its own scope (with its [`Surface`] as app data: error body,
//! request rules); handlers extract, parse, make one service call, and
//! render. Adding a surface means adding a module here and registering its
//! scope in `startup`.

pub mod accounts;
pub mod docs;
pub mod edge;
pub mod error;
pub mod fallback;
pub mod management;
pub mod observe;
pub mod openapi30;
pub mod principal;
pub mod scim;
pub mod sign_in;
pub mod v1;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;
use uuid::Uuid;

pub use error::Surface;
pub use principal::{Caller, CheckLater};

use crate::domain::{GroupIdList, IdList, Permission, UserIdList};
use crate::error::Error;

/// Array of user IDs to add to the group (max 100 per request)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    min_items = 1,
    max_items = 100,
    example = json!(["7c9e6679-7425-40de-944b-e07fc1f90ae7", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"])
)]
pub struct UserIds(#[serde(deserialize_with = "hyphenated_uuids")] Vec<Uuid>);

impl UserIds {
    pub fn parse(self) -> Result<UserIdList, Error> {
        IdList::parse("user", self.0.into_iter().map(Into::into).collect())
    }
}

/// Array of group IDs (1 to 100)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(min_items = 1, max_items = 100, example = json!(["6254736c-70e1-43b0-b769-f8e0f6359862"]))]
pub struct GroupIds(#[serde(deserialize_with = "hyphenated_uuids")] Vec<Uuid>);

impl GroupIds {
    pub fn parse(self) -> Result<GroupIdList, Error> {
        IdList::parse("group", self.0.into_iter().map(Into::into).collect())
    }
}

/// `format: uuid` means the hyphenated spelling; serde's `Uuid` would also
/// take braced, URN and unhyphenated forms.
fn hyphenated_uuids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Uuid>, D::Error> {
    let raw = Vec::<String>::deserialize(deserializer)?;
    raw.iter()
        .map(|s| crate::domain::parse_uuid(s).ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a hyphenated UUID"))))
        .collect()
}

/// The items of a listing as JSON, each written on the database's thread as
/// its row arrives, into one buffer for the whole page ([`JsonItems::push`]
/// gives where an item is in it), then put in order into the response's
/// body once ([`JsonItems::body`]). A page of 1,000 users is ready when its
/// last row is, with no allocation an item and no copy of the page but the
/// body's (a boxed `RawValue` an item, then `HttpResponse::json` growing
/// its string by doubling, were most of the HTTP worker's share of a
/// management page, bench/RESULTS.md).
#[derive(Clone)]
pub struct JsonItems(std::sync::Arc<std::sync::Mutex<Result<Vec<u8>, serde_json::Error>>>);

/// Where [`JsonItems::push`] wrote one item.
pub struct JsonItem(std::ops::Range<usize>);

impl Default for JsonItems {
    fn default() -> Self {
        JsonItems(std::sync::Arc::new(std::sync::Mutex::new(Ok(Vec::new()))))
    }
}

impl JsonItems {
    /// Writes `item` after those written so far.
    pub fn push<T: serde::Serialize>(&self, item: &T) -> JsonItem {
        let mut written = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(buffer) = written.as_mut() else { return JsonItem(0..0) };
        let start = buffer.len();
        match serde_json::to_writer(&mut *buffer, item) {
            Ok(()) => JsonItem(start..buffer.len()),
            Err(e) => {
                *written = Err(e);
                JsonItem(0..0)
            }
        }
    }

    /// The body of a 200 answer: a JSON object of `fields` (an object) and
    /// `"items"`, the array of `items` in their order, first or last.
    pub fn body(self, items: Vec<JsonItem>, first: bool, fields: &impl serde::Serialize) -> Result<actix_web::HttpResponse, Error> {
        let body = self.object(items, first, fields)?;
        Ok(actix_web::HttpResponse::Ok().content_type(actix_web::http::header::ContentType::json()).body(body))
    }

    fn object(self, items: Vec<JsonItem>, first: bool, fields: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
        let written = std::mem::replace(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()), Ok(Vec::new()));
        let written = written.map_err(Error::internal)?;
        let fields = serde_json::to_vec(fields).map_err(Error::internal)?;
        // `{…}` without its braces (empty: no fields).
        let fields = fields.strip_prefix(b"{").and_then(|f| f.strip_suffix(b"}")).ok_or_else(|| Error::internal("not a JSON object"))?;
        let size = items.iter().map(|i| i.0.len() + 1).sum::<usize>() + fields.len() + 16;
        let mut body = Vec::with_capacity(size);
        body.push(b'{');
        if !first && !fields.is_empty() {
            body.extend_from_slice(fields);
            body.push(b',');
        }
        body.extend_from_slice(br#""items":["#);
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(written.get(item.0).ok_or_else(|| Error::internal("an item outside the page's JSON"))?);
        }
        body.push(b']');
        if first && !fields.is_empty() {
            body.push(b',');
            body.extend_from_slice(fields);
        }
        body.push(b'}');
        Ok(body)
    }
}

/// Timestamps as every surface renders them: RFC 3339, milliseconds, `Z`
/// (what chrono's `to_rfc3339_opts(Millis, true)` writes, spelled out here:
/// chrono's formatter was 5 % of a page of 1,000 users; it still writes the
/// years and leap seconds that need more than four digits and two).
pub fn timestamp(at: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (at.year(), at.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    }
    let mut out = [0u8; 24];
    let mut put = |at: usize, value: u32, width: usize| {
        for k in 0..width {
            out[at + width - 1 - k] = b'0' + (value / 10u32.pow(k as u32) % 10) as u8;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    put(20, nanos / 1_000_000, 3);
    for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')] {
        out[i] = c;
    }
    // Digits and separators only (ASCII).
    out.iter().map(|&b| char::from(b)).collect()
}

impl utoipa::PartialSchema for Permission {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A permission that can be granted to a group."))
            .enum_values(Some(Permission::ALL.iter().map(|p| p.as_str())))
            .into()
    }
}

impl ToSchema for Permission {}

#[cfg(test)]
mod tests {
    #[test]
    fn json_items_are_put_in_the_order_given_around_the_fields() {
        let page = |order: &[usize], first: bool, fields: serde_json::Value| {
            let json = super::JsonItems::default();
            let mut spans: Vec<_> = ["a", "b\"c", "d"].iter().map(|s| Some(json.push(&serde_json::json!({ "s": s })))).collect();
            let items = order.iter().map(|&i| spans[i].take().unwrap()).collect();
            String::from_utf8(json.object(items, first, &fields).unwrap()).unwrap()
        };
        assert_eq!(page(&[2, 0, 1], true, serde_json::json!({"total": 3})), r#"{"items":[{"s":"d"},{"s":"a"},{"s":"b\"c"}],"total":3}"#);
        assert_eq!(page(&[1], false, serde_json::json!({"m": null, "n": 1})), r#"{"m":null,"n":1,"items":[{"s":"b\"c"}]}"#);
        assert_eq!(page(&[], true, serde_json::json!({})), r#"{"items":[]}"#);
        assert_eq!(page(&[], false, serde_json::json!({"total": 0})), r#"{"total":0,"items":[]}"#);
        let not_an_object = super::JsonItems::default().object(Vec::new(), true, &[1]);
        assert!(not_an_object.is_err());
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let mut seconds: i64 = 0;
        for i in 0..10_000i64 {
            // Spread over years 1970–2500 and every millisecond digit; the
            // years beyond four digits are the extremes below.
            seconds = (seconds + 1_654_321_987 + i * 7_919) % 16_725_225_600;
            let nanos = ((i * 104_729) % 1_000_000_000) as u32;
            let at = chrono::DateTime::from_timestamp(seconds, nanos).unwrap().naive_utc();
            assert_eq!(super::timestamp(at), at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        for at in [chrono::NaiveDateTime::MIN, chrono::NaiveDateTime::MAX, chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc()] {
            assert_eq!(super::timestamp(at), at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
    }
}
