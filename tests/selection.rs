//! Selection, sharding, dry run, configuration and console flags, through the real binary.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

/// Runs the binary in a fresh temporary directory (the built-in contract is the repository's).
fn cmconform(args: &[&str]) -> Output {
    output(common::cmconform(args))
}

/// Runs the binary in `dir` with `env` added.
fn cmconform_in(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut command = common::cmconform(args);
    command.current_dir(dir).envs(env.iter().copied());
    output(command)
}

fn output(mut command: common::Binary) -> Output {
    match command.output() {
        Ok(output) => output,
        Err(error) => panic!("cannot run cmconform {:?}: {error}", command.get_args()),
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

/// A boolean from the environment or the file counts in every usual spelling; anything else
/// exits 2 naming the variable or the key (before: only `true` counted, and
/// `CMCONFORM_DRY_RUN=1` sent real PUTs).
#[test]
fn booleans_from_environment_and_file_accept_every_usual_spelling() {
    let dir = temp_dir("booleans");
    let args = ["run", "--filter", "documented-example"];
    for word in ["1", "yes", "TRUE", "On"] {
        let output = cmconform_in(&args, &dir, &[("CMCONFORM_DRY_RUN", word)]);
        assert_eq!(output.status.code(), Some(0), "{word}: {}", stderr(&output));
        assert!(
            stdout(&output).starts_with("# dry run"),
            "{word}: {}",
            stdout(&output)
        );
    }
    let output = cmconform_in(&args, &dir, &[("CMCONFORM_DRY_RUN", "0")]);
    assert!(stdout(&output).contains("1 passed"), "{}", stdout(&output));
    let output = cmconform_in(&args, &dir, &[("CMCONFORM_FAIL_FAST", "maybe")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("CMCONFORM_FAIL_FAST"),
        "{}",
        stderr(&output)
    );
    for (text, code) in [
        ("dry_run = 1\n", 0),
        ("dry_run = \"off\"\n", 0),
        ("dry_run = 2\n", 2),
    ] {
        assert!(std::fs::write(dir.join("cmconform.toml"), text).is_ok());
        let output = cmconform_in(&args, &dir, &[]);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{text}: {}",
            stderr(&output)
        );
        if code == 2 {
            assert!(stderr(&output).contains("'dry_run'"), "{}", stderr(&output));
        }
    }
    assert!(std::fs::write(dir.join("cmconform.toml"), "dry_run = 1\n").is_ok());
    assert!(stdout(&cmconform_in(&args, &dir, &[])).starts_with("# dry run"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An empty variable is an error, never "unset": an unset CI variable must not turn a run
/// against the target into a passing run against the embedded server.
#[test]
fn empty_values_are_errors() {
    let dir = temp_dir("empty");
    let output = cmconform_in(&["run"], &dir, &[("CMCONFORM_BASE_URL", "")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("CMCONFORM_BASE_URL"),
        "{}",
        stderr(&output)
    );
    assert!(std::fs::write(dir.join("cmconform.toml"), "base_url = \"\"\n").is_ok());
    let output = cmconform_in(&["run"], &dir, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("'base_url'"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// clap's own --help and --version are no settings: CMCONFORM_HELP and CMCONFORM_VERSION are
/// ignored like any variable that names no flag.
#[test]
fn help_and_version_variables_are_no_settings() {
    let dir = temp_dir("help-variable");
    for variable in ["CMCONFORM_HELP", "CMCONFORM_VERSION"] {
        for value in ["1", ""] {
            let output = cmconform_in(&["run", "--dry-run"], &dir, &[(variable, value)]);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{variable}={value:?}: {}",
                stderr(&output)
            );
            assert!(
                stdout(&output).starts_with("# dry run"),
                "{variable}={value:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Values from the file are checked like flags, and the error names the file and the key.
#[test]
fn bad_values_in_the_file_name_the_file_and_the_key() {
    let dir = temp_dir("bad-values");
    for (text, key) in [
        ("timeout = -1\n", "'timeout'"),
        // Coerced to "5" it would be blamed on the URL: it is the wrong type.
        (
            "base_url = 5\n",
            "'base_url': expected a string, got integer",
        ),
        ("user = 5\n", "'user'"),
        ("timeout = [1, 2]\n", "'timeout'"),
        ("[run]\nbogus = 1\n", "'run.bogus'"),
        ("[run]\ntimeout = 1e30\n", "'run.timeout'"),
    ] {
        assert!(std::fs::write(dir.join("cmconform.toml"), text).is_ok());
        let output = cmconform_in(&["run"], &dir, &[]);
        assert_eq!(output.status.code(), Some(2), "{text}");
        let message = stderr(&output);
        assert!(
            message.contains("cmconform.toml") && message.contains(key),
            "{text}: {message}"
        );
        assert!(!message.contains("unexpected argument"), "{message}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One file serves every command: a shared top level, and `[run]`, `[serve]`, `[doctor]`
/// sections that win over it. `doctor` and `serve` read the file and the environment too.
#[test]
fn every_command_reads_the_same_configuration() {
    let dir = temp_dir("sections");
    let text = "base_url = \"http://127.0.0.1:9\"\ntimeout = 2\n\
                [run]\nfilter = [\"documented-example\"]\ndry_run = true\n\
                [serve]\nport = 70000\n\
                [doctor]\ntimeout = 1\n";
    assert!(std::fs::write(dir.join("cmconform.toml"), text).is_ok());
    let run = cmconform_in(&["run"], &dir, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("1 cases against http://127.0.0.1:9"),
        "{}",
        stdout(&run)
    );
    let doctor = cmconform_in(&["doctor"], &dir, &[]);
    assert_eq!(doctor.status.code(), Some(2));
    assert!(
        stdout(&doctor).contains("127.0.0.1:9") && !stderr(&doctor).contains("--base-url"),
        "{}{}",
        stdout(&doctor),
        stderr(&doctor)
    );
    // The [serve] port is read (70000 is refused, naming the key, so nothing listens).
    let serve = cmconform_in(&["serve"], &dir, &[]);
    assert_eq!(serve.status.code(), Some(2));
    assert!(stderr(&serve).contains("serve.port"), "{}", stderr(&serve));
    let serve = cmconform_in(&["serve"], &dir, &[("CMCONFORM_PORT", "x")]);
    assert!(
        stderr(&serve).contains("CMCONFORM_PORT"),
        "{}",
        stderr(&serve)
    );
    let elsewhere = temp_dir("no-config");
    let doctor = cmconform_in(
        &["doctor", "--timeout", "1"],
        &elsewhere,
        &[("CMCONFORM_BASE_URL", "http://127.0.0.1:9")],
    );
    assert!(
        stdout(&doctor).contains("127.0.0.1:9"),
        "{}",
        stdout(&doctor)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&elsewhere);
}
