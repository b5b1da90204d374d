//! The facts of the PUT-body schema (`schemas/put-body.schema.json` of the run's contract) that
//! the generated family is derived from: the one required property and its enum. Read with the
//! rest of the contract, so `--contract DIR` shapes generated cases like everything else.

use super::LoadError;
use super::lifecycle::TargetStatus;
use super::source::SourceFile;
use serde_json::Value;

/// The schema file the facts come from (required in every contract).
pub const PUT_BODY_SCHEMA: &str = "put-body.schema.json";

/// The facts of the PUT-body schema that the variants are derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyFacts {
    /// The one required property (`status`).
    pub property: String,
    /// Its enum, in schema order, each mapped to the target status it asks for.
    pub values: Vec<TargetStatus>,
}

impl BodyFacts {
    /// Reads the facts from a schema text; fails when the schema no longer has the shape the
    /// variants assume (one required string property with an enum the life-cycle table knows).
    pub fn from_schema(text: &str) -> Result<BodyFacts, String> {
        let schema: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
        let property = match schema["required"].as_array().map(Vec::as_slice) {
            Some([Value::String(name)]) => name.clone(),
            _ => return Err("/required must list exactly one property".into()),
        };
        let definition = &schema["properties"][&property];
        if definition["type"] != "string" || schema["additionalProperties"] != false {
            return Err(format!(
                "'{property}' must be a string and no other property allowed"
            ));
        }
        let values = definition["enum"]
            .as_array()
            .ok_or_else(|| format!("/properties/{property}/enum is missing"))?
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .and_then(TargetStatus::from_wire)
                    .ok_or_else(|| {
                        format!("enum value {value} is not a target of the life-cycle table")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if values.is_empty() {
            return Err(format!("/properties/{property}/enum is empty"));
        }
        Ok(BodyFacts { property, values })
    }

    /// The facts of the contract's `put-body.schema.json` among its schema files; a missing
    /// file, or one without the shape the variants assume, is an error naming it.
    pub fn load(files: &[SourceFile], folder: &std::path::Path) -> Result<BodyFacts, LoadError> {
        let Some(file) = files
            .iter()
            .find(|file| super::file_name(&file.path) == PUT_BODY_SCHEMA)
        else {
            return Err(LoadError::invalid(
                &folder.join(PUT_BODY_SCHEMA),
                "/",
                "required schema is missing",
            ));
        };
        BodyFacts::from_schema(&file.text).map_err(|message| {
            LoadError::invalid(
                &file.path,
                "/",
                &format!("the generated family cannot use it: {message}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ContractSource;

    #[test]
    fn facts_come_from_the_schema() {
        let source = ContractSource::Embedded;
        let files = source.json_files("schemas").unwrap_or_default();
        let facts = BodyFacts::load(&files, &source.display_path("schemas"));
        let expected = BodyFacts {
            property: "status".into(),
            values: TargetStatus::ALL.to_vec(),
        };
        assert_eq!(facts.ok(), Some(expected));
        for (text, message) in [
            (r#"{"required":["a","b"]}"#, "exactly one property"),
            (
                r#"{"required":["s"],"properties":{"s":{"type":"string"}},"additionalProperties":false}"#,
                "/properties/s/enum is missing",
            ),
            (
                r#"{"required":["s"],"properties":{"s":{"type":"string","enum":["Finish"]}},"additionalProperties":false}"#,
                "not a target",
            ),
        ] {
            let error = BodyFacts::from_schema(text).err().unwrap_or_default();
            assert!(error.contains(message), "{error}");
        }
    }
}
