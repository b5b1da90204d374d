//! `immutable_fields`: a PUT never changes the fields section 5 makes immutable, compared by
//! value between GET before, the PUT answer and GET after.

use super::by_value::{same_value, shown};
use super::{CheckContext, Subject, Verdict, step};
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
            (!same).then(|| format!("{label}: {field} {} -> {}", shown(old), shown(new)))
        })
        .collect()
}
#[cfg(test)]
mod tests {
    use crate::checks::testing::{STAGED_ID as ID, case, class, evidence, json_answer};
    use crate::checks::testing::{request_with as request, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::success;
    use serde_json::json;

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
}
