//! Checks on the request's state as GET shows it: immutable fields and the new Status after a
//! success (sections 5 and 6), and nothing changed after a refusal (section 6).

use super::by_value::{changed_fields, same_value};
use super::{CheckContext, Subject, Verdict, step};
use crate::client::Exchange;
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
        .flat_map(|(label, value)| immutable_changes(before, value, label))
        .collect();
    Some(Verdict::from_problems(
        changes,
        "a PUT changed a field that section 5 makes immutable",
        "immutable fields as GET showed them before",
    ))
}

/// The immutable fields that differ by value (GUIDs as UUIDs, timestamps as instants).
fn immutable_changes(before: &Value, after: &Value, label: &str) -> Vec<String> {
    IMMUTABLE_FIELDS
        .iter()
        .filter_map(|field| {
            let (old, new) = (before.get(*field), after.get(*field));
            let same = match (old, new) {
                (Some(old), Some(new)) => same_value(old, new),
                (old, new) => old == new,
            };
            (!same).then(|| format!("{label}: {field} {} -> {}", show(old), show(new)))
        })
        .collect()
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
    let after = match readable_after(view.evidence.after.as_ref()) {
        Ok(after) => after,
        Err(shown) => {
            return Some(Verdict::fail(
                "after the refusal GET does not show the request: it vanished or is unreadable",
                "GET after answers 200 with the Request as before",
                shown,
            ));
        }
    };
    Some(if changed_fields(before, after).is_empty() {
        Verdict::Pass
    } else {
        Verdict::fail(
            "a refused request changed the state",
            "GET after equals GET before",
            describe_change(before, after),
        )
    })
}

/// The Request that GET after a refused step shows, or what it showed instead: a refusal must
/// leave a readable request behind (a 404 or an empty answer means it was deleted).
pub fn readable_after(after: Option<&Exchange>) -> Result<&Value, String> {
    let Some(after) = after else {
        return Err("no GET after".into());
    };
    match &after.response {
        Err(error) => Err(format!("GET after failed: {error}")),
        Ok(response) if response.status != 200 => Err(format!(
            "GET after answered {}{}",
            response.status,
            if response.body.is_empty() {
                " with no body"
            } else {
                ""
            }
        )),
        Ok(response) => match response.json() {
            Some(value @ Value::Object(_)) => Ok(value),
            _ => Err("GET after answered 200 without a JSON Request".into()),
        },
    }
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

#[cfg(test)]
mod tests {
    use super::readable_after;
    use crate::checks::testing::{answer, case, class, evidence, json_answer, verdict_of};
    use crate::client::TransportError;
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::{refusal, success};
    use serde_json::{Value, json};

    fn request(uuid: &str, submitted: &str, status: i64) -> Value {
        json!({"Uuid": uuid, "Submitted": submitted, "Status": status, "RequestType": 1})
    }

    const ID: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";

    #[test]
    fn immutable_fields_compare_by_value() {
        let before = request(ID, "2015-07-07T23:36:21.93Z", 3);
        let table = [
            (request(ID, "2015-07-07T23:36:21.9300000Z", 8), "pass"),
            (request(ID, "2015-07-07T23:36:21.93+00:00", 8), "pass"),
            (
                request(&ID.to_uppercase(), "2015-07-07T23:36:21.93Z", 8),
                "pass",
            ),
            (request(ID, "2015-07-07T23:36:22.93Z", 8), "fail"),
            (
                request(
                    "17cf063d-e337-4aa9-a822-346554ddd3c9",
                    "2015-07-07T23:36:21.93Z",
                    8,
                ),
                "fail",
            ),
            (json!({"Uuid": ID, "Status": 8, "RequestType": 1}), "fail"),
        ];
        for (after, expected) in table {
            let case = case(
                RequestState::Approved,
                success(RequestState::Completed),
                StepKind::Documented,
            );
            let step = evidence(Some(&before), json_answer(200, &after), Some(&after));
            let verdict = verdict_of("immutable_fields", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{after}: {verdict:?}");
        }
    }

    #[test]
    fn the_get_after_must_be_a_readable_request() {
        let get = |status: u16, body: &str| answer(status, &[], body);
        assert!(readable_after(Some(&get(200, r#"{"Status":3}"#))).is_ok());
        let table = [
            (get(404, ""), "GET after answered 404 with no body"),
            (get(500, "{}"), "GET after answered 500"),
            (get(200, "[]"), "without a JSON Request"),
            (get(200, "<html>"), "without a JSON Request"),
        ];
        for (exchange, expected) in table {
            let shown = readable_after(Some(&exchange)).err().unwrap_or_default();
            assert!(shown.contains(expected), "{shown} vs {expected}");
        }
        let mut failed = get(200, "{}");
        failed.response = Err(TransportError::Protocol("x".into()));
        let shown = readable_after(Some(&failed)).err().unwrap_or_default();
        assert!(shown.contains("GET after failed"), "{shown}");
        assert!(readable_after(None).is_err());
    }

    #[test]
    fn a_refusal_that_deletes_the_request_fails() {
        let before = request(ID, "2015-07-07T23:36:21.93Z", 3);
        for gone in [answer(404, &[], ""), answer(200, &[], "")] {
            let case = case(RequestState::Approved, refusal(), StepKind::Reading);
            let mut step = evidence(Some(&before), json_answer(403, &json!({})), None);
            step.after = Some(gone);
            let verdict = verdict_of("refusal_keeps_state", case, step, Profile::Documented);
            assert_eq!(class(&verdict), "fail", "{verdict:?}");
        }
    }

    #[test]
    fn a_refusal_keeps_the_state_by_value() {
        let before = request(ID, "2015-07-07T23:36:21.93Z", 3);
        let table = [
            (request(ID, "2015-07-07T23:36:21.930Z", 3), "pass"),
            (request(ID, "2015-07-07T23:36:21.93Z", 17), "fail"),
        ];
        for (after, expected) in table {
            let case = case(RequestState::Approved, refusal(), StepKind::Reading);
            let step = evidence(Some(&before), json_answer(403, &json!({})), Some(&after));
            let verdict = verdict_of("refusal_keeps_state", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{after}");
        }
    }
}
