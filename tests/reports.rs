//! The report formats of one run, read back by what reads them in the wild: one binary run writes
//! every `--report` at once, JUnit goes through Python's junitparser, TAP through tap.py, the HTML
//! page is rendered by headless Chromium (its script run, its DOM inspected, a screenshot taken),
//! and the Markdown and TAP layouts are snapshotted.
//!
//! The external consumers are not on a fresh developer machine: their tests run only with
//! `CMCONFORM_EXTERNAL_CONSUMERS=1` (as `.ci/run` sets it after installing them), and then a
//! missing tool is a failure. `CMCONFORM_UPDATE_SCREENSHOT=1` rewrites docs/report-screenshot.png.

mod common;

use cmconform::report::{
    CaseStatus, HtmlWriter, JunitWriter, MarkdownWriter, ReportWriter, RunReport, TapWriter,
};
use cmconform::run::{RunOptions, StateSource};
use common::{repo_root, run_report, stabilize};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const FORMATS: [(&str, &str); 6] = [
    ("junit", "out.xml"),
    ("html", "out.html"),
    ("json", "r.json"),
    ("markdown", "summary.md"),
    ("tap", "r.tap"),
    ("human", "human.txt"),
];

fn render(writer: &dyn ReportWriter, report: &RunReport) -> String {
    let mut out = Vec::new();
    if let Err(error) = writer.write(report, &mut out) {
        panic!("{} writer failed: {error}", writer.name());
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Whether the external-consumer tests run; when they do not, says how to run them.
fn external_consumers() -> bool {
    if std::env::var("CMCONFORM_EXTERNAL_CONSUMERS").as_deref() == Ok("1") {
        return true;
    }
    println!(
        "skipped: set CMCONFORM_EXTERNAL_CONSUMERS=1 (needs chromium, python3 with junitparser and tap.py)"
    );
    false
}

/// Small options: no life-cycle table, no race; enough for failures, warnings and diffs.
fn small_options() -> RunOptions {
    let mut options = common::options();
    options.families.lifecycle = false;
    options.families.race_rounds = 0;
    options
}

/// A run against the embedded server that reports Status 7 where 8 is due: failed checks and
/// snapshot diffs, next to passes and warnings.
async fn failing_report() -> RunReport {
    let mut options = small_options();
    options.embedded_fault = cmconform::server::Fault::from_name("wrong_status_code");
    let report = run_report(&options).await;
    assert!(
        report.summary.failed > 0,
        "wrong_status_code must fail cases"
    );
    assert!(report.summary.warnings > 0, "the suite has warnings");
    assert!(
        report
            .cases
            .kept()
            .flat_map(|case| case.failures())
            .any(|result| result.check == "snapshot"),
        "a snapshot diff is expected"
    );
    report
}

fn binary(args: &[&str]) -> Output {
    let output = common::cmconform(args).output();
    output.unwrap_or_else(|error| panic!("cannot start cmconform: {error}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn one_run_writes_every_report_and_keeps_the_console() {
    let scratch = common::TempDir::new("reports-all");
    let dir = scratch.path().to_path_buf();
    let contract = repo_root();
    let mut args: Vec<String> = [
        "run",
        "--fault",
        "wrong_status_code",
        "--no-lifecycle",
        "--race-rounds",
        "0",
        "--contract",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(contract.display().to_string());
    for (format, file) in FORMATS {
        args.push("--report".into());
        args.push(format!("{format}={}", dir.join(file).display()));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = binary(&refs);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let summary =
        regex::Regex::new(r"(?m)^(\d+) passed, (\d+) failed, (\d+) skipped, (\d+) warnings")
            .ok()
            .and_then(|re| re.captures(&stdout).map(|c| c[0].to_string()));
    let Some(summary) = summary else {
        panic!("the console lost the human summary line:\n{stdout}")
    };
    assert!(stdout.contains("FAIL  complete-from-approved"), "{stdout}");

    for (_, file) in FORMATS {
        let len = std::fs::metadata(dir.join(file)).map_or(0, |m| m.len());
        assert!(len > 0, "{file} is empty or missing");
    }
    // JSON: parses, and holds the counts the console printed.
    let json: serde_json::Value = serde_json::from_str(&read(&dir.join("r.json")))
        .unwrap_or_else(|error| panic!("r.json does not parse: {error}"));
    let counts = &json["summary"];
    assert_eq!(
        format!(
            "{} passed, {} failed, {} skipped, {} warnings",
            counts["passed"], counts["failed"], counts["skipped"], counts["warnings"]
        ),
        summary
    );
    let total = json["summary"]["total"].as_u64().unwrap_or_default() as usize;
    let failed = json["summary"]["failed"].as_u64().unwrap_or_default() as usize;
    // JUnit: well-formed XML with one testcase per case.
    let xml = read(&dir.join("out.xml"));
    let (testcases, failures) = junit_counts(&xml);
    assert_eq!((testcases, failures), (total, failed));
    // TAP: the version line, the plan, one numbered test point per case.
    let tap = read(&dir.join("r.tap"));
    assert_tap_well_formed(&tap, total, failed);
    // Markdown: the verdict heading and the counts table.
    let markdown = read(&dir.join("summary.md"));
    assert!(
        markdown.starts_with("## ❌ cmconform: FAILED"),
        "{markdown}"
    );
    assert!(markdown.contains("| passed | failed | skipped | errored | warnings | total |"));
    assert!(markdown.contains("| case | check | expected | actual |"));
    // HTML: one self-contained page.
    assert_html_self_contained(&read(&dir.join("out.html")), total);
    // human: the same summary line as the console.
    assert!(read(&dir.join("human.txt")).contains(&summary));
    let _ = std::fs::remove_dir_all(&dir);
}

fn junit_counts(xml: &str) -> (usize, usize) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut testcases, mut failures) = (0, 0);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                match e.name().as_ref() {
                    b"testcase" => testcases += 1,
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!("JUnit XML does not parse: {error}"),
        }
    }
    (testcases, failures)
}

fn assert_tap_well_formed(tap: &str, total: usize, failed: usize) {
    let lines: Vec<&str> = tap.lines().collect();
    assert_eq!(lines.first(), Some(&"TAP version 14"));
    assert!(
        lines.contains(&format!("1..{total}").as_str()),
        "no plan 1..{total}"
    );
    let point = regex::Regex::new(r"^(not ok|ok) (\d+) - \S").ok();
    let numbers: Vec<(bool, usize)> = lines
        .iter()
        .filter_map(|line| point.as_ref()?.captures(line))
        .map(|c| (&c[1] == "ok", c[2].parse().unwrap_or(0)))
        .collect();
    assert_eq!(
        numbers.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "test points numbered 1..{total} in order"
    );
    assert_eq!(numbers.iter().filter(|(ok, _)| !ok).count(), failed);
    assert_eq!(
        tap.matches("\n  ---\n").count(),
        failed,
        "one YAML block per failure"
    );
    assert_eq!(tap.matches("\n  ...\n").count(), failed);
}

fn assert_html_self_contained(html: &str, total: usize) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one inline script, nothing else"
    );
    assert_eq!(html.matches("<style>").count(), 1);
    // No element that fetches anything, and a stylesheet with nothing to fetch either.
    let fetching =
        regex::Regex::new(r#"<[a-zA-Z][\w-]*(\s+[\w-]+(="[^"]*")?)*\s+(src|href|action)=|<link\b"#)
            .ok();
    let found = fetching.and_then(|re| re.find(html).map(|m| m.as_str().to_string()));
    assert_eq!(found, None, "the page loads something");
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|rest| rest.split("</style>").next())
        .unwrap_or_default();
    for external in ["@import", "url(", "@font-face"] {
        assert!(
            !style.contains(external),
            "the stylesheet loads something: {external}"
        );
    }
    assert_eq!(html.matches("<details class=\"case ").count(), total);
    assert!(
        html.contains("<pre class=\"diff\">"),
        "snapshot diffs render as diffs"
    );
    assert!(html.contains("<span class=\"add\">+  &quot;Status&quot;: 7,</span>"));
}

#[test]
fn bad_report_flags_exit_2_naming_the_value_before_the_run() {
    let missing_dir = common::TempDir::new("reports-bad")
        .join("no-such-dir")
        .join("r.html");
    let missing = format!("html={}", missing_dir.display());
    for (value, named) in [
        ("nope=x", "nope"),
        ("junit", "junit"),
        ("tap=", "tap="),
        (missing.as_str(), "no-such-dir"),
    ] {
        let output = binary(&[
            "run",
            "--no-lifecycle",
            "--race-rounds",
            "0",
            "--report",
            value,
        ]);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(2),
            "--report {value}: {stdout}\n{stderr}"
        );
        assert!(stderr.contains(named), "--report {value}: {stderr}");
        assert!(stderr.contains("--report"), "--report {value}: {stderr}");
        assert!(!stdout.contains("PASS "), "the run started: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_is_one_escaped_page() {
    let mut report = failing_report().await;
    inject_markup(&mut report);
    let html = render(&HtmlWriter, &report);
    assert_html_self_contained(&html, report.cases.len());
    assert!(
        !html.contains("<script>document"),
        "markup leaked unescaped"
    );
    assert!(!html.contains("<img"), "markup leaked unescaped");
    assert!(html.contains("&lt;script&gt;document.body.setAttribute"));
    assert!(
        html.contains("curl -sS -i -X PUT"),
        "reproduction commands are shown"
    );
    // The header names the contract's directory, as the JUnit properties do.
    assert!(
        report.contract_source.starts_with('/'),
        "{}",
        report.contract_source
    );
    // The page escapes '/' as every other text.
    let origin = report.contract_source.replace('/', "&#x2F;");
    let span = format!("<span id=\"contract-source\"> (directory {origin})</span>");
    assert!(html.contains(&span), "{span}");
    let junit = render(&JunitWriter, &report);
    let property = format!(
        "<property name=\"contract_source\" value=\"{}\"",
        report.contract_source
    );
    assert!(junit.contains(&property), "{junit}");
}

/// Markup in a title, a response body, a header and a notice: it must show as text.
fn inject_markup(report: &mut RunReport) {
    const ATTACK: &str = "<script>document.body.setAttribute('data-pwned','script')</script><img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">";
    report.notices.push(format!("notice {ATTACK}"));
    let Some(case) = report
        .cases
        .kept_mut()
        .find(|case| case.status == CaseStatus::Failed)
    else {
        panic!("no failed case")
    };
    std::sync::Arc::make_mut(&mut case.case).title = format!("title {ATTACK}");
    for labelled in &mut case.exchanges {
        if let Ok(response) = &mut labelled.exchange.response {
            response.body = format!("</pre></details>{ATTACK}").into_bytes();
            response.headers.push(("x-evil".into(), ATTACK.into()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_is_read_back_by_junitparser() {
    if !external_consumers() {
        return;
    }
    let mut report = failing_report().await;
    // What a hostile server can put in a finding, and markup in a title and a notice: the
    // file must still parse (XML 1.0 forbids the controls and U+FFFF).
    inject_markup(&mut report);
    // An ANSI string sequence (`ESC ]`) runs to the next BEL or ESC: stripped as a terminal
    // parses it, it swallowed the findings after it. It is shown instead, and they are kept.
    let hostile = "\u{0}\u{7}\u{1b}[1m]]></failure>\u{ffff}\u{fffe}\r\u{1b}]osc";
    if let Some(case) = report
        .cases
        .kept_mut()
        .find(|case| case.checks.iter().any(|result| result.verdict.is_fail()))
    {
        if let Some(cmconform::checks::Verdict::Fail(finding)) = case
            .checks
            .iter_mut()
            .map(|result| &mut result.verdict)
            .find(|verdict| verdict.is_fail())
        {
            finding.actual.push_str(hostile);
        }
        case.checks.push(cmconform::checks::CheckResult {
            check: "no_stack_trace",
            step: 0,
            verdict: cmconform::checks::Verdict::fail("the later finding", "kept", "kept"),
        });
        case.reason = Some("a reason\non two lines".into());
    }
    let scratch = common::TempDir::new("reports-junitparser");
    let dir = scratch.path().to_path_buf();
    let path = dir.join("out.xml");
    write(&path, &render(&JunitWriter, &report));
    const SCRIPT: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "suites": 0}
declared = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
texts, messages = [], []
for suite in xml:
    counts["suites"] += 1
    for key in declared:
        declared[key] += int(getattr(suite, key) or 0)
    for case in suite:
        counts["tests"] += 1
        for result in case.result:
            texts.append(result.text or "")
            messages.append(result.message or "")
            if isinstance(result, Failure): counts["failures"] += 1
            elif isinstance(result, Error): counts["errors"] += 1
            elif isinstance(result, Skipped): counts["skipped"] += 1
print(json.dumps({"counted": counts, "declared": declared, "texts": texts,
                  "messages": messages}))
"#;
    let parsed = python(SCRIPT, &path);
    let texts = parsed["texts"].to_string();
    assert!(texts.contains(r"\\u{001b}]osc"), "{texts}");
    assert!(texts.contains("the later finding"), "{texts}");
    let messages = parsed["messages"].to_string();
    assert!(messages.contains(r"a reason\non two lines"), "{messages}");
    let summary = &report.summary;
    let expected = serde_json::json!({
        "tests": summary.total, "failures": summary.failed, "errors": summary.errored,
        "skipped": summary.skipped,
    });
    let mut counted = parsed["counted"].clone();
    let suites = counted
        .as_object_mut()
        .and_then(|map| map.remove("suites"))
        .and_then(|n| n.as_u64())
        .unwrap_or(0);
    assert_eq!(counted, expected, "counted by junitparser");
    assert_eq!(parsed["declared"], expected, "the suites' own attributes");
    assert!(suites > 1, "one testsuite per tag group");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_is_read_back_by_tap_py() {
    if !external_consumers() {
        return;
    }
    let report = skipping_report().await;
    let scratch = common::TempDir::new("reports-tap-py");
    let dir = scratch.path().to_path_buf();
    let path = dir.join("r.tap");
    write(&path, &render(&TapWriter, &report));
    const SCRIPT: &str = r#"
import json, sys
from tap.parser import Parser
out = {"version": None, "plan": None, "ok": 0, "not_ok": 0, "skip": 0, "unknown": [],
       "yaml": [], "numbers": []}
with open(sys.argv[1], encoding="utf-8") as fh:
    text = fh.read()
for line in Parser().parse_text(text):
    if line.category == "version": out["version"] = line.version
    elif line.category == "plan": out["plan"] = line.expected_tests
    elif line.category == "test":
        out["numbers"].append(line.number)
        if line.skip: out["skip"] += 1
        elif line.ok: out["ok"] += 1
        else:
            out["not_ok"] += 1
            block = line.yaml_block
            out["yaml"].append(sorted(block.keys()) if isinstance(block, dict) else None)
    elif line.category == "unknown": out["unknown"].append(str(line))
print(json.dumps(out))
"#;
    let parsed = python(SCRIPT, &path);
    let summary = &report.summary;
    assert_eq!(parsed["version"], 14);
    assert_eq!(parsed["plan"], summary.total);
    assert_eq!(parsed["ok"], summary.passed);
    assert_eq!(parsed["skip"], summary.skipped);
    assert_eq!(parsed["not_ok"], summary.failed + summary.errored);
    assert_eq!(
        parsed["unknown"],
        serde_json::json!([]),
        "lines tap.py cannot read"
    );
    assert_eq!(
        parsed["numbers"],
        serde_json::json!((1..=summary.total).collect::<Vec<_>>())
    );
    let blocks = parsed["yaml"].as_array().cloned().unwrap_or_default();
    assert!(!blocks.is_empty());
    for keys in blocks {
        let keys: Vec<&str> = keys
            .as_array()
            .map(|k| k.iter().filter_map(|k| k.as_str()).collect())
            .unwrap_or_default();
        for key in ["message", "check", "failures", "severity"] {
            assert!(keys.contains(&key), "YAML block without {key}: {keys:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn write(path: &Path, contents: &str) {
    if let Err(error) = std::fs::write(path, contents) {
        panic!("{}: {error}", path.display());
    }
}

/// Runs a Python script on `file` and parses what it prints as JSON; a missing interpreter or
/// package is a failure here (the caller only runs when the consumers are meant to be present).
fn python(script: &str, file: &Path) -> serde_json::Value {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| {
            panic!("python3 is required with CMCONFORM_EXTERNAL_CONSUMERS=1: {error}")
        });
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        output.status.success(),
        "the Python consumer failed:\n{stderr}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
        panic!("the consumer printed no JSON ({error}):\n{stdout}\n{stderr}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_renders_in_headless_chromium() {
    if !external_consumers() {
        return;
    }
    let mut report = failing_report().await;
    let scratch = common::TempDir::new("reports-chromium");
    let dir = scratch.path().to_path_buf();
    let clean = dir.join("report.html");
    write(&clean, &render(&HtmlWriter, &report));
    inject_markup(&mut report);
    let attacked = dir.join("attacked.html");
    write(&attacked, &render(&HtmlWriter, &report));
    let summary = report.summary.clone();

    // The script ran: it marks the body ready and applied the status filter of the fragment.
    let dom = chromium(
        &dir,
        &["--dump-dom".into(), file_url(&clean, "#status=failed")],
    );
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page script did not run:\n{}",
        head(&dom)
    );
    assert!(
        dom.contains(&format!("data-shown=\"{}\"", summary.failed)),
        "{}",
        head(&dom)
    );
    let cases = regex::Regex::new(r#"<details class="case (\w+)"[^>]*>"#).ok();
    let (mut shown, mut hidden) = (Vec::new(), 0);
    for capture in cases.iter().flat_map(|re| re.captures_iter(&dom)) {
        if capture[0].contains(" hidden") {
            hidden += 1;
        } else {
            shown.push(capture[1].to_string());
        }
    }
    assert_eq!(
        shown,
        vec!["failed".to_string(); summary.failed],
        "only failed cases shown"
    );
    assert_eq!(hidden, summary.total - summary.failed);
    assert!(dom.contains(&format!(
        "showing {} of {} cases",
        summary.failed, summary.total
    )));

    // The text filter: a case id narrows the list to that case.
    let dom = chromium(
        &dir,
        &["--dump-dom".into(), file_url(&clean, "#q=auth-missing")],
    );
    assert!(dom.contains("data-shown=\"1\""), "{}", head(&dom));

    // Markup from the target is text: nothing injected ran or became an element.
    let dom = chromium(&dir, &["--dump-dom".into(), file_url(&attacked, "")]);
    assert!(dom.contains("data-ready=\"1\""));
    let body = dom
        .split("<body")
        .nth(1)
        .and_then(|rest| rest.split('>').next());
    assert!(
        body.is_some_and(|attributes| !attributes.contains("data-pwned")),
        "injected markup ran: <body{body:?}>"
    );
    assert!(!dom.contains("<img"), "injected markup became an element");
    assert!(dom.contains("&lt;script&gt;document.body.setAttribute"));

    // What a reader sees first, for the docs.
    let update = std::env::var("CMCONFORM_UPDATE_SCREENSHOT").as_deref() == Ok("1");
    let screenshot = if update {
        repo_root().join("docs/report-screenshot.png")
    } else {
        dir.join("screenshot.png")
    };
    chromium(
        &dir,
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,900".into(),
            "--hide-scrollbars".into(),
            file_url(&clean, ""),
        ],
    );
    let png = std::fs::read(&screenshot).unwrap_or_default();
    assert!(png.len() > 10_000, "screenshot of {} bytes", png.len());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let _ = std::fs::remove_dir_all(&dir);
}

fn file_url(path: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", path.display())
}

fn head(text: &str) -> &str {
    let end = text.char_indices().nth(2000).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

/// Runs headless Chromium once with a fresh profile and home (so that its crash handler, which
/// leaves the process group, is recognisable too), waits for it (60 s at most), ends whatever of
/// it is left, and returns its standard output.
fn chromium(dir: &Path, args: &[String]) -> String {
    use std::os::unix::process::CommandExt;
    let home = dir.join(format!("chromium-{}", uuid::Uuid::new_v4()));
    let stdout_path = dir.join("chromium.out");
    let stderr_path = dir.join("chromium.err");
    let (Ok(stdout), Ok(stderr), Ok(())) = (
        std::fs::File::create(&stdout_path),
        std::fs::File::create(&stderr_path),
        std::fs::create_dir_all(&home),
    ) else {
        panic!("cannot prepare chromium's files in {}", dir.display())
    };
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            home.join("profile").display()
        ))
        .args(args)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|error| {
            panic!("chromium is required with CMCONFORM_EXTERNAL_CONSUMERS=1: {error}")
        });
    let group = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => break None,
        }
    };
    end_leftovers(group, &home.display().to_string());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&home);
    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let Some(status) = status else {
        panic!("chromium did not finish within 60 s:\n{err}")
    };
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    std::fs::read_to_string(&stdout_path).unwrap_or_default()
}

/// Ends what is left of one Chromium: its process group at once (helpers linger briefly after
/// the browser exits), and processes outside it that name its home (the crash handler) after a
/// grace period in which they normally exit by themselves. Fails if any survives.
fn end_leftovers(group: u32, home: &str) {
    let start = Instant::now();
    loop {
        let (in_group, outside) = leftovers(group, home);
        if in_group.is_empty() && outside.is_empty() {
            return;
        }
        if start.elapsed() > Duration::from_secs(10) {
            panic!("chromium processes left behind: {in_group:?} {outside:?}");
        }
        let mut targets = Vec::new();
        if !in_group.is_empty() {
            targets.push(format!("-{group}"));
        }
        if start.elapsed() > Duration::from_secs(3) {
            targets.extend(outside.iter().map(u32::to_string));
        }
        if !targets.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg("--")
                .args(&targets)
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Live (not zombie) processes in process group `group`, and those outside it whose command
/// line holds `marker`, from /proc.
fn leftovers(group: u32, marker: &str) -> (Vec<u32>, Vec<u32>) {
    let (mut in_group, mut outside) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return (in_group, outside);
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let (Some(state), Some(pgrp)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if *state == "Z" {
            continue;
        }
        if pgrp.parse::<u32>().ok() == Some(group) {
            in_group.push(pid);
        } else if std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(marker))
        {
            outside.push(pid);
        }
    }
    (in_group, outside)
}

/// A small fixed run against a separately started faulty server, with one staged id: a failure
/// with its snapshot diff, skipped cases (no id left for their state) and a pass.
async fn skipping_report() -> RunReport {
    let config = cmconform::server::ServerConfig {
        fault: cmconform::server::Fault::from_name("wrong_status_code"),
        ..cmconform::server::ServerConfig::default()
    };
    let server = cmconform::server::spawn(config, 0)
        .await
        .unwrap_or_else(|error| panic!("cannot start the server: {error}"));
    let scratch = common::TempDir::new("reports-ids");
    let dir = scratch.path().to_path_buf();
    let ids = dir.join("ids.json");
    write(
        &ids,
        r#"{"approved": ["a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"], "pending": []}"#,
    );
    let mut options = small_options();
    options.base_url = Some(server.base_url());
    options.states = StateSource::IdsFile(ids);
    options.headers = vec![("Authorization".into(), "Negotiate x".into())];
    options.jobs = 1;
    options.selection.filters = vec![
        "documented-example".into(),
        "complete-from-pending-forbidden".into(),
        "status-unknown-value".into(),
        "id-unknown-guid".into(),
    ];
    let report = run_report(&options).await;
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_and_tap_of_a_small_run() {
    let report = skipping_report().await;
    let summary = &report.summary;
    assert!(summary.failed > 0 && summary.skipped > 0, "{summary:?}");
    let tap = render(&TapWriter, &report);
    assert_tap_well_formed(&tap, summary.total, summary.failed);
    assert!(tap.contains(" # SKIP "), "{tap}");
    insta::assert_snapshot!("markdown", stabilize(&render(&MarkdownWriter, &report)));
    insta::assert_snapshot!("tap", stabilize(&tap));
}
