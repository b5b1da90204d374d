//! Paths sent byte for byte. reqwest parses every URL the WHATWG way, which removes dot
//! segments (`../`, and `%2e%2e/`, which WHATWG reads as `..`) before anything is sent, so a
//! case about path traversal would test another path than the one it reports. Without a proxy
//! every request goes on a connection the client owns (`direct`, or a pinned one), with no URL
//! normalisation, and the report records the URL exactly as it went on the wire. Only when that
//! cannot be done (through a proxy, or a target hyper refuses to write) does reqwest send it,
//! and then the report shows the URL reqwest sent.

use super::ClientConfig;

/// The URL as the request line and `Host` carry it (what reports show): `url` unchanged when it
/// goes on an owned connection (`direct`: no proxy in between, and a target hyper can write as
/// given) or when URL parsing keeps its path and query; otherwise as reqwest rewrites it.
pub(super) fn wire(url: &str, direct: bool) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        // reqwest will fail to send it, and say so.
        return url.to_string();
    };
    let Some(raw_target) = origin_form(url) else {
        return url.to_string();
    };
    if direct && raw_target.parse::<hyper::Uri>().is_ok() {
        return url.to_string();
    }
    let parsed_target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_string(),
    };
    if parsed_target == raw_target {
        return url.to_string();
    }
    parsed.as_str().to_string()
}

/// The origin-form target of an absolute `http(s)://authority/path?query` URL, as written
/// (`/` when the URL has no path).
pub(super) fn origin_form(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let rest = rest.split('#').next()?;
    Some(rest.find('/').map_or("/", |start| &rest[start..]))
}

/// Whether requests of `config` go straight to the target (no `--proxy`, and no proxy from the
/// environment that reqwest would use).
pub(super) fn direct(config: &ClientConfig) -> bool {
    const PROXY_VARIABLES: [&str; 6] = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ];
    config.no_proxy
        || (config.connection.proxy.is_none()
            && PROXY_VARIABLES
                .iter()
                .all(|name| std::env::var_os(name).is_none_or(|value| value.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:8080/CertificateManagement/api/v1.0/requests";

    #[test]
    fn paths_go_as_written_unless_reqwest_sends_them_through_a_proxy() {
        let id = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
        let table = [
            (format!("{BASE}/{id}"), true, None),
            (format!("{BASE}/%7B{id}%7D"), true, None),
            (format!("{BASE}/{id}?x=1"), true, None),
            (format!("{BASE}/../{id}"), true, None),
            (format!("{BASE}/%2e%2e/{id}"), true, None),
            (format!("{BASE}/%2E%2E/{id}"), true, None),
            (format!("{BASE}/./{id}"), true, None),
            // Not dot segments: URL parsing keeps them, through a proxy too.
            (format!("{BASE}/..%2f{id}"), false, None),
            (format!("{BASE}/%2e%2e%2f{id}"), false, None),
            (format!("{BASE}/..;/{id}"), false, None),
            (format!("{BASE}/{id}"), false, None),
            // Through a proxy reqwest sends it, and the report says what it sent.
            (
                format!("{BASE}/../{id}"),
                false,
                Some(format!(
                    "http://127.0.0.1:8080/CertificateManagement/api/v1.0/{id}"
                )),
            ),
            (
                format!("{BASE}/%2e%2e/{id}"),
                false,
                Some(format!(
                    "http://127.0.0.1:8080/CertificateManagement/api/v1.0/{id}"
                )),
            ),
        ];
        for (url, direct, reported) in table {
            assert_eq!(
                wire(&url, direct),
                reported.unwrap_or_else(|| url.clone()),
                "{url}"
            );
        }
    }

    /// Accepts one connection on a raw 127.0.0.1 listener and answers each request with an
    /// empty 404, sending back every request line it read.
    async fn raw_listener() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let bound = tokio::net::TcpListener::bind("127.0.0.1:0").await;
        let listener = bound.unwrap_or_else(|error| panic!("bind: {error}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let (lines, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let lines = lines.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    let mut first = String::new();
                    if reader.read_line(&mut first).await.is_err() {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).await.is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let _ = lines.send(first.trim_end().to_string());
                    let answer =
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    let _ = write.write_all(answer.as_bytes()).await;
                });
            }
        });
        (format!("http://127.0.0.1:{port}"), received)
    }

    /// The request line a raw listener receives carries the path the report shows, for every
    /// path of `id-path-traversal`, and the curl reproduction sends it too.
    #[tokio::test]
    async fn the_request_line_on_the_wire_is_the_reported_path() {
        use crate::client::{HttpClient, OutgoingRequest};
        let (base, mut lines) = raw_listener().await;
        let client = HttpClient::new(ClientConfig {
            base_url: base.clone(),
            extra_headers: Vec::new(),
            timeout: std::time::Duration::from_secs(10),
            connection: super::super::Connection::default(),
            no_proxy: true,
            guard_unstaged: false,
        });
        let client = client.unwrap_or_else(|error| panic!("{error}"));
        let id = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";
        let prefix = crate::contract::REQUESTS_PATH;
        for segment in ["../", "%2e%2e/", "..%2f", "%2e%2e%2f", "..;/", "./", ""] {
            let path = format!("{prefix}/{segment}{id}");
            let exchange = client
                .send(&OutgoingRequest {
                    method: "PUT".into(),
                    path: path.clone(),
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: Some(bytes::Bytes::from_static(br#"{"status":"Completed"}"#)),
                    credentials: false,
                })
                .await;
            assert_eq!(exchange.ok().map(|r| r.status), Some(404), "{path}");
            let line = lines.recv().await.unwrap_or_default();
            assert_eq!(line, format!("PUT {path} HTTP/1.1"));
            assert_eq!(exchange.request.url, format!("{base}{path}"));
            let curl = exchange.request.to_curl();
            let dotted = segment.starts_with("../") || segment.starts_with("./");
            assert_eq!(curl.contains(" --path-as-is "), dotted, "{curl}");
        }
    }

    #[test]
    fn origin_forms_are_taken_as_written() {
        assert_eq!(origin_form("http://h:1/a/../b?q#f"), Some("/a/../b?q"));
        assert_eq!(origin_form("https://h"), Some("/"));
        assert_eq!(origin_form("no scheme"), None);
    }
}
