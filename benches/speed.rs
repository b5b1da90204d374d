//! `cargo bench --bench speed`: issue 13's targets, each measured against a peer or a fixed
//! bound on the same machine in one run, and printed as a table of ratios.
//!
//! - Cold start: a one-case `cmconform run` (process start to exit, started directly rather than
//!   under `/usr/bin/time`, whose own start would be counted for both tools), median of 41 rounds
//!   interleaved with Hurl running the same exchanges (stage, GET, PUT, GET) when `hurl` is on
//!   the `PATH` (`cargo install --locked hurl`; skipped with a message when absent).
//! - Scale: `run --generate N --tag generated` for N = 1000 (and 100,000 with
//!   `CMCONFORM_BENCH_LARGE=1`), writing every report format whose file grows with the run
//!   (JSON, JUnit, HTML, HAR, TAP, Markdown) in the one run: wall time and peak RSS.
//! - Throughput: `cmconform load` saturating the same reference server as wrk (Debian's
//!   package; skipped with a message when absent) at 1 and 16 connections. `load` stages, GETs,
//!   PUTs and GETs again and judges every answer. wrk is measured three ways: sending
//!   staging and PUT pairs, as issue 13 measured it (`benches/lifecycle.lua` with `pairs`);
//!   sending the same exchanges unjudged (`benches/lifecycle.lua`), so the ratio is what the
//!   conformance loop costs over bare HTTP for the same server work; and, for reference,
//!   repeating one cached GET, the cheapest answer the server gives.
//!
//! Never part of `cargo test`: timings are read here, not asserted.

mod common;

use cmconform::server::{Credentials, ServerConfig, spawn};
use common::{measure, median};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

// Enough rounds for a steady median on a shared machine: 15 swung between 1.1x and 1.6x.
const COLD_ROUNDS: usize = 41;
const LOAD_SECONDS: u64 = 5;

struct Target {
    base_url: String,
    state_url: String,
}

fn main() {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return eprintln!("bench: cannot start a runtime: {error}"),
    };
    let config = ServerConfig {
        credentials: Credentials::AnyNonEmpty,
        ..ServerConfig::default()
    };
    let server = match runtime.block_on(spawn(config, 0)) {
        Ok(server) => server,
        Err(error) => return eprintln!("bench: cannot start the reference server: {error}"),
    };
    let target = Target {
        base_url: server.base_url(),
        state_url: server.state_url(),
    };
    let work = std::env::temp_dir().join(format!("cmconform-speed-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&work) {
        return eprintln!("bench: {}: {error}", work.display());
    }
    // `cargo bench --bench speed -- cold` (or `scale`, `throughput`) measures one part only.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    const PARTS: [&str; 3] = ["cold", "scale", "throughput"];
    if let Some(unknown) = only.iter().find(|word| !PARTS.contains(&word.as_str())) {
        return eprintln!("bench: no part '{unknown}'; the parts are {PARTS:?}");
    }
    let wanted = |part: &str| only.is_empty() || only.iter().any(|word| word == part);
    println!("| measure | cmconform | bound or peer | ratio | target |");
    println!("|---|---|---|---|---|");
    if wanted("cold") {
        cold_start(&target, &work);
    }
    let mut sizes = vec![1000];
    if std::env::var_os("CMCONFORM_BENCH_LARGE").is_some() {
        sizes.push(100_000);
    }
    for size in sizes.into_iter().filter(|_| wanted("scale")) {
        scale(&target, size, &work);
    }
    for connections in [1, 16].into_iter().filter(|_| wanted("throughput")) {
        throughput(&runtime, &target, connections, &work);
    }
    let _ = std::fs::remove_dir_all(&work);
    runtime.block_on(server.shutdown());
}

/// `cmconform ARGS` against the target, from the checkout.
fn cmconform(target: &Target, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cmconform"));
    command
        .args(args)
        .args(["--base-url", &target.base_url])
        .args(["--state-url", &target.state_url])
        .args(["-H", "Authorization: Negotiate bench"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// Interleaved rounds of cmconform and (when present) Hurl, so both see the same machine load.
fn cold_start(target: &Target, work: &Path) {
    let hurl = hurl_case(target, work)
        .map_err(|reason| eprintln!("bench: no Hurl ratio: {reason}"))
        .ok();
    let (mut walls, mut peers) = (Vec::new(), Vec::new());
    for _ in 0..COLD_ROUNDS {
        let run = cmconform(
            target,
            &["run", "--filter", "documented-example", "--quiet"],
        );
        let Some(wall) = wall_ms(run) else { return };
        walls.push(wall);
        if let Some(peer) = hurl.as_ref().and_then(|hurl| wall_ms(hurl())) {
            peers.push(peer);
        }
    }
    let wall = median(walls);
    println!(
        "| one-case run, cold start | {wall:.1} ms | 15 ms | {:.2}x | at most 1x |",
        wall / 15.0
    );
    if !peers.is_empty() {
        let peer = median(peers);
        println!(
            "| one-case run, cold start vs Hurl | {wall:.1} ms | Hurl {peer:.1} ms | {:.2}x faster | at least 1.5x |",
            peer / wall.max(0.001)
        );
    }
}

/// The wall time of one run of `command` that succeeds, started directly. Short runs are timed
/// this way: under `/usr/bin/time` (as [`measure`] runs them, for their peak RSS) each would also
/// carry the wrapper's own start, a fixed millisecond or so that pulls every ratio between two
/// short commands towards 1.
fn wall_ms(mut command: Command) -> Option<f64> {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let status = command.status();
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    match status {
        Ok(status) if status.success() => Some(wall_ms),
        Ok(status) => {
            eprintln!("bench: {:?} ended with {status}", command.get_program());
            None
        }
        Err(error) => {
            eprintln!("bench: cannot run {:?}: {error}", command.get_program());
            None
        }
    }
}

/// The exchanges of one case, as Hurl runs them: stage an Approved request, GET it, complete it
/// and GET it again, asserting the documented status codes and Status values.
const HURL_CASE: &str = r#"POST {{state_url}}
{"state": "approved"}
HTTP 200
[Captures]
id: jsonpath "$.id"

GET {{base_url}}/CertificateManagement/api/v1.0/requests/{{id}}
Authorization: Negotiate bench
HTTP 200
[Asserts]
jsonpath "$.Status" == 3

PUT {{base_url}}/CertificateManagement/api/v1.0/requests/{{id}}
Authorization: Negotiate bench
{"status": "Completed"}
HTTP 200
[Asserts]
jsonpath "$.Status" == 8

GET {{base_url}}/CertificateManagement/api/v1.0/requests/{{id}}
Authorization: Negotiate bench
HTTP 200
[Asserts]
jsonpath "$.Status" == 8
"#;

/// A maker of Hurl commands for [`HURL_CASE`], after one run that must pass (a failing peer
/// would be fast for the wrong reason).
fn hurl_case(target: &Target, work: &Path) -> Result<impl Fn() -> Command, String> {
    let file = work.join("one-case.hurl");
    std::fs::write(&file, HURL_CASE).map_err(|error| format!("{}: {error}", file.display()))?;
    let (base_url, state_url) = (target.base_url.clone(), target.state_url.clone());
    let hurl = move || {
        let mut command = Command::new("hurl");
        command
            .args(["--variable", &format!("base_url={base_url}")])
            .args(["--variable", &format!("state_url={state_url}")])
            .arg(&file);
        command
    };
    let check = hurl()
        .output()
        .map_err(|error| format!("hurl not run ({error}); `cargo install --locked hurl`"))?;
    if !check.status.success() {
        return Err(format!(
            "the Hurl case failed: {}",
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    Ok(hurl)
}

/// The report formats whose files grow with the run, each written by the one scale run: the
/// peak RSS is the largest any of them needs (they are written one after the other).
const GROWING_FORMATS: [(&str, &str); 5] = [
    ("junit", "xml"),
    ("html", "html"),
    ("har", "har"),
    ("tap", "tap"),
    ("markdown", "md"),
];

fn scale(target: &Target, size: usize, work: &Path) {
    let report = work.join(format!("generated-{size}.json"));
    let report = report.display().to_string();
    let count = size.to_string();
    let files: Vec<String> = GROWING_FORMATS
        .iter()
        .map(|(format, extension)| {
            let file = work.join(format!("generated-{size}.{extension}"));
            format!("{format}={}", file.display())
        })
        .collect();
    let mut args = vec![
        "run",
        "--generate",
        &count,
        "--tag",
        "generated",
        "--quiet",
        "--format",
        "json",
        "--output",
        &report,
    ];
    for file in &files {
        args.extend(["--report", file.as_str()]);
    }
    let run = cmconform(target, &args);
    let sample = measure(run);
    // The HTML page of 100,000 cases is over a gigabyte: not kept past its measure.
    let _ = std::fs::remove_file(&report);
    for file in &files {
        if let Some((_, path)) = file.split_once('=') {
            let _ = std::fs::remove_file(path);
        }
    }
    let Some(sample) = sample else { return };
    let bound_kib: f64 = if size <= 1000 { 30.0 } else { 100.0 } * 1024.0;
    let formats: Vec<&str> = GROWING_FORMATS.iter().map(|(format, _)| *format).collect();
    println!(
        "| --generate {size}: peak RSS writing json, {} ({:.1} s) | {:.1} MiB | {:.0} MiB | {:.2}x | at most 1x |",
        formats.join(", "),
        sample.wall_ms / 1000.0,
        sample.max_rss_kib as f64 / 1024.0,
        bound_kib / 1024.0,
        sample.max_rss_kib as f64 / bound_kib
    );
}

fn throughput(runtime: &tokio::runtime::Runtime, target: &Target, connections: u16, work: &Path) {
    let peers: Vec<(Peer, Option<f64>)> = Peer::ALL
        .into_iter()
        .map(|peer| (peer, wrk_rate(runtime, target, connections, peer)))
        .collect();
    if peers.iter().all(|(_, rate)| rate.is_none()) {
        return;
    }
    let report = work.join(format!("load-{connections}.json"));
    let duration = format!("{LOAD_SECONDS}s");
    let connections_text = connections.to_string();
    let report_text = report.display().to_string();
    let load = cmconform(
        target,
        &[
            "load",
            "--rate",
            "1000000/s",
            "--duration",
            &duration,
            "--connections",
            &connections_text,
            "--format",
            "json",
            "--output",
            &report_text,
        ],
    );
    if measure(load).is_none() {
        return;
    }
    let Some(rate) = load_rate(&report) else {
        return eprintln!("bench: no load report at {report_text}");
    };
    for (peer, wrk) in peers {
        if let Some(wrk) = wrk {
            println!(
                "| exchanges/s, {connections} connection(s), wrk {} | {rate:.0} | wrk {wrk:.0} | {:.2} | {} |",
                peer.describe(),
                rate / wrk.max(1.0),
                peer.target()
            );
        }
    }
}

/// What wrk sends for the throughput ratio.
#[derive(Clone, Copy)]
enum Peer {
    /// `benches/lifecycle.lua pairs`: stage, PUT, as issue 13 measured wrk.
    StagePutPairs,
    /// `benches/lifecycle.lua`: stage, GET, PUT, GET, as `load` does, unjudged: the server
    /// does the same work for both tools.
    SameExchanges,
    /// One staged request's GET over and over: the cheapest answer the server gives, so the
    /// ratio also counts the server's own work on staging and PUTs. For reference.
    CachedGet,
}

impl Peer {
    const ALL: [Peer; 3] = [Peer::StagePutPairs, Peer::SameExchanges, Peer::CachedGet];

    fn describe(self) -> &'static str {
        match self {
            Peer::StagePutPairs => "sending stage+PUT pairs (the issue's measure)",
            Peer::SameExchanges => "sending the same exchanges",
            Peer::CachedGet => "repeating one cached GET",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Peer::StagePutPairs | Peer::SameExchanges => "at least 0.60",
            Peer::CachedGet => "none: reference (see README)",
        }
    }
}

/// Requests per second of `cmconform load`, from its JSON report.
fn load_rate(report: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(report).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json["requests"].as_f64()? / json["duration_s"].as_f64()?.max(0.001))
}

/// wrk's requests per second against the target, sending what `peer` names.
fn wrk_rate(
    runtime: &tokio::runtime::Runtime,
    target: &Target,
    connections: u16,
    peer: Peer,
) -> Option<f64> {
    let prefix = "/CertificateManagement/api/v1.0/requests/";
    let mut command = Command::new("wrk");
    command
        .args(["-t1", "-c", &connections.to_string()])
        .args(["-d", &format!("{LOAD_SECONDS}s")]);
    match peer {
        Peer::CachedGet => {
            let id = runtime.block_on(stage(&target.state_url))?;
            command
                .args(["-H", "Authorization: Negotiate bench"])
                .arg(format!("{}{prefix}{id}", target.base_url));
        }
        Peer::SameExchanges | Peer::StagePutPairs => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/lifecycle.lua");
            let state_path = target.state_url.strip_prefix(&target.base_url)?;
            let mode = match peer {
                Peer::StagePutPairs => "pairs",
                _ => "lifecycle",
            };
            command
                .arg("-s")
                .arg(script)
                .arg(format!("{}/", target.base_url))
                .args(["--", state_path, prefix, "Negotiate bench", mode]);
        }
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => {
            eprintln!("bench: wrk not run ({error}); install Debian's wrk for the ratio");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        eprintln!(
            "bench: wrk ({}) met answers other than 2xx:\n{text}",
            peer.describe()
        );
        return None;
    }
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|rate| rate.trim().parse().ok())
}

async fn stage(state_url: &str) -> Option<String> {
    let body = serde_json::json!({"state": "approved", "action": "setup"});
    let answer: serde_json::Value = reqwest::Client::new()
        .post(state_url)
        .json(&body)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    answer["id"].as_str().map(str::to_string)
}
