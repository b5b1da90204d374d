//! Timestamps as the CM API writes them (section 3): ISO 8601 with 0 to 7 fraction digits and an
//! optional zone; `0001-01-01T00:00:00` means "not completed".
//!
//! The documents never say what a zoneless value means (.NET writes `DateTimeKind.Unspecified`
//! and `Local` values without a zone), so no zone is assumed: zoned values compare as instants,
//! zoneless values only with zoneless ones, and a zoned and a zoneless value cannot be ordered.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime};
use std::cmp::Ordering;

/// Where the fixed separators of `YYYY-MM-DDTHH:MM:SS` stand; every other byte of it is a digit.
const SEPARATORS: [(usize, u8); 5] = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];

/// Whether `text` has the shape .NET writes: `YYYY-MM-DDTHH:MM:SS`, then optionally a dot and 1
/// to 7 fraction digits, then optionally `Z` or `+HH:MM`/`-HH:MM`. ASCII digits only: chrono
/// parses nothing else. Checked by hand rather than by a pattern, which would be compiled at
/// every start of the harness for the few timestamps a short run reads.
fn has_dotnet_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(date_time), Some(mut rest)) = (bytes.get(..19), bytes.get(19..)) else {
        return false;
    };
    let separator_at = |index: usize| SEPARATORS.iter().find(|(at, _)| *at == index);
    let date_time_ok =
        date_time
            .iter()
            .enumerate()
            .all(|(index, byte)| match separator_at(index) {
                Some((_, separator)) => byte == separator,
                None => byte.is_ascii_digit(),
            });
    if !date_time_ok {
        return false;
    }
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if !(1..=7).contains(&digits) {
            return false;
        }
        rest = &fraction[digits..];
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

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
        if !has_dotnet_shape(text) {
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

    /// The pattern the shape check replaced, kept here to compare the two.
    fn pattern_matches(text: &str) -> bool {
        static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(concat!(
                r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}",
                r"(\.[0-9]{1,7})?(Z|[+-][0-9]{2}:[0-9]{2})?$"
            ))
            .unwrap_or_else(|error| panic!("{error}"))
        });
        PATTERN.is_match(text)
    }

    #[test]
    fn shape_boundaries() {
        let table = [
            ("2015-07-07T23:36:21", true),
            ("2015-07-07T23:36:21.1", true),
            ("2015-07-07T23:36:21.1234567", true),
            ("2015-07-07T23:36:21.12345678", false),
            ("2015-07-07T23:36:21.", false),
            ("2015-07-07T23:36:21Z", true),
            ("2015-07-07T23:36:21.5Z", true),
            ("2015-07-07T23:36:21-05:30", true),
            ("2015-07-07T23:36:21+0530", false),
            ("2015-07-07T23:36:21ZZ", false),
            ("2015-07-07T23:36:21z", false),
            ("2015-07-07 23:36:21", false),
            ("2015-07-07T23:36:2", false),
            ("15-07-07T23:36:21", false),
            ("2015-07-07T23:36:21+05:3", false),
            ("", false),
            ("2015-07-07T23:36:21\n", false),
        ];
        for (text, expected) in table {
            assert_eq!(has_dotnet_shape(text), expected, "{text:?}");
            assert_eq!(pattern_matches(text), expected, "pattern on {text:?}");
        }
    }

    /// The shape check and the pattern agree on 50,000 damaged timestamps: a byte replaced,
    /// dropped or doubled, from a small alphabet of the bytes that matter.
    #[test]
    fn shape_check_agrees_with_the_pattern() {
        let seeds = [
            "2015-07-07T23:36:21",
            "2015-07-07T23:36:21.9300000Z",
            "2015-07-07T23:36:21.93+02:00",
            "0001-01-01T00:00:00",
        ];
        let alphabet = b"0189-:T.Z+zx \xc3";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for round in 0..50_000 {
            let mut bytes = seeds[round % seeds.len()].as_bytes().to_vec();
            for _ in 0..=next(2) {
                let at = next(bytes.len() + 1);
                let byte = alphabet[next(alphabet.len())];
                match next(3) {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, byte),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(has_dotnet_shape(&text), pattern_matches(&text), "{text:?}");
        }
    }

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
