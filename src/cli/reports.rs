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
    let mut out = std::io::BufWriter::new(file);
    writer.write(report, &mut out).map_err(fail)?;
    std::io::Write::flush(&mut out).map_err(fail)?;
    Ok(())
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
}
