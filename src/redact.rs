//! What people are shown of secrets and errors: credential headers, anything named like a
//! token, key, secret or password, and passwords or secret parameters in URLs are masked; an
//! error is shown with its causes on one line.

const MASK: &str = "********";

/// Headers whose values authenticate the caller.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    )
}

/// Headers whose values must never be shown: credentials, session cookies, and anything that
/// names itself a token, key, secret or password.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    is_credential_header(&name)
        || name == "set-cookie"
        || ["token", "secret", "password", "api-key", "apikey"]
            .iter()
            .any(|word| name.contains(word))
}

pub fn mask_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if is_secret_header(name) {
                mask_value(value)
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

/// Keeps an auth scheme visible (`Negotiate ********`) because it helps diagnosis and is not secret.
fn mask_value(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _))
            if ["basic", "bearer", "negotiate", "ntlm"]
                .contains(&scheme.to_ascii_lowercase().as_str()) =>
        {
            format!("{scheme} {MASK}")
        }
        _ => MASK.to_string(),
    }
}

/// An answer as people may see it: secret headers masked, and every secret the run knows
/// scrubbed from header values and the body (a server may echo a credential). Only reports
/// call this; the checks judge the answer as received.
pub fn redact_response(
    received: &crate::client::ReceivedResponse,
    secrets: &[String],
) -> crate::client::ReceivedResponse {
    let headers = mask_headers(&received.headers)
        .into_iter()
        .map(|(name, value)| (name, crate::auth::scrub(&value, secrets)))
        .collect();
    let body = crate::auth::scrub_bytes(received.body.clone(), secrets);
    crate::client::ReceivedResponse::new(received.status, headers, body)
}

pub fn mask_header_arg(text: &str) -> String {
    match text.split_once(':') {
        Some((name, _)) => format!("{name}: {MASK}"),
        None => MASK.to_string(),
    }
}

/// Masks user info and secret-looking query parameters in a URL.
pub fn mask_url(url: &str) -> String {
    // Without `@` there is no user info, without `?` no query: nothing to mask, and nothing to
    // parse (this runs for every exchange).
    if !url.contains(['@', '?']) {
        return url.to_string();
    }
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(MASK));
    }
    let secret_query = parsed.query_pairs().any(|(key, _)| is_secret_header(&key));
    if secret_query {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret_header(&key) {
                    MASK.to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // Url::parse normalizes the path (e.g. resolves `..`); keep the path as the user wrote it.
    if parsed.password().is_none() && !secret_query {
        return url.to_string();
    }
    parsed.to_string()
}

/// The error and its causes on one line: reqwest's top-level message alone hides the reason.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
