//! `concurrent_single_winner`: conflicting PUTs on one request must serialize (section 5: a
//! request leaves Approved once, for one final state). Several successes are fine only when they
//! all asked for the winner's status and show one and the same result: the later ones are then
//! idempotent repeats of a PUT that already took effect (section 7).

use super::by_value::same_value;
use super::{CheckContext, Subject, Verdict, is_success};
use crate::client::Exchange;
use crate::contract::lifecycle::TargetStatus;
use crate::exec::RaceRound;

pub fn concurrent_single_winner(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let Subject::Race(rounds) = subject else {
        return None;
    };
    let problems: Vec<String> = rounds
        .iter()
        .enumerate()
        .filter_map(|(index, round)| {
            round_problem(round)
                .map(|problem| format!("round {}: {problem}", crate::step_number::shown(index)))
        })
        .collect();
    Some(Verdict::from_problems(
        problems,
        "conflicting concurrent PUTs were not serialized",
        "one winner; the others refused or idempotent repeats of the winner's PUT; GET shows the winner's Status",
    ))
}

fn round_problem(round: &RaceRound) -> Option<String> {
    let successes: Vec<&(TargetStatus, Exchange)> = round
        .attempts
        .iter()
        .filter(|(_, exchange)| exchange.ok().is_some_and(|r| is_success(r.status)))
        .collect();
    let winner = successes.first().map(|(target, _)| target);
    let one_target = successes.iter().all(|(target, _)| Some(target) == winner);
    let Some(winner) = winner.filter(|_| one_target && same_results(&successes)) else {
        let names: Vec<&str> = successes.iter().map(|(t, _)| t.wire()).collect();
        return Some(format!(
            "{} of {} PUTs succeeded ({}){}",
            successes.len(),
            round.attempts.len(),
            names.join(", "),
            if one_target {
                " with different results"
            } else {
                ""
            }
        ));
    };
    let expected = crate::contract::lifecycle::transition(
        crate::contract::lifecycle::RequestState::Approved,
        *winner,
    )?
    .code();
    let status = round
        .after
        .ok()
        .and_then(|r| r.json())
        .and_then(|body| body.get("Status").and_then(|s| s.as_i64()));
    (status != Some(expected)).then(|| {
        format!(
            "winner asked {} (Status {expected}) but GET shows {}",
            winner.wire(),
            shown_status(status)
        )
    })
}

/// The Status a GET showed, in words: never Rust's `Some(8)` or `None`.
fn shown_status(status: Option<i64>) -> String {
    status.map_or_else(
        || "no integer Status".to_string(),
        |code| format!("Status {code}"),
    )
}

/// Whether every success that answered with a Request shows the same Status and Completed: a
/// repeat that re-stamps Completed is a second effect, not an idempotent answer.
fn same_results(successes: &[&(TargetStatus, Exchange)]) -> bool {
    let results: Vec<serde_json::Value> = successes
        .iter()
        .filter_map(|(_, exchange)| exchange.ok()?.json().cloned())
        .collect();
    results.windows(2).all(|pair| {
        ["Status", "Completed"].iter().all(|field| {
            match (pair[0].get(*field), pair[1].get(*field)) {
                (Some(a), Some(b)) => same_value(a, b),
                (a, b) => a == b,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{class, json_answer, run_on};
    use serde_json::json;

    fn put(target: TargetStatus, status: u16, completed: &str) -> (TargetStatus, Exchange) {
        let code = match target {
            TargetStatus::Completed => 8,
            TargetStatus::Canceled => 17,
            TargetStatus::Abandoned => 9,
        };
        let body = if status == 200 {
            json!({"Status": code, "Completed": completed})
        } else {
            json!({"Message": "refused"})
        };
        (target, json_answer(status, &body))
    }

    fn round(attempts: Vec<(TargetStatus, Exchange)>, after_status: i64) -> RaceRound {
        RaceRound {
            id: "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099".into(),
            before: json_answer(200, &json!({"Status": 3})),
            attempts,
            after: json_answer(200, &json!({"Status": after_status})),
        }
    }

    #[test]
    fn one_winner_and_idempotent_repeats_of_it_pass() {
        use TargetStatus::{Canceled, Completed};
        let at = "2026-11-29T10:00:00.1Z";
        let table = [
            (
                vec![put(Completed, 200, at), put(Canceled, 403, "")],
                8,
                "pass",
            ),
            // Section 7: a repeat of the winner's PUT may succeed if it changes nothing.
            (
                vec![
                    put(Completed, 200, at),
                    put(Completed, 200, "2026-11-29T10:00:00.1000000Z"),
                    put(Canceled, 500, ""),
                ],
                8,
                "pass",
            ),
            (
                vec![
                    put(Completed, 200, at),
                    put(Completed, 200, "2026-11-29T10:00:01Z"),
                ],
                8,
                "fail",
            ),
            (
                vec![put(Completed, 200, at), put(Canceled, 200, "")],
                17,
                "fail",
            ),
            (
                vec![put(Completed, 403, ""), put(Canceled, 403, "")],
                3,
                "fail",
            ),
            (vec![put(Canceled, 200, "")], 8, "fail"),
        ];
        for (attempts, after, expected) in table {
            let rounds = [round(attempts, after)];
            let verdict = run_on(concurrent_single_winner, &Subject::Race(&rounds));
            assert_eq!(class(&verdict), expected, "{verdict:?}");
        }
    }

    /// Race answers go through the per-response checks like any other answer (issue #10
    /// item 5): a loser's stack trace, an HTML or unframed body, a winner that is not a
    /// Request, a loser with a code no refusal may use.
    #[test]
    fn race_answers_are_judged_by_the_per_response_checks() {
        use crate::checks::testing::answer;
        use TargetStatus::{Canceled, Completed};
        let at = "2026-11-29T10:00:00.1Z";
        let trace = r#"{"Message":"x","StackTrace":"System.Data.SqlClient.SqlException: deadlocked\r\n   at Microsoft.Clm.Data.RequestStore.UpdateStatus(Guid requestUuid)"}"#;
        let json = [
            ("Content-Type", "application/json"),
            ("Content-Length", "1"),
        ];
        let html = [("Content-Type", "text/html"), ("Content-Length", "1")];
        let table: [(&str, (TargetStatus, Exchange), &str); 7] = [
            (
                "no_stack_trace",
                (Canceled, answer(500, &json, trace)),
                "fail",
            ),
            ("no_stack_trace", put(Canceled, 500, ""), "warn"),
            (
                "content_type_conformance",
                (Canceled, answer(500, &html, "<p>")),
                "fail",
            ),
            (
                "content_length_conformance",
                (Canceled, answer(500, &[], "{}")),
                "fail",
            ),
            (
                "status_code_conformance",
                (Canceled, answer(302, &json, "")),
                "fail",
            ),
            ("status_code_conformance", put(Canceled, 409, ""), "warn"),
            ("status_code_conformance", put(Canceled, 403, ""), "pass"),
        ];
        for (check, loser, expected) in table {
            let rounds = [round(vec![put(Completed, 200, at), loser], 8)];
            let Some(check_fn) = crate::checks::find(check) else {
                panic!("no check {check}");
            };
            let verdict = run_on(check_fn.run, &Subject::Race(&rounds));
            assert_eq!(class(&verdict), expected, "{check}: {verdict:?}");
        }
    }

    #[test]
    fn a_wrong_status_after_the_race_is_named_in_words() {
        let at = "2026-11-29T10:00:00.1Z";
        let winner = || vec![put(TargetStatus::Completed, 200, at)];
        let mut missing = round(winner(), 8);
        missing.after = json_answer(200, &json!({"Status": "8"}));
        for (round, expected) in [
            (round(winner(), 17), "but GET shows Status 17"),
            (missing, "but GET shows no integer Status"),
        ] {
            let problem = round_problem(&round).unwrap_or_default();
            assert!(problem.ends_with(expected), "{problem}");
            assert!(
                !problem.contains("None") && !problem.contains("Some("),
                "{problem}"
            );
        }
    }
}
