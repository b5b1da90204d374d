//! Execution: stages each planned case's provider state, sends its requests, reads the state
//! before and after, and records every exchange. Cases run concurrently (bounded by `jobs`) and
//! come back in plan order. Nothing here judges an answer; that is the checks' job.

use crate::client::{Exchange, HttpClient, OutgoingRequest};
use crate::contract::REQUESTS_PATH;
use crate::contract::lifecycle::{RequestState, TargetStatus};
use crate::plan::{Case, OpenRule, RacePlan};
use crate::policy::Held;
use crate::provider::{Provider, Staged};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::{Barrier, OwnedSemaphorePermit, Semaphore};

/// What one step of a case produced.
#[derive(Debug, Clone, Serialize)]
pub struct StepEvidence {
    /// GET of the staged request just before the step.
    pub before: Option<Exchange>,
    pub exchange: Exchange,
    /// GET of the staged request just after the step.
    pub after: Option<Exchange>,
    /// For an open input: the canonical request sent from the same state (CONTRACT.md 7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<CanonicalRun>,
}

/// What the canonical request of an open input did on a second request staged in the same
/// state, so the checks can compare the two.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CanonicalRun {
    Ran {
        staged_id: String,
        evidence: Box<StepEvidence>,
    },
    /// The second request could not be staged or sent; the reason says why.
    NotRun { reason: String },
}

/// One round of a race: K conflicting PUTs released together on one fresh request.
#[derive(Debug, Clone, Serialize)]
pub struct RaceRound {
    pub id: String,
    pub before: Exchange,
    /// The PUTs in the order they were issued, with the status each asked for.
    pub attempts: Vec<(TargetStatus, Exchange)>,
    pub after: Exchange,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Execution {
    Ran {
        staged_id: Option<String>,
        steps: Vec<StepEvidence>,
        rounds: Vec<RaceRound>,
    },
    Skipped {
        reason: String,
    },
    /// The harness could not carry the case out (provider state failed, internal error).
    Errored {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ExecutedCase {
    pub case: Case,
    pub execution: Execution,
    pub duration_ms: f64,
}

/// The path of a request, documented casing.
pub fn request_path(id: &str) -> String {
    format!("{REQUESTS_PATH}/{id}")
}

/// Set to stop starting cases (`--fail-fast`); cases not started are reported as skipped.
pub type StopSignal = Arc<AtomicBool>;

/// Runs every case, at most `jobs` at once, handing each to `on_done` in plan order as soon as
/// it and every case before it have finished.
///
/// With a `stop` signal (fail-fast), cases start strictly in plan order and a new one starts
/// only after the oldest running one has been handed to `on_done`, so no case can start between
/// a failure and the moment `on_done` raises the signal.
pub async fn execute_all(
    cases: impl Iterator<Item = Case> + Send + 'static,
    client: Arc<HttpClient>,
    provider: Arc<Provider>,
    jobs: usize,
    stop: Option<StopSignal>,
    on_done: impl FnMut(ExecutedCase),
) {
    match stop {
        Some(stop) => execute_windowed(cases, client, provider, jobs, stop, on_done).await,
        None => execute_pooled(cases, client, provider, jobs, on_done).await,
    }
}

/// A started case: what reports it if its task is lost, its task, and its slot among the `jobs`
/// (held until the case is handed on, so finished cases waiting behind a slow one count).
type Running = (
    Case,
    tokio::task::JoinHandle<ExecutedCase>,
    Option<OwnedSemaphorePermit>,
);

/// Starts a case. Called in plan order, so pre-staged ids (`--ids`) are handed out in plan
/// order whatever the concurrency: the same file gives the same cases the same ids.
fn start(
    case: Case,
    client: &Arc<HttpClient>,
    provider: &Arc<Provider>,
    permit: Option<OwnedSemaphorePermit>,
) -> Running {
    let reserved = case.given.and_then(|state| provider.reserve(state));
    let (client, provider) = (client.clone(), provider.clone());
    // Only what reports the case if its task is lost (its shared identity); the steps may
    // hold a 1.1 MiB body.
    let fallback = Case {
        identity: case.identity.clone(),
        steps: Vec::new(),
        race: None,
    };
    let handle = tokio::spawn(async move {
        provider
            .scoped(run_case(case, &client, &provider, reserved))
            .await
    });
    (fallback, handle, permit)
}

/// A task that panicked is reported as errored, never lost.
async fn finish((fallback, handle, _permit): Running) -> ExecutedCase {
    handle.await.unwrap_or_else(|error| ExecutedCase {
        case: fallback,
        execution: Execution::Errored {
            reason: format!("internal error while running the case: {error}"),
        },
        duration_ms: 0.0,
    })
}

/// `jobs` cases running, each started (in plan order) as soon as any slot frees: the fastest
/// way through a suite. Cases are taken from `cases` only when they start.
async fn execute_pooled(
    cases: impl Iterator<Item = Case> + Send + 'static,
    client: Arc<HttpClient>,
    provider: Arc<Provider>,
    jobs: usize,
    mut on_done: impl FnMut(ExecutedCase),
) {
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    // The permits bound what is alive: finished cases waiting behind a slow one hold their
    // whole evidence until `on_done` takes them.
    let (started, mut running) = tokio::sync::mpsc::channel(jobs.max(1));
    let launcher = tokio::spawn(async move {
        for case in cases {
            // The semaphore is never closed, so acquire only fails if it were; run anyway.
            let permit = permits.clone().acquire_owned().await.ok();
            if started
                .send(start(case, &client, &provider, permit))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    while let Some(task) = running.recv().await {
        on_done(finish(task).await);
    }
    // The launcher has sent every case once the channel closed; nothing is left to wait for.
    let _ = launcher.await;
}

/// At most `jobs` cases in flight, started in plan order, each new one after the oldest is done.
async fn execute_windowed(
    cases: impl Iterator<Item = Case>,
    client: Arc<HttpClient>,
    provider: Arc<Provider>,
    jobs: usize,
    stop: StopSignal,
    mut on_done: impl FnMut(ExecutedCase),
) {
    let mut window: VecDeque<Running> = VecDeque::with_capacity(jobs.max(1));
    let mut pending = cases;
    loop {
        while window.len() < jobs.max(1) && !stop.load(Ordering::SeqCst) {
            let Some(case) = pending.next() else { break };
            window.push_back(start(case, &client, &provider, None));
        }
        let Some(oldest) = window.pop_front() else {
            break;
        };
        on_done(finish(oldest).await);
        if stop.load(Ordering::SeqCst) && window.is_empty() {
            break;
        }
    }
    for task in window {
        on_done(finish(task).await);
    }
    for case in pending {
        on_done(not_started(case));
    }
}

fn not_started(case: Case) -> ExecutedCase {
    ExecutedCase {
        case,
        execution: Execution::Skipped {
            reason: "not run: --fail-fast stopped the run after a failure".into(),
        },
        duration_ms: 0.0,
    }
}

pub async fn execute_case(case: Case, client: &HttpClient, provider: &Provider) -> ExecutedCase {
    run_case(case, client, provider, None).await
}

/// Runs one case; `reserved` is what the provider already handed out for its state, if anything.
async fn run_case(
    case: Case,
    client: &HttpClient,
    provider: &Provider,
    reserved: Option<Staged>,
) -> ExecutedCase {
    let started = Instant::now();
    let execution = match &case.race {
        Some(race) => run_race(*race, client, provider).await,
        None => run_steps(&case, client, provider, reserved).await,
    };
    ExecutedCase {
        case,
        execution,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

async fn stage(
    provider: &Provider,
    state: Option<RequestState>,
    reserved: Option<Staged>,
) -> Result<Option<String>, Execution> {
    match (state, reserved) {
        (_, Some(staged)) => staged_id(Ok(staged)).map(Some),
        (Some(state), None) => stage_one(provider, state).await.map(Some),
        (None, None) => Ok(None),
    }
}

async fn stage_one(provider: &Provider, state: RequestState) -> Result<String, Execution> {
    staged_id(provider.stage(state).await)
}

fn staged_id(staged: Result<Staged, crate::provider::ProviderError>) -> Result<String, Execution> {
    match staged {
        Ok(Staged::Id(id)) => Ok(id),
        Ok(Staged::Skip(reason)) => Err(Execution::Skipped { reason }),
        Err(error) => Err(Execution::Errored {
            reason: error.to_string(),
        }),
    }
}

/// GET of a staged request before the case: it must show the state the provider claims, or the
/// case errors (a mislabelled id must not be blamed on the server).
async fn read_staged(
    client: &HttpClient,
    id: &str,
    state: RequestState,
) -> Result<Exchange, Execution> {
    let exchange = sent(client, &OutgoingRequest::get(&request_path(id))).await?;
    match crate::policy::precondition_problem(&exchange, id, state) {
        Some(reason) => Err(Execution::Errored { reason }),
        None => Ok(exchange),
    }
}

/// One exchange under the run's policy (`policy::send`); an untestable answer errors the case.
async fn sent(client: &HttpClient, request: &OutgoingRequest) -> Result<Exchange, Execution> {
    crate::policy::send(client, request)
        .await
        .map_err(|reason| Execution::Errored { reason })
}

async fn run_steps(
    case: &Case,
    client: &HttpClient,
    provider: &Provider,
    reserved: Option<Staged>,
) -> Execution {
    let staged_id = match stage(provider, case.given, reserved).await {
        Ok(id) => id,
        Err(execution) => return execution,
    };
    match steps_on(case, client, provider, staged_id.as_deref()).await {
        Ok(steps) => Execution::Ran {
            staged_id,
            steps,
            rounds: Vec::new(),
        },
        Err(execution) => execution,
    }
}

/// Sends the case's steps against `staged_id` (checked first), reading the state around each.
async fn steps_on(
    case: &Case,
    client: &HttpClient,
    provider: &Provider,
    staged_id: Option<&str>,
) -> Result<Vec<StepEvidence>, Execution> {
    let fresh = uuid::Uuid::new_v4().to_string();
    let state_path = staged_id.map(request_path);
    let mut before = match (staged_id, case.given) {
        (Some(id), Some(state)) => Some(read_staged(client, id, state).await?),
        _ => None,
    };
    let mut steps = Vec::with_capacity(case.steps.len());
    for (index, step) in case.steps.iter().enumerate() {
        let request = step.request.resolve(staged_id, &fresh);
        // Shared deployments: a PUT goes only to the staged or fresh id, or one that names no request.
        let known: Vec<&str> = staged_id.into_iter().chain([fresh.as_str()]).collect();
        match crate::policy::guard(client, &request, &known).await {
            Ok(()) => {}
            Err(Held::Unsafe(reason)) => return Err(Execution::Skipped { reason }),
            Err(Held::Untestable(reason)) => return Err(Execution::Errored { reason }),
        }
        let exchange = sent(client, &request).await?;
        if let Some(reason) = closed_mid_case(&exchange) {
            return Err(Execution::Errored { reason });
        }
        let after = match &state_path {
            Some(path) => Some(sent(client, &OutgoingRequest::get(path)).await?),
            None => None,
        };
        let canonical = match step.kind.open_rule() {
            Some(OpenRule::Spelling(canonical)) => {
                Some(run_canonical(case, index, canonical, client, provider).await)
            }
            _ => None,
        };
        steps.push(StepEvidence {
            before: before.take(),
            exchange,
            after: after.clone(),
            canonical,
        });
        before = after;
    }
    Ok(steps)
}

/// Sends the canonical request of an open input to a second request staged in the state the
/// open input met: the case's `given` state, which only the first step is known to meet.
async fn run_canonical(
    case: &Case,
    index: usize,
    canonical: &OutgoingRequest,
    client: &HttpClient,
    provider: &Provider,
) -> CanonicalRun {
    let not_run = |reason: String| CanonicalRun::NotRun { reason };
    let Some(state) = case.given.filter(|_| index == 0) else {
        return not_run("the open input is not the first step of a staged case".into());
    };
    let id = match stage_one(provider, state).await {
        Ok(id) => id,
        Err(Execution::Skipped { reason } | Execution::Errored { reason }) => {
            return not_run(format!("no second request in state '{state}': {reason}"));
        }
        Err(Execution::Ran { .. }) => return not_run("staging answered nothing".into()),
    };
    let path = request_path(&id);
    let fresh = uuid::Uuid::new_v4().to_string();
    let request = canonical.resolve(Some(&id), &fresh);
    if let Err(Held::Unsafe(reason) | Held::Untestable(reason)) =
        crate::policy::guard(client, &request, &[&id, &fresh]).await
    {
        return not_run(reason);
    }
    let before = client.get(&path).await;
    let exchange = client.send(&request).await;
    if let Some(reason) = closed_mid_case(&exchange) {
        return not_run(reason);
    }
    let after = client.get(&path).await;
    CanonicalRun::Ran {
        staged_id: id,
        evidence: Box::new(StepEvidence {
            before: Some(before),
            exchange,
            after: Some(after),
            canonical: None,
        }),
    }
}

/// A request whose connection closed before any answer errors the case: no verdict on the
/// target can be drawn, and a PUT is never resent (it may have taken effect).
fn closed_mid_case(exchange: &Exchange) -> Option<String> {
    match &exchange.response {
        Err(error @ crate::client::TransportError::Closed(_)) => Some(format!(
            "{} {}: {error}; not retried, as it may have taken effect",
            exchange.request.method, exchange.request.url
        )),
        _ => None,
    }
}

async fn run_race(race: RacePlan, client: &HttpClient, provider: &Provider) -> Execution {
    let mut rounds = Vec::with_capacity(race.rounds);
    for _ in 0..race.rounds {
        let id = match stage_one(provider, RequestState::Approved).await {
            Ok(id) => id,
            Err(execution) => return execution,
        };
        match race_round(&id, race.concurrency, client).await {
            Ok(round) => rounds.push(round),
            Err(execution) => return execution,
        }
    }
    Execution::Ran {
        staged_id: None,
        steps: Vec::new(),
        rounds,
    }
}

/// Releases `concurrency` PUTs (alternating Completed and Canceled) through one barrier, on a
/// request checked to be Approved. No retry inside a round: that would break the simultaneity.
async fn race_round(
    id: &str,
    concurrency: usize,
    client: &HttpClient,
) -> Result<RaceRound, Execution> {
    let path = request_path(id);
    let before = read_staged(client, id, RequestState::Approved).await?;
    // Connected before the barrier, so the PUTs leave together instead of after one another's
    // connection (and TLS) set-up.
    client.warm(concurrency).await;
    let barrier = Arc::new(Barrier::new(concurrency));
    let attempts: Vec<_> = (0..concurrency)
        .map(|index| {
            let target = if index % 2 == 0 {
                TargetStatus::Completed
            } else {
                TargetStatus::Canceled
            };
            let request = put_status(&path, target);
            let (client, barrier) = (client.clone(), barrier.clone());
            (
                target,
                tokio::spawn(async move {
                    barrier.wait().await;
                    let exchange = client.send(&request).await;
                    let untestable = exchange
                        .ok()
                        .and_then(|r| crate::policy::untestable(&client, &request, r));
                    (exchange, untestable)
                }),
            )
        })
        .collect();
    let mut exchanges = Vec::with_capacity(attempts.len());
    let mut untestable = None;
    for (target, handle) in attempts {
        if let Ok((exchange, problem)) = handle.await {
            untestable = untestable.or(problem);
            exchanges.push((target, exchange));
        }
    }
    if let Some(reason) = untestable {
        return Err(Execution::Errored { reason });
    }
    let after = sent(client, &OutgoingRequest::get(&path)).await?;
    Ok(RaceRound {
        id: id.to_string(),
        before,
        attempts: exchanges,
        after,
    })
}

/// The well-formed PUT of section 1.
pub fn put_status(path: &str, target: TargetStatus) -> OutgoingRequest {
    OutgoingRequest {
        method: "PUT".into(),
        path: path.into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(
            serde_json::json!({ "status": target.wire() })
                .to_string()
                .into(),
        ),
        credentials: true,
    }
}
