//! One fixture file: a case derived from the documented example and CONTRACT.md, as written on
//! disk. Parsing is strict (unknown keys are errors) so that a typo in a fixture cannot silently
//! weaken a case.

use super::kind::ExpectationKind;
use super::lifecycle::RequestState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The path placeholder replaced by the id a provider state hands out.
pub const ID_PLACEHOLDER: &str = "{id}";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Stable, unique case id (lower-case letters, digits, `-`, `_`, `.`).
    pub id: String,
    pub title: String,
    /// The CONTRACT.md section the case comes from, e.g. "5" or "6".
    pub section: String,
    /// Documented (sections 1-5), our reading (section 6) or an open input (section 7).
    pub kind: ExpectationKind,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The provider state the target must be put in first; `None` for cases on ids that must not
    /// exist (unknown or malformed ids).
    #[serde(default)]
    pub given: Option<RequestState>,
    pub request: FixtureRequest,
    /// Open inputs only: what the request is another spelling of (section 7).
    #[serde(default)]
    pub canonical: Option<Canonical>,
    /// For an open input: what the server must do if it accepts the input (the canonical
    /// request's expectation); a refusal always passes.
    pub expect: Expectation,
}

/// What an open input is judged against (CONTRACT.md section 7).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Canonical {
    /// Another spelling of this canonical request: refused, or treated exactly as it would be
    /// from the same state. The harness sends it to a second request staged in the same state.
    Request(CanonicalRequest),
    /// An integer status: refused, or acting as one of the three documented values.
    AnyStatus,
    /// A repeat of the PUT that already took effect: refused, or success with nothing changed.
    Repeat,
}

/// The canonical request of an open input: the documented PUT (section 1) unless a field says
/// otherwise. Only the body is required, since it names the status.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanonicalRequest {
    #[serde(default = "canonical_method")]
    pub method: String,
    #[serde(default = "canonical_path")]
    pub path: String,
    #[serde(default = "canonical_headers")]
    pub headers: BTreeMap<String, String>,
    pub body: FixtureBody,
}

fn canonical_method() -> String {
    "PUT".into()
}

fn canonical_path() -> String {
    format!("{}/{ID_PLACEHOLDER}", super::REQUESTS_PATH)
}

fn canonical_headers() -> BTreeMap<String, String> {
    BTreeMap::from([("Content-Type".to_string(), "application/json".to_string())])
}

impl CanonicalRequest {
    /// The same request as a fixture request (with the run's credentials).
    pub fn to_request(&self) -> FixtureRequest {
        FixtureRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            body: Some(self.body.clone()),
            credentials: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureRequest {
    pub method: String,
    /// Relative to the base URL, casing exactly as it should go on the wire.
    pub path: String,
    /// Sent exactly as listed (nothing is added implicitly except Content-Length).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<FixtureBody>,
    /// `false` sends the request without the run's credentials (the auth case).
    #[serde(default = "default_true")]
    pub credentials: bool,
}

fn default_true() -> bool {
    true
}

/// A request body: a JSON value serialized compactly, or exact text (for malformed input and
/// for the documented example byte for byte).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum FixtureBody {
    Json(serde_json::Value),
    Text(String),
}

impl FixtureBody {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            FixtureBody::Json(value) => value.to_string().into_bytes(),
            FixtureBody::Text(text) => text.clone().into_bytes(),
        }
    }
}

/// What the contract requires of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// 200 with a Request, or 204 (section 6); GET then shows `status_value`.
    Success,
    /// Never 2xx, and the request's state is unchanged (section 6).
    Refusal,
    /// Sent without credentials: 401 with a challenge, or 403, and nothing changes (section 6).
    Unauthenticated,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub outcome: Outcome,
    /// Allowed success codes; defaults to 200 and 204 (section 6).
    #[serde(default)]
    pub status: Option<Vec<u16>>,
    /// Schema file (in `schemas/`) a success body must validate against.
    #[serde(default)]
    pub schema: Option<String>,
    /// The numeric `Status` expected after a successful PUT (section 5).
    #[serde(default)]
    pub status_value: Option<i64>,
    /// Snapshot name (file `snapshots/<name>.snap`) of the normalized Request.
    #[serde(default)]
    pub snapshot: Option<String>,
}

impl Expectation {
    pub fn success_codes(&self) -> Vec<u16> {
        self.status.clone().unwrap_or_else(|| vec![200, 204])
    }
}
