//! Contract loading: the JSON Schemas of `schemas/` and the fixtures of `fixtures/`, validated
//! against each other and against the life-cycle table before anything is sent. Every load error
//! names the file and the JSON pointer of the offending value.

pub mod digest;
pub mod fixture;
pub mod guid;
pub mod headers;
pub mod kind;
pub mod lifecycle;
pub mod media_type;
pub mod profile;
pub mod put_body;
pub mod request_fields;
pub mod schema;
pub mod source;
pub mod timestamp;

use fixture::{Canonical, Expectation, Fixture, FixtureBody, ID_PLACEHOLDER, Outcome};
use kind::ExpectationKind;
use lifecycle::{RequestState, TargetStatus};
pub use schema::SchemaSet;
use serde_json::Value;
pub use source::ContractSource;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The API path of the operation (section 1), as documented.
pub const REQUESTS_PATH: &str = "/CertificateManagement/api/v1.0/requests";
/// Schema of the Request object (section 3).
pub const REQUEST_SCHEMA: &str = "request.schema.json";
/// Schema of an error body (section 2).
pub const ERROR_SCHEMA: &str = "error.schema.json";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {pointer}: {message}")]
    Invalid {
        path: PathBuf,
        pointer: String,
        message: String,
    },
}

impl LoadError {
    pub fn invalid(path: &Path, pointer: &str, message: &str) -> LoadError {
        LoadError::Invalid {
            path: path.to_path_buf(),
            pointer: if pointer.is_empty() {
                "/".into()
            } else {
                pointer.into()
            },
            message: message.into(),
        }
    }
}

/// Everything the harness knows about the contract, loaded from one source.
#[derive(Debug)]
pub struct Contract {
    pub source: ContractSource,
    pub schemas: SchemaSet,
    /// What the generated family derives its inputs from.
    pub put_body: put_body::BodyFacts,
    pub fixtures: Vec<Fixture>,
}

impl Contract {
    /// Loads `root/schemas` and `root/fixtures` (fixtures in file-name order).
    pub fn load(root: &Path) -> Result<Contract, LoadError> {
        Contract::from_source(ContractSource::Dir(root.to_path_buf()))
    }

    /// Loads the contract built into the binary.
    pub fn embedded() -> Result<Contract, LoadError> {
        Contract::from_source(ContractSource::Embedded)
    }

    pub fn from_source(source: ContractSource) -> Result<Contract, LoadError> {
        Contract::from_source_keeping_files(source).map(|(contract, _)| contract)
    }

    /// [`Contract::from_source`], with the files it read, so that the contract digest
    /// ([`digest::contract_digest_of_read`]) need not read them a second time.
    pub fn from_source_keeping_files(
        source: ContractSource,
    ) -> Result<(Contract, Vec<source::SourceFile>), LoadError> {
        let mut schema_files = source.json_files("schemas")?;
        let schemas = SchemaSet::load(&schema_files)?;
        for required in [REQUEST_SCHEMA, ERROR_SCHEMA] {
            if !schemas.contains(required) {
                return Err(LoadError::invalid(
                    &source.display_path("schemas").join(required),
                    "/",
                    "required schema is missing",
                ));
            }
        }
        let put_body = put_body::BodyFacts::load(&schema_files, &source.display_path("schemas"))?;
        let mut fixtures = Vec::new();
        let mut seen = BTreeSet::new();
        let fixture_files = source.json_files("fixtures")?;
        for file in &fixture_files {
            let path = &file.path;
            let fixture = read_fixture(path, &file.text)?;
            validate_fixture(path, &fixture, &schemas)?;
            validate_headers(path, &fixture)?;
            if !seen.insert(fixture.id.clone()) {
                return Err(LoadError::invalid(
                    path,
                    "/id",
                    &format!("duplicate case id '{}'", fixture.id),
                ));
            }
            fixtures.push(fixture);
        }
        if fixtures.is_empty() {
            return Err(LoadError::invalid(
                &source.display_path("fixtures"),
                "/",
                "no fixtures found",
            ));
        }
        let contract = Contract {
            source,
            schemas,
            put_body,
            fixtures,
        };
        schema_files.extend(fixture_files);
        Ok((contract, schema_files))
    }
}

/// A fixture read straight from its text, without a JSON value in between (a good part of a
/// short run's start). Any error is found again through a value, so that it reads as it always
/// did: a syntax error with its line and column, a misfit with its JSON pointer.
fn read_fixture(path: &Path, text: &str) -> Result<Fixture, LoadError> {
    match serde_json::from_str(text) {
        Ok(fixture) => Ok(fixture),
        Err(_) => parse_fixture(path, &parse_json(path, text)?),
    }
}

fn parse_fixture(path: &Path, document: &Value) -> Result<Fixture, LoadError> {
    serde_path_to_error::deserialize(document).map_err(|error| {
        let pointer = json_pointer(&error.path().to_string());
        LoadError::invalid(path, &pointer, &error.inner().to_string())
    })
}

/// Turns serde_path_to_error's `a.b[0]` into the JSON pointer `/a/b/0`.
fn json_pointer(dotted: &str) -> String {
    if dotted == "." {
        return "/".into();
    }
    dotted
        .split('.')
        .flat_map(|part| part.split('['))
        .map(|part| part.trim_end_matches(']'))
        .filter(|part| !part.is_empty())
        .fold(String::new(), |pointer, part| format!("{pointer}/{part}"))
}

/// The rules every fixture follows, in order; the first broken one is the error.
fn validate_fixture(path: &Path, fixture: &Fixture, schemas: &SchemaSet) -> Result<(), LoadError> {
    let problem = id_problem(fixture)
        .or_else(|| request_problem(fixture))
        .or_else(|| expect_problem(&fixture.expect, schemas))
        .or_else(|| outcome_problem(fixture))
        .or_else(|| success_codes_problem(&fixture.expect));
    if let Some((pointer, message)) = problem {
        return Err(LoadError::invalid(path, pointer, &message));
    }
    check_kind(path, fixture)?;
    if fixture.kind == ExpectationKind::Open {
        return check_open(path, fixture);
    }
    check_against_lifecycle(path, fixture)
}

/// A broken rule: the JSON pointer of the field, and what is wrong with it.
type Problem = Option<(&'static str, String)>;

fn id_problem(fixture: &Fixture) -> Problem {
    let id = &fixture.id;
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    (id.is_empty() || !id.chars().all(allowed)).then(|| {
        let message = format!("'{id}' must be lower-case letters, digits, '-', '_' or '.'");
        ("/id", message)
    })
}

fn request_problem(fixture: &Fixture) -> Problem {
    let request = &fixture.request;
    if !["GET", "PUT", "POST", "DELETE", "PATCH"].contains(&request.method.as_str()) {
        let message = format!("unsupported method '{}'", request.method);
        return Some(("/request/method", message));
    }
    if !request.path.starts_with('/') {
        return Some(("/request/path", "must start with '/'".into()));
    }
    (request.path.contains(ID_PLACEHOLDER) && fixture.given.is_none()).then(|| {
        let message = format!("uses {ID_PLACEHOLDER} but the fixture has no 'given' state");
        ("/request/path", message)
    })
}

/// The named schema, Status and snapshot exist.
fn expect_problem(expect: &Expectation, schemas: &SchemaSet) -> Problem {
    if let Some(schema) = &expect.schema
        && !schemas.contains(schema)
    {
        let message = format!("schema '{schema}' is not in schemas/");
        return Some(("/expect/schema", message));
    }
    if let Some(code) = expect.status_value
        && RequestState::from_code(code).is_none()
    {
        let message = format!("{code} is not a status code of CONTRACT.md section 5");
        return Some(("/expect/status_value", message));
    }
    let snapshot_name = |c: char| c.is_ascii_alphanumeric() || "-_".contains(c);
    let name = expect.snapshot.as_ref()?;
    (name.is_empty() || !name.chars().all(snapshot_name)).then(|| {
        let message = format!("'{name}' is not a valid snapshot name");
        ("/expect/snapshot", message)
    })
}

/// A success names its Status and state; a refusal sets none of the success fields; an
/// unauthenticated case is sent without credentials.
fn outcome_problem(fixture: &Fixture) -> Problem {
    let expect = &fixture.expect;
    match expect.outcome {
        Outcome::Success => {
            let any_status = matches!(fixture.canonical, Some(Canonical::AnyStatus));
            if expect.status_value.is_none() && !any_status {
                let message = "a success case must name the Status it expects";
                return Some(("/expect/status_value", message.into()));
            }
            let message = "a success case needs a provider state";
            fixture.given.is_none().then(|| ("/given", message.into()))
        }
        Outcome::Unauthenticated if fixture.request.credentials => {
            let message = "an unauthenticated case must set credentials to false";
            Some(("/request/credentials", message.into()))
        }
        Outcome::Refusal | Outcome::Unauthenticated => {
            let success_only = [
                ("/expect/status", expect.status.is_some()),
                ("/expect/schema", expect.schema.is_some()),
                ("/expect/status_value", expect.status_value.is_some()),
                ("/expect/snapshot", expect.snapshot.is_some()),
            ];
            let message = "only a success case may set this (a refusal is judged by section 6)";
            let (pointer, _) = success_only.into_iter().find(|(_, present)| *present)?;
            Some((pointer, message.into()))
        }
    }
}

fn success_codes_problem(expect: &Expectation) -> Problem {
    let codes = expect.status.as_ref()?;
    let wrong = codes.is_empty() || codes.iter().any(|code| !(200..300).contains(code));
    wrong.then(|| {
        let message = format!("{codes:?}: success codes must be non-empty and 2xx");
        ("/expect/status", message)
    })
}

/// The kind cites its sections, and only an open input names a canonical request.
fn check_kind(path: &Path, fixture: &Fixture) -> Result<(), LoadError> {
    let kind = fixture.kind;
    if !kind.allows_section(&fixture.section) {
        return Err(LoadError::invalid(
            path,
            "/section",
            &format!(
                "a {} expectation cites CONTRACT.md section {}, not {}",
                kind.name(),
                kind.sections(),
                fixture.section
            ),
        ));
    }
    match (kind, &fixture.canonical) {
        (ExpectationKind::Open, None) => Err(LoadError::invalid(
            path,
            "/canonical",
            "an open input must name its canonical request (section 7)",
        )),
        (ExpectationKind::Documented | ExpectationKind::Reading, Some(_)) => {
            Err(LoadError::invalid(
                path,
                "/canonical",
                "only an open input has a canonical request",
            ))
        }
        _ => Ok(()),
    }
}

/// An open input: staged, sent with credentials, and its `expect` is what the section 5 table
/// gives the canonical request from the same state (what an accepting server must do).
fn check_open(path: &Path, fixture: &Fixture) -> Result<(), LoadError> {
    let fail = |pointer: &str, message: String| Err(LoadError::invalid(path, pointer, &message));
    let Some(from) = fixture.given else {
        return fail("/given", "an open input needs a provider state".into());
    };
    if fixture.expect.outcome == Outcome::Unauthenticated || !fixture.request.credentials {
        return fail(
            "/expect/outcome",
            "an open input is sent with credentials and judged by section 7".into(),
        );
    }
    let expected = match &fixture.canonical {
        Some(Canonical::Request(canonical)) => {
            let request = canonical.to_request();
            let target = target_of(request.body.as_ref());
            let well_formed = request.method == "PUT"
                && request.path.ends_with(ID_PLACEHOLDER)
                && request.headers_are_json();
            let Some(target) = target.filter(|_| well_formed) else {
                return fail(
                    "/canonical/request",
                    "the canonical request must be the documented PUT of section 1: \
                     {\"status\": \"Completed\"|\"Canceled\"|\"Abandoned\"} as application/json \
                     on {id}"
                        .into(),
                );
            };
            lifecycle::transition(from, target).map(RequestState::code)
        }
        Some(Canonical::Repeat) => {
            let repeated = target_of(fixture.request.body.as_ref())
                .is_some_and(|target| lifecycle::is_repeat(from, target));
            if !repeated {
                return fail(
                    "/canonical",
                    format!("the request is no repeat of the PUT that brought a request to {from}"),
                );
            }
            Some(from.code())
        }
        Some(Canonical::AnyStatus) | None => None,
    };
    let matches = match (&fixture.canonical, fixture.expect.outcome) {
        (Some(Canonical::AnyStatus), outcome) => {
            outcome == Outcome::Success && fixture.expect.status_value.is_none()
        }
        (_, Outcome::Success) => expected.is_some() && fixture.expect.status_value == expected,
        (_, _) => expected.is_none(),
    };
    if matches {
        return Ok(());
    }
    fail(
        "/expect",
        match expected {
            Some(code) => format!(
                "an accepting server must act as the canonical request: outcome success with \
                 status_value {code}"
            ),
            None if matches!(fixture.canonical, Some(Canonical::AnyStatus)) => {
                "an integer status acts as one of the documented values: outcome success \
                 without status_value"
                    .into()
            }
            None => "the canonical request is refused from this state: outcome refusal".into(),
        },
    )
}

/// A fixture header the client owns (framing, hop-by-hop) or one that would split: a contract
/// error, never a request the target gets blamed for.
fn validate_headers(path: &Path, fixture: &Fixture) -> Result<(), LoadError> {
    for (name, value) in &fixture.request.headers {
        if let Some(problem) = headers::header_problem(name, value) {
            return Err(LoadError::invalid(
                path,
                &format!("/request/headers/{name}"),
                &problem,
            ));
        }
    }
    Ok(())
}

/// A fixture that asks for a documented transition must agree with the section 5 table.
fn check_against_lifecycle(path: &Path, fixture: &Fixture) -> Result<(), LoadError> {
    let (Some(from), Some(target)) = (fixture.given, requested_target(fixture)) else {
        return Ok(());
    };
    let well_formed_put = fixture.request.method == "PUT"
        && fixture.request.path.ends_with(ID_PLACEHOLDER)
        && fixture.request.headers_are_json();
    if fixture.expect.outcome == Outcome::Unauthenticated || !well_formed_put {
        return Ok(());
    }
    let expected = lifecycle::transition(from, target);
    match (fixture.expect.outcome, expected) {
        (Outcome::Success, Some(to)) if fixture.expect.status_value == Some(to.code()) => Ok(()),
        (Outcome::Refusal, None) => Ok(()),
        (_, Some(to)) => Err(LoadError::invalid(
            path,
            "/expect",
            &format!(
                "CONTRACT.md section 5 says {from} + {} is allowed and gives Status {}",
                target.wire(),
                to.code()
            ),
        )),
        (_, None) => Err(LoadError::invalid(
            path,
            "/expect/outcome",
            &format!(
                "CONTRACT.md section 5 forbids {from} + {}: the outcome must be refusal",
                target.wire()
            ),
        )),
    }
}

/// The documented target status a well-formed JSON body asks for, if any.
pub fn requested_target(fixture: &Fixture) -> Option<TargetStatus> {
    target_of(fixture.request.body.as_ref())
}

/// The documented target status a body `{"status": "<exact wire value>"}` asks for, if any.
pub fn target_of(body: Option<&FixtureBody>) -> Option<TargetStatus> {
    let parsed: Value;
    let value = match body? {
        // Already a value: what its bytes would parse back to (a value has no duplicate keys).
        FixtureBody::Json(value) => value,
        FixtureBody::Text(text) => {
            parsed = serde_json::from_str(text).ok()?;
            &parsed
        }
    };
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    TargetStatus::from_wire(object.get("status")?.as_str()?)
}

impl fixture::FixtureRequest {
    /// Whether the request declares the JSON content type the contract requires (section 2).
    pub fn headers_are_json(&self) -> bool {
        self.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("content-type") && media_type::is_json(value)
        })
    }
}

pub(crate) fn parse_json(path: &Path, text: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text).map_err(|error| LoadError::Json {
        path: path.to_path_buf(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::json_pointer;

    #[test]
    fn dotted_paths_become_pointers() {
        assert_eq!(json_pointer("expect.status[1]"), "/expect/status/1");
        assert_eq!(json_pointer("."), "/");
        assert_eq!(json_pointer("request"), "/request");
    }
}

#[cfg(test)]
mod kinds {
    use super::*;
    use serde_json::json;

    /// A fixture document on an Approved request, with `changes` merged in at the top level.
    fn document(changes: Value) -> Value {
        let mut fixture = json!({
            "id": "x", "title": "x", "section": "7", "kind": "open", "given": "approved",
            "request": {"method": "PUT", "path": "/CertificateManagement/api/v1.0/requests/{id}",
                "headers": {"Content-Type": "application/json"},
                "body": {"json": {"status": "completed"}}},
            "canonical": {"request": {"body": {"json": {"status": "Completed"}}}},
            "expect": {"outcome": "success", "schema": "request.schema.json", "status_value": 8}
        });
        if let (Some(fixture), Some(changes)) = (fixture.as_object_mut(), changes.as_object()) {
            for (key, value) in changes {
                fixture.insert(key.clone(), value.clone());
            }
        }
        fixture
    }

    /// `Ok` or the JSON pointer the load error names.
    fn load(changes: Value) -> Result<(), String> {
        let contract = Contract::embedded().map_err(|error| error.to_string())?;
        let path = Path::new("fixtures/x.json");
        let fixture = parse_fixture(path, &document(changes)).map_err(|e| e.to_string())?;
        validate_fixture(path, &fixture, &contract.schemas).map_err(|error| match error {
            LoadError::Invalid { pointer, .. } => pointer,
            other => other.to_string(),
        })
    }

    /// Reading a fixture straight from its text gives what reading it through a value gives:
    /// for every built-in fixture, for a repeated member (the last one counts, as in a value)
    /// and for the errors, which still name the line or the pointer.
    #[test]
    fn fixtures_read_from_text_as_through_a_value() {
        let path = Path::new("fixtures/x.json");
        let through_value = |text: &str| {
            parse_json(path, text)
                .and_then(|document| parse_fixture(path, &document))
                .map(|fixture| serde_json::to_value(fixture).ok())
                .map_err(|error| error.to_string())
        };
        let direct = |text: &str| {
            read_fixture(path, text)
                .map(|fixture| serde_json::to_value(fixture).ok())
                .map_err(|error| error.to_string())
        };
        let files = ContractSource::Embedded.json_files("fixtures");
        let mut texts: Vec<String> = files
            .unwrap_or_default()
            .into_iter()
            .map(|file| file.text)
            .collect();
        assert!(texts.len() > 40, "{} fixtures", texts.len());
        let example = document(json!({}));
        let repeated = example.to_string().replacen('{', r#"{"id": "first", "#, 1);
        texts.extend([
            repeated,
            example
                .to_string()
                .replacen("\"section\"", "\"sektion\"", 1),
            "{\n  \"id\": \"x\",\n  oops\n}".to_string(),
            String::new(),
        ]);
        for text in &texts {
            assert_eq!(direct(text), through_value(text), "{text}");
        }
        let repeated = direct(&texts[texts.len() - 4]);
        let id = repeated
            .ok()
            .flatten()
            .and_then(|value| value["id"].as_str().map(String::from));
        assert_eq!(
            id.as_deref(),
            Some("x"),
            "the last of a repeated member counts"
        );
    }

    #[test]
    fn every_fixture_declares_a_kind_that_fits() {
        let success8 =
            json!({"outcome": "success", "schema": "request.schema.json", "status_value": 8});
        let table = [
            (json!({}), Ok(())),
            (json!({"section": "6"}), Err("/section")),
            (
                json!({"kind": "reading", "section": "6"}),
                Err("/canonical"),
            ),
            (json!({"canonical": null}), Err("/canonical")),
            (json!({"expect": {"outcome": "refusal"}}), Err("/expect")),
            (
                json!({"canonical": {"request": {"body": {"json": {"status": "Done"}}}}}),
                Err("/canonical/request"),
            ),
            (
                json!({"canonical": "any_status", "expect": {"outcome": "success"}}),
                Ok(()),
            ),
            (
                json!({"canonical": "any_status", "expect": success8}),
                Err("/expect"),
            ),
            (json!({"canonical": "repeat"}), Err("/canonical")),
            (
                json!({"canonical": "repeat", "given": "completed",
                    "request": {"method": "PUT", "path": "/CertificateManagement/api/v1.0/requests/{id}",
                        "headers": {"Content-Type": "application/json"},
                        "body": {"json": {"status": "Completed"}}}}),
                Ok(()),
            ),
        ];
        for (changes, expected) in table {
            let expected = expected.map_err(String::from);
            assert_eq!(load(changes.clone()), expected, "{changes}");
        }
        let missing = document(json!({}));
        let mut without_kind = missing.clone();
        if let Some(object) = without_kind.as_object_mut() {
            object.remove("kind");
        }
        assert!(parse_fixture(Path::new("x"), &without_kind).is_err());
    }
}

#[cfg(test)]
mod repo_contract {
    /// The contract files committed in this repository load without error.
    #[test]
    fn repository_contract_loads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        match super::Contract::load(root) {
            Ok(contract) => assert!(
                contract.fixtures.len() >= 30,
                "only {} fixtures",
                contract.fixtures.len()
            ),
            Err(error) => panic!("{error}"),
        }
    }
}
