//! The embedded reference server: a faithful implementation of
//! `PUT /CertificateManagement/api/v1.0/requests/{id}` (and the GET that reads a request) as
//! CONTRACT.md describes it, plus a provider-state endpoint (`POST /_cmconform/states`) that
//! stages requests in any life-cycle state, a choice of faithful dialects ([`Dialect`]: how an
//! ASP.NET deployment or one that answers 204 differs from the canonical reading), and a
//! catalogue of faults ([`Fault`]) that each break exactly one rule, so the harness can be shown
//! to catch every one, in every dialect.
//!
//! This module owns the configuration ([`ServerConfig`]), starting and stopping
//! ([`spawn`], [`RunningServer`]) and the routing table. The parts:
//! - `dialect`: the faithful dialects, one row of data each;
//! - `faults`: the fault catalogue, one row per fault (name, section, intended check, hook);
//! - `hooks`: the decisions a fault can change, and the changes;
//! - `behaviour`: the questions the handlers ask, answered through the configured hook;
//! - `auth`: the accepted credentials and the check (NTLM verified per connection);
//! - `handlers`: routing, authentication, GET, PUT, the state endpoint, logging;
//! - `binding`: how a PUT body becomes a target status, canonically or as Json.NET binds it;
//! - `lenient_json`: Json.NET's lenient reader (quotes, comments, bare names, duplicates);
//! - `update`: what a PUT does to a stored request, atomically;
//! - `store`: the thread-safe request store, bounded by an LRU;
//! - `model`: the Request object, timestamps, the documented example, generated requests;
//! - `respond`: JSON answers and error bodies with correlation IDs;
//! - `log`: the exchange log, which never blocks or stops serving;
//! - `wire`: the accept loop, per-connection hyper with its timeouts and the connection cap, and
//!   the faults below HTTP.

mod auth;
mod behaviour;
mod binding;
pub mod dialect;
pub mod faults;
mod handlers;
mod hooks;
mod lenient_json;
mod log;
pub(crate) mod model;
mod respond;
mod store;
mod update;
mod wire;

pub use auth::Credentials;
pub use dialect::Dialect;
pub use faults::Fault;

use crate::contract::lifecycle::RequestState;
use axum::Router;
use axum::routing::any;
use behaviour::Behaviour;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use store::{Store, StoredRequest};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Path of the provider-state endpoint (no authentication, never faulted).
pub const STATES_PATH: &str = "/_cmconform/states";

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How the server answers where the contract leaves a choice.
    pub dialect: &'static Dialect,
    /// The one rule to break, or `None` for a conformant server.
    pub fault: Option<Fault>,
    /// Which `Authorization` values are accepted.
    pub credentials: Credentials,
    /// How long the `slow_answer` fault waits before answering.
    pub slow_delay: Duration,
    /// Log each exchange to stderr (`method path -> status`), never header values.
    pub log: bool,
    /// Bounds on connections and on the store.
    pub limits: Limits,
}

/// What keeps the server answering when clients misbehave or runs pile up: every connection ends
/// after a bounded wait, their number is capped, and so is the number of staged requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long the head of a request may take to arrive, from the moment the server waits for
    /// it: a new connection, or a kept-alive one after its last answer (partial, trickled and
    /// idle connections all end here).
    pub header_timeout: Duration,
    /// How long a connection may make no progress (no byte read or written) while the server
    /// reads or writes it: a stalled body, or a client that stops reading its answer. Longer
    /// than the `slow_answer` delay, which is the server's own wait.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive in full, from the end of its head: a body
    /// trickled a byte at a time makes progress, so only this ends it.
    pub body_timeout: Duration,
    /// Connections open at once; one beyond is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Staged requests kept; past it the least recently used is evicted.
    pub max_requests: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_requests: store::DEFAULT_MAX_REQUESTS,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            dialect: Dialect::strict(),
            fault: None,
            credentials: Credentials::AnyNonEmpty,
            slow_delay: Duration::from_secs(3),
            log: false,
            limits: Limits::default(),
        }
    }
}

/// Shared by every exchange of one server.
#[derive(Debug)]
struct App {
    config: ServerConfig,
    behaviour: Behaviour,
    store: Store,
    /// Requests whose credentials were accepted (`auth_lost_mid_run` counts them).
    admitted: std::sync::atomic::AtomicUsize,
    /// API requests received so far, in arrival order (`stall_1_in_50` counts them).
    api_requests: std::sync::atomic::AtomicU64,
}

impl App {
    /// Whether a request with valid credentials is denied anyway: under `auth_lost_mid_run`,
    /// once the server has admitted its quota.
    fn authentication_lost(&self) -> bool {
        let Some(limit) = self.behaviour.loses_authentication_after() else {
            return false;
        };
        let admitted = self
            .admitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        admitted >= limit
    }
}

/// The state handlers see: the server, and the hijack switch of their connection.
#[derive(Debug, Clone)]
struct ConnState {
    app: Arc<App>,
    hijack: wire::Hijack,
    /// Authentication of this connection (NTLM authenticates connections, not requests).
    auth: auth::Session,
}

/// A listening server. Dropping it aborts the server and every open connection; prefer
/// [`RunningServer::shutdown`] to let exchanges in flight finish.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The provider-state endpoint: `base_url() + "/_cmconform/states"`.
    pub fn state_url(&self) -> String {
        format!("{}{STATES_PATH}", self.base_url())
    }

    /// Stops accepting, lets exchanges in flight finish (for a short grace time), and returns
    /// once every connection is closed.
    pub async fn shutdown(mut self) {
        // The receiver lives in the task; if the task already ended there is nothing to stop.
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds `127.0.0.1:port` (0: a free port), seeds the store with the documented example
/// request (Approved), and serves in a background task. Returns once the socket is listening.
pub async fn spawn(config: ServerConfig, port: u16) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let behaviour = Behaviour::new(config.dialect, config.fault, config.slow_delay);
    let app = Arc::new(App {
        store: seeded_store(config.limits.max_requests),
        behaviour,
        config,
        admitted: Default::default(),
        api_requests: std::sync::atomic::AtomicU64::new(0),
    });
    let state = ConnState {
        app,
        hijack: wire::Hijack::default(),
        auth: auth::Session::default(),
    };
    let router = router(state.app.config.log, state.app.config.limits.body_timeout);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(wire::accept_loop(listener, router, state, stopped));
    Ok(RunningServer {
        addr,
        stop,
        task: Some(task),
    })
}

/// The documented example of sections 1 and 4, before its completion, pinned: eviction and
/// teardown apply to staged requests only.
fn seeded_store(max_requests: usize) -> Store {
    let store = Store::with_cap(max_requests);
    let (object, submitted_at) = model::documented_example();
    store.insert_pinned(StoredRequest {
        // The GET page shows the example with Status 3 before its completion: Approved.
        state: RequestState::Approved,
        object,
        submitted_at,
        moved_at: None,
    });
    store
}

/// Every path but the state endpoint goes to one handler that routes by hand, because the API
/// path must match case-insensitively (IIS) and axum's router is case-sensitive.
fn router(log: bool, body_timeout: Duration) -> Router<ConnState> {
    Router::new()
        .route(STATES_PATH, any(handlers::stage))
        .fallback(handlers::api)
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            wire::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            log,
            handlers::log_exchange,
        ))
}
