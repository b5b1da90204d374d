//! `--format html`: one self-contained page (inline CSS and JS, nothing fetched) for a person to
//! read a run: a summary bar, a filterable case list, and per case every check and every
//! exchange, with snapshot diffs rendered as diffs and the curl command that replays each request.
//!
//! Everything taken from the report goes through [`esc`]: bodies, headers and titles may hold
//! markup (`<script>` included), and it must show as text.
//!
//! The page is written as a stream, one case at a time (issue 13): the counts at its top come
//! from the report's summary and the store's briefs, so no more than one case's HTML is ever in
//! memory, however many cases the run has.

use super::{CaseReport, CaseStatus, LabelledExchange, ReportWriter, RunReport, Summary};
use crate::checks::{CheckResult, Verdict};
use std::fmt::Write as _;
use std::io::Write;

pub struct HtmlWriter;

impl ReportWriter for HtmlWriter {
    fn name(&self) -> &'static str {
        "html"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        page(report, out)
    }
}

/// Text made safe for HTML text and quoted attributes; control characters (which HTML cannot
/// carry) are shown as `\u{..}` escapes.
fn esc(text: &str) -> String {
    html_escape::encode_safe(&super::controls::visible_controls(text)).into_owned()
}

/// The case's status as a CSS class and filter key.
fn status_key(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Passed => "passed",
        CaseStatus::Failed => "failed",
        CaseStatus::Skipped => "skipped",
        CaseStatus::Errored => "errored",
    }
}

fn verdict_of(report: &RunReport) -> (&'static str, &'static str) {
    match report.exit_code() {
        0 => ("passed", "PASSED"),
        1 => ("failed", "FAILED"),
        _ => ("errored", "ERRORED"),
    }
}

fn page(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    let (verdict_class, verdict) = verdict_of(report);
    let summary = &report.summary;
    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"cmconform {version}\">\n\
         <title>cmconform {verdict}: {passed} passed, {failed} failed</title>\n\
         <style>{CSS}</style>\n</head>\n\
         <body data-ready=\"0\" data-total=\"{total}\" data-verdict=\"{verdict_class}\">\n",
        version = esc(&report.tool_version),
        passed = summary.passed,
        failed = summary.failed,
        total = summary.total,
    );
    let warned = Warned::count(report);
    header(&mut html, report, verdict_class, verdict, &warned);
    controls(&mut html, report, &warned);
    html.push_str("<main id=\"cases\">\n");
    out.write_all(html.as_bytes())?;
    // Whole cases, every exchange included: passing ones are read back from the spool, and each
    // is written out before the next is read. The first failed or errored one is shown open.
    let mut opened = false;
    for case in report.cases.full() {
        let case = case?;
        let open = !opened && matches!(case.status, CaseStatus::Failed | CaseStatus::Errored);
        opened |= open;
        html.clear();
        case_html(&mut html, &case, open);
        out.write_all(html.as_bytes())?;
    }
    html.clear();
    if report.cases.is_empty() {
        html.push_str("<p class=\"empty\">No case was run.</p>\n");
    }
    html.push_str(
        "<p id=\"none-shown\" class=\"empty\" hidden>No case matches the filter.</p>\n</main>\n",
    );
    let _ = write!(
        html,
        "<footer>cmconform {} &middot; JSON report: <code>--report json=FILE</code></footer>\n\
         <script>{JS}</script>\n</body>\n</html>\n",
        esc(&report.tool_version)
    );
    out.write_all(html.as_bytes())
}

/// How many cases have warnings: all of them, and the passing ones (the bar's own segment).
struct Warned {
    any: usize,
    passed: usize,
}

impl Warned {
    /// From the briefs: the passing cases are not read back from the spool to be counted.
    fn count(report: &RunReport) -> Warned {
        let mut warned = Warned { any: 0, passed: 0 };
        for brief in report.cases.briefs().filter(|brief| brief.warnings > 0) {
            warned.any += 1;
            warned.passed += usize::from(brief.status == CaseStatus::Passed);
        }
        warned
    }
}

fn header(
    html: &mut String,
    report: &RunReport,
    verdict_class: &str,
    verdict: &str,
    warned: &Warned,
) {
    meta(html, report, verdict_class, verdict);
    notices(html, report);
    bar(html, report, warned.passed);
    counts(html, &report.summary);
}

/// The title with the verdict, and what was run against what.
fn meta(html: &mut String, report: &RunReport, verdict_class: &str, verdict: &str) {
    let target = if report.embedded {
        format!("{} (embedded reference server)", report.target)
    } else {
        report.target.clone()
    };
    let _ = write!(
        html,
        "<header>\n<h1>cmconform <span class=\"verdict {verdict_class}\">{verdict}</span></h1>\n\
         <dl class=\"meta\"><dt>target</dt><dd><code>{target}</code></dd>\
         <dt>started</dt><dd>{started}</dd><dt>duration</dt><dd>{duration}</dd>\
         <dt>seed</dt><dd id=\"seed\">{seed}</dd><dt>profile</dt><dd id=\"profile\">{profile}</dd>\
         <dt>version</dt><dd>{version}</dd>\
         <dt>contract</dt><dd><code id=\"contract-digest\">{digest}</code>\
         <span id=\"contract-source\">{origin}</span></dd></dl>\n",
        target = esc(&target),
        started = esc(&report.started_at),
        duration = if report.duration_ms < 1000.0 {
            format!("{:.0} ms", report.duration_ms)
        } else {
            format!("{:.1} s", report.duration_ms / 1000.0)
        },
        seed = report.seed.map_or_else(
            || "none (no generated cases)".to_string(),
            |s| s.to_string()
        ),
        version = esc(&report.tool_version),
        profile = report.profile,
        digest = esc(&report.contract_digest),
        origin = esc(&super::human::contract_origin(&report.contract_source)),
    );
}

fn notices(html: &mut String, report: &RunReport) {
    if report.notices.is_empty() {
        return;
    }
    html.push_str("<ul class=\"notices\">\n");
    for notice in &report.notices {
        let _ = writeln!(html, "<li><strong>Notice:</strong> {}</li>", esc(notice));
    }
    html.push_str("</ul>\n");
}

/// One segment per case outcome, sized by its share of the cases; passed cases with warnings
/// (`warned`) get their own segment so warnings stay visible in the bar.
fn bar(html: &mut String, report: &RunReport, warned: usize) {
    let summary = &report.summary;
    let segments = [
        (
            "passed",
            summary.passed - warned.min(summary.passed),
            "passed",
        ),
        ("warned", warned, "passed with warnings"),
        ("failed", summary.failed, "failed"),
        ("skipped", summary.skipped, "skipped"),
        ("errored", summary.errored, "errored"),
    ];
    let _ = write!(
        html,
        "<div class=\"bar\" role=\"img\" aria-label=\"{} passed, {} failed, {} skipped, {} errored\">",
        summary.passed, summary.failed, summary.skipped, summary.errored
    );
    for (class, count, label) in segments.iter().filter(|(_, count, _)| *count > 0) {
        let _ = write!(
            html,
            "<span class=\"seg {class}\" style=\"flex-grow:{count}\" title=\"{count} {label}\"></span>"
        );
    }
    html.push_str("</div>\n");
}

fn counts(html: &mut String, summary: &Summary) {
    html.push_str("<ul class=\"counts\">");
    let counts = [
        ("passed", summary.passed, "passed"),
        ("failed", summary.failed, "failed"),
        ("skipped", summary.skipped, "skipped"),
        ("warned", summary.warnings, "warnings"),
        ("errored", summary.errored, "errored"),
    ];
    for (class, count, label) in counts {
        if class == "errored" && count == 0 {
            continue;
        }
        let _ = write!(html, "<li class=\"{class}\"><b>{count}</b> {label}</li>");
    }
    let _ = writeln!(
        html,
        "<li class=\"total\"><b>{}</b> cases</li></ul>\n</header>",
        summary.total
    );
}

fn controls(html: &mut String, report: &RunReport, warned: &Warned) {
    let summary = &report.summary;
    let buttons = [
        ("all", "All", report.cases.len()),
        ("failed", "Failed", summary.failed),
        ("passed", "Passed", summary.passed),
        ("warned", "Warnings", warned.any),
        ("skipped", "Skipped", summary.skipped),
        ("errored", "Errored", summary.errored),
    ];
    html.push_str(
        "<nav class=\"controls\">\n<input id=\"filter\" type=\"search\" \
         placeholder=\"Filter: case id, title, check, tag\" aria-label=\"Filter cases\">\n",
    );
    for (key, label, count) in buttons {
        let pressed = if key == "all" { "true" } else { "false" };
        let _ = write!(
            html,
            "<button type=\"button\" class=\"status-filter {key}\" data-status=\"{key}\" \
             aria-pressed=\"{pressed}\">{label} <span class=\"n\">{count}</span></button>"
        );
    }
    html.push_str(
        "\n<button type=\"button\" id=\"expand\">Expand shown</button>\
         <button type=\"button\" id=\"collapse\">Collapse all</button>\
         <span id=\"shown\" aria-live=\"polite\"></span>\n</nav>\n",
    );
}

fn case_html(html: &mut String, case: &CaseReport, open: bool) {
    let key = status_key(case.status);
    let warnings = case.warnings();
    let search: Vec<&str> = [case.id.as_str(), case.title.as_str()]
        .into_iter()
        .chain(case.tags.iter().map(String::as_str))
        .chain(case.checks.iter().map(|r| r.check))
        .collect();
    let _ = write!(
        html,
        "<details class=\"case {key}\" id=\"case-{id}\" data-status=\"{key}\" data-warnings=\"{warnings}\" \
         data-search=\"{search}\"{open}>\n<summary><span class=\"badge {key}\">{label}</span> \
         <code class=\"id\">{id}</code> <span class=\"title\">{title}</span>",
        id = esc(&case.id),
        search = esc(&search.join(" ").to_lowercase()),
        open = if open { " open" } else { "" },
        label = case.status.label(),
        title = esc(&case.title),
    );
    if let Some(paths) = case.open_text() {
        let _ = write!(
            html,
            " <span class=\"badge open-path\" title=\"open input (CONTRACT.md section 7)\">{}</span>",
            esc(&paths)
        );
    }
    if warnings > 0 {
        let plural = if warnings == 1 { "" } else { "s" };
        let _ = write!(
            html,
            " <span class=\"badge warned\">{warnings} warning{plural}</span>"
        );
    }
    let _ = write!(
        html,
        " <span class=\"dur\">{:.0} ms</span></summary>\n<div class=\"case-body\">\n",
        case.duration_ms
    );
    if let Some(reason) = &case.reason {
        let _ = writeln!(html, "<p class=\"reason\">{}</p>", esc(reason));
    }
    let given = case
        .given
        .map(|state| {
            format!(
                " &middot; given a request in state <b>{}</b>",
                esc(&state.to_string())
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        html,
        "<p class=\"about\">CONTRACT.md section {} &middot; tags: {}{given}</p>",
        esc(&case.section),
        esc(&case.tags.join(", ")),
    );
    if !case.checks.is_empty() {
        checks_html(html, case);
    }
    if !case.exchanges.is_empty() {
        html.push_str("<h3>Exchanges</h3>\n");
        for exchange in &case.exchanges {
            exchange_html(html, exchange);
        }
    }
    html.push_str("</div>\n</details>\n");
}

fn checks_html(html: &mut String, case: &CaseReport) {
    html.push_str(
        "<h3>Checks</h3>\n<table class=\"checks\">\n<thead><tr><th>result</th><th>check</th>\
         <th>step</th><th>detail</th></tr></thead>\n<tbody>\n",
    );
    // Failures first, then warnings, then passes: what a reader came for is on top.
    let mut ordered: Vec<&CheckResult> = case.checks.iter().collect();
    ordered.sort_by_key(|result| match result.verdict {
        Verdict::Fail(_) => 0,
        Verdict::Warn { .. } => 1,
        Verdict::Pass => 2,
    });
    for result in ordered {
        let (class, label) = match result.verdict {
            Verdict::Pass => ("pass", "pass"),
            Verdict::Warn { .. } => ("warn", "warn"),
            Verdict::Fail(_) => ("fail", "FAIL"),
        };
        let _ = write!(
            html,
            "<tr class=\"check {class}\"><td><span class=\"badge {class}\">{label}</span></td>\
             <td><code>{}</code></td><td>{}</td><td>",
            esc(result.check),
            crate::step_number::shown(result.step)
        );
        match &result.verdict {
            Verdict::Pass => {}
            Verdict::Warn { message } => html.push_str(&esc(message)),
            Verdict::Fail(finding) => {
                let _ = write!(
                    html,
                    "<div class=\"message\">{}</div><dl class=\"ea\"><dt>expected</dt><dd>{}</dd>\
                     <dt>actual</dt><dd>{}</dd></dl>",
                    esc(&finding.message),
                    value_html(&finding.expected),
                    value_html(&finding.actual)
                );
            }
        }
        html.push_str("</td></tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    // The request to replay, once per step that failed.
    let mut steps: Vec<usize> = case.failures().map(|result| result.step).collect();
    steps.sort_unstable();
    steps.dedup();
    for step in steps {
        if let Some(exchange) = case.main_exchange(step) {
            let _ = writeln!(
                html,
                "<div class=\"curl reproduce\"><span>reproduce step {}</span><pre>{}</pre></div>",
                crate::step_number::shown(step),
                esc(&exchange.request.to_curl())
            );
        }
    }
}

/// An expected or actual value: a unified diff is coloured line by line, anything else is text.
fn value_html(text: &str) -> String {
    if !is_unified_diff(text) {
        return format!("<pre class=\"value\">{}</pre>", esc(text));
    }
    let mut out = String::from("<pre class=\"diff\">");
    for line in text.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            "file"
        } else if line.starts_with("@@") {
            "hunk"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else {
            "ctx"
        };
        let _ = write!(out, "<span class=\"{class}\">{}</span>", esc(line));
    }
    out.push_str("</pre>");
    out
}

fn is_unified_diff(text: &str) -> bool {
    text.starts_with("--- ") && text.lines().any(|line| line.starts_with("@@ "))
}

fn exchange_html(html: &mut String, labelled: &LabelledExchange) {
    let exchange = &labelled.exchange;
    let request = &exchange.request;
    let _ = write!(
        html,
        "<section class=\"exchange\">\n<h4>step {} &middot; {}</h4>\n<div class=\"pair\">\
         <div class=\"req\"><div class=\"cap\">request</div><pre>",
        crate::step_number::shown(labelled.step),
        esc(&labelled.label)
    );
    let _ = writeln!(
        html,
        "<b>{} {}</b>",
        esc(&request.method),
        esc(&request.url)
    );
    headers_html(html, &request.headers);
    // The request body exactly as sent: its bytes are often the point of the case.
    if !request.body.is_empty() {
        let _ = write!(
            html,
            "\n<span class=\"body\">{}</span>",
            esc(&String::from_utf8_lossy(&request.body))
        );
    }
    html.push_str("</pre></div>\n<div class=\"resp\"><div class=\"cap\">response</div><pre>");
    match &exchange.response {
        Ok(response) => {
            let class = if response.status < 300 {
                "ok"
            } else if response.status < 500 {
                "refused"
            } else {
                "error"
            };
            let _ = writeln!(
                html,
                "<b class=\"code {class}\">HTTP {}</b> <span class=\"dur\">({:.0} ms)</span>",
                response.status, exchange.elapsed_ms
            );
            headers_html(html, &response.headers);
            body_html(html, &response.body);
        }
        Err(error) => {
            let _ = write!(
                html,
                "<b class=\"code error\">transport error</b> <span class=\"dur\">({:.0} ms)</span>\n{}",
                exchange.elapsed_ms,
                esc(&error.to_string())
            );
        }
    }
    let _ = write!(
        html,
        "</pre></div></div>\n<div class=\"curl\"><span>curl</span><pre>{}</pre></div>\n</section>\n",
        esc(&request.to_curl())
    );
}

fn headers_html(html: &mut String, headers: &[(String, String)]) {
    for (name, value) in headers {
        let _ = writeln!(
            html,
            "<span class=\"hn\">{}:</span> {}",
            esc(name),
            esc(value)
        );
    }
}

/// A response body as text: JSON pretty-printed for reading, anything else as received (lossy
/// UTF-8).
fn body_html(html: &mut String, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            serde_json::to_string_pretty(&json)
                .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    };
    let _ = write!(html, "\n<span class=\"body\">{}</span>", esc(&text));
}

const CSS: &str = r##"
:root{--pass:#1a7f37;--warn:#bf8700;--fail:#cf222e;--skip:#8c959f;--err:#8250df;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
header,nav.controls,main,footer{padding:0 24px}
header{padding-top:16px;border-bottom:1px solid var(--line);background:var(--soft)}
h1{margin:0 0 6px;font-size:22px}
.verdict{padding:2px 10px;border-radius:6px;color:#fff;font-size:16px;vertical-align:middle}
.verdict.passed{background:var(--pass)}.verdict.failed{background:var(--fail)}.verdict.errored{background:var(--err)}
dl.meta{display:flex;flex-wrap:wrap;gap:4px 18px;margin:6px 0;color:var(--muted)}
dl.meta dt{font-weight:600}dl.meta dt::after{content:":"}dl.meta dd{margin:0 0 0 -14px}
ul.notices{margin:8px 0;padding:8px 12px 8px 28px;background:#fff8c5;border:1px solid #d4a72c;border-radius:6px}
.bar{display:flex;height:18px;margin:10px 0 6px;border-radius:5px;overflow:hidden;background:var(--line)}
.seg{display:block;min-width:3px}
.seg.passed{background:var(--pass)}.seg.warned{background:var(--warn)}.seg.failed{background:var(--fail)}.seg.skipped{background:var(--skip)}.seg.errored{background:var(--err)}
ul.counts{display:flex;flex-wrap:wrap;gap:6px 18px;list-style:none;margin:0;padding:0 0 12px}
ul.counts li::before{content:"";display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:var(--line)}
ul.counts .passed::before{background:var(--pass)}ul.counts .failed::before{background:var(--fail)}ul.counts .skipped::before{background:var(--skip)}ul.counts .warned::before{background:var(--warn)}ul.counts .errored::before{background:var(--err)}
nav.controls{position:sticky;top:0;z-index:1;display:flex;flex-wrap:wrap;align-items:center;gap:6px;padding-top:10px;padding-bottom:10px;background:var(--bg);border-bottom:1px solid var(--line)}
#filter{flex:1 1 260px;max-width:420px;padding:6px 10px;border:1px solid var(--line);border-radius:6px;font:inherit}
nav button{padding:5px 10px;border:1px solid var(--line);border-radius:6px;background:var(--soft);font:inherit;cursor:pointer}
nav button[aria-pressed=true]{background:var(--fg);color:#fff;border-color:var(--fg)}
nav button .n{opacity:.7}
#shown{margin-left:auto;color:var(--muted)}
main{padding-top:10px;padding-bottom:24px}
details.case{border:1px solid var(--line);border-left-width:5px;border-radius:6px;margin:6px 0;background:var(--bg)}
details.case.passed{border-left-color:var(--pass)}details.case.failed{border-left-color:var(--fail)}details.case.skipped{border-left-color:var(--skip)}details.case.errored{border-left-color:var(--err)}
details.case>summary{cursor:pointer;padding:6px 10px;display:flex;gap:8px;align-items:baseline}
details.case>summary .title{color:var(--muted);flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
details.case[open]>summary .title{white-space:normal}
.dur{color:var(--muted);font-size:12px;white-space:nowrap}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:11px;font-weight:700;color:#fff;background:var(--skip);white-space:nowrap}
.badge.passed,.badge.pass{background:var(--pass)}.badge.failed,.badge.fail{background:var(--fail)}.badge.warned,.badge.warn{background:var(--warn)}.badge.errored{background:var(--err)}.badge.open-path{background:#555}
.case-body{padding:4px 14px 12px;border-top:1px solid var(--line)}
.reason{padding:6px 10px;background:var(--soft);border-radius:6px}
.about{color:var(--muted);margin:6px 0}
h3{font-size:14px;margin:12px 0 6px}h4{font-size:13px;margin:0 0 4px;color:var(--muted)}
table.checks{border-collapse:collapse;width:100%}
table.checks th,table.checks td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
table.checks th{font-size:12px;color:var(--muted)}
tr.check.fail{background:#ffebe9}tr.check.warn{background:#fff8c5}
dl.ea{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:4px 0}dl.ea dt{color:var(--muted)}dl.ea dd{margin:0}
pre{margin:0;white-space:pre-wrap;word-break:break-word}
pre.value,pre.diff{background:var(--soft);padding:4px 6px;border-radius:4px}
pre.diff span{display:block}pre.diff .add{background:#dafbe1;color:#116329}pre.diff .del{background:#ffebe9;color:#a40e26}pre.diff .hunk{color:#0550ae}pre.diff .file{color:var(--muted);font-weight:600}
section.exchange{margin:8px 0;padding:8px;border:1px solid var(--line);border-radius:6px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
@media (max-width:900px){.pair{grid-template-columns:1fr}}
.pair>div{background:var(--soft);border-radius:4px;padding:6px;min-width:0}
.cap{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.hn{color:#0550ae}.code.ok{color:var(--pass)}.code.refused{color:var(--warn)}.code.error{color:var(--fail)}
.curl{display:flex;gap:8px;margin-top:6px;align-items:baseline}.curl>span{font-size:11px;color:var(--muted);text-transform:uppercase}
.curl pre{flex:1;background:#1f2328;color:#f0f6fc;padding:4px 8px;border-radius:4px}
.empty{color:var(--muted)}
footer{padding:12px 24px;color:var(--muted);border-top:1px solid var(--line)}
"##;

/// The filter: a text box (matches id, title, tags, check names) and status buttons; the state is
/// mirrored in the URL fragment (`#status=failed&q=auth`) so a filtered view can be linked.
const JS: &str = r##"
(function () {
  "use strict";
  var body = document.body;
  var cases = Array.prototype.slice.call(document.querySelectorAll("details.case"));
  var input = document.getElementById("filter");
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button.status-filter"));
  var shown = document.getElementById("shown");
  var none = document.getElementById("none-shown");
  var state = { status: "all", q: "" };
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var status = params.get("status");
    if (status && buttons.some(function (b) { return b.dataset.status === status; })) { state.status = status; }
    state.q = params.get("q") || "";
    input.value = state.q;
  }
  function matches(c) {
    var status = state.status;
    var okStatus = status === "all" || c.dataset.status === status ||
      (status === "warned" && c.dataset.warnings !== "0");
    var terms = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    var text = c.dataset.search;
    return okStatus && terms.every(function (t) { return text.indexOf(t) !== -1; });
  }
  function apply() {
    var count = 0;
    cases.forEach(function (c) {
      var visible = matches(c);
      c.hidden = !visible;
      if (visible) { count += 1; }
    });
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.status === state.status)); });
    shown.textContent = "showing " + count + " of " + cases.length + " cases";
    none.hidden = count !== 0 || cases.length === 0;
    body.dataset.shown = String(count);
    body.dataset.status = state.status;
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (state.status !== "all") { params.set("status", state.status); }
    if (state.q) { params.set("q", state.q); }
    var hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }
  input.addEventListener("input", function () { state.q = input.value; apply(); writeHash(); });
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { state.status = b.dataset.status; apply(); writeHash(); });
  });
  document.getElementById("expand").addEventListener("click", function () {
    cases.forEach(function (c) { if (!c.hidden) { c.open = true; } });
  });
  document.getElementById("collapse").addEventListener("click", function () {
    cases.forEach(function (c) { c.open = false; });
  });
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
  body.dataset.ready = "1";
})();
"##;

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn streamed(report: &RunReport) -> String {
        fixtures::written(&HtmlWriter, report)
    }

    #[test]
    fn every_case_is_written_once_in_plan_order_and_the_first_failure_is_open() {
        for spooled in [true, false] {
            for (name, cases) in fixtures::scenarios() {
                let ids: Vec<String> = cases.iter().map(|case| esc(&case.id)).collect();
                let first_failure = cases
                    .iter()
                    .find(|case| matches!(case.status, CaseStatus::Failed | CaseStatus::Errored))
                    .map(|case| esc(&case.id));
                let html = streamed(&fixtures::run_report(cases, spooled));
                let label = format!("{name} (spooled: {spooled})");
                assert!(html.starts_with("<!DOCTYPE html>"), "{label}");
                assert!(html.ends_with("</body>\n</html>\n"), "{label}");
                assert_eq!(
                    html.matches("<details class=\"case ").count(),
                    ids.len(),
                    "{label}"
                );
                assert_eq!(html.matches("</details>").count(), ids.len(), "{label}");
                let at: Vec<usize> = ids
                    .iter()
                    .map(|id| {
                        html.find(&format!("id=\"case-{id}\""))
                            .unwrap_or(usize::MAX)
                    })
                    .collect();
                assert!(
                    at.windows(2).all(|pair| pair[0] < pair[1]),
                    "{label}: {at:?}"
                );
                assert_eq!(
                    html.matches(" open>").count(),
                    usize::from(first_failure.is_some()),
                    "{label}"
                );
                if let Some(id) = first_failure {
                    assert!(
                        html.contains(&format!("id=\"case-{id}\" data-status=")),
                        "{label}"
                    );
                }
                assert_eq!(html.contains("No case was run."), ids.is_empty(), "{label}");
            }
        }
    }

    #[test]
    fn the_warning_counts_from_the_briefs_are_those_of_the_whole_cases() {
        for spooled in [true, false] {
            for (name, mut cases) in fixtures::scenarios() {
                // A passing case with a warning, and a failing one: both segments count.
                for case in cases.iter_mut().take(2) {
                    case.checks.push(CheckResult {
                        check: "content_type_conformance",
                        step: 0,
                        verdict: Verdict::Warn {
                            message: "charset".into(),
                        },
                    });
                }
                let report = fixtures::run_report(cases, spooled);
                let (mut any, mut passed) = (0, 0);
                for case in report.cases.full() {
                    let case = case.unwrap_or_else(|error| panic!("{error}"));
                    if case.warnings() > 0 {
                        any += 1;
                        passed += usize::from(case.status == CaseStatus::Passed);
                    }
                }
                let warned = Warned::count(&report);
                assert_eq!(
                    (warned.any, warned.passed),
                    (any, passed),
                    "{name} {spooled}"
                );
                let button = format!(
                    "data-status=\"warned\" aria-pressed=\"false\">Warnings <span class=\"n\">{any}</span>"
                );
                assert!(streamed(&report).contains(&button), "{name} {spooled}");
            }
        }
    }

    #[test]
    fn hostile_text_from_a_server_shows_as_text() {
        let html = streamed(&fixtures::run_report(fixtures::hostile_cases(), true));
        // The page's own script is its one script element; the rest is escaped text.
        assert_eq!(html.matches("<script").count(), 1);
        assert_eq!(html.matches("</script>").count(), 1);
        assert!(!html.contains("</pre> &"), "a body closed its <pre>");
        assert!(html.contains("&lt;&#x2F;script&gt;&lt;script&gt;alert(&quot;x&quot;)"));
        assert!(html.contains("]]&gt;") && html.contains("&#x27;q&#x27;"));
        // Control characters show as escapes; the noncharacters pass as the text they are.
        assert!(html.contains("\\u{0000}\\u{0007}\\u{001b}[31mred"));
        assert!(!html.contains('\u{0}') && !html.contains('\u{1b}'));
    }

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(
            esc("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt;&amp;&#x27;"
        );
        assert_eq!(esc("a\u{0}b\nc"), "a\\u{0000}b\nc");
    }

    #[test]
    fn diffs_are_coloured_by_line() {
        let diff = "--- snapshot\n+++ observed\n@@ -1,2 +1,2 @@\n-  \"Status\": 8,\n+  \"Status\": 7,\n   \"x\": 1";
        let html = value_html(diff);
        assert!(html.contains("<span class=\"del\">-  &quot;Status&quot;: 8,</span>"));
        assert!(html.contains("<span class=\"add\">+  &quot;Status&quot;: 7,</span>"));
        assert!(html.contains("<span class=\"hunk\">"));
        assert!(value_html("8").starts_with("<pre class=\"value\">"));
    }
}
