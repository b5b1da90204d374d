//! The connection flags shared by `run` and `doctor`: TLS, authentication, proxies, timeouts,
//! retries and the body cap. Secrets can come from the environment (`CMCONFORM_PASSWORD`, ...)
//! so that they stay out of shell history and `ps`; `--help` never shows their values.

use super::UsageError;
use crate::auth::{AuthMode, AuthSettings, Secret};
use crate::client::{Connection, TlsOptions};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args, Clone, Default)]
#[command(
    next_help_heading = "Connection (for --base-url targets)",
    mut_args(crate::flag_env::with_env)
)]
pub struct ConnectionArgs {
    /// PEM bundle of CA certificates to trust besides the system's (a private CA).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Do not verify the server's certificate. Every report carries a warning.
    #[arg(long)]
    pub insecure: bool,
    /// Authentication: none, basic, bearer, cookie, adfs, ntlm, negotiate (Kerberos through
    /// SPNEGO; loads libgssapi_krb5.so.2 at run time).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = AuthMode::None)]
    pub auth: AuthMode,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// OAuth2 token endpoint (adfs), e.g. https://adfs.contoso.com/adfs/oauth2/token.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// OAuth2 client id (adfs).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// OAuth2 client secret (adfs); prefer the environment variable.
    #[arg(long, value_name = "SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// ADFS resource (relying party identifier of the CM web application).
    #[arg(long, value_name = "URI")]
    pub resource: Option<String>,
    /// OAuth2 scope, for token endpoints that want one instead of a resource.
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,
    /// Kerberos service principal (negotiate) [default: HTTP/<host of --base-url>].
    #[arg(long, value_name = "SPN")]
    pub spn: Option<String>,
    /// Proxy for every request [default: HTTPS_PROXY / HTTP_PROXY, minus NO_PROXY].
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Seconds to establish a connection (at most 86400) [default: --timeout].
    #[arg(long, value_name = "SECS", value_parser = super::bounds::seconds)]
    pub connect_timeout: Option<Duration>,
    /// Retries of a connection that could not be established (never of a request that may
    /// have reached the server); at most 10, waits of at most 5 s, all within --timeout.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(..=i64::from(super::bounds::MAX_RETRIES)))]
    pub retries: u32,
    /// Largest response body accepted; a larger one fails transport_error.
    #[arg(long, value_name = "BYTES", default_value_t = crate::client::DEFAULT_BODY_LIMIT, value_parser = clap::value_parser!(usize))]
    pub max_body: usize,
}

/// The credential flags `run`, `doctor` and `serve` share: one definition, so their names,
/// environment variables and secrecy cannot drift apart (serve words their help as what it
/// accepts, see [`ServeAuthArgs`]).
#[derive(Debug, Args, Clone, Default)]
pub struct CredentialArgs {
    /// User name (basic, ntlm, negotiate; `DOMAIN\user` works for ntlm, `user@REALM` for
    /// negotiate, which otherwise uses the kinit ticket).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Password (basic, ntlm, negotiate with --user); prefer the environment variable.
    #[arg(long, value_name = "SECRET", hide_env_values = true)]
    pub password: Option<String>,
    /// Windows domain (ntlm).
    #[arg(long, value_name = "NAME")]
    pub domain: Option<String>,
    /// Bearer token (bearer); prefer the environment variable.
    #[arg(long, value_name = "SECRET", hide_env_values = true)]
    pub token: Option<String>,
    /// Cookie header value, e.g. 'MSISAuth=...' (cookie); prefer the environment variable.
    #[arg(long, value_name = "SECRET", hide_env_values = true)]
    pub cookie: Option<String>,
}

impl ConnectionArgs {
    /// The connection settings; warns on stderr when certificate checks are off.
    pub fn connection(&self) -> Result<Connection, UsageError> {
        let connect_timeout = self.connect_timeout;
        if self.max_body == 0 {
            return Err(UsageError("--max-body 0: must be at least 1 byte".into()));
        }
        let connection = Connection {
            tls: TlsOptions {
                cacert: self.cacert.clone(),
                cert: self.cert.clone(),
                key: self.key.clone(),
                insecure: self.insecure,
            },
            proxy: self.proxy.clone(),
            connect_timeout,
            retries: self.retries,
            max_body: self.max_body,
            auth: AuthSettings {
                mode: self.auth,
                user: self.credentials.user.clone(),
                password: self.credentials.password.clone().map(Secret::new),
                domain: self.credentials.domain.clone(),
                token: self.credentials.token.clone().map(Secret::new),
                cookie: self.credentials.cookie.clone().map(Secret::new),
                token_url: self.token_url.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone().map(Secret::new),
                resource: self.resource.clone(),
                scope: self.scope.clone(),
                spn: self.spn.clone(),
            },
        };
        for notice in connection.notices() {
            super::output::say(&format!("WARNING: {notice}"));
        }
        Ok(connection)
    }
}

/// `cmconform doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Host the API is deployed on, e.g. https://cm.contoso.com (with the virtual directory if
    /// any); required, from the flag, CMCONFORM_BASE_URL or the configuration file.
    #[arg(long, value_name = "URL", value_parser = super::bounds::base_url)]
    pub base_url: Option<String>,
    /// Header added to every request, curl-style 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Seconds to wait for each answer (at most 86400).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = super::bounds::seconds)]
    pub timeout: Duration,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// The `serve --auth` choice: which credentials the reference server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServeAuth {
    /// Any non-empty Authorization header (or exactly --credential).
    Any,
    Basic,
    Bearer,
    Cookie,
    Ntlm,
}

/// `serve --auth MODE` with its credentials (the same flags and environment as `run`; only
/// their help says what the server accepts rather than what the client sends).
#[derive(Debug, Args, Clone)]
#[command(
    mut_args(crate::flag_env::with_env),
    mut_arg("user", |arg| arg.help("Accepted user name (basic, ntlm)")),
    mut_arg("password", |arg| arg.help("Accepted password (basic, ntlm)")),
    mut_arg("domain", |arg| arg.help("Accepted domain (ntlm)")),
    mut_arg("token", |arg| arg.help("Accepted bearer token (bearer)")),
    mut_arg("cookie", |arg| arg.help("Accepted cookie, `name=value` (cookie)"))
)]
pub struct ServeAuthArgs {
    /// Authentication the server requires.
    #[arg(long = "auth", value_name = "MODE", value_enum, default_value_t = ServeAuth::Any)]
    pub mode: ServeAuth,
    #[command(flatten)]
    pub credentials: CredentialArgs,
}

impl ServeAuthArgs {
    /// The server's credentials; `exact` is `--credential` for the `any` mode.
    pub fn credentials(
        &self,
        exact: Option<String>,
    ) -> Result<crate::server::Credentials, UsageError> {
        use crate::server::Credentials;
        let need = |value: &Option<String>, flag: &str| {
            value
                .clone()
                .filter(|value| !value.is_empty())
                .ok_or_else(|| UsageError(format!("serve --auth {:?} needs {flag}", self.mode)))
        };
        Ok(match self.mode {
            ServeAuth::Any => match exact {
                Some(value) => Credentials::Exact(value),
                None => Credentials::AnyNonEmpty,
            },
            ServeAuth::Basic => Credentials::Basic {
                user: need(&self.credentials.user, "--user")?,
                password: need(&self.credentials.password, "--password")?,
            },
            ServeAuth::Bearer => Credentials::Bearer(need(&self.credentials.token, "--token")?),
            ServeAuth::Cookie => Credentials::Cookie(need(&self.credentials.cookie, "--cookie")?),
            ServeAuth::Ntlm => Credentials::Ntlm {
                user: need(&self.credentials.user, "--user")?,
                domain: self.credentials.domain.clone().unwrap_or_default(),
                password: need(&self.credentials.password, "--password")?,
            },
        })
    }
}

/// `cmconform doctor`: prints each step and returns 0 when all are ok, 2 otherwise.
pub async fn doctor_command(args: DoctorArgs) -> anyhow::Result<i32> {
    let Some(base_url) = args.base_url.clone() else {
        return Err(UsageError(format!(
            "doctor needs --base-url (or {}, or base_url in cmconform.toml)",
            crate::flag_env::env_name("base-url")
        ))
        .into());
    };
    let headers = args
        .headers
        .iter()
        .map(|header| crate::client::HttpClient::parse_header(header))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| UsageError(error.to_string()))?;
    let options = crate::doctor::DoctorOptions {
        base_url,
        headers,
        timeout: args.timeout,
        connection: args.connection.connection()?,
    };
    let diagnosis = crate::doctor::diagnose(&options).await;
    let text = diagnosis.render();
    super::output::to_stdout(|out| out.write_all(text.as_bytes()))?;
    Ok(diagnosis.exit_code())
}
