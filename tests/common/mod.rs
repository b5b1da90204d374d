//! Helpers shared by the integration tests: the repository's contract, runs against the
//! embedded server, the isolated binary, scratch directories, and text normalization for
//! snapshots of reports.

#![allow(dead_code)]

use cmconform::report::RunReport;
use cmconform::run::{RunOptions, run};
use regex::Regex;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn options() -> RunOptions {
    RunOptions::new(repo_root())
}

pub async fn run_report(options: &RunOptions) -> RunReport {
    match run(options, |_| {}).await {
        Ok(report) => report,
        Err(error) => panic!("the run could not be carried out: {error}"),
    }
}

/// Names of the checks that failed anywhere in the report.
pub fn failed_checks(report: &RunReport) -> Vec<&'static str> {
    // Failed cases are always kept in memory.
    let mut names: Vec<&'static str> = report
        .cases
        .kept()
        .flat_map(|case| case.failures().map(|result| result.check))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Replaces what changes from run to run (ports, GUIDs, timestamps, durations, credentials, the
/// checkout's path) so that report snapshots are stable.
pub fn stabilize(text: &str) -> String {
    let rules = [
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (
            r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[guid]",
        ),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
            "[timestamp]",
        ),
        (r"\(\d+ ms\)", "([n] ms)"),
        (r#""(duration_ms|elapsed_ms)": [0-9.e-]+"#, r#""$1": 0"#),
        (r#"time="[0-9.]+""#, r#"time="0""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#),
        (r"cmconform \d+\.\d+\.\d+", "cmconform [version]"),
        (r"sha256:[0-9a-f]{12,64}", "sha256:[digest]"),
        (
            r#"name="cmconform_version" value="[^"]+""#,
            r#"name="cmconform_version" value="[version]""#,
        ),
        (
            r#""tool_version": "[^"]+""#,
            r#""tool_version": "[version]""#,
        ),
        (r#"\\"date\\", \\"[^"\\]+\\""#, r#"\"date\", \"[date]\""#),
        (r#""date",\s*"[^"]+""#, r#""date", "[date]""#),
    ];
    rules
        .iter()
        .fold(text.to_string(), |text, (pattern, replacement)| {
            Regex::new(pattern)
                .map(|re| re.replace_all(&text, *replacement).into_owned())
                .unwrap_or(text)
        })
        // The checkout's path (the contract source of these runs) differs between machines.
        .replace(&repo_root().display().to_string(), "[repo]")
}

/// The JSON report with what the reference server varies per request (field values, hence
/// lengths) reduced to the normalized Request shape, then `stabilize`d.
pub fn stabilize_json_report(text: &str) -> String {
    let Ok(mut report) = serde_json::from_str::<serde_json::Value>(text) else {
        return stabilize(text);
    };
    let exchanges = report["cases"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|case| case["exchanges"].as_array_mut())
        .flatten();
    for exchange in exchanges {
        let received = &mut exchange["response"]["received"];
        if let Some(body) = received["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
        {
            received["body"] = cmconform::snapshot::render(&body).into();
        }
        for header in received["headers"].as_array_mut().into_iter().flatten() {
            if header[0] == "content-length" {
                header[1] = "[n]".into();
            }
        }
    }
    stabilize(&serde_json::to_string_pretty(&report).unwrap_or_default())
}

/// The documented example response (CONTRACT.md section 4), verbatim from the seed page.
pub fn documented_answer() -> serde_json::Value {
    serde_json::json!({
        "Uuid": "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099", "RequestType": 1, "Status": 8, "Flags": 2, "DataCollection": [],
        "DataCollectionFlags": 32,
        "OriginatorUserUuid": "8f1590dc-d932-4b66-8e68-2e91c5880780",
        "TargetUserUuid": "8f1590dc-d932-4b66-8e68-2e91c5880780",
        "Submitted": "2015-07-07T23:36:21.93Z", "Completed": "2015-07-07T23:37:37.767Z",
        "NewProfileUuid": "b99ff38c-6653-471f-ae3c-325bb351a6bc",
        "OldProfileUuid": "00000000-0000-0000-0000-000000000000",
        "NewSmartcardUuid": "17cf063d-e337-4aa9-a822-346554ddd3c9",
        "OldSmartcardUuid": "00000000-0000-0000-0000-000000000000",
        "Priority": 0, "Comment": "",
        "ProfileTemplateUuid": "a039b4d0-5ce8-4eff-8651-181c6576fda3",
        "SecurityDescriptor": "O:S-1-5-21-2127521184-1604012920-1887927527-14134865D:(D;;LC;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5094533)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5094534)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5219125)(A;;SWRC;;;S-1-5-21-2127521184-1604012920-1887927527-5094533)(A;;RC;;;WD)(A;;CCDCLCSWSDRC;;;S-1-5-21-2127521184-1604012920-1887927527-14134865)(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)(A;;CCDCSW;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
        "IsSmartcard": true, "IsEnrollmentAgent": false, "IsDataCollectionComplete": false
    })
}

/// A scratch directory under Cargo's target tmpdir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{label}-{}", uuid::Uuid::new_v4().simple()));
        if let Err(error) = std::fs::create_dir_all(&path) {
            panic!("cannot create {}: {error}", path.display());
        }
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn arg(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }

    /// Writes `name` in the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        if let Err(error) = std::fs::write(&path, text) {
            panic!("cannot write {}: {error}", path.display());
        }
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether a variable of the test process must not reach the binary: the harness's own
/// configuration (a developer's exported `CMCONFORM_BASE_URL` would aim test PUTs at a real
/// deployment), proxies (every test server is on loopback) and Kerberos's (a developer's ticket
/// cache or krb5.conf; tests/kerberos.rs sets its own).
fn leaks_into_tests(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("CMCONFORM_")
        || upper.ends_with("_PROXY")
        || upper == "CI"
        || upper.starts_with("KRB5")
}

/// The `cmconform` binary as every test runs it: no `CMCONFORM_*`, proxy or `CI` variable from
/// the developer's environment, no standard input, and a fresh temporary working directory (so
/// no `cmconform.toml` or `fixtures/` of the checkout is picked up), removed on drop.
/// Derefs to the [`Command`], so a test adds arguments, variables or another directory.
pub struct Binary {
    command: Command,
    _dir: TempDir,
}

pub fn cmconform<I, S>(args: I) -> Binary
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let dir = TempDir::new("cmconform-run");
    let mut command = Command::new(env!("CARGO_BIN_EXE_cmconform"));
    command
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_none_or(leaks_into_tests) {
            command.env_remove(&name);
        }
    }
    command.env("NO_PROXY", "127.0.0.1,localhost");
    command.env("no_proxy", "127.0.0.1,localhost");
    Binary { command, _dir: dir }
}

impl std::ops::Deref for Binary {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.command
    }
}

impl std::ops::DerefMut for Binary {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.command
    }
}

/// Stages a request in `state` through a provider-state endpoint and returns its id.
pub async fn stage(client: &reqwest::Client, state_url: &str, state: &str) -> String {
    let body = serde_json::json!({ "state": state, "action": "setup" });
    let response = match client.post(state_url).json(&body).send().await {
        Ok(response) => response,
        Err(error) => panic!("POST {state_url} ({state}) failed: {error}"),
    };
    assert_eq!(response.status(), 200, "POST {state_url} ({state})");
    let answer: serde_json::Value = match response.json().await {
        Ok(answer) => answer,
        Err(error) => panic!("POST {state_url} ({state}) answered no JSON: {error}"),
    };
    match answer["id"].as_str() {
        Some(id) => id.to_string(),
        None => panic!("POST {state_url} ({state}) answered no id: {answer}"),
    }
}

/// Runs the binary to completion in `cwd`, isolated by [`cmconform`], with `env` added.
pub async fn run_binary(args: Vec<String>, cwd: &Path, env: Vec<(String, String)>) -> Output {
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut command = cmconform(&args);
        command.current_dir(&cwd).envs(env);
        command.output().expect("the cmconform binary runs")
    })
    .await
    .expect("the child process finished")
}

/// Stdout and stderr of a finished process, for assertions and their messages.
pub fn output_text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// The credential tests/wia/acceptor.py forwards to its upstream, the reference server.
pub const UPSTREAM_CREDENTIAL: &str = "Negotiate upstream-credential-of-the-acceptor";

/// The reference server behind an acceptor.
pub async fn upstream() -> cmconform::server::RunningServer {
    cmconform::server::spawn(
        cmconform::server::ServerConfig {
            credentials: cmconform::server::Credentials::Exact(UPSTREAM_CREDENTIAL.into()),
            ..cmconform::server::ServerConfig::default()
        },
        0,
    )
    .await
    .expect("reference server")
}

/// tests/wia/acceptor.py in front of a reference server (pyspnego for NTLM and SPNEGO, or
/// python-gssapi with `--kerberos`), stopped by its pid on drop.
pub struct Acceptor {
    child: std::process::Child,
    pub port: u16,
    log: PathBuf,
}

impl Acceptor {
    /// Starts the acceptor with `python` in front of `upstream`, with `flags` and `env`; its log
    /// goes to `dir`.
    pub fn start(
        python: &str,
        dir: &TempDir,
        upstream: &cmconform::server::RunningServer,
        flags: &[&str],
        env: &[(String, String)],
    ) -> Acceptor {
        use std::io::BufRead;
        let log = dir.join(&format!("acceptor-{}.log", uuid::Uuid::new_v4()));
        let script = repo_root().join("tests/wia/acceptor.py");
        let mut child = Command::new(python)
            .arg(script)
            .args(["--upstream", &upstream.base_url()])
            .args(["--upstream-auth", UPSTREAM_CREDENTIAL])
            .arg("--log")
            .arg(&log)
            .args(flags)
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the acceptor");
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        }
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|port| port.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the acceptor did not start: {line:?}");
        };
        Acceptor { child, port, log }
    }

    /// The acceptor's base URL on `host` (`localhost` for Kerberos: SPNs name hosts).
    pub fn url_on(&self, host: &str) -> String {
        format!("http://{host}:{}", self.port)
    }

    pub fn url(&self) -> String {
        self.url_on("127.0.0.1")
    }

    /// The acceptor's log lines that contain `word`.
    pub fn lines(&self, word: &str) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(word))
            .map(str::to_string)
            .collect()
    }

    pub fn count(&self, word: &str) -> usize {
        self.lines(word).len()
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reproduction of the first PUT in a dry run's output.
pub fn put_reproduction(stdout: &str) -> String {
    stdout
        .lines()
        .find(|line| line.starts_with("curl ") && line.contains("-X PUT"))
        .unwrap_or_else(|| panic!("no PUT reproduction in: {stdout}"))
        .to_string()
}

/// Runs a reproduction (a curl command line from a dry run) with `sh` and `env` added: the
/// unknown id the dry run names is drawn afresh, as the run would. Returns the last status line
/// curl printed, and all it printed.
pub fn replay(line: &str, env: &[(String, String)]) -> (String, String) {
    let line = line.replace("{fresh_id}", &uuid::Uuid::new_v4().to_string());
    let output = Command::new("sh")
        .args(["-c", &line])
        .envs(env.iter().cloned())
        .output()
        .expect("sh runs curl");
    let answer = String::from_utf8_lossy(&output.stdout).into_owned();
    let last_status = answer
        .lines()
        .rfind(|line| line.starts_with("HTTP/"))
        .unwrap_or_default()
        .to_string();
    (last_status, answer)
}
