//! The JSON Schemas of `schemas/`: loaded once, each compiled once, looked up by file name.
//!
//! A schema whose text is the built-in copy's (every schema of a checkout or of the built-in
//! contract) is known to compile (the tests compile them all), so it is compiled when a check
//! first needs it: a one-case run then never pays for `report.schema.json`. Any other schema is
//! compiled at load, so a broken one stops the run before anything is sent, naming its file.
//!
//! The built-in schemas are compiled at most once per process, whichever set asks first, so a
//! compile started before the contract is read ([`SchemaSet::precompile_built_in`]) is the one
//! the loaded set's checks use.

use super::LoadError;
use super::source::SourceFile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

pub struct SchemaSet {
    schemas: BTreeMap<String, Arc<Schema>>,
}

/// A compiled schema, or why it did not compile.
type Compiled = Result<Arc<jsonschema::Validator>, String>;

/// One schema, and its validator once compiled (or why it did not compile).
struct Schema {
    document: Value,
    validator: OnceLock<Compiled>,
    /// The process-wide compile of the built-in copy, when this schema's text is that copy's.
    built_in: Option<&'static BuiltIn>,
}

impl Schema {
    fn validator(&self) -> Result<&jsonschema::Validator, &str> {
        self.validator
            .get_or_init(|| match self.built_in {
                Some(built_in) => built_in
                    .compiled
                    .get_or_init(|| compile_owned(&self.document))
                    .clone(),
                None => compile_owned(&self.document),
            })
            .as_deref()
            .map_err(String::as_str)
    }
}

fn compile(
    document: &Value,
) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::draft202012::new(document)
}

fn compile_owned(document: &Value) -> Compiled {
    compile(document)
        .map(Arc::new)
        .map_err(|error| error.to_string())
}

/// The process-wide compile of one built-in schema.
#[derive(Default)]
struct BuiltIn {
    compiled: OnceLock<Compiled>,
    /// Whether a thread was started to compile it, so that a second request starts none.
    started: AtomicBool,
}

/// One compile per built-in schema, by file name.
static BUILT_IN: LazyLock<BTreeMap<String, BuiltIn>> = LazyLock::new(|| {
    super::source::embedded_schema_names()
        .map(|name| (name.to_string(), BuiltIn::default()))
        .collect()
});

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
            let built_in = (super::source::embedded_schema(&name) == Some(file.text.as_str()))
                .then(|| BUILT_IN.get(&name))
                .flatten();
            if built_in.is_none() {
                let compiled = compile(&document).map_err(|error| {
                    LoadError::invalid(
                        path,
                        &error.instance_path().to_string(),
                        &format!("not a valid JSON Schema 2020-12: {error}"),
                    )
                })?;
                let _ = validator.set(Ok(Arc::new(compiled)));
            }
            let schema = Schema {
                document,
                validator,
                built_in,
            };
            schemas.insert(name, Arc::new(schema));
        }
        Ok(SchemaSet { schemas })
    }

    /// Starts compiling the built-in copy of schema `name` on a thread of its own, before any
    /// contract is read: the first check needing it then finds it ready instead of compiling it
    /// (and JSON Schema's meta-schema, about two milliseconds in all) while the run waits. A
    /// contract whose copy differs never uses it. Without a thread, the check compiles it as
    /// before.
    pub fn precompile_built_in(name: &str) {
        let (Some(built_in), Some(text)) =
            (BUILT_IN.get(name), super::source::embedded_schema(name))
        else {
            return;
        };
        if !built_in.started.swap(true, Ordering::Relaxed) {
            let compiling = std::thread::Builder::new().name("schema-compile".into());
            let _ = compiling.spawn(move || {
                built_in
                    .compiled
                    .get_or_init(|| match serde_json::from_str(text) {
                        Ok(document) => compile_owned(&document),
                        Err(error) => Err(error.to_string()),
                    });
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

    /// A built-in schema compiled in the background, before any set was loaded, is the one a
    /// loaded set's checks then use.
    #[test]
    fn a_schema_compiled_in_the_background_is_ready_for_checks() {
        SchemaSet::precompile_built_in(crate::contract::ERROR_SCHEMA);
        SchemaSet::precompile_built_in("no-such.schema.json");
        let files = ContractSource::Embedded
            .json_files("schemas")
            .unwrap_or_default();
        let set = SchemaSet::load(&files).unwrap_or_else(|error| panic!("{error}"));
        let violations = set.violations(crate::contract::ERROR_SCHEMA, &serde_json::json!({}));
        assert!(!violations.is_empty(), "{{}} is no error object");
        let used = set.schemas[crate::contract::ERROR_SCHEMA].validator.get();
        let built_in = BUILT_IN[crate::contract::ERROR_SCHEMA].compiled.get();
        match (used, built_in) {
            (Some(Ok(used)), Some(Ok(built_in))) => assert!(Arc::ptr_eq(used, built_in)),
            other => panic!("not one shared compile: {:?}", other.0.map(Result::is_ok)),
        }
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
        let schema = &set.schemas["request.schema.json"];
        assert!(schema.validator.get().is_some() && schema.built_in.is_none());
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
