//! Windows Integrated Authentication against an acceptor this project did not write: pyspnego
//! behind tests/wia/acceptor.py, a keep-alive HTTP/1.1 server with one security context per
//! connection (as IIS keeps them), in front of the reference server. Each offer IIS can make
//! (`Negotiate, NTLM`, `Negotiate`, `NTLM`), IIS's HTML 401 pages, an acceptor that refuses raw
//! NTLMSSP inside Negotiate, and one that closes connections every few requests; wrong
//! credentials named by step; the state endpoint behind the same authentication; a reproduction
//! replayed with curl.
//!
//! The acceptor needs python3 with pyspnego (`.ci/run` installs a pinned version). Like the
//! other external consumers (tests/reports.rs) these tests run when
//! `CMCONFORM_EXTERNAL_CONSUMERS=1`, and then a missing acceptor fails them; otherwise they say
//! they skipped. The tests that need no acceptor always run.

mod common;

use cmconform::server::RunningServer;
use common::TempDir as Scratch;
use common::{Acceptor, args, output_text as text, upstream};
use std::path::Path;
use std::process::{Command, Output};

const USER: &str = "CONTOSO\\svc-cm";
const PASSWORD: &str = "Wia-pw-1!";

/// Whether the acceptor tests run; when they do not, says why.
fn acceptor_available() -> bool {
    let required = std::env::var("CMCONFORM_EXTERNAL_CONSUMERS").as_deref() == Ok("1");
    if !required {
        println!("skipped: set CMCONFORM_EXTERNAL_CONSUMERS=1 (needs python3 with pyspnego)");
        return false;
    }
    let probe = Command::new("python3")
        .args(["-c", "import spnego"])
        .output();
    match probe {
        Ok(output) if output.status.success() => true,
        Ok(output) => panic!(
            "pyspnego is required with CMCONFORM_EXTERNAL_CONSUMERS=1: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!("python3 is required with CMCONFORM_EXTERNAL_CONSUMERS=1: {error}"),
    }
}

/// The pyspnego acceptor with the NTLM user of these tests.
fn start_acceptor(scratch: &Scratch, upstream: &RunningServer, flags: &[&str]) -> Acceptor {
    let users = scratch.write("users", &format!("CONTOSO:svc-cm:{PASSWORD}\n"));
    let env = [(
        "NTLM_USER_FILE".to_string(),
        users.to_string_lossy().into_owned(),
    )];
    Acceptor::start("python3", scratch, upstream, flags, &env)
}

/// A scratch folder, the reference server and an acceptor in front of it offering Negotiate and
/// NTLM; `None` when the acceptor tests do not run (said by [`acceptor_available`]).
async fn negotiate_or_ntlm() -> Option<(Scratch, RunningServer, Acceptor)> {
    if !acceptor_available() {
        return None;
    }
    let scratch = Scratch::new("cmconform-wia");
    let backend = upstream().await;
    let acceptor = start_acceptor(&scratch, &backend, &["--offer", "Negotiate,NTLM"]);
    Some((scratch, backend, acceptor))
}

/// Runs the binary to completion in `cwd`, isolated by `common::cmconform`.
async fn cmconform(args: Vec<String>, cwd: &Path) -> Output {
    common::run_binary(args, cwd, Vec::new()).await
}

/// `COMMAND --base-url URL --auth ntlm --user USER --password PASSWORD`, then `extra`.
fn ntlm(command: &str, base_url: &str, user: &str, password: &str, extra: &[&str]) -> Vec<String> {
    let mut list = args(&[command, "--base-url", base_url, "--auth", "ntlm"]);
    list.extend(args(&["--user", user, "--password", password]));
    list.extend(args(extra));
    list
}

/// A full `run` through the acceptor with NTLM credentials.
fn full_run(
    acceptor: &Acceptor,
    upstream: &RunningServer,
    user: &str,
    extra: &[&str],
) -> Vec<String> {
    let mut list = ntlm("run", &acceptor.url(), user, PASSWORD, extra);
    list.extend(args(&["--state-url", &upstream.state_url()]));
    list
}

/// Every offer variant passes a full run, handshakes never split across connections (the
/// acceptor refused no AUTHENTICATE message), and a refused raw NTLMSSP probe happens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_runs_pass_against_every_offer() {
    if !acceptor_available() {
        return;
    }
    let scratch = Scratch::new("cmconform-wia");
    let backend = upstream().await;
    let variants: [(&[&str], &[&str]); 8] = [
        (&["--offer", "Negotiate,NTLM"], &[]),
        (&["--offer", "Negotiate,NTLM"], &["--jobs", "1"]),
        (&["--offer", "Negotiate"], &[]),
        (&["--offer", "NTLM"], &[]),
        (&["--offer", "Negotiate,NTLM", "--html"], &[]),
        (&["--offer", "Negotiate", "--strict-spnego"], &[]),
        (
            &["--offer", "Negotiate", "--strict-spnego"],
            &["--jobs", "1"],
        ),
        (
            &["--offer", "Negotiate,NTLM", "--html", "--close-after", "5"],
            &[],
        ),
    ];
    for (flags, jobs) in variants {
        let acceptor = start_acceptor(&scratch, &backend, flags);
        let output = cmconform(full_run(&acceptor, &backend, USER, jobs), scratch.path()).await;
        let variant = format!("{flags:?} {jobs:?}");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{variant}: {}",
            text(&output)
        );
        let handshakes = acceptor.count(" negotiate ");
        assert!(
            handshakes > 0,
            "{variant}: no handshake reached the acceptor"
        );
        assert_eq!(
            acceptor.count(" authenticated "),
            handshakes,
            "{variant}: every handshake completes on its connection"
        );
        let refused = acceptor.lines(" refused ");
        let expected: &[&str] = if flags.contains(&"--strict-spnego") {
            &["refused raw NTLMSSP inside Negotiate"]
        } else {
            &[]
        };
        assert_eq!(refused.len(), expected.len(), "{variant}: {refused:?}");
        for (line, want) in refused.iter().zip(expected) {
            assert!(line.ends_with(want), "{variant}: {line}");
        }
    }
    backend.shutdown().await;
}

/// A server that closes a reused, authenticated connection instead of answering a GET (as
/// one closing idle connections does when a request arrives just then): the GET goes once more
/// on a new connection, authenticated afresh, and the run passes. PUTs are never resent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_dropped_on_a_reused_connection_goes_again() {
    if !acceptor_available() {
        return;
    }
    let scratch = Scratch::new("cmconform-wia-drop");
    let backend = upstream().await;
    let acceptor = start_acceptor(
        &scratch,
        &backend,
        &["--offer", "Negotiate,NTLM", "--drop-get-every", "3"],
    );
    let output = cmconform(full_run(&acceptor, &backend, USER, &[]), scratch.path()).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let dropped = acceptor.count(" dropped GET ");
    assert!(dropped > 0, "the acceptor dropped no GET");
    let handshakes = acceptor.count(" negotiate ");
    assert_eq!(acceptor.count(" authenticated "), handshakes);
    backend.shutdown().await;
}

/// A wrong password or a wrong domain ends the run before any case with exit 2, naming the
/// step that failed; `doctor` names it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_name_the_failed_step() {
    let Some((scratch, backend, acceptor)) = negotiate_or_ntlm().await else {
        return;
    };
    let wrong_password = {
        let mut list = full_run(&acceptor, &backend, USER, &[]);
        let at = list.iter().position(|a| a == PASSWORD).unwrap_or_default();
        list[at] = "not-the-password".into();
        list
    };
    let wrong_domain = full_run(&acceptor, &backend, "FABRIKAM\\svc-cm", &[]);
    for list in [wrong_password, wrong_domain] {
        let output = cmconform(list.clone(), scratch.path()).await;
        let all = text(&output);
        assert_eq!(output.status.code(), Some(2), "{list:?}: {all}");
        assert!(all.contains("step 'authenticate' failed"), "{all}");
        assert!(
            all.contains("WWW-Authenticate offered: Negotiate | NTLM"),
            "{all}"
        );
        assert!(!all.contains("not-the-password"), "{all}");
    }
    let doctor = ntlm("doctor", &acceptor.url(), USER, "not-the-password", &[]);
    let output = cmconform(doctor, scratch.path()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains("FAIL  authentication") && all.contains("step 'authenticate'"),
        "{all}"
    );
    let offers_basic = start_acceptor(&scratch, &backend, &["--offer", "Basic realm=\"cm\""]);
    let output = cmconform(full_run(&offers_basic, &backend, USER, &[]), scratch.path()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains("step 'scheme offered' failed") && all.contains("Basic realm"),
        "{all}"
    );
    backend.shutdown().await;
}

/// A state endpoint behind the same authentication: refused without credentials (the run
/// says so), served with `--state-auth same`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_endpoint_behind_the_same_authentication() {
    let Some((scratch, backend, acceptor)) = negotiate_or_ntlm().await else {
        return;
    };
    let state_url = format!("{}/_cmconform/states", acceptor.url());
    let run = |extra: &[&str]| {
        let mut list = ntlm("run", &acceptor.url(), USER, PASSWORD, extra);
        list.extend(args(&[
            "--state-url",
            &state_url,
            "--filter",
            "complete-from-approved",
        ]));
        list.extend(args(&["--no-lifecycle", "--race-rounds", "0"]));
        list
    };
    let output = cmconform(run(&[]), scratch.path()).await;
    assert!(text(&output).contains("answered 401"), "{}", text(&output));
    assert_ne!(output.status.code(), Some(0));
    let output = cmconform(run(&["--state-auth", "same"]), scratch.path()).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("1 passed"), "{}", text(&output));
    backend.shutdown().await;
}

/// The dry run's reproduction of a credentialed PUT, with the password filled in, replays with
/// curl's own NTLM against the acceptor and reaches the API (its 404 for an unknown id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reproduction_replays_with_curl() {
    if !acceptor_available() {
        return;
    }
    let features = Command::new("curl").arg("-V").output();
    let Ok(features) = features else {
        println!("skipped: curl is not installed");
        return;
    };
    if !String::from_utf8_lossy(&features.stdout).contains("NTLM") {
        println!("skipped: this curl has no NTLM support");
        return;
    }
    let scratch = Scratch::new("cmconform-wia");
    let backend = upstream().await;
    let acceptor = start_acceptor(&scratch, &backend, &["--offer", "Negotiate,NTLM", "--html"]);
    let mut list = full_run(&acceptor, &backend, USER, &["--dry-run"]);
    list.extend(args(&["--filter", "id-unknown-guid"]));
    let output = cmconform(list, scratch.path()).await;
    let line = common::put_reproduction(&String::from_utf8_lossy(&output.stdout));
    assert!(
        line.contains("--ntlm -u 'CONTOSO\\svc-cm:********'"),
        "{line}"
    );
    assert!(!line.contains("Authorization"), "no dead token: {line}");
    let (last_status, answer) = common::replay(&line.replace("********", PASSWORD), &[]);
    assert!(last_status.contains(" 404"), "{last_status}: {answer}");
    assert_eq!(
        acceptor.count(" authenticated "),
        1,
        "curl's handshake was accepted"
    );
    backend.shutdown().await;
}

/// NTLM pins each handshake to one direct connection: a proxy is refused up front (exit 2),
/// before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntlm_through_a_proxy_is_refused() {
    let scratch = Scratch::new("cmconform-wia");
    let proxy = ["--proxy", "http://127.0.0.1:9"];
    let list = ntlm("run", "http://127.0.0.1:9", USER, PASSWORD, &proxy);
    let output = cmconform(list, scratch.path()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains("--proxy") && all.contains("not supported"),
        "{all}"
    );
}

/// The dry run names NTLM replays with curl's own flags and masks the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_curl_ntlm_not_tokens() {
    let scratch = Scratch::new("cmconform-wia");
    let list = args(&[
        "run",
        "--base-url",
        "https://cm.contoso.com",
        "--auth",
        "ntlm",
        "--user",
        "svc-cm",
        "--domain",
        "CONTOSO",
        "--password",
        PASSWORD,
        "--dry-run",
        "--filter",
        "complete-from-approved",
        "--state-url",
        "https://cm.contoso.com/states",
        "--state-auth",
        "same",
        "--state-header",
        "X-Api-Key: state-secret-1",
    ]);
    let output = cmconform(list, scratch.path()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(
        all.contains("curl -sS -i --ntlm -u 'CONTOSO\\svc-cm:********' -X PUT"),
        "{all}"
    );
    assert!(all.contains("with the run's authentication"), "{all}");
    assert!(
        !all.contains(PASSWORD) && !all.contains("state-secret-1"),
        "{all}"
    );
}
