//! The one policy for members a server adds to the Request object beyond the 21 of section 3,
//! shared by `response_schema_conformance` (the schema allows them) and `snapshot` (which
//! compares the documented fields only): allowed with a warning under the documented profile,
//! a failure under the strict one.

use super::Verdict;
use crate::contract::profile::Profile;

/// `None` when there are no extra fields.
pub fn extra_fields_verdict(extras: &[String], profile: Profile) -> Option<Verdict> {
    if extras.is_empty() {
        return None;
    }
    let names = extras.join(", ");
    Some(match profile {
        Profile::Documented => Verdict::warn(format!(
            "the Request carries members section 3 does not document ({names}): allowed for \
             forward compatibility"
        )),
        Profile::Strict => Verdict::fail(
            "the Request carries members section 3 does not document (strict profile)",
            "only the 21 documented members",
            names,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_warn_or_fail_by_profile() {
        let extras = vec!["ETag".to_string()];
        let table = [
            (Vec::new(), Profile::Documented, None),
            (Vec::new(), Profile::Strict, None),
            (extras.clone(), Profile::Documented, Some("warn")),
            (extras, Profile::Strict, Some("fail")),
        ];
        for (extras, profile, expected) in table {
            let verdict = extra_fields_verdict(&extras, profile);
            let kind = verdict.map(|v| match v {
                Verdict::Pass => "pass",
                Verdict::Warn { .. } => "warn",
                Verdict::Fail(_) => "fail",
            });
            assert_eq!(kind, expected, "{extras:?} {profile}");
        }
    }
}
