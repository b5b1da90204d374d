//! The fault catalogue: every way the reference server can be told to break exactly one rule of
//! CONTRACT.md, with the section of the rule and the harness check that must catch it.
//!
//! This file is the list and its documentation only; what each fault changes lives in
//! `behaviour.rs`, one small hook per kind of change, so a fault is never an `if` scattered
//! through the handlers.

/// One deliberate deviation from the contract. Each variant breaks one rule and keeps
/// everything else conformant, so a harness run against it should fail exactly the check named
/// by [`Fault::intended_check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A successful PUT answers 201 Created instead of 200 (section 1 documents 200 and 204).
    Success201,
    /// A successful PUT answers `Content-Type: text/plain` although the body is JSON.
    TextContentType,
    /// The Request object (PUT and GET) lacks the `Flags` field.
    MissingField,
    /// The Request object's keys are camelCase (`uuid`, `requestType`, ...) instead of PascalCase.
    CamelCaseKeys,
    /// A completed request is reported with Status 7 instead of 8.
    WrongStatusCode,
    /// `Status` is serialized as a JSON string (`"8"`) instead of an integer.
    StatusAsString,
    /// `IsSmartcard` is serialized as the string `"true"`/`"false"`.
    BooleanAsString,
    /// `DataCollection` is serialized as `null` instead of an array.
    NullArray,
    /// The PUT answer's `Uuid` is a GUID other than the one in the path.
    UuidMismatch,
    /// Completing a request leaves `Completed` at `0001-01-01T00:00:00`.
    CompletedNotSet,
    /// Completing a request writes `Completed` in a US locale format (`11/28/2026 3:01:02 AM`).
    CompletedNotIso,
    /// A successful PUT also changes (and stores) `RequestType`, which must never change.
    ImmutableChanged,
    /// A successful PUT answers the new state but does not store it: GET shows the old state.
    NotPersisted,
    /// A `status` outside the three documented values is answered 200 with the unchanged request.
    InvalidStatusAccepted,
    /// A forbidden transition is refused with 500, yet the requested state is stored anyway.
    RefusalChangesState,
    /// PUTs on requests in a final state are accepted and move the request out of it.
    FinalStateReopened,
    /// `"Abandoned"` moves the request to Canceled (17) instead of Failed (9).
    AbandonedWrongCode,
    /// A well-formed but unknown GUID is answered 200 with a made-up request.
    UnknownId200,
    /// Requests without `Authorization` are processed as if they were authenticated.
    CredentialsIgnored,
    /// 500 bodies carry a .NET exception dump with its stack trace.
    StackTrace500,
    /// A successful PUT's JSON body is cut in the middle (Content-Length matches the cut body).
    TruncatedJson,
    /// A successful PUT declares a Content-Length larger than the body, then closes the connection.
    ShortBody,
    /// A successful PUT waits `slow_delay` before answering.
    SlowAnswer,
    /// Only the exact documented path casing is routed; the documented lower-case example gets 404.
    CaseSensitivePath,
    /// The Request object carries an undocumented extra field `RequestData`.
    ExtraField,
    /// A successful PUT answers a Request with a Comment of more than 9 MiB.
    HugeBody,
    /// A successful PUT is answered with bytes that are not HTTP, then the connection closes.
    GarbageHttp,
    /// A PUT reads the state, releases the lock and writes later: concurrent PUTs may all succeed.
    NoLock,
    /// 4xx error bodies are HTML pages (`text/html`) instead of JSON.
    ErrorAsHtml,
    /// A successful PUT answers with chunked transfer encoding and no `Content-Length`.
    ChunkedBody,
}

/// The documentation of one fault: one row of the catalogue.
struct Entry {
    name: &'static str,
    section: &'static str,
    check: &'static str,
    description: &'static str,
}

impl Fault {
    pub const ALL: &'static [Fault] = &[
        Fault::Success201,
        Fault::TextContentType,
        Fault::MissingField,
        Fault::CamelCaseKeys,
        Fault::WrongStatusCode,
        Fault::StatusAsString,
        Fault::BooleanAsString,
        Fault::NullArray,
        Fault::UuidMismatch,
        Fault::CompletedNotSet,
        Fault::CompletedNotIso,
        Fault::ImmutableChanged,
        Fault::NotPersisted,
        Fault::InvalidStatusAccepted,
        Fault::RefusalChangesState,
        Fault::FinalStateReopened,
        Fault::AbandonedWrongCode,
        Fault::UnknownId200,
        Fault::CredentialsIgnored,
        Fault::StackTrace500,
        Fault::TruncatedJson,
        Fault::ShortBody,
        Fault::SlowAnswer,
        Fault::CaseSensitivePath,
        Fault::ExtraField,
        Fault::HugeBody,
        Fault::GarbageHttp,
        Fault::NoLock,
        Fault::ErrorAsHtml,
        Fault::ChunkedBody,
    ];

    /// The snake_case name used on the command line, e.g. `success_201`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    pub fn from_name(name: &str) -> Option<Fault> {
        Self::ALL.iter().copied().find(|fault| fault.name() == name)
    }

    /// One sentence: which rule the fault breaks, and how.
    pub fn description(self) -> &'static str {
        self.entry().description
    }

    /// The CONTRACT.md section that states the broken rule.
    pub fn section(self) -> &'static str {
        self.entry().section
    }

    /// The harness check that must fail against this fault.
    pub fn intended_check(self) -> &'static str {
        self.entry().check
    }

    fn entry(self) -> Entry {
        let row = |name, section, check, description| Entry {
            name,
            section,
            check,
            description,
        };
        match self {
            Fault::Success201 => row(
                "success_201",
                "1",
                "status_code_conformance",
                "A successful PUT answers 201 Created, a code the operation does not document (200 or 204).",
            ),
            Fault::TextContentType => row(
                "text_content_type",
                "2",
                "content_type_conformance",
                "A successful PUT answers with Content-Type text/plain although responses are always application/json.",
            ),
            Fault::MissingField => row(
                "missing_field",
                "3",
                "response_schema_conformance",
                "The Request object of PUT and GET answers lacks the required Flags field.",
            ),
            Fault::CamelCaseKeys => row(
                "camel_case_keys",
                "3",
                "response_schema_conformance",
                "The Request object's keys are camelCase (uuid, requestType, ...) instead of the documented PascalCase.",
            ),
            Fault::WrongStatusCode => row(
                "wrong_status_code",
                "5",
                "status_value",
                "A completed request is stored and reported with Status 7 instead of the documented 8.",
            ),
            Fault::StatusAsString => row(
                "status_as_string",
                "6",
                "status_value",
                "Status is serialized as a JSON string (\"8\") instead of an integer in PUT and GET answers.",
            ),
            Fault::BooleanAsString => row(
                "boolean_as_string",
                "6",
                "response_schema_conformance",
                "IsSmartcard is serialized as the string \"true\" or \"false\" instead of a JSON boolean.",
            ),
            Fault::NullArray => row(
                "null_array",
                "3",
                "response_schema_conformance",
                "DataCollection is serialized as null instead of a (possibly empty) array.",
            ),
            Fault::UuidMismatch => row(
                "uuid_mismatch",
                "3",
                "uuid_matches_path",
                "The Uuid of a successful PUT's answer is a random GUID instead of the {id} of the URL.",
            ),
            Fault::CompletedNotSet => row(
                "completed_not_set",
                "5",
                "completed_timestamp",
                "Completing a request leaves Completed at 0001-01-01T00:00:00 instead of a real timestamp.",
            ),
            Fault::CompletedNotIso => row(
                "completed_not_iso",
                "3",
                "completed_timestamp",
                "Completing a request writes Completed in a US locale format (11/28/2026 3:01:02 AM) instead of an ISO timestamp.",
            ),
            Fault::ImmutableChanged => row(
                "immutable_changed",
                "5",
                "immutable_fields",
                "A successful PUT also changes and stores RequestType, a field a PUT must never change.",
            ),
            Fault::NotPersisted => row(
                "not_persisted",
                "6",
                "state_persisted",
                "A successful PUT answers 200 with the new state but does not store it, so GET shows the old state.",
            ),
            Fault::InvalidStatusAccepted => row(
                "invalid_status_accepted",
                "6",
                "status_code_conformance",
                "A status value outside Completed/Canceled/Abandoned is answered 200 with the unchanged request instead of being refused.",
            ),
            Fault::RefusalChangesState => row(
                "refusal_changes_state",
                "6",
                "refusal_keeps_state",
                "A forbidden transition is refused with 500 but the requested state is stored anyway.",
            ),
            Fault::FinalStateReopened => row(
                "final_state_reopened",
                "5",
                "status_code_conformance",
                "PUTs on Completed, Canceled, Denied or Failed requests are accepted with 200 and move the request out of its final state.",
            ),
            Fault::AbandonedWrongCode => row(
                "abandoned_wrong_code",
                "5",
                "status_value",
                "\"Abandoned\" moves the request to Canceled (17) instead of Failed (9).",
            ),
            Fault::UnknownId200 => row(
                "unknown_id_200",
                "6",
                "status_code_conformance",
                "A well-formed but unknown GUID is answered 200 with a made-up request instead of being refused.",
            ),
            Fault::CredentialsIgnored => row(
                "credentials_ignored",
                "2",
                "auth_required",
                "Requests without an Authorization header are processed as if they were authenticated.",
            ),
            Fault::StackTrace500 => row(
                "stack_trace_500",
                "2",
                "no_stack_trace",
                "500 answers carry the .NET exception type and stack trace, which must never reach the client.",
            ),
            Fault::TruncatedJson => row(
                "truncated_json",
                "3",
                "response_schema_conformance",
                "A successful PUT's JSON body is cut in the middle, with a Content-Length that matches the cut body.",
            ),
            Fault::ShortBody => row(
                "short_body",
                "2",
                "transport_error",
                "A successful PUT declares a Content-Length larger than the bytes sent, then closes the connection.",
            ),
            Fault::SlowAnswer => row(
                "slow_answer",
                "2",
                "transport_error",
                "A successful PUT waits the configured slow delay before answering, past the harness's timeout.",
            ),
            Fault::CaseSensitivePath => row(
                "case_sensitive_path",
                "1",
                "status_code_conformance",
                "Only the exact casing /CertificateManagement/api/v1.0/requests/ is routed, so the documented lower-case example gets 404.",
            ),
            Fault::ExtraField => row(
                "extra_field",
                "4",
                "snapshot",
                "The Request object carries an undocumented extra field RequestData that the documented example does not have.",
            ),
            Fault::HugeBody => row(
                "huge_body",
                "3",
                "transport_error",
                "A successful PUT answers a Request whose Comment makes the body larger than 9 MiB.",
            ),
            Fault::GarbageHttp => row(
                "garbage_http",
                "2",
                "transport_error",
                "A successful PUT is answered with bytes that are not an HTTP response, then the connection closes.",
            ),
            Fault::NoLock => row(
                "no_lock",
                "5",
                "concurrent_single_winner",
                "A PUT reads the state, releases the store lock and writes later, so concurrent conflicting PUTs may all succeed.",
            ),
            Fault::ErrorAsHtml => row(
                "error_as_html",
                "2",
                "content_type_conformance",
                "4xx error answers are text/html pages instead of application/json bodies.",
            ),
            Fault::ChunkedBody => row(
                "chunked_body",
                "2",
                "content_length_conformance",
                "A successful PUT answers with chunked transfer encoding and no Content-Length header.",
            ),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
                crate::checks::find(fault.intended_check()).is_some(),
                "{fault}"
            );
            assert!(
                ["1", "2", "3", "4", "5", "6"].contains(&fault.section()),
                "{fault}"
            );
            assert!(fault.description().ends_with('.'), "{fault}");
        }
    }
}
