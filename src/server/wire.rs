//! The connection layer: the accept loop, one hyper HTTP/1 connection per accepted socket
//! (so shutdown can stop every connection, not only the listener), the bounds that keep a
//! misbehaving client from holding the server ([`Limits`](super::Limits): hyper's header-read timeout, an idle
//! deadline on the socket, a deadline on each request body, a cap on open connections), and the two faults that must misbehave
//! below HTTP: `garbage_http` ([`Hijack`]) and `short_body` ([`short_body`]).
//!
//! No HTTP is parsed or written by hand here: hyper frames every answer, and the hijack only
//! replaces the bytes hyper writes once a handler has armed it.

use super::ConnState;
use super::respond::JSON;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use hyper::body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

/// How long a graceful shutdown lets in-flight exchanges finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Runs until `stop` turns true (or its sender is gone), then stops accepting, asks every
/// connection to finish its exchange and close, and cuts those still busy after the grace time.
/// Connections live in a `JoinSet` owned by this task, so aborting the task ends them all too.
pub async fn accept_loop(
    listener: TcpListener,
    router: Router<ConnState>,
    state: ConnState,
    mut stop: watch::Receiver<bool>,
) {
    let limits = state.app.config.limits;
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Over the cap: close at once, so a flood of idle sockets costs nothing.
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        refuse(&state, peer, limits.max_connections);
                        continue;
                    };
                    let exchange_state = ConnState { hijack: Hijack::default(), auth: Default::default(), ..state.clone() };
                    connections.spawn(serve_connection(stream, router.clone(), exchange_state, stop.clone(), slot));
                }
                // Out of descriptors and the like: back off instead of spinning.
                Err(error) => {
                    if state.app.config.log {
                        super::log::line(format!("cmconform server: accept failed: {error}"));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        connections.shutdown().await;
    }
}

/// A connection beyond `--max-connections`, dropped when this returns.
fn refuse(state: &ConnState, peer: std::net::SocketAddr, max: usize) {
    if state.app.config.log {
        super::log::line(format!(
            "cmconform server: {peer}: closed at once, {max} connections are open (--max-connections)"
        ));
    }
}

async fn serve_connection(
    stream: TcpStream,
    router: Router<ConnState>,
    state: ConnState,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let hijack = state.hijack.clone();
    let limits = state.app.config.limits;
    let idle = idle_timeout(&state);
    let service = TowerToHyperService::new(router.with_state(state));
    let io = TokioIo::new(WireStream {
        inner: stream,
        hijack,
        garbage_sent: 0,
        idle,
        deadline: Box::pin(tokio::time::sleep(idle)),
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(io, service);
    tokio::pin!(connection);
    // Connection errors (client gone, hijacked answer, a timeout) end this connection only; the
    // server has nothing to report about them.
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// The idle deadline of a connection: the configured one, but always past the `slow_answer`
/// delay, which is the server's own silence and must not cut its own answer.
fn idle_timeout(state: &ConnState) -> Duration {
    let config = &state.app.config;
    config
        .limits
        .idle_timeout
        .max(config.slow_delay + Duration::from_secs(1))
}

/// Resolves once the server is told to stop, or its handle is gone. (The guard `wait_for`
/// returns is dropped here: it must not live across the awaits of a select branch.)
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Set by a handler (the `garbage_http` fault) to have the connection answer with garbage:
/// one per connection, shared between the handler and the socket wrapper.
#[derive(Debug, Clone, Default)]
pub struct Hijack(Arc<AtomicBool>);

impl Hijack {
    pub fn arm(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_armed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the `garbage_http` fault sends instead of an HTTP answer.
pub const GARBAGE: &[u8] = b"garbage\r\n\r\n";

/// The accepted socket as hyper sees it. Reads pass through; writes pass through until the
/// hijack is armed, then the answer is replaced by [`GARBAGE`] and the write fails, which makes
/// hyper drop the connection. Working at write time (not by peeking at the request) keeps the
/// fault correct on kept-alive connections that carry several exchanges.
///
/// It also keeps the idle deadline: every byte read or written moves it `idle` ahead, and a read
/// or write still waiting when it passes fails with `TimedOut`, which ends the connection.
struct WireStream {
    inner: TcpStream,
    hijack: Hijack,
    garbage_sent: usize,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl WireStream {
    fn progressed(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// What a pending read or write becomes: still pending, or timed out once the deadline passed.
    fn pending_or_idle<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        ready!(self.deadline.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no progress within the idle timeout",
        )))
    }
}

impl AsyncRead for WireStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => this.pending_or_idle(cx),
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                this.progressed();
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for WireStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.hijack.is_armed() {
            return match Pin::new(&mut this.inner).poll_write(cx, buf) {
                Poll::Pending => this.pending_or_idle(cx),
                Poll::Ready(Ok(written)) => {
                    this.progressed();
                    Poll::Ready(Ok(written))
                }
                other => other,
            };
        }
        while let Some(rest) = GARBAGE
            .get(this.garbage_sent..)
            .filter(|rest| !rest.is_empty())
        {
            let written = ready!(Pin::new(&mut this.inner).poll_write(cx, rest))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.garbage_sent += written;
        }
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "answer replaced by garbage (garbage_http fault)",
        )))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// How many bytes the `short_body` answer claims beyond what it sends.
const SHORTFALL: usize = 1024;

/// A JSON answer whose Content-Length exceeds its body by [`SHORTFALL`] bytes: hyper sends the
/// head and the body, finds the body ended early and closes the connection.
pub fn short_body(body: Vec<u8>) -> Response {
    let declared = body.len() + SHORTFALL;
    let mut response = Response::new(Body::new(EndsEarly::new(body)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(declared));
    response
}

/// A body of unknown size (so hyper trusts the explicit Content-Length) that yields its bytes,
/// then pauses so hyper flushes them (it does not flush before failing a short body), then ends.
struct EndsEarly {
    data: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl EndsEarly {
    fn new(body: Vec<u8>) -> EndsEarly {
        EndsEarly {
            data: Some(Bytes::from(body)),
            pause: Box::pin(tokio::time::sleep(Duration::from_millis(20))),
        }
    }
}

impl hyper::body::Body for EndsEarly {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        ready!(this.pause.as_mut().poll(cx));
        Poll::Ready(None)
    }
}

/// Gives each request body [`Limits::body_timeout`](super::Limits) to arrive in full from the end
/// of its head. Past it, reading the body fails, the handler refuses the request (400, "the
/// request body could not be read") and hyper closes the connection, whose body was not read
/// to its end.
pub async fn body_deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let request = request.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
        })
    });
    next.run(request).await
}

/// A request body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        ready!(self.deadline.as_mut().poll(cx));
        let message = format!("the body did not arrive within {:?}", self.limit);
        Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
            io::ErrorKind::TimedOut,
            message,
        )))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
