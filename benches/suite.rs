//! `cargo bench --bench suite`: speed and memory of a full `cmconform run`, as ratios against a
//! peer doing the same wire work on the same machine in the same run.
//!
//! The peer is curl, replaying in one process (one connection pool, `--next` between requests)
//! exactly the requests the harness sent, read back from the harness's own JSON report. The
//! ratio is what planning, staging, checks and reporting cost on top of bare HTTP. Both are
//! timed wall-clock and measured for peak RSS by `/usr/bin/time`; medians of several rounds.

mod common;

use cmconform::server::{Credentials, ServerConfig, spawn};
use common::{Sample, measure, median};
use std::path::{Path, PathBuf};
use std::process::Command;

const ROUNDS: usize = 5;

fn main() {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return eprintln!("bench: cannot start a runtime: {error}"),
    };
    let server = match runtime.block_on(spawn(
        ServerConfig {
            credentials: Credentials::AnyNonEmpty,
            ..ServerConfig::default()
        },
        0,
    )) {
        Ok(server) => server,
        Err(error) => return eprintln!("bench: cannot start the reference server: {error}"),
    };
    let work = std::env::temp_dir().join(format!("cmconform-bench-{}", std::process::id()));
    if let Err(error) = std::fs::create_dir_all(&work) {
        return eprintln!("bench: {}: {error}", work.display());
    }
    let (mut harness, mut peer) = (Vec::new(), Vec::new());
    let mut exchanges = 0;
    for round in 0..ROUNDS {
        let report = work.join(format!("report-{round}.json"));
        let Some(sample) = measure(harness_command(
            &server.base_url(),
            &server.state_url(),
            &report,
        )) else {
            return;
        };
        harness.push(sample);
        let requests = match replay_config(&report, &work.join(format!("curl-{round}.cfg"))) {
            Ok(count) => count,
            Err(error) => return eprintln!("bench: {error}"),
        };
        exchanges = requests;
        let Some(sample) = measure(curl_command(&work.join(format!("curl-{round}.cfg")))) else {
            return;
        };
        peer.push(sample);
    }
    print_table(exchanges, &harness, &peer);
    let _ = std::fs::remove_dir_all(&work);
    runtime.block_on(server.shutdown());
}

fn harness_command(base_url: &str, state_url: &str, report: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cmconform"));
    command
        .args([
            "run",
            "--base-url",
            base_url,
            "--state-url",
            state_url,
            "-H",
            "Authorization: Negotiate bench",
        ])
        .args(["--format", "json", "--output"])
        .arg(report)
        .arg("--quiet")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

fn curl_command(config: &Path) -> Command {
    let mut command = Command::new("curl");
    command.args(["-sS", "-K"]).arg(config);
    command
}

/// Writes a curl config replaying every request of the report; returns how many.
fn replay_config(report: &Path, config: &PathBuf) -> Result<usize, String> {
    let text = std::fs::read_to_string(report)
        .map_err(|error| format!("{}: {error}", report.display()))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("report: {error}"))?;
    let requests: Vec<&serde_json::Value> = report["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|case| case["exchanges"].as_array().into_iter().flatten())
        .map(|exchange| &exchange["request"])
        .collect();
    let mut lines = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        if index > 0 {
            lines.push("next".to_string());
        }
        lines.push(format!(
            "url = {}",
            quote(request["url"].as_str().unwrap_or_default())
        ));
        lines.push(format!(
            "request = {}",
            quote(request["method"].as_str().unwrap_or("GET"))
        ));
        lines.push("output = \"/dev/null\"".into());
        lines.push(format!(
            "header = {}",
            quote("Authorization: Negotiate bench")
        ));
        for header in request["headers"].as_array().into_iter().flatten() {
            let (Some(name), Some(value)) = (header[0].as_str(), header[1].as_str()) else {
                continue;
            };
            if !name.eq_ignore_ascii_case("authorization") {
                lines.push(format!("header = {}", quote(&format!("{name}: {value}"))));
            }
        }
        if let Some(body) = request["body"].as_str().filter(|body| !body.is_empty()) {
            lines.push(format!("data-binary = {}", quote(body)));
        }
    }
    std::fs::write(config, lines.join("\n"))
        .map_err(|error| format!("{}: {error}", config.display()))?;
    Ok(requests.len())
}

/// A curl config string: double quotes with backslash escapes.
fn quote(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    format!("\"{escaped}\"")
}

fn print_table(exchanges: usize, harness: &[Sample], peer: &[Sample]) {
    let wall = |samples: &[Sample]| median(samples.iter().map(|s| s.wall_ms).collect());
    let rss = |samples: &[Sample]| median(samples.iter().map(|s| s.max_rss_kib as f64).collect());
    println!(
        "cmconform bench: full default suite, {exchanges} HTTP exchanges, median of {ROUNDS} rounds, same machine"
    );
    println!("| | wall time (ms) | peak RSS (KiB) |");
    println!("|---|---|---|");
    println!(
        "| cmconform run | {:.0} | {:.0} |",
        wall(harness),
        rss(harness)
    );
    println!(
        "| curl replay (peer) | {:.0} | {:.0} |",
        wall(peer),
        rss(peer)
    );
    println!(
        "| ratio | {:.2}x | {:.2}x |",
        wall(harness) / wall(peer).max(1.0),
        rss(harness) / rss(peer).max(1.0)
    );
}
