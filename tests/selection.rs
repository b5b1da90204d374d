//! Selection, sharding, dry run, configuration and console flags, through the real binary.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Output};

fn cmconform(args: &[&str]) -> Output {
    cmconform_in(args, &common::repo_root(), &[])
}

fn cmconform_in(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cmconform"));
    command.args(args).current_dir(dir).env_remove("CI");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("CMCONFORM_")) {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    match command.output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run cmconform {args:?}: {error}"),
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Case ids of a `list` output (lines that are not comments).
fn listed(output: &Output) -> Vec<String> {
    stdout(output)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cmconform-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        panic!("{}: {error}", dir.display());
    }
    dir
}

#[test]
fn partitions_split_the_suite_without_overlap() {
    let all = listed(&cmconform(&["list", "--generate", "60", "--seed", "3"]));
    assert!(all.len() > 100, "{} cases", all.len());
    let mut union = Vec::new();
    for k in 1..=3 {
        let shard = listed(&cmconform(&[
            "list",
            "--generate",
            "60",
            "--seed",
            "3",
            "--partition",
            &format!("{k}/3"),
        ]));
        assert!(!shard.is_empty(), "shard {k} is empty");
        union.extend(shard);
    }
    let distinct: BTreeSet<&String> = union.iter().collect();
    assert_eq!(distinct.len(), union.len(), "shards overlap");
    assert_eq!(
        distinct,
        all.iter().collect::<BTreeSet<_>>(),
        "the union of the shards is not the suite"
    );
    let bad = cmconform(&["list", "--partition", "4/3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--partition"), "{}", stderr(&bad));
}

#[test]
fn tags_select_and_skip_cases() {
    let auth = listed(&cmconform(&["list", "--tag", "auth"]));
    assert_eq!(auth, vec!["auth-missing-credentials".to_string()]);
    let races = listed(&cmconform(&["list", "--tag", "race"]));
    assert_eq!(races, vec!["race-conflicting-puts".to_string()]);
    let without = listed(&cmconform(&[
        "list",
        "--skip-tag",
        "forbidden",
        "--skip-tag",
        "sequence",
    ]));
    assert!(
        !without
            .iter()
            .any(|id| id.ends_with("-forbidden") || id.starts_with("sequence-")),
        "{without:?}"
    );
    assert!(without.contains(&"documented-example".to_string()));
}

#[test]
fn fail_fast_stops_after_the_first_failure() {
    let output = cmconform(&[
        "run",
        "--fault",
        "wrong_status_code",
        "--fail-fast",
        "--jobs",
        "1",
        "--no-lifecycle",
        "--race-rounds",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("not run: --fail-fast"), "{text}");
    assert!(text.contains("1 failed"), "{text}");
}

#[test]
fn dry_run_prints_curl_commands_and_sends_nothing() {
    // Nothing listens on this port: a run would be unreachable (exit 2); a dry run exits 0.
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(address) => address.port(),
        Err(error) => panic!("{error}"),
    };
    let base = format!("http://127.0.0.1:{port}");
    let output = cmconform(&[
        "run",
        "--dry-run",
        "--base-url",
        &base,
        "--state-url",
        &format!("{base}/states"),
        "-H",
        "Authorization: Bearer TOPSECRET",
        "--filter",
        "documented-example",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("nothing is sent"), "{text}");
    assert!(
        text.contains(&format!(
            "curl -sS -i -X PUT '{base}/certificatemanagement/api/v1.0/requests/{{id}}'"
        )),
        "{text}"
    );
    assert!(
        text.contains("Authorization: Bearer ********") && !text.contains("TOPSECRET"),
        "{text}"
    );
    assert!(text.contains(&format!("POST {base}/states")), "{text}");
}

#[test]
fn configuration_file_environment_and_flags_in_that_order() {
    let dir = temp_dir("config");
    let write = std::fs::write(
        dir.join("cmconform.toml"),
        "filter = [\"documented-example\"]\nno_lifecycle = true\nrace_rounds = 0\n",
    );
    assert!(write.is_ok());
    let from_file = listed(&cmconform_in(&["list"], &dir, &[]));
    assert_eq!(from_file, vec!["documented-example".to_string()]);
    let from_env = listed(&cmconform_in(
        &["list"],
        &dir,
        &[("CMCONFORM_FILTER", "status-null")],
    ));
    assert_eq!(from_env, vec!["status-null".to_string()]);
    let from_flag = listed(&cmconform_in(
        &["list", "--filter", "auth-missing"],
        &dir,
        &[("CMCONFORM_FILTER", "status-null")],
    ));
    assert_eq!(from_flag, vec!["auth-missing-credentials".to_string()]);
    let run = cmconform_in(&["run"], &dir, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("1 passed, 0 failed"),
        "{}",
        stdout(&run)
    );

    let bad = dir.join("bad.toml");
    assert!(std::fs::write(&bad, "base_url = \"http://x\"\nfiltr = \"x\"\n").is_ok());
    let output = cmconform_in(&["run", "--config", &bad.to_string_lossy()], &dir, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown key 'filtr'"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_writes_a_starter_config_that_loads_and_refuses_to_overwrite() {
    let dir = temp_dir("init");
    let dir_arg = dir.to_string_lossy().into_owned();
    assert_eq!(
        cmconform(&["init", "--dir", &dir_arg]).status.code(),
        Some(0)
    );
    let config = std::fs::read_to_string(dir.join("cmconform.toml")).unwrap_or_default();
    assert!(
        config.contains("# base_url = ") && config.contains("# fail_fast = false"),
        "{config}"
    );
    let ids = std::fs::read_to_string(dir.join("cmconform-ids.example.json")).unwrap_or_default();
    assert!(serde_json::from_str::<serde_json::Value>(&ids).is_ok());
    // The starter file is all comments: it loads and changes nothing.
    let listed_there = listed(&cmconform_in(
        &["list", "--filter", "documented"],
        &dir,
        &[],
    ));
    assert_eq!(listed_there, vec!["documented-example".to_string()]);
    let again = cmconform(&["init", "--dir", &dir_arg]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(
        cmconform(&["init", "--dir", &dir_arg, "--force"])
            .status
            .code(),
        Some(0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quiet_verbose_and_plain_output_when_not_a_terminal() {
    let quiet = stdout(&cmconform(&[
        "run",
        "-q",
        "--no-lifecycle",
        "--race-rounds",
        "0",
    ]));
    assert!(
        !quiet.contains("PASS ") && !quiet.contains("warnings (correct"),
        "{quiet}"
    );
    assert!(quiet.trim_end().ends_with("warnings"), "{quiet}");
    let verbose = stdout(&cmconform(&[
        "run",
        "-v",
        "--filter",
        "documented-example",
        "--no-lifecycle",
        "--race-rounds",
        "0",
    ]));
    assert!(
        verbose.contains("> Authorization: Negotiate ********") && verbose.contains("< 200"),
        "{verbose}"
    );
    let plain = stdout(&cmconform(&[
        "run",
        "--filter",
        "status-",
        "--no-lifecycle",
        "--race-rounds",
        "0",
    ]));
    assert!(
        !plain.contains('\u{1b}') && !plain.contains('\r'),
        "escape codes in piped output: {plain:?}"
    );
}

#[test]
fn dry_run_says_how_requests_are_authenticated_without_the_secret() {
    let output = cmconform(&[
        "run",
        "--dry-run",
        "--base-url",
        "https://cm.contoso.com",
        "--auth",
        "bearer",
        "--token",
        "TOKENSECRET",
        "--filter",
        "documented-example",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("# authentication: Authorization: Bearer ******** on every request"),
        "{text}"
    );
    assert!(!text.contains("TOKENSECRET"), "{text}");
}

#[test]
fn outside_a_checkout_the_built_in_contract_runs() {
    let dir = temp_dir("elsewhere");
    let output = cmconform_in(&["run", "--no-lifecycle", "--race-rounds", "0"], &dir, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("41 passed, 0 failed"),
        "{}",
        stdout(&output)
    );
    let update = cmconform_in(&["run", "--update-snapshots"], &dir, &[]);
    assert_eq!(update.status.code(), Some(2));
    assert!(
        stderr(&update).contains("--update-snapshots"),
        "{}",
        stderr(&update)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
