//! `snapshot`: the shape of the Request a success answers with matches `snapshots/<name>.snap`.

use super::{CheckContext, Subject, Verdict, step};
use crate::contract::fixture::Outcome;
use crate::snapshot::{SnapshotOutcome, render};

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
    Some(match context.snapshots.check(name, &render(body)) {
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
