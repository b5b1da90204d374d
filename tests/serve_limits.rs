//! The reference server under misbehaving clients and long lives (issue #12, "serve is robust"):
//! partial, trickled and idle connections end after bounded waits, a stalled body ends at the
//! idle timeout, connections beyond the cap are closed at once, staged requests are evicted past
//! `max_requests` (least recently used first), and the state endpoint honours Pact's teardown.
//!
//! Raw sockets on 127.0.0.1 drive the connection tests. Each wait below is a guard against a
//! hang (a server without the bound never closes the socket), not a measurement: the bounds
//! under test are a fraction of a second, the guards many seconds.

mod common;

use cmconform::contract::lifecycle::RequestState;
use cmconform::server::{Limits, RunningServer, ServerConfig, spawn};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AUTH: &str = "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag";
const PATH: &str = "/CertificateManagement/api/v1.0/requests";
const EXAMPLE_ID: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
/// How long a test waits for the server to close a socket before calling it a hang.
const GUARD: Duration = Duration::from_secs(30);

async fn server(limits: Limits) -> RunningServer {
    let config = ServerConfig {
        limits,
        ..ServerConfig::default()
    };
    match spawn(config, 0).await {
        Ok(server) => server,
        Err(error) => panic!("cannot start the reference server: {error}"),
    }
}

/// Short timeouts, so the tests end quickly; generous caps unless a test lowers one.
fn short() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

async fn connect(server: &RunningServer) -> TcpStream {
    match TcpStream::connect(server.addr()).await {
        Ok(stream) => stream,
        Err(error) => panic!("cannot connect: {error}"),
    }
}

/// Reads until the server closes the connection (EOF or reset); what it sent before that.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let reading = async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received.extend_from_slice(&chunk[..read]),
            }
        }
    };
    if tokio::time::timeout(GUARD, reading).await.is_err() {
        panic!("the server kept the connection open past {GUARD:?}");
    }
    String::from_utf8_lossy(&received).into_owned()
}

async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    if let Err(error) = stream.write_all(bytes).await {
        panic!("cannot write to the server: {error}");
    }
}

fn get_example() -> String {
    format!("GET {PATH}/{EXAMPLE_ID} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {AUTH}\r\n\r\n")
}

/// Reads exactly one answer whose head says its Content-Length; returns head and body.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match tokio::time::timeout(GUARD, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return text,
            Ok(Ok(read)) => received.extend_from_slice(&chunk[..read]),
            Err(_) => panic!("no answer within {GUARD:?}"),
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let server = server(short()).await;
    let mut stream = connect(&server).await;
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn partial_headers_are_not_waited_for() {
    let server = server(short()).await;
    let mut stream = connect(&server).await;
    send(
        &mut stream,
        format!("GET {PATH}/{EXAMPLE_ID} HTTP/1.1\r\nHost: loc").as_bytes(),
    )
    .await;
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains(" 200 "), "{answer}");
}

#[tokio::test]
async fn trickled_headers_are_cut_at_the_header_timeout() {
    let server = server(short()).await;
    let stream = connect(&server).await;
    let (mut reader, mut writer) = stream.into_split();
    // One header byte every 50 ms: each byte is progress, so only the head's deadline ends it.
    let trickle = tokio::spawn(async move {
        let head = get_example().replace("\r\n\r\n", "\r\nX-Padding: ");
        for byte in head.bytes().chain(std::iter::repeat(b'a')).take(100_000) {
            if writer.write_all(&[byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(GUARD, reader.read_to_end(&mut received)).await;
    assert!(closed.is_ok(), "the trickling connection stayed open");
    let answer = String::from_utf8_lossy(&received);
    assert!(!answer.contains(" 200 "), "{answer}");
    trickle.abort();
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_its_answer() {
    let server = server(short()).await;
    let mut stream = connect(&server).await;
    send(&mut stream, get_example().as_bytes()).await;
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The connection is kept alive, then closed once idle past the header timeout.
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn a_stalled_body_is_cut_at_the_idle_timeout() {
    let server = server(Limits {
        header_timeout: Duration::from_secs(3600),
        ..short()
    })
    .await;
    let mut stream = connect(&server).await;
    let head = format!(
        "PUT {PATH}/{EXAMPLE_ID} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {AUTH}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"status\""
    );
    send(&mut stream, head.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains(" 200 "), "{answer}");
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_the_body_timeout() {
    // Each byte is progress, so neither the header nor the idle timeout would ever end it.
    let server = server(Limits {
        header_timeout: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(3600),
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let stream = connect(&server).await;
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "PUT {PATH}/{EXAMPLE_ID} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {AUTH}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    );
    let trickle = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..100_000 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(GUARD, reader.read_to_end(&mut received)).await;
    trickle.abort();
    assert!(
        closed.is_ok(),
        "the trickled body was waited for past {GUARD:?}"
    );
    let answer = String::from_utf8_lossy(&received);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let server = server(Limits {
        header_timeout: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(3600),
        max_connections: 1,
        ..Limits::default()
    })
    .await;
    let mut held = connect(&server).await;
    // An answer proves the first connection was accepted and holds the only slot.
    send(&mut held, get_example().as_bytes()).await;
    assert!(read_answer(&mut held).await.starts_with("HTTP/1.1 200"));
    let mut extra = connect(&server).await;
    // Writing may already fail: the server closed the socket.
    let _ = extra.write_all(get_example().as_bytes()).await;
    assert_eq!(read_until_closed(&mut extra).await, "");
    // The held connection still works, and once it closes its slot is free again.
    send(&mut held, get_example().as_bytes()).await;
    assert!(read_answer(&mut held).await.starts_with("HTTP/1.1 200"));
    drop(held);
    let mut answered = false;
    for _ in 0..100 {
        let mut next = connect(&server).await;
        let _ = next.write_all(get_example().as_bytes()).await;
        if read_answer(&mut next).await.starts_with("HTTP/1.1 200") {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        answered,
        "the slot of the closed connection was never freed"
    );
}

async fn post_state(client: &reqwest::Client, server: &RunningServer, body: Value) -> (u16, Value) {
    let response = match client.post(server.state_url()).json(&body).send().await {
        Ok(response) => response,
        Err(error) => panic!("state endpoint: {error}"),
    };
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_status(client: &reqwest::Client, server: &RunningServer, id: &str) -> u16 {
    let url = format!("{}{PATH}/{id}", server.base_url());
    match client.get(url).header("Authorization", AUTH).send().await {
        Ok(response) => response.status().as_u16(),
        Err(error) => panic!("GET {id}: {error}"),
    }
}

async fn staged(client: &reqwest::Client, server: &RunningServer) -> String {
    let approved = RequestState::Approved.name();
    let (status, answer) = post_state(client, server, json!({ "state": approved })).await;
    assert_eq!(status, 200, "{answer}");
    answer["id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn staged_requests_are_evicted_least_recently_used_first() {
    let server = server(Limits {
        max_requests: 2,
        ..Limits::default()
    })
    .await;
    let client = reqwest::Client::new();
    let first = staged(&client, &server).await;
    let second = staged(&client, &server).await;
    // Reading the first makes the second the least recently used.
    assert_eq!(get_status(&client, &server, &first).await, 200);
    let third = staged(&client, &server).await;
    assert_eq!(get_status(&client, &server, &second).await, 404);
    for kept in [&first, &third, EXAMPLE_ID] {
        assert_eq!(get_status(&client, &server, kept).await, 200, "{kept}");
    }
}

#[tokio::test]
async fn teardown_forgets_a_staged_request() {
    let server = server(Limits::default()).await;
    let client = reqwest::Client::new();
    let id = staged(&client, &server).await;
    let teardown = json!({ "state": "approved", "action": "teardown", "id": id });
    let (status, answer) = post_state(&client, &server, teardown.clone()).await;
    assert_eq!(
        (status, &answer),
        (200, &json!({ "id": id, "removed": true }))
    );
    assert_eq!(get_status(&client, &server, &id).await, 404);
    // A repeated teardown is harmless; the documented example cannot be torn down.
    let (status, answer) = post_state(&client, &server, teardown).await;
    assert_eq!((status, &answer["removed"]), (200, &json!(false)));
    let example = json!({ "state": "approved", "action": "teardown", "id": EXAMPLE_ID });
    let (status, answer) = post_state(&client, &server, example).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(get_status(&client, &server, EXAMPLE_ID).await, 200);
}

#[test]
fn serve_refuses_a_zero_cap() {
    for flag in ["--max-requests", "--max-connections"] {
        let output = match common::cmconform(["serve", "--port", "0", flag, "0"]).output() {
            Ok(output) => output,
            Err(error) => panic!("cannot run cmconform: {error}"),
        };
        let text = common::output_text(&output);
        assert_eq!(output.status.code(), Some(2), "{flag}: {text}");
        assert!(
            text.contains(flag) && text.contains("1.."),
            "{flag}: {text}"
        );
    }
}
