//! The contract's JSON Schemas as OpenAPI component schemas: `$schema` and `$id` go (the
//! document's `jsonSchemaDialect` says 2020-12), and each schema's `$defs` become components of
//! their own (`Request_guid`), because inside an OpenAPI document `#/$defs/...` would point at
//! the document's root.

use super::ExportError;
use crate::contract::{Contract, LoadError};
use serde_json::{Map, Value};

/// Component schemas by name, from `(component name, schema file)` pairs.
pub struct Components(Map<String, Value>);

impl Components {
    pub fn take(&mut self) -> Value {
        Value::Object(std::mem::take(&mut self.0))
    }
}

pub fn component_schemas(
    contract: &Contract,
    wanted: &[(&str, &str)],
) -> Result<Components, ExportError> {
    let files = contract.source.json_files("schemas")?;
    let mut components = Map::new();
    for (name, file) in wanted {
        let source = files
            .iter()
            .find(|source| source.path.file_name().is_some_and(|f| f == *file))
            .ok_or_else(|| ExportError::MissingSchema((*file).to_string()))?;
        let mut schema: Value =
            serde_json::from_str(&source.text).map_err(|error| LoadError::Json {
                path: source.path.clone(),
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            })?;
        let defs = hoist_defs(&mut schema, name);
        components.insert((*name).to_string(), schema);
        components.extend(defs);
    }
    Ok(Components(components))
}

/// Removes `$schema`, `$id` and `$defs` from `schema`, rewrites its `#/$defs/x` references to
/// `#/components/schemas/{prefix}_x`, and returns the definitions under their new names.
fn hoist_defs(schema: &mut Value, prefix: &str) -> Map<String, Value> {
    let mut hoisted = Map::new();
    let Some(object) = schema.as_object_mut() else {
        return hoisted;
    };
    object.remove("$schema");
    object.remove("$id");
    if let Some(Value::Object(defs)) = object.remove("$defs") {
        for (name, mut def) in defs {
            rewrite_refs(&mut def, prefix);
            hoisted.insert(format!("{prefix}_{name}"), def);
        }
    }
    rewrite_refs(schema, prefix);
    hoisted
}

fn rewrite_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                match (key.as_str(), child.as_str()) {
                    ("$ref", Some(target)) if target.starts_with("#/$defs/") => {
                        let name = &target["#/$defs/".len()..];
                        *child = Value::String(format!("#/components/schemas/{prefix}_{name}"));
                    }
                    _ => rewrite_refs(child, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_refs(item, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definitions_become_components_and_references_follow() {
        let mut schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x",
            "$defs": {"guid": {"type": "string"}, "pair": {"items": {"$ref": "#/$defs/guid"}}},
            "properties": {"Uuid": {"$ref": "#/$defs/guid"}, "Other": {"$ref": "#/elsewhere"}}
        });
        let hoisted = hoist_defs(&mut schema, "Request");
        assert_eq!(
            schema,
            json!({"properties": {
                "Uuid": {"$ref": "#/components/schemas/Request_guid"},
                "Other": {"$ref": "#/elsewhere"}
            }})
        );
        assert_eq!(hoisted["Request_guid"], json!({"type": "string"}));
        assert_eq!(
            hoisted["Request_pair"]["items"]["$ref"],
            "#/components/schemas/Request_guid"
        );
    }
}
