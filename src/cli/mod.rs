//! The command line: flag parsing (clap) and dispatch to `run`, `serve`, `list`, `checks`,
//! `selftest`, `merge` and `export`. Exit codes are the constants of `report::exit`: a usage
//! error is 2 here; a run's code is its report's, and `doctor`, `selftest` and `load` decide
//! their own with the same constants.

mod bounds;
pub mod config;
mod connection;
mod console;
mod export;
mod load;
mod merge;
pub mod output;
mod reports;
pub mod runtime;

use crate::contract::{Contract, ContractSource};
use crate::report::{self, RunReport, exit};
use crate::run::{self, RunOptions, StateSource};
use crate::server::Dialect;
use crate::snapshot::SnapshotMode;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

const EXIT_CODES: &str = "Exit codes:
  0  every case passed (warnings allowed)
  1  at least one check failed (including malformed answers and timeouts from the target)
  2  the run could not be carried out (bad flags or contract files, target unreachable,
     provider state failed)";

#[derive(Debug, Parser)]
#[command(
    name = "cmconform",
    version,
    about = "Conformance harness for the MIM CM REST API: PUT /CertificateManagement/api/v1.0/requests/{id}",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Configuration file [default: ./cmconform.toml when present]. Any flag may be set there or
    /// as CMCONFORM_<FLAG>; command-line flags win over the environment, which wins over the file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance suite (against the embedded reference server without --base-url).
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Run the reference server alone, logging each exchange.
    Serve(ServeArgs),
    /// Conformance under sustained load: the life cycle at a constant arrival rate, every
    /// answer checked, latency percentiles per operation, gates on p99 and error rate.
    Load(Box<load::LoadArgs>),
    /// List the planned cases with their tags and provider states.
    List(ListArgs),
    /// List the checks the harness runs.
    Checks,
    /// Write a commented starter cmconform.toml and an example --ids file.
    Init(InitArgs),
    /// Check a real deployment step by step (DNS, TCP, TLS, authentication, API enabled); sends
    /// no PUT. Exit 0 when every step is ok, 2 otherwise.
    Doctor(Box<connection::DoctorArgs>),
    /// Prove the harness: run the suite against the conformant server and against every fault.
    #[command(
        after_help = "Exit codes:\n  0  the conformant server passes and every fault is caught by its intended check\n  1  a false positive, or a fault not caught\n  2  the self-test could not be carried out"
    )]
    Selftest(SelftestArgs),
    /// Join the JSON reports of the shards of a --partition run into one report (any format).
    #[command(
        after_help = "Exit codes:\n  0, 1  as the merged run: every case passed, or a check failed\n  2  the reports do not fit together (another contract digest, version or seed; a shard\n     missing or given twice; a case in two shards), or the merged run had errored cases"
    )]
    Merge(merge::MergeArgs),
    /// Write the contract in another tool's format (`export openapi`).
    Export(export::ExportArgs),
}

#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Matrix format.
    #[arg(long, default_value = "human", value_parser = ["human", "json"])]
    pub format: String,
    /// Only these faults (repeatable) [default: the whole catalogue].
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    /// Only these dialects of the reference server (repeatable; see `cmconform list
    /// --dialects`) [default: every dialect].
    #[arg(long, value_name = "NAME", value_parser = dialect_arg)]
    pub dialect: Vec<&'static Dialect>,
    /// Suites run at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    #[arg(long, value_name = "DIR")]
    pub contract: Option<PathBuf>,
    /// Rewrite the matrix between the selftest markers of README.md (in the current directory);
    /// the whole matrix only, so it cannot be combined with --fault or --dialect.
    #[arg(long, conflicts_with_all = ["fault", "dialect"])]
    pub readme: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ContractArgs {
    /// Directory holding schemas/, fixtures/ and snapshots/ [default: ./ when it has fixtures/,
    /// else the copy built into cmconform]
    #[arg(long, value_name = "DIR")]
    pub contract: Option<PathBuf>,
    /// Only cases whose id contains PATTERN or matches it as a glob (repeatable).
    #[arg(long, value_name = "PATTERN", value_parser = crate::plan::parse_filter)]
    pub filter: Vec<String>,
    /// Only cases with this tag or family (fixture, generated, sequence, race); repeatable.
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Leave out cases with this tag or family (repeatable).
    #[arg(long, value_name = "TAG")]
    pub skip_tag: Vec<String>,
    /// Run one shard: k/n (or hash:k/n) takes the cases whose id hashes to shard k of n.
    #[arg(long, value_name = "K/N", value_parser = crate::plan::Partition::parse)]
    pub partition: Option<crate::plan::Partition>,
    /// Add N generated negative and edge inputs derived from schemas/ (at most 1000000).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32).range(..=i64::from(bounds::MAX_GENERATE)))]
    pub generate: u32,
    /// Seed of the generated inputs: the same seed gives the same cases in the same order
    /// [default: random, printed in the report].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Leave out the life-cycle table and multi-step sequences.
    #[arg(long)]
    pub no_lifecycle: bool,
    /// Conflicting PUTs sent at once in the concurrency case.
    /// At most half the open-file limit (`ulimit -n`): each PUT holds a socket, and the embedded
    /// server one more.
    #[arg(long, value_name = "K", default_value_t = 8, value_parser = bounds::race_concurrency)]
    pub race_concurrency: u16,
    /// Rounds of the concurrency case (0 leaves it out).
    #[arg(long, value_name = "R", default_value_t = 5)]
    pub race_rounds: u16,
}

impl ContractArgs {
    fn selection(&self) -> crate::plan::Selection {
        crate::plan::Selection {
            filters: self.filter.clone(),
            tags: self.tag.clone(),
            skip_tags: self.skip_tag.clone(),
            partition: self.partition,
        }
    }

    fn families(&self) -> run::Families {
        run::Families {
            generate: usize::try_from(self.generate).unwrap_or(usize::MAX),
            seed: self
                .seed
                .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0 % 1_000_000),
            lifecycle: !self.no_lifecycle,
            race_concurrency: usize::from(self.race_concurrency),
            race_rounds: usize::from(self.race_rounds),
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Host the API is deployed on, e.g. https://api.contoso.com, with the virtual directory if
    /// any (https://h/cm); the documented path is appended. No query or fragment.
    #[arg(long, value_name = "URL", value_parser = bounds::base_url)]
    pub base_url: Option<String>,
    /// Provider-state endpoint: POST {"state": S, "params": {}, "action": "setup"} answers
    /// {"id": GUID} or {"result": {"id": GUID}} (Pact's provider-state protocol).
    #[arg(long, value_name = "URL", conflicts_with = "ids")]
    pub state_url: Option<String>,
    /// Credentials for --state-url: none (only --state-header), or same (the run's --auth
    /// mode and -H headers, NTLM included).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = crate::provider::StateAuth::None, requires = "state_url")]
    pub state_auth: crate::provider::StateAuth,
    /// Header added to every --state-url request, curl-style 'Name: value' (repeatable).
    #[arg(long = "state-header", value_name = "HEADER", requires = "state_url")]
    pub state_headers: Vec<String>,
    /// JSON object from a Pact provider-state description to one of our states, e.g.
    /// {"a request in state Approved": "approved"}: the description is sent instead of the name.
    #[arg(long, value_name = "FILE", requires = "state_url")]
    pub state_map: Option<PathBuf>,
    /// After each case, POST {"state", "params": {"id": GUID}, "action": "teardown"} for every
    /// request it staged through --state-url.
    #[arg(long, requires = "state_url")]
    pub state_teardown: bool,
    /// JSON map from state name to GUIDs staged on the target; each id is used once.
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,
    /// Header added to every request, curl-style 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Report format.
    #[arg(long, default_value = "human", value_parser = report::FORMATS)]
    pub format: String,
    /// Write the report to FILE instead of standard output (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Seconds to wait for each answer (at most 86400).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = bounds::seconds)]
    pub timeout: Duration,
    /// Cases run at once [default: 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Most requests per second sent to the target, e.g. 50/s or 600/min (a shared deployment)
    /// [default: no limit].
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<crate::client::Rate>,
    /// Rewrite snapshots/ from this run's answers (review the diff before committing).
    #[arg(long)]
    pub update_snapshots: bool,
    /// Stop starting cases after the first failure (the rest are reported as skipped).
    #[arg(long)]
    pub fail_fast: bool,
    /// How open inputs are judged (CONTRACT.md section 7): documented passes a refusal or an
    /// answer equivalent to the canonical request; strict requires every open input to be
    /// refused and fails extra Request fields, chunked answers and HTML error pages.
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = crate::contract::profile::Profile::Documented)]
    pub profile: crate::contract::profile::Profile,
    /// Skipped cases (no staged id for their state, not started after --fail-fast) do not fail
    /// the run. Without it any skip exits 1: an untested case is no pass.
    #[arg(long)]
    pub allow_skips: bool,
    /// Bytes of each answer body a failing case keeps in reports; beyond it the report keeps
    /// the body's length and SHA-256 and says it was cut. Passing cases keep at most 4 KiB.
    /// Checks always judge the whole body.
    #[arg(long, value_name = "BYTES", default_value_t = crate::report::DEFAULT_EVIDENCE_BYTES, value_parser = clap::value_parser!(usize))]
    pub evidence_bytes: usize,
    /// Plan only: print each request as a curl command (secrets masked) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Console: only failures and the summary line.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Console: every exchange of every case, in full.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Break one rule in the embedded server (see `cmconform list --faults`); embedded only.
    #[arg(long, value_name = "NAME", conflicts_with = "base_url")]
    pub fault: Option<String>,
    /// How the embedded server answers where the contract leaves a choice (see `cmconform list
    /// --dialects`); embedded only.
    #[arg(long, value_name = "NAME", default_value = "strict", value_parser = dialect_arg, conflicts_with = "base_url")]
    pub dialect: &'static Dialect,
    #[command(flatten)]
    pub contract: ContractArgs,
    #[command(flatten)]
    pub reports: reports::ReportArgs,
    #[command(flatten)]
    pub connection: connection::ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to write into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Break one rule of the contract (see `cmconform list --faults`).
    #[arg(long, value_name = "NAME")]
    pub fault: Option<String>,
    /// How to answer where the contract leaves a choice (see `cmconform list --dialects`).
    #[arg(long, value_name = "NAME", default_value = "strict", value_parser = dialect_arg)]
    pub dialect: &'static Dialect,
    /// Accept only this exact Authorization value [default: any non-empty value].
    #[arg(long, value_name = "VALUE")]
    pub credential: Option<String>,
    #[command(flatten)]
    pub auth: connection::ServeAuthArgs,
    /// Seconds a request head may take to arrive; idle kept-alive, partial and trickled
    /// connections are closed after it.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = bounds::seconds)]
    pub header_timeout: Duration,
    /// Seconds a connection may make no progress while the server reads a body or writes an
    /// answer before it is closed.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = bounds::seconds)]
    pub idle_timeout: Duration,
    /// Seconds a request body may take to arrive in full once its head is in; a trickled body
    /// is refused (400) and its connection closed after it.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = bounds::seconds)]
    pub body_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is accepted.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=i64::from(bounds::MAX_CONNECTIONS)))]
    pub max_connections: u32,
    /// Staged requests kept; past it the least recently used one is evicted (the documented
    /// example is always kept).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=i64::from(bounds::MAX_REQUESTS)))]
    pub max_requests: u32,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the reference server's fault catalogue instead of the cases.
    #[arg(long, conflicts_with = "dialects")]
    pub faults: bool,
    /// List the reference server's dialects instead of the cases.
    #[arg(long)]
    pub dialects: bool,
    /// Print an --ids file for the selected cases instead: per state exactly as many
    /// placeholder GUIDs as they need, to replace with ids staged on the target.
    #[arg(long, conflicts_with_all = ["faults", "dialects"])]
    pub ids_template: bool,
    #[command(flatten)]
    pub contract: ContractArgs,
}

/// Runs the parsed command and returns the process exit code. Commands that talk to the
/// network build their runtime here ([`runtime`]); a run builds its own once it knows its plan.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run_command(*args),
        Command::Serve(args) => runtime::block_on(runtime::multi_thread()?, serve_command(args)),
        Command::Load(args) => {
            runtime::block_on(runtime::multi_thread()?, load::load_command(*args))
        }
        Command::List(args) => list_command(args),
        Command::Checks => checks_command(),
        Command::Doctor(args) => {
            runtime::block_on(runtime::multi_thread()?, connection::doctor_command(*args))
        }
        Command::Init(args) => init_command(args),
        Command::Selftest(args) => {
            runtime::block_on(runtime::multi_thread()?, selftest_command(args))
        }
        Command::Merge(args) => merge::merge_command(args),
        Command::Export(args) => export::export_command(args),
    }
}

/// Where the contract comes from: `--contract DIR`, or the working directory when it has
/// `fixtures/` (a checkout, or a vendor's own copy), or the copy built into the binary (so an
/// installed cmconform runs from anywhere).
pub fn contract_source(explicit: Option<&PathBuf>) -> ContractSource {
    if let Some(dir) = explicit {
        return ContractSource::Dir(dir.clone());
    }
    if PathBuf::from("fixtures").is_dir() {
        return ContractSource::Dir(PathBuf::from("."));
    }
    ContractSource::Embedded
}

fn options_for(explicit: Option<&PathBuf>) -> RunOptions {
    let mut options = RunOptions::new(PathBuf::from("."));
    options.contract = contract_source(explicit);
    options
}

fn parse_fault(name: Option<&str>) -> anyhow::Result<Option<crate::server::Fault>> {
    let Some(name) = name else { return Ok(None) };
    crate::server::Fault::from_name(name)
        .map(Some)
        .ok_or_else(|| {
            anyhow::anyhow!(UsageError(format!(
                "--fault '{name}': unknown fault (see `cmconform list --faults`)"
            )))
        })
}

/// `--dialect NAME`: one of the reference server's dialects.
fn dialect_arg(name: &str) -> Result<&'static Dialect, String> {
    Dialect::from_name(name).ok_or_else(|| {
        format!(
            "unknown dialect '{name}': expected one of {}",
            Dialect::names().join(", ")
        )
    })
}

/// `--rate` (clap adds the flag's name to the message).
fn parse_rate(text: &str) -> Result<crate::client::Rate, String> {
    crate::client::Rate::parse(text)
}

/// A flag the user got wrong: exit 2 with the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Flags that only mean something for a `--base-url` target: without one they would be
/// ignored while the run passes against the embedded server.
fn needs_base_url(args: &RunArgs) -> Result<(), UsageError> {
    let connection = &args.connection;
    let given = [
        ("--ids", args.ids.is_some()),
        ("--state-url", args.state_url.is_some()),
        ("--cacert", connection.cacert.is_some()),
        ("--cert", connection.cert.is_some()),
        ("--key", connection.key.is_some()),
        ("--proxy", connection.proxy.is_some()),
        ("--insecure", connection.insecure),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) if args.base_url.is_none() => Err(UsageError(format!(
            "{flag} applies to a --base-url target; without --base-url the run uses the \
             embedded server (set --base-url, {} or base_url in cmconform.toml)",
            crate::flag_env::env_name("base-url")
        ))),
        _ => Ok(()),
    }
}

fn run_options(args: &RunArgs) -> anyhow::Result<RunOptions> {
    needs_base_url(args)?;
    let mut options = options_for(args.contract.contract.as_ref());
    options.base_url = args.base_url.clone();
    options.states = match (&args.state_url, &args.ids) {
        (Some(url), _) => StateSource::Url(url.clone()),
        (None, Some(path)) => StateSource::IdsFile(path.clone()),
        (None, None) => StateSource::None,
    };
    options.headers = args
        .headers
        .iter()
        .map(|header| crate::client::HttpClient::parse_header(header))
        .collect::<Result<_, _>>()
        .map_err(|error| UsageError(error.to_string()))?;
    options.timeout = args.timeout;
    options.state_auth = args.state_auth;
    options.state_headers = args
        .state_headers
        .iter()
        .map(|header| crate::client::HttpClient::parse_header(header))
        .collect::<Result<_, _>>()
        .map_err(|error| UsageError(format!("--state-header: {error}")))?;
    options.pact_states =
        crate::provider::PactStates::new(args.state_map.as_deref(), args.state_teardown)
            .map_err(|error| UsageError(format!("--state-map {error}")))?;
    if let Some(jobs) = args.jobs {
        options.jobs = usize::from(jobs);
    }
    options.rate = args.rate;
    options.selection = args.contract.selection();
    options.families = args.contract.families();
    options.fail_fast = args.fail_fast;
    options.profile = args.profile;
    options.allow_skips = args.allow_skips;
    options.evidence_bytes = args.evidence_bytes;
    options.connection = args.connection.connection()?;
    options.snapshot_mode = match (args.update_snapshots, &options.contract) {
        (false, _) => SnapshotMode::Compare,
        (true, ContractSource::Dir(_)) => SnapshotMode::Update,
        (true, ContractSource::Embedded) => {
            return Err(UsageError(
                "--update-snapshots: the built-in contract cannot be updated; run in a checkout or pass --contract DIR".into(),
            )
            .into());
        }
    };
    options.embedded_fault = parse_fault(args.fault.as_deref())?;
    options.embedded_dialect = args.dialect;
    Ok(options)
}

fn run_command(args: RunArgs) -> anyhow::Result<i32> {
    let options = run_options(&args)?;
    if args.dry_run {
        return dry_run_command(&options);
    }
    let output = open_output(&args)?;
    let to_file = args.output.as_ref().is_some_and(|path| !is_stdout(path));
    let stream_to_console = args.format == "human" || to_file;
    let verbosity = match (args.quiet, args.verbose) {
        (true, _) => console::Verbosity::Quiet,
        (_, true) => console::Verbosity::Verbose,
        _ => console::Verbosity::Normal,
    };
    let mut console = console::Console::new(verbosity);
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = std::time::Instant::now();
    let observe = |event: run::RunEvent| {
        if stream_to_console {
            console.observe(event);
        }
    };
    let outcome = match run::prepare(&options) {
        Ok(prepared) => runtime::block_on(
            runtime::for_run(prepared.total())?,
            run::execute(&options, prepared, observe),
        ),
        Err(error) => Err(error),
    };
    console.finish();
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            let stopped = run::stopped_report(&options, &error, started_at, started);
            return Err(write_stopped_reports(&args, &stopped, output, error.into()));
        }
    };
    write_report(&args, &report, output, stream_to_console)?;
    Ok(report.exit_code())
}

fn dry_run_command(options: &RunOptions) -> anyhow::Result<i32> {
    let contract = Contract::from_source(options.contract.clone())?;
    let cases = run::planned_cases(&contract, options);
    if cases.is_empty() {
        return Err(run::RunError::NothingSelected.into());
    }
    let base_url = options
        .base_url
        .as_deref()
        .unwrap_or("http://127.0.0.1:PORT");
    let states = match (&options.base_url, &options.states) {
        (None, _) => StateSource::Url(format!("{base_url}/_cmconform/states")),
        (Some(_), states) => states.clone(),
    };
    let target = crate::dry_run::DryRunTarget {
        base_url,
        states: &states,
        headers: &options.headers,
        auth: &options.connection.auth,
        state_auth: options.state_auth,
        state_headers: &options.state_headers,
    };
    let text = crate::dry_run::render(&cases, &target);
    output::to_stdout(|out| out.write_all(text.as_bytes()))?;
    Ok(exit::PASSED)
}

/// `--output -` is standard output, as for most tools.
fn is_stdout(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// The `--output` path (empty when there is none: nothing is then removed after a failure).
fn output_path(args: &RunArgs) -> &std::path::Path {
    args.output.as_deref().unwrap_or(std::path::Path::new(""))
}

/// Opens `--output` before the run, so an unwritable path fails fast instead of after it.
fn open_output(args: &RunArgs) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = args.output.as_ref().filter(|path| !is_stdout(path)) else {
        return Ok(None);
    };
    let file = std::fs::File::create(path)
        .map_err(|error| UsageError(format!("--output {}: {error}", path.display())))?;
    Ok(Some(file))
}

fn write_report(
    args: &RunArgs,
    report: &RunReport,
    output: Option<std::fs::File>,
    streamed: bool,
) -> anyhow::Result<()> {
    let writer = report::writer_for(&args.format)
        .ok_or_else(|| UsageError(format!("--format {}: unknown", args.format)))?;
    let file_written = match output {
        Some(file) => reports::write_file(output_path(args), file, writer.as_ref(), report)
            .map_err(|error| output_flag_error(args, &error)),
        None => Ok(()),
    };
    // `--report FORMAT=PATH` files; a failure is reported after the console output.
    let extra_reports = reports::write_all(&args.reports.reports, report);
    let console = output::to_stdout(|out| {
        if streamed {
            report::write_human_tail(report, out, !args.quiet)
        } else {
            writer.write(report, out)
        }
    });
    // Every failure is said: a report file that could not be written whole was removed, and
    // the message naming it must not be lost behind a failing console.
    let mut failures: Vec<anyhow::Error> = [console, file_written, extra_reports]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => {
            let all: Vec<String> = failures.iter().map(|error| format!("{error:#}")).collect();
            Err(UsageError(all.join("; ")).into())
        }
    }
}

/// A run that stopped before its cases still writes `--output` and every `--report`, with the
/// error as their content; the error stays what the run ends with (exit 2), and a report that
/// cannot be written is added to it.
fn write_stopped_reports(
    args: &RunArgs,
    report: &RunReport,
    output: Option<std::fs::File>,
    error: anyhow::Error,
) -> anyhow::Error {
    let mut problems = Vec::new();
    if let (Some(file), Some(writer)) = (output, report::writer_for(&args.format)) {
        let path = output_path(args);
        if let Err(write_error) = reports::write_file(path, file, writer.as_ref(), report) {
            problems.push(output_flag_error(args, &write_error).to_string());
        }
    }
    if let Err(write_error) = reports::write_all(&args.reports.reports, report) {
        problems.push(write_error.to_string());
    }
    if problems.is_empty() {
        error
    } else {
        UsageError(format!("{error}; {}", problems.join("; "))).into()
    }
}

fn output_flag_error(args: &RunArgs, error: &std::io::Error) -> anyhow::Error {
    let path = args.output.as_deref().unwrap_or(std::path::Path::new("-"));
    UsageError(format!(
        "--output {}: cannot write: {error}",
        path.display()
    ))
    .into()
}

async fn serve_command(args: ServeArgs) -> anyhow::Result<i32> {
    let fault = parse_fault(args.fault.as_deref())?;
    let config = crate::server::ServerConfig {
        dialect: args.dialect,
        fault,
        credentials: args.auth.credentials(args.credential.clone())?,
        log: true,
        limits: crate::server::Limits {
            header_timeout: args.header_timeout,
            idle_timeout: args.idle_timeout,
            body_timeout: args.body_timeout,
            max_connections: args.max_connections as usize,
            max_requests: args.max_requests as usize,
        },
        ..crate::server::ServerConfig::default()
    };
    let server = crate::server::spawn(config, args.port)
        .await
        .map_err(|error| UsageError(format!("--port {}: cannot listen: {error}", args.port)))?;
    output::say(&format!(
        "cmconform reference server on {}",
        server.base_url()
    ));
    output::say(&format!(
        "  API:            {}{}/{{id}}",
        server.base_url(),
        crate::contract::REQUESTS_PATH
    ));
    output::say(&format!("  provider state: POST {}", server.state_url()));
    output::say(&format!(
        "  dialect:        {} ({})",
        args.dialect.name, args.dialect.description
    ));
    if let Some(fault) = fault {
        output::say(&format!(
            "  fault:          {} ({})",
            fault.name(),
            fault.description()
        ));
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(exit::PASSED)
}

fn list_command(args: ListArgs) -> anyhow::Result<i32> {
    if args.faults {
        output::to_stdout(|out| {
            for fault in crate::server::Fault::ALL {
                writeln!(
                    out,
                    "{:<24} section {:<3} caught by {:<28} {}",
                    fault.name(),
                    fault.section(),
                    fault.intended_check(),
                    fault.description()
                )?;
            }
            Ok(())
        })?;
        return Ok(exit::PASSED);
    }
    if args.dialects {
        output::to_stdout(|out| {
            for dialect in Dialect::ALL {
                writeln!(out, "{:<10} {}", dialect.name, dialect.description)?;
            }
            Ok(())
        })?;
        return Ok(exit::PASSED);
    }
    let mut options = options_for(args.contract.contract.as_ref());
    let contract = Contract::from_source(options.contract.clone())?;
    options.selection = args.contract.selection();
    options.families = args.contract.families();
    let cases = run::planned_cases(&contract, &options);
    output::to_stdout(|out| {
        if args.ids_template {
            return write!(out, "{}", crate::provider::ids_template(&cases));
        }
        if let Some(seed) = options.families.reported_seed() {
            writeln!(out, "# seed {seed}")?;
        }
        for case in &cases {
            writeln!(
                out,
                "{:<44} given {:<12} section {:<3} [{}]",
                case.id,
                case.needs_text(),
                case.section,
                case.tags.join(", ")
            )?;
        }
        Ok(())
    })?;
    Ok(exit::PASSED)
}

fn checks_command() -> anyhow::Result<i32> {
    let table = checks_table();
    output::to_stdout(|out| out.write_all(table.as_bytes()))?;
    Ok(exit::PASSED)
}

/// The dialects of the reference server as a Markdown table (the README's list).
pub fn dialects_table() -> String {
    let mut table = String::from("| dialect | how it answers |\n|---|---|\n");
    for dialect in Dialect::ALL {
        table.push_str(&format!(
            "| `{}` | {} |\n",
            dialect.name, dialect.description
        ));
    }
    table
}

/// The check registry as a Markdown table (`cmconform checks`, and the README's list).
pub fn checks_table() -> String {
    let mut table = String::from("| check | section | what it asserts |\n|---|---|---|\n");
    for check in crate::checks::REGISTRY {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            check.name, check.section, check.summary
        ));
    }
    table
}

async fn selftest_command(args: SelftestArgs) -> anyhow::Result<i32> {
    let faults = if args.fault.is_empty() {
        crate::server::Fault::ALL.to_vec()
    } else {
        args.fault
            .iter()
            .map(|name| parse_fault(Some(name)).map(|fault| fault.into_iter().collect::<Vec<_>>()))
            .collect::<anyhow::Result<Vec<_>>>()?
            .concat()
    };
    let options = options_for(args.contract.as_ref());
    let dialects = if args.dialect.is_empty() {
        Dialect::ALL.iter().collect()
    } else {
        args.dialect.clone()
    };
    let matrix =
        crate::selftest::selftest(&options, &dialects, &faults, usize::from(args.parallel)).await?;
    let text = if args.format == "json" {
        format!("{}\n", serde_json::to_string_pretty(&matrix)?)
    } else {
        crate::selftest::render_table(&matrix, true)
    };
    output::to_stdout(|out| out.write_all(text.as_bytes()))?;
    if args.readme {
        update_readme_block(&crate::selftest::render_table(&matrix, false))?;
    }
    Ok(matrix.exit_code())
}

/// Replaces the text between `<!-- selftest:begin -->` and `<!-- selftest:end -->` in README.md.
fn update_readme_block(table: &str) -> anyhow::Result<()> {
    const BEGIN: &str = "<!-- selftest:begin -->\n";
    const END: &str = "<!-- selftest:end -->";
    let readme = std::fs::read_to_string("README.md")
        .map_err(|error| UsageError(format!("--readme: cannot read README.md: {error}")))?;
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        return Err(UsageError("--readme: README.md has no selftest markers".into()).into());
    };
    let updated = format!("{}{BEGIN}{table}{}", &readme[..start], &readme[end..]);
    std::fs::write("README.md", updated)?;
    Ok(())
}

/// The `--ids` file a default run needs (every family, default race rounds), placeholders to
/// replace.
fn default_ids_template() -> anyhow::Result<String> {
    let options = options_for(None);
    let contract = Contract::from_source(options.contract.clone())?;
    Ok(crate::provider::ids_template(&run::planned_cases(
        &contract, &options,
    )))
}

fn init_command(args: InitArgs) -> anyhow::Result<i32> {
    let files = [
        (args.dir.join(config::CONFIG_FILE), config::starter_file()),
        (
            args.dir.join("cmconform-ids.example.json"),
            default_ids_template()?,
        ),
    ];
    let existing = files.iter().find(|(path, _)| path.exists());
    if let (false, Some((path, _))) = (args.force, existing) {
        return Err(UsageError(format!(
            "{} exists: pass --force to overwrite it",
            path.display()
        ))
        .into());
    }
    for (path, contents) in &files {
        std::fs::write(path, contents)
            .map_err(|error| UsageError(format!("{}: {error}", path.display())))?;
        output::to_stdout(|out| writeln!(out, "wrote {}", path.display()))?;
    }
    Ok(exit::PASSED)
}
