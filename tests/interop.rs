//! Interoperation with other tools and with other runs: the JSON reports of the shards of a
//! partitioned run merge into the whole run's report (`cmconform merge`).

mod common;

use common::repo_root;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary, in `dir`, through the shared isolated runner (no `CMCONFORM_*`, proxy or CI
/// variable from the environment).
fn cmconform(dir: &Path, args: &[String]) -> Output {
    let mut command = common::cmconform(args);
    command.current_dir(dir);
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run cmconform {args:?}: {error}"))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// What must be equal between the whole run and the merged shards: each case's id, status and
/// verdicts, in order (timings and per-request values differ between runs).
fn verdicts(report: &serde_json::Value) -> Vec<String> {
    let cases = report["cases"].as_array().cloned().unwrap_or_default();
    cases
        .iter()
        .map(|case| {
            let checks: Vec<String> = case["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{}@{}={}", c["check"], c["step"], c["outcome"]))
                .collect();
            format!("{} {} {}", case["id"], case["status"], checks.join(","))
        })
        .collect()
}

/// The run flags every shard shares: the fixtures, the life-cycle table and generated cases with
/// a fixed seed, against the embedded server with a fault (so there are failures to merge too).
/// No race: which conflicting PUT wins is up to the scheduler, and under `wrong_status_code`
/// the verdict depends on the winner, so two runs may rightly differ there.
fn run_args(contract: &Path, json: &Path, partition: Option<&str>) -> Vec<String> {
    let mut args = strings(&[
        "run",
        "--fault",
        "wrong_status_code",
        "--generate",
        "12",
        "--seed",
        "77",
        "--race-rounds",
        "0",
        "--format",
        "json",
        "--output",
    ]);
    args.push(json.display().to_string());
    args.push("--contract".into());
    args.push(contract.display().to_string());
    if let Some(partition) = partition {
        args.push("--partition".into());
        args.push(partition.into());
    }
    args
}

#[test]
fn merged_shards_equal_the_whole_run_case_for_case() {
    let scratch = common::TempDir::new("interop-merge");
    let dir = scratch.path().to_path_buf();
    let contract = repo_root();
    let whole = dir.join("whole.json");
    let output = cmconform(&dir, &run_args(&contract, &whole, None));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let mut shards = Vec::new();
    for k in 1..=3 {
        let path = dir.join(format!("shard-{k}.json"));
        let output = cmconform(&dir, &run_args(&contract, &path, Some(&format!("{k}/3"))));
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{}",
            text(&output)
        );
        shards.push(path.display().to_string());
    }
    // Shards in any order; the merged report comes back in plan order.
    let mut args = strings(&[
        "merge", &shards[2], &shards[0], &shards[1], "--format", "json",
    ]);
    args.extend(strings(&[
        "--output",
        "merged.json",
        "--report",
        "junit=merged.xml",
    ]));
    let output = cmconform(&dir, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let (whole, merged) = (read_json(&whole), read_json(&dir.join("merged.json")));
    assert!(verdicts(&whole).len() > 50, "{}", verdicts(&whole).len());
    let (merged_verdicts, whole_verdicts) = (verdicts(&merged), verdicts(&whole));
    let differing: Vec<_> = merged_verdicts
        .iter()
        .zip(&whole_verdicts)
        .filter(|(merged, whole)| merged != whole)
        .collect();
    assert!(differing.is_empty(), "merged vs whole: {differing:#?}");
    assert_eq!(merged_verdicts.len(), whole_verdicts.len());
    for field in [
        "summary",
        "seed",
        "contract_digest",
        "tool_version",
        "shard",
    ] {
        assert_eq!(merged[field], whole[field], "{field}");
    }
    let junit = std::fs::read_to_string(dir.join("merged.xml")).unwrap_or_default();
    assert_eq!(junit.matches("<testcase ").count(), verdicts(&whole).len());

    // Missing, overlapping and foreign shards: exit 2, naming what is wrong.
    let whole_path = dir.join("whole.json").display().to_string();
    for (inputs, expected) in [
        (vec![&shards[0], &shards[1]], "missing shard(s) 3/3"),
        (
            vec![&shards[0], &shards[1], &shards[1], &shards[2]],
            "is given twice",
        ),
        (vec![&shards[0], &whole_path], "not the report of a shard"),
    ] {
        let mut args = strings(&["merge"]);
        args.extend(inputs.iter().map(|path| path.to_string()));
        let output = cmconform(&dir, &args);
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        assert!(text(&output).contains(expected), "{}", text(&output));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// export openapi
// ---------------------------------------------------------------------------------------------

fn export(dir: &Path, version: &str) -> serde_json::Value {
    let file = dir.join(format!("openapi-{version}.json"));
    let mut args = strings(&["export", "openapi", "--version", version, "--output"]);
    args.push(file.display().to_string());
    let output = cmconform(dir, &args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    read_json(&file)
}

#[test]
fn openapi_export_says_what_the_contract_says() {
    let scratch = common::TempDir::new("interop-openapi");
    let dir = scratch.path().to_path_buf();
    let document = export(&dir, "3.1");
    assert_eq!(document["openapi"], "3.1.0");
    let operations = &document["paths"]["/CertificateManagement/api/v1.0/requests/{id}"];
    let put = &operations["put"];
    for code in ["200", "204", "401", "403", "500"] {
        assert!(put["responses"][code].is_object(), "PUT {code}");
    }
    let unauthorized = &document["components"]["responses"]["Unauthorized"];
    assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
    let body = &put["requestBody"]["content"]["application/json"];
    assert_eq!(
        body["examples"]["documented"]["value"]["status"],
        "Completed"
    );
    let answer = &put["responses"]["200"]["content"]["application/json"]["examples"];
    assert_eq!(answer["documented"]["value"]["Status"], 8);
    assert_eq!(
        answer["documented"]["value"]["Completed"],
        "2015-07-07T23:37:37.767Z"
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["negotiate"]["scheme"], "negotiate");
    assert!(schemes["adfs"]["flows"]["clientCredentials"]["tokenUrl"].is_string());
    let description = document["info"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("| Approved (3) | -> Completed (8) |"),
        "{description}"
    );
    // The documented answer is a Request by the exported schema itself (2020-12, refs resolved
    // inside the document).
    let mut schema = document["components"]["schemas"]["Request"].clone();
    schema["components"] = document["components"].clone();
    match jsonschema::validator_for(&schema) {
        Ok(validator) => assert!(validator.is_valid(&answer["documented"]["value"])),
        Err(error) => panic!("the exported Request schema does not compile: {error}"),
    }

    let old = export(&dir, "3.0");
    assert_eq!(old["openapi"], "3.0.3");
    let text = old.to_string();
    for absent in [
        "\"$schema\"",
        "\"$id\"",
        "\"const\"",
        "\"type\":[",
        "jsonSchemaDialect",
    ] {
        assert!(!text.contains(absent), "3.0 document holds {absent}");
    }
    let value = &old["components"]["schemas"]["Request"]["properties"]["DataCollection"]["items"]["properties"]
        ["Value"];
    assert_eq!(
        (&value["type"], &value["nullable"]),
        (&"string".into(), &true.into())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether the external-consumer tests run; when they do not, says how to run them.
fn external_consumers() -> bool {
    if std::env::var("CMCONFORM_EXTERNAL_CONSUMERS").as_deref() == Ok("1") {
        return true;
    }
    println!(
        "skipped: set CMCONFORM_EXTERNAL_CONSUMERS=1 (needs python3 with openapi-spec-validator, schemathesis and haralyzer; .ci/run installs them)"
    );
    false
}

/// A scratch directory for a test of an external consumer, or `None` when those do not run.
fn consumer_scratch(name: &str) -> Option<common::TempDir> {
    external_consumers().then(|| common::TempDir::new(name))
}

#[test]
fn openapi_spec_validator_accepts_both_versions() {
    let Some(scratch) = consumer_scratch("interop-validator") else {
        return;
    };
    let dir = scratch.path().to_path_buf();
    for version in ["3.1", "3.0"] {
        export(&dir, version);
        let file = dir.join(format!("openapi-{version}.json"));
        let output = Command::new("python3")
            .args(["-m", "openapi_spec_validator"])
            .arg(&file)
            .output()
            .unwrap_or_else(|error| panic!("cannot run python3: {error}"));
        assert!(output.status.success(), "{version}: {}", text(&output));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `cmconform serve --port 0 [--fault F]` (or another server that says where it listens), killed
/// when dropped.
struct Served {
    child: std::process::Child,
    base_url: String,
}

impl Served {
    fn start(dir: &Path, fault: Option<&str>) -> Served {
        let mut args = strings(&["serve", "--port", "0"]);
        if let Some(fault) = fault {
            args.extend(strings(&["--fault", fault]));
        }
        let mut binary = common::cmconform(&args);
        binary.current_dir(dir);
        Served::listening(&mut binary, "cmconform serve")
    }

    /// Spawns `command` and waits for the first line of its stderr, which names its http:// URL.
    fn listening(command: &mut Command, what: &str) -> Served {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        let mut first = String::new();
        if let Some(stderr) = child.stderr.take() {
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut first);
        }
        let base_url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("{what} did not say where it listens: {first:?}"))
            .to_string();
        Served { child, base_url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Schemathesis with the exported 3.1 document against the reference server, a few examples
/// per operation; returns whether it found no issue.
fn schemathesis_passes(dir: &Path, document: &Path, fault: Option<&str>) -> (bool, String) {
    let served = Served::start(dir, fault);
    let output = Command::new("schemathesis")
        .arg("run")
        .arg(document)
        .args(["--url", &served.base_url, "-H", "Authorization: Negotiate x"])
        .args(["--max-examples", "3", "--mode", "positive", "--phases", "examples,fuzzing"])
        .args(["--seed", "1", "--no-color"])
        .arg("--checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance")
        .env("CM_STATE_URL", format!("{}/_cmconform/states", served.base_url))
        .env("PYTHONPATH", repo_root().join("tests/consumers"))
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run schemathesis: {error}"));
    (output.status.success(), text(&output))
}

#[test]
fn schemathesis_with_the_export_passes_the_reference_server_and_catches_faults() {
    let Some(scratch) = consumer_scratch("interop-schemathesis") else {
        return;
    };
    let dir = scratch.path().to_path_buf();
    export(&dir, "3.1");
    let document = dir.join("openapi-3.1.json");
    let (passed, log) = schemathesis_passes(&dir, &document, None);
    assert!(passed, "conformant server:\n{log}");
    for fault in ["text_content_type", "missing_field", "status_as_string"] {
        let (passed, log) = schemathesis_passes(&dir, &document, Some(fault));
        assert!(!passed, "{fault} not caught:\n{log}");
        assert!(log.contains("failed"), "{fault}:\n{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Headers whose values must not reach the HAR file (the masking of `redact`).
const HAR_SECRETS: [&str; 3] = ["HAR-TOKEN-SECRET", "HAR-COOKIE-SECRET", "HAR-BEARER-SECRET"];

/// A full run (fixtures, life cycle, generated cases, a fault so some fail) with `--report har=`
/// and `--report json=`, secrets in its headers.
fn har_run(dir: &Path) -> (serde_json::Value, serde_json::Value, String) {
    let mut args = strings(&[
        "run",
        "--fault",
        "wrong_status_code",
        "--generate",
        "6",
        "--seed",
        "5",
        "-H",
        "X-Api-Token: HAR-TOKEN-SECRET",
        "-H",
        "Cookie: session=HAR-COOKIE-SECRET",
        "-H",
        "Authorization: Bearer HAR-BEARER-SECRET",
        "--report",
        "har=run.har",
        "--report",
        "json=run.json",
        "--contract",
    ]);
    args.push(repo_root().display().to_string());
    let output = cmconform(dir, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let har_text = std::fs::read_to_string(dir.join("run.har")).unwrap_or_default();
    (
        read_json(&dir.join("run.har")),
        read_json(&dir.join("run.json")),
        har_text,
    )
}

fn har_schema() -> jsonschema::Validator {
    let schema = read_json(&repo_root().join("tests/har/har-1.2.schema.json"));
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|error| panic!("tests/har/har-1.2.schema.json does not compile: {error}"))
}

#[test]
fn har_report_of_a_full_run_is_valid_har_with_every_exchange_and_no_secret() {
    let scratch = common::TempDir::new("interop-har");
    let (har, json, har_text) = har_run(scratch.path());
    let schema = har_schema();
    let errors: Vec<String> = schema.iter_errors(&har).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "not HAR 1.2: {errors:#?}");
    // The schema can fail: a spec field it does not know, or a missing required timing.
    for (pointer, broken) in [
        (
            "/log/entries/0/timings",
            serde_json::json!({"send": 0, "receive": 0}),
        ),
        ("/log/entries/0/cache", serde_json::json!({"unknown": 1})),
    ] {
        let mut mutated = har.clone();
        if let Some(place) = mutated.pointer_mut(pointer) {
            *place = broken;
        }
        assert!(!schema.is_valid(&mutated), "{pointer} broken yet valid");
    }

    // Every exchange of the JSON report, in order, tagged with its case, step and label.
    let expected: Vec<String> = json["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|case| {
            let exchanges = case["exchanges"].as_array().cloned().unwrap_or_default();
            let id = case["id"].clone();
            exchanges
                .into_iter()
                .map(move |e| format!("{id} {} {} {}", e["step"], e["label"], e["request"]["url"]))
        })
        .collect();
    let entries = har["log"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tagged: Vec<String> = entries
        .iter()
        .map(|e| {
            let case = &e["_case"];
            format!(
                "{} {} {} {}",
                case["id"], case["step"], case["label"], e["request"]["url"]
            )
        })
        .collect();
    assert!(tagged.len() > 100, "{} entries", tagged.len());
    assert_eq!(tagged, expected);
    // Timings add up (HAR: time is the sum of the non -1 timings); answers and failures show.
    for entry in &entries {
        let timings = &entry["timings"];
        let sum: f64 = ["send", "wait", "receive"]
            .iter()
            .filter_map(|name| timings[name].as_f64())
            .sum();
        let time = entry["time"].as_f64().unwrap_or(-1.0);
        assert!((time - sum).abs() < 1e-6, "{entry}");
    }
    assert!(entries.iter().any(|e| e["_case"]["status"] == "failed"));
    assert!(entries.iter().any(|e| {
        e["response"]["content"]["text"]
            .as_str()
            .is_some_and(|body| body.contains("\"Status\""))
    }));
    for secret in HAR_SECRETS {
        assert!(!har_text.contains(secret), "{secret} leaked into the HAR");
    }
    assert!(har_text.contains("Bearer ********"), "masked, scheme kept");
}

/// A HAR library of another language reads the file: haralyzer (PyPI) sees every entry with
/// its method, URL, status and body.
#[test]
fn haralyzer_reads_the_har_report() {
    let Some(scratch) = consumer_scratch("interop-haralyzer") else {
        return;
    };
    let dir = scratch.path().to_path_buf();
    let (har, _, _) = har_run(&dir);
    let output = Command::new("python3")
        .arg(repo_root().join("tests/consumers/har_read.py"))
        .arg(dir.join("run.har"))
        .output()
        .unwrap_or_else(|error| panic!("cannot run python3: {error}"));
    assert!(output.status.success(), "{}", text(&output));
    let read: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("haralyzer output: {error}: {}", text(&output)));
    let entries = har["log"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ours: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!([
                e["request"]["method"],
                e["request"]["url"],
                e["response"]["status"],
                e["response"]["content"]["text"]
                    .as_str()
                    .unwrap_or_default()
            ])
        })
        .collect();
    assert_eq!(read, serde_json::Value::Array(ours));
}

/// The Pact-style provider-state service of tests/interop/pact_states.py, in front of `serve`'s
/// own state endpoint; it appends every state change it receives to `log`.
fn pact_states(dir: &Path, upstream: &str, log: &Path) -> Served {
    let mut command = Command::new("python3");
    command
        .arg(repo_root().join("tests/interop/pact_states.py"))
        .arg(upstream)
        .arg(log)
        .current_dir(dir);
    Served::listening(&mut command, "tests/interop/pact_states.py")
}

/// Every description the Pact-style service knows, mapped to our states (written in its case).
const STATE_MAP: &str = r#"{
  "a request in state Pending": "Pending", "a request in state Approved": "Approved",
  "a request in state Executing": "Executing", "a request in state Completed": "Completed",
  "a request in state Canceled": "Canceled", "a request in state Denied": "Denied",
  "a request in state Failed": "Failed"
}"#;

#[test]
fn pact_provider_states_stage_and_tear_down_every_request() {
    let scratch = common::TempDir::new("interop-pact");
    let dir = scratch.path().to_path_buf();
    let served = Served::start(&dir, None);
    let log = dir.join("states.log");
    let pact = pact_states(
        &dir,
        &format!("{}/_cmconform/states", served.base_url),
        &log,
    );
    std::fs::write(dir.join("map.json"), STATE_MAP).unwrap_or_default();
    let base = strings(&[
        "run",
        "--base-url",
        &served.base_url,
        "-H",
        "Authorization: Negotiate x",
        "--state-url",
        &pact.base_url,
        "--race-rounds",
        "1",
    ]);
    let mut args = base.clone();
    args.extend(strings(&["--state-map", "map.json", "--state-teardown"]));
    let output = cmconform(&dir, &args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        !text(&output).contains("warning: state endpoint"),
        "{}",
        text(&output)
    );

    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let (setups, teardowns): (Vec<_>, Vec<_>) =
        calls.iter().partition(|call| call["action"] == "setup");
    assert!(setups.len() > 20, "{} setups", setups.len());
    assert_eq!(
        setups.len(),
        teardowns.len(),
        "one teardown per staged request"
    );
    for call in &calls {
        let state = call["state"].as_str().unwrap_or_default();
        assert!(state.starts_with("a request in state "), "{call}");
    }
    assert!(
        setups
            .iter()
            .all(|call| call["params"] == serde_json::json!({}))
    );
    // The service answered 400 to any teardown of a request it had not staged, so every id came
    // back exactly once, with the description it was staged under.
    assert!(
        teardowns
            .iter()
            .all(|call| call["params"]["id"].is_string())
    );

    // Without the map the service does not know our state names: cases error, exit 2.
    let output = cmconform(&dir, &base);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("answered 400"), "{}", text(&output));
    // A bad map: exit 2 before the run, naming the file and the key.
    std::fs::write(
        dir.join("bad.json"),
        r#"{"a request in state Approved": "approval"}"#,
    )
    .unwrap_or_default();
    let mut args = base.clone();
    args.extend(strings(&["--state-map", "bad.json"]));
    let output = cmconform(&dir, &args);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output)
            .contains("bad.json: \"a request in state Approved\": unknown state 'approval'"),
        "{}",
        text(&output)
    );
    drop(pact);
}
