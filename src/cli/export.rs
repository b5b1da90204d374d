//! `cmconform export openapi`: the contract as an OpenAPI document for other tools.

use super::{UsageError, output};
use crate::contract::Contract;
use crate::export::OpenApiVersion;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// An OpenAPI document (JSON) of PUT and GET on /CertificateManagement/api/v1.0/requests/{id},
    /// generated from schemas/, fixtures/ and CONTRACT.md, for Schemathesis, Dredd, Postman.
    Openapi(OpenapiArgs),
}

#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// OpenAPI version: 3.1 (JSON Schema 2020-12 as is) or 3.0 (down-converted).
    #[arg(long, value_name = "V", default_value = "3.1", value_parser = OpenApiVersion::parse)]
    pub version: OpenApiVersion,
    /// Write the document to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Directory holding schemas/, fixtures/ and snapshots/ [default: as for `run`].
    #[arg(long, value_name = "DIR")]
    pub contract: Option<PathBuf>,
}

pub fn export_command(args: ExportArgs) -> anyhow::Result<i32> {
    let ExportCommand::Openapi(args) = args.what;
    let source = super::contract_source(args.contract.as_ref());
    let contract = Contract::from_source(source)?;
    let digest = crate::contract::digest::contract_digest(&contract.source)?;
    let document = crate::export::openapi(&contract, &digest, args.version)?;
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|error| {
            UsageError(format!(
                "--output {}: cannot write: {error}",
                path.display()
            ))
        })?,
        None => output::to_stdout(|out| out.write_all(text.as_bytes()))?,
    }
    Ok(crate::report::exit::PASSED)
}
