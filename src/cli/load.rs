//! `cmconform load`: the flags of the load generator, the loopback safety rule, and the
//! report on stdout (human or JSON) with a live progress line on a terminal.

use super::connection::ConnectionArgs;
use super::{UsageError, bounds, options_for, parse_fault};
use crate::client::Rate;
use crate::load::{self, LoadOptions, LoadReport};
use crate::run::StateSource;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes:\n  0  every gate held and no check failed under load\n  1  a gate was breached (--max-p99, --max-error-rate) or a check failed under load\n  2  the load test could not be carried out (bad flags, a non-loopback target without\n     --i-own-this-target, target unreachable, a\n     --state-url that cannot stage a request)"
)]
pub struct LoadArgs {
    /// Host the API is deployed on [default: the embedded reference server].
    #[arg(long, value_name = "URL", value_parser = bounds::base_url)]
    pub base_url: Option<String>,
    /// Provider-state endpoint that stages each iteration's request (needed with --base-url).
    #[arg(long, value_name = "URL")]
    pub state_url: Option<String>,
    /// Header added to every request, curl-style 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Iterations started per second, on schedule whatever the answers take (e.g. 500/s).
    #[arg(long, value_name = "N/s", default_value = "100/s", value_parser = super::parse_rate)]
    pub rate: Rate,
    /// How long iterations are started, e.g. 20s, 2m, 500ms.
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = bounds::duration)]
    pub duration: Duration,
    /// Iterations in flight at most (each holds one connection; a race holds four).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub connections: u16,
    /// Seconds to wait for each answer (at most 86400).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = bounds::seconds)]
    pub timeout: Duration,
    /// Fail (exit 1) when the 99th percentile latency of staging, GET or PUT is above this,
    /// e.g. 200ms.
    #[arg(long, value_name = "TIME", value_parser = bounds::duration)]
    pub max_p99: Option<Duration>,
    /// Fail (exit 1) when more than this share of requests gets no answer or a 5xx, e.g. 0.1%
    /// [default: 0%, any such request fails the run].
    #[arg(long, value_name = "PERCENT", value_parser = bounds::percent)]
    pub max_error_rate: Option<f64>,
    /// Report format.
    #[arg(long, default_value = "human", value_parser = ["human", "json"])]
    pub format: String,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Break one rule in the embedded server (see `cmconform list --faults`); embedded only.
    #[arg(long, value_name = "NAME", conflicts_with = "base_url")]
    pub fault: Option<String>,
    /// Allow a target that is not this machine. Load tests are for systems you own: never
    /// point one at a shared or production deployment without its owner's consent.
    #[arg(long)]
    pub i_own_this_target: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

fn load_options(args: &LoadArgs) -> anyhow::Result<LoadOptions> {
    let remote = [args.base_url.as_deref(), args.state_url.as_deref()]
        .into_iter()
        .flatten()
        .find(|url| !load::is_loopback(url));
    if let (Some(url), false) = (remote, args.i_own_this_target) {
        return Err(UsageError(format!(
            "{url} is not this machine: `load` sends sustained traffic, so a remote target \
             needs --i-own-this-target (use it only on a deployment you own)"
        ))
        .into());
    }
    if args.base_url.is_some() && args.state_url.is_none() {
        return Err(UsageError(
            "--base-url needs --state-url: every iteration stages a fresh request".into(),
        )
        .into());
    }
    let mut run = options_for(None);
    run.base_url = args.base_url.clone();
    run.states = args
        .state_url
        .clone()
        .map_or(StateSource::None, StateSource::Url);
    run.headers = args
        .headers
        .iter()
        .map(|header| crate::client::HttpClient::parse_header(header))
        .collect::<Result<_, _>>()
        .map_err(|error| UsageError(error.to_string()))?;
    run.timeout = args.timeout;
    run.connection = args.connection.connection()?;
    run.embedded_fault = parse_fault(args.fault.as_deref())?;
    Ok(LoadOptions {
        run,
        rate: args.rate,
        duration: args.duration,
        connections: usize::from(args.connections),
        max_p99: args.max_p99,
        max_error_rate: args.max_error_rate,
    })
}

pub async fn load_command(args: LoadArgs) -> anyhow::Result<i32> {
    let options = load_options(&args)?;
    let output = match &args.output {
        Some(path) => Some(
            std::fs::File::create(path)
                .map_err(|error| UsageError(format!("--output {}: {error}", path.display())))?,
        ),
        None => None,
    };
    // The progress line rewrites itself, so it only goes to a terminal.
    let live = console::Term::stderr().is_term();
    let report = load::load(&options, |line| {
        if live {
            eprint!("\r\x1b[2K{line}");
        }
    })
    .await?;
    if live {
        eprintln!();
    }
    let text = render(&args.format, &report)?;
    match output {
        Some(mut file) => file.write_all(text.as_bytes())?,
        // A closed pipe ends quietly; a full disk is an error naming standard output.
        None => super::output::to_stdout(|out| out.write_all(text.as_bytes()))?,
    }
    Ok(report.exit_code())
}

fn render(format: &str, report: &LoadReport) -> anyhow::Result<String> {
    Ok(match format {
        "json" => serde_json::to_string_pretty(report)? + "\n",
        _ => load::render_human(report),
    })
}
