//! `cmconform run` against the independent servers of `tests/independent/cm_server.py`, written
//! from CONTRACT.md alone (issue 9): every faithful dialect passes, under the documented profile
//! with or without generated inputs; every broken rule fails the run. Each of the ten false
//! failures of issue 9 that shows end to end has a named test here; the check-level ones are
//! unit tests of their checks (`src/checks/`).
//!
//! The server needs only python3's standard library; without python3 these tests say so and
//! pass vacuously rather than fail a machine that cannot run them.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `cm_server.py`; dropping it closes its stdin (it exits) and reaps it.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    common::repo_root().join("tests/independent/cm_server.py")
}

fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Starts the server in `dialect`, with `fault` when given; `None` without python3.
fn start(dialect: &str, fault: Option<&str>) -> Option<Server> {
    if !python_available() {
        eprintln!("python3 is not available: skipping the independent-server test");
        return None;
    }
    let mut command = Command::new("python3");
    command.arg(script()).args(["--dialect", dialect]);
    if let Some(fault) = fault {
        command.args(["--fault", fault]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", script().display()));
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|port| port.parse().ok());
    let mut server = Server { child, port: 0 };
    match port {
        Some(port) => server.port = port,
        None => panic!("{dialect}: the server printed {line:?} instead of PORT n"),
    }
    Some(server)
}

/// Runs `cmconform run` against the server with `extra` flags; the exit code and the output.
fn run(server: &Server, extra: &[&str]) -> (i32, String) {
    let base = format!("http://127.0.0.1:{}", server.port);
    let contract = common::repo_root().display().to_string();
    let mut command = common::cmconform(["run", "--contract", &contract, "--base-url", &base]);
    command
        .args(["--state-url", &format!("{base}/_state")])
        .args([
            "-H",
            "Authorization: Negotiate independent",
            "--jobs",
            "4",
            "-q",
        ])
        .args(["--race-rounds", "2"])
        .args(extra);
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run cmconform: {error}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn expect_exit(dialect: &str, fault: Option<&str>, extra: &[&str], code: i32) {
    let Some(server) = start(dialect, fault) else {
        return;
    };
    let (actual, output) = run(&server, extra);
    assert_eq!(actual, code, "{dialect} {fault:?} {extra:?}:\n{output}");
}

#[test]
fn every_faithful_dialect_passes_the_suite() {
    for dialect in ["plain", "aspnet", "nocontent"] {
        expect_exit(dialect, None, &[], 0);
    }
}

#[test]
fn every_faithful_dialect_passes_generated_inputs() {
    // Seeds 1, 2, 3, 7 and 99 (issue 9), spread over the dialects to keep the suite short;
    // `generated_inputs_matrix` below runs all of them on every dialect.
    // body-huge is left out: cm_server.py closes the connection after its 413 without saying
    // `Connection: close`, and the GET after it then meets the closed keep-alive connection
    // (the same transport finding as its `close_after_response` fault, not an open-input one).
    let only_generated = [
        "--generate",
        "200",
        "--tag",
        "generated",
        "--skip-tag",
        "body-huge",
    ];
    for (dialect, seed) in [
        ("plain", "1"),
        ("aspnet", "2"),
        ("nocontent", "3"),
        ("aspnet", "7"),
        ("plain", "99"),
    ] {
        let mut flags = only_generated.to_vec();
        flags.extend(["--seed", seed]);
        expect_exit(dialect, None, &flags, 0);
    }
}

/// The whole matrix of issue 9's definition of done (slow: run with `--ignored`).
#[test]
#[ignore]
fn generated_inputs_matrix() {
    for dialect in ["plain", "aspnet", "nocontent"] {
        for seed in ["1", "2", "3", "7", "99"] {
            let flags = [
                "--generate",
                "200",
                "--seed",
                seed,
                "--skip-tag",
                "body-huge",
            ];
            expect_exit(dialect, None, &flags, 0);
        }
    }
}

#[test]
fn every_broken_rule_fails_the_run() {
    let faults = [
        ("plain", "refusal_deletes"),
        ("plain", "race_no_lock"),
        ("plain", "put_ok_state_unchanged"),
        ("plain", "stack_trace_html"),
        ("aspnet", "open_input_different_effect"),
        ("aspnet", "repeat_changes"),
        ("aspnet", "stack_trace_html"),
    ];
    for (dialect, fault) in faults {
        expect_exit(dialect, Some(fault), &[], 1);
    }
}

/// Issue 9, false failures 1, 2, 3 and 10: the ASP.NET dialect accepts other spellings of the
/// canonical request as the canonical request, and answers a repeated completion idempotently.
#[test]
fn aspnet_open_inputs_are_equivalent() {
    let Some(server) = start("aspnet", None) else {
        return;
    };
    let cases = [
        "body-extra-field",
        "status-wrong-case",
        "content-type-form-urlencoded",
        "status-number",
        "complete-from-completed-repeat",
        "sequence-approved-complete-then-complete",
    ];
    let mut flags = vec!["--format", "human"];
    for case in cases {
        flags.extend(["--filter", case]);
    }
    let (code, output) = run(&server, &flags);
    assert_eq!(code, 0, "{output}");
    let (code, output) = run(
        &server,
        &["--generate", "64", "--seed", "5", "--tag", "generated"],
    );
    assert_eq!(code, 0, "{output}");
}

/// Issue 9, false failure 4: IIS's HTML 401 page with Negotiate and NTLM challenges.
#[test]
fn an_iis_401_page_is_no_failure() {
    expect_exit("aspnet", None, &["--filter", "auth-missing-credentials"], 0);
}

/// Issue 9, false failure 5: a server that refuses other GUID forms and changes nothing.
#[test]
fn refusing_other_guid_forms_passes() {
    let flags = ["--generate", "96", "--seed", "11", "--filter", "gen-*-id-*"];
    expect_exit("plain", None, &flags, 0);
}

/// Issue 9, false failure 9: chunked answers (a proxy re-framing) pass with a warning, and
/// fail under the strict profile.
#[test]
fn chunked_answers_warn_unless_strict() {
    let Some(server) = start("plain", Some("chunked")) else {
        return;
    };
    let flags = ["--filter", "complete-from-approved"];
    let (code, output) = run(&server, &flags);
    assert_eq!(code, 0, "{output}");
    let (code, output) = run(&server, &[flags[0], flags[1], "--profile", "strict"]);
    assert_eq!(code, 1, "{output}");
}

/// Under the strict profile the ASP.NET dialect fails on the open inputs it accepts, and the
/// canonical-only dialect passes.
#[test]
fn strict_fails_exactly_the_accepted_open_inputs() {
    let Some(server) = start("aspnet", None) else {
        return;
    };
    let (code, output) = run(
        &server,
        &["--profile", "strict", "--filter", "body-extra-field"],
    );
    assert_eq!(code, 1, "{output}");
    let (code, output) = run(
        &server,
        &["--profile", "strict", "--filter", "status-unknown-value"],
    );
    assert_eq!(code, 0, "{output}");
    expect_exit("plain", None, &["--profile", "strict", "--no-lifecycle"], 0);
}
