//! NTLM-authenticated connections for the client.

use super::{ClientConfig, ClientError, TransportError, http_builder};
use std::sync::{Arc, Mutex};

/// NTLM authenticates connections: each entry is a client with at most one kept-alive
/// connection, used by one request at a time, so the handshake and the requests after it share
/// a connection.
#[derive(Debug)]
pub(super) struct NtlmPool {
    idle: Mutex<Vec<NtlmConnection>>,
    config: Arc<ClientConfig>,
}

#[derive(Debug)]
pub(super) struct NtlmConnection {
    pub(super) client: reqwest::Client,
    pub(super) authenticated: bool,
}

impl NtlmPool {
    pub(super) fn new(config: Arc<ClientConfig>) -> NtlmPool {
        NtlmPool {
            idle: Mutex::new(Vec::new()),
            config,
        }
    }

    pub(super) fn take(&self) -> Result<NtlmConnection, TransportError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        if let Some(connection) = idle {
            return Ok(connection);
        }
        let config = &self.config;
        let client = http_builder(
            &config.connection,
            config.timeout,
            config.no_proxy,
            &config.base_url,
        )
        .and_then(|builder| {
            builder
                .pool_max_idle_per_host(1)
                .build()
                .map_err(|error| ClientError::Build(error.to_string()))
        })
        .map_err(|error| TransportError::Auth(error.to_string()))?;
        Ok(NtlmConnection {
            client,
            authenticated: false,
        })
    }

    pub(super) fn put(&self, connection: NtlmConnection) {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(connection);
    }
}

/// What the NTLM handshake on a connection came to.
pub(super) enum Handshake {
    /// Send the request with this `Authorization` (type 3) value.
    Authenticate(String),
    /// The server did not ask for authentication: send as is.
    NotNeeded,
    /// The server offered no NTLM challenge: send as is (it will refuse, and say how).
    NoChallenge,
}
