//! `snapshot`: the shape of the Request a success answers with matches `snapshots/<name>.snap`.

use super::{CheckContext, Subject, Verdict, step};
use crate::contract::fixture::Outcome;
use crate::contract::profile::Profile;
use crate::contract::request_fields::is_documented;
use crate::snapshot::{SnapshotOutcome, every_member, render_members, renders_as};

/// Judges the PUT's 200 body, or for a 204 the GET after it (the same Request either way).
pub fn snapshot(subject: &Subject, context: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    let name = view.expect.snapshot.as_deref()?;
    if view.expect.outcome != Outcome::Success {
        return None;
    }
    let response = view.response()?;
    let source = match response.status {
        200 => response,
        204 => view.after()?,
        _ => return None,
    };
    let Some(body) = source.json() else {
        return Some(Verdict::fail(
            "no JSON Request to compare",
            "a Request matching the snapshot",
            "a body that is not JSON",
        ));
    };
    // The documented profile compares the 21 documented fields: extra members are allowed and
    // judged by the shared policy (response_schema_conformance). The strict one compares all.
    let keep = match context.profile {
        Profile::Documented => is_documented,
        Profile::Strict => every_member,
    };
    // A match, the common case, is decided without rendering the Request; anything else is
    // rendered and goes the whole way (written, missing, or a diff).
    if context
        .snapshots
        .holds(name, |stored| renders_as(body, keep, stored))
    {
        return Some(Verdict::Pass);
    }
    let rendered = render_members(body, keep);
    Some(match context.snapshots.check(name, &rendered) {
        Ok(SnapshotOutcome::Matched) => Verdict::Pass,
        Ok(SnapshotOutcome::Written(path)) => Verdict::warn(format!(
            "snapshot written to {}: review it",
            relative(&path)
        )),
        Ok(SnapshotOutcome::Missing(path)) => Verdict::fail(
            "no stored snapshot to compare with",
            format!("{} (create it with --update-snapshots)", relative(&path)),
            "missing",
        ),
        Ok(SnapshotOutcome::Differs { path, diff }) => Verdict::fail(
            format!("the normalized Request differs from {}", relative(&path)),
            "the stored snapshot",
            diff,
        ),
        Err(error) => Verdict::fail(
            "the snapshot could not be read or written",
            name,
            error.to_string(),
        ),
    })
}

/// `snapshots/<file>`: the same on every machine, unlike the absolute path.
fn relative(path: &std::path::Path) -> String {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    format!("snapshots/{file}")
}

#[cfg(test)]
mod tests {
    use crate::checks::testing::{
        case, class, completed_request as completed, evidence, json_answer, verdict_of,
    };
    use crate::contract::fixture::Expectation;
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::success;
    use serde_json::json;

    /// Issue 9, false failure 8: one policy for extra Request members. The schema allows them
    /// and the snapshot compares the documented 21; the strict profile fails them once.
    #[test]
    fn extra_members_follow_one_policy() {
        let mut extra = completed();
        extra["ETag"] = json!("W/\"1\"");
        let mut before = completed();
        before["Status"] = json!(3);
        let expect = Expectation {
            snapshot: Some("complete-from-approved".into()),
            ..success(RequestState::Completed)
        };
        let table = [
            (completed(), Profile::Documented, "snapshot", "pass"),
            (
                completed(),
                Profile::Strict,
                "response_schema_conformance",
                "pass",
            ),
            (extra.clone(), Profile::Documented, "snapshot", "pass"),
            (extra.clone(), Profile::Strict, "snapshot", "fail"),
            (
                extra.clone(),
                Profile::Documented,
                "response_schema_conformance",
                "warn",
            ),
            (
                extra,
                Profile::Strict,
                "response_schema_conformance",
                "fail",
            ),
        ];
        for (body, profile, check, expected) in table {
            let case = case(RequestState::Approved, expect.clone(), StepKind::Documented);
            let step = evidence(Some(&before), json_answer(200, &body), Some(&body));
            let verdict = verdict_of(check, case, step, profile);
            assert_eq!(class(&verdict), expected, "{check} {profile}: {verdict:?}");
        }
    }
}
