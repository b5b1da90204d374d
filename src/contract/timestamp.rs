//! Timestamps as the CM API writes them (section 3): ISO 8601 with 0 to 7 fraction digits and an
//! optional zone, where no zone means UTC and `0001-01-01T00:00:00` means "not completed".

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::Regex;
use std::sync::LazyLock;

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$")
        .expect("constant pattern compiles")
});

/// An ISO 8601 timestamp as .NET writes it; no zone means UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if !TIMESTAMP.is_match(text) {
        return None;
    }
    if let Ok(with_zone) = DateTime::parse_from_rfc3339(text) {
        return Some(with_zone.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_dotnet_forms_parse() {
        assert!(parse_timestamp("2015-07-07T23:37:37.767Z").is_some());
        assert!(parse_timestamp("2015-07-07T23:36:21.9300000").is_some());
        assert!(parse_timestamp("0001-01-01T00:00:00").is_some());
        assert!(parse_timestamp("11/28/2026 3:01:02 AM").is_none());
    }
}
