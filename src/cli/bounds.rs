//! Sane bounds on every number and URL the command line takes, checked while the flags are
//! parsed (so a value from the environment or the configuration file is checked the same way):
//! a bad value exits 2 naming the flag, never a panic deep in a run.

use std::time::Duration;

/// The longest timeout accepted: one day. (Beyond it `Duration` arithmetic can overflow, and no
/// HTTP answer is worth waiting longer for.)
pub const MAX_SECONDS: f64 = 86_400.0;
/// The most generated cases one run may plan.
pub const MAX_GENERATE: u32 = 1_000_000;
/// The most retries of a connection that could not be established.
pub const MAX_RETRIES: u32 = 10;
/// The most connections `serve --max-connections` may allow (each is a file descriptor).
pub const MAX_CONNECTIONS: u32 = 1_000_000;
/// The most staged requests `serve --max-requests` may keep (each is a few KiB).
pub const MAX_REQUESTS: u32 = 10_000_000;

/// A timeout in seconds: a positive number, at most one day.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("{text}: must be a positive number of seconds"));
    }
    if value > MAX_SECONDS {
        return Err(format!(
            "{text}: at most {MAX_SECONDS} seconds (one day) are allowed"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// `--base-url`: an http(s) URL with a host, no query and no fragment. A path is a prefix (the
/// virtual directory the API is deployed under): the documented path is appended to it.
pub fn base_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|error| format!("'{text}': not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "'{text}': expected an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || text.contains('?') {
        return Err(format!(
            "'{text}': a query cannot come before the API path; pass the host (and any \
             virtual directory) only"
        ));
    }
    if url.fragment().is_some() || text.contains('#') {
        return Err(format!(
            "'{text}': a fragment (#...) is never sent; remove it"
        ));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// Units of a duration flag, longest first (`ms` before `m` and `s`), in seconds.
const DURATION_UNITS: [(&str, f64); 4] = [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];

/// A duration with a unit (`200ms`, `20s`, `2m`, `1h`; a bare number is seconds): positive, at
/// most one day.
pub fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, scale) = DURATION_UNITS
        .iter()
        .find_map(|(unit, scale)| trimmed.strip_suffix(unit).map(|number| (number, *scale)))
        .unwrap_or((trimmed, 1.0));
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 200ms, 20s, 2m)"))?;
    seconds(&(value * scale).to_string()).map_err(|_| {
        format!("{text}: must be more than 0 and at most {MAX_SECONDS} seconds (one day)")
    })
}

/// A share of requests in percent (`0.1%` or `0.1`), from 0 to 100; returned as a fraction.
pub fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a percentage (e.g. 0.1%)"))?;
    if !(value.is_finite() && (0.0..=100.0).contains(&value)) {
        return Err(format!("{text}: must be between 0% and 100%"));
    }
    Ok(value / 100.0)
}

/// `--race-concurrency`: at least 2 PUTs, and no more than the open-file limit allows.
pub fn race_concurrency(text: &str) -> Result<u16, String> {
    race_concurrency_within(text, open_file_limit())
}

/// Descriptors kept for everything but the race's sockets (contract files, reports, the pool).
const RESERVED_FILES: u64 = 64;

fn race_concurrency_within(text: &str, limit: Option<u64>) -> Result<u16, String> {
    let value: u16 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number from 2 to {}", u16::MAX))?;
    if value < 2 {
        return Err(format!("{value}: a race needs at least 2 PUTs"));
    }
    // Each PUT holds a client socket, and the embedded server's end of it is in this process too.
    let allowed = limit.map(|files| files.saturating_sub(RESERVED_FILES) / 2);
    match allowed {
        Some(allowed) if u64::from(value) > allowed => Err(format!(
            "{value}: at most {allowed} PUTs at once under this process's open-file limit of {} \
             (ulimit -n); raise the limit or lower --race-concurrency",
            limit.unwrap_or_default()
        )),
        _ => Ok(value),
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None` where it cannot be
/// read or is unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_positive_and_at_most_a_day() {
        let table: [(&str, Option<Duration>); 9] = [
            ("10", Some(Duration::from_secs(10))),
            ("0.5", Some(Duration::from_millis(500))),
            ("86400", Some(Duration::from_secs(86_400))),
            ("86400.5", None),
            ("1e30", None),
            ("inf", None),
            ("0", None),
            ("-1", None),
            ("x", None),
        ];
        for (text, expected) in table {
            assert_eq!(seconds(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn durations_take_a_unit_and_stay_within_a_day() {
        let table: [(&str, Option<Duration>); 9] = [
            ("200ms", Some(Duration::from_millis(200))),
            ("20s", Some(Duration::from_secs(20))),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            (" 1.5 ", Some(Duration::from_millis(1500))),
            ("25h", None),
            ("0ms", None),
            ("-1s", None),
            ("soon", None),
        ];
        for (text, expected) in table {
            assert_eq!(duration(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn percentages_are_fractions_of_0_to_100() {
        let table: [(&str, Option<f64>); 6] = [
            ("0.1%", Some(0.001)),
            ("5", Some(0.05)),
            ("0%", Some(0.0)),
            ("100%", Some(1.0)),
            ("101%", None),
            ("-1%", None),
        ];
        for (text, expected) in table {
            assert_eq!(percent(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn base_urls_take_a_prefix_but_no_query_or_fragment() {
        let table = [
            ("https://cm.contoso.com", Some("https://cm.contoso.com")),
            ("https://cm.contoso.com/", Some("https://cm.contoso.com")),
            ("http://h:8080/cm/", Some("http://h:8080/cm")),
            ("http://h/?a=b", None),
            ("http://h/?", None),
            ("http://h/#top", None),
            ("ftp://h", None),
            ("h", None),
            ("", None),
        ];
        for (text, expected) in table {
            assert_eq!(base_url(text).ok().as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn race_concurrency_stays_under_the_open_file_limit() {
        let table = [
            ("8", Some(1024), Ok(8)),
            ("480", Some(1024), Ok(480)),
            ("481", Some(1024), Err("at most 480 PUTs at once")),
            ("65535", None, Ok(65535)),
            ("1", None, Err("at least 2")),
            ("x", None, Err("not a number")),
            ("70000", None, Err("not a number")),
        ];
        for (text, limit, expected) in table {
            let result = race_concurrency_within(text, limit);
            match expected {
                Ok(value) => assert_eq!(result, Ok(value), "{text}"),
                Err(part) => assert!(
                    result.as_ref().is_err_and(|message| message.contains(part)),
                    "{text}: {result:?}"
                ),
            }
        }
        assert!(
            race_concurrency_within("481", Some(1024))
                .is_err_and(|message| message.contains("--race-concurrency")
                    && message.contains("ulimit -n"))
        );
    }
}
