//! `cmconform doctor`: a pre-flight of a real deployment, one step at a time, each printed as
//! `ok` or `FAIL` with what to fix. In order: DNS resolution, TCP connect, TLS handshake (https),
//! authentication (GET of the nil request: 401/403 is an authentication problem), and whether
//! the API is present and enabled (not a sign-in page, a web page or another application). It
//! sends no PUT.
//!
//! "Enabled" needs care: CONTRACT.md section 2 says a disabled API answers 404 everywhere, and an
//! enabled one also answers 404 for an unknown id. So the nil-id answer is compared with the
//! answer for a path that is certainly no API route: an enabled API tells them apart (its own
//! JSON "not found" for the id), a disabled one (or a wrong base URL) answers both alike.

use crate::auth::scrub;
use crate::client::{ClientConfig, Connection, HttpClient, ReceivedResponse, TransportError};
use crate::contract::REQUESTS_PATH;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub base_url: String,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub connection: Connection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeStatus {
    Ok,
    Fail {
        fix: String,
    },
    /// Not checked because an earlier step failed (or it does not apply).
    Skipped,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub name: &'static str,
    pub outcome: ProbeStatus,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub steps: Vec<Probe>,
}

impl Diagnosis {
    pub fn ok(&self) -> bool {
        self.steps
            .iter()
            .all(|step| !matches!(step.outcome, ProbeStatus::Fail { .. }))
    }

    pub fn exit_code(&self) -> i32 {
        if self.ok() {
            crate::report::exit::PASSED
        } else {
            crate::report::exit::ERROR
        }
    }

    /// One line per step (`ok`, `FAIL` and the fix, `skip`).
    pub fn render(&self) -> String {
        let mut text = String::new();
        for step in &self.steps {
            let (mark, fix) = match &step.outcome {
                ProbeStatus::Ok => ("ok  ", None),
                ProbeStatus::Fail { fix } => ("FAIL", Some(fix)),
                ProbeStatus::Skipped => ("skip", None),
            };
            let _ = writeln!(text, "{mark}  {:<15} {}", step.name, step.detail);
            if let Some(fix) = fix {
                let _ = writeln!(text, "      fix: {fix}");
            }
        }
        let _ = writeln!(
            text,
            "{}",
            if self.ok() {
                "doctor: all checks passed"
            } else {
                "doctor: the target is not ready (see the FAIL lines)"
            }
        );
        text
    }
}

struct Steps {
    steps: Vec<Probe>,
    failed: bool,
    /// The run's secrets, scrubbed from every detail: answers are recorded as received, and a
    /// detail may quote one (a Location, an offered scheme).
    secrets: Vec<String>,
}

impl Steps {
    fn ok(&mut self, name: &'static str, detail: String) {
        self.steps.push(Probe {
            name,
            outcome: ProbeStatus::Ok,
            detail: scrub(&detail, &self.secrets),
        });
    }

    fn fail(&mut self, name: &'static str, detail: String, fix: impl Into<String>) {
        self.failed = true;
        self.steps.push(Probe {
            name,
            outcome: ProbeStatus::Fail { fix: fix.into() },
            detail: scrub(&detail, &self.secrets),
        });
    }

    fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.steps.push(Probe {
            name,
            outcome: ProbeStatus::Skipped,
            detail: detail.into(),
        });
    }
}

/// A step that failed: what was seen, and what to fix.
type Failure = (String, String);

fn failure(detail: impl Into<String>, fix: impl Into<String>) -> Failure {
    (detail.into(), fix.into())
}

impl Steps {
    /// Records a step's result: its detail when it passed (and hands on what it found), or the
    /// failure, after which no further step runs.
    fn settle<T>(&mut self, name: &'static str, result: Result<(T, String), Failure>) -> Option<T> {
        match result {
            Ok((found, detail)) => {
                self.ok(name, detail);
                Some(found)
            }
            Err((detail, fix)) => {
                self.fail(name, detail, fix);
                None
            }
        }
    }

    /// Like [`Steps::settle`] for the part of a step that records nothing when it goes well.
    fn require<T>(&mut self, name: &'static str, result: Result<T, Failure>) -> Option<T> {
        result
            .map_err(|(detail, fix)| self.fail(name, detail, fix))
            .ok()
    }
}

const DNS: &str = "DNS";
const TCP: &str = "TCP connect";
const TLS: &str = "TLS handshake";
const AUTHENTICATION: &str = "authentication";
const API: &str = "API present";

/// The steps in the order they run; each needs the ones before it.
const ALL_STEPS: [&str; 5] = [DNS, TCP, TLS, AUTHENTICATION, API];

/// Runs every step; a failed step skips the ones after it.
pub async fn diagnose(options: &DoctorOptions) -> Diagnosis {
    let mut steps = Steps {
        steps: Vec::new(),
        failed: false,
        secrets: Vec::new(),
    };
    run_steps(options, &mut steps).await;
    for name in ALL_STEPS.iter().skip(steps.steps.len()) {
        steps.skip(name, "not checked: an earlier step failed");
    }
    Diagnosis { steps: steps.steps }
}

/// The steps of [`ALL_STEPS`], each one function, each handing on what the next one needs.
async fn run_steps(options: &DoctorOptions, steps: &mut Steps) -> Option<()> {
    let endpoint = steps.require(DNS, endpoint(options))?;
    let addresses = steps.settle(DNS, resolve(&endpoint).await)?;
    steps.settle(TCP, connect(&endpoint, &addresses).await)?;
    steps.settle(TLS, handshake(options, &endpoint.url).await)?;
    let client = steps.require(AUTHENTICATION, http_client(options))?;
    steps.secrets = client.secrets();
    let nil = steps.settle(AUTHENTICATION, authenticate(&client).await)?;
    steps.settle(API, api_present_step(&client, &nil).await)
}

/// Where the first hop goes: the target, or the proxy that resolves and connects to it.
struct Endpoint {
    url: reqwest::Url,
    host: String,
    port: u16,
    /// ` (proxy URL)` when a proxy is the first hop, for the details.
    via: String,
    connect_timeout: Duration,
}

fn endpoint(options: &DoctorOptions) -> Result<Endpoint, Failure> {
    let url = match reqwest::Url::parse(&options.base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => url,
        _ => {
            return Err(failure(
                format!("--base-url '{}' is not an http(s) URL", options.base_url),
                "pass the host the API is deployed on, e.g. https://cm.contoso.com",
            ));
        }
    };
    let proxy = proxy_for(&url, options.connection.proxy.as_deref());
    // Through a proxy the target's name is resolved and connected to by the proxy.
    let (host, port, via) = match &proxy {
        Some(proxy) => match reqwest::Url::parse(proxy) {
            Ok(parsed) if parsed.host_str().is_some() => (
                parsed.host_str().unwrap_or_default().to_string(),
                parsed.port_or_known_default().unwrap_or(8080),
                format!(" (proxy {})", crate::client::mask_url(proxy)),
            ),
            _ => {
                return Err(failure(
                    format!("proxy '{}' is not a URL", crate::client::mask_url(proxy)),
                    "pass --proxy http://host:port, or fix HTTPS_PROXY/HTTP_PROXY",
                ));
            }
        },
        None => (
            url.host_str().unwrap_or_default().to_string(),
            url.port_or_known_default()
                .unwrap_or(if url.scheme() == "https" { 443 } else { 80 }),
            String::new(),
        ),
    };
    let connect_timeout = options
        .connection
        .connect_timeout
        .unwrap_or(options.timeout);
    Ok(Endpoint {
        url,
        host,
        port,
        via,
        connect_timeout,
    })
}

/// 1. DNS: the first hop's name resolves to at least one address.
async fn resolve(endpoint: &Endpoint) -> Result<(Vec<std::net::SocketAddr>, String), Failure> {
    let Endpoint {
        host,
        port,
        via,
        connect_timeout,
        ..
    } = endpoint;
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']');
    let lookup = tokio::net::lookup_host((lookup_host, *port));
    let addresses = match tokio::time::timeout(*connect_timeout, lookup).await {
        Ok(Ok(addresses)) => addresses.collect::<Vec<_>>(),
        Ok(Err(error)) => {
            return Err(failure(
                format!("{host}{via}: {error}"),
                "check the host name in --base-url (or the proxy), /etc/hosts and the DNS servers",
            ));
        }
        Err(_) => {
            return Err(failure(
                format!("{host}{via}: no answer within {connect_timeout:?}"),
                "check the DNS servers this machine uses",
            ));
        }
    };
    if addresses.is_empty() {
        return Err(failure(
            format!("{host}{via}: no address"),
            "check the host name in --base-url",
        ));
    }
    let listed: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    let detail = format!("{host}{via} -> {}", listed.join(", "));
    Ok((addresses, detail))
}

/// 2. TCP: one of the addresses accepts a connection.
async fn connect(
    endpoint: &Endpoint,
    addresses: &[std::net::SocketAddr],
) -> Result<((), String), Failure> {
    let connect_timeout = endpoint.connect_timeout;
    let mut last_error = String::new();
    for address in addresses {
        match tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_stream)) => return Ok(((), format!("{address}{}", endpoint.via))),
            Ok(Err(error)) => last_error = format!("{address}: {error}"),
            Err(_) => last_error = format!("{address}: no answer within {connect_timeout:?}"),
        }
    }
    Err(failure(
        last_error,
        "check that the site is running and the port is right, and that no firewall \
         blocks this machine",
    ))
}

/// 3. TLS: any HTTP answer over https means the handshake went through.
async fn handshake(options: &DoctorOptions, url: &reqwest::Url) -> Result<((), String), Failure> {
    let plain =
        crate::client::plain_client(&options.connection, options.timeout, false, url.as_str())
            .map_err(|error| {
                failure(
                    error.to_string(),
                    "fix the TLS options (--cacert, --cert, --key)",
                )
            })?;
    if url.scheme() != "https" {
        return Ok(((), "not used (http://)".into()));
    }
    match plain.get(url.as_str()).send().await {
        Ok(response) => {
            let note = if options.connection.tls.insecure {
                " (certificate NOT verified: --insecure)"
            } else {
                ""
            };
            let status = response.status().as_u16();
            Ok(((), format!("answered HTTP {status}{note}")))
        }
        Err(error) => {
            let detail = crate::client::error_chain(&error);
            let fix = if detail.contains("UnknownIssuer") || detail.contains("certificate") {
                "the server's certificate is not trusted: pass --cacert with your CA's PEM \
                 bundle (or, only to look around, --insecure)"
            } else if detail.contains("CertificateRequired") || detail.contains("alert") {
                "the server may want a client certificate: pass --cert and --key"
            } else {
                "check that the port speaks TLS (http:// vs https://) and the TLS options"
            };
            Err(failure(detail, fix))
        }
    }
}

/// The client of the run, with its credentials.
fn http_client(options: &DoctorOptions) -> Result<HttpClient, Failure> {
    HttpClient::new(ClientConfig {
        base_url: options.base_url.clone(),
        extra_headers: options.headers.clone(),
        timeout: options.timeout,
        connection: options.connection.clone(),
        no_proxy: false,
        guard_unstaged: true,
    })
    .map_err(|error| failure(error.to_string(), "fix the --auth options"))
}

/// The nil GUID: an id no deployment gives a request.
const NIL_ID: &str = "00000000-0000-0000-0000-000000000000";

/// 4. Authentication: GET of the nil request with the run's credentials is not refused.
async fn authenticate(client: &HttpClient) -> Result<(ReceivedResponse, String), Failure> {
    let nil_path = format!("{REQUESTS_PATH}/{NIL_ID}");
    let nil = match client.get(&nil_path).await.response {
        Ok(received) => received,
        Err(TransportError::Auth(detail)) => {
            let fix = client
                .handshake_failure()
                .map_or("check the --auth mode and its settings", |step| step.fix());
            return Err(failure(detail, fix));
        }
        Err(error) => {
            return Err(failure(
                format!("GET {nil_path}: {error}"),
                "the target accepted the connection but gave no HTTP answer: check the URL",
            ));
        }
    };
    if matches!(nil.status, 401 | 403) {
        return Err(refused(client, &nil));
    }
    let how = match client.handshake_summary() {
        Some(summary) => format!("credentials accepted: {summary}"),
        None if client.has_credentials() => "credentials accepted".into(),
        None => "no credentials needed".into(),
    };
    let detail = format!("GET of the nil request answered {} ({how})", nil.status);
    Ok((nil, detail))
}

/// Why a 401 or 403 to the nil request failed authentication, and what to fix.
fn refused(client: &HttpClient, nil: &ReceivedResponse) -> Failure {
    if let Some(step) = client.handshake_failure() {
        return failure(
            format!("GET of the nil request answered {}: {step}", nil.status),
            step.fix(),
        );
    }
    let fix = if client.has_credentials() {
        "the credentials were refused: check --auth and the user, domain, password or \
         token (401), or that the account may use the CM API (403)"
    } else {
        "the API wants credentials: pass --auth (ntlm, basic, bearer, adfs, cookie) with \
         its settings, or -H 'Authorization: ...'"
    };
    failure(
        format!(
            "GET of the nil request answered {}{}",
            nil.status,
            crate::client::offered_schemes(nil)
        ),
        fix,
    )
}

/// 5. API present (and enabled): the nil-id answer, compared with a path that is no route.
async fn api_present_step(
    client: &HttpClient,
    nil: &ReceivedResponse,
) -> Result<((), String), Failure> {
    let probe_path = format!(
        "/CertificateManagement/api/v1.0/cmconform-doctor-{}",
        uuid::Uuid::new_v4().simple()
    );
    let probe = client.get(&probe_path).await;
    api_present(nil, probe.ok(), &probe_path)
        .map(|detail| ((), detail))
        .map_err(|(detail, fix)| failure(detail, fix))
}

const DISABLED_HINT: &str = "the CM REST API looks disabled (CONTRACT.md section 2: it then \
     answers 404 everywhere) or --base-url points to another site: enable the REST API in the CM \
     configuration and check the URL (the documented path is appended to it)";
const OTHER_SITE_HINT: &str = "this is not the CM REST API: check --base-url (the host, and the \
     virtual directory if any; the documented path is appended to it)";
const SIGN_IN_HINT: &str = "the site redirects instead of answering: a sign-in page (pass --auth \
     adfs or --auth cookie with a session) or another site (check --base-url)";

/// Judges the nil-id answer: the CM API answers an unknown id with a JSON 404 (told apart from a
/// path that is no route), 400 or 500, or asks for credentials (401 with a challenge). A 2xx, a
/// redirect, HTML, or a status the API never gives means another site answered.
fn api_present(
    nil: &ReceivedResponse,
    probe: Option<&ReceivedResponse>,
    probe_path: &str,
) -> Result<String, (String, &'static str)> {
    let content_type = nil.header("content-type").unwrap_or("no content type");
    let answered = format!(
        "GET of the nil request answered {} ({content_type})",
        nil.status
    );
    match nil.status {
        401 if nil.header("www-authenticate").is_some() => {
            Ok(format!("{answered}: the API asks for credentials"))
        }
        300..=399 => {
            let location = nil.header("location").unwrap_or("nowhere");
            Err((
                format!("{answered}, a redirect to {location}"),
                SIGN_IN_HINT,
            ))
        }
        200..=299 => Err((
            format!("{answered}, but the nil GUID names no request"),
            OTHER_SITE_HINT,
        )),
        400 | 500 if is_json(nil) => Ok(format!(
            "{answered}: the API's own refusal of an unknown id"
        )),
        404 => api_enabled(nil, probe, probe_path).map_err(|detail| (detail, DISABLED_HINT)),
        400 | 500 => Err((format!("{answered}, not JSON"), OTHER_SITE_HINT)),
        _ => Err((
            format!("{answered}, which the CM API never answers for an unknown id"),
            OTHER_SITE_HINT,
        )),
    }
}

fn is_json(response: &ReceivedResponse) -> bool {
    response
        .header("content-type")
        .is_some_and(|value| value.to_ascii_lowercase().contains("json"))
}

/// Judges a 404 for the nil id against the answer for a path that is no API route.
fn api_enabled(
    nil: &ReceivedResponse,
    probe: Option<&ReceivedResponse>,
    probe_path: &str,
) -> Result<String, String> {
    let same_as_probe = probe.is_some_and(|probe| {
        probe.status == 404
            && is_json(probe) == is_json(nil)
            && probe.body_text().replace(probe_path, "")
                == nil
                    .body_text()
                    .replace(NIL_ID, "")
                    .replace(REQUESTS_PATH, "")
                    .replace("/CertificateManagement/api/v1.0", "")
    });
    if is_json(nil) && !same_as_probe {
        Ok("an unknown id answers the API's own JSON 404, unlike a path that is no route".into())
    } else {
        Err(format!(
            "an unknown id answers 404 ({}) just like a path that is no API route",
            nil.header("content-type").unwrap_or("no content type")
        ))
    }
}

/// The proxy reqwest would use for `url`: `--proxy`, else the environment (`HTTPS_PROXY` or
/// `HTTP_PROXY` by scheme, `ALL_PROXY`), unless `NO_PROXY` lists the host.
fn proxy_for(url: &reqwest::Url, flag: Option<&str>) -> Option<String> {
    if let Some(proxy) = flag {
        return Some(proxy.to_string());
    }
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    };
    let proxy = if url.scheme() == "https" {
        var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
    } else {
        var(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
    }?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let excluded = var(&["NO_PROXY", "no_proxy"]).is_some_and(|list| {
        list.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.').to_ascii_lowercase();
            entry == "*"
                || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
        })
    });
    (!excluded).then_some(proxy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> ReceivedResponse {
        ReceivedResponse::new(
            status,
            vec![("content-type".into(), content_type.into())],
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn a_disabled_api_is_told_from_an_unknown_id() {
        let html = answer(404, "text/html", "<h1>Not Found</h1>");
        assert!(api_enabled(&html, Some(&html), "/x").is_err());
        let not_found = answer(
            404,
            "application/json",
            r#"{"Message":"The request was not found."}"#,
        );
        let no_route = answer(
            404,
            "application/json",
            r#"{"Message":"No HTTP resource /x"}"#,
        );
        assert!(api_enabled(&not_found, Some(&no_route), "/x").is_ok());
    }

    #[test]
    fn only_the_answers_of_the_cm_api_pass_api_present() {
        let mut challenge = answer(401, "text/html", "");
        challenge
            .headers
            .push(("www-authenticate".into(), "Negotiate".into()));
        let mut sign_in = answer(302, "text/html", "");
        sign_in
            .headers
            .push(("location".into(), "https://adfs/sign-in".into()));
        let not_found = answer(404, "application/json", r#"{"Message":"not found"}"#);
        let table: [(ReceivedResponse, bool); 11] = [
            (answer(400, "application/json", "{}"), true),
            (answer(500, "application/json; charset=utf-8", "{}"), true),
            (challenge, true),
            (not_found, true),
            (answer(200, "text/html", "<html>"), false),
            (answer(200, "application/json", r#"{"ok":true}"#), false),
            (answer(204, "application/json", ""), false),
            (sign_in, false),
            (answer(999, "application/json", "{}"), false),
            (answer(500, "text/html", "<h1>error</h1>"), false),
            (answer(405, "application/json", "{}"), false),
        ];
        let no_route = answer(404, "application/json", r#"{"Message":"no route"}"#);
        for (response, present) in table {
            let verdict = api_present(&response, Some(&no_route), "/x");
            assert_eq!(verdict.is_ok(), present, "{} {verdict:?}", response.status);
        }
    }
}
