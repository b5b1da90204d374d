//! One conformance run, end to end: load the contract, plan, start the embedded server when no
//! target is given, execute, check, and assemble the [`RunReport`]. The CLI only parses flags
//! into [`RunOptions`] and writes the report.

use crate::checks::{self, CheckContext};
use crate::client::{ClientConfig, ClientError, Connection, HttpClient, TransportError};
use crate::contract::profile::Profile;
use crate::contract::{Contract, ContractSource, LoadError};
use crate::exec::{self, ExecutedCase};
use crate::plan::{self, Case, Selection};
use crate::provider::{PactStates, Provider, ProviderError, StateAuth, StateClient};
use crate::report::{CaseReport, CaseStatus, CaseStore, REPORT_VERSION, RunReport, Shard, Summary};
use crate::server::{self, Credentials, RunningServer, ServerConfig};
use crate::snapshot::{SnapshotMode, SnapshotStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("cannot start the embedded reference server: {0}")]
    Server(std::io::Error),
    #[error("cannot keep the evidence of passing cases in the temporary directory: {0}")]
    Spool(std::io::Error),
    #[error("target {url} is unreachable: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("proxy {proxy} is unreachable, so target {url} was not reached: {detail}")]
    ProxyUnreachable {
        proxy: String,
        url: String,
        detail: String,
    },
    #[error("authentication failed at {url}: {detail}")]
    AuthFailed { url: String, detail: String },
    #[error("{provider} cannot stage a request, so no iteration was started: {detail}")]
    StagingFailed {
        /// The flag the requests come from (`--state-url`, `--ids`), or the embedded server.
        provider: &'static str,
        detail: String,
    },
    #[error(
        "no case matches the selection (--filter, --tag, --skip-tag, --partition): nothing to run"
    )]
    NothingSelected,
    #[error(
        "--auth applies to a --base-url target; the embedded server uses a generated credential \
         (try a mode on loopback with `cmconform serve --auth MODE`)"
    )]
    EmbeddedAuth,
}

/// Cases in flight by default. A case is a few HTTP round trips and almost no CPU, so the
/// number of cores says nothing about how many the target can serve at once; 16 keeps a
/// loopback or LAN target busy without overrunning a small deployment (`--jobs`, `--rate`).
pub const DEFAULT_JOBS: usize = 16;

/// Where staged requests come from, as the user asked.
#[derive(Debug, Clone, Default)]
pub enum StateSource {
    #[default]
    None,
    Url(String),
    IdsFile(PathBuf),
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `None` runs against the embedded reference server.
    pub base_url: Option<String>,
    pub states: StateSource,
    /// Whether the state endpoint gets the run's credentials (`--state-auth`).
    pub state_auth: StateAuth,
    /// `--state-header` headers on every state request.
    pub state_headers: Vec<(String, String)>,
    /// `--state-map` and `--state-teardown`: Pact-style state changes.
    pub pact_states: PactStates,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub jobs: usize,
    /// `--rate`: the most requests per second sent to the target (shared deployments).
    pub rate: Option<crate::client::Rate>,
    pub selection: Selection,
    /// Where schemas, fixtures and snapshots come from.
    pub contract: ContractSource,
    pub snapshot_mode: SnapshotMode,
    /// Dialect of the embedded server.
    pub embedded_dialect: &'static server::Dialect,
    /// Fault for the embedded server (self-test and demonstrations).
    pub embedded_fault: Option<server::Fault>,
    pub embedded_slow_delay: Duration,
    /// The case families planned after the fixtures.
    pub families: Families,
    /// TLS, proxy, timeouts, retries, body cap and authentication for the target.
    pub connection: Connection,
    /// Stop starting cases after the first failure.
    pub fail_fast: bool,
    /// How strictly open inputs and web-server answers are judged (CONTRACT.md 6 and 7).
    pub profile: Profile,
    /// Skipped cases do not fail the run (`--allow-skips`).
    pub allow_skips: bool,
    /// Bytes of each body a failing case keeps in reports (`--evidence-bytes`).
    pub evidence_bytes: usize,
}

/// Which case families run besides the fixtures (issue: generated, life cycle, concurrency).
#[derive(Debug, Clone, Copy)]
pub struct Families {
    /// Number of generated negative inputs (0: none).
    pub generate: usize,
    pub seed: u64,
    /// The life-cycle table and multi-step sequences.
    pub lifecycle: bool,
    /// Conflicting PUTs sent at once, and how many rounds (0 rounds: no race case).
    pub race_concurrency: usize,
    pub race_rounds: usize,
}

impl Default for Families {
    fn default() -> Families {
        Families {
            generate: 0,
            seed: 0,
            lifecycle: true,
            race_concurrency: 8,
            race_rounds: 5,
        }
    }
}

impl Families {
    /// The cases of every enabled family, in a fixed order; the generated ones are built as they
    /// are taken (`--generate 100000` never holds its plan in memory) from the contract's facts.
    pub fn cases(&self, contract: &Contract) -> impl Iterator<Item = Case> + Send + 'static {
        let mut fixed = Vec::new();
        if self.lifecycle {
            fixed.extend(crate::sequences::lifecycle_table_cases());
            fixed.extend(crate::sequences::sequence_cases());
        }
        if self.race_rounds > 0 {
            fixed.extend(crate::sequences::race_cases(
                self.race_concurrency,
                self.race_rounds,
            ));
        }
        fixed.into_iter().chain(crate::generate::generated(
            self.generate,
            self.seed,
            contract.put_body.clone(),
        ))
    }

    /// The seed, when it shapes the run.
    pub fn reported_seed(&self) -> Option<u64> {
        (self.generate > 0).then_some(self.seed)
    }
}

impl RunOptions {
    pub fn new(contract_dir: PathBuf) -> RunOptions {
        RunOptions {
            base_url: None,
            states: StateSource::None,
            state_auth: StateAuth::None,
            state_headers: Vec::new(),
            pact_states: PactStates::default(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            jobs: DEFAULT_JOBS,
            rate: None,
            selection: Selection::default(),
            contract: ContractSource::Dir(contract_dir),
            snapshot_mode: SnapshotMode::Compare,
            embedded_dialect: server::Dialect::strict(),
            embedded_fault: None,
            embedded_slow_delay: Duration::from_secs(3),
            families: Families::default(),
            connection: Connection::default(),
            fail_fast: false,
            profile: Profile::default(),
            allow_skips: false,
            evidence_bytes: crate::report::DEFAULT_EVIDENCE_BYTES,
        }
    }
}

/// The target a run talks to; owns the embedded server for the run's lifetime.
pub struct Target {
    pub client: Arc<HttpClient>,
    pub provider: Arc<Provider>,
    pub embedded: Option<RunningServer>,
}

/// The cases a run would execute, in order (also what `list` shows).
pub fn planned_cases(contract: &Contract, options: &RunOptions) -> Vec<Case> {
    plan_stream(contract, options).collect()
}

/// The cases a run executes, in order, each built when it is taken.
pub fn plan_stream(
    contract: &Contract,
    options: &RunOptions,
) -> impl Iterator<Item = Case> + Send + 'static {
    let selection = options.selection.clone();
    plan::plan(contract, &options.selection).into_iter().chain(
        options
            .families
            .cases(contract)
            .filter(move |case| selection.accepts(case)),
    )
}

/// Plans of at most this many cases are kept from [`survey`] and executed from memory rather
/// than built a second time (a small run's start); no more than the default `--jobs` window
/// holds anyway, so a run's memory stays bounded by its window, not its plan.
const KEPT_CASES: usize = DEFAULT_JOBS;

/// What one pass over the plan before the run finds.
struct Survey {
    total: usize,
    snapshots: std::collections::BTreeSet<String>,
    /// The cases, when there are at most [`KEPT_CASES`].
    kept: Option<Vec<Case>>,
}

/// One pass over the plan before the run: how many cases it has, the snapshots they name, and
/// the cases themselves when there are few.
fn survey(cases: impl Iterator<Item = Case>) -> Survey {
    let mut snapshots = std::collections::BTreeSet::new();
    let mut total = 0;
    let mut kept = Some(Vec::new());
    for case in cases {
        total += 1;
        let names = case
            .steps
            .iter()
            .filter_map(|step| step.expect.snapshot.clone());
        snapshots.extend(names);
        match kept.as_mut() {
            Some(cases) if total <= KEPT_CASES => cases.push(case),
            _ => kept = None,
        }
    }
    Survey {
        total,
        snapshots,
        kept,
    }
}

/// What a run tells its observer while it goes.
pub enum RunEvent<'a> {
    /// The target is up and `total` cases are about to run.
    Started(crate::report::RunStart<'a>),
    /// A case finished; events come in plan order.
    CaseFinished(&'a CaseReport),
}

/// What a run knows before it sends anything: its contract, how many cases it plans and the
/// snapshots they name. The command line reads [`Prepared::total`] to pick the runtime the
/// exchanges go out on ([`crate::cli::runtime`]).
pub struct Prepared {
    started_at: String,
    started: Instant,
    contract: Contract,
    contract_digest: String,
    total: usize,
    /// The planned cases, for a small plan (see [`KEPT_CASES`]).
    kept: Option<Vec<Case>>,
    shard: Option<Shard>,
    snapshots: SnapshotStore,
}

impl Prepared {
    /// The number of cases the run will execute.
    pub fn total(&self) -> usize {
        self.total
    }
}

/// Runs the suite; `observe` sees the start and each case's report in plan order as soon as it
/// is known.
pub async fn run(
    options: &RunOptions,
    observe: impl FnMut(RunEvent),
) -> Result<RunReport, RunError> {
    let prepared = prepare(options)?;
    execute(options, prepared, observe).await
}

/// Everything of a run that needs no runtime: the contract, the plan's size and its snapshots,
/// each problem an error before anything is sent.
pub fn prepare(options: &RunOptions) -> Result<Prepared, RunError> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let started = Instant::now();
    let (contract, contract_digest) = load_contract(options)?;
    let survey = survey(plan_stream(&contract, options));
    if survey.total == 0 {
        return Err(RunError::NothingSelected);
    }
    let shard = shard_of(&contract, options);
    let snapshots = checked_snapshots(&contract, options, &survey.snapshots)?;
    Ok(Prepared {
        started_at,
        started,
        contract,
        contract_digest,
        total: survey.total,
        kept: survey.kept,
        shard,
        snapshots,
    })
}

/// The prepared run: connect, execute every case, judge each as it finishes, and report.
pub async fn execute(
    options: &RunOptions,
    mut prepared: Prepared,
    mut observe: impl FnMut(RunEvent),
) -> Result<RunReport, RunError> {
    let cases: Box<dyn Iterator<Item = Case> + Send> = match prepared.kept.take() {
        Some(kept) => Box::new(kept.into_iter()),
        None => Box::new(plan_stream(&prepared.contract, options)),
    };
    let target = connect(options).await?;
    if let Err(error) = preflight(&target.client, target.embedded.is_none()).await {
        return Err(blame_the_proxy(error, options).await);
    }
    let context = CheckContext {
        schemas: &prepared.contract.schemas,
        snapshots: &prepared.snapshots,
        profile: options.profile,
    };
    let mut reports = CaseStore::spooling();
    let masked_target = crate::client::mask_url(target.client.base_url());
    observe(RunEvent::Started(crate::report::RunStart {
        total: prepared.total,
        target: &masked_target,
        embedded: target.embedded.is_some(),
        seed: options.families.reported_seed(),
        profile: options.profile,
        contract_digest: &prepared.contract_digest,
        contract_source: &prepared.contract.source.report_name(),
        fault: embedded_fault_name(options).as_deref(),
    }));
    let secrets = report_secrets(&target.client, options);
    let stop = exec::StopSignal::default();
    let fail_fast = options.fail_fast.then(|| stop.clone());
    exec::execute_all(
        cases,
        target.client.clone(),
        target.provider.clone(),
        options.jobs,
        fail_fast,
        |case| {
            let report = judge(case, &context, &secrets, options.evidence_bytes);
            if report.status == CaseStatus::Failed {
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            observe(RunEvent::CaseFinished(&report));
            reports.push(report);
        },
    )
    .await;
    let closed = reports.close();
    let target_url = target.client.base_url().to_string();
    let embedded = target.embedded.is_some();
    if let Some(server) = target.embedded {
        server.shutdown().await;
    }
    closed.map_err(RunError::Spool)?;
    Ok(finished_report(
        options,
        prepared,
        &target_url,
        embedded,
        reports,
    ))
}

/// The report of a run whose cases all ran.
fn finished_report(
    options: &RunOptions,
    prepared: Prepared,
    target_url: &str,
    embedded: bool,
    reports: CaseStore,
) -> RunReport {
    RunReport {
        report_version: REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        contract_digest: prepared.contract_digest,
        contract_source: prepared.contract.source.report_name(),
        target: crate::client::mask_url(target_url),
        embedded,
        started_at: prepared.started_at,
        duration_ms: prepared.started.elapsed().as_secs_f64() * 1000.0,
        seed: options.families.reported_seed(),
        profile: options.profile,
        shard: prepared.shard,
        notices: run_notices(options),
        fault: embedded_fault_name(options),
        allow_skips: options.allow_skips,
        summary: reports.summary().clone(),
        cases: reports,
    }
}

/// The run's contract and its digest. The built-in Request schema, which judges nearly every
/// answer, starts compiling on a thread of its own first (unless the binary started it before
/// parsing the command line), while the contract is read and the first exchanges are on the wire.
fn load_contract(options: &RunOptions) -> Result<(Contract, String), RunError> {
    crate::contract::SchemaSet::precompile_built_in(crate::contract::REQUEST_SCHEMA);
    let (contract, read) = Contract::from_source_keeping_files(options.contract.clone())?;
    let digest = crate::contract::digest::contract_digest_of_read(&contract.source, &read)?;
    Ok((contract, digest))
}

/// The snapshots of the contract, every one a planned case names checked to exist first.
fn checked_snapshots(
    contract: &Contract,
    options: &RunOptions,
    names: &std::collections::BTreeSet<String>,
) -> Result<SnapshotStore, RunError> {
    let snapshots = SnapshotStore::for_source(&contract.source, options.snapshot_mode);
    snapshots.validate(names.iter().map(String::as_str))?;
    Ok(snapshots)
}

/// What every report of the run warns about (certificate checks off, ...), for real targets.
fn run_notices(options: &RunOptions) -> Vec<String> {
    match options.base_url {
        Some(_) => options.connection.notices(),
        None => Vec::new(),
    }
}

/// The fault the embedded server runs with (`--fault` applies to it only).
fn embedded_fault_name(options: &RunOptions) -> Option<String> {
    options
        .embedded_fault
        .filter(|_| options.base_url.is_none())
        .map(|fault| fault.name().to_string())
}

/// The report of a run that stopped before its cases (target unreachable, authentication
/// failed, ...): one errored case, `run`, whose reason is the error, so that every requested
/// report exists and says why (CI steps publish reports whatever the outcome).
pub fn stopped_report(
    options: &RunOptions,
    error: &RunError,
    started_at: String,
    started: Instant,
) -> RunReport {
    // Without a readable contract the digest is unknown: all zeros keeps the report valid.
    let contract_digest = Contract::from_source(options.contract.clone())
        .ok()
        .and_then(|contract| crate::contract::digest::contract_digest(&contract.source).ok())
        .unwrap_or_else(|| format!("sha256:{}", "0".repeat(64)));
    let target = options
        .base_url
        .as_deref()
        .map(crate::client::mask_url)
        .unwrap_or_else(|| "embedded reference server".to_string());
    // A spool that failed at the end stopped the run after its cases, not before them.
    let when = match error {
        RunError::Spool(_) => "after its cases, whose passing evidence it lost",
        _ => "before its cases",
    };
    let stopped = CaseReport::stopped(format!("the run stopped {when}: {error}"));
    let cases = vec![stopped];
    RunReport {
        report_version: REPORT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        contract_digest,
        contract_source: options.contract.report_name(),
        target,
        embedded: options.base_url.is_none(),
        started_at,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        seed: options.families.reported_seed(),
        profile: options.profile,
        shard: None,
        notices: vec![format!("The run stopped {when}: {error}")],
        fault: embedded_fault_name(options),
        allow_skips: options.allow_skips,
        summary: Summary::of(&cases),
        cases: cases.into(),
    }
}

/// With `--partition k/n`: k, n and the ids of the unpartitioned plan.
fn shard_of(contract: &Contract, options: &RunOptions) -> Option<Shard> {
    let partition = options.selection.partition?;
    let mut whole = options.clone();
    whole.selection.partition = None;
    Some(Shard {
        index: partition.index,
        total: partition.total,
        plan: plan_stream(contract, &whole)
            .map(|case| case.id.clone())
            .collect(),
    })
}

/// Checks judge the whole raw answers; the report keeps them masked, then bounded.
fn judge(
    executed: ExecutedCase,
    context: &CheckContext,
    secrets: &[String],
    evidence_bytes: usize,
) -> CaseReport {
    let evaluation = checks::evaluate(&executed, context);
    CaseReport::from_executed(executed, evaluation)
        .redacted(secrets)
        .bounded(evidence_bytes)
}

/// Every secret a report must not show: the run client's, and the state endpoint's headers.
pub(crate) fn report_secrets(client: &HttpClient, options: &RunOptions) -> Vec<String> {
    let mut secrets = client.secrets();
    secrets.extend(
        options
            .state_headers
            .iter()
            .map(|(_, value)| value.trim().to_string())
            .filter(|value| value.len() >= 4),
    );
    secrets
}

/// The target of `options` (starting the embedded server without a `--base-url`).
pub async fn connect(options: &RunOptions) -> Result<Target, RunError> {
    match &options.base_url {
        Some(base_url) => connect_external(options, base_url),
        None => connect_embedded(options).await,
    }
}

fn connect_external(options: &RunOptions, base_url: &str) -> Result<Target, RunError> {
    let client = HttpClient::new(ClientConfig {
        base_url: base_url.to_string(),
        extra_headers: options.headers.clone(),
        timeout: options.timeout,
        connection: options.connection.clone(),
        no_proxy: false,
        guard_unstaged: true,
    })?;
    let provider = match &options.states {
        StateSource::None => Provider::Unavailable,
        StateSource::Url(url) => state_provider(
            url,
            state_client(options, url)?,
            options.state_headers.clone(),
        )?
        .with_pact(options.pact_states.clone()),
        StateSource::IdsFile(path) => Provider::ids_file(path)?,
    };
    Ok(Target {
        client: Arc::new(client.with_rate(options.rate)),
        provider: Arc::new(provider),
        embedded: None,
    })
}

/// The client of the state endpoint, on a client of its own (the endpoint may be another
/// origin, and NTLM pins connections per origin): with `--state-auth same`, the run's
/// authentication and -H headers; otherwise only the connection's TLS, proxy and limits.
fn state_client(options: &RunOptions, url: &str) -> Result<StateClient, RunError> {
    let credentials = options.state_auth == StateAuth::Same;
    let (extra_headers, connection) = if credentials {
        (options.headers.clone(), options.connection.clone())
    } else {
        let connection = Connection {
            auth: Default::default(),
            ..options.connection.clone()
        };
        (Vec::new(), connection)
    };
    let client = HttpClient::new(ClientConfig {
        base_url: crate::provider::origin(url, !credentials)
            .ok_or_else(|| ClientError::BaseUrl(crate::client::mask_url(url)))?,
        extra_headers,
        timeout: options.timeout,
        connection,
        no_proxy: false,
        guard_unstaged: false,
    })?;
    Ok(StateClient {
        client,
        credentials,
    })
}

/// The provider of a state endpoint at `url`.
fn state_provider(
    url: &str,
    client: StateClient,
    headers: Vec<(String, String)>,
) -> Result<Provider, RunError> {
    Provider::state_url(url, client, headers)
        .ok_or_else(|| ClientError::BaseUrl(crate::client::mask_url(url)).into())
}

/// Staged requests the embedded server keeps (least recently used evicted): a finished case
/// never reads its request again, and a case in flight touches its own at every exchange, so
/// 8192 stagings (many seconds of the fastest run) pass before it could be evicted. At about a
/// kilobyte each, 100,000 generated cases would otherwise keep 150 MB of requests alive.
const EMBEDDED_MAX_REQUESTS: usize = 8192;

/// The limits of a server the harness alone talks to. The harness's client keeps idle
/// connections until the server closes them (`client::direct`): a server that closed them
/// sooner could close one just as it is reused for a PUT; and --race-concurrency may open more
/// than serve's default cap.
pub fn embedded_limits() -> server::Limits {
    server::Limits {
        header_timeout: Duration::from_secs(300),
        idle_timeout: Duration::from_secs(300),
        max_connections: usize::from(u16::MAX) * 2,
        ..server::Limits::default()
    }
}

/// Starts the reference server on a free loopback port with a per-run credential, so the
/// unauthenticated cases are meaningful and the credential can be checked for leaks.
async fn connect_embedded(options: &RunOptions) -> Result<Target, RunError> {
    let credential = format!("Negotiate {}", uuid::Uuid::new_v4().simple());
    let server = server::spawn(
        ServerConfig {
            dialect: options.embedded_dialect,
            fault: options.embedded_fault,
            credentials: Credentials::Exact(credential.clone()),
            slow_delay: options.embedded_slow_delay,
            log: false,
            limits: server::Limits {
                max_requests: EMBEDDED_MAX_REQUESTS.max(options.jobs.saturating_mul(16)),
                ..embedded_limits()
            },
        },
        0,
    )
    .await
    .map_err(RunError::Server)?;
    let mut headers = vec![("Authorization".to_string(), credential)];
    headers.extend(options.headers.iter().cloned());
    let client = HttpClient::new(ClientConfig {
        base_url: server.base_url(),
        extra_headers: headers,
        timeout: options.timeout,
        connection: embedded_connection(options)?,
        no_proxy: true,
        guard_unstaged: false,
    })?;
    let states = HttpClient::new(ClientConfig {
        base_url: server.base_url(),
        extra_headers: Vec::new(),
        timeout: options.timeout,
        connection: Connection {
            max_body: options.connection.max_body,
            ..Connection::default()
        },
        no_proxy: true,
        guard_unstaged: false,
    })?;
    let states = StateClient {
        client: states,
        credentials: false,
    };
    let provider = state_provider(&server.state_url(), states, Vec::new())?;
    Ok(Target {
        client: Arc::new(client.with_rate(options.rate)),
        provider: Arc::new(provider),
        embedded: Some(server),
    })
}

/// The embedded server is plain HTTP on loopback with its own generated credential: of the
/// connection settings only the body cap and retries apply, and `--auth` is refused.
fn embedded_connection(options: &RunOptions) -> Result<Connection, RunError> {
    if options.connection.auth.mode != crate::auth::AuthMode::None {
        return Err(RunError::EmbeddedAuth);
    }
    Ok(Connection {
        max_body: options.connection.max_body,
        retries: options.connection.retries,
        ..Connection::default()
    })
}

/// How long the proxy gets to accept a connection when the target was unreachable through it.
const PROXY_PROBE: Duration = Duration::from_secs(5);

/// A target unreachable through `--proxy` is often an unreachable proxy: then the proxy is named,
/// not the target (which was never tried).
async fn blame_the_proxy(error: RunError, options: &RunOptions) -> RunError {
    let (RunError::Unreachable { url, .. }, Some(proxy)) = (&error, &options.connection.proxy)
    else {
        return error;
    };
    let Some(address) = reqwest::Url::parse(proxy).ok().and_then(|parsed| {
        let host = parsed.host_str()?.trim_matches(['[', ']']).to_string();
        Some((host, parsed.port_or_known_default()?))
    }) else {
        return error;
    };
    let detail =
        match tokio::time::timeout(PROXY_PROBE, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => return error,
            Ok(Err(io)) => io.to_string(),
            Err(_) => format!("no connection within {PROXY_PROBE:?}"),
        };
    RunError::ProxyUnreachable {
        proxy: crate::client::mask_url(proxy),
        url: url.clone(),
        detail,
    }
}

/// One GET of a nil id before any PUT: a connection that cannot be made (refused, DNS, TLS) or
/// credentials that are refused mean the run cannot be carried out.
/// A timeout stops a run against a real target (`external`); on the embedded server it is the
/// `slow_answer` fault under test, which the cases must report.
pub async fn preflight(client: &HttpClient, external: bool) -> Result<(), RunError> {
    let exchange = client
        .get(&exec::request_path("00000000-0000-0000-0000-000000000000"))
        .await;
    match exchange.response {
        Err(TransportError::Connect(detail)) => {
            let hint = if detail.contains("certificate") {
                " (a private CA? pass --cacert FILE; `cmconform doctor` checks each step)"
            } else {
                ""
            };
            Err(RunError::Unreachable {
                url: client.base_url().to_string(),
                detail: format!("{detail}{hint}"),
            })
        }
        Err(TransportError::Timeout(limit)) if external => Err(RunError::Unreachable {
            url: client.base_url().to_string(),
            detail: format!(
                "the pre-flight GET of the nil request got no answer within {limit:?}, so no case \
                 was started (a larger --timeout? `cmconform doctor` checks each step)"
            ),
        }),
        Err(TransportError::Auth(detail)) => Err(RunError::AuthFailed {
            url: client.base_url().to_string(),
            detail,
        }),
        Ok(received) if matches!(received.status, 401 | 403) && client.has_credentials() => {
            let detail = match client.handshake_failure() {
                Some(step) => format!(
                    "GET of the nil request answered {}: {step} (`cmconform doctor` checks each \
                     step)",
                    received.status
                ),
                None => format!(
                    "GET of the nil request answered {}{}; check the --auth mode and credentials \
                     (`cmconform doctor` checks each step)",
                    received.status,
                    crate::client::offered_schemes(&received)
                ),
            };
            Err(RunError::AuthFailed {
                url: client.base_url().to_string(),
                detail,
            })
        }
        _ => Ok(()),
    }
}
