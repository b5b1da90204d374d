//! How to reach a target: TLS roots and client certificates, proxies, timeouts, and the rule
//! that redirects are never followed (so credentials never reach another origin).

use super::{ClientError, DEFAULT_BODY_LIMIT, error_chain, mask_url};
use crate::auth::AuthSettings;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// TLS settings for https targets. The system's roots and the webpki roots are trusted by
/// default; `cacert` adds a PEM bundle (a private CA).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS, with `key`.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Accept any server certificate (a notice says so in every report).
    pub insecure: bool,
}

/// How to reach and authenticate to a target: what the connection flags give.
#[derive(Debug, Clone)]
pub struct Connection {
    pub tls: TlsOptions,
    /// Proxy for every request (else the `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` environment).
    pub proxy: Option<String>,
    /// Time to establish a connection [default: the request timeout].
    pub connect_timeout: Option<Duration>,
    /// Retries of a connection that could not be established (nothing was sent yet).
    pub retries: u32,
    /// Cap on response bodies.
    pub max_body: usize,
    pub auth: AuthSettings,
}

impl Default for Connection {
    fn default() -> Connection {
        Connection {
            tls: TlsOptions::default(),
            proxy: None,
            connect_timeout: None,
            retries: 2,
            max_body: DEFAULT_BODY_LIMIT,
            auth: AuthSettings::default(),
        }
    }
}

impl Connection {
    /// What every reader of a report must know about this connection.
    pub fn notices(&self) -> Vec<String> {
        let mut notices = Vec::new();
        if self.tls.insecure {
            notices.push(INSECURE_NOTICE.to_string());
        }
        notices
    }
}

/// The `--insecure` notice, in every report and on stderr.
pub const INSECURE_NOTICE: &str = "TLS certificate verification is DISABLED (--insecure): the \
     target's identity was not checked, and credentials may have been sent to an impostor";

/// A reqwest client builder with the connection's TLS, proxy and timeouts, never following
/// redirects (so credentials never go to another origin). `no_proxy` ignores the proxy settings
/// (the embedded loopback server).
pub fn http_builder(
    connection: &Connection,
    timeout: Duration,
    no_proxy: bool,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(connection.connect_timeout.unwrap_or(timeout));
    let tls = &connection.tls;
    if let Some(path) = &tls.cacert {
        let pem = read_pem("--cacert", path)?;
        let certificates =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| ClientError::Tls {
                flag: "--cacert",
                path: path.clone(),
                message: format!("not a PEM certificate bundle: {}", error_chain(&error)),
            })?;
        if certificates.is_empty() {
            return Err(ClientError::Tls {
                flag: "--cacert",
                path: path.clone(),
                message: "no certificate in the file".into(),
            });
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let mut pem = read_pem("--cert", cert)?;
            pem.push(b'\n');
            pem.extend(read_pem("--key", key)?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|error| ClientError::Tls {
                flag: "--cert",
                path: cert.clone(),
                message: format!(
                    "not a PEM certificate with its private key (--key): {}",
                    error_chain(&error)
                ),
            })?;
            builder = builder.identity(identity);
        }
        (Some(path), None) | (None, Some(path)) => {
            return Err(ClientError::Tls {
                flag: if tls.cert.is_some() {
                    "--cert"
                } else {
                    "--key"
                },
                path: path.clone(),
                message: "--cert and --key go together".into(),
            });
        }
        (None, None) => {}
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if no_proxy {
        builder = builder.no_proxy();
    } else if let Some(url) = &connection.proxy {
        let proxy = reqwest::Proxy::all(url).map_err(|error| ClientError::Proxy {
            url: mask_url(url),
            message: error_chain(&error),
        })?;
        builder = builder.proxy(proxy);
    }
    Ok(builder)
}

/// A client with the connection's TLS and proxy settings and no credentials (provider states,
/// token endpoints, doctor probes).
pub fn plain_client(
    connection: &Connection,
    timeout: Duration,
    no_proxy: bool,
) -> Result<reqwest::Client, ClientError> {
    http_builder(connection, timeout, no_proxy)?
        .build()
        .map_err(|error| ClientError::Build(error.to_string()))
}

fn read_pem(flag: &'static str, path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|error| ClientError::Tls {
        flag,
        path: path.to_path_buf(),
        message: format!("cannot read: {error}"),
    })
}
