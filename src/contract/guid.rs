//! The GUID a request path names: the `{id}` segment percent-decoded (`%61` and `a` name the same
//! resource, RFC 3986 2.3) and parsed in the forms .NET's `Guid.Parse` accepts that matter here:
//! hyphenated, 32 digits, or in braces, any case; under IIS routing also in parentheses (the P
//! form). The uuid crate's extra `urn:uuid:` form is not one of them. The runner's policy, the
//! reference server and the checks read ids here, so they agree on what names a request.

use uuid::Uuid;

/// The last path segment of a URL or path, percent-decoded (a malformed escape, or bytes that
/// are no UTF-8, leave the segment as it is).
pub fn last_segment(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let segment = path.rsplit('/').next().unwrap_or(path);
    decode(segment).unwrap_or_else(|| segment.to_string())
}

/// `segment` percent-decoded, when that gives UTF-8.
pub fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// The GUID of an `{id}` segment as sent (percent-encoded or not); `parenthesized` admits the
/// `(...)` form that IIS routing passes on.
pub fn from_segment(segment: &str, parenthesized: bool) -> Option<Uuid> {
    let decoded = decode(segment)?;
    if decoded
        .get(..4)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("urn:"))
    {
        return None;
    }
    let inner = decoded
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .filter(|inner| parenthesized && inner.len() == 36);
    Uuid::parse_str(inner.unwrap_or(&decoded)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";

    #[test]
    fn segments_decode_and_parse_in_the_dotnet_forms() {
        let id = Uuid::parse_str(ID).ok();
        let table = [
            (ID.to_string(), false, id),
            (ID.to_uppercase(), false, id),
            (ID.replace('-', ""), false, id),
            (format!("{{{ID}}}"), false, id),
            ("%61".to_string() + &ID[1..], false, id),
            (format!("({ID})"), true, id),
            (format!("%28{ID}%29"), true, id),
            (format!("({ID})"), false, None),
            (format!("urn:uuid:{ID}"), false, None),
            (format!("URN:uuid:{ID}"), true, None),
            (ID[1..].to_string(), false, None),
            ("%FF".to_string(), false, None),
        ];
        for (segment, parenthesized, expected) in table {
            assert_eq!(from_segment(&segment, parenthesized), expected, "{segment}");
        }
    }

    #[test]
    fn the_last_segment_is_percent_decoded() {
        let table = [
            ("http://h/requests/abc", "abc"),
            ("http://h/requests/abc?x=1", "abc"),
            ("http://h/requests/abc#f", "abc"),
            ("http://h/requests/%61bc", "abc"),
            ("http://h/requests/%FFbc", "%FFbc"),
        ];
        for (url, expected) in table {
            assert_eq!(last_segment(url), expected, "{url}");
        }
    }
}
