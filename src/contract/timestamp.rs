//! Timestamps as the CM API writes them (section 3): ISO 8601 with 0 to 7 fraction digits and an
//! optional zone; `0001-01-01T00:00:00` means "not completed".
//!
//! The documents never say what a zoneless value means (.NET writes `DateTimeKind.Unspecified`
//! and `Local` values without a zone), so no zone is assumed: zoned values compare as instants,
//! zoneless values only with zoneless ones, and a zoned and a zoneless value cannot be ordered.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime};
use regex::Regex;
use std::cmp::Ordering;
use std::sync::LazyLock;

/// The shape .NET writes. ASCII digits only: chrono parses nothing else, so a Unicode `\d` would
/// accept no more timestamps, and its tables cost a millisecond to compile at every start.
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}",
        r"(\.[0-9]{1,7})?(Z|[+-][0-9]{2}:[0-9]{2})?$"
    ))
    .expect("constant pattern compiles")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// With `Z` or an offset: an instant.
    Zoned(DateTime<FixedOffset>),
    /// Without a zone: a wall-clock time in a zone nobody named.
    Zoneless(NaiveDateTime),
}

impl Timestamp {
    /// An ISO 8601 timestamp as .NET writes it, or `None`.
    pub fn parse(text: &str) -> Option<Timestamp> {
        if !TIMESTAMP.is_match(text) {
            return None;
        }
        if let Ok(zoned) = DateTime::parse_from_rfc3339(text) {
            return Some(Timestamp::Zoned(zoned));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(Timestamp::Zoneless)
    }

    pub fn year(&self) -> i32 {
        match self {
            Timestamp::Zoned(zoned) => zoned.year(),
            Timestamp::Zoneless(naive) => naive.year(),
        }
    }

    /// Zoned values as instants, zoneless values as wall-clock times; `None` for a zoned and a
    /// zoneless value, which cannot be ordered without assuming a zone.
    pub fn compare(&self, other: &Timestamp) -> Option<Ordering> {
        match (self, other) {
            (Timestamp::Zoned(a), Timestamp::Zoned(b)) => Some(a.cmp(b)),
            (Timestamp::Zoneless(a), Timestamp::Zoneless(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Whether two texts name the same time: `...21.93Z` and `...21.9300000Z`, `Z` and `+00:00`.
    pub fn same_text_value(a: &str, b: &str) -> Option<bool> {
        let (a, b) = (Timestamp::parse(a)?, Timestamp::parse(b)?);
        Some(a.compare(&b) == Some(Ordering::Equal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_dotnet_forms_parse() {
        assert!(Timestamp::parse("2015-07-07T23:37:37.767Z").is_some());
        assert!(Timestamp::parse("2015-07-07T23:36:21.9300000").is_some());
        assert!(Timestamp::parse("0001-01-01T00:00:00").is_some());
        assert!(Timestamp::parse("2015-07-07T23:36:21+02:00").is_some());
        assert!(Timestamp::parse("11/28/2026 3:01:02 AM").is_none());
        assert!(Timestamp::parse("2015-07-07T23:36:21.12345678Z").is_none());
        // Non-ASCII decimal digits (Arabic-Indic, full-width) are no timestamp.
        assert!(Timestamp::parse("\u{662}\u{660}\u{661}\u{665}-07-07T23:36:21Z").is_none());
        assert!(Timestamp::parse("２０１５-07-07T23:36:21").is_none());
    }

    #[test]
    fn ordering_assumes_no_zone() {
        use Ordering::*;
        let table = [
            (
                "2015-07-07T23:36:21.93Z",
                "2015-07-07T23:36:21.9300000Z",
                Some(Equal),
            ),
            (
                "2015-07-07T23:36:21Z",
                "2015-07-07T23:36:21+00:00",
                Some(Equal),
            ),
            (
                "2015-07-08T01:36:21+02:00",
                "2015-07-07T23:36:21Z",
                Some(Equal),
            ),
            (
                "2015-07-07T23:30:00Z",
                "2015-07-07T23:36:21.93Z",
                Some(Less),
            ),
            (
                "2015-07-07T23:36:22",
                "2015-07-07T23:36:21.9",
                Some(Greater),
            ),
            // A local Completed and a UTC Submitted: no order without a zone.
            ("2015-07-07T20:00:00", "2015-07-07T23:36:21.93Z", None),
        ];
        for (a, b, expected) in table {
            let (Some(a_time), Some(b_time)) = (Timestamp::parse(a), Timestamp::parse(b)) else {
                panic!("{a} or {b} does not parse")
            };
            assert_eq!(a_time.compare(&b_time), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn same_text_value_compares_instants() {
        let same = |a, b| Timestamp::same_text_value(a, b);
        assert_eq!(
            same("2015-07-07T23:36:21.93Z", "2015-07-07T23:36:21.9300000Z"),
            Some(true)
        );
        assert_eq!(
            same("2015-07-07T23:36:21Z", "2015-07-07T23:36:21+00:00"),
            Some(true)
        );
        assert_eq!(
            same("2015-07-07T23:36:21Z", "2015-07-07T23:36:22Z"),
            Some(false)
        );
        assert_eq!(
            same("2015-07-07T23:36:21", "2015-07-07T23:36:21Z"),
            Some(false)
        );
        assert_eq!(same("x", "2015-07-07T23:36:21Z"), None);
    }
}
