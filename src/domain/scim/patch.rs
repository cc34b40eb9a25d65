//! SCIM PATCH (RFC 7644 §3.5.2) as identity providers send it: `op` in any
//! case (Entra sends `Add`/`Replace`/`Remove`), string booleans, path-less
//! operations whose value keys are paths (`name.givenName`,
//! `emails[type eq "work"].value`), and members removed by value list or by
//! `members[value eq "…"]`. Attributes other than `members` are applied to the
//! resource's JSON; member changes are returned in order, for the engine to
//! write as set operations (no member list is ever loaded for them).

use serde_json::{Map, Value};

use super::filter::{parse_path, AttrPath, CompValue, CompareOp, Filter, PatchPath};
use super::{canonical_value, field, member_values, message, scim_error, Kind, PATCH_OP};
use crate::error::Error;

/// Most operations in one PATCH.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A change to a group's members, in the order the PATCH makes them.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    /// Every member out, then these in (`replace members`; `remove members` is `Replace([])`).
    Replace(Vec<String>),
}

/// The operations of a `PatchOp` body.
pub fn parse(body: &Value) -> Result<Vec<Operation>, Error> {
    let syntax = |m: &str| scim_error("invalidSyntax", m);
    let body = message(body, PATCH_OP, "a PatchOp")?;
    let Some(Value::Array(ops)) = field(body, "Operations") else { return Err(syntax("Operations must be an array")) };
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(syntax(&format!("Operations must hold 1 to {MAX_OPERATIONS} operations")));
    }
    ops.iter()
        .map(|raw| {
            let Value::Object(o) = raw else { return Err(syntax("Each operation must be an object")) };
            let field = |name: &str| field(o, name);
            let op = match field("op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => Op::Add,
                Some("remove") => Op::Remove,
                Some("replace") => Op::Replace,
                _ => return Err(syntax("Each operation's op must be add, remove or replace")),
            };
            let path = match field("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(parse_path(p)?),
                Some(_) => return Err(scim_error("invalidPath", "path must be a string")),
            };
            let value = field("value").cloned();
            if op != Op::Remove && value.is_none() {
                return Err(syntax("add and replace need a value"));
            }
            if op == Op::Remove && path.is_none() {
                return Err(scim_error("noTarget", "remove needs a path"));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// The attribute a path names, canonical; `None` for one Rollcall does not store.
fn resolve(kind: Kind, attr: &AttrPath) -> Result<Option<(&'static str, Option<&'static str>)>, Error> {
    if let Some(schema) = &attr.schema {
        if !schema.eq_ignore_ascii_case(kind.schema()) {
            return Ok(None);
        }
    }
    let Some(name) = kind.attribute(&attr.name) else { return Ok(None) };
    if kind.is_read_only(name) {
        return Err(scim_error("mutability", format!("{name} is read-only")));
    }
    match &attr.sub {
        None => Ok(Some((name, None))),
        Some(sub) => Ok(kind.sub_attribute(name, sub).map(|s| (name, Some(s)))),
    }
}

/// Applies the operations to `doc` (the resource's writable attributes, canonical)
/// and returns the member changes. Paths naming attributes Rollcall does not
/// store change nothing, as such attributes in a POST or PUT do.
pub fn apply(kind: Kind, doc: &mut Map<String, Value>, ops: &[Operation]) -> Result<Vec<MemberChange>, Error> {
    let mut members = Vec::new();
    for operation in ops {
        match &operation.path {
            None => {
                // Path-less add/replace: each key of the value object is a path.
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(scim_error("invalidValue", "Without a path, the value must be an object of attributes"));
                };
                for (key, value) in values {
                    let key = key.strip_prefix(kind.schema()).and_then(|k| k.strip_prefix(':')).unwrap_or(key);
                    if kind.attribute(key).is_some_and(|a| kind.is_read_only(a)) {
                        continue; // Read-only attributes sent back with a resource are ignored.
                    }
                    let path = parse_path(key)?;
                    apply_one(kind, doc, operation.op, &path, Some(value), &mut members)?;
                }
            }
            Some(path) => apply_one(kind, doc, operation.op, path, operation.value.as_ref(), &mut members)?,
        }
    }
    Ok(members)
}

fn apply_one(
    kind: Kind,
    doc: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<&Value>,
    members: &mut Vec<MemberChange>,
) -> Result<(), Error> {
    let Some((attr, sub)) = resolve(kind, &path.attr)? else { return Ok(()) };
    if attr == "members" {
        return member_change(op, path, value, members);
    }
    let value = value.cloned().map(|v| canonical_value(kind, attr, v));
    match (&path.filter, op) {
        (None, Op::Remove) => {
            match sub {
                None => {
                    doc.remove(attr);
                }
                Some(sub) => {
                    if let Some(Value::Object(o)) = doc.get_mut(attr) {
                        o.remove(sub);
                    }
                    if let Some(Value::Array(items)) = doc.get_mut(attr) {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            item.remove(sub);
                        }
                    }
                }
            }
            Ok(())
        }
        (None, _) => {
            let value = value.expect("add and replace have a value");
            match sub {
                Some(sub) => {
                    let target = doc.entry(attr).or_insert_with(|| Value::Object(Map::new()));
                    match target {
                        Value::Object(o) => {
                            o.insert(sub.to_owned(), value);
                        }
                        Value::Array(items) => {
                            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                                item.insert(sub.to_owned(), value.clone());
                            }
                        }
                        other => *other = Value::Object(Map::from_iter([(sub.to_owned(), value)])),
                    }
                }
                None if kind.is_multi_valued(attr) => {
                    let new = match value {
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    match (op, doc.get_mut(attr)) {
                        (Op::Add, Some(Value::Array(items))) => {
                            for item in new {
                                if !items.contains(&item) {
                                    items.push(item);
                                }
                            }
                        }
                        _ => {
                            doc.insert(attr.to_owned(), Value::Array(new));
                        }
                    }
                }
                None => match (doc.get_mut(attr), value) {
                    // A complex attribute takes the sub-attributes given, keeping the others.
                    (Some(Value::Object(current)), Value::Object(given)) => current.extend(given),
                    (_, value) => {
                        doc.insert(attr.to_owned(), value);
                    }
                },
            }
            Ok(())
        }
        (Some(filter), op) => {
            let items = match doc.get_mut(attr) {
                Some(Value::Array(items)) => items,
                _ if op == Op::Remove => return Ok(()),
                _ => {
                    doc.insert(attr.to_owned(), Value::Array(vec![]));
                    match doc.get_mut(attr) {
                        Some(Value::Array(items)) => items,
                        _ => unreachable!("just inserted"),
                    }
                }
            };
            let sub = path.sub.as_deref().map(|s| kind.sub_attribute(attr, s).ok_or(s));
            let sub = match sub {
                Some(Err(_)) => return Ok(()),
                Some(Ok(s)) => Some(s),
                None => None,
            };
            let matched: Vec<usize> = (0..items.len()).filter(|&i| matches(filter, &items[i])).collect();
            match (op, sub) {
                (Op::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !matched.contains(&(i - 1))
                    });
                }
                (Op::Remove, Some(sub)) => {
                    for &i in &matched {
                        if let Some(o) = items[i].as_object_mut() {
                            o.remove(sub);
                        }
                    }
                }
                (_, sub) => {
                    let value = value.expect("add and replace have a value");
                    if matched.is_empty() {
                        // Nothing matches: the value is added with what the filter asked for
                        // (`emails[type eq "work"].value` makes a work email).
                        let mut item = equalities(filter);
                        match (sub, value.clone()) {
                            (Some(sub), v) => {
                                item.insert(sub.to_owned(), v);
                            }
                            (None, Value::Object(o)) => item.extend(o),
                            (None, _) => return Err(scim_error("invalidValue", "The value must be an object")),
                        }
                        items.push(Value::Object(item));
                    }
                    for &i in &matched {
                        match (sub, &value, items[i].as_object_mut()) {
                            (Some(sub), v, Some(o)) => {
                                o.insert(sub.to_owned(), v.clone());
                            }
                            (None, Value::Object(given), Some(o)) => {
                                if op == Op::Replace {
                                    o.clear();
                                }
                                o.extend(given.clone());
                            }
                            _ => return Err(scim_error("invalidValue", "The value must be an object")),
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn member_change(op: Op, path: &PatchPath, value: Option<&Value>, members: &mut Vec<MemberChange>) -> Result<(), Error> {
    if path.attr.sub.is_some() || path.sub.is_some() {
        return Err(scim_error("invalidPath", "Members are changed whole: a path may not name a member's sub-attribute"));
    }
    let change = match (op, &path.filter, value) {
        (Op::Add, None, Some(v)) => MemberChange::Add(member_values(v)?),
        (Op::Replace, None, Some(v)) => MemberChange::Replace(member_values(v)?),
        (Op::Remove, None, None) | (Op::Remove, None, Some(Value::Null)) => MemberChange::Replace(vec![]),
        // Entra: remove members with the members to remove as the value.
        (Op::Remove, None, Some(v)) => MemberChange::Remove(member_values(v)?),
        (Op::Remove, Some(filter), _) => MemberChange::Remove(member_filter_values(filter)?),
        _ => return Err(scim_error("invalidPath", "A members filter may only select members to remove")),
    };
    members.push(change);
    Ok(())
}

/// The values `members[…]` selects: `value eq "id"`, or several joined by `or`.
fn member_filter_values(filter: &Filter) -> Result<Vec<String>, Error> {
    match filter {
        Filter::Compare(attr, CompareOp::Eq, CompValue::Str(v)) if attr.is("value") && attr.sub.is_none() => Ok(vec![v.clone()]),
        Filter::Or(a, b) => {
            let mut out = member_filter_values(a)?;
            out.extend(member_filter_values(b)?);
            Ok(out)
        }
        _ => Err(scim_error("invalidFilter", "A members filter may only compare value with eq (several joined by or)")),
    }
}

/// The sub-attributes a filter fixes with `eq` (to make a value it would match).
fn equalities(filter: &Filter) -> Map<String, Value> {
    let mut out = Map::new();
    match filter {
        Filter::Compare(attr, CompareOp::Eq, v) => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
                CompValue::Null => Value::Null,
            };
            out.insert(attr.name.clone(), v);
        }
        Filter::And(a, b) => {
            out.extend(equalities(a));
            out.extend(equalities(b));
        }
        _ => {}
    }
    out
}

/// Whether one value of a multi-valued attribute matches a value filter
/// (strings compared case-insensitively).
pub fn matches(filter: &Filter, item: &Value) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, item) && matches(b, item),
        Filter::Or(a, b) => matches(a, item) || matches(b, item),
        Filter::Not(f) => !matches(f, item),
        Filter::ValuePath(..) => false,
        Filter::Present(attr) => sub_value(item, attr).is_some_and(|v| !v.is_null() && v != &Value::String(String::new())),
        Filter::Compare(attr, op, expected) => {
            let actual = sub_value(item, attr);
            match (actual, expected) {
                (None | Some(Value::Null), CompValue::Null) => *op == CompareOp::Eq,
                (None | Some(Value::Null), _) => *op == CompareOp::Ne,
                (Some(a), CompValue::Null) => {
                    let _ = a;
                    *op == CompareOp::Ne
                }
                (Some(Value::String(a)), CompValue::Str(e)) => {
                    let (a, e) = (a.to_lowercase(), e.to_lowercase());
                    match op {
                        CompareOp::Eq => a == e,
                        CompareOp::Ne => a != e,
                        CompareOp::Co => a.contains(&e),
                        CompareOp::Sw => a.starts_with(&e),
                        CompareOp::Ew => a.ends_with(&e),
                        CompareOp::Gt => a > e,
                        CompareOp::Ge => a >= e,
                        CompareOp::Lt => a < e,
                        CompareOp::Le => a <= e,
                    }
                }
                (Some(a), CompValue::Bool(e)) => {
                    let a = super::boolean("", a).ok();
                    match op {
                        CompareOp::Eq => a == Some(*e),
                        CompareOp::Ne => a != Some(*e),
                        _ => false,
                    }
                }
                (Some(Value::Number(a)), CompValue::Num(e)) => {
                    let a = a.as_f64().unwrap_or(f64::NAN);
                    match op {
                        CompareOp::Eq => a == *e,
                        CompareOp::Ne => a != *e,
                        CompareOp::Gt => a > *e,
                        CompareOp::Ge => a >= *e,
                        CompareOp::Lt => a < *e,
                        CompareOp::Le => a <= *e,
                        _ => false,
                    }
                }
                _ => *op == CompareOp::Ne,
            }
        }
    }
}

fn sub_value<'a>(item: &'a Value, attr: &AttrPath) -> Option<&'a Value> {
    field(item.as_object()?, &attr.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(list: Value) -> Vec<Operation> {
        parse(&json!({"schemas": [PATCH_OP], "Operations": list})).unwrap()
    }

    #[test]
    fn entra_and_okta_forms() {
        let mut doc =
            json!({"userName": "a", "emails": [{"value": "a@x.org", "type": "work"}], "active": true}).as_object().unwrap().clone();
        let list = ops(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"name.givenName": "Ann", "emails[type eq \"work\"].value": "b@x.org", "title": "ignored"}},
            {"op": "replace", "value": {"displayName": "Ann B"}},
        ]));
        assert!(apply(Kind::User, &mut doc, &list).unwrap().is_empty());
        assert_eq!(doc["active"], json!("False"));
        assert_eq!(doc["name"], json!({"givenName": "Ann"}));
        assert_eq!(doc["emails"], json!([{"value": "b@x.org", "type": "work"}]));
        assert_eq!(doc["displayName"], json!("Ann B"));
        assert!(!doc.contains_key("title"));

        let mut group = Map::new();
        let list = ops(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "members[value eq \"u2\"]"},
            {"op": "replace", "path": "members", "value": [{"value": "u3"}]},
            {"op": "remove", "path": "members"},
        ]));
        let changes = apply(Kind::Group, &mut group, &list).unwrap();
        assert_eq!(
            changes,
            vec![
                MemberChange::Add(vec!["u1".into(), "u2".into()]),
                MemberChange::Remove(vec!["u1".into()]),
                MemberChange::Remove(vec!["u2".into()]),
                MemberChange::Replace(vec!["u3".into()]),
                MemberChange::Replace(vec![]),
            ]
        );
    }

    #[test]
    fn refusals() {
        let bad = |body: Value| parse(&body).unwrap_err().details["scimType"].clone();
        assert_eq!(bad(json!({"Operations": []})), json!("invalidSyntax"));
        assert_eq!(bad(json!({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "a"}]})), json!("invalidSyntax"));
        assert_eq!(bad(json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]})), json!("noTarget"));
        let mut doc = Map::new();
        let e = apply(Kind::User, &mut doc, &ops(json!([{"op": "replace", "path": "id", "value": "x"}]))).unwrap_err();
        assert_eq!(e.details["scimType"], json!("mutability"));
    }
}
