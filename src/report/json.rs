//! `--format json`: the [`RunReport`] as documented by `schemas/report.schema.json`.

use super::{ReportWriter, RunReport};
use std::io::Write;

pub struct JsonWriter;

impl ReportWriter for JsonWriter {
    fn name(&self) -> &'static str {
        "json"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, report)?;
        writeln!(out)
    }
}
