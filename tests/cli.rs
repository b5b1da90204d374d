//! The real `cmconform` binary, end to end: every subcommand and flag, the documented exit codes,
//! error messages that name the culprit, report files, and secrets that never leave the process.
//! Everything runs offline on 127.0.0.1; servers are in-process (stopped on drop) or child
//! processes killed on drop.

mod common;

use cmconform::server::{self, Credentials, Fault, RunningServer, ServerConfig};
use common::{TempDir, repo_root, stage};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Small runs: no life-cycle table, no sequences, no race case.
const SMALL: [&str; 3] = ["--no-lifecycle", "--race-rounds", "0"];

/// The documented example alone, in a small run.
const DOCUMENTED_ONLY: [&str; 5] = [
    "--filter",
    "documented-example",
    "--no-lifecycle",
    "--race-rounds",
    "0",
];

const SECRETS: [&str; 3] = ["SUPERSECRET123", "COOKIESECRET", "TOKENSECRET"];

/// `run EXTRA` of the documented example alone.
fn documented_run(extra: &[&str]) -> Outcome {
    let mut args = vec!["run"];
    args.extend(extra);
    args.extend(DOCUMENTED_ONLY);
    cli(&args)
}

/// `run --format json EXTRA` of `complete-from-approved` alone, exiting `code`: its report.
fn complete_from_approved_json(extra: &[&str], code: i32) -> (Outcome, serde_json::Value) {
    let mut args = vec![
        "run",
        "--format",
        "json",
        "--filter",
        "complete-from-approved",
    ];
    args.extend(SMALL);
    args.extend(extra);
    let out = cli(&args);
    out.assert_code(code);
    let report = parse_json(&out.stdout, "report");
    (out, report)
}

/// What one run of the binary produced.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    args: Vec<String>,
}

impl Outcome {
    fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "cmconform {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.stdout,
            self.stderr
        );
    }

    /// Standard output and standard error together, for searching.
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// `STATUS id` of each case line, without durations.
    fn case_lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|line| {
                ["PASS ", "FAIL ", "SKIP ", "ERROR "]
                    .iter()
                    .any(|label| line.starts_with(label))
            })
            .map(|line| {
                line.split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

fn command(args: &[&str]) -> common::Binary {
    common::cmconform(args)
}

/// Longest a single invocation may take: a hang fails the test instead of blocking the suite.
const DEADLINE: Duration = Duration::from_secs(30);

/// Runs `command` to completion, capturing standard error and (unless the caller already set it)
/// standard output; kills it and fails if it outlives [`DEADLINE`].
fn finish(command: &mut Command, args: Vec<String>) -> Outcome {
    finish_with(command, args, true, DEADLINE)
}

fn finish_with(
    command: &mut Command,
    args: Vec<String>,
    capture_stdout: bool,
    deadline: Duration,
) -> Outcome {
    if capture_stdout {
        command.stdout(Stdio::piped());
    }
    command.stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => panic!("cannot run cmconform {args:?}: {error}"),
    };
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>),
    );
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(error) => panic!("cannot wait for cmconform {args:?}: {error}"),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "cmconform {args:?} did not exit within {deadline:?} (killed)\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    };
    Outcome {
        code: status.code(),
        stdout,
        stderr,
        args,
    }
}

/// Runs the binary to completion (blocking).
fn cli(args: &[&str]) -> Outcome {
    let owned = args.iter().map(|arg| arg.to_string()).collect();
    finish(&mut command(args), owned)
}

/// Runs the binary to completion without blocking the runtime that serves the in-process server.
async fn cli_async(args: Vec<String>) -> Outcome {
    let shown = args.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&refs)
    })
    .await;
    match joined {
        Ok(outcome) => outcome,
        Err(error) => panic!("running cmconform {shown:?} panicked: {error}"),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

async fn start_server(config: ServerConfig) -> RunningServer {
    match server::spawn(config, 0).await {
        Ok(server) => server,
        Err(error) => panic!("cannot start the reference server: {error}"),
    }
}

fn server_with(fault: Option<Fault>, credentials: Credentials) -> ServerConfig {
    ServerConfig {
        fault,
        credentials,
        ..ServerConfig::default()
    }
}

fn http_client() -> reqwest::Client {
    match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(error) => panic!("cannot build the HTTP client: {error}"),
    }
}

fn read(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => panic!("cannot read {}: {error}", path.display()),
    }
}

fn write(path: &Path, text: &str) {
    if let Err(error) = std::fs::write(path, text) {
        panic!("cannot write {}: {error}", path.display());
    }
}

fn parse_json(text: &str, what: &str) -> serde_json::Value {
    match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => panic!("{what} is not JSON: {error}\n{text}"),
    }
}

/// A copy of the repository's contract to edit.
trait ContractCopy {
    fn with_contract(label: &str, copy_snapshots: bool) -> TempDir;
}

impl ContractCopy for TempDir {
    /// A copy of the repository's `schemas/` and `fixtures/`, with an empty `snapshots/` or a
    /// copy of the repository's.
    fn with_contract(label: &str, copy_snapshots: bool) -> TempDir {
        let dir = TempDir::new(label);
        copy_flat(&repo_root().join("schemas"), &dir.join("schemas"));
        copy_flat(&repo_root().join("fixtures"), &dir.join("fixtures"));
        if copy_snapshots {
            copy_flat(&repo_root().join("snapshots"), &dir.join("snapshots"));
        } else if let Err(error) = std::fs::create_dir_all(dir.join("snapshots")) {
            panic!("cannot create snapshots/: {error}");
        }
        dir
    }
}

fn copy_flat(from: &Path, to: &Path) {
    if let Err(error) = std::fs::create_dir_all(to) {
        panic!("cannot create {}: {error}", to.display());
    }
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(error) => panic!("cannot list {}: {error}", from.display()),
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(error) => panic!("cannot list {}: {error}", from.display()),
        };
        if path.is_file() {
            let Some(name) = path.file_name() else {
                continue;
            };
            if let Err(error) = std::fs::copy(&path, to.join(name)) {
                panic!("cannot copy {}: {error}", path.display());
            }
        }
    }
}

/// A `cmconform serve` child process, killed and reaped on drop.
struct ServeChild {
    child: Child,
    base_url: String,
    stderr: mpsc::Receiver<String>,
}

impl ServeChild {
    /// Starts `cmconform serve ARGS` and waits for the line that gives its base URL.
    fn start(args: &[&str]) -> ServeChild {
        let mut full = vec!["serve"];
        full.extend_from_slice(args);
        let mut child = match command(&full)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => panic!("cannot start cmconform {full:?}: {error}"),
        };
        let (sender, receiver) = mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut serve = ServeChild {
            child,
            base_url: String::new(),
            stderr: receiver,
        };
        let mut seen = Vec::new();
        loop {
            match serve.stderr.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("cmconform reference server on ") {
                        serve.base_url = url.trim().to_string();
                        seen.push(line);
                        return serve;
                    }
                    seen.push(line);
                }
                Err(error) => panic!(
                    "cmconform {full:?} printed no base URL line ({error}); stderr so far:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    /// Stderr lines printed so far (waits briefly for late ones).
    fn stderr_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        lines
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request_url(base_url: &str, id: &str) -> String {
    format!("{base_url}/CertificateManagement/api/v1.0/requests/{id}")
}

// ---------------------------------------------------------------------------------------------
// run: results and exit codes 0 and 1
// ---------------------------------------------------------------------------------------------

#[test]
fn run_documented_example_passes_with_exit_0() {
    let out = cli(&[
        "run",
        "--filter",
        "documented-example",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("PASS  documented-example"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|line| line == "1 passed, 0 failed, 0 skipped, 0 warnings"),
        "{}",
        out.stdout
    );
}

#[test]
fn run_with_a_fault_fails_with_exit_1_and_shows_how_to_reproduce() {
    let out = cli(&[
        "run",
        "--fault",
        "success_201",
        "--filter",
        "complete-from-approved",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(1);
    let all = out.all();
    assert!(all.contains("FAIL  complete-from-approved"), "{all}");
    assert!(all.contains("status_code_conformance"), "{all}");
    assert!(all.contains("expected:"), "{all}");
    assert!(all.contains("actual:"), "{all}");
    assert!(all.contains("201"), "{all}");
    assert!(
        all.lines()
            .any(|line| line.trim_start().starts_with("reproduce: curl")),
        "{all}"
    );
    assert!(all.contains("0 passed, 1 failed"), "{all}");
    assert!(
        all.contains("(embedded reference server, fault success_201)"),
        "{all}"
    );
}

#[test]
fn the_json_report_records_the_fault_of_the_embedded_server() {
    let (_, plain) = complete_from_approved_json(&[], 0);
    assert_eq!(plain.get("fault"), None);
    let (faulted, report) = complete_from_approved_json(&["--fault", "success_201"], 1);
    assert_eq!(report["fault"], "success_201", "{}", faulted.stdout);
}

#[test]
fn run_timeout_turns_a_slow_answer_into_a_transport_failure() {
    // The embedded slow answer takes 3 s: under --timeout 0.3 it fails fast, and the failure
    // names the timeout that was applied.
    let started = std::time::Instant::now();
    let out = cli(&[
        "run",
        "--fault",
        "slow_answer",
        "--timeout",
        "0.3",
        "--filter",
        "complete-from-approved",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(1);
    let all = out.all();
    assert!(all.contains("transport_error"), "{all}");
    assert!(all.contains("300ms"), "{all}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn run_filter_accepts_substrings_and_globs_and_is_repeatable() {
    let out = cli(&[
        "run",
        "--filter",
        "*-from-approved",
        "--filter",
        "id-unknown",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    let ids: Vec<String> = out
        .case_lines()
        .iter()
        .filter_map(|line| line.split(' ').nth(1).map(str::to_string))
        .collect();
    assert!(
        ids.contains(&"complete-from-approved".to_string()),
        "{ids:?}"
    );
    assert!(ids.contains(&"cancel-from-approved".to_string()), "{ids:?}");
    assert!(ids.contains(&"id-unknown-guid".to_string()), "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| id.ends_with("-from-approved") || id.contains("id-unknown")),
        "{ids:?}"
    );
}

#[test]
fn run_no_lifecycle_and_race_flags_shape_the_plan() {
    let full = cli(&["list"]);
    full.assert_code(0);
    let no_lifecycle = cli(&["list", "--no-lifecycle"]);
    no_lifecycle.assert_code(0);
    let fixtures_only = cli(&["list", "--no-lifecycle", "--race-rounds", "0"]);
    fixtures_only.assert_code(0);
    let count = |out: &Outcome| out.stdout.lines().count();
    assert!(count(&full) > count(&no_lifecycle), "{}", full.stdout);
    assert_eq!(count(&no_lifecycle), count(&fixtures_only) + 1);
    assert!(
        no_lifecycle.stdout.contains("race-"),
        "{}",
        no_lifecycle.stdout
    );
    assert!(!fixtures_only.stdout.contains("race-"));

    let too_few = cli(&["list", "--race-concurrency", "1"]);
    too_few.assert_code(2);
    assert!(
        too_few.stderr.contains("--race-concurrency"),
        "{}",
        too_few.stderr
    );

    // --race-rounds R and --race-concurrency K: R rounds of K PUTs between a GET before and after.
    let out = cli(&[
        "run",
        "--no-lifecycle",
        "--race-rounds",
        "2",
        "--race-concurrency",
        "3",
        "--filter",
        "race-",
        "--format",
        "json",
    ]);
    out.assert_code(0);
    let report = parse_json(&out.stdout, "the JSON report");
    assert_eq!(report["summary"]["total"], 1, "{report}");
    let exchanges = report["cases"][0]["exchanges"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(exchanges, 2 * (3 + 2), "{report}");
}

#[test]
fn run_help_mentions_the_exit_codes() {
    let out = cli(&["run", "--help"]);
    out.assert_code(0);
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
    for code in [
        "0  every case passed",
        "1  at least one check failed",
        "2  the run could not",
    ] {
        assert!(out.stdout.contains(code), "{code} missing:\n{}", out.stdout);
    }
}

// ---------------------------------------------------------------------------------------------
// run: exit 2 with the culprit named
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_flag_exits_2() {
    let out = cli(&["run", "--no-such-flag"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
}

#[test]
fn zero_timeout_exits_2() {
    let out = cli(&["run", "--timeout", "0", "--filter", "documented-example"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--timeout"), "{}", out.stderr);
}

#[test]
fn header_without_colon_exits_2_without_echoing_the_value() {
    let out = cli(&["run", "-H", "NoColonHere", "--filter", "documented-example"]);
    out.assert_code(2);
    assert!(out.stderr.contains("-H"), "{}", out.stderr);
    assert!(!out.all().contains("NoColonHere"), "{}", out.all());
}

#[test]
fn unknown_fault_exits_2() {
    let out = cli(&["run", "--fault", "no_such_fault"]);
    out.assert_code(2);
    assert!(out.stderr.contains("no_such_fault"), "{}", out.stderr);
    assert!(out.stderr.contains("--fault"), "{}", out.stderr);
}

#[test]
fn unknown_dialect_exits_2_naming_the_dialects() {
    for command in ["run", "serve", "selftest"] {
        let out = cli(&[command, "--dialect", "iis"]);
        out.assert_code(2);
        assert!(
            out.stderr.contains("--dialect"),
            "{command}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("strict, aspnet, nocontent"),
            "{command}: {}",
            out.stderr
        );
    }
}

#[test]
fn run_dialect_answers_as_that_dialect() {
    // A 204 success is faithful: the harness passes it, and the report shows the 204.
    let out = cli(&[
        "run",
        "--dialect",
        "nocontent",
        "--filter",
        "complete-from-approved",
        "--verbose",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    assert!(out.all().contains("204"), "{}", out.all());
}

#[test]
fn list_dialects_describes_each_dialect() {
    let out = cli(&["list", "--dialects"]);
    out.assert_code(0);
    let names: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(names, ["strict", "aspnet", "nocontent"]);
}

/// Flags that cannot go together, or values out of range: exit 2 before anything runs, naming
/// every flag (and value) involved.
#[test]
fn conflicting_or_bad_flags_exit_2_naming_them() {
    let closed = "http://127.0.0.1:1";
    let states = "http://127.0.0.1:1/_cmconform/states";
    let table: [(&[&str], &[&str]); 4] = [
        (
            &["--fault", "success_201", "--base-url", closed],
            &["--fault", "--base-url"],
        ),
        (&["--format", "xml"], &["xml", "--format"]),
        (
            &[
                "--base-url",
                closed,
                "--state-url",
                states,
                "--ids",
                "ids.json",
            ],
            &["--state-url", "--ids"],
        ),
        (&["--jobs", "0"], &["--jobs"]),
    ];
    for (flags, named) in table {
        let mut args = vec!["run"];
        args.extend(flags);
        let out = cli(&args);
        out.assert_code(2);
        for name in named {
            assert!(out.stderr.contains(name), "{flags:?}: {}", out.stderr);
        }
    }
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => match listener.local_addr() {
            Ok(addr) => addr.port(),
            Err(error) => panic!("no local address: {error}"),
        },
        Err(error) => panic!("cannot bind 127.0.0.1:0: {error}"),
    }
}

#[test]
fn unreachable_target_exits_2() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let out = cli(&["run", "--base-url", &url, "--filter", "id-unknown-guid"]);
    out.assert_code(2);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
    assert!(out.stderr.contains(&url), "{}", out.stderr);
}

#[test]
fn a_run_that_stops_at_start_still_writes_every_report() {
    let dir = TempDir::new("stopped");
    let url = format!("http://127.0.0.1:{}", closed_port());
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let specs: Vec<String> = ["json=r.json", "junit=r.xml", "human=r.txt", "html=r.html"]
        .iter()
        .map(|spec| {
            let (format, name) = spec.split_once('=').unwrap_or_default();
            format!("{format}={}", path(name))
        })
        .collect();
    let mut args = vec!["run", "--base-url", &url, "--retries", "0"];
    for spec in &specs {
        args.extend(["--report", spec.as_str()]);
    }
    let output = path("out.tap");
    args.extend(["--format", "tap", "--output", &output]);
    let out = cli(&args);
    out.assert_code(2);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
    for name in ["r.json", "r.xml", "r.txt", "r.html", "out.tap"] {
        let text = read(&dir.join(name));
        assert!(text.contains("unreachable"), "{name}: {text}");
    }
    let report = parse_json(&read(&dir.join("r.json")), "report");
    assert_eq!(report["summary"]["errored"], 1, "{report}");
    assert_eq!(report["cases"][0]["status"], "errored", "{report}");
    assert_valid_report(&report);
}

#[test]
fn an_unreachable_proxy_is_named_instead_of_the_target() {
    let target = format!("http://127.0.0.1:{}", closed_port());
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let out = cli(&[
        "run",
        "--base-url",
        &target,
        "--proxy",
        &proxy,
        "--retries",
        "0",
        "--filter",
        "id-unknown-guid",
    ]);
    out.assert_code(2);
    assert!(
        out.stderr.contains(&format!("proxy {proxy}")) && out.stderr.contains("is unreachable"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr
            .contains(&format!("target {target} is unreachable")),
        "{}",
        out.stderr
    );
}

#[test]
fn broken_fixture_names_the_file_and_json_pointer() {
    let dir = TempDir::with_contract("bad-outcome", true);
    let fixture = dir.join("fixtures/003-complete-from-approved.json");
    let text = read(&fixture);
    assert!(text.contains(r#""outcome": "success""#), "{text}");
    write(
        &fixture,
        &text.replace(r#""outcome": "success""#, r#""outcome": "maybe""#),
    );
    let contract = dir.path().display().to_string();
    let out = cli(&[
        "run",
        "--contract",
        &contract,
        "--filter",
        "documented-example",
    ]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("003-complete-from-approved.json"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("/expect/outcome"), "{}", out.stderr);
}

/// The generated family reads the put-body schema of `--contract DIR` like everything else:
/// reordering its enum changes the generated inputs, and a schema the generator cannot use is
/// an exit-2 error naming the file.
#[test]
fn generated_cases_come_from_the_contract_directory() {
    let dir = TempDir::with_contract("put-body", true);
    let contract = dir.path().display().to_string();
    let titles = || {
        let out = cli(&[
            "run",
            "--dry-run",
            "--contract",
            &contract,
            "--generate",
            "40",
            "--seed",
            "3",
            "--no-lifecycle",
            "--race-rounds",
            "0",
            "--tag",
            "generated",
            "--skip-tag",
            "body-huge",
            "--skip-tag",
            "status-long",
        ]);
        out.assert_code(0);
        out.stdout
            .lines()
            .filter(|line| line.starts_with("# gen-"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let schema = dir.join("schemas/put-body.schema.json");
    let text = read(&schema);
    let documented = r#""enum": ["Completed", "Canceled", "Abandoned"]"#;
    assert!(text.contains(documented), "{text}");
    let before = titles();
    assert!(before.len() > 30, "{before:?}");
    write(
        &schema,
        &text.replace(
            documented,
            r#""enum": ["Abandoned", "Canceled", "Completed"]"#,
        ),
    );
    let after = titles();
    assert_eq!(before.len(), after.len());
    assert_ne!(
        before, after,
        "the reordered enum changed no generated input"
    );
    write(
        &schema,
        &text.replace(documented, r#""enum": ["Finished"]"#),
    );
    let out = cli(&["list", "--contract", &contract, "--generate", "1"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("put-body.schema.json") && out.stderr.contains("Finished"),
        "{}",
        out.stderr
    );
}

#[test]
fn fixture_with_invalid_json_names_the_file_and_line() {
    let dir = TempDir::with_contract("bad-json", true);
    write(
        &dir.join("fixtures/099-broken.json"),
        "{\n  \"id\": \"broken\",\n  oops\n}\n",
    );
    let contract = dir.path().display().to_string();
    let out = cli(&[
        "run",
        "--contract",
        &contract,
        "--filter",
        "documented-example",
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("099-broken.json"), "{}", out.stderr);
    assert!(out.stderr.contains("line 3"), "{}", out.stderr);
}

#[test]
fn ids_file_with_a_bad_guid_names_the_file_and_pointer() {
    let dir = TempDir::new("bad-ids");
    let ids = dir.join("staged-ids.json");
    write(&ids, r#"{"approved": ["not-a-guid"]}"#);
    let ids = ids.display().to_string();
    let out = cli(&[
        "run",
        "--base-url",
        "http://127.0.0.1:1",
        "--ids",
        &ids,
        "--filter",
        "complete-from-approved",
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("staged-ids.json"), "{}", out.stderr);
    assert!(out.stderr.contains("/approved/0"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// run: report formats, output files, jobs
// ---------------------------------------------------------------------------------------------

#[test]
fn json_format_on_stdout_is_the_report() {
    let out = cli(&[
        "run",
        "--format",
        "json",
        "--filter",
        "documented-example",
        "--filter",
        "id-unknown-guid",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    let report = parse_json(&out.stdout, "stdout of --format json");
    assert_eq!(report["summary"]["total"], 2, "{report}");
    assert_eq!(report["summary"]["passed"], 2, "{report}");
    assert_eq!(report["embedded"], true, "{report}");
}

#[test]
fn junit_output_file_gets_xml_while_the_console_shows_the_summary() {
    let dir = TempDir::new("junit");
    let path = dir.arg("report.xml");
    let out = documented_run(&["--format", "junit", "--output", &path]);
    out.assert_code(0);
    let xml = read(&dir.join("report.xml"));
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("documented-example"), "{xml}");
    assert!(
        out.stdout
            .lines()
            .any(|line| line == "1 passed, 0 failed, 0 skipped, 0 warnings"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("PASS  documented-example"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("<?xml"), "{}", out.stdout);
}

#[test]
fn human_output_file_gets_the_whole_report() {
    let dir = TempDir::new("human");
    let path = dir.arg("report.txt");
    let out = documented_run(&["--output", &path]);
    out.assert_code(0);
    let text = read(&dir.join("report.txt"));
    assert!(text.starts_with("cmconform "), "{text}");
    assert!(text.contains("embedded reference server"), "{text}");
    assert!(text.contains("PASS  documented-example"), "{text}");
    assert!(
        text.contains("1 passed, 0 failed, 0 skipped, 0 warnings"),
        "{text}"
    );
}

#[test]
fn unwritable_output_exits_2_naming_the_flag() {
    let dir = TempDir::new("unwritable");
    let path = dir.arg("no-such-dir/report.json");
    let out = documented_run(&["--format", "json", "--output", &path]);
    out.assert_code(2);
    assert!(out.stderr.contains("--output"), "{}", out.stderr);
}

#[test]
fn jobs_do_not_change_the_case_order() {
    let run = |jobs: &str| {
        let out = cli(&["run", "--jobs", jobs, SMALL[0], SMALL[1], SMALL[2]]);
        out.assert_code(0);
        out.case_lines()
    };
    let one = run("1");
    let four = run("4");
    assert!(one.len() >= 41, "{one:?}");
    assert!(one.iter().all(|line| line.starts_with("PASS ")), "{one:?}");
    assert_eq!(one, four);
}

/// The code comment in `run_command` promises that a closed stdout (`| head`) does not abort
/// the run; the report file must still be written and the exit code must still be the run's.
#[test]
fn closed_stdout_does_not_change_the_exit_code() {
    let dir = TempDir::new("closed-stdout");
    let path = dir.arg("report.json");
    let (reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => panic!("cannot create a pipe: {error}"),
    };
    drop(reader);
    let args = [
        "run",
        "--format",
        "json",
        "--output",
        &path,
        "--filter",
        "documented-example",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ];
    let mut command = command(&args);
    command.stdout(writer);
    let out = finish_with(&mut command, strings(&args), false, DEADLINE);
    let report = parse_json(&read(&dir.join("report.json")), "the report file");
    assert_eq!(report["summary"]["passed"], 1, "{report}");
    out.assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// run: external targets
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_leave_the_process() {
    let credential = "Negotiate SUPERSECRET123";
    let good = start_server(server_with(None, Credentials::Exact(credential.into()))).await;
    let faulty = start_server(server_with(
        Fault::from_name("wrong_status_code"),
        Credentials::Exact(credential.into()),
    ))
    .await;
    let dir = TempDir::new("secrets");
    let mut checked = 0;
    for (server, expected_code) in [(&good, 0), (&faulty, 1)] {
        for (format, output) in [
            ("human", None),
            ("human", Some("report.txt")),
            ("json", None),
            ("json", Some("report.json")),
            ("junit", None),
            ("junit", Some("report.xml")),
            ("har", Some("report.har")),
        ] {
            let mut args = strings(&[
                "run",
                "--base-url",
                &server.base_url(),
                "--state-url",
                &server.state_url(),
                "-H",
                "Authorization: Negotiate SUPERSECRET123",
                "-H",
                "Cookie: session=COOKIESECRET",
                "--header",
                "X-Api-Token: TOKENSECRET",
                "--format",
                format,
                "--filter",
                "documented-example",
                "--filter",
                "complete-from-approved",
                "--filter",
                "status-unknown-value",
                "--filter",
                "auth-missing-credentials",
                SMALL[0],
                SMALL[1],
                SMALL[2],
            ]);
            let file = output.map(|name| dir.join(&format!("{expected_code}-{name}")));
            if let Some(file) = &file {
                args.push("--output".into());
                args.push(file.display().to_string());
            }
            let out = cli_async(args).await;
            out.assert_code(expected_code);
            let mut texts = vec![
                ("stdout", out.stdout.clone()),
                ("stderr", out.stderr.clone()),
            ];
            if let Some(file) = &file {
                texts.push(("output file", read(file)));
            }
            if expected_code == 1 {
                let all = texts
                    .iter()
                    .map(|(_, text)| text.as_str())
                    .collect::<String>();
                // Human details and JUnit failures carry curl commands; the JSON report carries
                // the exchanges themselves, with masked headers.
                if format != "json" || output.is_some() {
                    assert!(
                        all.contains("curl "),
                        "no curl command in a failing run:\n{all}"
                    );
                }
                assert!(all.contains("********"), "no masked value:\n{all}");
            }
            for (what, text) in &texts {
                for secret in SECRETS {
                    assert!(
                        !text.contains(secret),
                        "{secret} leaked into {what} of --format {format} (output {output:?}):\n{text}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 14);
}

/// A skipped case was not tested: it fails the run (exit 1, and the console says why) unless
/// `--allow-skips` is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_target_without_states_skips_cases_that_need_one() {
    let server = start_server(server_with(None, Credentials::AnyNonEmpty)).await;
    let args = |extra: &[&str]| {
        let mut args = strings(&[
            "run",
            "--base-url",
            &server.base_url(),
            "-H",
            "Authorization: Negotiate x",
            "--filter",
            "complete-from-approved",
            "--filter",
            "id-unknown-guid",
            SMALL[0],
            SMALL[1],
            SMALL[2],
        ]);
        args.extend(strings(extra));
        args
    };
    let strict = cli_async(args(&[])).await;
    strict.assert_code(1);
    assert!(
        strict
            .stdout
            .contains("1 skipped: a skipped case was not tested")
            && strict.stdout.contains("--allow-skips"),
        "{}",
        strict.stdout
    );
    let out = cli_async(args(&["--allow-skips"])).await;
    out.assert_code(0);
    let skip = out
        .stdout
        .lines()
        .find(|line| line.starts_with("SKIP  complete-from-approved"));
    match skip {
        Some(line) => assert!(line.contains("--state-url"), "{line}"),
        None => panic!("complete-from-approved was not skipped:\n{}", out.stdout),
    }
    assert!(
        out.stdout.contains("PASS  id-unknown-guid"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("1 passed, 0 failed, 1 skipped"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_file_ids_are_used_once() {
    let server = start_server(server_with(None, Credentials::AnyNonEmpty)).await;
    let id = stage(&http_client(), &server.state_url(), "approved").await;
    let dir = TempDir::new("ids");
    let ids = dir.join("ids.json");
    write(&ids, &format!(r#"{{"approved": ["{id}"]}}"#));
    let out = cli_async(strings(&[
        "run",
        "--base-url",
        &server.base_url(),
        "--ids",
        &ids.display().to_string(),
        "-H",
        "Authorization: Negotiate x",
        "--jobs",
        "1",
        "--filter",
        "complete-from-approved",
        "--filter",
        "cancel-from-approved",
        "--allow-skips",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]))
    .await;
    out.assert_code(0);
    let lines = out.case_lines();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with("PASS "))
            .count(),
        1,
        "{}",
        out.stdout
    );
    let skipped = out.stdout.lines().find(|line| line.starts_with("SKIP "));
    match skipped {
        Some(line) => assert!(line.contains("no id left"), "{line}"),
        None => panic!("no case was skipped:\n{}", out.stdout),
    }
    // The id that was used is the staged one: it is now Completed or Canceled.
    let response = match http_client()
        .get(request_url(&server.base_url(), &id))
        .header("Authorization", "Negotiate x")
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => panic!("GET {id} failed: {error}"),
    };
    let body: serde_json::Value = match response.json().await {
        Ok(body) => body,
        Err(error) => panic!("GET {id} answered no JSON: {error}"),
    };
    assert!(
        body["Status"] == 8 || body["Status"] == 17,
        "staged request not used: {body}"
    );
}

// ---------------------------------------------------------------------------------------------
// run: snapshots, generated cases
// ---------------------------------------------------------------------------------------------

#[test]
fn update_snapshots_writes_then_compares() {
    let dir = TempDir::with_contract("snapshots", false);
    let contract = dir.path().display().to_string();
    let base = [
        "run",
        "--contract",
        contract.as_str(),
        "--filter",
        "complete-from-approved",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ];
    let snap = dir.join("snapshots/complete-from-approved.snap");

    // Without the flag a missing snapshot is not written.
    let missing = cli(&base);
    assert!(!snap.exists(), "written without --update-snapshots");
    assert_ne!(missing.code, Some(2), "{}", missing.all());

    let mut update = base.to_vec();
    update.push("--update-snapshots");
    cli(&update).assert_code(0);
    let written = read(&snap);
    assert!(written.contains(r#""Status": 8"#), "{written}");

    let compare = cli(&base);
    compare.assert_code(0);
    assert!(
        compare.stdout.contains("PASS  complete-from-approved"),
        "{}",
        compare.stdout
    );

    write(&snap, &written.replace(r#""Status": 8"#, r#""Status": 9"#));
    let differs = cli(&base);
    differs.assert_code(1);
    let all = differs.all();
    assert!(all.contains("snapshot"), "{all}");
    assert!(all.contains(r#"-  "Status": 9"#), "{all}");
    assert!(all.contains(r#"+  "Status": 8"#), "{all}");
}

#[test]
fn generated_cases_report_their_seed_in_human_output() {
    let out = cli(&[
        "run",
        "--generate",
        "30",
        "--seed",
        "7",
        SMALL[0],
        SMALL[1],
        SMALL[2],
        "--filter",
        "gen-",
    ]);
    out.assert_code(0);
    assert_eq!(out.case_lines().len(), 30, "{}", out.stdout);
    // The seed is what makes a generated run reproducible: the console must show it.
    assert!(
        out.stdout.contains("seed 7"),
        "seed not shown:\n{}",
        out.stdout
    );
}

#[test]
fn generated_cases_report_their_seed_in_json_and_report_files() {
    let dir = TempDir::new("seed");
    let path = dir.arg("report.txt");
    let json = cli(&[
        "run",
        "--generate",
        "30",
        "--seed",
        "7",
        SMALL[0],
        SMALL[1],
        SMALL[2],
        "--filter",
        "gen-",
        "--format",
        "json",
    ]);
    json.assert_code(0);
    let report = parse_json(&json.stdout, "the JSON report");
    assert_eq!(report["seed"], 7, "{report}");
    assert_eq!(report["summary"]["total"], 30, "{report}");

    let human = cli(&[
        "run",
        "--generate",
        "30",
        "--seed",
        "7",
        SMALL[0],
        SMALL[1],
        SMALL[2],
        "--filter",
        "gen-",
        "--output",
        &path,
    ]);
    human.assert_code(0);
    let text = read(&dir.join("report.txt"));
    let header = text.lines().next().unwrap_or_default();
    assert!(header.contains("seed 7"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// list and checks
// ---------------------------------------------------------------------------------------------

#[test]
fn list_shows_cases_with_their_states() {
    let out = cli(&["list"]);
    out.assert_code(0);
    let line = out
        .stdout
        .lines()
        .find(|line| line.starts_with("documented-example "));
    match line {
        Some(line) => assert!(line.contains("given approved"), "{line}"),
        None => panic!("documented-example not listed:\n{}", out.stdout),
    }
    assert!(!out.stdout.contains("# seed"), "{}", out.stdout);
}

#[test]
fn list_filter_and_contract_select_the_cases() {
    let filtered = cli(&[
        "list",
        "--filter",
        "*-from-approved",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    filtered.assert_code(0);
    assert!(!filtered.stdout.is_empty());
    assert!(
        filtered.stdout.lines().all(|line| line
            .split_whitespace()
            .next()
            .is_some_and(|id| id.ends_with("-from-approved"))),
        "{}",
        filtered.stdout
    );

    let dir = TempDir::with_contract("list", true);
    for entry in [
        "003-complete-from-approved.json",
        "006-cancel-from-approved.json",
    ] {
        if let Err(error) = std::fs::remove_file(dir.join("fixtures").join(entry)) {
            panic!("cannot remove {entry}: {error}");
        }
    }
    let contract = dir.path().display().to_string();
    let out = cli(&[
        "list",
        "--contract",
        &contract,
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    assert_eq!(
        out.stdout.lines().count() + 2,
        cli(&["list", SMALL[0], SMALL[1], SMALL[2]])
            .stdout
            .lines()
            .count(),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("complete-from-approved"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("documented-example"), "{}", out.stdout);
}

#[test]
fn list_generated_cases_are_reproducible_from_the_seed() {
    let first = cli(&["list", "--generate", "20", "--seed", "7"]);
    first.assert_code(0);
    let second = cli(&["list", "--generate", "20", "--seed", "7"]);
    second.assert_code(0);
    assert_eq!(first.stdout, second.stdout);
    assert!(
        first.stdout.lines().any(|line| line == "# seed 7"),
        "{}",
        first.stdout
    );
    let generated = first
        .stdout
        .lines()
        .filter(|line| line.starts_with("gen-"))
        .count();
    assert_eq!(generated, 20, "{}", first.stdout);
    let other = cli(&["list", "--generate", "20", "--seed", "8"]);
    other.assert_code(0);
    assert!(other.stdout.contains("# seed 8"), "{}", other.stdout);
}

#[test]
fn list_faults_shows_the_whole_catalogue() {
    let out = cli(&["list", "--faults"]);
    out.assert_code(0);
    for fault in Fault::ALL {
        let line = out
            .stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(fault.name()));
        match line {
            Some(line) => {
                assert!(line.contains("section"), "{line}");
                assert!(line.contains(fault.intended_check()), "{line}");
            }
            None => panic!("fault {} not listed:\n{}", fault.name(), out.stdout),
        }
    }
    assert_eq!(out.stdout.lines().count(), Fault::ALL.len());
}

#[test]
fn checks_lists_the_registry() {
    let out = cli(&["checks"]);
    out.assert_code(0);
    // One line per check, whatever the layout (aligned columns or a Markdown table).
    let first_token = |line: &str| -> Option<String> {
        line.split(|c: char| c.is_whitespace() || c == '|' || c == '`')
            .find(|token| !token.is_empty())
            .map(str::to_string)
    };
    for check in cmconform::checks::REGISTRY {
        let lines = out
            .stdout
            .lines()
            .filter(|line| first_token(line).as_deref() == Some(check.name))
            .count();
        assert_eq!(
            lines, 1,
            "check {} not listed once:\n{}",
            check.name, out.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_fault_answers_real_requests() {
    let serve = match tokio::task::spawn_blocking(|| {
        ServeChild::start(&["--port", "0", "--fault", "success_201"])
    })
    .await
    {
        Ok(serve) => serve,
        Err(error) => panic!("starting serve panicked: {error}"),
    };
    assert!(
        serve.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        serve.base_url
    );
    let client = http_client();
    let state_url = format!("{}/_cmconform/states", serve.base_url);
    let id = stage(&client, &state_url, "approved").await;
    let response = match client
        .put(request_url(&serve.base_url, &id))
        .header("Authorization", "Negotiate x")
        .json(&serde_json::json!({ "status": "Completed" }))
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => panic!("PUT {id} failed: {error}"),
    };
    assert_eq!(response.status(), 201);
    let lines = serve.stderr_lines();
    let all = lines.join("\n");
    assert!(all.contains("success_201"), "{all}");
    drop(serve);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_credential_is_required_exactly_and_never_logged() {
    let serve = match tokio::task::spawn_blocking(|| {
        ServeChild::start(&["--port", "0", "--credential", "Negotiate SUPERSECRET123"])
    })
    .await
    {
        Ok(serve) => serve,
        Err(error) => panic!("starting serve panicked: {error}"),
    };
    let client = http_client();
    let state_url = format!("{}/_cmconform/states", serve.base_url);
    let id = stage(&client, &state_url, "approved").await;
    let put = |credential: &'static str| {
        client
            .put(request_url(&serve.base_url, &id))
            .header("Authorization", credential)
            .json(&serde_json::json!({ "status": "Completed" }))
            .send()
    };
    let wrong = match put("Negotiate x").await {
        Ok(response) => response.status(),
        Err(error) => panic!("PUT with a wrong credential failed: {error}"),
    };
    assert_eq!(wrong, 401);
    let right = match put("Negotiate SUPERSECRET123").await {
        Ok(response) => response.status(),
        Err(error) => panic!("PUT with the credential failed: {error}"),
    };
    assert!(right == 200 || right == 204, "{right}");
    let lines = serve.stderr_lines();
    let all = lines.join("\n");
    assert!(all.contains("PUT"), "exchanges not logged:\n{all}");
    assert!(!all.contains("SUPERSECRET123"), "{all}");
}

#[test]
fn serve_on_a_busy_port_exits_2() {
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(error) => panic!("cannot bind 127.0.0.1:0: {error}"),
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port().to_string(),
        Err(error) => panic!("no local address: {error}"),
    };
    let out = cli(&["serve", "--port", &port]);
    out.assert_code(2);
    assert!(out.stderr.contains("--port"), "{}", out.stderr);
    assert!(out.stderr.contains(&port), "{}", out.stderr);
    drop(listener);
}

#[test]
fn serve_with_an_unknown_fault_exits_2() {
    let out = cli(&["serve", "--port", "0", "--fault", "no_such_fault"]);
    out.assert_code(2);
    assert!(out.stderr.contains("no_such_fault"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// selftest
// ---------------------------------------------------------------------------------------------

#[test]
fn selftest_json_rows_for_the_chosen_faults() {
    let out = cli(&[
        "selftest",
        "--fault",
        "success_201",
        "--fault",
        "no_lock",
        "--dialect",
        "strict",
        "--dialect",
        "nocontent",
        "--format",
        "json",
        "--parallel",
        "2",
    ]);
    out.assert_code(0);
    let matrix = parse_json(&out.stdout, "selftest --format json");
    let rows = match matrix["rows"].as_array() {
        Some(rows) => rows.clone(),
        None => panic!("no rows:\n{matrix}"),
    };
    for dialect in ["strict", "nocontent"] {
        let in_dialect: Vec<&serde_json::Value> = rows
            .iter()
            .filter(|row| row["dialect"] == dialect)
            .collect();
        for fault in ["success_201", "no_lock"] {
            let row = in_dialect.iter().find(|row| row["fault"] == fault);
            match row {
                Some(row) => assert_eq!(row["passed"], true, "{row}"),
                None => panic!("no row for {dialect} {fault}:\n{matrix}"),
            }
        }
        assert!(
            in_dialect
                .iter()
                .any(|row| row["fault"].is_null() && row["passed"] == true),
            "no clean row for the conformant {dialect} server:\n{matrix}"
        );
        assert_eq!(in_dialect.len(), 3, "{matrix}");
    }
    assert_eq!(rows.len(), 6, "{matrix}");
    assert_eq!(
        matrix["dialects"],
        serde_json::json!(["strict", "nocontent"])
    );
}

#[test]
fn selftest_rejects_bad_flags_and_contracts() {
    let parallel = cli(&["selftest", "--parallel", "0"]);
    parallel.assert_code(2);
    assert!(
        parallel.stderr.contains("--parallel"),
        "{}",
        parallel.stderr
    );

    let fault = cli(&["selftest", "--fault", "no_such_fault"]);
    fault.assert_code(2);
    assert!(fault.stderr.contains("no_such_fault"), "{}", fault.stderr);

    let format = cli(&["selftest", "--format", "junit"]);
    format.assert_code(2);
    assert!(format.stderr.contains("--format"), "{}", format.stderr);

    let dir = TempDir::with_contract("selftest-contract", true);
    write(&dir.join("fixtures/099-broken.json"), "{\n  oops\n}\n");
    let contract = dir.path().display().to_string();
    let out = cli(&[
        "selftest",
        "--fault",
        "success_201",
        "--contract",
        &contract,
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("099-broken.json"), "{}", out.stderr);
}

#[test]
fn selftest_readme_rewrites_the_matrix_block() {
    let dir = TempDir::new("readme");
    let readme = dir.join("README.md");
    write(
        &readme,
        "# title\n\n<!-- selftest:begin -->\nstale\n<!-- selftest:end -->\n\nafter\n",
    );
    let contract = repo_root().display().to_string();
    // A fault filter would leave the other rows out of the README: refused.
    let args = ["selftest", "--fault", "success_201", "--readme"];
    let mut filtered = command(&args);
    filtered.current_dir(dir.path());
    let out = finish(&mut filtered, strings(&args));
    out.assert_code(2);
    assert!(out.stderr.contains("--readme"), "{}", out.stderr);
    assert!(read(&readme).contains("stale"));
    let args = [
        "selftest",
        "--readme",
        "--parallel",
        "8",
        "--contract",
        &contract,
    ];
    let mut command = command(&args);
    command.current_dir(dir.path());
    // The whole catalogue: slower than one invocation's usual deadline.
    let out = finish_with(&mut command, strings(&args), true, Duration::from_secs(240));
    out.assert_code(0);
    let text = read(&readme);
    assert!(!text.contains("stale"), "{text}");
    assert!(text.starts_with("# title\n"), "{text}");
    assert!(text.ends_with("<!-- selftest:end -->\n\nafter\n"), "{text}");
    assert!(
        text.contains("| success_201 | 1 | status_code_conformance | caught | caught | caught |"),
        "{text}"
    );
    for fault in Fault::ALL {
        assert!(text.contains(&format!("| {} ", fault.name())), "{text}");
    }
    // The human matrix also went to stdout.
    assert!(out.stdout.contains("success_201"), "{}", out.stdout);
}

// ---------------------------------------------------------------------------------------------
// run: console verbosity, dry run, fail fast, tags and partitions
// ---------------------------------------------------------------------------------------------

#[test]
fn quiet_prints_only_the_summary_when_everything_passes() {
    let out = cli(&[
        "run",
        "-q",
        "--filter",
        "documented-example",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    assert!(out.case_lines().is_empty(), "{}", out.stdout);
    assert!(
        out.stdout
            .lines()
            .any(|line| line == "1 passed, 0 failed, 0 skipped, 0 warnings"),
        "{}",
        out.stdout
    );
}

#[test]
fn verbose_prints_every_exchange_with_masked_credentials() {
    let out = cli(&[
        "run",
        "--verbose",
        "--filter",
        "documented-example",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    for expected in [
        "step 1 GET before: GET",
        "step 1 request: PUT",
        "step 1 GET after: GET",
        "> Authorization: Negotiate ********",
        "\"Status\":8",
    ] {
        assert!(out.stdout.contains(expected), "{expected}:\n{}", out.stdout);
    }
}

#[test]
fn dry_run_sends_nothing_and_prints_masked_curl_commands() {
    // Nothing listens on port 1: a dry run must not even try to connect.
    let out = cli(&[
        "run",
        "--dry-run",
        "--base-url",
        "http://127.0.0.1:1",
        "-H",
        "Authorization: Negotiate SUPERSECRET123",
        "--filter",
        "documented-example",
        "--filter",
        "id-unknown-guid",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    out.assert_code(0);
    assert!(out.stdout.contains("nothing is sent"), "{}", out.stdout);
    let curls = out
        .stdout
        .lines()
        .filter(|line| line.starts_with("curl "))
        .count();
    assert_eq!(curls, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("Authorization: Negotiate ********"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains("SUPERSECRET123"), "{}", out.all());
}

/// `--fail-fast`: "Stop starting cases after the first failure (the rest are reported as
/// skipped)". With `--jobs 1` no case may start after the first failed one.
#[test]
fn fail_fast_with_one_job_skips_every_case_after_the_first_failure() {
    // Run it a few times: whether a later case slips in (or the run deadlocks) depends on
    // task scheduling. Each attempt normally takes well under a second.
    for attempt in 1..=5 {
        let args = [
            "run",
            "--fault",
            "success_201",
            "--fail-fast",
            "--jobs",
            "1",
            SMALL[0],
            SMALL[1],
            SMALL[2],
        ];
        let mut command = command(&args);
        let out = finish_with(&mut command, strings(&args), true, Duration::from_secs(10));
        assert_fail_fast(&out, attempt);
    }
}

fn assert_fail_fast(out: &Outcome, attempt: usize) {
    out.assert_code(1);
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|line| {
            ["PASS ", "FAIL ", "SKIP "]
                .iter()
                .any(|l| line.starts_with(l))
        })
        .collect();
    let Some(first_failure) = lines.iter().position(|line| line.starts_with("FAIL ")) else {
        panic!("no case failed:\n{}", out.stdout);
    };
    let after = &lines[first_failure + 1..];
    assert!(!after.is_empty(), "{}", out.stdout);
    let started: Vec<&&str> = after
        .iter()
        .filter(|line| !(line.starts_with("SKIP ") && line.contains("--fail-fast")))
        .collect();
    assert!(
        started.is_empty(),
        "attempt {attempt}: cases started after the first failure ({}):\n{}",
        lines[first_failure],
        started
            .iter()
            .map(|line| line.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn tags_select_and_leave_out_cases() {
    let tagged = cli(&["list", "--tag", "example", SMALL[0], SMALL[1], SMALL[2]]);
    tagged.assert_code(0);
    let ids: Vec<&str> = tagged
        .stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(ids, ["documented-example"], "{}", tagged.stdout);

    let skipped = cli(&[
        "list",
        "--skip-tag",
        "validation",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    skipped.assert_code(0);
    assert!(!skipped.stdout.is_empty());
    assert!(!skipped.stdout.contains("validation"), "{}", skipped.stdout);
    assert!(
        skipped.stdout.contains("documented-example"),
        "{}",
        skipped.stdout
    );

    let race = cli(&["list", "--tag", "race"]);
    race.assert_code(0);
    assert!(
        race.stdout.lines().all(|line| line.starts_with("race-")),
        "{}",
        race.stdout
    );

    let run = cli(&["run", "--tag", "example", SMALL[0], SMALL[1], SMALL[2]]);
    run.assert_code(0);
    assert_eq!(
        run.case_lines(),
        ["PASS documented-example"],
        "{}",
        run.stdout
    );
}

#[test]
fn partitions_split_the_plan_without_overlap() {
    let ids = |args: &[&str]| {
        let out = cli(args);
        out.assert_code(0);
        out.stdout
            .lines()
            .filter_map(|line| line.split_whitespace().next().map(str::to_string))
            .collect::<Vec<String>>()
    };
    let all = ids(&["list", SMALL[0], SMALL[1], SMALL[2]]);
    let first = ids(&["list", "--partition", "1/2", SMALL[0], SMALL[1], SMALL[2]]);
    let second = ids(&["list", "--partition", "2/2", SMALL[0], SMALL[1], SMALL[2]]);
    assert!(
        !first.is_empty() && !second.is_empty(),
        "{first:?} {second:?}"
    );
    assert!(
        first.iter().all(|id| !second.contains(id)),
        "{first:?} {second:?}"
    );
    let mut union: Vec<String> = first.iter().chain(&second).cloned().collect();
    union.sort();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(union, sorted);

    let run = cli(&["run", "--partition", "1/2", SMALL[0], SMALL[1], SMALL[2]]);
    run.assert_code(0);
    assert_eq!(run.case_lines().len(), first.len(), "{}", run.stdout);

    let bad = cli(&["list", "--partition", "3/2"]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("--partition"), "{}", bad.stderr);
}

// ---------------------------------------------------------------------------------------------
// Bounds, URLs, closed pipes and full disks (issue 12)
// ---------------------------------------------------------------------------------------------

/// Every timeout source is bounded at parse time: exit 2 naming the flag or the variable, never
/// a panic (exit 101) converting an enormous float into a `Duration`.
#[test]
fn timeouts_beyond_a_day_exit_2_from_every_source() {
    type Case<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 6] = [
        (&["run", "--timeout", "1e30"], None, "--timeout"),
        (&["run", "--timeout", "86401"], None, "--timeout"),
        (
            &["run", "--connect-timeout", "1e20"],
            None,
            "--connect-timeout",
        ),
        (
            &[
                "doctor",
                "--base-url",
                "http://127.0.0.1:9",
                "--timeout",
                "1e30",
            ],
            None,
            "--timeout",
        ),
        (
            &["run"],
            Some(("CMCONFORM_TIMEOUT", "1e30")),
            "CMCONFORM_TIMEOUT",
        ),
        (
            &["run"],
            Some(("CMCONFORM_CONNECT_TIMEOUT", "inf")),
            "CMCONFORM_CONNECT_TIMEOUT",
        ),
    ];
    for (args, env, named) in cases {
        let mut command = command(args);
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let out = finish(&mut command, strings(args));
        out.assert_code(2);
        assert!(out.stderr.contains(named), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn generate_and_retries_have_upper_bounds() {
    for args in [
        ["list", "--generate", "1000001"],
        ["run", "--retries", "11"],
        ["run", "--retries", "1000000"],
    ] {
        let out = cli(&args);
        out.assert_code(2);
        assert!(out.stderr.contains(args[1]), "{}", out.stderr);
    }
}

#[test]
fn base_url_with_a_query_or_fragment_exits_2() {
    for url in ["http://127.0.0.1:9/?a=b", "http://127.0.0.1:9/#x"] {
        let out = cli(&["run", "--base-url", url]);
        out.assert_code(2);
        assert!(out.stderr.contains("--base-url"), "{}", out.stderr);
    }
}

/// A virtual directory in front of the API: the documented path goes after the prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_url_path_prefix_is_kept() {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => panic!("cannot listen: {error}"),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let (sender, receiver) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if let Ok((mut stream, _)) = listener.accept().await {
            let mut head = vec![0u8; 4096];
            let read = stream.read(&mut head).await.unwrap_or(0);
            let _ = sender.send(String::from_utf8_lossy(&head[..read]).into_owned());
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    let base = format!("http://127.0.0.1:{port}/cm/");
    let out = cli_async(strings(&[
        "run",
        "--base-url",
        &base,
        "--filter",
        "documented-example",
        "--timeout",
        "5",
    ]))
    .await;
    let head = receiver.await.unwrap_or_default();
    assert!(
        head.starts_with(
            "GET /cm/CertificateManagement/api/v1.0/requests/00000000-0000-0000-0000-000000000000 "
        ),
        "{head}\n{}",
        out.all()
    );
}

#[test]
fn flags_for_a_target_exit_2_without_base_url() {
    let cases: [&[&str]; 6] = [
        &["run", "--ids", "/nonexistent"],
        &["run", "--state-url", "http://127.0.0.1:9/states"],
        &["run", "--cacert", "/nonexistent"],
        &["run", "--proxy", "http://127.0.0.1:9"],
        &["run", "--insecure"],
        &["run", "--cert", "/a.pem", "--key", "/a.key"],
    ];
    for args in cases {
        let out = cli(args);
        out.assert_code(2);
        assert!(
            out.stderr.contains(args[1]) && out.stderr.contains("--base-url"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

/// What each subcommand should exit with when its output is thrown away.
fn pipe_cases(dir: &TempDir, doctor_url: &str) -> Vec<(Vec<String>, i32)> {
    let small = DOCUMENTED_ONLY;
    let mut run = strings(&["run"]);
    run.extend(strings(&small));
    let mut json = strings(&["run", "--format", "json"]);
    json.extend(strings(&small));
    let mut dry = strings(&["run", "--dry-run"]);
    dry.extend(strings(&small));
    vec![
        (run, 0),
        (json, 0),
        (dry, 0),
        (strings(&["list"]), 0),
        (strings(&["list", "--faults"]), 0),
        (strings(&["checks"]), 0),
        (
            strings(&["doctor", "--base-url", doctor_url, "-H", "Authorization: x"]),
            0,
        ),
        (
            strings(&["selftest", "--fault", "success_201", "--format", "json"]),
            0,
        ),
        (strings(&["init", "--force", "--dir", &dir.arg("")]), 0),
        (strings(&["export", "openapi"]), 0),
        (strings(&["merge", &shard_report(dir)]), 0),
        (
            strings(&[
                "load",
                "--duration",
                "200ms",
                "--rate",
                "20/s",
                "--format",
                "json",
            ]),
            0,
        ),
    ]
}

/// A one-shard JSON report in `dir`, for `merge`.
fn shard_report(dir: &TempDir) -> String {
    let path = dir.arg("shard.json");
    let mut args = vec![
        "run",
        "--partition",
        "1/1",
        "--format",
        "json",
        "--output",
        &path,
    ];
    args.extend(DOCUMENTED_ONLY);
    cli(&args).assert_code(0);
    path
}

/// Runs every subcommand of [`pipe_cases`] with its streams set by `redirect`: (arguments,
/// expected code on a closed pipe, actual code, standard error when it was not redirected).
async fn each_subcommand_into(
    label: &str,
    redirect: fn(&mut Command),
) -> Vec<(Vec<String>, i32, Option<i32>, String)> {
    let server = start_server(server_with(None, Credentials::AnyNonEmpty)).await;
    let dir = TempDir::new(label);
    let cases = pipe_cases(&dir, &server.base_url());
    tokio::task::spawn_blocking(move || {
        cases
            .into_iter()
            .map(|(args, expected)| {
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let mut command = command(&refs);
                redirect(&mut command);
                let output = command.output();
                let code = output.as_ref().ok().and_then(|output| output.status.code());
                let stderr = output
                    .map(|output| String::from_utf8_lossy(&output.stderr).into_owned())
                    .unwrap_or_default();
                (args, expected, code, stderr)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default()
}

/// `cmconform ... 2>&1 | head -0`: both streams closed, for every subcommand that ends (`serve`
/// runs until stopped; its closed log pipe is tested with `serve` itself). Nothing panics; list
/// and checks exit 0, run keeps its own exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_ends_quietly_on_a_closed_pipe() {
    let outcomes = each_subcommand_into("closed-pipe", |command| {
        let (reader, writer) = match std::io::pipe() {
            Ok(pipe) => pipe,
            Err(error) => panic!("cannot create a pipe: {error}"),
        };
        drop(reader);
        if let Ok(stderr) = writer.try_clone() {
            command.stderr(stderr);
        }
        command.stdout(writer);
    })
    .await;
    assert_eq!(outcomes.len(), 12);
    for (args, expected, code, _) in outcomes {
        assert_eq!(code, Some(expected), "{args:?}");
    }
}

/// `cmconform ... > /dev/full`: exit 2 with a message naming standard output, never exit 0 and
/// never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_exits_2_on_a_full_disk() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let outcomes = each_subcommand_into("full-disk", |command| {
        match std::fs::OpenOptions::new().write(true).open("/dev/full") {
            Ok(full) => command.stdout(full),
            Err(error) => panic!("cannot open /dev/full: {error}"),
        };
    })
    .await;
    assert_eq!(outcomes.len(), 12);
    for (args, _, code, stderr) in outcomes {
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn report_files_on_a_full_disk_exit_2_naming_the_flag() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let small = DOCUMENTED_ONLY;
    for flag in [["--output", "/dev/full"], ["--report", "json=/dev/full"]] {
        let mut args = vec!["run", flag[0], flag[1]];
        args.extend(small);
        let out = cli(&args);
        out.assert_code(2);
        assert!(
            out.stderr.contains(flag[0]) && out.stderr.contains("No space left"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn output_dash_is_standard_output() {
    let dir = TempDir::new("output-dash");
    let mut args = vec!["run", "--format", "json", "--output", "-"];
    args.extend(DOCUMENTED_ONLY);
    let mut command = command(&args);
    command.current_dir(dir.path());
    let out = finish(&mut command, strings(&args));
    out.assert_code(0);
    let report = parse_json(&out.stdout, "standard output");
    assert_eq!(report["summary"]["passed"], 1, "{report}");
    assert!(!dir.join("-").exists(), "a file named '-' was written");
}

/// Steps are numbered from 1 in the JSON report as on the console: every failed check of a
/// two-step sequence is `CHECK (step N)` on the console and step N in the JSON report, whose
/// steps run from 1 to 2.
#[test]
fn json_report_numbers_steps_from_1_like_the_console() {
    let case = "*approved-complete-then-cancel";
    let run = |format: &str| {
        let out = cli(&[
            "run",
            "--format",
            format,
            "--filter",
            case,
            "--fault",
            "wrong_status_code",
        ]);
        out.assert_code(1);
        out.stdout
    };
    let human = run("human");
    let report = parse_json(&run("json"), "the JSON report");
    assert_eq!(report["summary"]["total"], 1, "{report}");
    let items = |key: &str| {
        report["cases"][0][key]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    for key in ["checks", "exchanges"] {
        let numbers: Vec<u64> = items(key)
            .iter()
            .filter_map(|item| item["step"].as_u64())
            .collect();
        assert_eq!(numbers.iter().min(), Some(&1), "{key}: {numbers:?}");
        assert_eq!(numbers.iter().max(), Some(&2), "{key}: {numbers:?}");
    }
    let failed: Vec<String> = items("checks")
        .iter()
        .filter(|check| check["outcome"] == "fail")
        .map(|check| {
            format!(
                "{} (step {})",
                check["check"].as_str().unwrap_or("?"),
                check["step"]
            )
        })
        .collect();
    assert!(!failed.is_empty(), "{report}");
    for shown in failed {
        assert!(human.contains(&shown), "{shown} not in\n{human}");
    }
}

/// Every report says which contract the run used: the built-in copy, or a directory, including
/// the working directory the command line takes on its own when it holds `fixtures/`.
#[test]
fn reports_name_the_contract_the_run_used() {
    let checkout = TempDir::with_contract("contract-source", true);
    let elsewhere = TempDir::new("no-contract");
    let directory = match checkout.path().canonicalize() {
        Ok(path) => path.display().to_string(),
        Err(error) => panic!("cannot resolve {}: {error}", checkout.path().display()),
    };
    for (cwd, recorded, shown) in [
        (elsewhere.path(), "built-in", "(built-in)".to_string()),
        (
            checkout.path(),
            directory.as_str(),
            format!("(directory {directory})"),
        ),
    ] {
        for format in ["human", "json"] {
            let mut args = vec!["run", "--format", format];
            args.extend(DOCUMENTED_ONLY);
            let mut command = command(&args);
            command.current_dir(cwd);
            let out = finish(&mut command, strings(&args));
            out.assert_code(0);
            if format == "json" {
                let report = parse_json(&out.stdout, "the JSON report");
                assert_eq!(report["contract_source"], recorded, "{report}");
            } else {
                let header = out.stdout.lines().next().unwrap_or_default();
                assert!(header.ends_with(&shown), "{header}");
            }
        }
    }
}

/// `serve 2>&1 | head -1`: the log pipe closes, and the server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_answering_after_its_log_pipe_closes() {
    let port = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener.local_addr().map(|a| a.port()).unwrap_or_default(),
        Err(error) => panic!("cannot find a free port: {error}"),
    };
    let (reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => panic!("cannot create a pipe: {error}"),
    };
    drop(reader);
    let port_arg = port.to_string();
    let mut command = command(&["serve", "--port", &port_arg]);
    command.stdout(Stdio::null()).stderr(writer);
    let child = match command.spawn() {
        Ok(child) => ServeChild {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            stderr: mpsc::channel().1,
        },
        Err(error) => panic!("cannot start serve: {error}"),
    };
    let client = http_client();
    let url = request_url(&child.base_url, "00000000-0000-0000-0000-000000000000");
    let mut statuses = Vec::new();
    for attempt in 0..200 {
        match client.get(&url).header("Authorization", "x").send().await {
            Ok(response) => statuses.push(response.status().as_u16()),
            Err(_) if statuses.is_empty() && attempt < 199 => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(error) => panic!("serve stopped answering: {error}"),
        }
        if statuses.len() == 5 {
            break;
        }
    }
    assert_eq!(statuses, [404; 5]);
    drop(child);
}

// ---------------------------------------------------------------------------------------------
// speed: trust roots only for https, --rate

/// An http target never reads the system's trust roots: with a certificate store that cannot
/// be parsed (which fails any client that loads it), a plain-http run still passes.
#[test]
fn http_runs_never_read_the_certificate_store() {
    let dir = TempDir::new("bogus-roots");
    let bundle = dir.join("bogus.pem");
    if let Err(error) = std::fs::write(
        &bundle,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ) {
        panic!("cannot write {}: {error}", bundle.display());
    }
    let args = [
        "run",
        "--filter",
        "documented-example",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ];
    let mut command = command(&args);
    command
        .env("SSL_CERT_FILE", &bundle)
        .env("SSL_CERT_DIR", dir.path());
    let out = finish(&mut command, strings(&args));
    out.assert_code(0);
}

#[test]
fn rate_limits_parse_with_units_and_name_the_flag() {
    let out = cli(&["run", "--rate", "120/min", "--filter", "documented-example"]);
    out.assert_code(0);
    for bad in ["0/s", "fast", "10/h"] {
        let out = cli(&["run", "--rate", bad]);
        out.assert_code(2);
        assert!(out.stderr.contains("--rate"), "{}", out.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// selection a gate can trust: nothing selected, bad globs, what an --ids file must hold

#[test]
fn an_empty_selection_and_an_invalid_glob_exit_2_naming_the_cause() {
    let empty = cli(&[
        "run",
        "--filter",
        "no-such-case",
        SMALL[0],
        SMALL[1],
        SMALL[2],
    ]);
    empty.assert_code(2);
    assert!(
        empty.stderr.contains("no case matches the selection"),
        "{}",
        empty.all()
    );
    let dry = cli(&["run", "--dry-run", "--tag", "no-such-tag"]);
    dry.assert_code(2);
    for command in ["run", "list"] {
        let bad = cli(&[command, "--filter", "complete-[from"]);
        bad.assert_code(2);
        assert!(
            bad.stderr.contains("'complete-[from' is not a valid glob"),
            "{}",
            bad.all()
        );
    }
}

/// `list` shows what the race needs (an Approved request per round), and the `--ids` file of
/// `list --ids-template` covers the selection exactly: staged for real, no case is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ids_template_covers_the_selection_exactly() {
    let selection = [
        "--filter",
        "complete-from-approved",
        "--filter",
        "cancel-from-pending",
        "--filter",
        "race",
        "--race-rounds",
        "2",
        "--race-concurrency",
        "2",
    ];
    let mut list = vec!["list"];
    list.extend(selection);
    let listed = cli(&list);
    listed.assert_code(0);
    assert!(
        listed
            .stdout
            .lines()
            .any(|line| line.starts_with("race-conflicting-puts") && line.contains("approved x2")),
        "{}",
        listed.stdout
    );
    list.push("--ids-template");
    let template = cli(&list);
    template.assert_code(0);
    let template = parse_json(&template.stdout, "the ids template");
    let counts: Vec<(String, usize)> = template
        .as_object()
        .into_iter()
        .flatten()
        .map(|(state, ids)| (state.clone(), ids.as_array().map_or(0, Vec::len)))
        .collect();
    assert_eq!(
        counts,
        [("pending".to_string(), 1), ("approved".to_string(), 3)],
        "{template}"
    );

    let server = start_server(server_with(None, Credentials::AnyNonEmpty)).await;
    let client = http_client();
    let mut staged = serde_json::Map::new();
    for (state, count) in &counts {
        let mut ids = Vec::new();
        for _ in 0..*count {
            ids.push(stage(&client, &server.state_url(), state).await.into());
        }
        staged.insert(state.clone(), serde_json::Value::Array(ids));
    }
    let dir = TempDir::new("ids-template");
    let ids = dir.join("ids.json");
    write(&ids, &serde_json::Value::Object(staged).to_string());
    let mut run = strings(&[
        "run",
        "--base-url",
        &server.base_url(),
        "--ids",
        &ids.display().to_string(),
        "-H",
        "Authorization: Negotiate x",
        "--no-lifecycle",
    ]);
    run.extend(strings(&selection));
    let out = cli_async(run).await;
    out.assert_code(0);
    assert!(
        out.stdout.contains("3 passed, 0 failed, 0 skipped"),
        "{}",
        out.stdout
    );
}

/// Framing and hop-by-hop headers are the client's: given with `-H` they exit 2 instead of
/// desynchronizing the framing and timing out on the target's account.
#[test]
fn client_owned_headers_exit_2_from_the_command_line() {
    for header in [
        "Content-Length: 5",
        "Transfer-Encoding: chunked",
        "Host: elsewhere",
        "Connection: close",
    ] {
        let name = header.split(':').next().unwrap_or_default();
        for command in [
            vec!["run", "-H", header],
            vec!["doctor", "--base-url", "http://127.0.0.1:9", "-H", header],
        ] {
            let out = cli(&command);
            out.assert_code(2);
            assert!(
                out.stderr.contains("-H") && out.stderr.contains(name),
                "{}",
                out.stderr
            );
        }
    }
}

/// A fixture that sets a client-owned header, or one whose value holds CR/LF, is a contract
/// error naming the file and the header.
#[test]
fn fixture_headers_the_client_owns_or_that_split_exit_2() {
    for (header, value) in [("Content-Length", "5"), ("X-Note", "a\r\nInjected: 1")] {
        let dir = TempDir::with_contract("fixture-header", true);
        let fixture = dir.join("fixtures/003-complete-from-approved.json");
        let text = read(&fixture);
        let mut document = parse_json(&text, "the fixture");
        document["request"]["headers"][header] = value.into();
        write(&fixture, &document.to_string());
        let contract = dir.path().display().to_string();
        let out = cli(&["run", "--contract", &contract]);
        out.assert_code(2);
        assert!(
            out.stderr.contains("003-complete-from-approved.json")
                && out.stderr.contains(&format!("/request/headers/{header}")),
            "{}",
            out.stderr
        );
    }
}

/// A snapshot file that cannot be compared with is the contract's fault, not the target's:
/// exit 2 naming the file, before anything is sent.
#[test]
fn broken_snapshot_files_are_contract_errors() {
    let broken: [(&str, &[u8]); 3] = [
        ("garbage", b"---\nsource: x\n---\n{ not json"),
        ("empty", b""),
        ("not-utf8", b"\xff\xfe\x00"),
    ];
    for (label, bytes) in broken {
        let dir = TempDir::with_contract(label, true);
        let snap = dir.join("snapshots/complete-from-approved.snap");
        if let Err(error) = std::fs::write(&snap, bytes) {
            panic!("cannot write {}: {error}", snap.display());
        }
        let contract = dir.path().display().to_string();
        let out = cli(&["run", "--contract", &contract, "--filter", "complete-from"]);
        out.assert_code(2);
        assert!(
            out.stderr.contains("complete-from-approved.snap"),
            "{label}: {}",
            out.stderr
        );
    }
    let dir = TempDir::with_contract("no-snapshots", true);
    if let Err(error) = std::fs::remove_dir_all(dir.join("snapshots")) {
        panic!("cannot remove snapshots/: {error}");
    }
    let contract = dir.path().display().to_string();
    let out = cli(&["run", "--contract", &contract, "--filter", "complete-from"]);
    out.assert_code(2);
    assert!(out.stderr.contains("snapshots"), "{}", out.stderr);
}

#[test]
fn reports_keep_failing_bodies_up_to_evidence_bytes_with_length_and_digest() {
    let extra = ["--fault", "success_201", "--evidence-bytes", "100"];
    let (out, report) = complete_from_approved_json(&extra, 1);
    let received: Vec<&serde_json::Value> = report["cases"][0]["exchanges"]
        .as_array()
        .map(|exchanges| {
            exchanges
                .iter()
                .map(|e| &e["response"]["received"])
                .collect()
        })
        .unwrap_or_default();
    let cut: Vec<&&serde_json::Value> = received
        .iter()
        .filter(|r| r.get("truncated").is_some())
        .collect();
    assert!(!cut.is_empty(), "no body was cut: {report}");
    for received in cut {
        let body = received["body"].as_str().unwrap_or_default();
        assert!(body.len() <= 100, "{received}");
        assert_eq!(received["truncated"]["kept"], body.len(), "{received}");
        assert!(
            received["truncated"]["length"].as_u64() > Some(100),
            "{received}"
        );
    }
    // The 201 was judged on the whole answer: the check still names it.
    assert!(
        out.stdout.contains("status_code_conformance"),
        "{}",
        out.stdout
    );
    assert_valid_report(&report);
}

/// The JSON report is valid against schemas/report.schema.json.
fn assert_valid_report(report: &serde_json::Value) {
    let schema = parse_json(
        &read(&repo_root().join("schemas/report.schema.json")),
        "schema",
    );
    let validator = match jsonschema::draft202012::new(&schema) {
        Ok(validator) => validator,
        Err(error) => panic!("report schema does not compile: {error}"),
    };
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
