//! `cmconform merge REPORT.json...`: the report of a partitioned run from its shards' JSON
//! reports, in any format.

use super::{UsageError, reports};
use crate::report;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports of the shards (`cmconform run --partition k/n --report json=PATH`), one per
    /// shard 1..n, in any order.
    #[arg(value_name = "REPORT.json", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Format of the merged report.
    #[arg(long, default_value = "human", value_parser = report::FORMATS)]
    pub format: String,
    /// Write the merged report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub reports: reports::ReportArgs,
}

/// Exit 2 when the reports do not fit together; else the merged run's own exit code.
pub fn merge_command(args: MergeArgs) -> anyhow::Result<i32> {
    let shards = args
        .inputs
        .iter()
        .map(|path| crate::merge::read_report(path))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = crate::merge::merge(shards)?;
    let writer = report::writer_for(&args.format)
        .ok_or_else(|| UsageError(format!("--format {}: unknown", args.format)))?;
    match &args.output {
        Some(path) => {
            let fail = |error: std::io::Error| {
                UsageError(format!(
                    "--output {}: cannot write: {error}",
                    path.display()
                ))
            };
            let file = std::fs::File::create(path).map_err(fail)?;
            reports::write_file(path, file, writer.as_ref(), &merged).map_err(fail)?;
        }
        None => super::output::to_stdout(|out| writer.write(&merged, out))?,
    }
    reports::write_all(&args.reports.reports, &merged)?;
    Ok(merged.exit_code())
}
