//! The spec written in OpenAPI 3.0.3 terms, for client generators that read
//! only 3.0 (progenitor among them). Same operations and schemas; JSON Schema
//! 2020-12 constructs become their 3.0 equivalents (`nullable`, `example`,
//! single `enum` instead of `const`). The SCIM surface is left out: its
//! media type (`application/scim+json`) is not one those generators handle,
//! and identity providers speak SCIM with SCIM clients, not generated ones.

use serde_json::{json, Map, Value};

pub fn from_31(doc: &Value) -> Value {
    let mut doc = doc.clone();
    doc["openapi"] = json!("3.0.3");
    if let Some(root) = doc.as_object_mut() {
        root.remove("jsonSchemaDialect");
        root.remove("webhooks");
    }
    if let Some(license) = doc.pointer_mut("/info/license").and_then(Value::as_object_mut) {
        license.remove("identifier");
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            convert_schema(schema);
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|path, _| !path.starts_with(crate::api::scim::PREFIX));
    }
    if let Some(paths) = doc.get_mut("paths") {
        convert_embedded_schemas(paths);
        only_json_merge_patches(paths);
    }
    if let Some(responses) = doc.pointer_mut("/components/responses") {
        convert_embedded_schemas(responses);
    }
    doc
}

/// Generators that read only 3.0 (progenitor) refuse the
/// `application/merge-patch+json` media type: where a body is also offered as
/// `application/json` (every merge patch is), the 3.0 rendition offers only that.
fn only_json_merge_patches(paths: &mut Value) {
    for item in paths.as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
        for op in item.as_object_mut().into_iter().flat_map(|i| i.values_mut()) {
            if let Some(content) = op.pointer_mut("/requestBody/content").and_then(Value::as_object_mut) {
                if content.contains_key("application/json") {
                    content.remove("application/merge-patch+json");
                }
            }
        }
    }
}

/// Converts every `schema` found in a non-schema structure (parameters,
/// media types).
fn convert_embedded_schemas(node: &mut Value) {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "schema" {
                    convert_schema(value);
                } else {
                    convert_embedded_schemas(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(convert_embedded_schemas),
        _ => {}
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type") == Some(&json!("null"))
}

fn convert_schema(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else { return };
    // `type: [T, "null"]` → `type: T, nullable: true`.
    if let Some(Value::Array(types)) = map.get("type").cloned() {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() != types.len() {
            map.insert("nullable".into(), json!(true));
        }
        match non_null.len() {
            1 => {
                map.insert("type".into(), non_null[0].clone());
            }
            _ => {
                map.remove("type");
                let any_of: Vec<Value> = non_null.into_iter().map(|t| json!({"type": t})).collect();
                map.insert("anyOf".into(), Value::Array(any_of));
            }
        }
    }
    // `oneOf: [{type: null}, X]` → `allOf: [X], nullable: true`.
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = map.get(key).cloned() {
            if options.iter().any(is_null_schema) {
                let rest: Vec<Value> = options.into_iter().filter(|o| !is_null_schema(o)).collect();
                map.insert("nullable".into(), json!(true));
                if rest.len() == 1 {
                    map.remove(key);
                    map.insert("allOf".into(), Value::Array(rest));
                } else {
                    map.insert(key.into(), Value::Array(rest));
                }
            }
        }
    }
    if let Some(Value::Array(examples)) = map.remove("examples") {
        if let Some(first) = examples.into_iter().next() {
            map.entry("example").or_insert(first);
        }
    }
    if let Some(constant) = map.remove("const") {
        map.insert("enum".into(), json!([constant]));
    }
    // 3.0 forbids siblings next to `$ref`; wrap them.
    if map.contains_key("$ref") && map.len() > 1 {
        let reference = map.remove("$ref").expect("checked");
        let mut wrapped = Map::new();
        wrapped.insert("allOf".into(), json!([{ "$ref": reference }]));
        wrapped.extend(std::mem::take(map));
        *map = wrapped;
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            convert_schema(child);
        }
    }
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(convert_schema);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = map.get_mut(key) {
            options.iter_mut().for_each(convert_schema);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_types_refs_and_examples_are_rewritten() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
            "paths": {"/x": {"get": {"parameters": [{"name": "a", "in": "query", "schema": {"type": ["integer", "null"]}}],
                "responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": {"S": {"type": "object", "properties": {
                "a": {"type": ["string", "null"], "examples": ["x"]},
                "b": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/T"}]},
                "c": {"const": "error"}
            }}}}
        });
        let converted = from_31(&doc);
        assert_eq!(converted["openapi"], "3.0.3");
        assert!(converted["info"]["license"].get("identifier").is_none());
        let a = &converted["components"]["schemas"]["S"]["properties"]["a"];
        assert_eq!(a, &json!({"type": "string", "nullable": true, "example": "x"}));
        let b = &converted["components"]["schemas"]["S"]["properties"]["b"];
        assert_eq!(b, &json!({"allOf": [{"$ref": "#/components/schemas/T"}], "nullable": true}));
        assert_eq!(converted["components"]["schemas"]["S"]["properties"]["c"], json!({"enum": ["error"]}));
        assert_eq!(converted["paths"]["/x"]["get"]["parameters"][0]["schema"], json!({"type": "integer", "nullable": true}));
    }
}
