//! The JSON Schemas of `schemas/`: loaded once, compiled once, looked up by file name.

use super::LoadError;
use super::source::SourceFile;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct SchemaSet {
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.validators.keys()).finish()
    }
}

impl SchemaSet {
    pub fn load(files: &[SourceFile]) -> Result<SchemaSet, LoadError> {
        let mut validators = BTreeMap::new();
        for file in files {
            let path = &file.path;
            let document = super::parse_json(path, &file.text)?;
            if document.get("$id").and_then(Value::as_str).is_none() {
                return Err(LoadError::invalid(
                    path,
                    "/$id",
                    "every schema needs a string $id",
                ));
            }
            let validator = jsonschema::draft202012::new(&document).map_err(|error| {
                LoadError::invalid(
                    path,
                    &error.instance_path().to_string(),
                    &format!("not a valid JSON Schema 2020-12: {error}"),
                )
            })?;
            validators.insert(super::file_name(path), validator);
        }
        Ok(SchemaSet { validators })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.validators.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Every violation of `instance` against schema `name`, as `pointer: message` lines. An
    /// unknown schema name is itself reported as a violation, so a check can never pass by
    /// naming a schema that does not exist.
    pub fn violations(&self, name: &str, instance: &Value) -> Vec<String> {
        let Some(validator) = self.validators.get(name) else {
            return vec![format!("schema '{name}' is not loaded")];
        };
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
