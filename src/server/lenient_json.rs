//! Json.NET's lenient reader, as far as a PUT body needs it: single-quoted strings, `//` and
//! `/* */` comments, and unquoted member names are accepted (CONTRACT.md section 7). The text is
//! rewritten into strict JSON and then parsed by serde_json, so only the leniency is hand-written.
//! The members of the top-level object are kept in order, duplicates included, because Json.NET
//! binds the last of two duplicates.

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::Value;

/// A parsed body: the members of an object in their order (duplicates kept), or another value.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Object(Vec<(String, Value)>),
    Other(Value),
}

/// Parses `text` the way Json.NET's reader would; `Err` holds what is wrong.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let strict = to_strict(text)?;
    serde_json::from_str::<Body>(&strict)
        .map(|body| body.0)
        .map_err(|error| error.to_string())
}

/// Rewrites lenient JSON into strict JSON: comments become a blank, single-quoted strings and
/// bare member names become double-quoted strings. Everything else is copied for serde_json
/// to judge.
fn to_strict(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => quoted(c, &mut chars, &mut out)?,
            '/' => {
                comment(&mut chars)?;
                // A comment separates tokens, as blank space does.
                out.push(' ');
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if !(next.is_alphanumeric() || next == '_' || next == '$') {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                let mut ahead = chars.clone().skip_while(|c| c.is_whitespace());
                if ahead.next() == Some(':') {
                    out.push_str(&Value::String(word).to_string());
                } else {
                    // Not a member name: `true`, `null`, or a bare value serde_json refuses.
                    out.push_str(&word);
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Copies one string opened by `quote` as a double-quoted JSON string.
fn quoted(
    quote: char,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    out: &mut String,
) -> Result<(), String> {
    out.push('"');
    loop {
        match chars.next() {
            None => return Err("unterminated string".into()),
            Some(c) if c == quote => break,
            Some('\\') => match chars.next() {
                // `\'` is only an escape in a single-quoted string, and needs none in JSON.
                Some('\'') => out.push('\''),
                Some(escaped) => {
                    out.push('\\');
                    out.push(escaped);
                }
                None => return Err("unterminated string".into()),
            },
            Some('"') => out.push_str("\\\""),
            Some(c) => out.push(c),
        }
    }
    out.push('"');
    Ok(())
}

/// Skips a comment whose `/` was just read.
fn comment(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<(), String> {
    match chars.next() {
        Some('/') => {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            Ok(())
        }
        Some('*') => {
            let mut star = false;
            for c in chars.by_ref() {
                if star && c == '/' {
                    return Ok(());
                }
                star = c == '*';
            }
            Err("unterminated comment".into())
        }
        _ => Err("unexpected '/'".into()),
    }
}

/// The top-level value, keeping an object's members in order with their duplicates.
struct Body(Parsed);

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Body, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Value>()? {
            members.push(member);
        }
        Ok(Body(Parsed::Object(members)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Body, A::Error> {
        let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Body(Parsed::Other(value)))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Body, E> {
        Ok(Body(Parsed::Other(Value::String(text.into()))))
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Body, E> {
        Ok(Body(Parsed::Other(Value::Bool(value))))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Body, E> {
        Ok(Body(Parsed::Other(Value::from(value))))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Body, E> {
        Ok(Body(Parsed::Other(Value::from(value))))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Body, E> {
        Ok(Body(Parsed::Other(Value::from(value))))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Body, E> {
        Ok(Body(Parsed::Other(Value::Null)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(members: &[(&str, Value)]) -> Result<Parsed, String> {
        Ok(Parsed::Object(
            members
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
        ))
    }

    #[test]
    fn lenient_spellings_parse_like_the_canonical_body() {
        let canonical = object(&[("status", json!("Completed"))]);
        for text in [
            r#"{"status":"Completed"}"#,
            "{'status':'Completed'}",
            "{status:'Completed'}",
            "{ status : \"Completed\" }",
            "// the body\n{\"status\": /* the target */ \"Completed\"}",
            "{\"status\":\"Completed\"} // done",
        ] {
            assert_eq!(parse(text), canonical, "{text}");
        }
    }

    #[test]
    fn members_keep_their_order_and_duplicates() {
        assert_eq!(
            parse(r#"{"Status":"Canceled","status":"Completed","STATUS":8}"#),
            object(&[
                ("Status", json!("Canceled")),
                ("status", json!("Completed")),
                ("STATUS", json!(8)),
            ])
        );
        assert_eq!(
            parse(r#"{'note':'it\'s "quoted"'}"#),
            object(&[("note", json!("it's \"quoted\""))])
        );
    }

    #[test]
    fn other_values_and_errors() {
        assert_eq!(parse("null"), Ok(Parsed::Other(Value::Null)));
        assert_eq!(parse("[1]"), Ok(Parsed::Other(json!([1]))));
        assert_eq!(parse("'Completed'"), Ok(Parsed::Other(json!("Completed"))));
        assert_eq!(parse("8"), Ok(Parsed::Other(json!(8))));
        for bad in [
            "",
            "{",
            "{'status':'Completed'",
            "{\"status\":Completed}",
            "{\"status\":\"Completed\"} trailing",
            "{\"status\":\"Completed\" /* open",
            "{\"status\":\"Completed\"} /",
            "{'status",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
