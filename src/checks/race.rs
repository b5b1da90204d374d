//! `concurrent_single_winner`: conflicting PUTs on one request must serialize (section 5: a
//! request leaves Approved once, for one final state).

use super::{CheckContext, Subject, Verdict, is_success};
use crate::exec::RaceRound;

pub fn concurrent_single_winner(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let Subject::Race(rounds) = subject else {
        return None;
    };
    let problems: Vec<String> = rounds
        .iter()
        .enumerate()
        .filter_map(|(index, round)| {
            round_problem(round).map(|problem| format!("round {index}: {problem}"))
        })
        .collect();
    Some(Verdict::from_problems(
        problems,
        "conflicting concurrent PUTs were not serialized",
        "exactly one success; the others refused; GET shows the winner's Status",
    ))
}

fn round_problem(round: &RaceRound) -> Option<String> {
    let winners: Vec<_> = round
        .attempts
        .iter()
        .filter(|(_, exchange)| exchange.ok().is_some_and(|r| is_success(r.status)))
        .map(|(target, _)| *target)
        .collect();
    let [winner] = winners.as_slice() else {
        let names: Vec<&str> = winners.iter().map(|t| t.wire()).collect();
        return Some(format!(
            "{} of {} PUTs succeeded ({})",
            winners.len(),
            round.attempts.len(),
            names.join(", ")
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
            "winner asked {} but GET shows Status {status:?}",
            winner.wire()
        )
    })
}
