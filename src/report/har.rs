//! `--format har`: every exchange of the run as an HTTP Archive (HAR 1.2), the file QA teams
//! attach to tickets and Chrome DevTools or Fiddler open. Each entry carries its case, step and
//! exchange label in a `_case` extension (HAR allows custom fields that start with `_`).
//!
//! Like every writer it reads the report as the run made it: answers already redacted by
//! [`super::CaseReport::redacted`], request headers masked when they were sent.
//!
//! The harness records how long each exchange took, not the instant it started, so
//! `startedDateTime` is the run's start plus the time of the exchanges written before it: in
//! order, never before the real start. All of an exchange's time is reported as `wait` (the
//! client does not split connect, send and receive).

use super::{CaseReport, LabelledExchange, ReportWriter, RunReport};
use crate::client::{Exchange, ReceivedResponse, SentRequest};
use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use std::io::Write;

pub struct HarWriter;

impl ReportWriter for HarWriter {
    fn name(&self) -> &'static str {
        "har"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &har_document(report))?;
        writeln!(out)
    }
}

/// The whole archive: `{"log": {...}}`, serialized as it is written: the entries are read case
/// by case from the report's store, so a run of 100,000 cases is never held whole. Answer
/// bodies come as the report bounded them (`--evidence-bytes`); request bodies too, and a
/// report read back from an older version is cut at the default evidence limit.
pub fn har_document(report: &RunReport) -> impl Serialize + '_ {
    Har {
        log: Log {
            version: "1.2",
            creator: json!({"name": "cmconform", "version": report.tool_version}),
            entries: Entries(report),
            comment: log_comment(report),
            target: &report.target,
            contract_digest: &report.contract_digest,
            contract_source: &report.contract_source,
            seed: report.seed,
            notices: &report.notices,
        },
    }
}

#[derive(Serialize)]
struct Har<'a> {
    log: Log<'a>,
}

#[derive(Serialize)]
struct Log<'a> {
    version: &'static str,
    creator: Value,
    entries: Entries<'a>,
    comment: String,
    #[serde(rename = "_target")]
    target: &'a str,
    #[serde(rename = "_contractDigest")]
    contract_digest: &'a str,
    #[serde(rename = "_contractSource")]
    contract_source: &'a str,
    #[serde(rename = "_seed")]
    seed: Option<u64>,
    #[serde(rename = "_notices")]
    notices: &'a [String],
}

/// Every exchange of every case, in order, written one at a time.
struct Entries<'a>(&'a RunReport);

impl Serialize for Entries<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let report = self.0;
        let start = chrono::DateTime::parse_from_rfc3339(&report.started_at)
            .map(|at| at.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let mut offset_ms = 0.0;
        let mut seq = serializer.serialize_seq(None)?;
        for case in report.cases.full() {
            let case = case.map_err(S::Error::custom)?;
            for labelled in &case.exchanges {
                let at = start + chrono::Duration::microseconds((offset_ms * 1000.0) as i64);
                seq.serialize_element(&entry(&case, labelled, at))?;
                offset_ms += labelled.exchange.elapsed_ms.max(0.0);
            }
        }
        seq.end()
    }
}

/// What a reader of the archive alone must know: the target and every notice of the run
/// (e.g. TLS verification disabled).
fn log_comment(report: &RunReport) -> String {
    let mut lines = vec![format!(
        "cmconform {} against {} (contract {})",
        report.tool_version, report.target, report.contract_digest
    )];
    lines.extend(report.notices.iter().cloned());
    lines.join("\n")
}

fn entry(
    case: &CaseReport,
    labelled: &LabelledExchange,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let exchange: &Exchange = &labelled.exchange;
    let elapsed = exchange.elapsed_ms.max(0.0);
    let mut value = json!({
        "startedDateTime": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "time": elapsed,
        "request": request(&exchange.request, super::DEFAULT_EVIDENCE_BYTES),
        "response": response(exchange),
        "cache": {},
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": elapsed, "receive": 0, "ssl": -1},
        "_case": {
            "id": case.id,
            "title": case.title,
            "status": case.status,
            "step": crate::step_number::shown(labelled.step),
            "label": labelled.label,
        },
    });
    if let Err(error) = &exchange.response {
        // Chrome writes the same field for a request that got no answer.
        value["_error"] = json!(error.to_string());
    }
    value
}

fn request(sent: &SentRequest, body_limit: usize) -> Value {
    let mut value = json!({
        "method": sent.method,
        "url": sent.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&sent.headers),
        "queryString": query_string(&sent.url),
        "headersSize": -1,
        "bodySize": sent.truncated.as_ref().map_or(sent.body.len(), |cut| cut.length),
    });
    if !sent.body.is_empty() {
        let body = BoundedBody::of(&sent.body, body_limit);
        // postData has no `encoding` field: a binary request body is shown as lossy text.
        let mut post = json!({
            "mimeType": header(&sent.headers, "content-type").unwrap_or_default(),
            "text": String::from_utf8_lossy(body.kept),
        });
        match &sent.truncated {
            Some(cut) => note_truncation(&mut post, cut),
            None => body.note(&mut post),
        }
        value["postData"] = post;
    }
    value
}

fn response(exchange: &Exchange) -> Value {
    let Ok(received) = &exchange.response else {
        // HAR has no place for "no answer": status 0 and an empty body, as browsers write it.
        return json!({
            "status": 0, "statusText": "", "httpVersion": "", "cookies": [], "headers": [],
            "content": {"size": 0, "mimeType": ""}, "redirectURL": "", "headersSize": -1,
            "bodySize": -1,
        });
    };
    json!({
        "status": received.status,
        "statusText": status_text(received.status),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&received.headers),
        "content": content(received),
        "redirectURL": header(&received.headers, "location").unwrap_or_default(),
        "headersSize": -1,
        "bodySize": whole_length(received),
    })
}

/// Bytes of the answer's body as received, before the report cut it.
fn whole_length(received: &ReceivedResponse) -> usize {
    received
        .truncated
        .as_ref()
        .map_or(received.body.len(), |cut| cut.length)
}

/// The answer's body as the report kept it: text when it is UTF-8, base64 (`"encoding":
/// "base64"`) when it is not, so the bytes a check judged are the bytes a reader sees; a body the
/// report cut says so in `_truncated` (the JSON report's `length`, `kept` and `sha256`).
fn content(received: &ReceivedResponse) -> Value {
    let mut value = json!({
        "size": whole_length(received),
        "mimeType": header(&received.headers, "content-type").unwrap_or_default(),
    });
    if !received.body.is_empty() {
        match std::str::from_utf8(&received.body) {
            Ok(text) => value["text"] = json!(text),
            Err(_) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(&received.body);
                value["text"] = json!(encoded);
                value["encoding"] = json!("base64");
            }
        }
    }
    if let Some(cut) = &received.truncated {
        note_truncation(&mut value, cut);
    }
    value
}

/// `_truncated` (the JSON report's `length`, `kept` and `sha256`) and a comment on a body the
/// report cut.
fn note_truncation(value: &mut Value, cut: &crate::client::Truncation) {
    value["_truncated"] = json!({"length": cut.length, "kept": cut.kept, "sha256": cut.sha256});
    value["comment"] = json!(truncation_comment(cut.kept, cut.length));
}

fn truncation_comment(kept: usize, length: usize) -> String {
    format!("body truncated: {kept} of {length} bytes kept")
}

/// A request body cut at the limit (on a character boundary when it is text).
struct BoundedBody<'a> {
    kept: &'a [u8],
    size: usize,
}

impl<'a> BoundedBody<'a> {
    fn of(bytes: &'a [u8], limit: usize) -> BoundedBody<'a> {
        let mut end = bytes.len().min(limit);
        if end < bytes.len() && std::str::from_utf8(bytes).is_ok() {
            while end > 0 && (bytes[end] & 0xC0) == 0x80 {
                end -= 1;
            }
        }
        BoundedBody {
            kept: &bytes[..end],
            size: bytes.len(),
        }
    }

    /// `_truncated` and a comment when bytes were cut, so nobody mistakes the cut for the answer.
    fn note(&self, value: &mut Value) {
        if self.kept.len() < self.size {
            value["_truncated"] = json!({"length": self.size, "kept": self.kept.len()});
            value["comment"] = json!(truncation_comment(self.kept.len(), self.size));
        }
    }
}

fn headers(pairs: &[(String, String)]) -> Vec<Value> {
    pairs
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

fn header(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

fn query_string(url: &str) -> Vec<Value> {
    reqwest::Url::parse(url)
        .map(|parsed| {
            parsed
                .query_pairs()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect()
        })
        .unwrap_or_default()
}

fn status_text(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_at_the_limit_on_a_character_boundary() {
        let cases: [(&[u8], usize, usize); 5] = [
            (b"abcdef", 10, 6),
            (b"abcdef", 6, 6),
            (b"abcdef", 4, 4),
            // "é" is two bytes: a cut inside it keeps the whole character out.
            ("abé".as_bytes(), 3, 2),
            // Not UTF-8: cut at the byte.
            (&[0xff, 0xfe, 0x80, 0x80], 3, 3),
        ];
        for (bytes, limit, kept) in cases {
            let body = BoundedBody::of(bytes, limit);
            assert_eq!(body.kept.len(), kept, "{bytes:?} at {limit}");
            let mut value = json!({});
            body.note(&mut value);
            assert_eq!(
                value.get("_truncated").is_some(),
                kept < bytes.len(),
                "{bytes:?} at {limit}: {value}"
            );
        }
    }

    #[test]
    fn binary_answers_are_base64_and_text_answers_are_text() {
        let text = ReceivedResponse::new(200, vec![], b"{\"a\":1}".to_vec());
        let binary = ReceivedResponse::new(200, vec![], vec![0xff, 0x00, 0x41]);
        assert_eq!(content(&text)["text"], "{\"a\":1}");
        assert!(content(&text).get("encoding").is_none());
        assert_eq!(content(&binary)["text"], "/wBB");
        assert_eq!(content(&binary)["encoding"], "base64");
        assert_eq!(content(&binary)["size"], 3);
    }

    #[test]
    fn answers_the_report_cut_keep_their_whole_size_and_say_so() {
        let mut cut = ReceivedResponse::new(200, vec![], "é".repeat(10).into_bytes());
        cut.bound_body(5);
        let value = content(&cut);
        assert_eq!(value["size"], 20);
        assert_eq!(value["text"], "éé");
        assert_eq!(value["_truncated"]["length"], 20);
        assert_eq!(value["_truncated"]["kept"], 4);
        assert!(
            value["_truncated"]["sha256"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:"))
        );
        assert_eq!(value["comment"], "body truncated: 4 of 20 bytes kept");
        let whole = ReceivedResponse::new(200, vec![], b"abc".to_vec());
        assert!(content(&whole).get("_truncated").is_none());
    }

    #[test]
    fn status_texts_and_headers() {
        assert_eq!(status_text(200), "OK");
        assert_eq!(status_text(403), "Forbidden");
        assert_eq!(status_text(799), "");
        let pairs = vec![("Content-Type".to_string(), "text/plain".to_string())];
        assert_eq!(
            header(&pairs, "content-type").as_deref(),
            Some("text/plain")
        );
        assert_eq!(header(&pairs, "location"), None);
        assert_eq!(
            query_string("http://h/p?a=1&b=two"),
            vec![
                json!({"name": "a", "value": "1"}),
                json!({"name": "b", "value": "two"})
            ]
        );
    }
}
