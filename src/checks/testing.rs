//! Hand-written evidence for the checks' unit tests: answers, steps and cases built from a few
//! literals, never from the reference server, so a check is tested against inputs its author
//! chose at each pass/warn/fail boundary.

use super::{CheckContext, Subject, Verdict, evaluate};
use crate::client::{Exchange, ReceivedResponse, SentRequest};
use crate::contract::Contract;
use crate::contract::fixture::Expectation;
use crate::contract::lifecycle::RequestState;
use crate::contract::profile::Profile;
use crate::exec::{ExecutedCase, Execution, StepEvidence};
use crate::plan::{Case, CaseIdentity, Family, Step, StepKind};
use crate::sequences::put_request;
use crate::snapshot::{SnapshotMode, SnapshotStore};
use serde_json::Value;

/// The id of the request every hand-written case addresses.
pub const STAGED_ID: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";

/// An answer with these headers and this body.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Exchange {
    Exchange {
        request: SentRequest {
            method: "PUT".into(),
            url: format!("http://127.0.0.1/CertificateManagement/api/v1.0/requests/{STAGED_ID}"),
            headers: Vec::new(),
            body: bytes::Bytes::new(),
            auth: None,
            truncated: None,
        },
        response: Ok(ReceivedResponse::new(
            status,
            headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            body.as_bytes().to_vec(),
        )),
        elapsed_ms: 1.0,
    }
}

/// The response of [`answer`] with an HTML body, for checks that judge headers alone.
pub fn received(status: u16, headers: &[(&str, &str)]) -> ReceivedResponse {
    match answer(status, headers, "<html>x</html>").response {
        Ok(received) => received,
        Err(error) => panic!("{error}"),
    }
}

/// A Request with a few fields, for checks that compare fields by value.
pub fn request_with(uuid: &str, submitted: &str, status: i64) -> Value {
    serde_json::json!({"Uuid": uuid, "Submitted": submitted, "Status": status, "RequestType": 1})
}

/// A completed Request with the 21 documented fields, valid against the Request schema.
pub fn completed_request() -> Value {
    let guid = STAGED_ID;
    serde_json::json!({"Uuid": guid, "RequestType": 1, "Status": 8, "Flags": 2,
        "DataCollection": [], "DataCollectionFlags": 32, "OriginatorUserUuid": guid,
        "TargetUserUuid": guid, "Submitted": "2015-07-07T23:36:21.93Z",
        "Completed": "2015-07-07T23:37:37.767Z", "NewProfileUuid": guid, "OldProfileUuid": guid,
        "NewSmartcardUuid": guid, "OldSmartcardUuid": guid, "Priority": 0, "Comment": "",
        "ProfileTemplateUuid": guid, "SecurityDescriptor": "O:S-1-5-21D:(A;;;)",
        "IsSmartcard": true, "IsEnrollmentAgent": false, "IsDataCollectionComplete": false})
}

/// A JSON answer with a Content-Length, as a faithful API gives it.
pub fn json_answer(status: u16, body: &Value) -> Exchange {
    let text = body.to_string();
    let length = text.len().to_string();
    answer(
        status,
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", &length),
        ],
        &text,
    )
}

/// GET before, the step's answer, GET after.
pub fn evidence(before: Option<&Value>, exchange: Exchange, after: Option<&Value>) -> StepEvidence {
    StepEvidence {
        before: before.map(|value| json_answer(200, value)),
        exchange,
        after: after.map(|value| json_answer(200, value)),
        canonical: None,
    }
}

/// A one-step case on a request staged in `given`.
pub fn case(given: RequestState, expect: Expectation, kind: StepKind) -> Case {
    Case {
        identity: std::sync::Arc::new(CaseIdentity {
            id: "hand-written".into(),
            title: "hand-written".into(),
            section: "6".into(),
            tags: Vec::new(),
            family: Family::Fixture,
            given: Some(given),
        }),
        steps: vec![Step {
            request: put_request(crate::contract::lifecycle::TargetStatus::Completed),
            expect,
            kind,
        }],
        race: None,
    }
}

/// What check `name` says about one executed step under `profile`.
pub fn verdict_of(
    name: &str,
    case: Case,
    evidence: StepEvidence,
    profile: Profile,
) -> Option<Verdict> {
    let executed = ExecutedCase {
        case,
        execution: Execution::Ran {
            staged_id: Some(STAGED_ID.into()),
            steps: vec![evidence],
            rounds: Vec::new(),
        },
        duration_ms: 1.0,
    };
    with_context(profile, |context| {
        evaluate(&executed, context)
            .results
            .into_iter()
            .find(|result| result.check == name)
            .map(|result| result.verdict)
    })
}

/// Calls `judge` with the built-in contract's schemas and snapshots under `profile`.
fn with_context<T>(profile: Profile, judge: impl FnOnce(&CheckContext) -> T) -> T {
    let contract = Contract::embedded().unwrap_or_else(|error| panic!("{error}"));
    let snapshots = SnapshotStore::for_source(&contract.source, SnapshotMode::Compare);
    judge(&CheckContext {
        schemas: &contract.schemas,
        snapshots: &snapshots,
        profile,
    })
}

/// `pass`, `warn` or `fail`, for tables.
pub fn class(verdict: &Option<Verdict>) -> &'static str {
    match verdict {
        None => "none",
        Some(Verdict::Pass) => "pass",
        Some(Verdict::Warn { .. }) => "warn",
        Some(Verdict::Fail(_)) => "fail",
    }
}

/// Runs a check function directly on a subject (for race rounds).
pub fn run_on(
    check: fn(&Subject, &CheckContext) -> Option<Verdict>,
    subject: &Subject,
) -> Option<Verdict> {
    with_context(Profile::Documented, |context| check(subject, context))
}
