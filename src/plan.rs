//! Planning: turns fixtures, and the families `generate` and `sequences` add, into the ordered
//! list of cases a run executes. A planned case is plain data: what to stage, what to send, what to expect.

use crate::client::OutgoingRequest;
use crate::contract::Contract;
use crate::contract::fixture::{Canonical, Expectation, Fixture, FixtureRequest, ID_PLACEHOLDER};
use crate::contract::kind::ExpectationKind;
use crate::contract::lifecycle::RequestState;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// A case reads as its identity: `case.id`, `case.given`.
impl std::ops::Deref for Case {
    type Target = CaseIdentity;
    fn deref(&self) -> &CaseIdentity {
        &self.identity
    }
}

/// Where a case comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Fixture,
    Generated,
    Sequence,
    Race,
}

/// What names a case, where it comes from and what it needs staged: kept once, and shared by
/// the plan, the running case and its report (an `Arc`), never copied field by field.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CaseIdentity {
    pub id: String,
    pub title: String,
    pub section: String,
    pub tags: Vec<String>,
    pub family: Family,
    pub given: Option<RequestState>,
}

/// An `Arc<CaseIdentity>` written in place of its fields (`#[serde(flatten, with = ...)]`), so
/// the JSON layouts of a case and of its report are unchanged.
pub mod shared_identity {
    use super::CaseIdentity;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer>(
        identity: &Arc<CaseIdentity>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        identity.as_ref().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Arc<CaseIdentity>, D::Error> {
        CaseIdentity::deserialize(deserializer).map(Arc::new)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    #[serde(flatten, with = "shared_identity")]
    pub identity: Arc<CaseIdentity>,
    /// Sent in order against the same staged request; each step is checked on its own.
    pub steps: Vec<Step>,
    /// For race cases: how many conflicting PUTs go out at once, and how many rounds.
    pub race: Option<RacePlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub request: OutgoingRequest,
    /// What the answer must be; for an open step, what an accepting server must do.
    pub expect: Expectation,
    pub kind: StepKind,
}

/// How a step is judged: a documented rule, our reading of a silence, or an open input.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StepKind {
    Documented,
    Reading,
    Open { rule: OpenRule },
}

/// What an open input (CONTRACT.md section 7) is judged against.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenRule {
    /// Refused, or treated exactly as this canonical request from the same state; exec sends it
    /// to a second request staged in the case's `given` state.
    Spelling(OutgoingRequest),
    /// An integer status: refused, or acting as one of the three documented values.
    AnyStatus,
    /// A repeat of the PUT that already took effect: refused, or success changing nothing.
    Repeat,
}

impl StepKind {
    pub fn expectation_kind(&self) -> ExpectationKind {
        match self {
            StepKind::Documented => ExpectationKind::Documented,
            StepKind::Reading => ExpectationKind::Reading,
            StepKind::Open { .. } => ExpectationKind::Open,
        }
    }

    pub fn open_rule(&self) -> Option<&OpenRule> {
        match self {
            StepKind::Open { rule } => Some(rule),
            _ => None,
        }
    }

    /// The kind of a fixture, with its canonical request planned.
    fn of_fixture(fixture: &Fixture) -> StepKind {
        match (fixture.kind, &fixture.canonical) {
            (ExpectationKind::Documented, _) => StepKind::Documented,
            (ExpectationKind::Reading, _) => StepKind::Reading,
            (ExpectationKind::Open, canonical) => StepKind::Open {
                rule: match canonical {
                    Some(Canonical::Request(request)) => {
                        OpenRule::Spelling(OutgoingRequest::of_fixture(&request.to_request()))
                    }
                    Some(Canonical::Repeat) => OpenRule::Repeat,
                    // The loader requires a canonical for open fixtures; an integer status is
                    // the weakest reading if one ever slipped through.
                    Some(Canonical::AnyStatus) | None => OpenRule::AnyStatus,
                },
            },
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RacePlan {
    pub concurrency: usize,
    pub rounds: usize,
}

/// A planned request is the request the client sends, with a path that may still hold the
/// `{id}` placeholders: one type, so that resolving it shares the body (a generated huge body
/// is 1.1 MiB) with the plan, the client and the recorded exchange instead of copying it.
impl OutgoingRequest {
    /// A fixture's request as planned: headers in file order, body as bytes.
    pub fn of_fixture(request: &FixtureRequest) -> OutgoingRequest {
        OutgoingRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            body: request
                .body
                .as_ref()
                .map(|body| bytes::Bytes::from(body.to_bytes())),
            credentials: request.credentials,
        }
    }

    /// `{ID}`: the staged id upper-cased (.NET parses GUIDs case-insensitively).
    pub const ID_UPPER: &str = "{ID}";
    /// `{id_n}`: the 32 hex digits without dashes (.NET's `Guid.ToString("N")` form).
    pub const ID_SIMPLE: &str = "{id_n}";
    /// `{id_pct}`: every character percent-encoded (RFC 3986 says it is the same URI).
    pub const ID_PERCENT: &str = "{id_pct}";
    /// `{id_short}`: the id without its last character (must be refused).
    pub const ID_SHORT: &str = "{id_short}";
    /// `{id_braced}`: the id in braces (.NET's `Guid.ToString("B")` form).
    pub const ID_BRACED: &str = "{id_braced}";
    /// `{fresh_id}`: a random v4 GUID drawn for the run, which cannot name an existing request
    /// (the unknown-id cases: never another deployment's real request, never skipped).
    pub const FRESH_ID: &str = "{fresh_id}";

    /// Replaces the id placeholders of the path with the staged id: `{id}` as staged, and the
    /// variant spellings above that the generated family (src/generate.rs) sends, because the
    /// staged id is only known at run time. Braced goes last: its value is the only one with
    /// braces, so no later replacement can match inside it.
    /// `{fresh_id}` becomes `fresh`. The body is shared, not copied.
    pub fn resolve(&self, id: Option<&str>, fresh: &str) -> OutgoingRequest {
        let path = self.path.replace(Self::FRESH_ID, fresh);
        let Some(id) = id else {
            return self.with_path(path);
        };
        let short = || {
            id.char_indices()
                .last()
                .map_or("", |(end, _)| &id[..end])
                .to_string()
        };
        let percent = || {
            let mut percent = String::with_capacity(id.len() * 3);
            for byte in id.bytes() {
                let _ = write!(percent, "%{byte:02X}");
            }
            percent
        };
        // Each value is made only when the path holds its placeholder: replacing a placeholder
        // that is absent changes nothing, and most paths hold one of them.
        let values: [(&str, &dyn Fn() -> String); 6] = [
            (ID_PLACEHOLDER, &|| id.to_string()),
            (Self::ID_UPPER, &|| id.to_ascii_uppercase()),
            (Self::ID_SIMPLE, &|| id.replace('-', "")),
            (Self::ID_PERCENT, &percent),
            (Self::ID_SHORT, &short),
            (Self::ID_BRACED, &|| format!("{{{id}}}")),
        ];
        let path = values.iter().fold(path, |path, (placeholder, value)| {
            if path.contains(placeholder) {
                path.replace(placeholder, &value())
            } else {
                path
            }
        });
        self.with_path(path)
    }

    fn with_path(&self, path: String) -> OutgoingRequest {
        OutgoingRequest {
            method: self.method.clone(),
            path,
            headers: self.headers.clone(),
            body: self.body.clone(),
            credentials: self.credentials,
        }
    }
}

impl Case {
    pub fn from_fixture(fixture: &Fixture) -> Case {
        Case {
            identity: Arc::new(CaseIdentity {
                id: fixture.id.clone(),
                title: fixture.title.clone(),
                section: fixture.section.clone(),
                tags: fixture.tags.clone(),
                family: Family::Fixture,
                given: fixture.given,
            }),
            steps: vec![Step {
                request: OutgoingRequest::of_fixture(&fixture.request),
                expect: fixture.expect.clone(),
                kind: StepKind::of_fixture(fixture),
            }],
            race: None,
        }
    }

    /// Every staged request the case needs, by state: one for its `given` state, and for a race
    /// one Approved request per round. What `list` shows and an `--ids` file must cover.
    pub fn needs(&self) -> Option<(RequestState, usize)> {
        match (self.race, self.given) {
            (Some(race), _) => Some((RequestState::Approved, race.rounds)),
            (None, Some(state)) => Some((state, 1)),
            (None, None) => None,
        }
    }

    /// `approved`, `approved x5` for a race of five rounds, or `-`.
    pub fn needs_text(&self) -> String {
        match self.needs() {
            Some((state, 1)) => state.to_string(),
            Some((state, count)) => format!("{state} x{count}"),
            None => "-".into(),
        }
    }

    /// The schema, snapshot, and expectations of the case's last step (what the run ends on).
    pub fn final_expectation(&self) -> Option<&Expectation> {
        self.steps.last().map(|step| &step.expect)
    }
}

/// Which cases a run takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Substring or glob (`*`, `?`) patterns on case ids; a case matching any is kept.
    pub filters: Vec<String>,
    /// Keep only cases carrying at least one of these tags (empty: no restriction).
    pub tags: Vec<String>,
    /// Drop cases carrying any of these tags.
    pub skip_tags: Vec<String>,
    /// Keep only the cases of one shard.
    pub partition: Option<Partition>,
}

impl Selection {
    pub fn accepts(&self, case: &Case) -> bool {
        let has_tag = |tag: &String| case.tags.contains(tag) || family_tag(case) == tag;
        (self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|pattern| id_matches(pattern, &case.id)))
            && (self.tags.is_empty() || self.tags.iter().any(has_tag))
            && !self.skip_tags.iter().any(has_tag)
            && self
                .partition
                .is_none_or(|partition| partition.contains(&case.id))
    }
}

/// The family name doubles as a tag (`--tag generated`, `--skip-tag race`).
fn family_tag(case: &Case) -> &'static str {
    match case.family {
        Family::Fixture => "fixture",
        Family::Generated => "generated",
        Family::Sequence => "sequence",
        Family::Race => "race",
    }
}

/// Shard `index` of `total` (1-based), chosen by a hash of the case id as nextest does: stable
/// across runs, machines and versions, independent of the order and number of other cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u64,
    pub total: u64,
}

impl Partition {
    /// Parses `k/n` or `hash:k/n` with 1 <= k <= n.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let spec = text.strip_prefix("hash:").unwrap_or(text);
        let parsed = spec.split_once('/').and_then(|(k, n)| {
            Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((index, total)) if index >= 1 && index <= total => Ok(Partition { index, total }),
            _ => Err(format!("'{text}': expected k/n with 1 <= k <= n, e.g. 1/3")),
        }
    }

    pub fn contains(&self, case_id: &str) -> bool {
        // A name-based UUID (SHA-1) is a standard, stable hash; std's hashers are not stable.
        let hash = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, case_id.as_bytes()).as_u128();
        (hash % u128::from(self.total)) as u64 == self.index - 1
    }
}

/// Whether a `--filter` pattern is used as a glob rather than a substring.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Validates a `--filter` pattern: a glob that does not compile is an error naming it, never a
/// filter that silently selects nothing.
pub fn parse_filter(pattern: &str) -> Result<String, String> {
    if is_glob(pattern) {
        globset::Glob::new(pattern)
            .map_err(|error| format!("'{pattern}' is not a valid glob: {}", error.kind()))?;
    }
    Ok(pattern.to_string())
}

fn id_matches(pattern: &str, id: &str) -> bool {
    if is_glob(pattern) {
        globset::Glob::new(pattern)
            .map(|glob| glob.compile_matcher().is_match(id))
            .unwrap_or(false)
    } else {
        id.contains(pattern)
    }
}

/// The fixture cases, in file order, that the selection accepts.
pub fn plan(contract: &Contract, selection: &Selection) -> Vec<Case> {
    contract
        .fixtures
        .iter()
        .map(Case::from_fixture)
        .filter(|case| selection.accepts(case))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Partition, id_matches};
    use crate::client::OutgoingRequest;
    use crate::contract::fixture::ID_PLACEHOLDER;

    /// `resolve`'s path as it was made before placeholders absent from the path were skipped:
    /// every value made and every replacement done.
    fn resolved_path_before(path: &str, id: &str, fresh: &str) -> String {
        let path = path.replace(OutgoingRequest::FRESH_ID, fresh);
        let short = id.char_indices().last().map_or("", |(end, _)| &id[..end]);
        let percent: String = id.bytes().map(|byte| format!("%{byte:02X}")).collect();
        [
            (ID_PLACEHOLDER, id.to_string()),
            (OutgoingRequest::ID_UPPER, id.to_ascii_uppercase()),
            (OutgoingRequest::ID_SIMPLE, id.replace('-', "")),
            (OutgoingRequest::ID_PERCENT, percent),
            (OutgoingRequest::ID_SHORT, short.to_string()),
            (OutgoingRequest::ID_BRACED, format!("{{{id}}}")),
        ]
        .iter()
        .fold(path, |path, (placeholder, value)| {
            path.replace(placeholder, value)
        })
    }

    #[test]
    fn resolved_paths_are_what_every_replacement_made() {
        let placeholders = [
            ID_PLACEHOLDER,
            OutgoingRequest::ID_UPPER,
            OutgoingRequest::ID_SIMPLE,
            OutgoingRequest::ID_PERCENT,
            OutgoingRequest::ID_SHORT,
            OutgoingRequest::ID_BRACED,
            OutgoingRequest::FRESH_ID,
            "{",
            "}",
            "/x",
        ];
        // Ids whose values hold other placeholders test that the order is kept.
        let ids = [
            "8b50ddf3-e5c1-4a43-b79a-edb7b3d3c4a5",
            "{id}",
            "a{id_upper}",
            "ä",
            "",
        ];
        for first in placeholders {
            for second in placeholders {
                for id in ids {
                    let path = format!("/api/{first}{second}/{first}");
                    let request = OutgoingRequest {
                        method: "GET".to_string(),
                        path: path.clone(),
                        headers: Vec::new(),
                        body: None,
                        credentials: true,
                    };
                    assert_eq!(
                        request.resolve(Some(id), "fresh{id}").path,
                        resolved_path_before(&path, id, "fresh{id}"),
                        "{path} with {id}"
                    );
                    assert_eq!(
                        request.resolve(None, "f").path,
                        path.replace("{fresh_id}", "f")
                    );
                }
            }
        }
    }

    #[test]
    fn partitions_are_disjoint_and_cover_everything() {
        let ids: Vec<String> = (0..500).map(|i| format!("case-{i}")).collect();
        let shards: Vec<Partition> = (1..=3).map(|k| Partition { index: k, total: 3 }).collect();
        for id in &ids {
            let owners = shards.iter().filter(|shard| shard.contains(id)).count();
            assert_eq!(owners, 1, "{id} is in {owners} shards");
        }
        let sizes: Vec<usize> = shards
            .iter()
            .map(|s| ids.iter().filter(|id| s.contains(id)).count())
            .collect();
        assert!(
            sizes.iter().all(|&size| size > 100),
            "unbalanced shards {sizes:?}"
        );
    }

    #[test]
    fn partition_specs_parse_strictly() {
        assert_eq!(
            Partition::parse("2/3"),
            Ok(Partition { index: 2, total: 3 })
        );
        assert_eq!(
            Partition::parse("hash:1/1"),
            Ok(Partition { index: 1, total: 1 })
        );
        for bad in ["0/3", "4/3", "x/3", "3", ""] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters_take_substrings_and_globs() {
        assert!(id_matches("complete", "complete-from-approved"));
        assert!(id_matches("*-from-approved", "cancel-from-approved"));
        assert!(!id_matches("*-from-approved", "cancel-from-pending"));
        assert!(!id_matches("abandon", "complete-from-approved"));
    }
}
