//! `cmconform load`: conformance under sustained load.
//!
//! An open-model, constant-arrival-rate generator (wrk2's and k6's model): iteration `i` is due
//! at `start + i / rate` whether or not earlier ones have finished, and its latency is measured
//! from that intended start, so a stalled server cannot hide its stall by slowing the generator
//! down (coordinated omission). At most `--connections` iterations are in flight; when all are
//! busy the next one waits, and the wait counts against it.
//!
//! An iteration is the documented life cycle (stage an Approved request through the provider,
//! GET, PUT Completed, GET), executed and judged exactly as `run` does it, with the same check
//! registry: every answer's status class, content type, schema, stack traces, lost updates.
//! Every [`RACE_EVERY`]th iteration is the concurrency case instead (conflicting PUTs at once):
//! double successes under load. Latency goes into one HDR histogram per operation; nothing else
//! is kept but counters and a few sample findings, so memory does not grow with the duration.

use crate::checks::{self, CheckContext, Verdict};
use crate::client::{Exchange, HttpClient, Rate};
use crate::contract::Contract;
use crate::contract::lifecycle::RequestState;
use crate::exec::{self, ExecutedCase, Execution};
use crate::plan::{self, Case, Selection};
use crate::provider::{Provider, Staged};
use crate::run::{self, RunError, RunOptions, StateSource};
use crate::snapshot::SnapshotStore;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// The fixture each iteration runs: stage Approved, PUT Completed, GET.
pub const LIFECYCLE_CASE: &str = "complete-from-approved";
/// Every this many iterations, the concurrency case runs instead of the life cycle.
pub const RACE_EVERY: u64 = 20;
/// Conflicting PUTs of one race iteration.
const RACE_PUTS: usize = 4;
/// Sample findings kept per check (the count is always exact).
const SAMPLES_PER_CHECK: usize = 3;
/// Histogram range: 1 µs to 10 minutes, 3 significant digits.
const HISTOGRAM_MAX_US: u64 = 600_000_000;

/// Request operations (their p99 is gated) and whole iterations (reported only).
const OPERATIONS: [&str; 5] = ["stage", "get", "put", "iteration", "race"];
const GATED_OPERATIONS: [&str; 3] = ["stage", "get", "put"];

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Target, provider, headers, timeout, connection and embedded fault, as for `run`.
    pub run: RunOptions,
    pub rate: Rate,
    pub duration: Duration,
    /// Iterations in flight at most.
    pub connections: usize,
    pub max_p99: Option<Duration>,
    /// A fraction (0.001 is 0.1%).
    pub max_error_rate: Option<f64>,
}

/// Percentiles of one operation, in milliseconds, and its non-empty histogram buckets.
#[derive(Debug, Clone, Serialize)]
pub struct OperationStats {
    pub operation: &'static str,
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// `[upper bound in ms, count]` of every recorded bucket, in order.
    pub buckets: Vec<(f64, u64)>,
}

/// One check that failed under load: how often, and the first few findings.
#[derive(Debug, Clone, Serialize)]
pub struct CheckFailures {
    pub check: &'static str,
    pub count: u64,
    pub samples: Vec<String>,
}

/// One gate and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub gate: String,
    pub limit: String,
    pub actual: String,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub target: String,
    pub embedded: bool,
    pub intended_rate: f64,
    pub achieved_rate: f64,
    pub duration_s: f64,
    pub connections: usize,
    pub iterations: u64,
    pub requests: u64,
    /// Requests without an answer (transport error, timeout) or answered 5xx, and iterations
    /// whose request could not be staged.
    pub errors: u64,
    pub error_rate: f64,
    /// The first few distinct errors, so that a failing error-rate gate says why.
    pub error_samples: Vec<String>,
    pub operations: Vec<OperationStats>,
    pub failures: Vec<CheckFailures>,
    pub warnings: u64,
    pub gates: Vec<Gate>,
    pub passed: bool,
}

impl LoadReport {
    pub fn exit_code(&self) -> i32 {
        if self.passed {
            crate::report::exit::PASSED
        } else {
            crate::report::exit::FAILED
        }
    }
}

/// Whether `url` names this machine: `localhost` or a loopback address.
pub fn is_loopback(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
    else {
        return false;
    };
    let address = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || address
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// What one finished iteration reports to the collector.
struct Sample {
    intended: Instant,
    started: Instant,
    finished: Instant,
    executed: ExecutedCase,
}

/// Runs the load test and judges it; `progress` is called about once a second with a line.
pub async fn load(
    options: &LoadOptions,
    mut progress: impl FnMut(&str),
) -> Result<LoadReport, RunError> {
    let contract = Contract::from_source(options.run.contract.clone())?;
    let lifecycle = lifecycle_case(&contract)?;
    let race = crate::sequences::race_cases(RACE_PUTS, 1)
        .into_iter()
        .next();
    let target = run::connect(&options.run).await?;
    run::preflight(&target.client, target.embedded.is_none()).await?;
    preflight_staging(&target.provider, &options.run, lifecycle.given).await?;
    let snapshots = SnapshotStore::for_source(&contract.source, options.run.snapshot_mode);
    let context = CheckContext {
        schemas: &contract.schemas,
        snapshots: &snapshots,
        profile: options.run.profile,
    };
    // Bounded: when judging falls behind, finished iterations wait to be judged instead of
    // piling up with their bodies (their latency was already taken when they finished).
    let (samples, mut arrivals) = mpsc::channel(options.connections.max(1) * 4);
    let started = Instant::now();
    let generator = tokio::spawn(generate(
        Schedule {
            start: started,
            interval: options.rate.interval(),
            end: started + options.duration,
            connections: options.connections.max(1),
        },
        Cases { lifecycle, race },
        target.client.clone(),
        target.provider.clone(),
        samples,
    ));
    let mut tally = Tally::new(run::report_secrets(&target.client, &options.run));
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    loop {
        tokio::select! {
            sample = arrivals.recv() => match sample {
                Some(sample) => tally.add(sample, &context),
                None => break,
            },
            _ = ticker.tick() => progress(&tally.progress_line(started.elapsed(), options)),
        }
    }
    let _ = generator.await;
    let elapsed = started.elapsed();
    let target_url = crate::client::mask_url(target.client.base_url());
    let embedded = target.embedded.is_some();
    if let Some(server) = target.embedded {
        server.shutdown().await;
    }
    Ok(tally.report(options, target_url, embedded, elapsed))
}

fn lifecycle_case(contract: &Contract) -> Result<Case, RunError> {
    plan::plan(contract, &Selection::default())
        .into_iter()
        .find(|case| case.id == LIFECYCLE_CASE)
        .ok_or_else(|| {
            RunError::Load(crate::contract::LoadError::invalid(
                &contract.source.display_path("fixtures"),
                "/",
                &format!("`load` needs the fixture '{LIFECYCLE_CASE}'"),
            ))
        })
}

/// Stages one request through the run's provider before the load starts, as every iteration
/// does first: a provider that cannot stage would fail every iteration, and the run would say so
/// only after `--duration`. The request is used by nobody (torn down when teardown is asked).
async fn preflight_staging(
    provider: &Provider,
    options: &RunOptions,
    state: Option<RequestState>,
) -> Result<(), RunError> {
    let Some(state) = state else {
        return Ok(());
    };
    let detail = match provider.scoped(provider.stage(state)).await {
        Ok(Staged::Id(_)) => return Ok(()),
        Ok(Staged::Skip(reason)) => reason,
        Err(error) => error.to_string(),
    };
    Err(RunError::StagingFailed {
        provider: staging_provider(options),
        detail,
    })
}

/// What the user named as the source of staged requests, for the error that says it failed.
fn staging_provider(options: &RunOptions) -> &'static str {
    match (&options.base_url, &options.states) {
        (None, _) => "the embedded server's state endpoint",
        (Some(_), StateSource::IdsFile(_)) => "--ids",
        (Some(_), _) => "--state-url",
    }
}

struct Schedule {
    start: Instant,
    interval: Duration,
    end: Instant,
    connections: usize,
}

struct Cases {
    lifecycle: Case,
    race: Option<Case>,
}

/// Starts iteration `i` at its intended time (or as soon as a connection frees, when all are
/// busy), until the duration is over; then waits for the iterations in flight.
async fn generate(
    schedule: Schedule,
    cases: Cases,
    client: Arc<HttpClient>,
    provider: Arc<Provider>,
    samples: mpsc::Sender<Sample>,
) {
    let permits = Arc::new(Semaphore::new(schedule.connections));
    let mut running = Vec::new();
    for index in 0u64.. {
        let intended = schedule.start + schedule.interval.mul_f64(index as f64);
        // No iteration starts after the end: a rate the target (or this machine) cannot reach
        // shows as an achieved rate below the intended one, never as a run that outlives
        // --duration draining a backlog.
        if intended >= schedule.end || Instant::now() >= schedule.end {
            break;
        }
        tokio::time::sleep_until(intended).await;
        let case = match &cases.race {
            Some(race) if index % RACE_EVERY == RACE_EVERY - 1 => race,
            _ => &cases.lifecycle,
        };
        // A race holds one connection per conflicting PUT.
        let needed = if case.race.is_some() { RACE_PUTS } else { 1 };
        let needed = u32::try_from(needed.min(schedule.connections)).unwrap_or(1);
        let Ok(permit) = permits.clone().acquire_many_owned(needed).await else {
            break;
        };
        let (case, client, provider, samples) = (
            case.clone(),
            client.clone(),
            provider.clone(),
            samples.clone(),
        );
        running.push(tokio::spawn(async move {
            let started = Instant::now();
            let executed = exec::execute_case(case, &client, &provider).await;
            drop(permit);
            let sample = Sample {
                intended,
                started,
                finished: Instant::now(),
                executed,
            };
            let _ = samples.send(sample).await;
        }));
        running.retain(|task: &tokio::task::JoinHandle<()>| !task.is_finished());
    }
    for task in running {
        let _ = task.await;
    }
}

/// Everything kept about the iterations so far: histograms and counters.
struct Tally {
    histograms: BTreeMap<&'static str, Histogram<u64>>,
    iterations: u64,
    requests: u64,
    errors: u64,
    error_samples: Vec<String>,
    error_kinds: Vec<String>,
    warnings: u64,
    failures: BTreeMap<&'static str, (u64, Vec<String>)>,
    /// Masked out of the sampled findings: checks judge raw answers, which may echo them.
    secrets: Vec<String>,
}

impl Tally {
    fn new(secrets: Vec<String>) -> Tally {
        let histograms = OPERATIONS
            .iter()
            .filter_map(|name| {
                Histogram::new_with_bounds(1, HISTOGRAM_MAX_US, 3)
                    .ok()
                    .map(|histogram| (*name, histogram))
            })
            .collect();
        Tally {
            histograms,
            iterations: 0,
            requests: 0,
            errors: 0,
            error_samples: Vec::new(),
            error_kinds: Vec::new(),
            warnings: 0,
            failures: BTreeMap::new(),
            secrets,
        }
    }

    fn record(&mut self, operation: &'static str, latency: Duration) {
        if let Some(histogram) = self.histograms.get_mut(operation) {
            let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
            histogram.saturating_record(micros.max(1));
        }
    }

    fn add(&mut self, sample: Sample, context: &CheckContext) {
        self.iterations += 1;
        let waited = sample.started.saturating_duration_since(sample.intended);
        let total = sample.finished.saturating_duration_since(sample.intended);
        match &sample.executed.execution {
            Execution::Ran { steps, rounds, .. } => {
                let mut in_exchanges = Duration::ZERO;
                for step in steps {
                    let exchanges = [
                        step.before.as_ref(),
                        Some(&step.exchange),
                        step.after.as_ref(),
                    ];
                    for exchange in exchanges.into_iter().flatten() {
                        in_exchanges += self.exchange(exchange, false);
                    }
                }
                for round in rounds {
                    self.exchange(&round.before, false);
                    self.exchange(&round.after, false);
                    // All but one conflicting PUT must be refused, and 500 is a documented
                    // refusal: only a missing answer is an error there.
                    for (_, attempt) in &round.attempts {
                        self.exchange(attempt, true);
                    }
                    self.requests += 1; // the round's staging
                }
                if rounds.is_empty() {
                    // The staging call is the case's time not spent in its exchanges; the
                    // first request of the iteration also carries the wait for its start.
                    let own = Duration::from_secs_f64(sample.executed.duration_ms / 1000.0);
                    self.requests += 1;
                    self.record("stage", waited + own.saturating_sub(in_exchanges));
                    self.record("iteration", total);
                } else {
                    self.record("race", total);
                }
            }
            Execution::Skipped { reason } | Execution::Errored { reason } => {
                // Staging failed (or the case could not be carried out): an error.
                self.requests += 1;
                let kind = reason.clone();
                self.error(kind, || format!("{}: {reason}", sample.executed.case.id));
            }
        }
        self.judge(&sample.executed, context);
    }

    /// Counts and records one exchange; returns its own duration.
    fn exchange(&mut self, exchange: &Exchange, refusal_expected: bool) -> Duration {
        self.requests += 1;
        let failure = match &exchange.response {
            Ok(received) if received.status >= 500 && !refusal_expected => {
                Some(format!("answered {}", received.status))
            }
            Ok(_) => None,
            Err(error) => Some(error.to_string()),
        };
        if let Some(failure) = failure {
            let request = &exchange.request;
            // The URL holds each iteration's staged id: errors of one kind differ only there.
            let kind = format!("{} {failure}", request.method);
            self.error(kind, || {
                format!("{} {}: {failure}", request.method, request.url)
            });
        }
        let elapsed = Duration::from_secs_f64(exchange.elapsed_ms.max(0.0) / 1000.0);
        let operation = match exchange.request.method.as_str() {
            "GET" => "get",
            _ => "put",
        };
        self.record(operation, elapsed);
        elapsed
    }

    /// Counts one error, and keeps the description of the first of each kind while there are
    /// few kinds.
    fn error(&mut self, kind: String, describe: impl FnOnce() -> String) {
        self.errors += 1;
        if self.error_samples.len() < SAMPLES_PER_CHECK && !self.error_kinds.contains(&kind) {
            self.error_kinds.push(kind);
            let sample = crate::auth::scrub(&describe(), &self.secrets);
            self.error_samples.push(sample);
        }
    }

    fn judge(&mut self, executed: &ExecutedCase, context: &CheckContext) {
        let iteration = self.iterations;
        for result in checks::evaluate(executed, context).results {
            match result.verdict {
                Verdict::Fail(finding) => {
                    let entry = self.failures.entry(result.check).or_default();
                    entry.0 += 1;
                    if entry.1.len() < SAMPLES_PER_CHECK {
                        let sample = format!(
                            "iteration {iteration} ({}): {} (expected {}, got {})",
                            executed.case.id, finding.message, finding.expected, finding.actual
                        );
                        entry.1.push(crate::auth::scrub(&sample, &self.secrets));
                    }
                }
                Verdict::Warn { .. } => self.warnings += 1,
                _ => {}
            }
        }
    }

    fn millis(&self, operation: &str, quantile: f64) -> f64 {
        self.histograms
            .get(operation)
            .filter(|histogram| !histogram.is_empty())
            .map_or(0.0, |histogram| {
                histogram.value_at_quantile(quantile) as f64 / 1000.0
            })
    }

    fn progress_line(&self, elapsed: Duration, options: &LoadOptions) -> String {
        let seconds = elapsed.as_secs_f64().max(0.001);
        format!(
            "load {:.0}s/{:.0}s  {:.0}/s  put p50 {:.1} ms p99 {:.1} ms  iteration p99 {:.1} ms  \
             errors {}  failures {}",
            seconds,
            options.duration.as_secs_f64(),
            self.iterations as f64 / seconds,
            self.millis("put", 0.5),
            self.millis("put", 0.99),
            self.millis("iteration", 0.99),
            self.errors,
            self.failures.values().map(|(count, _)| count).sum::<u64>(),
        )
    }

    fn stats(&self) -> Vec<OperationStats> {
        self.histograms
            .iter()
            .filter(|(_, histogram)| !histogram.is_empty())
            .map(|(operation, histogram)| {
                let ms = |micros: u64| micros as f64 / 1000.0;
                OperationStats {
                    operation,
                    count: histogram.len(),
                    p50_ms: ms(histogram.value_at_quantile(0.5)),
                    p90_ms: ms(histogram.value_at_quantile(0.9)),
                    p99_ms: ms(histogram.value_at_quantile(0.99)),
                    p999_ms: ms(histogram.value_at_quantile(0.999)),
                    max_ms: ms(histogram.max()),
                    mean_ms: histogram.mean() / 1000.0,
                    buckets: histogram
                        .iter_recorded()
                        .map(|bucket| (ms(bucket.value_iterated_to()), bucket.count_at_value()))
                        .collect(),
                }
            })
            .collect()
    }

    fn report(
        self,
        options: &LoadOptions,
        target: String,
        embedded: bool,
        elapsed: Duration,
    ) -> LoadReport {
        let operations = self.stats();
        let error_rate = if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        };
        let failures: Vec<CheckFailures> = self
            .failures
            .into_iter()
            .map(|(check, (count, samples))| CheckFailures {
                check,
                count,
                samples,
            })
            .collect();
        let gates = gates(options, &operations, error_rate, &failures);
        LoadReport {
            target,
            embedded,
            intended_rate: options.rate.per_second(),
            achieved_rate: self.iterations as f64 / elapsed.as_secs_f64().max(0.001),
            duration_s: elapsed.as_secs_f64(),
            connections: options.connections,
            iterations: self.iterations,
            requests: self.requests,
            errors: self.errors,
            error_rate,
            error_samples: self.error_samples,
            passed: gates.iter().all(|gate| gate.passed),
            operations,
            failures,
            warnings: self.warnings,
            gates,
        }
    }
}

/// The gates: conformance and the error rate always (no check may fail under load; no error
/// unless --max-error-rate allows some), and the p99 of every request operation when asked.
fn gates(
    options: &LoadOptions,
    operations: &[OperationStats],
    error_rate: f64,
    failures: &[CheckFailures],
) -> Vec<Gate> {
    let failed: u64 = failures.iter().map(|failure| failure.count).sum();
    let mut gates = vec![Gate {
        gate: "conformance".into(),
        limit: "no failed check".into(),
        actual: format!("{failed} failed check(s)"),
        passed: failed == 0,
    }];
    if let Some(limit) = options.max_p99 {
        let limit_ms = limit.as_secs_f64() * 1000.0;
        for operation in GATED_OPERATIONS {
            // An operation that never got an answer has no latency to hold under the limit:
            // a p99 gate over nothing is breached, never passed.
            let p99 = operations
                .iter()
                .find(|stats| stats.operation == operation && stats.count > 0)
                .map(|stats| stats.p99_ms);
            gates.push(Gate {
                gate: format!("p99 {operation}"),
                limit: format!("{limit_ms:.1} ms"),
                actual: p99.map_or_else(
                    || "no answered request".into(),
                    |p99| format!("{p99:.1} ms"),
                ),
                passed: p99.is_some_and(|p99| p99 <= limit_ms),
            });
        }
    }
    // Always gated: without --max-error-rate no request may go unanswered or get a 5xx, so a
    // run whose every staging failed can never pass.
    let limit = options.max_error_rate.unwrap_or(0.0);
    gates.push(Gate {
        gate: "error rate".into(),
        limit: match options.max_error_rate {
            Some(limit) => format!("{}%", limit * 100.0),
            None => "0% (default; see --max-error-rate)".into(),
        },
        actual: format!("{:.3}%", error_rate * 100.0),
        passed: error_rate <= limit,
    });
    gates
}

/// The human report.
pub fn render_human(report: &LoadReport) -> String {
    let mut out = format!(
        "cmconform load: {} for {:.1}s, {:.0}/s intended, {:.1}/s achieved, {} connections{}\n\
         {} iterations, {} requests, {} errors ({:.3}%), {} warnings\n\n",
        report.target,
        report.duration_s,
        report.intended_rate,
        report.achieved_rate,
        report.connections,
        if report.embedded {
            " (embedded reference server)"
        } else {
            ""
        },
        report.iterations,
        report.requests,
        report.errors,
        report.error_rate * 100.0,
        report.warnings,
    );
    out.push_str(&format!(
        "{:<10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "operation", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
    ));
    for stats in &report.operations {
        out.push_str(&format!(
            "{:<10} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
            stats.operation,
            stats.count,
            stats.p50_ms,
            stats.p90_ms,
            stats.p99_ms,
            stats.p999_ms,
            stats.max_ms
        ));
    }
    if !report.error_samples.is_empty() {
        out.push_str(&format!("\nerrors: {} (first few)\n", report.errors));
        for sample in &report.error_samples {
            out.push_str(&format!("  {sample}\n"));
        }
    }
    for failure in &report.failures {
        out.push_str(&format!(
            "\nFAIL {} under load: {} time(s)\n",
            failure.check, failure.count
        ));
        for sample in &failure.samples {
            out.push_str(&format!("  {sample}\n"));
        }
    }
    out.push('\n');
    for gate in &report.gates {
        out.push_str(&format!(
            "{} {}: {} (limit {})\n",
            if gate.passed { "PASS" } else { "FAIL" },
            gate.gate,
            gate.actual,
            gate.limit
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_loopback() {
        let table = [
            ("http://127.0.0.1:8080", true),
            ("http://127.8.9.10", true),
            ("http://localhost:1", true),
            ("http://LOCALHOST", true),
            ("http://[::1]:80", true),
            ("https://cm.contoso.com", false),
            ("http://10.0.0.1", false),
            ("http://localhost.contoso.com", false),
            ("http://[::2]", false),
            ("not a url", false),
        ];
        for (url, expected) in table {
            assert_eq!(is_loopback(url), expected, "{url}");
        }
    }

    fn options(max_p99_ms: Option<u64>, max_error_rate: Option<f64>) -> LoadOptions {
        LoadOptions {
            run: RunOptions::new(std::path::PathBuf::from(".")),
            rate: Rate::parse("10/s").unwrap_or_else(|error| panic!("{error}")),
            duration: Duration::from_secs(1),
            connections: 1,
            max_p99: max_p99_ms.map(Duration::from_millis),
            max_error_rate,
        }
    }

    fn stats(operation: &'static str, p99_ms: f64) -> OperationStats {
        OperationStats {
            operation,
            count: 1,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms,
            p999_ms: 0.0,
            max_ms: 0.0,
            mean_ms: 0.0,
            buckets: Vec::new(),
        }
    }

    #[test]
    fn gates_hold_at_their_limit_and_break_past_it() {
        let operations = [
            stats("stage", 10.0),
            stats("get", 10.0),
            stats("put", 200.0),
            stats("iteration", 900.0),
        ];
        // (max p99, max error rate, error rate, failed checks) -> every gate passed
        let table = [
            (Some(200), None, 0.0, 0, true),
            (Some(199), None, 0.0, 0, false),
            (None, Some(0.001), 0.001, 0, true),
            (None, Some(0.001), 0.0011, 0, false),
            (None, None, 0.0, 0, true),
            (None, None, 0.5, 0, false),
            (None, None, 0.0, 1, false),
            (None, Some(0.6), 0.5, 0, true),
        ];
        for (p99, rate, error_rate, failed, expected) in table {
            let failures: Vec<CheckFailures> = (0..failed)
                .map(|_| CheckFailures {
                    check: "state_persisted",
                    count: 1,
                    samples: Vec::new(),
                })
                .collect();
            let gates = gates(&options(p99, rate), &operations, error_rate, &failures);
            assert_eq!(
                gates.iter().all(|gate| gate.passed),
                expected,
                "{p99:?} {rate:?} {error_rate} {failed}: {gates:?}"
            );
        }
    }

    #[test]
    fn whole_iterations_are_reported_but_not_gated() {
        let operations = [
            stats("stage", 1.0),
            stats("get", 1.0),
            stats("put", 1.0),
            stats("iteration", 900.0),
            stats("race", 900.0),
        ];
        let gates = gates(&options(Some(200), None), &operations, 0.0, &[]);
        assert!(gates.iter().all(|gate| gate.passed), "{gates:?}");
    }

    #[test]
    fn a_p99_gate_over_an_operation_without_answers_is_breached() {
        // Every staging failed: only iterations were timed, no request was answered.
        let operations = [stats("iteration", 1.0)];
        let gates = gates(&options(Some(200), Some(1.0)), &operations, 1.0, &[]);
        let p99: Vec<_> = gates
            .iter()
            .filter(|gate| gate.gate.starts_with("p99"))
            .collect();
        assert_eq!(p99.len(), GATED_OPERATIONS.len(), "{gates:?}");
        assert!(
            p99.iter()
                .all(|gate| !gate.passed && gate.actual == "no answered request"),
            "{gates:?}"
        );
    }

    #[test]
    fn latencies_land_in_their_operation_and_percentiles_read_back() {
        let mut tally = Tally::new(Vec::new());
        for millis in 1..=100 {
            tally.record("put", Duration::from_millis(millis));
        }
        tally.record("no-such-operation", Duration::from_secs(1));
        let stats = tally.stats();
        assert_eq!(stats.len(), 1, "{stats:?}");
        let put = &stats[0];
        assert_eq!(put.count, 100);
        assert!((put.p50_ms - 50.0).abs() < 0.1, "{put:?}");
        assert!((put.p99_ms - 99.0).abs() < 0.1, "{put:?}");
        assert!((put.max_ms - 100.0).abs() < 0.1, "{put:?}");
        assert_eq!(put.buckets.iter().map(|(_, count)| count).sum::<u64>(), 100);
    }
}
