//! `no_stack_trace` (section 2): an unhandled exception becomes a 500 that carries a correlation
//! ID, and its stack trace never reaches the client. Every answer of the subject is read, race
//! answers included.

use super::{CheckContext, Subject, Verdict};
use crate::client::Exchange;
use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What gives an exception dump away: .NET's `Exception.ToString()` frames (`   at N.T.M(...)`),
/// `System.*Exception` type names, the inner-exception separators, a `StackTrace` member, and
/// ASP.NET's error page: its "Server Error in '/' Application." title, its
/// `[ClmException: message]` header, and its frames, which end in an IL offset
/// (`N.T.M(...) +123`) instead of starting with "at".
static STACK_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?m)(^|\\r\\n|\\n)\s*at [\w.`<>\[\]+]+\(.*?\)",
        r"|System\.[\w.]*Exception\b",
        r"|--- End of (inner exception )?stack trace",
        r#"|"StackTrace"\s*:"#,
        r"|Server Error in '[^'\n]*' Application",
        r"|\[\w*Exception: ",
        r"|(^|\\r\\n|\\n)\s*[\w`<>\[\]]+(\.[\w`<>\[\]]+)+\([^)\n]*\)\s*\+\d+\s*($|\\r\\n|\\n)",
    ))
    .expect("constant pattern compiles")
});

/// Whether `text` has what every alternative of [`STACK_FRAME`] needs: the literal of its own, or
/// for the frame forms `(` with `at ` or with the `+` of an IL offset. Most answers have none,
/// and then the pattern (whose Unicode classes cost milliseconds to compile, at every start of
/// the harness) is neither built nor run. A necessary condition only: the pattern still decides.
fn may_hold_a_trace(text: &str) -> bool {
    const LITERALS: [&str; 4] = [
        "Exception",
        "--- End of ",
        "\"StackTrace\"",
        "Server Error in '",
    ];
    LITERALS.iter().any(|literal| text.contains(literal))
        || (text.contains('(') && (text.contains("at ") || text.contains('+')))
}

/// Ids a 500 body may carry: GUIDs anywhere, and the value named as a correlation ID.
static IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        r"|correlation[\s_-]*id\W{0,4}([0-9a-z][0-9a-z-]{3,})",
    ))
    .expect("constant pattern compiles")
});

/// No answer leaks a stack trace; a 500 should carry a correlation ID that is not an id of the
/// request itself (warning otherwise, and for a 500 with no body at all).
pub fn no_stack_trace(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let (mut traces, mut uncorrelated) = (Vec::new(), Vec::new());
    for (label, exchange) in subject.exchanges() {
        let Some(response) = exchange.ok() else {
            continue;
        };
        // Borrowed unless the body is not UTF-8: every answer is read here.
        let text = std::str::from_utf8(&response.body)
            .map_or_else(|_| String::from_utf8_lossy(&response.body), Cow::Borrowed);
        if let Some(found) = may_hold_a_trace(&text)
            .then(|| STACK_FRAME.find(&text))
            .flatten()
        {
            let found = found.as_str().trim();
            traces.push(format!("{label} ({}): {found:?}", response.status));
        }
        if response.status != 500 {
            continue;
        }
        if text.is_empty() {
            uncorrelated.push(format!("{label} (empty body)"));
        } else if !has_own_correlation(&text, exchange) {
            uncorrelated.push(label.into_owned());
        }
    }
    if !traces.is_empty() {
        return Some(Verdict::fail(
            "a response leaks a stack trace",
            "no stack trace or exception dump",
            traces.join("; "),
        ));
    }
    if !uncorrelated.is_empty() {
        return Some(Verdict::warn(format!(
            "500 without a correlation ID of its own (an id the request carried does not \
             count): {}",
            uncorrelated.join(", ")
        )));
    }
    Some(Verdict::Pass)
}

/// Whether the body names an id the request did not carry (in its URL or body, in any
/// spelling): echoing the request's own id correlates nothing.
fn has_own_correlation(text: &str, exchange: &Exchange) -> bool {
    let url = percent_encoding::percent_decode_str(&exchange.request.url).decode_utf8_lossy();
    let carried = normalized(&format!(
        "{url} {}",
        String::from_utf8_lossy(&exchange.request.body)
    ));
    IDS.captures_iter(text).any(|found| {
        let id = found.get(1).or_else(|| found.get(0));
        id.is_some_and(|id| !carried.contains(&normalized(id.as_str())))
    })
}

/// Lower case, without the dashes and braces that vary between spellings of one GUID.
fn normalized(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | '{' | '}'))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{STACK_FRAME, may_hold_a_trace};
    use crate::checks::testing::{answer, case, class, evidence, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::refusal;

    /// The id of the request `testing::answer` sends.
    const OWN: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";

    const YSOD: &str = "<html><head><title>Request not found</title></head><body>\r\n<span><H1>Server Error in '/CertificateManagement' Application.<hr></H1>\r\n<h2> <i>Request not found</i> </h2></span>\r\n<b> Exception Details: </b>Microsoft.Clm.Shared.ClmException: Request not found<br><br>\r\n<b>Stack Trace:</b> <br><br>\r\n<pre>\r\n[ClmException: Request not found]\r\n   Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid) +412\r\n   Microsoft.Clm.Rest.Controllers.RequestsController.Put(Guid id, RequestStatusUpdate update) +98\r\n</pre></body></html>";

    const IIS_401: &str = "<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head><body><div id=\"header\"><h1>Server Error</h1></div><div id=\"content\"><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2><h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3></div></body></html>";

    #[test]
    fn traces_in_every_dotnet_format_fail_and_correlation_must_be_the_servers_own() {
        let correlated = r#"{"Message":"An error has occurred. Correlation ID: 5d0c8f0e-0c5e-4a8e-9d1e-6f1c2b3a4d5e"}"#;
        let echoed = format!(r#"{{"Message":"An error has occurred. Correlation ID: {OWN}"}}"#);
        let echoed_upper = format!(r#"{{"Message":"Request {} failed"}}"#, OWN.to_uppercase());
        let named = r#"{"Message":"An error has occurred.","CorrelationId":"7f3a99"}"#;
        let dotnet = r#"{"Message":"x","StackTrace":"   at Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid)"}"#;
        let offsets = "Request not found\r\n   Microsoft.Clm.Provision.ExecuteOperations.Complete(Guid requestUuid) +412\r\n";
        let header_only = "[ClmException: Request not found]";
        let title_only = "<h1>Server Error in '/' Application.</h1>";
        let table: [(u16, &str, &str); 12] = [
            (500, correlated, "pass"),
            (500, &echoed, "warn"),
            (500, &echoed_upper, "warn"),
            (500, named, "pass"),
            (500, "", "warn"),
            (500, r#"{"Message":"An error has occurred."}"#, "warn"),
            (500, dotnet, "fail"),
            (500, YSOD, "fail"),
            (500, offsets, "fail"),
            (500, header_only, "fail"),
            (500, title_only, "fail"),
            (401, IIS_401, "pass"),
        ];
        for (status, body, expected) in table {
            let exchange = answer(status, &[("Content-Type", "application/json")], body);
            let case = case(RequestState::Approved, refusal(), StepKind::Reading);
            let step = evidence(None, exchange, None);
            let verdict = verdict_of("no_stack_trace", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{status} {body}: {verdict:?}");
        }
    }

    /// The prefilter never hides a trace: over every sample here and many strings built from
    /// the pieces traces are made of, a match of the pattern implies the prefilter's yes.
    #[test]
    fn the_prefilter_lets_every_trace_through() {
        const PIECES: [&str; 24] = [
            "   at ",
            "at ",
            "N.T",
            ".M",
            "(Guid id)",
            "(",
            ")",
            " +412",
            "+",
            "\\r\\n",
            "\n",
            "\r\n",
            "System.",
            "IO.",
            "Exception",
            "Exception: ",
            "[",
            "]",
            "--- End of ",
            "inner exception ",
            "stack trace",
            "\"StackTrace\" :",
            "Server Error in '/' Application",
            "{\"Status\":3,\"SecurityDescriptor\":\"O:D:(A;;RC;;;WD)\"}",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) as usize % bound
        };
        let (mut matched, mut skipped) = (0, 0);
        for _ in 0..20_000 {
            let text: String = (0..1 + next(8))
                .map(|_| PIECES[next(PIECES.len())])
                .collect();
            if STACK_FRAME.is_match(&text) {
                matched += 1;
                assert!(
                    may_hold_a_trace(&text),
                    "the prefilter hid a trace: {text:?}"
                );
            } else if !may_hold_a_trace(&text) {
                skipped += 1;
            }
        }
        assert!(
            matched > 1000 && skipped > 1000,
            "{matched} traces, {skipped} skipped"
        );
        let strict_answer = r#"{"Uuid":"fe29114f-f71a-47f4-9cc3-49b55204c859","Status":3,"SecurityDescriptor":"O:S-1-5-21D:(A;;RC;;;WD)","Submitted":"2026-11-06T18:55:19.699655Z"}"#;
        assert!(!may_hold_a_trace(strict_answer));
    }
}
