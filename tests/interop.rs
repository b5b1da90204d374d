//! Interoperation with other tools and with other runs: the JSON reports of the shards of a
//! partitioned run merge into the whole run's report (`cmconform merge`).

mod common;

use common::repo_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh, empty directory under cargo's per-target temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("interop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(error) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {error}", dir.display());
    }
    dir
}

/// The binary, in `dir`, with no `CMCONFORM_*` variable and no proxy from the environment.
fn cmconform(dir: &Path, args: &[String]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cmconform"));
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("CMCONFORM_") || name.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(name);
        }
    }
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
    let dir = temp_dir("merge");
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
