//! Checks on the request's state as GET shows it: immutable fields and the new Status after a
//! success (sections 5 and 6), and nothing changed after a refusal (section 6).

use super::{CheckContext, Subject, Verdict, step};
use crate::contract::fixture::Outcome;
use serde_json::Value;

/// The fields of section 5 that no PUT may change.
pub const IMMUTABLE_FIELDS: [&str; 10] = [
    "Uuid",
    "RequestType",
    "Submitted",
    "OriginatorUserUuid",
    "TargetUserUuid",
    "ProfileTemplateUuid",
    "NewProfileUuid",
    "OldProfileUuid",
    "NewSmartcardUuid",
    "OldSmartcardUuid",
];

/// Compares the immutable fields of GET before with the PUT answer and with GET after.
pub fn immutable_fields(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let before = view.before()?.json()?;
    let mut observed = Vec::new();
    if let Some(answer) = view
        .response()
        .filter(|r| r.status == 200)
        .and_then(|r| r.json())
    {
        observed.push(("PUT answer", answer));
    }
    if let Some(after) = view
        .after()
        .filter(|r| r.status == 200)
        .and_then(|r| r.json())
    {
        observed.push(("GET after", after));
    }
    if observed.is_empty() {
        return None;
    }
    let changes: Vec<String> = observed
        .iter()
        .flat_map(|(label, value)| {
            let before = &before;
            IMMUTABLE_FIELDS.iter().filter_map(move |field| {
                let (old, new) = (before.get(*field), value.get(*field));
                (old != new).then(|| format!("{label}: {field} {} -> {}", show(old), show(new)))
            })
        })
        .collect();
    Some(Verdict::from_problems(
        changes,
        "a PUT changed a field that section 5 makes immutable",
        "immutable fields as GET showed them before",
    ))
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "missing".into(), Value::to_string)
}

/// After a success, GET shows the new Status as an integer.
pub fn state_persisted(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Success || view.request.method != "PUT" {
        return None;
    }
    let expected = view.expect.status_value?;
    let succeeded = view.response().is_some_and(|r| super::is_success(r.status));
    if !succeeded {
        return None;
    }
    let after = view.after()?;
    let status = after.json().and_then(|body| body.get("Status").cloned());
    Some(match status {
        Some(Value::Number(number)) if number.as_i64() == Some(expected) => Verdict::Pass,
        other => Verdict::fail(
            "GET after a successful PUT does not show the new state",
            format!("Status {expected}"),
            format!(
                "GET answered {} with Status {}",
                after.status,
                show(other.as_ref())
            ),
        ),
    })
}

/// After a refusal, GET shows exactly what it showed before.
pub fn refusal_keeps_state(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Refusal {
        return None;
    }
    let before = view.before()?.json()?;
    let after = view.after()?.json()?;
    Some(if before == after {
        Verdict::Pass
    } else {
        Verdict::fail(
            "a refused request changed the state",
            "GET after equals GET before",
            describe_change(before, after),
        )
    })
}

/// The top-level fields that differ between two Request objects.
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
                show(before.get(key)),
                show(after.get(key))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
