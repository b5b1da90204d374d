//! How a PUT body becomes a target status: the canonical reading (only `application/json`
//! holding exactly `{"status": "<name>"}`), or the way ASP.NET Web API 2 binds it with Json.NET's
//! defaults (CONTRACT.md section 7). Which one applies is the dialect's [`Binding`].

use super::dialect::Binding;
use super::hooks::destination;
use super::lenient_json::{self, Parsed};
use super::respond::{ApiError, Exception};
use crate::contract::lifecycle::TargetStatus;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// What an acceptable PUT body asks for.
#[derive(Debug, PartialEq)]
pub enum BodyVerdict {
    Target(TargetStatus),
    /// A `status` string that names none of the three documented values.
    UnknownStatus(String),
}

/// Reads a PUT body as `binding` does; `Err` is the answer refusing it.
pub fn read_put_body(
    binding: Binding,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<BodyVerdict, ApiError> {
    match binding {
        Binding::Canonical => canonical(headers, body),
        Binding::JsonNet => json_net(headers, body),
    }
}

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// Sections 1 and 2: a non-empty `application/json` body that is exactly `{"status": <string>}`.
fn canonical(headers: &HeaderMap, body: &[u8]) -> Result<BodyVerdict, ApiError> {
    if body.is_empty() {
        return Err(bad("The request body is empty: expected {\"status\": \"Completed\" | \"Canceled\" | \"Abandoned\"}.".into()));
    }
    if media_type(headers).as_deref() != Some("application/json") {
        return Err(unsupported(headers));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| bad(format!("The request body is not valid JSON: {error}.")))?;
    let Some(object) = value.as_object() else {
        return Err(bad("The request body must be a JSON object.".into()));
    };
    if let Some(extra) = object.keys().find(|key| *key != "status") {
        return Err(bad(format!(
            "The request body has an unknown property '{extra}'."
        )));
    }
    match object.get("status") {
        None => Err(bad("The request body has no 'status' property.".into())),
        Some(Value::String(status)) => Ok(TargetStatus::from_wire(status)
            .map(BodyVerdict::Target)
            .unwrap_or_else(|| BodyVerdict::UnknownStatus(status.clone()))),
        Some(other) => Err(bad(format!("'status' must be a string, not {other}."))),
    }
}

/// The media type of the body, lower-case, without parameters such as charset.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let declared = String::from_utf8_lossy(headers.get(CONTENT_TYPE)?.as_bytes()).into_owned();
    Some(crate::contract::media_type::essence(&declared).to_ascii_lowercase())
}

/// 415, naming the media type that was sent.
fn unsupported(headers: &HeaderMap) -> ApiError {
    let declared = headers
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let message = match declared {
        Some(media) => format!(
            "The request entity's media type '{media}' is not supported for this resource: use application/json."
        ),
        None => "The request has a body but no Content-Type: use application/json.".into(),
    };
    ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
}

/// Web API 2 with its default formatters: JSON (`application/json`, `text/json`) through
/// Json.NET's lenient reader, form bodies through the form formatter, XML through the XML
/// formatter (which cannot read this model), anything else 415. Member names match
/// case-insensitively, unknown members are ignored, the last duplicate wins, enum names match
/// case-insensitively and integers bind by value. A body that binds no status leaves the model
/// or its status null, and the controller's dereference of it is an unhandled exception: 500.
fn json_net(headers: &HeaderMap, body: &[u8]) -> Result<BodyVerdict, ApiError> {
    if body.is_empty() {
        // No formatter runs on an empty body: the model is null.
        return Err(null_model());
    }
    let (members, from_form) = match media_type(headers).as_deref() {
        Some("application/json" | "text/json") => (json_members(body)?, false),
        Some("application/x-www-form-urlencoded") => (form_members(body), true),
        Some("application/xml" | "text/xml") => {
            return Err(invalid("the body is not the XML of the model"));
        }
        _ => return Err(unsupported(headers)),
    };
    let status = members
        .into_iter()
        .rev()
        .find(|(name, _)| name.eq_ignore_ascii_case("status"))
        .map(|(_, value)| value);
    match status {
        None | Some(Value::Null) => Err(null_model()),
        Some(Value::String(text)) if from_form && text.parse::<i64>().is_ok() => {
            by_code(text.parse().ok())
        }
        Some(Value::String(name)) => Ok(TargetStatus::ALL
            .into_iter()
            .find(|target| target.wire().eq_ignore_ascii_case(&name))
            .map(BodyVerdict::Target)
            .unwrap_or(BodyVerdict::UnknownStatus(name))),
        Some(Value::Number(number)) => by_code(number.as_i64()),
        Some(other) => Err(invalid(&format!("'status' cannot be {other}"))),
    }
}

/// The members of a JSON body. Bytes that are not UTF-8 become U+FFFD, as .NET's reader does.
fn json_members(body: &[u8]) -> Result<Vec<(String, Value)>, ApiError> {
    let text = String::from_utf8_lossy(body);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match lenient_json::parse(text) {
        Ok(Parsed::Object(members)) => Ok(members),
        Ok(Parsed::Other(Value::Null)) => Err(null_model()),
        Ok(Parsed::Other(_)) => Err(invalid("the body is not a JSON object")),
        Err(error) => Err(invalid(&error)),
    }
}

/// The members of a form body; a name given twice becomes an array, as Web API's form
/// formatter builds it (and an array binds no enum).
fn form_members(body: &[u8]) -> Vec<(String, Value)> {
    let mut members: Vec<(String, Value)> = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        let value = Value::String(value.into_owned());
        match members.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, Value::Array(values))) => values.push(value),
            Some((_, first)) => *first = Value::Array(vec![first.take(), value]),
            None => members.push((name.into_owned(), value)),
        }
    }
    members
}

/// An integer bound to the enum. The API's enum values are not documented; this server gives
/// each target the Status code it leads to (Completed 8, Canceled 17, Abandoned 9, the Failed
/// code), so `8` acts as `"Completed"`, and any other integer is refused.
fn by_code(code: Option<i64>) -> Result<BodyVerdict, ApiError> {
    TargetStatus::ALL
        .into_iter()
        .find(|&target| destination(target).map(|state| state.code()) == code)
        .map(BodyVerdict::Target)
        .ok_or_else(|| invalid("the number is not a value of the status enum"))
}

/// Web API's answer when model binding recorded an error.
fn invalid(detail: &str) -> ApiError {
    bad(format!("The request is invalid: {detail}."))
}

/// The controller dereferencing a null model or status: an unhandled exception.
fn null_model() -> ApiError {
    ApiError::internal(Exception {
        type_name: "System.ArgumentNullException",
        message: "Value cannot be null.\r\nParameter name: update.Status".into(),
        frames: vec![
            "Microsoft.Clm.Rest.Controllers.RequestsController.Put(Guid id, RequestStatusUpdate update)".into(),
            "lambda_method(Closure , Object , Object[] )".into(),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn typed(content_type: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        }
        headers
    }

    fn read(
        binding: Binding,
        content_type: Option<&'static str>,
        body: &str,
    ) -> Result<BodyVerdict, u16> {
        read_put_body(binding, &typed(content_type), body.as_bytes())
            .map_err(|error| error.status.as_u16())
    }

    const JSON: Option<&str> = Some("application/json");
    const COMPLETED: Result<BodyVerdict, u16> = Ok(BodyVerdict::Target(TargetStatus::Completed));

    #[test]
    fn canonical_binding_accepts_only_the_canonical_body() {
        let canonical = |content_type, body| read(Binding::Canonical, content_type, body);
        assert_eq!(
            canonical(JSON, "{\n    \"status\":\"Completed\"\n}"),
            COMPLETED
        );
        assert_eq!(
            canonical(
                Some("application/json; charset=utf-8"),
                r#"{"status":"Completed"}"#
            ),
            COMPLETED
        );
        assert_eq!(
            canonical(JSON, r#"{"status":"completed"}"#),
            Ok(BodyVerdict::UnknownStatus("completed".into()))
        );
        for (content_type, body, code) in [
            (JSON, "", 400),
            (JSON, "{", 400),
            (JSON, "[]", 400),
            (JSON, r#"{"status":8}"#, 400),
            (JSON, r#"{"status":"Completed","x":1}"#, 400),
            (JSON, r#"{"Status":"Completed"}"#, 400),
            (JSON, "{'status':'Completed'}", 400),
            (JSON, "{}", 400),
            (None, r#"{"status":"Completed"}"#, 415),
            (Some("text/json"), r#"{"status":"Completed"}"#, 415),
            (
                Some("application/x-www-form-urlencoded"),
                "status=Completed",
                415,
            ),
        ] {
            assert_eq!(
                canonical(content_type, body),
                Err(code),
                "{content_type:?} {body}"
            );
        }
    }

    #[test]
    fn json_net_binds_open_inputs_like_the_canonical_body() {
        let form = Some("application/x-www-form-urlencoded");
        for (content_type, body) in [
            (JSON, r#"{"status":"Completed"}"#),
            (JSON, r#"{"status":"completed"}"#),
            (JSON, r#"{"STATUS":"COMPLETED"}"#),
            (JSON, r#"{"status":"Completed","comment":"extra"}"#),
            (JSON, r#"{"status":"Canceled","Status":"Completed"}"#),
            (JSON, "{status:'Completed' /* lenient */}"),
            (JSON, r#"{"status":8}"#),
            (
                Some("text/json; charset=utf-8"),
                r#"{"status":"Completed"}"#,
            ),
            (
                Some("Application/JSON"),
                "\u{feff}{\"status\":\"Completed\"}",
            ),
            (form, "status=Completed"),
            (form, "Status=completed&other=1"),
            (form, "status=8"),
        ] {
            assert_eq!(
                read(Binding::JsonNet, content_type, body),
                COMPLETED,
                "{content_type:?} {body}"
            );
        }
        assert_eq!(
            read(Binding::JsonNet, JSON, r#"{"status":17}"#),
            Ok(BodyVerdict::Target(TargetStatus::Canceled))
        );
        assert_eq!(
            read(Binding::JsonNet, JSON, r#"{"status":9}"#),
            Ok(BodyVerdict::Target(TargetStatus::Abandoned))
        );
    }

    #[test]
    fn json_net_refuses_what_binds_no_documented_value() {
        let form = Some("application/x-www-form-urlencoded");
        assert_eq!(
            read(Binding::JsonNet, JSON, r#"{"status":"Approved"}"#),
            Ok(BodyVerdict::UnknownStatus("Approved".into()))
        );
        for (content_type, body, code) in [
            (JSON, "", 500),
            (JSON, "null", 500),
            (JSON, "{}", 500),
            (JSON, r#"{"status":null}"#, 500),
            (JSON, r#"{"other":"Completed"}"#, 500),
            (form, "other=Completed", 500),
            (JSON, r#"{"status":3}"#, 400),
            (JSON, r#"{"status":8.5}"#, 400),
            (JSON, r#"{"status":true}"#, 400),
            (JSON, r#"{"status":["Completed"]}"#, 400),
            (JSON, r#"["Completed"]"#, 400),
            (JSON, r#""Completed""#, 400),
            (JSON, r#"{"status":"Completed""#, 400),
            (JSON, r#"{"status":Completed}"#, 400),
            (form, "status=Completed&status=Canceled", 400),
            (form, "status=3", 400),
            (Some("application/xml"), r#"{"status":"Completed"}"#, 400),
            (Some("text/plain"), r#"{"status":"Completed"}"#, 415),
            (None, r#"{"status":"Completed"}"#, 415),
        ] {
            assert_eq!(
                read(Binding::JsonNet, content_type, body),
                Err(code),
                "{content_type:?} {body}"
            );
        }
    }
}
