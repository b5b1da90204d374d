//! Reading an HTTP answer's body with a cap (`--max-body`), for every read the harness makes:
//! the API, the provider-state endpoint, the ADFS token endpoint and doctor. An answer larger
//! than the cap is refused as soon as it is known to be (its Content-Length, or the first chunk
//! past the cap), so no server can make the harness hold more than the cap in memory.

/// Why a capped read gave no body.
#[derive(Debug)]
pub enum CappedError {
    /// The body is larger than the cap (in bytes).
    TooLarge(usize),
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
}

impl std::fmt::Display for CappedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CappedError::TooLarge(limit) => {
                write!(f, "answer larger than the {limit}-byte limit (--max-body)")
            }
            CappedError::Transport(error) => {
                write!(
                    f,
                    "unreadable answer: {}",
                    crate::redact::error_chain(error)
                )
            }
        }
    }
}

/// The body of `response`, at most `limit` bytes.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, CappedError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(CappedError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CappedError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(CappedError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body as text (invalid UTF-8 replaced), at most `limit` bytes.
pub async fn read_text(response: reqwest::Response, limit: usize) -> Result<String, CappedError> {
    let body = read_body(response, limit).await?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}
