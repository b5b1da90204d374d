//! `uuid_matches_path`: the Uuid of every returned Request equals the {id} of the URL
//! (CONTRACT.md section 3), compared as GUIDs.

use super::{CheckContext, Subject, Verdict, is_success, step};
use crate::client::Exchange;
use crate::contract::guid;

/// Every returned Request names the request of the URL.
pub fn uuid_matches_path(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let mut mismatches = Vec::new();
    let mut judged = false;
    for (label, exchange) in view.exchanges() {
        let Some(uuid) = returned_uuid(exchange) else {
            continue;
        };
        judged = true;
        let path_id = guid::last_segment(&exchange.request.url);
        if !same_guid(&uuid, &path_id) {
            mismatches.push(format!("{label}: Uuid {uuid} for path id {path_id}"));
        }
    }
    if !judged {
        return None;
    }
    Some(Verdict::from_problems(
        mismatches,
        "the Request returned is not the one addressed",
        "Uuid equal to the {id} of the URL",
    ))
}

fn returned_uuid(exchange: &Exchange) -> Option<String> {
    let response = exchange.ok().filter(|r| is_success(r.status))?;
    response.json()?.get("Uuid")?.as_str().map(str::to_string)
}

/// GUIDs compare by value: .NET accepts and may echo either case, braces, or no dashes.
fn same_guid(a: &str, b: &str) -> bool {
    super::by_value::guid_eq(a, b).unwrap_or_else(|| a.eq_ignore_ascii_case(b))
}
#[cfg(test)]
mod tests {
    use crate::checks::testing::{STAGED_ID, case, class, evidence, json_answer, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::success;
    use serde_json::json;

    #[test]
    fn the_returned_uuid_is_compared_with_the_path_id_as_a_guid() {
        let braced = format!("{{{}}}", STAGED_ID.to_uppercase());
        let simple = STAGED_ID.replace('-', "");
        let table = [
            (json!({"Uuid": STAGED_ID}), 200, "pass"),
            (json!({"Uuid": STAGED_ID.to_uppercase()}), 200, "pass"),
            (json!({"Uuid": braced}), 200, "pass"),
            (json!({"Uuid": simple}), 200, "pass"),
            (
                json!({"Uuid": "17cf063d-e337-4aa9-a822-346554ddd3c9"}),
                200,
                "fail",
            ),
            (json!({"Uuid": "not-a-guid"}), 200, "fail"),
            // No Uuid to compare, or not a success: nothing to judge.
            (json!({"Status": 8}), 200, "none"),
            (json!({"Uuid": 7}), 200, "none"),
            (
                json!({"Uuid": "17cf063d-e337-4aa9-a822-346554ddd3c9"}),
                403,
                "none",
            ),
        ];
        for (body, status, expected) in table {
            let case = case(
                RequestState::Approved,
                success(RequestState::Completed),
                StepKind::Documented,
            );
            let step = evidence(None, json_answer(status, &body), None);
            let verdict = verdict_of("uuid_matches_path", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{status} {body}: {verdict:?}");
        }
    }
}
