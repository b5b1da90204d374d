//! Pointing cmconform at a "real" deployment, offline on 127.0.0.1: TLS with a CA made here
//! (rcgen) in front of the reference server, mutual TLS, every authentication mode with right
//! and wrong credentials, proxies (flag and environment), the body cap, secret masking in every
//! report format, `doctor`, redirects, and the safety rule for ids that were not staged.
//!
//! The binary runs as a child process (exit codes are part of the contract) and always exits
//! before its test returns; the helper servers are tasks of the test's runtime.

mod common;

use cmconform::client::{ClientConfig, Connection, HttpClient, OutgoingRequest};
use cmconform::policy::{Held, guard};
use cmconform::server::{self, Credentials, RunningServer, ServerConfig};
use common::TempDir;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Cases enough to exercise staging, credentialed and uncredentialed requests, quickly.
const FILTERS: [&str; 6] = [
    "--filter",
    "complete-from-approved",
    "--filter",
    "auth-missing-credentials",
    "--filter",
    "id-unknown-guid",
];
const QUICK: [&str; 3] = ["--no-lifecycle", "--race-rounds", "0"];

// ---------------------------------------------------------------- helpers

/// Runs the binary to completion in `cwd` (isolated by `common::cmconform`).
async fn cmconform(args: Vec<String>, env: Vec<(String, String)>, cwd: &Path) -> Output {
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut command = common::cmconform(&args);
        command.current_dir(&cwd).envs(env);
        command.output().expect("the cmconform binary runs")
    })
    .await
    .expect("the child process finished")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// `run` against `base_url`, staging through `state_url`, with the quick case selection.
fn run_args(base_url: &str, state_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["run", "--base-url", base_url, "--state-url", state_url]);
    args.extend(strings(&FILTERS));
    args.extend(strings(&QUICK));
    args.extend(strings(extra));
    args
}

/// The reference server breaking one rule, as a deployment would.
async fn faulty(fault: &str) -> RunningServer {
    server::spawn(
        ServerConfig {
            fault: server::Fault::from_name(fault),
            credentials: Credentials::AnyNonEmpty,
            ..ServerConfig::default()
        },
        0,
    )
    .await
    .expect("the reference server starts")
}

/// `run` against `backend` as a user runs it against a deployment (staging through its state
/// endpoint, credentials given), without the life-cycle family, with `extra` flags.
fn deployment_run(backend: &RunningServer, extra: &[&str]) -> Vec<String> {
    let mut args = strings(&["run", "--base-url", &backend.base_url()]);
    args.extend(strings(&["--state-url", &backend.state_url()]));
    args.extend(strings(&[
        "-H",
        "Authorization: Negotiate x",
        "--no-lifecycle",
    ]));
    args.extend(strings(extra));
    args
}

async fn reference(credentials: Credentials) -> RunningServer {
    server::spawn(
        ServerConfig {
            credentials,
            ..ServerConfig::default()
        },
        0,
    )
    .await
    .expect("reference server")
}

// ---------------------------------------------------------------- PKI and TLS front

struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
    client_pem: String,
    client_key_pem: String,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cmconform test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");

    let server_key = KeyPair::generate().expect("server key");
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params
        .signed_by(&server_key, &ca)
        .expect("server certificate");

    let client_key = KeyPair::generate().expect("client key");
    let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    client_params
        .distinguished_name
        .push(DnType::CommonName, "cmconform test client");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params
        .signed_by(&client_key, &ca)
        .expect("client certificate");

    Pki {
        ca_pem: ca.pem(),
        ca_der: ca.der().clone(),
        server_der: server_cert.der().clone(),
        server_key: server_key.serialize_der(),
        client_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

/// A TLS-terminating front for `backend` (one backend connection per TLS connection, so
/// connection-oriented authentication passes through). With `client_auth`, clients must present
/// a certificate from the test CA.
async fn tls_front(backend: SocketAddr, pki: &Pki, client_auth: bool) -> (String, JoinHandle<()>) {
    let certs = vec![pki.server_der.clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
    let builder = rustls::ServerConfig::builder();
    let config = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).expect("CA root");
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .expect("client verifier");
        builder
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
    } else {
        builder.with_no_client_auth().with_single_cert(certs, key)
    }
    .expect("TLS server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut upstream) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                }
            });
        }
    });
    (format!("https://{addr}"), task)
}

// ---------------------------------------------------------------- small servers

/// Reads one request head (up to the blank line).
async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 65536 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    head
}

/// A forwarding HTTP proxy (absolute-form requests and CONNECT) counting its connections.
async fn http_proxy() -> (String, Arc<AtomicUsize>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let head = read_head(&mut client).await;
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let mut words = line.split_whitespace();
                let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let authority = if method == "CONNECT" {
                    target.to_string()
                } else {
                    target
                        .trim_start_matches("http://")
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .to_string()
                };
                let Ok(mut upstream) = TcpStream::connect(authority.as_str()).await else {
                    return;
                };
                if method == "CONNECT" {
                    let _ = client
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await;
                } else if upstream.write_all(&head).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), count, task)
}

/// Answers every request with `answer` and closes; counts connections.
async fn canned(answer: String) -> (String, Arc<AtomicUsize>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = read_head(&mut stream).await;
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), count, task)
}

/// An OAuth2 token endpoint accepting `client_secret=right-secret`; counts token requests.
async fn token_endpoint(token: &'static str) -> (String, Arc<AtomicUsize>, JoinHandle<()>) {
    use axum::routing::post;
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let app = axum::Router::new().route(
        "/adfs/oauth2/token",
        post(move |body: String| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let good = body.contains("grant_type=client_credentials")
                    && body.contains("client_secret=Adfs-Client-SECRET-42");
                if good {
                    (
                        axum::http::StatusCode::OK,
                        format!(r#"{{"access_token":"{token}","token_type":"bearer","expires_in":3600}}"#),
                    )
                } else {
                    (
                        axum::http::StatusCode::UNAUTHORIZED,
                        r#"{"error":"invalid_client"}"#.to_string(),
                    )
                }
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/adfs/oauth2/token"), count, task)
}

// ---------------------------------------------------------------- TLS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_private_ca_missing_ca_and_insecure() {
    let scratch = TempDir::new("deploy");
    let pki = pki();
    let cacert = scratch.write("ca.pem", &pki.ca_pem);
    let backend = reference(Credentials::Bearer("tls-token-1234".into())).await;
    let (https, front) = tls_front(backend.addr(), &pki, false).await;
    let state_url = format!("{https}{}", server::STATES_PATH);
    let auth = ["--auth", "bearer", "--token", "tls-token-1234"];

    let mut args = run_args(&https, &state_url, &auth);
    args.extend(strings(&["--cacert", &cacert.to_string_lossy()]));
    let with_ca = cmconform(args, vec![], scratch.path()).await;
    assert_eq!(code(&with_ca), 0, "--cacert: {}", text(&with_ca));

    let without = cmconform(run_args(&https, &state_url, &auth), vec![], scratch.path()).await;
    assert_eq!(code(&without), 2, "no CA: {}", text(&without));
    assert!(
        text(&without).contains("certificate"),
        "names the TLS problem: {}",
        text(&without)
    );

    // --insecure: works, warns on stderr, and the report carries the notice.
    for format in cmconform::report::FORMATS {
        let output = scratch.join(&format!("insecure.{format}"));
        let mut args = run_args(&https, &state_url, &auth);
        args.extend(strings(&[
            "--insecure",
            "--format",
            format,
            "--output",
            &output.to_string_lossy(),
        ]));
        let insecure = cmconform(args, vec![], scratch.path()).await;
        assert_eq!(
            code(&insecure),
            0,
            "--insecure ({format}): {}",
            text(&insecure)
        );
        assert!(
            String::from_utf8_lossy(&insecure.stderr).contains("verification is DISABLED"),
            "stderr warns ({format})"
        );
        let report = std::fs::read_to_string(&output).unwrap_or_default();
        assert!(
            report.contains("verification is DISABLED"),
            "the {format} report carries the notice:\n{report}"
        );
    }
    front.abort();
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_client_certificate() {
    let scratch = TempDir::new("deploy");
    let pki = pki();
    let cacert = scratch.write("ca.pem", &pki.ca_pem);
    let cert = scratch.write("client.pem", &pki.client_pem);
    let key = scratch.write("client.key", &pki.client_key_pem);
    let backend = reference(Credentials::AnyNonEmpty).await;
    let (https, front) = tls_front(backend.addr(), &pki, true).await;
    let state_url = format!("{https}{}", server::STATES_PATH);
    let base = [
        "-H",
        "Authorization: Negotiate mtls",
        "--cacert",
        &cacert.to_string_lossy(),
    ]
    .map(str::to_string);
    let base: Vec<&str> = base.iter().map(String::as_str).collect();

    let mut with_cert = base.clone();
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    with_cert.extend(["--cert", &cert, "--key", &key]);
    let ok = cmconform(
        run_args(&https, &state_url, &with_cert),
        vec![],
        scratch.path(),
    )
    .await;
    assert_eq!(code(&ok), 0, "--cert/--key: {}", text(&ok));

    let refused = cmconform(run_args(&https, &state_url, &base), vec![], scratch.path()).await;
    assert_eq!(
        code(&refused),
        2,
        "no client certificate: {}",
        text(&refused)
    );
    front.abort();
    backend.shutdown().await;
}

// ---------------------------------------------------------------- authentication

/// Right credentials pass (exit 0), wrong ones are an environment error (exit 2).
async fn right_and_wrong(credentials: Credentials, right: &[&str], wrong: &[&str]) {
    let scratch = TempDir::new("deploy");
    let backend = reference(credentials).await;
    let (base, states) = (backend.base_url(), backend.state_url());
    let good = cmconform(run_args(&base, &states, right), vec![], scratch.path()).await;
    assert_eq!(
        code(&good),
        0,
        "right credentials {right:?}: {}",
        text(&good)
    );
    let bad = cmconform(run_args(&base, &states, wrong), vec![], scratch.path()).await;
    assert_eq!(code(&bad), 2, "wrong credentials {wrong:?}: {}", text(&bad));
    assert!(
        text(&bad).contains("authentication failed"),
        "says why: {}",
        text(&bad)
    );
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_bearer_and_cookie() {
    right_and_wrong(
        Credentials::Basic {
            user: "alice".into(),
            password: "Basic-pw-1".into(),
        },
        &[
            "--auth",
            "basic",
            "--user",
            "alice",
            "--password",
            "Basic-pw-1",
        ],
        &[
            "--auth",
            "basic",
            "--user",
            "alice",
            "--password",
            "nope-nope",
        ],
    )
    .await;
    right_and_wrong(
        Credentials::Bearer("bearer-token-1".into()),
        &["--auth", "bearer", "--token", "bearer-token-1"],
        &["--auth", "bearer", "--token", "bearer-token-2"],
    )
    .await;
    right_and_wrong(
        Credentials::Cookie("MSISAuth=cookie-1".into()),
        &["--auth", "cookie", "--cookie", "MSISAuth=cookie-1"],
        &["--auth", "cookie", "--cookie", "MSISAuth=cookie-2"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntlm_handshake_right_and_wrong_password() {
    right_and_wrong(
        Credentials::Ntlm {
            user: "svc-cm".into(),
            domain: "CONTOSO".into(),
            password: "Ntlm-pw-1!".into(),
        },
        &[
            "--auth",
            "ntlm",
            "--user",
            "CONTOSO\\svc-cm",
            "--password",
            "Ntlm-pw-1!",
        ],
        &[
            "--auth",
            "ntlm",
            "--user",
            "svc-cm",
            "--domain",
            "CONTOSO",
            "--password",
            "wrong-pw",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntlm_credentials_from_the_environment() {
    let scratch = TempDir::new("deploy");
    let backend = reference(Credentials::Ntlm {
        user: "svc-cm".into(),
        domain: "CONTOSO".into(),
        password: "Env-pw-2".into(),
    })
    .await;
    let env = [
        ("CMCONFORM_AUTH", "ntlm"),
        ("CMCONFORM_USER", "svc-cm"),
        ("CMCONFORM_DOMAIN", "CONTOSO"),
        ("CMCONFORM_PASSWORD", "Env-pw-2"),
    ]
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .to_vec();
    let output = cmconform(
        run_args(&backend.base_url(), &backend.state_url(), &[]),
        env,
        scratch.path(),
    )
    .await;
    assert_eq!(code(&output), 0, "{}", text(&output));
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adfs_client_credentials_token() {
    let scratch = TempDir::new("deploy");
    let token = "adfs-access-token-7";
    let (token_url, requests, endpoint) = token_endpoint(token).await;
    let backend = reference(Credentials::Bearer(token.into())).await;
    let adfs = |secret: &str| {
        strings(&[
            "--auth",
            "adfs",
            "--token-url",
            &token_url,
            "--client-id",
            "cmconform",
            "--client-secret",
            secret,
            "--resource",
            "https://cm.contoso.com",
        ])
    };
    let right = adfs("Adfs-Client-SECRET-42");
    let right: Vec<&str> = right.iter().map(String::as_str).collect();
    let good = cmconform(
        run_args(&backend.base_url(), &backend.state_url(), &right),
        vec![],
        scratch.path(),
    )
    .await;
    assert_eq!(code(&good), 0, "{}", text(&good));
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "the token is fetched once and cached for the run"
    );
    let wrong = adfs("wrong-secret");
    let wrong: Vec<&str> = wrong.iter().map(String::as_str).collect();
    let bad = cmconform(
        run_args(&backend.base_url(), &backend.state_url(), &wrong),
        vec![],
        scratch.path(),
    )
    .await;
    assert_eq!(code(&bad), 2, "{}", text(&bad));
    assert!(text(&bad).contains("invalid_client"), "{}", text(&bad));
    endpoint.abort();
    backend.shutdown().await;
}

// ---------------------------------------------------------------- proxies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_from_the_flag_and_from_the_environment() {
    let scratch = TempDir::new("deploy");
    let backend = reference(Credentials::AnyNonEmpty).await;
    let (proxy, used, task) = http_proxy().await;
    let auth = ["-H", "Authorization: Negotiate proxied"];

    let mut args = run_args(&backend.base_url(), &backend.state_url(), &auth);
    args.extend(strings(&["--proxy", &proxy]));
    let flag = cmconform(args, vec![], scratch.path()).await;
    assert_eq!(code(&flag), 0, "--proxy: {}", text(&flag));
    let via_flag = used.load(Ordering::SeqCst);
    assert!(via_flag > 0, "the requests went through --proxy");

    // The shared runner exempts loopback from proxies; this test wants the proxy used.
    let env = strings(&["HTTP_PROXY", &proxy, "NO_PROXY", "", "no_proxy", ""])
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect();
    let from_env = cmconform(
        run_args(&backend.base_url(), &backend.state_url(), &auth),
        env,
        scratch.path(),
    )
    .await;
    assert_eq!(code(&from_env), 0, "HTTP_PROXY: {}", text(&from_env));
    assert!(
        used.load(Ordering::SeqCst) > via_flag,
        "the requests went through HTTP_PROXY"
    );
    task.abort();
    backend.shutdown().await;
}

// ---------------------------------------------------------------- body cap, masking

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_cap_is_a_transport_finding() {
    let scratch = TempDir::new("deploy");
    let mut args = strings(&["run", "--max-body", "300"]);
    args.extend(strings(&FILTERS));
    args.extend(strings(&QUICK));
    let output = cmconform(args, vec![], scratch.path()).await;
    assert_eq!(code(&output), 1, "{}", text(&output));
    assert!(
        text(&output).contains("larger than the 300-byte limit"),
        "{}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_masked_in_every_format() {
    let scratch = TempDir::new("deploy");
    let basic = reference(Credentials::Basic {
        user: "masked-user".into(),
        password: "Basic-SECRET-pw-9".into(),
    })
    .await;
    let token = "adfs-issued-SECRET-token";
    let (token_url, _, endpoint) = token_endpoint(token).await;
    let bearer = reference(Credentials::Bearer(token.into())).await;
    let secrets = [
        "Basic-SECRET-pw-9",
        "masked-user:Basic-SECRET-pw-9",
        // base64 of masked-user:Basic-SECRET-pw-9
        "bWFza2VkLXVzZXI6QmFzaWMtU0VDUkVULXB3LTk=",
        "Cookie-SECRET-value",
        "ApiKey-SECRET-value",
        "Adfs-Client-SECRET-42",
        token,
    ];
    for format in cmconform::report::FORMATS {
        let report = scratch.join(&format!("report.{format}"));
        let report_arg = report.to_string_lossy().to_string();
        let mut runs = Vec::new();
        let mut args = run_args(
            &basic.base_url(),
            &basic.state_url(),
            &[
                "--auth",
                "basic",
                "--user",
                "masked-user",
                "--password",
                "Basic-SECRET-pw-9",
                "-H",
                "Cookie: session=Cookie-SECRET-value",
                "-H",
                "X-Api-Key: ApiKey-SECRET-value",
            ],
        );
        args.extend(strings(&["--format", format, "--output", &report_arg]));
        runs.push(args);
        let mut args = run_args(
            &bearer.base_url(),
            &bearer.state_url(),
            &[
                "--auth",
                "adfs",
                "--token-url",
                &token_url,
                "--client-id",
                "cmconform",
                "--client-secret",
                "Adfs-Client-SECRET-42",
            ],
        );
        args.extend(strings(&["--format", format, "--output", &report_arg]));
        runs.push(args);
        for args in runs {
            let output = cmconform(args.clone(), vec![], scratch.path()).await;
            assert_eq!(code(&output), 0, "{format}: {}", text(&output));
            let written = std::fs::read_to_string(&report).unwrap_or_default();
            assert!(written.len() > 100, "the {format} report was written");
            let everything = format!("{}\n{written}", text(&output));
            for secret in secrets {
                assert!(
                    !everything.contains(secret),
                    "{format}: '{secret}' leaked:\n{everything}"
                );
            }
        }
    }
    endpoint.abort();
    basic.shutdown().await;
    bearer.shutdown().await;
}

// ---------------------------------------------------------------- doctor

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_on_good_and_bad_targets() {
    let scratch = TempDir::new("deploy");
    let pki = pki();
    let cacert = scratch.write("ca.pem", &pki.ca_pem);
    let cacert = cacert.to_string_lossy().to_string();
    let backend = reference(Credentials::Ntlm {
        user: "svc-cm".into(),
        domain: "CONTOSO".into(),
        password: "Doctor-pw-3".into(),
    })
    .await;
    let (https, front) = tls_front(backend.addr(), &pki, false).await;
    let ntlm = |password: &str| {
        strings(&[
            "--auth",
            "ntlm",
            "--user",
            "CONTOSO\\svc-cm",
            "--password",
            password,
        ])
    };
    let doctor = |base: &str, extra: Vec<String>| {
        let mut args = strings(&[
            "doctor",
            "--base-url",
            base,
            "--timeout",
            "5",
            "--retries",
            "0",
        ]);
        args.extend(extra);
        args
    };

    let mut extra = ntlm("Doctor-pw-3");
    extra.extend(strings(&["--cacert", &cacert]));
    let good = cmconform(doctor(&https, extra), vec![], scratch.path()).await;
    assert_eq!(code(&good), 0, "{}", text(&good));
    let report = text(&good);
    for step in [
        "DNS",
        "TCP connect",
        "TLS handshake",
        "authentication",
        "API present",
    ] {
        assert!(
            report
                .lines()
                .any(|line| line.starts_with("ok") && line.contains(step)),
            "{step} ok:\n{report}"
        );
    }
    assert!(!report.contains("Doctor-pw-3"));

    let mut extra = ntlm("wrong-password");
    extra.extend(strings(&["--cacert", &cacert]));
    let bad_auth = cmconform(doctor(&https, extra), vec![], scratch.path()).await;
    assert_eq!(code(&bad_auth), 2, "{}", text(&bad_auth));
    assert!(
        text(&bad_auth).contains("FAIL  authentication"),
        "{}",
        text(&bad_auth)
    );

    let no_ca = cmconform(doctor(&https, ntlm("Doctor-pw-3")), vec![], scratch.path()).await;
    assert_eq!(code(&no_ca), 2, "{}", text(&no_ca));
    assert!(
        text(&no_ca).contains("FAIL  TLS handshake"),
        "{}",
        text(&no_ca)
    );
    assert!(text(&no_ca).contains("--cacert"), "{}", text(&no_ca));

    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let closed_url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let refused = cmconform(doctor(&closed_url, vec![]), vec![], scratch.path()).await;
    assert_eq!(code(&refused), 2, "{}", text(&refused));
    assert!(
        text(&refused).contains("FAIL  TCP connect"),
        "{}",
        text(&refused)
    );
    assert!(
        text(&refused).contains("skip  API present"),
        "{}",
        text(&refused)
    );

    // A site whose every path answers IIS's HTML 404: the API is disabled (or the URL wrong).
    let body = "<html><body><h1>404 - File or directory not found.</h1></body></html>";
    let (disabled, _, task) = canned(format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let off = cmconform(doctor(&disabled, vec![]), vec![], scratch.path()).await;
    assert_eq!(code(&off), 2, "{}", text(&off));
    assert!(text(&off).contains("FAIL  API present"), "{}", text(&off));
    task.abort();
    front.abort();
    backend.shutdown().await;
}

// ---------------------------------------------------------------- redirects, safety

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let scratch = TempDir::new("deploy");
    let (elsewhere, visits, other) =
        canned("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string())
            .await;
    let (redirecting, _, task) = canned(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}/CertificateManagement/api/v1.0/requests/x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ))
    .await;
    // Staged ids, so that PUTs are sent (an unstaged id answering 307 is skipped for safety).
    let ids = scratch.write(
        "ids.json",
        &format!(
            r#"{{"approved": ["{}", "{}"]}}"#,
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4()
        ),
    );
    let mut args = strings(&[
        "run",
        "--ids",
        &ids.to_string_lossy(),
        "--base-url",
        &redirecting,
        "-H",
        "Authorization: Bearer redirect-SECRET",
        "--format",
        "json",
    ]);
    args.extend(strings(&FILTERS));
    args.extend(strings(&QUICK));
    let output = cmconform(args, vec![], scratch.path()).await;
    assert_eq!(
        code(&output),
        1,
        "a 307 answer is a finding: {}",
        text(&output)
    );
    assert!(text(&output).contains("307"), "{}", text(&output));
    assert_eq!(
        visits.load(Ordering::SeqCst),
        0,
        "nothing (and no credential) went to the other origin"
    );
    task.abort();
    other.abort();
}

/// A 401 to the guard's own credentialed GET is broken authentication (the case errors), never
/// a sign that the id names a request (a skip).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_get_answered_401_is_an_authentication_failure_not_a_safety_skip() {
    let backend = reference(Credentials::Basic {
        user: "guard".into(),
        password: "right".into(),
    })
    .await;
    let client = HttpClient::new(ClientConfig {
        base_url: backend.base_url(),
        // base64 of guard:wrong
        extra_headers: vec![("Authorization".into(), "Basic Z3VhcmQ6d3Jvbmc=".into())],
        timeout: Duration::from_secs(5),
        connection: Connection::default(),
        no_proxy: true,
        guard_unstaged: true,
    })
    .expect("client");
    let put = OutgoingRequest {
        method: "PUT".into(),
        path: "/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"
            .into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(br#"{"status":"Completed"}"#.to_vec().into()),
        credentials: true,
    };
    let held = guard(&client, &put, &[]).await;
    assert!(
        matches!(&held, Err(Held::Untestable(reason))
            if reason.starts_with("authentication failed mid-run") && reason.contains("401")),
        "{held:?}"
    );
    backend.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_go_only_to_staged_ids_or_ids_that_name_no_request() {
    let backend = reference(Credentials::AnyNonEmpty).await;
    let client = HttpClient::new(ClientConfig {
        base_url: backend.base_url(),
        extra_headers: vec![("Authorization".into(), "Negotiate safety".into())],
        timeout: Duration::from_secs(5),
        connection: Connection::default(),
        no_proxy: true,
        guard_unstaged: true,
    })
    .expect("client");
    let put = |id: &str| OutgoingRequest {
        method: "PUT".into(),
        path: format!("/CertificateManagement/api/v1.0/requests/{id}"),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(br#"{"status":"Completed"}"#.to_vec().into()),
        credentials: true,
    };
    // The documented example exists on the server and was not staged: never PUT.
    let existing = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
    let refused = guard(&client, &put(existing), &[]).await;
    assert!(
        matches!(&refused, Err(Held::Unsafe(reason)) if reason.starts_with("safety:")),
        "{refused:?}"
    );
    // Staged (in any spelling), unknown, or malformed ids are fine.
    let staged = existing.to_ascii_uppercase();
    assert!(
        guard(&client, &put(&format!("{{{staged}}}")), &[existing])
            .await
            .is_ok()
    );
    assert!(
        guard(&client, &put(&uuid::Uuid::new_v4().to_string()), &[])
            .await
            .is_ok()
    );
    assert!(guard(&client, &put("not-a-guid"), &[]).await.is_ok());
    // The example is still Approved (3): nothing was changed.
    let after = client
        .get(&format!(
            "/CertificateManagement/api/v1.0/requests/{existing}"
        ))
        .await;
    let status = after
        .ok()
        .and_then(|r| r.json())
        .map(|json| json["Status"].clone());
    assert_eq!(status, Some(serde_json::json!(3)));
    backend.shutdown().await;
}

// ---------------------------------------------------------------- hardening (issue 12)

/// The value of a header in a raw HTTP head (case-insensitive name).
fn head_value(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// Reads one HTTP message (head, then a Content-Length body) from `stream`.
async fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut message = read_head(stream).await;
    let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") else {
        return message;
    };
    let length: usize = head_value(&message[..end], "content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    while message.len() < end + 4 + length {
        let mut buffer = vec![0u8; end + 4 + length - message.len()];
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => message.extend_from_slice(&buffer[..read]),
        }
    }
    message
}

/// A front for `backend` that answers one request per connection and then closes it, without
/// `Connection: close` (legal in HTTP/1.1): every kept-alive connection is dead when reused.
async fn closing_front(backend: SocketAddr) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let task = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let request = read_message(&mut client).await;
                let Ok(mut upstream) = TcpStream::connect(backend).await else {
                    return;
                };
                if upstream.write_all(&request).await.is_err() {
                    return;
                }
                let answer = read_message(&mut upstream).await;
                let _ = client.write_all(&answer).await;
                let _ = client.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

/// Dead kept-alive connections are the harness's problem, not the target's: GETs are retried
/// once on a new connection, and no check fails. (A PUT that met one would error its case,
/// never fail a check: it is not resent.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_closed_after_each_answer_are_not_blamed_on_the_target() {
    let scratch = TempDir::new("deploy");
    let backend = reference(Credentials::AnyNonEmpty).await;
    let (front, task) = closing_front(backend.addr()).await;
    let report = scratch.join("report.json");
    let mut args = strings(&[
        "run",
        "--base-url",
        &front,
        "--state-url",
        &backend.state_url(),
        "-H",
        "Authorization: Negotiate x",
        "--report",
    ]);
    args.push(format!("json={}", report.display()));
    args.extend(strings(&QUICK));
    let output = cmconform(args, vec![], scratch.path()).await;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(json["summary"]["failed"], 0, "{}", text(&output));
    assert!(
        json["summary"]["passed"].as_u64().unwrap_or(0) > 30,
        "{json}"
    );
    for case in json["cases"].as_array().into_iter().flatten() {
        if case["status"] == "errored" {
            let reason = case["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("connection closed by the target"),
                "{reason}"
            );
        }
    }
    assert_ne!(code(&output), 1, "{}", text(&output));
    task.abort();
    backend.shutdown().await;
}

/// A target that accepts and never answers: the pre-flight GET times out and the run stops
/// with exit 2 at once, instead of waiting out every case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_target_stops_the_run_at_the_preflight() {
    let scratch = TempDir::new("deploy");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let output = cmconform(
        strings(&["run", "--base-url", &silent, "--timeout", "1"]),
        vec![],
        scratch.path(),
    )
    .await;
    assert_eq!(code(&output), 2, "{}", text(&output));
    assert!(text(&output).contains("pre-flight"), "{}", text(&output));
    task.abort();
}

/// `--max-body` caps the state endpoint's and the token endpoint's answers too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_token_answers_are_capped() {
    let scratch = TempDir::new("deploy");
    let big = "x".repeat(64 * 1024);
    let (huge, _, task) = canned(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{big}",
        big.len()
    ))
    .await;
    let backend = reference(Credentials::AnyNonEmpty).await;
    let state = cmconform(
        run_args(
            &backend.base_url(),
            &huge,
            &["-H", "Authorization: x", "--max-body", "4096"],
        ),
        vec![],
        scratch.path(),
    )
    .await;
    assert_eq!(code(&state), 2, "{}", text(&state));
    assert!(
        text(&state).contains("larger than the 4096-byte limit"),
        "{}",
        text(&state)
    );
    let adfs = strings(&[
        "--auth",
        "adfs",
        "--token-url",
        &huge,
        "--client-id",
        "c",
        "--client-secret",
        "s",
        "--max-body",
        "4096",
    ]);
    let adfs: Vec<&str> = adfs.iter().map(String::as_str).collect();
    let token = cmconform(
        run_args(&backend.base_url(), &backend.state_url(), &adfs),
        vec![],
        scratch.path(),
    )
    .await;
    assert_eq!(code(&token), 2, "{}", text(&token));
    assert!(
        text(&token).contains("larger than the 4096-byte limit"),
        "{}",
        text(&token)
    );
    task.abort();
    backend.shutdown().await;
}

/// A site that is not the CM API fails doctor's "API present" step: an HTML 200, a redirect to
/// a sign-in page, another JSON shape, a nonsense status, a redirect loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_tells_another_site_from_the_api() {
    let scratch = TempDir::new("deploy");
    let answer = |status: &str, content_type: &str, extra: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let sites = [
        answer("200 OK", "text/html", "", "<html>welcome</html>"),
        answer(
            "302 Found",
            "text/html",
            "Location: https://adfs.contoso.com/adfs/ls/?wa=wsignin1.0\r\n",
            "",
        ),
        answer("200 OK", "application/json", "", r#"{"ok":true}"#),
        answer("999 Nonsense", "application/json", "", "{}"),
        answer("302 Found", "text/html", "Location: /\r\n", ""),
    ];
    for site in sites {
        let (url, _, task) = canned(site.clone()).await;
        let output = cmconform(
            strings(&["doctor", "--base-url", &url, "--timeout", "5"]),
            vec![],
            scratch.path(),
        )
        .await;
        assert_eq!(code(&output), 2, "{site}\n{}", text(&output));
        assert!(
            text(&output).contains("FAIL  API present") && text(&output).contains("fix:"),
            "{site}\n{}",
            text(&output)
        );
        task.abort();
    }
}

// ---------------------------------------------------------------- preconditions, unknown ids

/// An `--ids` file that lists a request under the wrong state, or an id that names no request,
/// errors the case (exit 2) with what GET showed; it is never blamed on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mislabelled_staged_id_errors_the_case_instead_of_failing_the_server() {
    let scratch = TempDir::new("deploy");
    let backend = reference(Credentials::AnyNonEmpty).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let completed = common::stage(&client, &backend.state_url(), "completed").await;
    for (id, shown) in [
        (completed.as_str(), "but GET shows Status 8"),
        (
            "00000000-0000-0000-0000-000000000002",
            "but GET answered 404 (no such request)",
        ),
    ] {
        let ids = scratch.write("ids.json", &format!(r#"{{"approved": ["{id}"]}}"#));
        let args = strings(&[
            "run",
            "--base-url",
            &backend.base_url(),
            "--ids",
            &ids.display().to_string(),
            "-H",
            "Authorization: Negotiate x",
            "--filter",
            "complete-from-approved",
            "--no-lifecycle",
            "--race-rounds",
            "0",
        ]);
        let output = cmconform(args, vec![], scratch.path()).await;
        assert_eq!(code(&output), 2, "{}", text(&output));
        let expected = format!("the provider staged {id} as approved (Status 3) {shown}");
        assert!(text(&output).contains(&expected), "{}", text(&output));
        assert!(!text(&output).contains("FAIL "), "{}", text(&output));
    }
    backend.shutdown().await;
}

/// Unknown-id cases PUT to a fresh random v4 GUID, which cannot name a real request: through
/// `--base-url` they are sent (never skipped by the safety rule) and a server that answers them
/// 200 is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_id_cases_are_sent_to_fresh_ids_and_judged() {
    let auth = [
        "-H",
        "Authorization: Negotiate x",
        "--filter",
        "id-unknown-guid",
    ];
    let output = run_against_fault("unknown_id_200", |backend| {
        let mut args = strings(&["run", "--base-url", &backend.base_url()]);
        args.extend(strings(&auth));
        args.extend(strings(&QUICK));
        args
    })
    .await;
    assert_shows(&output, 1, "FAIL  id-unknown-guid");
    assert!(!text(&output).contains("safety:"), "{}", text(&output));
}

/// A deployment that answers GET of an unknown id with 500 but fabricates a PUT success is
/// caught through --base-url: unknown ids are fresh, so the guard lets the PUT go and the 200
/// fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_answered_500_on_get_and_200_on_put_fails() {
    let filter = ["--filter", "id-unknown-guid"];
    faulty_run_shows("unknown_id_get_500", &filter, 1, "FAIL  id-unknown-guid").await;
}

/// Runs the suite against a deployment with `fault` (see [`deployment_run`]) and asserts the
/// exit code and a text the output shows.
async fn faulty_run_shows(fault: &str, extra: &[&str], exit: i32, shown: &str) {
    let output = run_against_fault(fault, |backend| deployment_run(backend, extra)).await;
    assert_shows(&output, exit, shown);
}

/// Runs `args` (made for the deployment's URLs) against a deployment with `fault`.
async fn run_against_fault(
    fault: &str,
    args: impl FnOnce(&RunningServer) -> Vec<String>,
) -> Output {
    let scratch = TempDir::new("deploy");
    let backend = faulty(fault).await;
    let output = cmconform(args(&backend), vec![], scratch.path()).await;
    backend.shutdown().await;
    output
}

/// The run ended with `exit` and its output shows `shown`.
fn assert_shows(output: &Output, exit: i32, shown: &str) {
    assert_eq!(code(output), exit, "{}", text(output));
    assert!(text(output).contains(shown), "{}", text(output));
}

/// A deployment whose authentication breaks in the middle of a run (401 to valid credentials
/// after 40 requests) errors the run (exit 2) with the reason, and no case after the break
/// passes as a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_lost_mid_run_errors_the_run() {
    let scratch = TempDir::new("deploy");
    let backend = faulty("auth_lost_mid_run").await;
    let report = scratch.join("report.json");
    let report_arg = format!("json={}", report.display());
    let args = deployment_run(&backend, &["--jobs", "1", "--report", &report_arg]);
    let output = cmconform(args, vec![], scratch.path()).await;
    assert_shows(&output, 2, "authentication failed mid-run");
    let written = std::fs::read_to_string(&report).unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(&written).unwrap_or_default();
    let cases = parsed["cases"].as_array().cloned().unwrap_or_default();
    let passed = cases.iter().filter(|c| c["status"] == "passed").count();
    let errored = cases.iter().filter(|c| c["status"] == "errored").count();
    assert!(
        passed > 0 && errored > 0,
        "{passed} passed, {errored} errored"
    );
    // Once a case errored on the lost authentication, no later case passes (--jobs 1: in order).
    let first_error = cases.iter().position(|c| c["status"] == "errored");
    let last_pass = cases.iter().rposition(|c| c["status"] == "passed");
    assert!(last_pass < first_error, "{written}");
    backend.shutdown().await;
}

// ---------------------------------------------------------------- raw evidence, GET after

/// Checks judge the answer as received: a credential that happens to occur in the answer (here
/// `0000`, inside every all-zero GUID) is masked in the reports only, never before the checks
/// read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_judge_raw_answers_and_reports_mask_them() {
    let scratch = TempDir::new("deploy");
    let backend = reference(Credentials::AnyNonEmpty).await;
    let report = scratch.join("report.json");
    let report_arg = format!("json={}", report.display());
    let args = run_args(
        &backend.base_url(),
        &backend.state_url(),
        &[
            "-H",
            "Authorization: Negotiate 0000",
            "--report",
            &report_arg,
        ],
    );
    let output = cmconform(args, vec![], scratch.path()).await;
    assert_eq!(code(&output), 0, "{}", text(&output));
    let written = std::fs::read_to_string(&report).unwrap_or_default();
    assert!(written.contains("********"), "{written}");
    assert!(!written.contains("-0000-"), "{written}");
    assert!(!text(&output).contains("-0000-"), "{}", text(&output));
    backend.shutdown().await;
}

/// After a refused PUT the request must still be readable: a deployment whose refusal deletes
/// the request (GET after answers 404) fails refusal_keeps_state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_that_deletes_the_request_fails() {
    let filter = ["--filter", "complete-from-pending-forbidden"];
    faulty_run_shows(
        "refusal_deletes_request",
        &filter,
        1,
        "GET after answered 404",
    )
    .await;
}

/// Race answers are judged like any other (issue #10 item 5): a deployment whose race losers
/// answer 500 with a SqlException stack trace fails no_stack_trace on the race alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_race_loser_with_a_stack_trace_fails() {
    let scratch = TempDir::new("deploy");
    let backend = faulty("race_loser_trace").await;
    let extra = [
        "--filter",
        "race-conflicting-puts",
        "--race-rounds",
        "1",
        "-v",
    ];
    let args = deployment_run(&backend, &extra);
    let output = cmconform(args, vec![], scratch.path()).await;
    assert_eq!(code(&output), 1, "{}", text(&output));
    assert!(
        text(&output).contains("no_stack_trace"),
        "{}",
        text(&output)
    );
    assert!(text(&output).contains("SqlException"), "{}", text(&output));
    backend.shutdown().await;
}

// ---------------------------------------------------------------- terminal safety

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_verbose_escapes_the_targets_control_bytes() {
    let scratch = TempDir::new("deploy");
    // ESC (a colour and a screen clear), BEL and NUL in the body (HTTP forbids them in headers).
    let body = "{\"Message\":\"\u{1b}[2J\u{1b}[31mowned\u{7}\u{0}\"}";
    let (hostile, _, task) = canned(format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let ids = scratch.write(
        "ids.json",
        &format!(r#"{{"approved": ["{}"]}}"#, uuid::Uuid::new_v4()),
    );
    let mut args = strings(&[
        "run",
        "-v",
        "--ids",
        &ids.to_string_lossy(),
        "--base-url",
        &hostile,
        "-H",
        "Authorization: Bearer x",
        "--report",
        &format!("human={}", scratch.join("report.txt").to_string_lossy()),
    ]);
    args.extend(strings(&FILTERS));
    args.extend(strings(&QUICK));
    let output = cmconform(args, vec![], scratch.path()).await;
    let shown = text(&output);
    assert!(shown.contains("owned"), "the answer is shown: {shown}");
    assert!(shown.contains("\\u{001b}[31m"), "ESC is escaped: {shown}");
    let report = std::fs::read_to_string(scratch.join("report.txt")).unwrap_or_default();
    for (name, raw) in [("console", &shown), ("human report", &report)] {
        for control in ['\u{1b}', '\u{7}', '\u{0}'] {
            assert!(
                !raw.contains(control),
                "{name} holds a raw {:?}: {raw}",
                control
            );
        }
    }
    task.abort();
}
