//! One HTTP/1.1 connection the client owns: a tokio TCP stream (rustls on top for https) driven
//! by hyper's client connection API. Connection-oriented authentication (NTLM, and Negotiate,
//! which IIS also ties to the connection) needs to know which connection a request goes on;
//! a pooled client cannot promise that, this can.

use super::{ClientError, ReceivedResponse, TransportError, error_chain};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;

/// Where owned connections go, and how long they may take.
pub(super) struct Endpoint {
    /// Host for DNS and TCP (no IPv6 brackets).
    host: String,
    port: u16,
    /// The `Host` header: the URL's authority.
    authority: String,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    pub(super) timeout: Duration,
    connect_timeout: Duration,
    retries: u32,
    max_body: usize,
}

/// What an exchange on an owned connection came to.
#[derive(Debug)]
pub(super) enum Failure {
    /// The connection was gone before anything was written: the request may be sent elsewhere.
    NotSent,
    /// The request may have reached the server.
    Transport(TransportError),
}

/// An answer, and whether the connection can carry another request.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) response: ReceivedResponse,
    pub(super) keep_alive: bool,
}

/// One request as it goes on an owned connection.
pub(super) struct Outgoing<'a> {
    pub(super) method: &'a str,
    /// The origin-form target (path and query).
    pub(super) target: &'a str,
    pub(super) headers: &'a [(String, String)],
    pub(super) body: &'a [u8],
}

impl Endpoint {
    /// The endpoint of `base_url` with the connection's TLS settings and limits.
    pub(super) fn new(
        base_url: &str,
        connection: &super::Connection,
        timeout: Duration,
    ) -> Result<Endpoint, ClientError> {
        let url =
            reqwest::Url::parse(base_url).map_err(|_| ClientError::BaseUrl(base_url.into()))?;
        let https = url.scheme() == "https";
        let host = url
            .host_str()
            .ok_or_else(|| ClientError::BaseUrl(base_url.into()))?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let tls = if https {
            let config = super::tls::client_config(&connection.tls)?;
            let name = rustls::pki_types::ServerName::try_from(bare.clone())
                .map_err(|_| ClientError::BaseUrl(base_url.into()))?;
            Some((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(Endpoint {
            host: bare,
            port,
            authority,
            tls,
            timeout,
            connect_timeout: connection.connect_timeout.unwrap_or(timeout),
            retries: connection.retries,
            max_body: connection.max_body,
        })
    }

    /// A new connection; one that cannot be established is retried like the other requests'
    /// (nothing was sent on it).
    pub(super) async fn open(&self) -> Result<OwnedConnection, TransportError> {
        let mut attempt = 0;
        loop {
            match tokio::time::timeout(self.connect_timeout, self.connect()).await {
                Ok(Ok(connection)) => return Ok(connection),
                Ok(Err((error, retry))) if !retry || attempt >= self.retries => return Err(error),
                Ok(Err(_)) => {}
                Err(_) if attempt >= self.retries => {
                    return Err(TransportError::Connect(format!(
                        "{}:{}: no connection within {:?}",
                        self.host, self.port, self.connect_timeout
                    )));
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(200 << attempt.min(6))).await;
            attempt += 1;
        }
    }

    /// One connection attempt within `bound` (and the connect timeout), without retries.
    pub(super) async fn open_once(&self, bound: Duration) -> Option<OwnedConnection> {
        let bound = bound.min(self.connect_timeout);
        match tokio::time::timeout(bound, self.connect()).await {
            Ok(Ok(connection)) => Some(connection),
            _ => None,
        }
    }

    /// TCP, TLS and the HTTP/1.1 handshake; the error says whether a retry may help (a
    /// certificate problem will not go away).
    async fn connect(&self) -> Result<OwnedConnection, (TransportError, bool)> {
        let connect_error = |error: String| (TransportError::Connect(error), true);
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| connect_error(format!("{}:{}: {error}", self.host, self.port)))?;
        let _ = stream.set_nodelay(true);
        let mut channel_binding = None;
        let sender = match &self.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|error| {
                        let detail = format!("TLS handshake: {}", error_chain(&error));
                        let retry = !detail.contains("certificate");
                        (TransportError::Connect(detail), retry)
                    })?;
                channel_binding = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|leaf| super::channel_binding::tls_server_end_point(leaf.as_ref()));
                handshake(TokioIo::new(stream)).await
            }
            None => handshake(TokioIo::new(stream)).await,
        }
        .map_err(|error| connect_error(format!("HTTP/1.1 handshake: {}", error_chain(&error))))?;
        Ok(OwnedConnection {
            sender,
            channel_binding,
        })
    }

    /// The `Host` header value.
    pub(super) fn authority(&self) -> &str {
        &self.authority
    }
}

async fn handshake<T>(io: TokioIo<T>) -> hyper::Result<SendRequest<Full<Bytes>>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    // The connection task ends when either side closes; the sender then reports it closed.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// An owned HTTP/1.1 connection.
#[derive(Debug)]
pub(super) struct OwnedConnection {
    sender: SendRequest<Full<Bytes>>,
    /// The `tls-server-end-point` channel binding of an https connection (Extended Protection).
    channel_binding: Option<Vec<u8>>,
}

impl OwnedConnection {
    /// The channel binding a Kerberos token on this connection carries (none over http).
    pub(super) fn channel_binding(&self) -> Option<&[u8]> {
        self.channel_binding.as_deref()
    }

    /// Whether the connection may still carry a request (the server has not closed it).
    pub(super) fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Sends `request` and reads the whole answer (within the body cap) and the time limit.
    pub(super) async fn exchange(
        &mut self,
        endpoint: &Endpoint,
        request: &Outgoing<'_>,
    ) -> Result<Answer, Failure> {
        let built = build(endpoint, request).map_err(Failure::Transport)?;
        let timeout = endpoint.timeout;
        match tokio::time::timeout(timeout, self.round_trip(endpoint, built)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Transport(TransportError::Timeout(timeout))),
        }
    }

    async fn round_trip(
        &mut self,
        endpoint: &Endpoint,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<Answer, Failure> {
        if self.sender.ready().await.is_err() {
            return Err(Failure::NotSent);
        }
        let response = match self.sender.try_send_request(request).await {
            Ok(response) => response,
            Err(error) if error.message().is_some() => return Err(Failure::NotSent),
            Err(error) => {
                return Err(Failure::Transport(transport_error(&error.into_error())));
            }
        };
        let status = response.status().as_u16();
        let keep_alive = !response
            .headers()
            .get_all(hyper::header::CONNECTION)
            .iter()
            .any(|value| String::from_utf8_lossy(value.as_bytes()).contains("close"))
            && response.version() == hyper::Version::HTTP_11;
        // As received: the checks judge raw evidence, reports mask it.
        let headers = super::header_pairs(response.headers());
        let body = read_body(response.into_body(), endpoint.max_body).await?;
        Ok(Answer {
            response: ReceivedResponse::new(status, headers, body),
            keep_alive,
        })
    }
}

/// How a failed exchange is recorded, as the pooled client records it: a target that hangs up
/// (before the answer or in its body) is not malformed HTTP.
fn transport_error(error: &hyper::Error) -> TransportError {
    let chain = error_chain(error);
    if super::closed_before_answer(error) {
        TransportError::Closed(chain)
    } else {
        TransportError::Protocol(chain)
    }
}

fn build(
    endpoint: &Endpoint,
    request: &Outgoing<'_>,
) -> Result<hyper::Request<Full<Bytes>>, TransportError> {
    let mut builder = hyper::Request::builder()
        .method(request.method)
        .uri(request.target);
    if !request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        builder = builder.header(hyper::header::HOST, endpoint.authority());
    }
    for (name, value) in request.headers {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(request.body)))
        .map_err(|error| TransportError::Protocol(format!("request cannot be sent: {error}")))
}

async fn read_body(mut body: hyper::body::Incoming, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Failure::Transport(transport_error(&error)))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(Failure::Transport(TransportError::BodyTooLarge(limit)));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}
