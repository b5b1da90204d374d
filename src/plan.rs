//! Planning: turns fixtures (and, later, generated families) into the ordered list of cases a
//! run executes. A planned case is plain data: what to stage, what to send, what to expect.

use crate::client::OutgoingRequest;
use crate::contract::Contract;
use crate::contract::fixture::{Expectation, Fixture, ID_PLACEHOLDER};
use crate::contract::lifecycle::RequestState;
use serde::Serialize;

/// Where a case comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Fixture,
    Generated,
    Sequence,
    Race,
}

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub section: String,
    pub tags: Vec<String>,
    pub family: Family,
    pub given: Option<RequestState>,
    /// Sent in order against the same staged request; each step is checked on its own.
    pub steps: Vec<Step>,
    /// For race cases: how many conflicting PUTs go out at once, and how many rounds.
    pub race: Option<RacePlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub request: PlannedRequest,
    pub expect: Expectation,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RacePlan {
    pub concurrency: usize,
    pub rounds: usize,
}

/// A request whose path may still hold the `{id}` placeholder.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub credentials: bool,
}

impl PlannedRequest {
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

    /// Replaces the id placeholders of the path with the staged id: `{id}` as staged, and the
    /// variant spellings above that the generated family (src/generate.rs) sends, because the
    /// staged id is only known at run time. Braced goes last: its value is the only one with
    /// braces, so no later replacement can match inside it.
    pub fn resolve(&self, id: Option<&str>) -> OutgoingRequest {
        let path = match id {
            Some(id) => {
                let short = id.char_indices().last().map_or("", |(end, _)| &id[..end]);
                let percent: String = id.bytes().map(|byte| format!("%{byte:02X}")).collect();
                [
                    (ID_PLACEHOLDER, id.to_string()),
                    (Self::ID_UPPER, id.to_ascii_uppercase()),
                    (Self::ID_SIMPLE, id.replace('-', "")),
                    (Self::ID_PERCENT, percent),
                    (Self::ID_SHORT, short.to_string()),
                    (Self::ID_BRACED, format!("{{{id}}}")),
                ]
                .iter()
                .fold(self.path.clone(), |path, (placeholder, value)| {
                    path.replace(placeholder, value)
                })
            }
            None => self.path.clone(),
        };
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
        let request = &fixture.request;
        Case {
            id: fixture.id.clone(),
            title: fixture.title.clone(),
            section: fixture.section.clone(),
            tags: fixture.tags.clone(),
            family: Family::Fixture,
            given: fixture.given,
            steps: vec![Step {
                request: PlannedRequest {
                    method: request.method.clone(),
                    path: request.path.clone(),
                    headers: request
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    body: request.body.as_ref().map(|body| body.to_bytes()),
                    credentials: request.credentials,
                },
                expect: fixture.expect.clone(),
            }],
            race: None,
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
}

impl Selection {
    pub fn accepts(&self, case: &Case) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|pattern| id_matches(pattern, &case.id))
    }
}

fn id_matches(pattern: &str, id: &str) -> bool {
    if pattern.contains(['*', '?', '[']) {
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
    use super::id_matches;

    #[test]
    fn filters_take_substrings_and_globs() {
        assert!(id_matches("complete", "complete-from-approved"));
        assert!(id_matches("*-from-approved", "cancel-from-approved"));
        assert!(!id_matches("*-from-approved", "cancel-from-pending"));
        assert!(!id_matches("abandon", "complete-from-approved"));
    }
}
