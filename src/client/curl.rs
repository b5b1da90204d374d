//! A request as a shell command that replays it, byte for byte (secrets already masked).

use super::SentRequest;
use crate::auth::{AuthMode, AuthSettings};
use serde::{Deserialize, Serialize};

/// How curl authenticates a replay when the run's authentication is a handshake: the one-use
/// tokens a run sent would be refused, so the reproduction asks curl to handshake itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum ReplayAuth {
    /// `curl --ntlm -u 'DOMAIN\user:********'` (the password is for the reader to fill in).
    Ntlm { user: String },
    /// `curl --negotiate -u :` (the Kerberos ticket comes from the environment).
    Negotiate,
}

impl ReplayAuth {
    /// The replay flags for a credentialed request under `settings`, if it handshakes.
    pub fn for_settings(settings: &AuthSettings) -> Option<ReplayAuth> {
        match settings.mode {
            AuthMode::Ntlm => {
                let user = settings.user.clone().unwrap_or_default();
                let user = match &settings.domain {
                    Some(domain) if !domain.is_empty() && !user.contains('\\') => {
                        format!("{domain}\\{user}")
                    }
                    _ => user,
                };
                Some(ReplayAuth::Ntlm { user })
            }
            AuthMode::Negotiate => Some(ReplayAuth::Negotiate),
            _ => None,
        }
    }

    fn flags(&self) -> String {
        match self {
            ReplayAuth::Ntlm { user } => {
                format!("--ntlm -u {}", shell_quote(&format!("{user}:********")))
            }
            ReplayAuth::Negotiate => "--negotiate -u :".into(),
        }
    }
}

impl SentRequest {
    /// A shell command that reproduces the request (secrets already masked).
    pub fn to_curl(&self) -> String {
        let mut command = String::from("curl -sS -i");
        if let Some(auth) = &self.auth {
            command.push(' ');
            command.push_str(&auth.flags());
        }
        if has_dot_segment(&self.url) {
            // curl squashes /../ and /./ unless told not to: the reproduction must send the
            // path the harness sent.
            command.push_str(" --path-as-is");
        }
        command.push_str(&format!(" -X {} {}", self.method, shell_quote(&self.url)));
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
/// Whether the path of `url` has a `.` or `..` segment (as written; curl does not decode
/// `%2e`).
fn has_dot_segment(url: &str) -> bool {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/')
        .skip(1)
        .any(|segment| segment == "." || segment == "..")
}

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
