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
}

/// The idle connections to one endpoint.
pub(super) struct Connections {
    pub(super) endpoint: Endpoint,
    idle: Mutex<Vec<Pinned>>,
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
                return Ok(pinned);
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
        })
    }

    /// Sends `request` on `pinned`. `None` when the connection was gone before the request
    /// went out (an idle connection the server dropped): `pinned` is then a new connection, and
    /// the caller sends again.
    pub(super) async fn exchange(
        &self,
        pinned: &mut Pinned,
        request: &Outgoing<'_>,
    ) -> Result<Option<Answer>, TransportError> {
        match pinned.connection.exchange(&self.endpoint, request).await {
            Ok(answer) => Ok(Some(answer)),
            Err(Failure::NotSent) => {
                *pinned = self.fresh().await?;
                Ok(None)
            }
            Err(Failure::Transport(error)) => Err(error),
        }
    }

    /// Gives `pinned` back for later requests when it can carry another one.
    pub(super) fn give_back(&self, pinned: Pinned, keep_alive: bool) {
        if keep_alive && pinned.connection.is_open() {
            lock(&self.idle).push(pinned);
        }
    }
}
