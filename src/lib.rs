//! cmconform: a conformance harness for the MIM Certificate Management REST API operation
//! `PUT /CertificateManagement/api/v1.0/requests/{id}`.
//!
//! Data flows one way through the modules:
//! `contract` (fixtures, schemas) -> `plan` (planned cases; `generate` and `sequences` add
//! families) -> `exec` (executed exchanges, via `client`, `auth` and `provider`) -> `checks`
//! (check results, with `snapshot`) -> `report` (writers).
//! `server` is the embedded reference server with its fault catalogue; `run` wires one run
//! together; `selftest` runs it against every fault; `dry_run` and `doctor` look before
//! anything is sent; `redact` decides what people may see; `merge` joins the
//! reports of shards; `export` writes the contract as OpenAPI; `cli` is the command line.

pub mod auth;
pub mod checks;
pub mod cli;
pub mod client;
pub mod contract;
pub mod doctor;
pub mod dry_run;
pub mod exec;
pub mod export;
pub mod generate;
pub mod merge;
pub mod plan;
pub mod provider;
pub mod redact;
pub mod report;
pub mod run;
pub mod selftest;
pub mod sequences;
pub mod server;
pub mod snapshot;
