//! Kerberos (`--auth negotiate`) against acceptors this project did not write: an MIT KDC on
//! 127.0.0.1 (Debian's krb5-kdc, its realm made by tests/kerberos/realm.sh in a temporary
//! directory through KRB5_CONFIG and KRB5_KDC_PROFILE, never /etc/krb5.conf) and MIT's acceptor
//! through python-gssapi behind tests/wia/acceptor.py --kerberos, in front of the reference
//! server. A full run from a kinit ticket, from a password and from a client keytab; servers
//! that ask again on every request or close connections; each failed step named (no ticket, no
//! KDC, wrong SPN, wrong password, token refused); a reproduction replayed with curl.
//!
//! Without the Kerberos tools (krb5kdc, kdb5_util, kadmin.local, kinit, python3-gssapi) these
//! tests say they skipped; with `CMCONFORM_KERBEROS_TESTS=1` (set by `.ci/run`, which installs
//! them) a missing tool fails them instead.

mod common;

use common::TempDir as Scratch;
use common::{Acceptor, args, output_text as text, upstream};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const REALM: &str = "CMCONFORM.TEST";

/// Environment variables for a child process.
type Env = Vec<(String, String)>;
const USER_PASSWORD: &str = "user-pw-1";
const REQUIRED: &str = "CMCONFORM_KERBEROS_TESTS";

/// The tools the realm needs, and where Debian puts them.
const TOOLS: [&str; 4] = ["krb5kdc", "kdb5_util", "kadmin.local", "kinit"];
const TOOL_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(TOOL_DIRS)
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

/// A python3 that imports gssapi (Debian's python3-gssapi is for /usr/bin/python3).
fn gssapi_python() -> Option<String> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .find_map(|python| {
            Command::new(python)
                .args(["-c", "import gssapi"])
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|_| python.to_string())
        })
}

/// The python to run the acceptor with, or `None` (having said why) when the tools are absent
/// and not required.
fn kerberos_tools() -> Option<String> {
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|tool| find_tool(tool).is_none())
        .collect();
    let python = gssapi_python();
    if missing.is_empty() && python.is_some() {
        return python;
    }
    let reason = format!(
        "missing Kerberos tools: {}{} (Debian: krb5-kdc krb5-admin-server krb5-user \
         python3-gssapi)",
        missing.join(", "),
        if python.is_none() {
            " python3 with gssapi"
        } else {
            ""
        }
    );
    if std::env::var(REQUIRED).as_deref() == Ok("1") {
        panic!("{REQUIRED}=1 but {reason}");
    }
    println!("skipped: {reason}");
    None
}

/// A free port on 127.0.0.1 for the KDC (it takes a fixed port from kdc.conf).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A realm with its KDC running, a kinit ticket in `cc`, stopped (by pid) on drop.
struct Realm {
    kdc: Child,
    python: String,
    scratch: Scratch,
    port: u16,
}

impl Realm {
    fn start(python: String) -> Realm {
        let scratch = Scratch::new("cmconform-kerberos");
        let dir = scratch.path().to_string_lossy().into_owned();
        let port = free_port();
        let script = common::repo_root().join("tests/kerberos/realm.sh");
        let made = Command::new("sh")
            .arg(script)
            .args([&dir, &port.to_string()])
            .env("PATH", tool_path())
            .output()
            .expect("sh runs realm.sh");
        assert!(made.status.success(), "realm.sh: {}", text(&made));
        let kdc = Command::new(find_tool("krb5kdc").expect("krb5kdc"))
            .args(["-n", "-r", REALM])
            .envs(Realm::files(&dir))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("krb5kdc starts");
        let realm = Realm {
            kdc,
            python,
            scratch,
            port,
        };
        realm.wait_for_kdc();
        let kinit = Command::new(find_tool("kinit").expect("kinit"))
            .args(["-k", "-t", &format!("{dir}/client.keytab"), "svc-cm"])
            .envs(realm.client_env())
            .output()
            .expect("kinit runs");
        assert!(kinit.status.success(), "kinit: {}", text(&kinit));
        realm
    }

    fn files(dir: &str) -> Vec<(String, String)> {
        vec![
            ("KRB5_CONFIG".into(), format!("{dir}/krb5.conf")),
            ("KRB5_KDC_PROFILE".into(), format!("{dir}/kdc.conf")),
        ]
    }

    fn dir(&self) -> String {
        self.scratch.path().to_string_lossy().into_owned()
    }

    /// The KDC listens once its TCP port accepts (bounded: it starts in milliseconds).
    fn wait_for_kdc(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the KDC did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What cmconform (and curl) get: the realm's krb5.conf and the kinit ticket.
    fn client_env(&self) -> Vec<(String, String)> {
        let dir = self.dir();
        vec![
            ("KRB5_CONFIG".into(), format!("{dir}/krb5.conf")),
            ("KRB5CCNAME".into(), format!("FILE:{dir}/cc")),
        ]
    }

    /// The client environment with one variable changed or added.
    fn env_with(&self, name: &str, value: &str) -> Vec<(String, String)> {
        let mut env: Vec<_> = self
            .client_env()
            .into_iter()
            .filter(|(key, _)| key != name)
            .collect();
        env.push((name.into(), value.into()));
        env
    }

    /// MIT's acceptor for HTTP/localhost (its keytab, its replay cache in the realm's
    /// directory) in front of `backend`.
    fn acceptor(&self, backend: &cmconform::server::RunningServer, flags: &[&str]) -> Acceptor {
        let dir = self.dir();
        let env = [
            ("KRB5_CONFIG".to_string(), format!("{dir}/krb5.conf")),
            ("KRB5_KTNAME".to_string(), format!("{dir}/http.keytab")),
            ("KRB5RCACHEDIR".to_string(), dir.clone()),
        ];
        let mut all = vec!["--kerberos", "--offer", "Negotiate"];
        all.extend_from_slice(flags);
        Acceptor::start(&self.python, &self.scratch, backend, &all, &env)
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        let _ = self.kdc.kill();
        let _ = self.kdc.wait();
    }
}

/// PATH with the sbin directories, where Debian puts kdb5_util and kadmin.local.
fn tool_path() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{path}:{}", TOOL_DIRS.join(":"))
}

/// The binary, isolated by `common::cmconform` (no Kerberos variable of the developer's), with
/// the realm's.
async fn cmconform(realm: &Realm, list: Vec<String>, env: Env) -> Output {
    common::run_binary(list, realm.scratch.path(), env).await
}

/// `run --auth negotiate` against the acceptor on `localhost` (so the SPN is HTTP/localhost).
fn run_args(acceptor: &Acceptor, backend: &cmconform::server::RunningServer) -> Vec<String> {
    args(&[
        "run",
        "--base-url",
        &acceptor.url_on("localhost"),
        "--state-url",
        &backend.state_url(),
        "--auth",
        "negotiate",
    ])
}

/// Full runs from the kinit ticket pass: an acceptor that keeps connections authenticated, one
/// that wants a fresh token on every request, one that closes connections every few requests.
/// Every token the acceptor saw it accepted (none was replayed), and each answer's mutual
/// authentication token was verified (the run would stop otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_runs_pass_from_a_kinit_ticket() {
    let Some(python) = kerberos_tools() else {
        return;
    };
    let realm = Realm::start(python);
    let backend = upstream().await;
    // --drop-get-every: a GET the server drops on a reused connection goes again on a new one,
    // with a new token.
    let variants: [(&[&str], &[&str]); 4] = [
        (&[], &[]),
        (&["--per-request"], &["--jobs", "1"]),
        (&["--close-after", "5"], &[]),
        (&["--drop-get-every", "4"], &[]),
    ];
    for (flags, extra) in variants {
        let acceptor = realm.acceptor(&backend, flags);
        let mut list = run_args(&acceptor, &backend);
        list.extend(args(extra));
        let output = cmconform(&realm, list, realm.client_env()).await;
        let variant = format!("{flags:?} {extra:?}");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{variant}: {}",
            text(&output)
        );
        let tokens = acceptor.count(" negotiate kerberos");
        let served = acceptor.count(" served ");
        assert!(tokens > 0, "{variant}: no token reached the acceptor");
        assert_eq!(
            acceptor.lines(" refused "),
            Vec::<String>::new(),
            "{variant}"
        );
        assert_eq!(
            acceptor.count(" authenticated user=svc-cm@"),
            tokens,
            "{variant}"
        );
        if flags.contains(&"--drop-get-every") {
            assert!(
                acceptor.count(" dropped GET ") > 0,
                "{variant}: none dropped"
            );
        }
        if flags.contains(&"--per-request") {
            // A fresh token for every request the server asked again for.
            assert_eq!(tokens, served, "{variant}");
        } else {
            assert!(
                tokens < served,
                "{variant}: {tokens} tokens for {served} requests"
            );
        }
    }
    backend.shutdown().await;
}

/// A password (`--user`/`--password`) and a client keytab (KRB5_CLIENT_KTNAME) instead of the
/// kinit ticket: `doctor` passes with each and says where the ticket came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_and_client_keytab_credentials() {
    let Some(python) = kerberos_tools() else {
        return;
    };
    let realm = Realm::start(python);
    let backend = upstream().await;
    let acceptor = realm.acceptor(&backend, &[]);
    let doctor = |extra: &[&str]| {
        let mut list = args(&["doctor", "--base-url", &acceptor.url_on("localhost")]);
        list.extend(args(&["--auth", "negotiate"]));
        list.extend(args(extra));
        list
    };
    let no_cache = format!("FILE:{}/no-such-cache", realm.dir());
    let password = doctor(&["--user", "svc-cm", "--password", USER_PASSWORD]);
    let output = cmconform(&realm, password, realm.env_with("KRB5CCNAME", &no_cache)).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(
        all.contains("a ticket for svc-cm asked for with --password"),
        "{all}"
    );
    assert!(!all.contains(USER_PASSWORD), "{all}");
    let mut env = realm.env_with("KRB5CCNAME", &no_cache);
    env.push((
        "KRB5_CLIENT_KTNAME".into(),
        format!("{}/client.keytab", realm.dir()),
    ));
    let output = cmconform(&realm, doctor(&[]), env).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        text(&output).contains("mutual-authentication token verified"),
        "{}",
        text(&output)
    );
    backend.shutdown().await;
}

/// Each way Kerberos fails ends the run before any case with exit 2, naming the step: no
/// ticket, a wrong SPN (unknown to the KDC), a token the server refuses (an SPN it holds no key
/// for), a wrong password, an unreachable KDC, an answer without the server's mutual
/// authentication token; `doctor` names the step too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_steps_are_named() {
    let Some(python) = kerberos_tools() else {
        return;
    };
    let realm = Realm::start(python);
    let backend = upstream().await;
    let acceptor = realm.acceptor(&backend, &[]);
    let dir = realm.dir();
    let no_cache = format!("FILE:{dir}/no-such-cache");
    let down = format!("{dir}/krb5-down.conf");
    let conf = std::fs::read_to_string(format!("{dir}/krb5.conf")).expect("krb5.conf");
    // Port 9 (discard) on loopback: nothing answers there.
    let port = format!("127.0.0.1:{}", realm.port);
    std::fs::write(&down, conf.replace(&port, "127.0.0.1:9")).expect("krb5-down.conf");
    let with = |extra: &[&str]| {
        let mut list = run_args(&acceptor, &backend);
        list.extend(args(extra));
        list
    };
    let password = ["--user", "svc-cm", "--password"];
    let cases: Vec<(Vec<String>, Env, &str)> = vec![
        (
            with(&[]),
            realm.env_with("KRB5CCNAME", &no_cache),
            "step 'ticket' failed",
        ),
        (
            with(&["--spn", "HTTP/nowhere.localhost"]),
            realm.client_env(),
            "step 'service ticket' failed",
        ),
        (
            with(&["--spn", "HTTP/elsewhere.localhost"]),
            realm.client_env(),
            "step 'token' failed",
        ),
        (
            with(&[&password[..], &["not-the-password"]].concat()),
            realm.env_with("KRB5CCNAME", &no_cache),
            "step 'initial ticket' failed",
        ),
        (
            with(&[&password[..], &[USER_PASSWORD]].concat()),
            [
                realm.env_with("KRB5CCNAME", &no_cache),
                vec![("KRB5_CONFIG".to_string(), down.clone())],
            ]
            .concat(),
            "step 'KDC' failed",
        ),
    ];
    for (list, env, step) in cases {
        let output = cmconform(&realm, list.clone(), env).await;
        let all = text(&output);
        assert_eq!(output.status.code(), Some(2), "{list:?}: {all}");
        assert!(all.contains(step), "{step}: {all}");
        assert!(!all.contains("not-the-password"), "{all}");
    }
    let silent = realm.acceptor(&backend, &["--no-mutual"]);
    let output = cmconform(&realm, run_args(&silent, &backend), realm.client_env()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(all.contains("step 'mutual authentication' failed"), "{all}");
    let doctor = args(&[
        "doctor",
        "--base-url",
        &acceptor.url_on("localhost"),
        "--auth",
        "negotiate",
        "--spn",
        "HTTP/nowhere.localhost",
    ]);
    let output = cmconform(&realm, doctor, realm.client_env()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains("FAIL  authentication") && all.contains("step 'service ticket'"),
        "{all}"
    );
    assert!(all.contains("--spn"), "the fix names the flag: {all}");
    backend.shutdown().await;
}

/// The dry run's reproduction of a credentialed PUT says `curl --negotiate -u :` (no dead
/// token), and replays with curl's own GSS-API against the acceptor from the kinit ticket,
/// reaching the API (its 404 for an unknown id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reproduction_replays_with_curl_negotiate() {
    let Some(python) = kerberos_tools() else {
        return;
    };
    let features = Command::new("curl").arg("-V").output();
    let Ok(features) = features else {
        println!("skipped: curl is not installed");
        return;
    };
    if !String::from_utf8_lossy(&features.stdout).contains("GSS-API") {
        println!("skipped: this curl has no GSS-API support");
        return;
    }
    let realm = Realm::start(python);
    let backend = upstream().await;
    let acceptor = realm.acceptor(&backend, &[]);
    let mut list = run_args(&acceptor, &backend);
    list.extend(args(&["--dry-run", "--filter", "id-unknown-guid"]));
    let output = cmconform(&realm, list, realm.client_env()).await;
    let line = common::put_reproduction(&String::from_utf8_lossy(&output.stdout));
    assert!(line.contains("--negotiate -u :"), "{line}");
    assert!(!line.contains("Authorization"), "no dead token: {line}");
    let (last_status, answer) = common::replay(&line, &realm.client_env());
    assert!(last_status.contains(" 404"), "{last_status}: {answer}");
    assert_eq!(
        acceptor.count(" authenticated user=svc-cm@"),
        1,
        "curl's token was accepted"
    );
    backend.shutdown().await;
}

/// A test CA and a certificate for `localhost` it signed (ECDSA P-256 with SHA-256), as PEM
/// files in `dir`: `(ca, certificate, key)`.
fn tls_files(dir: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let certificate = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let files = [
        ("ca.pem", ca.pem()),
        ("server.pem", certificate.pem()),
        ("server.key", key.serialize_pem()),
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|(name, pem)| {
            let path = format!("{dir}/{name}");
            std::fs::write(&path, pem).expect("PEM file");
            path
        })
        .collect();
    (paths[0].clone(), paths[1].clone(), paths[2].clone())
}

/// Extended Protection over https: every token carries the connection's `tls-server-end-point`
/// channel binding. An acceptor that requires the binding of its certificate accepts a full
/// run; one that requires another binding refuses the token (MIT accepts a token without any
/// binding, so the refusal shows the binding is sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_protection_binds_tokens_to_the_tls_connection() {
    let Some(python) = kerberos_tools() else {
        return;
    };
    let realm = Realm::start(python);
    let backend = upstream().await;
    let (ca, certificate, key) = tls_files(&realm.dir());
    for (binding, code) in [("right", 0), ("wrong", 2)] {
        let flags = ["--tls", &certificate, &key, "--channel-binding", binding];
        let acceptor = realm.acceptor(&backend, &flags);
        let mut list = run_args(&acceptor, &backend);
        list[2] = format!("https://localhost:{}", acceptor.port);
        list.extend(args(&["--cacert", &ca]));
        let output = cmconform(&realm, list, realm.client_env()).await;
        let all = text(&output);
        assert_eq!(output.status.code(), Some(code), "{binding}: {all}");
        if code == 0 {
            assert!(acceptor.count(" authenticated user=svc-cm@") > 0, "{all}");
            assert_eq!(acceptor.lines(" refused "), Vec::<String>::new());
        } else {
            assert!(all.contains("step 'token' failed"), "{all}");
            let refused = acceptor.lines(" refused token:");
            assert!(!refused.is_empty(), "{all}");
        }
    }
    backend.shutdown().await;
}

/// Without the GSSAPI library `--auth negotiate` stops with exit 2 and names the library;
/// the dry run needs no library and prints `curl --negotiate -u :`. (No Kerberos tools needed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_library_negotiate_names_it() {
    let scratch = Scratch::new("cmconform-kerberos");
    let missing = scratch.join("libgssapi_krb5.so.2");
    let list = args(&[
        "run",
        "--base-url",
        "http://localhost:9",
        "--state-url",
        "http://localhost:9/states",
        "--auth",
        "negotiate",
    ]);
    let env = vec![(
        "CMCONFORM_GSSAPI_LIBRARY".to_string(),
        missing.to_string_lossy().into_owned(),
    )];
    let output = common::run_binary(list.clone(), scratch.path(), env.clone()).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(2), "{all}");
    assert!(
        all.contains("needs the MIT Kerberos GSSAPI library")
            && all.contains("libgssapi_krb5.so.2"),
        "{all}"
    );
    let mut dry = list;
    dry.extend(args(&["--dry-run", "--filter", "complete-from-approved"]));
    let output = common::run_binary(dry, scratch.path(), env).await;
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("curl -sS -i --negotiate -u : -X PUT"), "{all}");
    assert!(all.contains("for HTTP/localhost"), "{all}");
}
