//! `--format markdown`: a short summary for `$GITHUB_STEP_SUMMARY` or a merge-request comment:
//! the verdict, the counts, one table row per failed check, and the warnings folded away.

use super::{CaseStatus, ReportWriter, RunReport};
use crate::checks::Verdict;
use std::fmt::Write as _;
use std::io::Write;

/// Rows of the failure table before the rest is summarized in one line.
const MAX_FAILURE_ROWS: usize = 50;
/// Characters of an expected or actual value kept in a table cell.
const MAX_CELL: usize = 400;

pub struct MarkdownWriter;

impl ReportWriter for MarkdownWriter {
    fn name(&self) -> &'static str {
        "markdown"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(render(report)?.as_bytes())
    }
}

fn render(report: &RunReport) -> std::io::Result<String> {
    let summary = &report.summary;
    let mut md = String::new();
    let verdict = match report.exit_code() {
        0 => format!("✅ cmconform: PASSED ({} cases)", summary.total),
        1 => format!(
            "❌ cmconform: FAILED ({} of {} cases)",
            summary.failed, summary.total
        ),
        _ => format!(
            "⚠️ cmconform: ERRORED ({} of {} cases could not be carried out)",
            summary.errored, summary.total
        ),
    };
    let _ = writeln!(md, "## {verdict}\n");
    let target = if report.embedded {
        format!("{} (embedded reference server)", cell(&report.target))
    } else {
        cell(&report.target)
    };
    let seed = report
        .seed
        .map(|seed| format!(" · seed `{seed}`"))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Target {target} · cmconform {}{seed} · profile `{}` · contract `{}`{}\n",
        cell(&report.tool_version),
        report.profile,
        cell(crate::contract::digest::short(&report.contract_digest)),
        cell(&super::human::contract_origin(&report.contract_source))
    );
    for notice in &report.notices {
        let _ = writeln!(md, "> **Notice:** {}\n", cell(notice));
    }
    let _ = writeln!(
        md,
        "| passed | failed | skipped | errored | warnings | total |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} |\n",
        summary.passed,
        summary.failed,
        summary.skipped,
        summary.errored,
        summary.warnings,
        summary.total
    );
    failures(report, &mut md);
    folded_list(
        &mut md,
        "warning",
        "correct but undocumented behaviour, CONTRACT.md section 6",
        warnings(report)?,
    );
    folded_list(
        &mut md,
        "open input",
        "refused or treated as the canonical request, CONTRACT.md section 7",
        open_inputs(report)?,
    );
    folded_list(&mut md, "skipped case", "", skipped(report));
    Ok(md)
}

fn failures(report: &RunReport, md: &mut String) {
    let mut rows = Vec::new();
    // Only failed and errored cases have failures, and they are always in memory.
    for case in report.cases.kept() {
        if case.status == CaseStatus::Errored {
            let reason = case.reason.as_deref().unwrap_or("could not be carried out");
            rows.push(format!(
                "| {} | (errored) | | {} |",
                code(&case.id),
                cell(reason)
            ));
        }
        for result in &case.checks {
            if let Verdict::Fail(finding) = &result.verdict {
                rows.push(format!(
                    "| {} | {} (step {}) | {} | {} |",
                    code(&case.id),
                    code(result.check),
                    crate::step_number::shown(result.step),
                    cell(&finding.expected),
                    cell(&changed_lines(&finding.actual))
                ));
            }
        }
    }
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "### Failures\n\n| case | check | expected | actual |\n|---|---|---|---|"
    );
    for row in rows.iter().take(MAX_FAILURE_ROWS) {
        let _ = writeln!(md, "{row}");
    }
    if rows.len() > MAX_FAILURE_ROWS {
        let _ = writeln!(
            md,
            "\n… and {} more failed checks (see the full report).",
            rows.len() - MAX_FAILURE_ROWS
        );
    }
    md.push('\n');
}

fn warnings(report: &RunReport) -> std::io::Result<Vec<String>> {
    let mut items = Vec::new();
    report.visit_warnings(|w| {
        items.push(format!(
            "- {} {}: {}",
            code(&w.case.id),
            code(w.check),
            cell(w.message)
        ))
    })?;
    Ok(items)
}

/// Which path the server took on each open input.
fn open_inputs(report: &RunReport) -> std::io::Result<Vec<String>> {
    let mut items = Vec::new();
    for case in report.cases.full() {
        let case = case?;
        if let Some(paths) = case.open_text() {
            items.push(format!("- {}: {}", code(&case.id), cell(&paths)));
        }
    }
    Ok(items)
}

fn skipped(report: &RunReport) -> Vec<String> {
    report
        .cases
        .kept()
        .filter(|case| case.status == CaseStatus::Skipped)
        .map(|case| {
            let reason = case.reason.as_deref().unwrap_or("skipped");
            format!("- {}: {}", code(&case.id), cell(reason))
        })
        .collect()
}

/// Of a unified diff (a snapshot failure), only the changed lines: what fits in a table cell.
fn changed_lines(text: &str) -> String {
    let is_diff = text.starts_with("--- ") && text.lines().any(|line| line.starts_with("@@ "));
    if !is_diff {
        return text.to_string();
    }
    text.lines()
        .filter(|line| {
            (line.starts_with('+') || line.starts_with('-'))
                && !line.starts_with("+++")
                && !line.starts_with("---")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `<details>` holding a bullet list, so long lists do not push the failures off screen.
fn folded_list(md: &mut String, noun: &str, note: &str, items: Vec<String>) {
    if items.is_empty() {
        return;
    }
    let plural = if items.len() == 1 { "" } else { "s" };
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(" ({note})")
    };
    let _ = writeln!(
        md,
        "<details><summary>{} {noun}{plural}{note}</summary>\n\n{}\n\n</details>\n",
        items.len(),
        items.join("\n")
    );
}

/// Text for a table cell or a list item: Markdown and HTML metacharacters escaped, newlines as
/// `<br>`, long values cut.
fn cell(text: &str) -> String {
    let text = text.trim_end();
    let cut: String = text.chars().take(MAX_CELL).collect();
    let mut out = String::with_capacity(cut.len() + 16);
    for c in cut.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    if cut.len() < text.len() {
        out.push('…');
    }
    out
}

/// An identifier as inline code (pipes still escaped: GitHub splits cells on them even there).
fn code(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let fence = if clean.contains('`') { "`` " } else { "`" };
    let close = if clean.contains('`') { " ``" } else { "`" };
    format!("{fence}{}{close}", clean.replace('|', "\\|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_the_table_intact() {
        assert_eq!(cell("a|b\nc"), "a\\|b<br>c");
        assert_eq!(cell("<script>"), "&lt;script&gt;");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert!(cell(&"x".repeat(1000)).ends_with('…'));
        let diff =
            "--- snapshot\n+++ observed\n@@ -1,3 +1,3 @@\n a\n-  \"Status\": 8,\n+  \"Status\": 7,";
        assert_eq!(changed_lines(diff), "-  \"Status\": 8,\n+  \"Status\": 7,");
    }
}
