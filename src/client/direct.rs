//! Keep-alive connections the client owns when nothing stands between it and the target (no
//! proxy): every request that no NTLM or Kerberos handshake pins goes here. Requests go with
//! their path as written, so no URL is parsed or rewritten on the way, and there is no
//! middleware between the run and hyper; reqwest, with its URL parsing, redirect and retry
//! layers, cost about a fifth of the client's CPU per exchange under `load`.
//!
//! What the pooled reqwest client did for dead kept-alive connections holds here too: a GET
//! that finds its reused connection closed goes once more on a new one; once the target is
//! known to close kept-alive connections, other methods go on new connections at once; a
//! request that may have reached the target is never sent again (it may have taken effect).

use super::owned::{Endpoint, Failure, Outgoing};
use super::pinned::{Connections, is_safe, resend_on_new};
use super::{ReceivedResponse, TransportError};
use std::sync::atomic::{AtomicBool, Ordering};

/// The direct connections to one target.
pub(super) struct Direct {
    connections: Connections,
    /// Set once a kept-alive connection was found closed by the target.
    closes_idle: AtomicBool,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Direct")
    }
}

impl Direct {
    pub(super) fn new(endpoint: Endpoint) -> Direct {
        Direct {
            connections: Connections::new(endpoint),
            closes_idle: AtomicBool::new(false),
        }
    }

    /// Sends `request` and reads its whole answer; connection failures are recorded as the
    /// pooled client recorded them (`TransportError::Closed` for a connection that closed
    /// before any answer).
    pub(super) async fn send(
        &self,
        request: &Outgoing<'_>,
    ) -> Result<ReceivedResponse, TransportError> {
        // A new connection for this request alone, closed after it (as the pooled client's
        // `fresh` client kept no idle connection): kept, one would pile up per PUT.
        let single_use = !is_safe(request.method) && self.closes_idle.load(Ordering::Relaxed);
        let mut pinned = if single_use {
            self.connections.fresh().await?
        } else {
            self.connections.checkout().await?
        };
        loop {
            let reused = pinned.reused();
            pinned.requests += 1;
            match pinned.connection.exchange(self.endpoint(), request).await {
                Ok(answer) => {
                    self.connections
                        .give_back(pinned, answer.keep_alive && !single_use);
                    return Ok(answer.response);
                }
                Err(Failure::NotSent) if reused => {}
                Err(Failure::NotSent) => {
                    return Err(TransportError::Closed(
                        "the new connection closed before the request was written".into(),
                    ));
                }
                Err(Failure::Transport(TransportError::Closed(reason))) => {
                    if reused {
                        self.closes_idle.store(true, Ordering::Relaxed);
                    }
                    if !resend_on_new(reused, request.method) {
                        return Err(TransportError::Closed(reason));
                    }
                }
                Err(Failure::Transport(error)) => return Err(error),
            }
            pinned = self.connections.fresh().await?;
        }
    }

    /// Readies `count` idle connections for requests about to leave together; none once the
    /// target is known to close kept-alive connections, as PUTs then go on new ones.
    pub(super) async fn warm(&self, count: usize) {
        if !self.closes_idle.load(Ordering::Relaxed) {
            self.connections.warm(count).await;
        }
    }

    fn endpoint(&self) -> &Endpoint {
        &self.connections.endpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A listener that accepts and holds connections.
    async fn holding_listener() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
        let listener = listener.unwrap_or_else(|error| panic!("{error}"));
        let port = listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    fn direct(url: &str) -> Direct {
        let endpoint = Endpoint::new(
            url,
            &super::super::Connection::default(),
            Duration::from_secs(5),
        );
        Direct::new(endpoint.unwrap_or_else(|error| panic!("{error}")))
    }

    #[tokio::test]
    async fn warming_opens_only_the_missing_connections() {
        let direct = direct(&holding_listener().await);
        direct.warm(3).await;
        assert_eq!(direct.connections.idle_open(), 3);
        direct.warm(3).await;
        assert_eq!(direct.connections.idle_open(), 3, "three were idle already");
        direct.warm(5).await;
        assert_eq!(direct.connections.idle_open(), 5);
        direct.closes_idle.store(true, Ordering::Relaxed);
        direct.warm(8).await;
        assert_eq!(direct.connections.idle_open(), 5, "PUTs would not use them");
    }

    /// A warmed connection waited idle: a request on it that the target closed goes again, as
    /// on any kept-alive connection, even though it carried none before.
    #[tokio::test]
    async fn a_warmed_connection_counts_as_reused() {
        let direct = direct(&holding_listener().await);
        direct.warm(1).await;
        let pinned = direct.connections.checkout().await;
        let pinned = pinned.unwrap_or_else(|error| panic!("{error}"));
        assert!(pinned.reused() && pinned.requests == 0);
        let fresh = direct.connections.fresh().await;
        assert!(!fresh.unwrap_or_else(|error| panic!("{error}")).reused());
    }

    /// Against a port nobody listens on, warming gives up at once (one attempt, no retries)
    /// and leaves nothing idle.
    #[tokio::test]
    async fn warming_a_closed_port_leaves_nothing() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0");
        let port = listener
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or(9);
        let direct = direct(&format!("http://127.0.0.1:{port}"));
        direct.warm(2).await;
        assert_eq!(direct.connections.idle_open(), 0);
    }
}
