//! A request as a shell command that replays it, byte for byte (secrets already masked).

use super::SentRequest;

impl SentRequest {
    /// A shell command that reproduces the request (secrets already masked).
    pub fn to_curl(&self) -> String {
        let mut command = format!("curl -sS -i -X {} {}", self.method, shell_quote(&self.url));
        for (name, value) in &self.headers {
            command.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
        }
        if !self.body.is_empty()
            || self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            command.push_str(&format!(" --data-binary {}", shell_bytes(&self.body)));
        }
        command
    }
}

/// Single-quotes for POSIX shells.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Bytes as a shell word: plain single quotes for printable text, `$'...'` escapes otherwise, so
/// the exact bytes (invalid UTF-8 and control characters included) reach curl.
fn shell_bytes(bytes: &[u8]) -> String {
    let printable = std::str::from_utf8(bytes)
        .is_ok_and(|text| text.chars().all(|c| !c.is_control() || c == '\n'));
    if printable {
        return shell_quote(&String::from_utf8_lossy(bytes));
    }
    let mut word = String::from("$'");
    for &byte in bytes {
        match byte {
            b'\'' => word.push_str("\\'"),
            b'\\' => word.push_str("\\\\"),
            0x20..=0x7e => word.push(byte as char),
            _ => word.push_str(&format!("\\x{byte:02x}")),
        }
    }
    word.push('\'');
    word
}
