//! OpenAPI 3.1 to 3.0: what 3.0's schema dialect (an extended subset of JSON Schema draft 5)
//! cannot say is rewritten into what it can: `type: [T, "null"]` becomes `type: T` with
//! `nullable: true`, several types become `anyOf`, `const` becomes a one-value `enum`, numeric
//! `exclusiveMinimum`/`exclusiveMaximum` become the boolean forms, `$ref` with siblings (ignored
//! by 3.0) is wrapped in `allOf`, and `$schema`, `$id`, `jsonSchemaDialect` and `info.summary`
//! (3.1 only) are dropped.

use serde_json::{Map, Value, json};

pub fn to_3_0(mut document: Value) -> Value {
    if let Some(object) = document.as_object_mut() {
        object.insert("openapi".into(), "3.0.3".into());
        object.remove("jsonSchemaDialect");
        if let Some(info) = object.get_mut("info").and_then(Value::as_object_mut) {
            info.remove("summary");
        }
    }
    rewrite(&mut document);
    document
}

/// Rewrites every object of the tree; the keywords touched only occur in schemas here (the
/// `type` of a security scheme is a string and stays).
fn rewrite(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.values_mut().for_each(rewrite);
            downgrade_schema(object);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

fn downgrade_schema(object: &mut Map<String, Value>) {
    object.remove("$schema");
    object.remove("$id");
    if let Some(value) = object.remove("const") {
        object.insert("enum".into(), json!([value]));
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(limit) = object.get(exclusive).filter(|v| v.is_number()).cloned() {
            object.insert(bound.into(), limit);
            object.insert(exclusive.into(), true.into());
        }
    }
    if object.get("type").is_some_and(Value::is_array)
        && let Some(Value::Array(types)) = object.remove("type")
    {
        type_list(object, types);
    }
    if object.len() > 1
        && let Some(reference) = object.remove("$ref")
    {
        object.insert("allOf".into(), json!([{"$ref": reference}]));
    }
}

/// `type: [...]`: one type and null is `nullable`; several types are `anyOf`.
fn type_list(object: &mut Map<String, Value>, types: Vec<Value>) {
    let nullable = types.iter().any(|t| t == "null");
    let mut others: Vec<Value> = types.into_iter().filter(|t| t != "null").collect();
    if nullable {
        object.insert("nullable".into(), true.into());
    }
    match others.len() {
        0 => {}
        1 => {
            object.insert("type".into(), others.remove(0));
        }
        _ => {
            let choices: Vec<Value> = others.into_iter().map(|t| json!({"type": t})).collect();
            object.insert("anyOf".into(), Value::Array(choices));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_3_0_cannot_say_is_rewritten() {
        let table = [
            (
                json!({"type": ["string", "null"]}),
                json!({"type": "string", "nullable": true}),
            ),
            (json!({"type": "string"}), json!({"type": "string"})),
            (json!({"type": "http"}), json!({"type": "http"})),
            (
                json!({"type": ["string", "integer"]}),
                json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
            ),
            (json!({"const": 1}), json!({"enum": [1]})),
            (
                json!({"exclusiveMinimum": 0}),
                json!({"exclusiveMinimum": true, "minimum": 0}),
            ),
            (
                json!({"description": "d", "$ref": "#/x"}),
                json!({"description": "d", "allOf": [{"$ref": "#/x"}]}),
            ),
            (json!({"$ref": "#/x"}), json!({"$ref": "#/x"})),
            (
                json!({"$schema": "s", "$id": "i", "title": "t"}),
                json!({"title": "t"}),
            ),
        ];
        for (input, expected) in table {
            assert_eq!(
                to_3_0(json!({"s": input.clone()}))["s"],
                expected,
                "{input}"
            );
        }
        let document = to_3_0(json!({"openapi": "3.1.0", "jsonSchemaDialect": "x",
                                      "info": {"summary": "s", "title": "t"}}));
        assert_eq!(
            document,
            json!({"openapi": "3.0.3", "info": {"title": "t"}})
        );
    }
}
