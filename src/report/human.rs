//! `--format human`: one line per case, then every failure with expected vs actual and a curl
//! command that replays it, then the summary line.

use super::controls::visible_controls;
use super::{CaseReport, CaseStatus, ReportWriter, RunReport, Summary};
use crate::checks::Verdict;
use std::io::Write;

pub struct HumanWriter;

impl ReportWriter for HumanWriter {
    fn name(&self) -> &'static str {
        "human"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", visible_controls(&header_line(report)))?;
        for case in report.cases.full() {
            writeln!(out, "{}", case_line(&*case?))?;
        }
        write_human_tail(report, out, true)
    }
}

/// What follows the case lines: notices, failure details, the summary line. The console prints
/// case lines as they finish, then this. It quotes the target's answers, so it is written with
/// their control characters escaped.
pub fn write_human_tail(
    report: &RunReport,
    out: &mut dyn Write,
    with_warnings: bool,
) -> std::io::Result<()> {
    let mut tail = Vec::new();
    write_details(report, &mut tail, with_warnings)?;
    writeln!(tail, "{}", summary_line(&report.summary))?;
    if report.skips_fail() {
        writeln!(
            tail,
            "{} skipped: a skipped case was not tested, so the run fails; stage its state \
             (--state-url or --ids, see `cmconform list`) or pass --allow-skips",
            report.summary.skipped
        )?;
    }
    out.write_all(visible_controls(&String::from_utf8_lossy(&tail)).as_bytes())
}

pub fn header_line(report: &RunReport) -> String {
    start_line(&RunStart {
        total: report.summary.total,
        target: &report.target,
        embedded: report.embedded,
        seed: report.seed,
        profile: report.profile,
        contract_digest: &report.contract_digest,
        contract_source: &report.contract_source,
        fault: report.fault.as_deref(),
    })
}

/// What is known when a run starts: enough to reproduce it.
pub struct RunStart<'a> {
    pub total: usize,
    pub target: &'a str,
    pub embedded: bool,
    pub seed: Option<u64>,
    pub profile: crate::contract::profile::Profile,
    pub contract_digest: &'a str,
    /// `built-in`, or the contract's directory.
    pub contract_source: &'a str,
    /// The rule the embedded server broke, if any.
    pub fault: Option<&'a str>,
}

/// `cmconform 0.1.0: 71 cases against URL (embedded reference server), seed 7, profile
/// documented, contract sha256:0123456789ab (built-in)`.
pub fn start_line(start: &RunStart) -> String {
    let embedded = match (start.embedded, start.fault) {
        (true, Some(fault)) => format!(" (embedded reference server, fault {fault})"),
        (true, None) => " (embedded reference server)".to_string(),
        (false, _) => String::new(),
    };
    let seed = start
        .seed
        .map(|seed| format!(", seed {seed}"))
        .unwrap_or_default();
    format!(
        "cmconform {}: {} cases against {}{embedded}{seed}, profile {}, contract {}{}",
        env!("CARGO_PKG_VERSION"),
        start.total,
        start.target,
        start.profile,
        crate::contract::digest::short(start.contract_digest),
        contract_origin(start.contract_source)
    )
}

/// ` (built-in)` or ` (directory /path)`; nothing for a report that did not record it.
pub fn contract_origin(source: &str) -> String {
    match source {
        "" => String::new(),
        crate::contract::source::BUILT_IN => format!(" ({source})"),
        directory => format!(" (directory {directory})"),
    }
}

/// `PASS  case-id  (12 ms)`, with the path an open input took and the warning count.
pub fn case_line(case: &CaseReport) -> String {
    let warnings = match case.warnings() {
        0 => String::new(),
        1 => " [1 warning]".into(),
        n => format!(" [{n} warnings]"),
    };
    let reason = case
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let open = case
        .open_text()
        .map(|paths| format!(" [open input: {paths}]"))
        .unwrap_or_default();
    let line = format!(
        "{:<5} {} ({:.0} ms){open}{warnings}{reason}",
        case.status.label(),
        case.id,
        case.duration_ms
    );
    visible_controls(&line)
}

pub fn summary_line(summary: &Summary) -> String {
    let errored = if summary.errored > 0 {
        format!(", {} errored", summary.errored)
    } else {
        String::new()
    };
    format!(
        "{} passed, {} failed, {} skipped, {} warnings{errored}",
        summary.passed, summary.failed, summary.skipped, summary.warnings
    )
}

fn write_details(
    report: &RunReport,
    out: &mut dyn Write,
    with_warnings: bool,
) -> std::io::Result<()> {
    for notice in &report.notices {
        writeln!(out, "WARNING: {notice}")?;
    }
    if with_warnings {
        write_warnings(report, out)?;
    }
    // Failed and errored cases are always in memory: no spool read for the details.
    let troubled = report
        .cases
        .kept()
        .filter(|case| matches!(case.status, CaseStatus::Failed | CaseStatus::Errored));
    for case in troubled {
        writeln!(out)?;
        write_case_details(case, out)?;
    }
    Ok(())
}

/// Warnings are not failures: one line each, so they stay visible without drowning failures.
fn write_warnings(report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    let mut warnings = Vec::new();
    report.visit_warnings(|w| {
        warnings.push(format!("  {}: {}: {}", w.case.id, w.check, w.message))
    })?;
    if !warnings.is_empty() {
        writeln!(
            out,
            "\nwarnings (correct but undocumented behaviour, CONTRACT.md section 6):"
        )?;
        writeln!(out, "{}", warnings.join("\n"))?;
    }
    Ok(())
}

fn write_case_details(case: &CaseReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "--- {} {}: {}",
        case.status.label(),
        case.id,
        case.title
    )?;
    if let Some(reason) = &case.reason {
        writeln!(out, "    {reason}")?;
    }
    if let Some(paths) = case.open_text() {
        writeln!(out, "    open input (CONTRACT.md section 7): {paths}")?;
    }
    for result in &case.checks {
        match &result.verdict {
            Verdict::Pass => {}
            Verdict::Warn { .. } => {}
            Verdict::Fail(finding) => {
                writeln!(
                    out,
                    "    FAILED   {} (step {}): {}",
                    result.check,
                    crate::step_number::shown(result.step),
                    finding.message
                )?;
                writeln!(out, "      expected: {}", indent(&finding.expected))?;
                writeln!(out, "      actual:   {}", indent(&finding.actual))?;
                if let Some(exchange) = case.main_exchange(result.step) {
                    writeln!(out, "      reproduce: {}", exchange.request.to_curl())?;
                }
            }
        }
    }
    Ok(())
}

/// Continues multi-line values (snapshot diffs) under their label.
fn indent(text: &str) -> String {
    text.trim_end().replace('\n', "\n                ")
}

/// Every exchange of a case in full, for `--verbose`.
pub fn exchanges_text(case: &CaseReport) -> String {
    let mut text = String::new();
    for labelled in &case.exchanges {
        let exchange = &labelled.exchange;
        let request = &exchange.request;
        text.push_str(&format!(
            "    step {} {}: {} {}\n",
            crate::step_number::shown(labelled.step),
            labelled.label,
            request.method,
            request.url
        ));
        for (name, value) in &request.headers {
            text.push_str(&format!("      > {name}: {value}\n"));
        }
        if !request.body.is_empty() {
            text.push_str(&format!(
                "      > {}\n",
                String::from_utf8_lossy(&request.body)
            ));
        }
        match &exchange.response {
            Ok(response) => {
                text.push_str(&format!(
                    "      < {} ({:.0} ms)\n",
                    response.status, exchange.elapsed_ms
                ));
                for (name, value) in &response.headers {
                    text.push_str(&format!("      < {name}: {value}\n"));
                }
                if !response.body.is_empty() {
                    text.push_str(&format!("      < {}\n", response.body_text()));
                }
                if let Some(cut) = &response.truncated {
                    text.push_str(&format!(
                        "      < [{} of {} bytes kept ({}); --evidence-bytes keeps more]\n",
                        cut.kept, cut.length, cut.sha256
                    ));
                }
            }
            Err(error) => text.push_str(&format!("      ! {error}\n")),
        }
    }
    visible_controls(&text)
}
