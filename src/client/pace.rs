//! Request rates: `--rate N/s` parsing, and the pacer that keeps a run under that rate on a
//! shared deployment (every request the client sends waits for its slot).

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A number of requests per second, as given with `--rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    per_second: f64,
}

/// The units `--rate` accepts after the slash, and their length in seconds.
const RATE_UNITS: [(&str, f64); 6] = [
    ("s", 1.0),
    ("sec", 1.0),
    ("second", 1.0),
    ("m", 60.0),
    ("min", 60.0),
    ("minute", 60.0),
];

impl Rate {
    /// `500`, `500/s`, `30/min`: a positive, finite number of requests per unit.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let (count, unit) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
        let seconds = RATE_UNITS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(unit.trim()))
            .map(|(_, seconds)| *seconds)
            .ok_or_else(|| format!("'{text}': the unit after '/' must be s or min"))?;
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| format!("'{text}': expected a number of requests, e.g. 500/s"))?;
        let per_second = count / seconds;
        if !(per_second.is_finite() && per_second > 0.0 && per_second <= 1e6) {
            return Err(format!(
                "'{text}': must be more than 0 and at most 1000000/s"
            ));
        }
        Ok(Rate { per_second })
    }

    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// The time between two requests.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s", self.per_second)
    }
}

/// Hands out evenly spaced send times: a request waits for the next free slot, so however many
/// cases run at once the target never sees more than the rate (no bursts after a pause either:
/// an idle pacer does not bank slots).
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn new(rate: Rate) -> Pacer {
        Pacer {
            interval: rate.interval(),
            next: Mutex::new(None),
        }
    }

    /// The slot of the next request, reserved (not waited for).
    fn reserve(&self, now: Instant) -> Instant {
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = next.map_or(now, |next| next.max(now));
        *next = Some(slot + self.interval);
        slot
    }

    /// Waits until this request may be sent.
    pub async fn wait(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_their_unit() {
        let table: [(&str, Option<f64>); 10] = [
            ("500", Some(500.0)),
            ("500/s", Some(500.0)),
            (" 2.5/sec ", Some(2.5)),
            ("120/min", Some(2.0)),
            ("60/m", Some(1.0)),
            ("0", None),
            ("-1/s", None),
            ("NaN/s", None),
            ("10/h", None),
            ("fast", None),
        ];
        for (text, expected) in table {
            let parsed = Rate::parse(text).ok().map(|rate| rate.per_second());
            assert_eq!(parsed, expected, "{text}");
        }
    }

    #[test]
    fn errors_name_the_value() {
        let error = Rate::parse("10/h").err().unwrap_or_default();
        assert!(error.contains("10/h"), "{error}");
    }

    #[test]
    fn slots_are_spaced_by_the_interval_and_never_banked() {
        let pacer = Pacer::new(Rate { per_second: 10.0 });
        let start = Instant::now();
        let first = pacer.reserve(start);
        let second = pacer.reserve(start);
        let third = pacer.reserve(start);
        assert_eq!(first, start);
        assert_eq!(second - first, Duration::from_millis(100));
        assert_eq!(third - second, Duration::from_millis(100));
        // After a long pause the next slot is now, not a backlog of missed slots.
        let later = start + Duration::from_secs(5);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later) - later, Duration::from_millis(100));
    }
}
