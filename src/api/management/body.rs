//! Request bodies of the management surface as the vendor's service reads
//! them: property names match case-insensitively (its own examples send
//! `userName`, `firstname`, `Description`), and a name given twice in two
//! spellings is refused rather than guessed. A body that is JSON but breaks
//! the rules is a 422 (the vendor's documents), malformed JSON a 400. Merge
//! patches (RFC 7396) are read here too.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::Error;

/// Every property name of the management bodies, in its canonical spelling.
/// Objects under these names are free-form (`custom`) unless listed in
/// [`NESTED`].
const NAMES: &[&str] = &[
    "email",
    "username",
    "firstName",
    "lastName",
    "credentials",
    "password",
    "name",
    "description",
    "permissions",
    "new",
    "existing",
    "type",
    "id",
    "status",
    "suspended",
    "locked",
    "passwordResetRequired",
    "created",
    "modified",
    "createdAt",
    "updatedAt",
    "isSystem",
    "timezone",
    "language",
    "avatarUrl",
    "custom",
    "optOutOfNotifications",
    "lastLogin",
    "passwordChanged",
    "provider",
];
/// Properties whose object value has canonical names of its own.
const NESTED: &[&str] = &["credentials", "status"];

/// `value` with every property name in its canonical spelling.
pub fn canonical(value: Value) -> Result<Value, Error> {
    let Value::Object(object) = value else { return Ok(value) };
    let mut out = Map::new();
    for (key, value) in object {
        let name = NAMES.iter().find(|n| n.eq_ignore_ascii_case(&key)).map_or(key.clone(), |n| (*n).to_owned());
        let value = if NESTED.contains(&name.as_str()) { canonical(value)? } else { value };
        if out.contains_key(&name) {
            return Err(Error::validation(format!("The property {name} is given twice (property names are case-insensitive)"))
                .detail("field", name.into()));
        }
        out.insert(name, value);
    }
    Ok(Value::Object(out))
}

/// A JSON body whose property names are matched case-insensitively.
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Body<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        // The JSON extractor's own rules first: content type, size, syntax.
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = canonical(json.await?.into_inner()).map_err(Error::unprocessable)?;
            let parsed = serde_json::from_value(value)
                .map_err(|e| Error::validation("The body is not valid for this operation").developer(e.to_string()).unprocessable())?;
            Ok(Body(parsed))
        })
    }
}

/// One field of a merge patch (RFC 7396): absent keeps it, `null` clears it.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    Keep,
    Clear,
    Set(T),
}

impl<T: DeserializeOwned> Patch<T> {
    pub fn of(object: &Map<String, Value>, name: &str) -> Result<Self, Error> {
        match object.get(name) {
            None => Ok(Patch::Keep),
            Some(Value::Null) => Ok(Patch::Clear),
            Some(value) => serde_json::from_value(value.clone())
                .map(Patch::Set)
                .map_err(|e| Error::validation(format!("{name} is not valid")).developer(e.to_string()).detail("field", name.into())),
        }
    }
}

/// A merge-patch body: a JSON object, names matched case-insensitively.
pub fn merge_patch(body: Body<Value>) -> Result<Map<String, Value>, Error> {
    match body.0 {
        Value::Object(object) => Ok(object),
        _ => Err(Error::validation("A merge patch is a JSON object").unprocessable()),
    }
}

/// The `custom` object of a merge patch: `null` removes it; a present object
/// replaces it whole (its members are the client's, not merged).
pub fn custom_patch(fields: &Map<String, Value>) -> Result<Option<Option<String>>, Error> {
    Ok(match Patch::<Value>::of(fields, "custom")? {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(value) => Some(Some(crate::domain::profile::custom(&value)?)),
    })
}

/// An optional text field of a merge patch, checked by `parse`.
pub fn text_patch(
    fields: &Map<String, Value>,
    name: &str,
    parse: fn(&str) -> Result<String, Error>,
) -> Result<Option<Option<String>>, Error> {
    Ok(match Patch::<String>::of(fields, name)? {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(value) => Some(Some(parse(&value)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_matched_case_insensitively_and_once() {
        let v = canonical(json!({"userName": "t", "FIRSTNAME": "a", "Credentials": {"PASSWORD": "x"}, "custom": {"Name": 1}})).unwrap();
        assert_eq!(v, json!({"username": "t", "firstName": "a", "credentials": {"password": "x"}, "custom": {"Name": 1}}));
        assert!(canonical(json!({"email": "a@b.c", "Email": "d@e.f"})).is_err());
        assert_eq!(canonical(json!(["x"])).unwrap(), json!(["x"]));
    }
}
