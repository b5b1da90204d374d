//! The 21 documented fields of the Request object (CONTRACT.md section 3), and the fields a
//! server adds beyond them. `request.schema.json` allows extra members (forward compatibility)
//! and the checks apply one policy to them (see `checks::extra_fields`): allowed with a warning
//! under the documented profile, a failure under the strict one.

use serde_json::{Map, Value};

pub const DOCUMENTED_FIELDS: [&str; 21] = [
    "Uuid",
    "RequestType",
    "Status",
    "Flags",
    "DataCollection",
    "DataCollectionFlags",
    "OriginatorUserUuid",
    "TargetUserUuid",
    "Submitted",
    "Completed",
    "NewProfileUuid",
    "OldProfileUuid",
    "NewSmartcardUuid",
    "OldSmartcardUuid",
    "Priority",
    "Comment",
    "ProfileTemplateUuid",
    "SecurityDescriptor",
    "IsSmartcard",
    "IsEnrollmentAgent",
    "IsDataCollectionComplete",
];

/// Whether `name` is one of the 21 documented fields.
pub fn is_documented(name: &str) -> bool {
    DOCUMENTED_FIELDS.contains(&name)
}

/// The top-level members of a Request object that section 3 does not document.
pub fn extra_fields(request: &Value) -> Vec<String> {
    request
        .as_object()
        .map(|object| {
            object
                .keys()
                .filter(|key| !is_documented(key))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The object with only its documented members (anything else is returned as it is).
pub fn documented_only(request: &Value) -> Value {
    let Some(object) = request.as_object() else {
        return request.clone();
    };
    let kept: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| is_documented(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_list_is_the_schema_s() {
        let schema: Value = serde_json::from_str(include_str!("../../schemas/request.schema.json"))
            .unwrap_or_default();
        let mut properties: Vec<&str> = schema["properties"]
            .as_object()
            .map(|object| object.keys().map(String::as_str).collect())
            .unwrap_or_default();
        properties.sort_unstable();
        let mut documented = DOCUMENTED_FIELDS.to_vec();
        documented.sort_unstable();
        assert_eq!(properties, documented);
    }

    #[test]
    fn extras_are_named_and_dropped() {
        let request = json!({"Uuid": "x", "Status": 8, "ETag": "1", "odata.type": "y"});
        assert_eq!(extra_fields(&request), ["ETag", "odata.type"]);
        assert_eq!(documented_only(&request), json!({"Uuid": "x", "Status": 8}));
        assert!(extra_fields(&json!([1])).is_empty());
    }
}
