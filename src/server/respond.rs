//! Building answers: the JSON content type every response carries (section 2), and error
//! answers with their correlation ID. Which error rendering is used is [`Behaviour`]'s choice;
//! the renderings themselves live here.
//!
//! [`Behaviour`]: super::behaviour::Behaviour

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, HeaderName};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use uuid::Uuid;
// `&`, `<`, `>` and `"` as entities: page text and attribute values alike.
use html_escape::encode_double_quoted_attribute as escape;

/// The content type of every answer of a conformant server.
pub const JSON: &str = "application/json; charset=utf-8";

pub fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    // A full body has an exact size, so hyper writes the Content-Length section 2 requires.
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    bytes(status, JSON, body)
}

/// A JSON body streamed with chunked transfer encoding: hyper cannot know its length, so no
/// `Content-Length` goes out (the `chunked_body` fault).
pub fn json_chunked(status: StatusCode, body: Vec<u8>) -> Response {
    let chunk = futures_util::stream::once(async move {
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(body))
    });
    let mut response = Response::new(Body::from_stream(chunk));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// A success without a body: 204, and neither Content-Type nor Content-Length.
pub fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// IIS's own 401 page (401.2), sent before ASP.NET runs, when a request brings no credentials
/// that Windows Authentication accepts.
pub fn iis_unauthorized() -> Response {
    const PAGE: &str = concat!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n",
        "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n",
        "<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>\r\n",
        "</head>\r\n<body>\r\n<div id=\"header\"><h1>Server Error</h1></div>\r\n",
        "<div id=\"content\">\r\n <div class=\"content-container\"><fieldset>\r\n",
        "  <h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n",
        "  <h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3>\r\n",
        " </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n",
    );
    bytes(
        StatusCode::UNAUTHORIZED,
        "text/html",
        PAGE.as_bytes().to_vec(),
    )
}

pub fn json_value(status: StatusCode, value: &Value) -> Response {
    json_bytes(status, value.to_string().into_bytes())
}

/// What the CM SDK threw: the server logs it with the correlation ID; the client never sees it
/// (except under the `stack_trace_500` fault).
#[derive(Debug, Clone)]
pub struct Exception {
    pub type_name: &'static str,
    pub message: String,
    pub frames: Vec<String>,
}

/// The exception type of a lost race (a deadlock victim); see `handlers::refusal`.
pub const SQL_EXCEPTION: &str = "System.Data.SqlClient.SqlException";

impl Exception {
    /// .NET's `Exception.ToString()`: type, message, then one `   at ...` line per frame.
    pub fn dump(&self) -> String {
        let mut text = format!("{}: {}", self.type_name, self.message);
        for frame in &self.frames {
            text.push_str("\r\n   at ");
            text.push_str(frame);
        }
        text
    }
}

/// An error answer before it is rendered.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub correlation: Uuid,
    /// Boxed: errors travel in `Result`s and most have no exception.
    pub exception: Option<Box<Exception>>,
    /// A header the answer needs (`WWW-Authenticate` on 401, `Allow` on 405).
    pub header: Option<(HeaderName, &'static str)>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            correlation: Uuid::new_v4(),
            exception: None,
            header: None,
        }
    }

    /// An unhandled exception, answered the way IIS answers it: 500 and a correlation ID.
    pub fn internal(exception: Exception) -> ApiError {
        let correlation = Uuid::new_v4();
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("An error has occurred. Correlation ID: {correlation}"),
            correlation,
            exception: Some(Box::new(exception)),
            header: None,
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: &'static str) -> ApiError {
        self.header = Some((name, value));
        self
    }
}

/// The conformant error body: `{"Message": ..., "CorrelationId": ...}`.
pub fn error_json(error: &ApiError) -> Response {
    let body = json!({ "Message": error.message, "CorrelationId": error.correlation });
    finish(error, json_value(error.status, &body))
}

/// The error body with ASP.NET's exception details, as with `IncludeErrorDetailPolicy.Always`.
pub fn error_json_with_trace(error: &ApiError) -> Response {
    let mut body = json!({ "Message": error.message, "CorrelationId": error.correlation });
    if let (Some(exception), Some(object)) = (&error.exception, body.as_object_mut()) {
        object.insert("ExceptionMessage".into(), exception.message.clone().into());
        object.insert("ExceptionType".into(), exception.type_name.into());
        object.insert("StackTrace".into(), exception.dump().into());
    }
    finish(error, json_value(error.status, &body))
}

/// The error as an IIS-style HTML page.
pub fn error_html(error: &ApiError) -> Response {
    let reason = error.status.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<!DOCTYPE html>\r\n<html><head><title>{code} - {reason}</title></head>\r\n<body><h1>Server Error</h1><h2>{code} - {reason}</h2><p>{message}</p><p>Correlation ID: {id}</p></body></html>\r\n",
        code = error.status.as_u16(),
        message = escape(&error.message),
        id = error.correlation,
    );
    finish(
        error,
        bytes(error.status, "text/html; charset=utf-8", page.into_bytes()),
    )
}

/// ASP.NET's own error page for an unhandled exception (`customErrors mode="Off"`): the
/// "Server Error in '/...' Application." title, the exception as `[ClmException: message]`,
/// and frames that end in an IL offset instead of starting with "at".
pub fn error_page_with_trace(error: &ApiError) -> Response {
    let message = escape(
        error
            .exception
            .as_ref()
            .map_or(&error.message, |exception| &exception.message),
    );
    let frames: String = error
        .exception
        .iter()
        .flat_map(|exception| exception.frames.iter())
        .enumerate()
        .map(|(index, frame)| format!("   {} +{}\r\n", escape(frame), 40 + index * 57))
        .collect();
    let page = format!(
        "<html>\r\n<head><title>{message}</title></head>\r\n<body bgcolor=\"white\">\r\n<span><H1>Server Error in '/CertificateManagement' Application.<hr width=100% size=1 color=silver></H1>\r\n<h2> <i>{message}</i> </h2></span>\r\n<b> Description: </b>An unhandled exception occurred during the execution of the current web request.<br><br>\r\n<b> Exception Details: </b>Microsoft.Clm.Shared.ClmException: {message}<br><br>\r\n<b>Stack Trace:</b> <br><br>\r\n<table width=100% bgcolor=\"#ffffcc\"><tr><td><code><pre>\r\n[ClmException: {message}]\r\n{frames}</pre></code></td></tr></table>\r\n</body></html>\r\n"
    );
    finish(
        error,
        bytes(error.status, "text/html; charset=utf-8", page.into_bytes()),
    )
}

fn finish(error: &ApiError, mut response: Response) -> Response {
    if let Some((name, value)) = &error.header {
        response
            .headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception() -> Exception {
        Exception {
            type_name: "System.InvalidOperationException",
            message: "bad state".into(),
            frames: vec!["A.B.C(Guid id)".into(), "D.E()".into()],
        }
    }

    #[test]
    fn internal_errors_name_their_correlation_id_and_hide_the_exception() {
        let error = ApiError::internal(exception());
        assert_eq!(
            error.message,
            format!(
                "An error has occurred. Correlation ID: {}",
                error.correlation
            )
        );
        assert!(!error.message.contains("InvalidOperation"));
        assert_eq!(
            exception().dump(),
            "System.InvalidOperationException: bad state\r\n   at A.B.C(Guid id)\r\n   at D.E()"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
