//! Connections that connection-oriented authentication (NTLM, Kerberos) has pinned: each is
//! checked out by one request at a time, so under `--jobs N` each worker holds its own, and one
//! that authenticated keeps carrying requests until the server closes it.

use super::TransportError;
use super::owned::{Answer, Endpoint, Failure, Outgoing, OwnedConnection};
use std::sync::Mutex;

/// A connection and whether a handshake authenticated it.
pub(super) struct Pinned {
    pub(super) connection: OwnedConnection,
    pub(super) authenticated: bool,
    /// Requests the connection has carried (a reused one may have been closed while idle).
    pub(super) requests: u32,
    /// Whether it waited in the idle list, carried requests or not (a warmed one): the target
    /// may have closed it meanwhile.
    pub(super) waited: bool,
}

impl Pinned {
    /// Whether the target may have closed the connection before this request: it carried one
    /// before or waited idle. A new one that fails is the target's doing.
    pub(super) fn reused(&self) -> bool {
        self.requests > 0 || self.waited
    }
}

/// The idle connections to one endpoint.
pub(super) struct Connections {
    pub(super) endpoint: Endpoint,
    idle: Mutex<Vec<Pinned>>,
}

/// The most a warming connection may take: warming is a courtesy to simultaneity, and a target
/// slow to accept must not hold a race round for the run's whole connect timeout and retries.
const WARM_CONNECT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a request that a connection closed before answering goes once more on a new one:
/// only on a reused connection (the target may have closed it while idle; a new one that fails
/// the same way is the target's doing), and only a safe method (RFC 9110 section 9.2.1). PUT is
/// idempotent but never resent here: the run judges what one PUT did, and it may have taken
/// effect.
pub(super) fn resend_on_new(reused: bool, method: &str) -> bool {
    reused && is_safe(method)
}

/// Methods that may be sent twice (RFC 9110 section 9.2.1): the http crate's rule, which the
/// reqwest path applies too (`Method::is_safe`), not a second list.
pub(super) fn is_safe(method: &str) -> bool {
    hyper::Method::from_bytes(method.as_bytes()).is_ok_and(|method| method.is_safe())
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another request panicked; the data is a plain value.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Connections {
    pub(super) fn new(endpoint: Endpoint) -> Connections {
        Connections {
            endpoint,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection the server has not closed, or a new one.
    pub(super) async fn checkout(&self) -> Result<Pinned, TransportError> {
        loop {
            let Some(pinned) = lock(&self.idle).pop() else {
                break;
            };
            if pinned.connection.is_open() {
                return Ok(Pinned {
                    waited: true,
                    ..pinned
                });
            }
        }
        self.fresh().await
    }

    /// A new, unauthenticated connection.
    pub(super) async fn fresh(&self) -> Result<Pinned, TransportError> {
        Ok(Pinned {
            connection: self.endpoint.open().await?,
            authenticated: false,
            requests: 0,
            waited: false,
        })
    }

    /// Sends `request` on `pinned`. `None` when the request is to go again on a new
    /// connection, which `pinned` then is (unauthenticated; the caller authenticates it and
    /// sends again):
    /// - the connection was gone before the request went out (an idle connection the server
    ///   dropped);
    /// - a reused connection closed before answering a safe request ([`resend_on_new`]).
    pub(super) async fn exchange(
        &self,
        pinned: &mut Pinned,
        request: &Outgoing<'_>,
    ) -> Result<Option<Answer>, TransportError> {
        let reused = pinned.reused();
        pinned.requests += 1;
        match pinned.connection.exchange(&self.endpoint, request).await {
            Ok(answer) => Ok(Some(answer)),
            Err(Failure::NotSent) => {
                *pinned = self.fresh().await?;
                Ok(None)
            }
            Err(Failure::Transport(TransportError::Closed(_)))
                if resend_on_new(reused, request.method) =>
            {
                *pinned = self.fresh().await?;
                Ok(None)
            }
            Err(Failure::Transport(error)) => Err(error),
        }
    }

    /// Opens new connections, all at once, until `count` open ones are idle: requests meant to
    /// leave together (a race round) then find them ready, instead of each connecting (and for
    /// https, handshaking TLS) after the start, one after the other on a one-thread runtime.
    /// One attempt each, within [`WARM_CONNECT`]: a connection that cannot be opened so is left
    /// to the request that needs it, which connects with the run's retries and reports it.
    pub(super) async fn warm(&self, count: usize) {
        let missing = count.saturating_sub(self.idle_open());
        let attempts = (0..missing).map(|_| self.endpoint.open_once(WARM_CONNECT));
        let opened = futures_util::future::join_all(attempts).await;
        for connection in opened.into_iter().flatten() {
            let pinned = Pinned {
                connection,
                authenticated: false,
                requests: 0,
                waited: false,
            };
            self.give_back(pinned, true);
        }
    }

    /// The idle connections the target has not closed.
    pub(super) fn idle_open(&self) -> usize {
        lock(&self.idle)
            .iter()
            .filter(|pinned| pinned.connection.is_open())
            .count()
    }

    /// Gives `pinned` back for later requests when it can carry another one.
    pub(super) fn give_back(&self, pinned: Pinned, keep_alive: bool) {
        if keep_alive && pinned.connection.is_open() {
            lock(&self.idle).push(pinned);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resend_on_new;

    #[test]
    fn only_safe_methods_on_reused_connections_are_resent() {
        for (method, safe) in [
            ("GET", true),
            ("HEAD", true),
            ("OPTIONS", true),
            ("PUT", false),
            ("POST", false),
            ("DELETE", false),
            ("PATCH", false),
            ("get", false),
        ] {
            assert_eq!(resend_on_new(true, method), safe, "{method}");
            assert!(
                !resend_on_new(false, method),
                "{method} on a new connection"
            );
        }
    }
}
