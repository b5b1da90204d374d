//! `--report FORMAT=PATH` (repeatable): report files written by one run, in any number of
//! formats at once, besides the console output of `--format`/`--output`. The format and the
//! path's directory are checked while the flags are parsed, before the run starts.

use super::UsageError;
use crate::report::{self, RunReport};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    /// Also write the report in FORMAT to PATH (repeatable), e.g. `--report junit=out.xml
    /// --report html=out.html`. FORMAT: human, json, junit, html, markdown, tap, har.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_spec)]
    pub reports: Vec<ReportSpec>,
}

/// One `--report` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: String,
    pub path: PathBuf,
}

impl ReportSpec {
    /// The flag as the user wrote it, for error messages.
    pub fn flag(&self) -> String {
        format!("--report {}={}", self.format, self.path.display())
    }
}

/// Parses `FORMAT=PATH`: a known format, a non-empty path whose directory exists and that is not
/// itself a directory.
pub fn parse_spec(value: &str) -> Result<ReportSpec, String> {
    let Some((format, path)) = value.split_once('=') else {
        return Err(format!(
            "expected FORMAT=PATH, e.g. junit=out.xml (formats: {})",
            report::FORMATS.join(", ")
        ));
    };
    let format = format.trim();
    if report::writer_for(format).is_none() {
        return Err(format!(
            "unknown report format '{format}' (formats: {})",
            report::FORMATS.join(", ")
        ));
    }
    if path.is_empty() {
        return Err(format!("no path after '{format}='"));
    }
    let path = PathBuf::from(path);
    if path.is_dir() {
        return Err(format!("'{}' is a directory", path.display()));
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "cannot write '{}': directory '{}' does not exist",
            path.display(),
            parent.display()
        ));
    }
    Ok(ReportSpec {
        format: format.to_string(),
        path,
    })
}

/// Writes every requested report. A file that cannot be written does not stop the others; the
/// failures are returned together (a usage error: exit 2).
pub fn write_all(specs: &[ReportSpec], report: &RunReport) -> anyhow::Result<()> {
    let errors: Vec<String> = specs
        .iter()
        .filter_map(|spec| write_one(spec, report).err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(UsageError(errors.join("\n")).into())
    }
}

fn write_one(spec: &ReportSpec, report: &RunReport) -> Result<(), String> {
    let writer = report::writer_for(&spec.format)
        .ok_or_else(|| format!("{}: unknown report format", spec.flag()))?;
    let fail = |error: std::io::Error| format!("{}: cannot write: {error}", spec.flag());
    let file = std::fs::File::create(&spec.path).map_err(fail)?;
    write_file(&spec.path, file, writer.as_ref(), report).map_err(fail)
}

/// Writes `report` with `writer` into `file`, just created at `path` (a `--report` or
/// `--output` file). A report that cannot be written whole (the evidence spool cannot be read
/// back, the disk is full) is removed: a truncated file left in place is what CI would publish
/// as the run's report. Only a regular file is removed, never a device or a pipe the user named
/// (`--output /dev/stderr`), nor what a symbolic link points to.
pub(super) fn write_file(
    path: &Path,
    file: std::fs::File,
    writer: &dyn report::ReportWriter,
    report: &RunReport,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(file);
    let written = writer
        .write(report, &mut out)
        .and_then(|()| std::io::Write::flush(&mut out));
    if written.is_err() {
        // Not flushed again on drop: what is left in the buffer is part of the broken report.
        drop(out.into_parts());
        let regular = std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_file());
        if regular {
            let _ = std::fs::remove_file(path);
        }
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_known_format_and_a_writable_place() {
        let spec = parse_spec("junit=out.xml");
        assert_eq!(
            spec,
            Ok(ReportSpec {
                format: "junit".into(),
                path: "out.xml".into()
            })
        );
        let error = parse_spec("nope=x").err().unwrap_or_default();
        assert!(error.contains("'nope'"), "{error}");
        assert!(parse_spec("html").is_err());
        assert!(parse_spec("html=").is_err());
        assert!(parse_spec("html=/no/such/dir/r.html").is_err());
        assert!(parse_spec("tap=.").is_err());
    }

    /// A run whose evidence spool cannot be read back: its passing case was pushed but the
    /// spool never flushed (its buffer holds far more than one case), so reading it back finds
    /// an empty file.
    fn unreadable_report() -> RunReport {
        let mut store = crate::report::CaseStore::spooling();
        let passed = crate::report::fixtures::case("p", &["a"], report::CaseStatus::Passed);
        store.push(passed);
        let mut report = crate::report::fixtures::run_report(Vec::new(), false);
        report.summary = store.summary().clone();
        report.cases = store;
        report
    }

    #[test]
    fn a_report_that_cannot_be_written_whole_is_removed_and_named() {
        let dir = std::env::temp_dir().join(format!("cmconform-partial-{}", uuid::Uuid::new_v4()));
        if let Err(error) = std::fs::create_dir(&dir) {
            panic!("{}: {error}", dir.display());
        }
        let report = unreadable_report();
        for format in ["junit", "html", "json", "human"] {
            let path = dir.join(format!("report.{format}"));
            std::fs::write(&path, "an older report").unwrap_or_else(|e| panic!("{e}"));
            let spec = ReportSpec {
                format: format.into(),
                path: path.clone(),
            };
            let error = write_all(std::slice::from_ref(&spec), &report)
                .err()
                .map(|e| e.to_string());
            let error = error.unwrap_or_else(|| panic!("{format}: written from an empty spool"));
            assert!(error.contains(&spec.flag()), "{format}: {error}");
            assert!(!path.exists(), "{format}: a partial report left in place");
        }
        // A readable run is still written whole, and kept.
        let path = dir.join("whole.xml");
        let spec = ReportSpec {
            format: "junit".into(),
            path: path.clone(),
        };
        let whole = crate::report::fixtures::run_report(Vec::new(), true);
        assert!(write_all(&[spec], &whole).is_ok());
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(written.trim_end().ends_with("</testsuites>"), "{written}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
