//! The one answer to "is this JSON?" for a `Content-Type` value: its media type, without
//! parameters such as `charset`, compared case-insensitively (RFC 9110 8.3.1). Checks, fixture
//! validation and the reference server all ask it here, so they cannot disagree.

/// The media type of a `Content-Type` value, without parameters.
pub fn essence(value: &str) -> &str {
    value.split(';').next().unwrap_or(value).trim()
}

/// Whether a `Content-Type` value declares `application/json` (with any parameters).
pub fn is_json(value: &str) -> bool {
    essence(value).eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_application_json_with_any_parameters_is_json() {
        let table = [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            (" application/json ;charset=us-ascii", true),
            ("application/jsonx", false),
            ("application/json-patch+json", false),
            ("text/json", false),
            ("text/html", false),
            ("", false),
        ];
        for (value, expected) in table {
            assert_eq!(is_json(value), expected, "{value:?}");
        }
    }
}
