//! Dialects: the faithful ways to implement CONTRACT.md where it leaves a choice. Each
//! [`Dialect`] is one row of data (how bodies are bound, what a success answers, how a 401
//! looks, how timestamps are written, which headers go out, what a repeated PUT does), and the
//! handlers read the row instead of testing for a dialect by name. Every dialect is conformant:
//! a harness that fails one of them has a false positive.

use crate::contract::lifecycle::{RequestState, TargetStatus};

/// One faithful way to answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Dialect {
    /// The name used on the command line (`--dialect NAME`).
    pub name: &'static str,
    /// One sentence for `list --dialects`, the README and the self-test matrix.
    pub description: &'static str,
    /// How a PUT body becomes a target status.
    pub binding: Binding,
    /// What a successful PUT answers.
    pub success: Success,
    /// How a request without valid credentials is answered.
    pub challenge: Challenge,
    /// Fraction digits kept in the `Completed` timestamp a completion writes: 3 where the
    /// database keeps milliseconds, 7 for .NET's 100 ns ticks (trailing zeros trimmed either way).
    pub stamp_digits: u16,
    /// Headers every answer of the API carries, besides the framing.
    pub headers: &'static [(&'static str, &'static str)],
    /// How a request's path is routed to an id.
    pub routing: Routing,
    /// What a PUT asking for the state the request is already in does.
    pub repeat: Repeat,
}

/// How a PUT body becomes a target status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Only the canonical body: `application/json` holding exactly `{"status": "<name>"}`.
    Canonical,
    /// As ASP.NET Web API 2 binds with Json.NET's defaults (CONTRACT.md section 7).
    JsonNet,
}

/// How a request's path is routed to an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// The path as sent, the prefix compared case-insensitively; the id percent-decoded and in
    /// .NET's D, N or B form.
    Canonical,
    /// As IIS and Web API route: the whole path percent-decoded first, and the id also in the
    /// P form, `(a9b4...)`.
    Iis,
}

/// What a successful PUT answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// 200 and the Request object.
    Request,
    /// 204 and no body; GET shows the new state.
    NoContent,
}

/// How a request without valid credentials is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// The API's JSON error body, with the credentials' challenges.
    Json,
    /// IIS's HTML page, sent before the API runs, offering Negotiate and NTLM.
    IisPage,
}

/// What a PUT asking for the state the request is already in does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Refused like any PUT on a final state.
    Refuse,
    /// `Completed` on a Completed request answers success and changes nothing (PUT is
    /// idempotent in HTTP; CONTRACT.md section 7, last paragraph).
    Idempotent,
}

impl Repeat {
    /// Whether a PUT of `target` on a request in `current` is a repeat answered as a no-op.
    pub fn is_noop(self, current: RequestState, target: TargetStatus) -> bool {
        self == Repeat::Idempotent
            && current == RequestState::Completed
            && target == TargetStatus::Completed
    }
}

/// The headers ASP.NET on IIS adds to every answer (names in lower case, as HTTP/2 and the
/// `http` crate want them; HTTP/1.1 names are case-insensitive).
const IIS_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    ("pragma", "no-cache"),
    ("expires", "-1"),
    ("server", "Microsoft-IIS/10.0"),
    ("x-aspnet-version", "4.0.30319"),
    ("x-powered-by", "ASP.NET"),
];

impl Dialect {
    /// Every dialect, the default first.
    pub const ALL: &'static [Dialect] = &[
        Dialect {
            name: "strict",
            description: "Canonical bodies only (application/json, exactly {\"status\": name}), 200 with the Request, JSON errors everywhere.",
            binding: Binding::Canonical,
            success: Success::Request,
            challenge: Challenge::Json,
            stamp_digits: 3,
            headers: &[],
            routing: Routing::Canonical,
            repeat: Repeat::Refuse,
        },
        Dialect {
            name: "aspnet",
            description: "ASP.NET Web API 2 with Json.NET on IIS: lenient binding of open inputs, an HTML 401 page, 7-digit timestamps, IIS headers, idempotent repeats.",
            binding: Binding::JsonNet,
            success: Success::Request,
            challenge: Challenge::IisPage,
            stamp_digits: 7,
            headers: IIS_HEADERS,
            routing: Routing::Iis,
            repeat: Repeat::Idempotent,
        },
        Dialect {
            name: "nocontent",
            description: "Like strict, but every successful PUT answers 204 with no body; GET shows the new state.",
            binding: Binding::Canonical,
            success: Success::NoContent,
            challenge: Challenge::Json,
            stamp_digits: 3,
            headers: &[],
            routing: Routing::Canonical,
            repeat: Repeat::Refuse,
        },
    ];

    /// Whether the conformant server of this dialect passes a run under `profile`. Every dialect
    /// meets the documented profile; the strict profile fails a server that accepts open inputs,
    /// answers a repeat idempotently, routes other id spellings or sends an HTML 401 (sections 6
    /// and 7), all of which the documents allow.
    pub fn meets(&self, profile: crate::contract::profile::Profile) -> bool {
        !profile.is_strict()
            || (self.binding == Binding::Canonical
                && self.challenge == Challenge::Json
                && self.routing == Routing::Canonical
                && self.repeat == Repeat::Refuse)
    }

    /// The default: the contract's canonical reading, as the server always answered.
    pub fn strict() -> &'static Dialect {
        &Dialect::ALL[0]
    }

    pub fn from_name(name: &str) -> Option<&'static Dialect> {
        Dialect::ALL.iter().find(|dialect| dialect.name == name)
    }

    /// The names, for flag help and error messages.
    pub fn names() -> Vec<&'static str> {
        Dialect::ALL.iter().map(|dialect| dialect.name).collect()
    }

    /// Whether a successful PUT's answer has a body for a fault to break.
    pub fn has_success_body(&self) -> bool {
        self.success == Success::Request
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for dialect in Dialect::ALL {
            assert_eq!(Dialect::from_name(dialect.name), Some(dialect));
            assert!(dialect.description.ends_with('.'), "{dialect}");
        }
        assert_eq!(Dialect::names().len(), Dialect::ALL.len());
        assert_eq!(Dialect::strict().name, "strict");
        assert_eq!(Dialect::from_name("iis"), None);
        for dialect in Dialect::ALL {
            for (name, value) in dialect.headers {
                // `decorate` builds them with `from_static`, which takes lower-case names only.
                assert!(axum::http::HeaderName::from_bytes(name.as_bytes()).is_ok());
                assert_eq!(name.to_ascii_lowercase(), *name, "{dialect}");
                assert!(axum::http::HeaderValue::from_str(value).is_ok());
            }
        }
    }

    #[test]
    fn only_an_idempotent_dialect_repeats_completion_as_a_noop() {
        let cases = [
            (
                Repeat::Idempotent,
                RequestState::Completed,
                TargetStatus::Completed,
                true,
            ),
            (
                Repeat::Idempotent,
                RequestState::Completed,
                TargetStatus::Canceled,
                false,
            ),
            (
                Repeat::Idempotent,
                RequestState::Approved,
                TargetStatus::Completed,
                false,
            ),
            (
                Repeat::Idempotent,
                RequestState::Canceled,
                TargetStatus::Canceled,
                false,
            ),
            (
                Repeat::Refuse,
                RequestState::Completed,
                TargetStatus::Completed,
                false,
            ),
        ];
        for (repeat, current, target, noop) in cases {
            assert_eq!(
                repeat.is_noop(current, target),
                noop,
                "{repeat:?} {current} {target:?}"
            );
        }
    }
}
