//! Headers no request may set by hand, whether from `-H` or from a fixture: the framing of the
//! message (`Content-Length`, `Transfer-Encoding`) and the connection's own headers (`Host`,
//! `Connection` and the other hop-by-hop ones). The HTTP client computes them; a hand-written
//! one desynchronizes the framing, and the timeouts that follow would be blamed on the target.
//! A value with CR or LF would split the header; it is refused too.

/// Lower-case names of the headers the client owns.
pub const CLIENT_OWNED: [&str; 7] = [
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
];

/// Why `name: value` cannot be sent as given, if it cannot.
pub fn header_problem(name: &str, value: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    if CLIENT_OWNED.contains(&lower.as_str()) {
        return Some(format!(
            "'{name}' is set by the HTTP client from the message itself and cannot be given \
             (framing and hop-by-hop headers: {})",
            CLIENT_OWNED.join(", ")
        ));
    }
    if name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
        return Some(format!(
            "'{name}' holds a CR or LF, which would split the header"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_hop_by_hop_and_split_headers_are_refused() {
        let table = [
            ("Content-Type", "application/json", true),
            ("X-Trace", "a b", true),
            ("Content-Length", "5", false),
            ("transfer-encoding", "chunked", false),
            ("HOST", "evil", false),
            ("Connection", "close", false),
            ("Keep-Alive", "timeout=5", false),
            ("X-Split", "a\r\nInjected: 1", false),
            ("X-Split", "a\nb", false),
        ];
        for (name, value, allowed) in table {
            assert_eq!(header_problem(name, value).is_none(), allowed, "{name}");
        }
    }
}
