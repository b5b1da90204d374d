//! The fault catalogue: every way the reference server can be told to break exactly one rule of
//! CONTRACT.md, one row per fault: its name, the section of the rule, how it is judged (the
//! harness check that must catch it, or the run's exit, or load), where the rule can be seen,
//! the [`Hook`] that breaks it, and one sentence.
//!
//! What each hook does lives in `hooks.rs`, and [`Behaviour`] consults it at the one place its
//! decision is made, so a fault is never an `if` scattered through the handlers. Adding a fault
//! is one row here (and, for a new kind of change, one hook).
//!
//! [`Behaviour`]: super::behaviour::Behaviour

use super::dialect::Dialect;
use super::hooks::{self, AnswerKind, Hook};

/// One deliberate deviation from the contract. Each breaks one rule and keeps everything else
/// conformant, so a harness run against it should fail exactly the check named by
/// [`Fault::intended_check`]. Faults are the rows of [`Fault::ALL`] and are told apart by name.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    name: &'static str,
    section: &'static str,
    judged: Judged,
    applies: Applies,
    hook: Hook,
    description: &'static str,
}

/// Which answers a fault's rule lives in, so that a server dialect without them (one that
/// answers a successful PUT with 204 and no body) is not asked to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// The rule can be broken on every server.
    Everywhere,
    /// The rule is about the body of a successful PUT's answer.
    SuccessBody,
}

/// How a self-test judges a fault: most by the check that must fail; a few by what the run or
/// `cmconform load` must do instead, because no check can see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// This check must fail.
    ByCheck(&'static str),
    /// The fault breaks what the harness needs to test at all: the run must end with exit 2
    /// and this reason, never a verdict.
    ByRunExit(&'static str),
    /// Every answer is conformant and in time, only the latency distribution breaks: only
    /// `cmconform load --max-p99` ([`LOAD_GATE`]) can fail it, and the self-test does not run
    /// the suite against it.
    ByLoad,
}

/// Faults whose rule is the strict profile's (CONTRACT.md sections 6 and 7): the documented
/// profile allows what they do (extra Request members, chunked framing), so only a strict run is
/// asked to catch them.
const STRICT_ONLY: [&str; 2] = ["extra_field", "chunked_body"];

/// The "check" of a fault that no check can judge because the harness cannot test what comes
/// after it: the run must stop with an error (exit 2) whose reason says why, never a verdict.
pub const RUN_ERROR: &str = "authentication failed mid-run";

/// What a load-only fault names as its intended check: the load gate that fails on it.
pub const LOAD_GATE: &str = "load --max-p99";

impl Fault {
    /// The catalogue, in the order `list --faults` and the self-test matrix show it.
    pub const ALL: &'static [Fault] = &[
        Fault {
            name: "success_201",
            section: "1",
            judged: Judged::ByCheck("status_code_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::SuccessAnswer(hooks::created_201),
            description: "A successful PUT answers 201 Created, a code the operation does not document (200 or 204).",
        },
        Fault {
            name: "text_content_type",
            section: "2",
            judged: Judged::ByCheck("content_type_conformance"),
            applies: Applies::SuccessBody,
            hook: Hook::SuccessAnswer(hooks::text_plain),
            description: "A successful PUT answers with Content-Type text/plain although responses are always application/json.",
        },
        Fault {
            name: "missing_field",
            section: "3",
            judged: Judged::ByCheck("response_schema_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::RequestJson {
                only: None,
                change: hooks::drop_flags,
            },
            description: "The Request object of PUT and GET answers lacks the required Flags field.",
        },
        Fault {
            name: "camel_case_keys",
            section: "3",
            judged: Judged::ByCheck("response_schema_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::RequestJson {
                only: None,
                change: hooks::camel_case_keys,
            },
            description: "The Request object's keys are camelCase (uuid, requestType, ...) instead of the documented PascalCase.",
        },
        Fault {
            name: "wrong_status_code",
            section: "5",
            judged: Judged::ByCheck("status_value"),
            applies: Applies::Everywhere,
            hook: Hook::StatusCode(hooks::completed_as_7),
            description: "A completed request is stored and reported with Status 7 instead of the documented 8.",
        },
        Fault {
            name: "status_as_string",
            section: "6",
            judged: Judged::ByCheck("status_value"),
            applies: Applies::Everywhere,
            hook: Hook::RequestJson {
                only: None,
                change: hooks::status_as_string,
            },
            description: "Status is serialized as a JSON string (\"8\") instead of an integer in PUT and GET answers.",
        },
        Fault {
            name: "boolean_as_string",
            section: "6",
            judged: Judged::ByCheck("response_schema_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::RequestJson {
                only: None,
                change: hooks::smartcard_as_string,
            },
            description: "IsSmartcard is serialized as the string \"true\" or \"false\" instead of a JSON boolean.",
        },
        Fault {
            name: "null_array",
            section: "3",
            judged: Judged::ByCheck("response_schema_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::RequestJson {
                only: None,
                change: hooks::null_data_collection,
            },
            description: "DataCollection is serialized as null instead of a (possibly empty) array.",
        },
        Fault {
            name: "duplicate_members",
            section: "3",
            judged: Judged::ByCheck("unique_member_names"),
            applies: Applies::Everywhere,
            hook: Hook::RequestText(hooks::status_named_twice),
            description: "The Request object of PUT and GET answers names Status twice (\"Status\":99 first, the real Status later), which a parser that keeps the last member does not see.",
        },
        Fault {
            name: "uuid_mismatch",
            section: "3",
            judged: Judged::ByCheck("uuid_matches_path"),
            applies: Applies::SuccessBody,
            hook: Hook::RequestJson {
                only: Some(AnswerKind::PutSuccess),
                change: hooks::random_uuid,
            },
            description: "The Uuid of a successful PUT's answer is a random GUID instead of the {id} of the URL.",
        },
        Fault {
            name: "completed_not_set",
            section: "5",
            judged: Judged::ByCheck("completed_timestamp"),
            applies: Applies::Everywhere,
            hook: Hook::CompletionStamp(hooks::never_completed),
            description: "Completing a request leaves Completed at 0001-01-01T00:00:00 instead of a real timestamp.",
        },
        Fault {
            name: "completed_not_iso",
            section: "3",
            judged: Judged::ByCheck("completed_timestamp"),
            applies: Applies::Everywhere,
            hook: Hook::CompletionStamp(hooks::us_locale_stamp),
            description: "Completing a request writes Completed in a US locale format (11/28/2026 3:01:02 AM) instead of an ISO timestamp.",
        },
        Fault {
            name: "completed_far_future",
            section: "5",
            judged: Judged::ByCheck("completed_timestamp"),
            applies: Applies::Everywhere,
            hook: Hook::CompletionStamp(hooks::far_future_stamp),
            description: "Completing a request writes Completed as 9999-12-31T23:59:59.9999999Z, long after the answer was sent.",
        },
        Fault {
            name: "immutable_changed",
            section: "5",
            judged: Judged::ByCheck("immutable_fields"),
            applies: Applies::Everywhere,
            hook: Hook::SideEffect(hooks::change_request_type),
            description: "A successful PUT also changes and stores RequestType, a field a PUT must never change.",
        },
        Fault {
            name: "not_persisted",
            section: "6",
            judged: Judged::ByCheck("state_persisted"),
            applies: Applies::Everywhere,
            hook: Hook::SkipStore,
            description: "A successful PUT answers 200 with the new state but does not store it, so GET shows the old state.",
        },
        Fault {
            name: "invalid_status_accepted",
            section: "6",
            judged: Judged::ByCheck("status_code_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::AcceptUnknownStatus,
            description: "A status value outside Completed/Canceled/Abandoned is answered 200 with the unchanged request instead of being refused.",
        },
        Fault {
            name: "refusal_changes_state",
            section: "6",
            judged: Judged::ByCheck("refusal_keeps_state"),
            applies: Applies::Everywhere,
            hook: Hook::AfterRefusal(hooks::store_refused_target),
            description: "A forbidden transition is refused with 500 but the requested state is stored anyway.",
        },
        Fault {
            name: "refusal_deletes_request",
            section: "6",
            judged: Judged::ByCheck("refusal_keeps_state"),
            applies: Applies::Everywhere,
            hook: Hook::DeleteOnRefusal,
            description: "A forbidden transition is refused with 500 but the request is deleted, so GET after answers 404.",
        },
        Fault {
            name: "final_state_reopened",
            section: "5",
            judged: Judged::ByCheck("status_code_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::Transition(hooks::reopen_final_states),
            description: "PUTs on Completed, Canceled, Denied or Failed requests are accepted with 200 and move the request out of its final state.",
        },
        Fault {
            name: "repeat_restamps",
            section: "7",
            judged: Judged::ByCheck("open_input_equivalence"),
            applies: Applies::Everywhere,
            hook: Hook::Transition(hooks::complete_again),
            description: "Completing a Completed request again succeeds and writes a new Completed timestamp, where a repeat may only be refused or change nothing.",
        },
        Fault {
            name: "abandoned_wrong_code",
            section: "5",
            judged: Judged::ByCheck("status_value"),
            applies: Applies::Everywhere,
            hook: Hook::Transition(hooks::abandon_to_canceled),
            description: "\"Abandoned\" moves the request to Canceled (17) instead of Failed (9).",
        },
        Fault {
            name: "unknown_id_200",
            section: "6",
            judged: Judged::ByCheck("status_code_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::FabricateUnknownIds,
            description: "A well-formed but unknown GUID is answered 200 with a made-up request instead of being refused.",
        },
        Fault {
            name: "unknown_id_get_500",
            section: "6",
            judged: Judged::ByCheck("status_code_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::FabricateUnknownPuts,
            description: "A GET of a well-formed but unknown GUID fails with 500, while a PUT to it answers 200 with a made-up request.",
        },
        Fault {
            name: "auth_lost_mid_run",
            section: "2",
            judged: Judged::ByRunExit(RUN_ERROR),
            applies: Applies::Everywhere,
            hook: Hook::AuthLostAfter(hooks::AUTH_LOST_AFTER),
            description: "After 40 requests with valid credentials the server answers every further one 401 with a challenge, as a broken authentication would; the run must error (exit 2), never pass those cases as refusals.",
        },
        Fault {
            name: "credentials_ignored",
            section: "2",
            judged: Judged::ByCheck("auth_required"),
            applies: Applies::Everywhere,
            hook: Hook::AdmitAll,
            description: "Requests without an Authorization header are processed as if they were authenticated.",
        },
        Fault {
            name: "stack_trace_500",
            section: "2",
            judged: Judged::ByCheck("no_stack_trace"),
            applies: Applies::Everywhere,
            hook: Hook::ErrorAnswer(hooks::trace_in_500),
            description: "500 answers carry the .NET exception type and stack trace, which must never reach the client.",
        },
        Fault {
            name: "error_page_trace",
            section: "2",
            judged: Judged::ByCheck("no_stack_trace"),
            applies: Applies::Everywhere,
            hook: Hook::ErrorAnswer(hooks::error_page_500),
            description: "500 answers are ASP.NET's error page (Server Error in '/CertificateManagement' Application.) with the exception and its stack frames.",
        },
        Fault {
            name: "race_loser_trace",
            section: "2",
            judged: Judged::ByCheck("no_stack_trace"),
            applies: Applies::Everywhere,
            hook: Hook::ErrorAnswer(hooks::trace_in_lost_race),
            description: "A PUT that loses a race to a concurrent one is answered 500 with a System.Data.SqlClient.SqlException stack trace.",
        },
        Fault {
            name: "truncated_json",
            section: "3",
            judged: Judged::ByCheck("response_schema_conformance"),
            applies: Applies::SuccessBody,
            hook: Hook::SuccessAnswer(hooks::cut_in_half),
            description: "A successful PUT's JSON body is cut in the middle, with a Content-Length that matches the cut body.",
        },
        Fault {
            name: "short_body",
            section: "2",
            judged: Judged::ByCheck("transport_error"),
            applies: Applies::SuccessBody,
            hook: Hook::SuccessAnswer(hooks::short_body),
            description: "A successful PUT declares a Content-Length larger than the bytes sent, then closes the connection.",
        },
        Fault {
            name: "slow_answer",
            section: "2",
            judged: Judged::ByCheck("transport_error"),
            applies: Applies::Everywhere,
            hook: Hook::SlowSuccess,
            description: "A successful PUT waits the configured slow delay before answering, past the harness's timeout.",
        },
        Fault {
            name: "stall_1_in_50",
            section: "2",
            judged: Judged::ByLoad,
            applies: Applies::Everywhere,
            hook: Hook::Stall,
            description: "One API request in 50 waits 300 ms before it is handled: every answer is conformant and in time, but the p99 latency is past 300 ms.",
        },
        Fault {
            name: "case_sensitive_path",
            section: "1",
            judged: Judged::ByCheck("status_code_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::ExactRouting,
            description: "Only the exact casing /CertificateManagement/api/v1.0/requests/ is routed, so the documented lower-case example gets 404.",
        },
        Fault {
            name: "extra_field",
            section: "4",
            judged: Judged::ByCheck("snapshot"),
            applies: Applies::Everywhere,
            hook: Hook::RequestJson {
                only: None,
                change: hooks::add_request_data,
            },
            description: "The Request object carries an undocumented extra field RequestData that the documented example does not have.",
        },
        Fault {
            name: "huge_body",
            section: "3",
            judged: Judged::ByCheck("transport_error"),
            applies: Applies::SuccessBody,
            hook: Hook::RequestJson {
                only: Some(AnswerKind::PutSuccess),
                change: hooks::huge_comment,
            },
            description: "A successful PUT answers a Request whose Comment makes the body larger than 9 MiB.",
        },
        Fault {
            name: "garbage_http",
            section: "2",
            judged: Judged::ByCheck("transport_error"),
            applies: Applies::Everywhere,
            hook: Hook::GarbageSuccess,
            description: "A successful PUT is answered with bytes that are not an HTTP response, then the connection closes.",
        },
        Fault {
            name: "no_lock",
            section: "5",
            judged: Judged::ByCheck("concurrent_single_winner"),
            applies: Applies::Everywhere,
            hook: Hook::RaceWindow(hooks::RACE_WINDOW),
            description: "A PUT reads the state, releases the store lock and writes later, so concurrent conflicting PUTs may all succeed.",
        },
        Fault {
            name: "error_as_html",
            section: "2",
            judged: Judged::ByCheck("content_type_conformance"),
            applies: Applies::Everywhere,
            hook: Hook::ErrorAnswer(hooks::html_4xx),
            description: "4xx error answers are text/html pages instead of application/json bodies.",
        },
        Fault {
            name: "chunked_body",
            section: "2",
            judged: Judged::ByCheck("content_length_conformance"),
            applies: Applies::SuccessBody,
            hook: Hook::SuccessAnswer(hooks::chunked),
            description: "A successful PUT answers with chunked transfer encoding and no Content-Length header.",
        },
    ];

    /// The snake_case name used on the command line, e.g. `success_201`.
    pub fn name(self) -> &'static str {
        self.name
    }

    pub fn from_name(name: &str) -> Option<Fault> {
        Self::ALL.iter().copied().find(|fault| fault.name == name)
    }

    /// One sentence: which rule the fault breaks, and how.
    pub fn description(self) -> &'static str {
        self.description
    }

    /// The CONTRACT.md section that states the broken rule.
    pub fn section(self) -> &'static str {
        self.section
    }

    /// How a self-test judges the fault.
    pub fn judged(self) -> Judged {
        self.judged
    }

    /// The harness check that must fail against this fault; for the others what judges them
    /// instead (the run's reason, or [`LOAD_GATE`]).
    pub fn intended_check(self) -> &'static str {
        match self.judged {
            Judged::ByCheck(check) | Judged::ByRunExit(check) => check,
            Judged::ByLoad => LOAD_GATE,
        }
    }

    /// What the self-test matrix says judges the fault.
    pub fn judged_by(self) -> String {
        match self.judged {
            Judged::ByCheck(check) => check.to_string(),
            Judged::ByRunExit(reason) => format!("the run's exit (2, '{reason}')"),
            Judged::ByLoad => LOAD_GATE.to_string(),
        }
    }

    /// The reason the run must error with, for a fault no check can judge.
    pub fn run_error(self) -> Option<&'static str> {
        match self.judged {
            Judged::ByRunExit(reason) => Some(reason),
            _ => None,
        }
    }

    /// Which answers the broken rule lives in.
    /// The profile a run must use to be asked to catch this fault.
    pub fn profile(self) -> crate::contract::profile::Profile {
        if STRICT_ONLY.contains(&self.name) {
            crate::contract::profile::Profile::Strict
        } else {
            crate::contract::profile::Profile::Documented
        }
    }

    /// Whether only `cmconform load` can judge the fault (its intended check is [`LOAD_GATE`]):
    /// the self-test does not run the suite against it.
    pub fn judged_by_load(self) -> bool {
        self.judged == Judged::ByLoad
    }

    pub fn applies(self) -> Applies {
        self.applies
    }

    /// Whether `dialect` has the answers the broken rule lives in, so the fault can be shown
    /// there.
    pub fn applies_in(self, dialect: &Dialect) -> bool {
        let shown = match self.applies {
            Applies::Everywhere => true,
            Applies::SuccessBody => dialect.has_success_body(),
        };
        // A strict-profile fault is judged where the conformant dialect itself meets the strict
        // profile: elsewhere the strict run fails on the dialect's faithful leniency too.
        shown && dialect.meets(self.profile())
    }

    /// The decision the fault changes.
    pub(super) fn hook(self) -> Hook {
        self.hook
    }
}

/// Faults are rows of one table with unique names (a test proves it), so the name is identity.
impl PartialEq for Fault {
    fn eq(&self, other: &Fault) -> bool {
        self.name == other.name
    }
}

impl Eq for Fault {}

impl std::hash::Hash for Fault {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The fault of that name, for unit tests (a typo there is a bug in the test).
#[cfg(test)]
pub(crate) fn named(name: &str) -> Fault {
    match Fault::from_name(name) {
        Some(fault) => fault,
        None => panic!("no fault named {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::Fault;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_snake_case_and_round_trip() {
        let mut seen = HashSet::new();
        for &fault in Fault::ALL {
            let name = fault.name();
            assert!(seen.insert(name), "duplicate name {name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name} is not snake_case"
            );
            assert_eq!(Fault::from_name(name), Some(fault));
        }
        assert_eq!(Fault::from_name("no-such-fault"), None);
        assert!(
            Fault::ALL.len() >= 20,
            "the issue asks for at least 20 faults"
        );
    }

    #[test]
    fn every_fault_is_documented_against_a_real_check_and_section() {
        for &fault in Fault::ALL {
            assert!(
                crate::checks::find(fault.intended_check()).is_some()
                    || fault.run_error().is_some()
                    || (fault.judged_by_load() && fault.intended_check() == super::LOAD_GATE),
                "{fault}"
            );
            assert!(
                ["1", "2", "3", "4", "5", "6", "7"].contains(&fault.section()),
                "{fault}"
            );
            assert!(fault.description().ends_with('.'), "{fault}");
        }
    }
}
