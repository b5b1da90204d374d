//! `--format tap`: TAP version 14 (<https://testanything.org/tap-version-14-specification.html>):
//! one test point per case in plan order, skipped cases with a `# SKIP` directive, and a YAML
//! diagnostic block under each failing or errored case with every failed check.

use super::{CaseReport, CaseStatus, ReportWriter, RunReport, summary_line};
use crate::checks::Verdict;
use std::io::Write;

pub struct TapWriter;

impl ReportWriter for TapWriter {
    fn name(&self) -> &'static str {
        "tap"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "TAP version 14")?;
        let target = if report.embedded {
            format!("{} (embedded reference server)", report.target)
        } else {
            report.target.clone()
        };
        writeln!(
            out,
            "# cmconform {} against {}",
            one_line(&report.tool_version),
            one_line(&target)
        )?;
        writeln!(
            out,
            "# contract {}{}",
            one_line(&report.contract_digest),
            super::human::contract_origin(&one_line(&report.contract_source))
        )?;
        if let Some(seed) = report.seed {
            writeln!(out, "# seed {seed}")?;
        }
        writeln!(out, "# profile {}", report.profile)?;
        for notice in &report.notices {
            writeln!(out, "# NOTICE: {}", one_line(notice))?;
        }
        writeln!(out, "1..{}", report.cases.len())?;
        for (index, case) in report.cases.full().enumerate() {
            test_point(index + 1, &*case?, out)?;
        }
        writeln!(out, "# {}", summary_line(&report.summary))
    }
}

fn test_point(number: usize, case: &CaseReport, out: &mut dyn Write) -> std::io::Result<()> {
    write_point(number, case, out)?;
    match case.open_text() {
        Some(paths) => writeln!(out, "# open input: {}", one_line(&paths)),
        None => Ok(()),
    }
}

fn write_point(number: usize, case: &CaseReport, out: &mut dyn Write) -> std::io::Result<()> {
    let description = description(&case.id);
    match case.status {
        CaseStatus::Passed => {
            writeln!(out, "ok {number} - {description}")?;
            for result in &case.checks {
                if let Verdict::Warn { message } = &result.verdict {
                    writeln!(out, "# warning: {}: {}", result.check, one_line(message))?;
                }
            }
            Ok(())
        }
        CaseStatus::Skipped => {
            let reason = case.reason.as_deref().unwrap_or("skipped");
            writeln!(
                out,
                "ok {number} - {description} # SKIP {}",
                one_line(reason)
            )
        }
        CaseStatus::Failed | CaseStatus::Errored => {
            writeln!(out, "not ok {number} - {description}")?;
            diagnostics(case, out)
        }
    }
}

/// The YAML block (indented two spaces, between `---` and `...`). Scalars are written as JSON
/// strings, which YAML reads as double-quoted scalars, so any text is safe in them.
fn diagnostics(case: &CaseReport, out: &mut dyn Write) -> std::io::Result<()> {
    let failed: Vec<_> = case
        .checks
        .iter()
        .filter_map(|result| match &result.verdict {
            Verdict::Fail(finding) => Some((result, finding)),
            _ => None,
        })
        .collect();
    let message = match (&case.reason, failed.as_slice()) {
        (Some(reason), _) => reason.clone(),
        (None, [(result, finding)]) => format!("{}: {}", result.check, finding.message),
        (None, _) => format!(
            "failed checks: {}",
            failed
                .iter()
                .map(|(result, _)| result.check)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    writeln!(out, "  ---")?;
    writeln!(out, "  message: {}", quoted(&message))?;
    let severity = if case.status == CaseStatus::Errored {
        "error"
    } else {
        "fail"
    };
    writeln!(out, "  severity: {severity}")?;
    if let Some((result, _)) = failed.first() {
        writeln!(out, "  check: {}", quoted(result.check))?;
    }
    writeln!(out, "  title: {}", quoted(&case.title))?;
    writeln!(out, "  section: {}", quoted(&case.section))?;
    if !failed.is_empty() {
        writeln!(out, "  failures:")?;
        for (result, finding) in &failed {
            writeln!(out, "    - check: {}", quoted(result.check))?;
            writeln!(
                out,
                "      step: {}",
                crate::step_number::shown(result.step)
            )?;
            writeln!(out, "      message: {}", quoted(&finding.message))?;
            writeln!(out, "      expected: {}", quoted(&finding.expected))?;
            writeln!(out, "      actual: {}", quoted(&finding.actual))?;
            if let Some(exchange) = case.main_exchange(result.step) {
                writeln!(
                    out,
                    "      reproduce: {}",
                    quoted(&exchange.request.to_curl())
                )?;
            }
        }
    }
    writeln!(out, "  ...")
}

/// A YAML double-quoted scalar. Every character YAML does not allow raw in a stream (C0 and C1
/// controls, DEL, U+FFFE/U+FFFF) is written as a `\u` escape, as are the line breaks.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{feff}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A description may not hold `#` unescaped (it starts a directive), nor a line break.
fn description(id: &str) -> String {
    one_line(id).replace('\\', "\\\\").replace('#', "\\#")
}

fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_cannot_open_a_directive() {
        assert_eq!(description("a # SKIP\nb"), "a \\# SKIP b");
        assert_eq!(quoted("a\"b\nc"), "\"a\\\"b\\nc\"");
        assert_eq!(quoted("\u{0}\u{85}é"), "\"\\u0000\\u0085é\"");
    }
}
