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
/// redirects (so credentials never go to another origin). `target` is the URL the client talks
/// to; `no_proxy` ignores the proxy settings (the embedded loopback server).
pub fn http_builder(
    connection: &Connection,
    timeout: Duration,
    no_proxy: bool,
    target: &str,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(connection.connect_timeout.unwrap_or(timeout))
        .tls_built_in_root_certs(speaks_tls(connection, no_proxy, target));
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

/// Whether a client may ever need the built-in trust roots. Loading them reads the whole
/// system certificate store (hundreds of files), most of a one-case run's start-up, so a client
/// that only speaks plain HTTP skips it. Redirects are never followed, so only the target, a
/// TLS proxy (flag or environment) and the ADFS token endpoint (which shares the target's
/// client) can bring TLS in.
fn speaks_tls(connection: &Connection, no_proxy: bool, target: &str) -> bool {
    let is_https = |url: &str| {
        url.trim_start()
            .get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    };
    let proxy_tls = !no_proxy
        && (connection.proxy.as_deref().is_some_and(is_https)
            || PROXY_VARIABLES
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .any(|value| is_https(&value)));
    is_https(target) || proxy_tls || connection.auth.token_url.as_deref().is_some_and(is_https)
}

/// The proxy variables reqwest reads from the environment.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A client with the connection's TLS and proxy settings and no credentials for `target`
/// (provider states, token endpoints, doctor probes).
pub fn plain_client(
    connection: &Connection,
    timeout: Duration,
    no_proxy: bool,
    target: &str,
) -> Result<reqwest::Client, ClientError> {
    http_builder(connection, timeout, no_proxy, target)?
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
