//! Comparing Request values by what they mean, not how they are spelled (CONTRACT.md sections 3
//! and 5): GUIDs as UUIDs (any letter case), timestamps as the same time (`...21.93Z` is
//! `...21.9300000Z`, `Z` is `+00:00`), everything else as JSON.

use crate::contract::timestamp::Timestamp;
use serde_json::Value;

/// Whether two strings are the same GUID; `None` when either is no GUID.
pub fn guid_eq(a: &str, b: &str) -> Option<bool> {
    match (uuid::Uuid::parse_str(a), uuid::Uuid::parse_str(b)) {
        (Ok(a), Ok(b)) => Some(a == b),
        _ => None,
    }
}

/// Whether two field values mean the same.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => {
            a == b || guid_eq(a, b) == Some(true) || Timestamp::same_text_value(a, b) == Some(true)
        }
        _ => a == b,
    }
}

/// The top-level fields whose values differ by meaning (a missing field differs from any value).
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return if same_value(before, after) {
            Vec::new()
        } else {
            vec!["(the whole body)".into()]
        };
    };
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| match (before.get(*key), after.get(*key)) {
            (Some(old), Some(new)) => !same_value(old, new),
            _ => true,
        })
        .cloned()
        .collect()
}

/// The top-level fields that differ between two Request objects, with both values, for a
/// finding.
pub fn describe_change(before: &Value, after: &Value) -> String {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return format!("{before} -> {after}");
    };
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            format!(
                "{key} {} -> {}",
                shown(before.get(key)),
                shown(after.get(key))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A field's value as a finding shows it (`missing` when absent).
pub fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".into(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_compare_by_meaning() {
        let table = [
            (
                json!("2015-07-07T23:36:21.93Z"),
                json!("2015-07-07T23:36:21.9300000Z"),
                true,
            ),
            (
                json!("2015-07-07T23:36:21Z"),
                json!("2015-07-07T23:36:21+00:00"),
                true,
            ),
            (
                json!("2015-07-07T23:36:21Z"),
                json!("2015-07-07T23:36:22Z"),
                false,
            ),
            (
                json!("2015-07-07T23:36:21"),
                json!("2015-07-07T23:36:21Z"),
                false,
            ),
            (
                json!("A9B4B42C-CC50-4C9B-89D1-BBC0BCD5A099"),
                json!("a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"),
                true,
            ),
            (
                json!("a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"),
                json!("a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a098"),
                false,
            ),
            (json!("Comment"), json!("comment"), false),
            (json!(8), json!(8), true),
            (json!(8), json!("8"), false),
        ];
        for (a, b, same) in table {
            assert_eq!(same_value(&a, &b), same, "{a} vs {b}");
        }
    }

    #[test]
    fn changed_fields_name_what_differs() {
        let before = json!({"Status": 3, "Submitted": "2015-07-07T23:36:21.93Z", "Comment": ""});
        let after = json!({"Status": 8, "Submitted": "2015-07-07T23:36:21.9300000Z", "Extra": 1});
        assert_eq!(
            changed_fields(&before, &after),
            ["Comment", "Extra", "Status"]
        );
        assert!(changed_fields(&before, &before).is_empty());
    }
}
