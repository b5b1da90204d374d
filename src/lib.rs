//! cmconform: a conformance harness for the MIM Certificate Management REST API operation
//! `PUT /CertificateManagement/api/v1.0/requests/{id}`.
//!
//! Data flows one way through the modules:
//! `contract` (fixtures, schemas) -> `plan` (planned cases; `generate` and `sequences` add
//! families) -> `exec` (executed exchanges, via `client`, `auth` and `provider`) -> `checks`
//! (check results, with `snapshot`) -> `report` (writers).
//! `policy` decides what the runner may send and trust. `server` is the embedded reference
//! server with its fault catalogue; `run` wires one run together; `load` runs the life cycle at
//! a constant arrival rate and judges every answer; `selftest` runs `run` against every fault;
//! `dry_run` and `doctor` look before anything is sent; `redact` decides what people may see;
//! `capped` bounds every body read; `step_number` numbers steps (and race rounds) from 1
//! wherever they are shown; `merge` joins the reports of shards; `export` writes the contract as OpenAPI; `cli` is the
//! command line, and `flag_env` names the environment variable of each of its flags.
//!
//! Unsafe code is denied everywhere but `auth::gssapi`, which calls the Kerberos library that
//! `--auth negotiate` loads at run time.
#![deny(unsafe_code)]

pub mod auth;
pub mod capped;
pub mod checks;
pub mod cli;
pub mod client;
pub mod contract;
pub mod doctor;
pub mod dry_run;
pub mod exec;
pub mod export;
pub mod flag_env;
pub mod generate;
pub mod load;
pub mod merge;
pub mod plan;
pub mod policy;
pub mod provider;
pub mod redact;
pub mod report;
pub mod run;
pub mod selftest;
pub mod sequences;
pub mod server;
pub mod snapshot;
pub mod step_number;
