//! `completed_timestamp`: after completion, Completed is a real completion time (CONTRACT.md
//! section 5), and the PUT answer and GET after show the same one.

use super::{CheckContext, Subject, Verdict, step};
use crate::client::ReceivedResponse;
use crate::contract::fixture::Outcome;
use crate::contract::timestamp::Timestamp;
use serde_json::Value;

/// After completion: Completed is a real ISO 8601 timestamp, not year 1, not before Submitted,
/// not after the answer's time (its `Date` header, else now) by more than [`CLOCK_SLACK`]; and
/// the PUT answer's Completed is the one GET shows after.
pub fn completed_timestamp(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let view = step(subject)?;
    if view.expect.outcome != Outcome::Success || view.expect.status_value != Some(8) {
        return None;
    }
    let mut sources: Vec<(&str, &ReceivedResponse)> = Vec::new();
    if let Some(response) = view.response().filter(|r| r.status == 200) {
        sources.push(("PUT answer", response));
    }
    if let Some(after) = view.after().filter(|r| r.status == 200) {
        sources.push(("GET after", after));
    }
    if sources.is_empty() {
        return None;
    }
    let now = chrono::Utc::now();
    let mut problems: Vec<String> = sources
        .iter()
        .filter_map(|(label, response)| {
            completion_problem(response, now).map(|problem| format!("{label}: {problem}"))
        })
        .collect();
    problems.extend(completed_mismatch(&sources));
    Some(Verdict::from_problems(
        problems,
        "Completed is not a real completion time",
        "an ISO 8601 timestamp, not 0001-01-01T00:00:00, between Submitted and the answer's Date \
         (+5 minutes), the same in the PUT answer and in GET after",
    ))
}

/// How far a Completed may lie past the answer's time: clocks of one deployment drift a little.
const CLOCK_SLACK: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// A zoneless Completed is a wall-clock time in an unnamed zone, at most 14 hours ahead of UTC.
const LARGEST_ZONE_OFFSET: chrono::TimeDelta = chrono::TimeDelta::hours(14);

fn completion_problem(
    response: &ReceivedResponse,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let Some(body) = response.json() else {
        return Some("body is not JSON".into());
    };
    let completed = body.get("Completed").and_then(Value::as_str);
    let Some(text) = completed else {
        return Some(format!(
            "Completed is {}",
            body.get("Completed")
                .map_or("missing".into(), Value::to_string)
        ));
    };
    let Some(completed) = Timestamp::parse(text) else {
        return Some(format!("Completed {text:?} is not ISO 8601"));
    };
    if completed.year() <= 1 {
        return Some(format!("Completed {text:?} means not completed"));
    }
    let answered = answer_time(response).unwrap_or(now);
    if is_after(&completed, answered + CLOCK_SLACK) {
        return Some(format!(
            "Completed {text} is later than the answer's time {} + 5 minutes",
            answered.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    let submitted = body
        .get("Submitted")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse);
    // A zoned and a zoneless value cannot be ordered without assuming a zone: no verdict then.
    let order = submitted.and_then(|submitted| completed.compare(&submitted));
    (order == Some(std::cmp::Ordering::Less))
        .then(|| format!("Completed {text} is earlier than Submitted"))
}

/// The answer's `Date` header (RFC 9110 IMF-fixdate), when it has a readable one.
fn answer_time(response: &ReceivedResponse) -> Option<chrono::DateTime<chrono::Utc>> {
    let date = chrono::DateTime::parse_from_rfc2822(response.header("date")?).ok()?;
    Some(date.with_timezone(&chrono::Utc))
}

/// Whether `completed` lies after `bound`; a zoneless value only when it does in every zone.
fn is_after(completed: &Timestamp, bound: chrono::DateTime<chrono::Utc>) -> bool {
    match completed {
        Timestamp::Zoned(at) => *at > bound,
        Timestamp::Zoneless(wall) => *wall > (bound + LARGEST_ZONE_OFFSET).naive_utc(),
    }
}

/// The PUT answer and GET after must show one Completed: the answer reports what was stored.
fn completed_mismatch(sources: &[(&str, &ReceivedResponse)]) -> Option<String> {
    let completed = |response: &ReceivedResponse| {
        response
            .json()?
            .get("Completed")?
            .as_str()
            .map(str::to_string)
    };
    let [(_, answer), (_, after)] = sources else {
        return None;
    };
    let (answer, after) = (completed(answer)?, completed(after)?);
    let same = Timestamp::same_text_value(&answer, &after).unwrap_or(answer == after);
    (!same).then(|| format!("the PUT answer says Completed {answer} but GET after shows {after}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(submitted: &str, completed: &str) -> ReceivedResponse {
        dated(submitted, completed, None)
    }

    fn dated(submitted: &str, completed: &str, date: Option<&str>) -> ReceivedResponse {
        let body = serde_json::json!({ "Submitted": submitted, "Completed": completed });
        let headers = date
            .map(|date| vec![("Date".to_string(), date.to_string())])
            .unwrap_or_default();
        ReceivedResponse::new(200, headers, body.to_string().into_bytes())
    }

    fn completion_problem(response: &ReceivedResponse) -> Option<String> {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .map(|now| now.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        super::completion_problem(response, now)
    }

    #[test]
    fn completion_lies_before_the_answer_time_plus_five_minutes() {
        let submitted = "2026-11-29T11:00:00Z";
        let date = Some("Sun, 29 Nov 2026 12:00:00 GMT");
        let table = [
            ("2026-11-29T12:04:59Z", None, None),
            ("2026-11-29T12:05:01Z", None, Some("later than")),
            ("9999-12-31T23:59:59.9999999Z", None, Some("later than")),
            ("9999-12-31T23:59:59.9999999", None, Some("later than")),
            // A zoneless value may be local time up to 14 hours ahead of UTC.
            ("2026-11-30T01:00:00", None, None),
            ("2026-11-29T12:04:00Z", date, None),
            ("2026-11-29T12:06:00Z", date, Some("later than")),
            // The answer's own Date wins over the local clock (a server an hour ahead).
            (
                "2026-11-29T13:01:00Z",
                Some("Sun, 29 Nov 2026 13:00:00 GMT"),
                None,
            ),
        ];
        for (completed, date, expected) in table {
            let problem = completion_problem(&dated(submitted, completed, date));
            match expected {
                None => assert_eq!(problem, None, "{completed} {date:?}"),
                Some(text) => assert!(
                    problem.as_deref().is_some_and(|p| p.contains(text)),
                    "{completed} {date:?}: {problem:?}"
                ),
            }
        }
    }

    #[test]
    fn the_put_answer_and_get_after_show_one_completed() {
        let submitted = "2026-11-29T11:00:00Z";
        let table = [
            (
                "2026-11-29T11:30:00.1Z",
                "2026-11-29T11:30:00.1000000Z",
                None,
            ),
            (
                "2026-11-29T11:30:00.1Z",
                "2026-11-29T11:30:00.1",
                Some("GET after shows"),
            ),
            (
                "2026-11-29T11:30:00.1Z",
                "2026-11-29T11:30:01Z",
                Some("GET after shows"),
            ),
        ];
        for (put, get, expected) in table {
            let (put_answer, get_answer) = (answer(submitted, put), answer(submitted, get));
            let sources = [("PUT answer", &put_answer), ("GET after", &get_answer)];
            let problem = completed_mismatch(&sources);
            assert_eq!(
                problem
                    .as_deref()
                    .map(|p| p.contains(expected.unwrap_or("-"))),
                expected.map(|_| true),
                "{put} {get}: {problem:?}"
            );
        }
    }

    #[test]
    fn completion_must_be_real_and_not_before_submission() {
        let fine = answer("2015-07-07T23:36:21.93Z", "2015-07-07T23:37:37.767Z");
        assert_eq!(completion_problem(&fine), None);
        let early = answer("2015-07-07T23:36:21.93Z", "2015-07-07T23:30:00Z");
        assert!(completion_problem(&early).is_some_and(|p| p.contains("earlier than Submitted")));
        let unset = answer("2015-07-07T23:36:21.93Z", "0001-01-01T00:00:00");
        assert!(completion_problem(&unset).is_some_and(|p| p.contains("not completed")));
        let local = answer("2015-07-07T23:36:21.93Z", "7/7/2015 11:37:37 PM");
        assert!(completion_problem(&local).is_some_and(|p| p.contains("not ISO 8601")));
        // Issue 9, false failure 6: a zoneless (local) Completed is not read as UTC.
        let zoneless = answer("2015-07-07T23:36:21.93Z", "2015-07-07T20:37:37.767");
        assert_eq!(completion_problem(&zoneless), None);
        let both_local = answer("2015-07-07T23:36:21.93", "2015-07-07T20:37:37.767");
        assert!(completion_problem(&both_local).is_some_and(|p| p.contains("earlier")));
        let offsets = answer("2015-07-08T01:36:21.93+02:00", "2015-07-07T23:37:00Z");
        assert_eq!(completion_problem(&offsets), None);
    }
}
