//! The JSON Schemas of `schemas/`: loaded once, each compiled once, looked up by file name.
//!
//! A schema whose text is the built-in copy's (every schema of a checkout or of the built-in
//! contract) is known to compile (the tests compile them all), so it is compiled when a check
//! first needs it: a one-case run then never pays for `report.schema.json`. Any other schema is
//! compiled at load, so a broken one stops the run before anything is sent, naming its file.

use super::LoadError;
use super::source::SourceFile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

pub struct SchemaSet {
    schemas: BTreeMap<String, Arc<Schema>>,
}

/// One schema, and its validator once compiled (or why it did not compile).
struct Schema {
    document: Value,
    validator: OnceLock<Result<jsonschema::Validator, String>>,
}

impl Schema {
    fn validator(&self) -> Result<&jsonschema::Validator, &str> {
        self.validator
            .get_or_init(|| compile(&self.document).map_err(|error| error.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

fn compile(
    document: &Value,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::draft202012::new(document)
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.schemas.keys()).finish()
    }
}

impl SchemaSet {
    pub fn load(files: &[SourceFile]) -> Result<SchemaSet, LoadError> {
        let mut schemas = BTreeMap::new();
        for file in files {
            let path = &file.path;
            let name = super::file_name(path);
            let document = super::parse_json(path, &file.text)?;
            if document.get("$id").and_then(Value::as_str).is_none() {
                return Err(LoadError::invalid(
                    path,
                    "/$id",
                    "every schema needs a string $id",
                ));
            }
            let validator = OnceLock::new();
            if super::source::embedded_schema(&name) != Some(file.text.as_str()) {
                let compiled = compile(&document).map_err(|error| {
                    LoadError::invalid(
                        path,
                        &error.instance_path().to_string(),
                        &format!("not a valid JSON Schema 2020-12: {error}"),
                    )
                })?;
                let _ = validator.set(Ok(compiled));
            }
            let schema = Schema {
                document,
                validator,
            };
            schemas.insert(name, Arc::new(schema));
        }
        Ok(SchemaSet { schemas })
    }

    /// Starts compiling schema `name` on a thread of its own, so that the first check needing it
    /// finds it ready instead of compiling it (and JSON Schema's meta-schema, about a millisecond
    /// in all) while the run waits: a short run's first answers take longer than that to arrive.
    /// Without a thread, the check compiles it as before.
    pub fn compile_in_background(&self, name: &str) {
        let Some(schema) = self.schemas.get(name).cloned() else {
            return;
        };
        if schema.validator.get().is_none() {
            let compiling = std::thread::Builder::new().name("schema-compile".into());
            let _ = compiling.spawn(move || {
                let _ = schema.validator();
            });
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.schemas.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    /// Every violation of `instance` against schema `name`, as `pointer: message` lines. An
    /// unknown schema name is itself reported as a violation, so a check can never pass by
    /// naming a schema that does not exist.
    pub fn violations(&self, name: &str, instance: &Value) -> Vec<String> {
        let Some(schema) = self.schemas.get(name) else {
            return vec![format!("schema '{name}' is not loaded")];
        };
        let validator = match schema.validator() {
            Ok(validator) => validator,
            Err(error) => return vec![format!("schema '{name}' does not compile: {error}")],
        };
        // The common case, a valid answer, without building any error (iter_errors keeps
        // paths and messages it would then throw away).
        if validator.is_valid(instance) {
            return Vec::new();
        }
        validator
            .iter_errors(instance)
            .map(|error| {
                let pointer = error.instance_path().to_string();
                let pointer = if pointer.is_empty() {
                    "/".to_string()
                } else {
                    pointer
                };
                format!("{pointer}: {error}")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ContractSource;

    /// What lets the built-in schemas be compiled late: every one of them compiles.
    #[test]
    fn every_built_in_schema_compiles() {
        let files = ContractSource::Embedded.json_files("schemas");
        let files = files.unwrap_or_default();
        assert!(files.len() >= 4, "{} schemas", files.len());
        let set = SchemaSet::load(&files);
        let set = set.unwrap_or_else(|error| panic!("{error}"));
        for file in &files {
            let name = crate::contract::file_name(&file.path);
            let schema = &set.schemas[&name];
            assert!(schema.validator.get().is_none(), "{name} compiled at load");
            assert!(schema.validator().is_ok(), "{name} does not compile");
        }
    }

    /// A schema compiled in the background is the one checks then use.
    #[test]
    fn a_schema_compiled_in_the_background_is_ready_for_checks() {
        let files = ContractSource::Embedded
            .json_files("schemas")
            .unwrap_or_default();
        let set = SchemaSet::load(&files).unwrap_or_else(|error| panic!("{error}"));
        set.compile_in_background(crate::contract::ERROR_SCHEMA);
        set.compile_in_background("no-such.schema.json");
        let violations = set.violations(crate::contract::ERROR_SCHEMA, &serde_json::json!({}));
        assert!(!violations.is_empty(), "{{}} is no error object");
        assert!(
            set.schemas[crate::contract::ERROR_SCHEMA]
                .validator
                .get()
                .is_some()
        );
    }

    /// A schema that differs from the built-in copy is compiled at load, and a broken one stops
    /// the load naming its file.
    #[test]
    fn an_edited_schema_compiles_at_load() {
        let file = |text: &str| SourceFile {
            path: "contract/schemas/request.schema.json".into(),
            text: text.to_string(),
        };
        let edited = r#"{"$id": "x", "type": "object"}"#;
        let set = SchemaSet::load(&[file(edited)]).unwrap_or_else(|error| panic!("{error}"));
        assert!(set.schemas["request.schema.json"].validator.get().is_some());
        assert!(
            set.violations("request.schema.json", &serde_json::json!(1))
                .len()
                == 1
        );
        let broken = r#"{"$id": "x", "type": 12}"#;
        let error = SchemaSet::load(&[file(broken)])
            .err()
            .map(|error| error.to_string());
        let shown = error.unwrap_or_default();
        assert!(
            shown.contains("request.schema.json") && shown.contains("not a valid JSON Schema"),
            "{shown}"
        );
    }
}
