//! The generated family (`--generate N --seed S`): negative inputs for the PUT, derived from the
//! facts of `schemas/put-body.schema.json` (an object with one required property whose value is
//! one of an enum of exact-case strings) and from the path's GUID. Each kind declares how it is
//! judged: a required refusal (sections 2 and 6), or an open input (section 7: another spelling
//! of a canonical PUT that .NET conventions may accept), which passes when refused or when
//! treated exactly as the canonical PUT.
//!
//! This module owns the variant kinds, the seeded choice of their parameters, and the wording of
//! generated titles. The run's contract (`--contract DIR`, or the built-in one) supplies the
//! schema's facts ([`BodyFacts`]), the source of the property name and enum values; the
//! life-cycle table (via [`crate::sequences::expectation_for`]) is the
//! source of what an accepting server must do. Cases are plain data and fully determined by
//! `(count, seed)`: case `i` depends only on the seed and `i`, so a smaller N is a prefix of a
//! larger one and a failing case can be reproduced alone.

use crate::client::OutgoingRequest;
use crate::contract::REQUESTS_PATH;
use crate::contract::kind::ExpectationKind;
use crate::contract::lifecycle::{RequestState, TargetStatus};
use crate::plan::{Case, CaseIdentity, Family, OpenRule, Step, StepKind};
use crate::sequences::{any_status, expectation_for, put_body, put_request, refusal, show_state};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

pub use crate::contract::put_body::BodyFacts;

/// Every generated case starts from Approved: every target is allowed there, so a wrongly
/// accepted input shows as a state change instead of hiding behind a forbidden transition.
const GIVEN: RequestState = RequestState::Approved;

const JSON: &str = "application/json";

/// 1.1 MiB: the smallest "huge" body.
const HUGE_MIN: usize = 1_153_434;

/// 10k characters: the shortest "very long" status.
const LONG_MIN: usize = 10_000;

/// One generated input, before it becomes a case.
struct Variant {
    /// Path template; may hold the id placeholders of [`OutgoingRequest`].
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Why the input must be refused, or why .NET may accept it.
    why: String,
    judged: Judged,
}

/// How a generated input is judged (CONTRACT.md sections 2, 6 and 7).
#[derive(Debug, Clone, Copy)]
enum Judged {
    /// Must be refused: a documented rule (section 2) or our reading (section 6).
    Refused(ExpectationKind),
    /// Another spelling of the canonical PUT of `target` (section 7): refused, or treated
    /// exactly as that PUT from the same state.
    Spelling(TargetStatus),
    /// An integer status (section 7, weaker sense): refused, or acting as one of the three
    /// documented values.
    AnyStatus,
}

impl Variant {
    /// A body variant on the plain `{id}` path with the JSON content type.
    fn body(body: Vec<u8>, why: impl Into<String>) -> Variant {
        Variant {
            path: id_path("{id}"),
            headers: json_header(JSON),
            body: Some(body),
            why: why.into(),
            judged: Judged::Refused(ExpectationKind::Reading),
        }
    }

    /// The well-formed body for `target` on a path whose last segment is `segment`.
    fn path(
        facts: &BodyFacts,
        segment: &str,
        target: TargetStatus,
        why: impl Into<String>,
    ) -> Variant {
        Variant {
            path: id_path(segment),
            ..Variant::body(facts.valid_body(target), why)
        }
    }

    /// Another spelling of the canonical PUT of `target` (section 7).
    fn open(self, target: TargetStatus) -> Variant {
        Variant {
            judged: Judged::Spelling(target),
            ..self
        }
    }

    fn judged(self, judged: Judged) -> Variant {
        Variant { judged, ..self }
    }
}

fn id_path(segment: &str) -> String {
    format!("{REQUESTS_PATH}/{segment}")
}

fn json_header(value: &str) -> Vec<(String, String)> {
    vec![("Content-Type".into(), value.into())]
}

impl BodyFacts {
    /// `{"status":<value>}` with the schema's property name, compact.
    fn body_with(&self, value: Value) -> Vec<u8> {
        let mut object = Map::new();
        object.insert(self.property.clone(), value);
        Value::Object(object).to_string().into_bytes()
    }

    /// `{"status":<raw>}` where `raw` is inserted as written (for numbers JSON has but f64 lacks).
    fn body_with_raw(&self, raw: &str) -> Vec<u8> {
        format!(r#"{{"{}":{raw}}}"#, self.property).into_bytes()
    }

    /// The well-formed body object asking for `target`.
    fn valid_value(&self, target: TargetStatus) -> Value {
        let mut object = Map::new();
        object.insert(self.property.clone(), Value::from(target.wire()));
        Value::Object(object)
    }

    fn valid_body(&self, target: TargetStatus) -> Vec<u8> {
        self.valid_value(target).to_string().into_bytes()
    }
}

/// A variant kind: its name (used in ids and tags) and how it is built from the seeded PRNG.
struct Kind {
    name: &'static str,
    build: fn(&mut Rng, &BodyFacts) -> Variant,
}

/// Every kind, in canonical order. The generator visits them in a seeded order, one full round
/// per `KINDS.len()` cases.
static KINDS: &[Kind] = &[
    Kind {
        name: "status-number",
        build: status_number,
    },
    Kind {
        name: "status-bool",
        build: status_bool,
    },
    Kind {
        name: "status-null",
        build: status_null,
    },
    Kind {
        name: "status-array",
        build: status_array,
    },
    Kind {
        name: "status-object",
        build: status_object,
    },
    Kind {
        name: "status-missing",
        build: status_missing,
    },
    Kind {
        name: "body-extra-field",
        build: body_extra_field,
    },
    Kind {
        name: "status-case-lower",
        build: status_case_lower,
    },
    Kind {
        name: "status-case-upper",
        build: status_case_upper,
    },
    Kind {
        name: "status-case-mixed",
        build: status_case_mixed,
    },
    Kind {
        name: "status-padded",
        build: status_padded,
    },
    Kind {
        name: "status-long",
        build: status_long,
    },
    Kind {
        name: "status-non-ascii",
        build: status_non_ascii,
    },
    Kind {
        name: "status-nul",
        build: status_nul,
    },
    Kind {
        name: "status-unknown",
        build: status_unknown,
    },
    Kind {
        name: "body-duplicate-key",
        build: body_duplicate_key,
    },
    Kind {
        name: "body-invalid-utf8",
        build: body_invalid_utf8,
    },
    Kind {
        name: "body-empty",
        build: body_empty,
    },
    Kind {
        name: "body-huge",
        build: body_huge,
    },
    Kind {
        name: "body-not-object",
        build: body_not_object,
    },
    Kind {
        name: "body-truncated",
        build: body_truncated,
    },
    Kind {
        name: "content-type-missing",
        build: content_type_missing,
    },
    Kind {
        name: "id-too-short",
        build: id_too_short,
    },
    Kind {
        name: "id-path-traversal",
        build: id_path_traversal,
    },
    Kind {
        name: "id-trailing-garbage",
        build: id_trailing_garbage,
    },
    Kind {
        name: "id-upper-case",
        build: id_upper_case,
    },
    Kind {
        name: "id-braced",
        build: id_braced,
    },
    Kind {
        name: "id-no-dashes",
        build: id_no_dashes,
    },
    Kind {
        name: "id-percent-encoded",
        build: id_percent_encoded,
    },
    Kind {
        name: "body-whitespace",
        build: body_whitespace,
    },
    Kind {
        name: "status-unicode-escape",
        build: status_unicode_escape,
    },
    Kind {
        name: "content-type-charset",
        build: content_type_charset,
    },
];

static KIND_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| KINDS.iter().map(|kind| kind.name).collect());

/// The names of every variant kind, in canonical order (for docs and tests).
pub fn variant_kinds() -> &'static [&'static str] {
    KIND_NAMES.as_slice()
}

/// `count` generated cases for `seed` from the contract's `facts`: the same seed gives the same
/// cases, in the same order, byte for byte. Every run of `variant_kinds().len()` consecutive
/// cases holds every kind once.
pub fn generate(count: usize, seed: u64, facts: &BodyFacts) -> Vec<Case> {
    generated(count, seed, facts.clone()).collect()
}

/// The same cases as [`generate`], built one at a time as they are taken: a run of 100,000
/// generated cases never holds its plan (a huge-body case alone is 1.1 MiB) in memory.
pub fn generated(
    count: usize,
    seed: u64,
    facts: BodyFacts,
) -> impl Iterator<Item = Case> + Send + 'static {
    let mut order = Vec::new();
    (0..count).map(move |index| {
        let round = index / KINDS.len();
        if index % KINDS.len() == 0 || order.is_empty() {
            order = shuffled_kinds(seed, round as u64);
        }
        let kind = &KINDS[order[index % KINDS.len()]];
        let mut rng = Rng::derive(seed, Rng::PARAMETERS, index as u64);
        to_case(index, kind.name, (kind.build)(&mut rng, &facts))
    })
}

/// A seeded permutation of the kind indices for one round (Fisher-Yates).
fn shuffled_kinds(seed: u64, round: u64) -> Vec<usize> {
    let mut rng = Rng::derive(seed, Rng::ORDER, round);
    let mut order: Vec<usize> = (0..KINDS.len()).collect();
    for last in (1..order.len()).rev() {
        order.swap(last, rng.below(last + 1));
    }
    order
}

fn to_case(index: usize, kind: &str, variant: Variant) -> Case {
    let (expect, step_kind, section) = match variant.judged {
        Judged::Refused(ExpectationKind::Documented) => (refusal(), StepKind::Documented, "2"),
        Judged::Refused(_) => (refusal(), StepKind::Reading, "6"),
        Judged::Spelling(target) => {
            let rule = OpenRule::Spelling(put_request(target));
            (expectation_for(GIVEN, target), StepKind::Open { rule }, "7")
        }
        Judged::AnyStatus => {
            let rule = OpenRule::AnyStatus;
            (any_status(), StepKind::Open { rule }, "7")
        }
    };
    Case {
        identity: std::sync::Arc::new(CaseIdentity {
            id: format!("gen-{index:04}-{kind}"),
            title: title(&variant),
            section: section.into(),
            tags: vec!["generated".into(), kind.into()],
            family: Family::Generated,
            given: Some(GIVEN),
        }),
        steps: vec![Step {
            request: OutgoingRequest {
                method: "PUT".into(),
                path: variant.path,
                headers: variant.headers,
                body: variant.body.map(bytes::Bytes::from),
                credentials: true,
            },
            expect,
            kind: step_kind,
        }],
        race: None,
    }
}

/// What was sent and what is expected, in one sentence.
fn title(variant: &Variant) -> String {
    let headers = match variant.headers.as_slice() {
        [] => "no Content-Type".to_string(),
        headers => headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", show_bytes(value.as_bytes())))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let body = match variant.body.as_deref() {
        None => "no body".to_string(),
        Some([]) => "an empty body".to_string(),
        Some(bytes) => format!("body {}", show_body(bytes)),
    };
    let refused = format!(
        "refused (never 2xx, GET still shows Status {})",
        GIVEN.code()
    );
    let expected = match variant.judged {
        Judged::Spelling(target) => format!(
            "open input: {}; expected {refused}, or treated exactly as {} from the same state",
            variant.why,
            put_body(target)
        ),
        Judged::AnyStatus => format!(
            "open input: {}; expected {refused}, or acting as one of Completed, Canceled or \
             Abandoned from the same state",
            variant.why
        ),
        Judged::Refused(_) => format!("{}; expected {refused}", variant.why),
    };
    format!(
        "PUT {} on a request in {}, {headers}, {body}: {expected}",
        variant.path,
        show_state(GIVEN)
    )
}

/// A body as titles show it: abbreviated in the middle when long, with its size.
fn show_body(bytes: &[u8]) -> String {
    const HEAD: usize = 100;
    const TAIL: usize = 24;
    if bytes.len() <= HEAD + TAIL + 40 {
        return show_bytes(bytes);
    }
    let head = char_boundary_back(bytes, HEAD);
    let tail = char_boundary_forward(bytes, bytes.len() - TAIL);
    format!(
        "{}…[{} bytes elided]…{} ({} bytes)",
        show_bytes(&bytes[..head]),
        tail - head,
        show_bytes(&bytes[tail..]),
        bytes.len()
    )
}

/// Moves `at` back over UTF-8 continuation bytes so a cut never splits a character.
fn char_boundary_back(bytes: &[u8], mut at: usize) -> usize {
    while at > 0 && bytes.get(at).is_some_and(|byte| byte & 0xC0 == 0x80) {
        at -= 1;
    }
    at
}

fn char_boundary_forward(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|byte| byte & 0xC0 == 0x80) {
        at += 1;
    }
    at
}

/// Bytes as readable text: valid UTF-8 as is, except control and invisible characters, which
/// are escaped (`\n`, `\u{200b}`), and invalid bytes, shown as `\xff`.
fn show_bytes(bytes: &[u8]) -> String {
    let mut shown = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => shown.push_str("\\n"),
                '\r' => shown.push_str("\\r"),
                '\t' => shown.push_str("\\t"),
                c if is_invisible(c) => shown.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
                c => shown.push(c),
            }
        }
        for byte in chunk.invalid() {
            shown.push_str(&format!("\\x{byte:02x}"));
        }
    }
    shown
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || (!c.is_ascii() && c.is_whitespace())
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{feff}')
}

// ---------------------------------------------------------------------------------------------
// Wrong JSON types for the status property (schema: "type": "string").

fn status_number(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let mut numbers: Vec<String> = RequestState::ALL
        .iter()
        .map(|state| state.code().to_string())
        .collect();
    numbers.extend(["0", "1", "2", "-1", "1.5", "1e400"].map(String::from));
    let raw = rng.pick(&numbers);
    if raw.parse::<i64>().is_err() {
        let why =
            "status must be a string, and a fraction or an out-of-range number names no status";
        return Variant::body(facts.body_with_raw(&raw), why);
    }
    let why = "an integer status: Json.NET binds integers to enums unless told not to, so it may \
               act as one of the documented values";
    Variant::body(facts.body_with_raw(&raw), why).judged(Judged::AnyStatus)
}

fn status_bool(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let raw = rng.pick(&["true", "false"]);
    Variant::body(
        facts.body_with_raw(raw),
        "status must be a string, not a boolean",
    )
}

fn status_null(_: &mut Rng, facts: &BodyFacts) -> Variant {
    Variant::body(
        facts.body_with(Value::Null),
        "status is required and must be a string, not null",
    )
}

fn status_array(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let value = rng.pick(&facts.values).wire();
    let other = rng.pick(&facts.values).wire();
    let array = rng.pick(&[
        json!([value]),
        json!([]),
        json!([value, other]),
        json!([null]),
    ]);
    Variant::body(
        facts.body_with(array),
        "status must be a string, not an array",
    )
}

fn status_object(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let value = rng.pick(&facts.values).wire();
    let mut nested = Map::new();
    nested.insert(facts.property.clone(), Value::from(value));
    let object = rng.pick(&[json!({ "value": value }), json!({}), Value::Object(nested)]);
    Variant::body(
        facts.body_with(object),
        "status must be a string, not an object",
    )
}

// ---------------------------------------------------------------------------------------------
// The object's shape (schema: "required": ["status"], "additionalProperties": false).

fn status_missing(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let value = Value::from(rng.pick(&facts.values).wire());
    let name = &facts.property;
    // Never a case variant of the name: .NET binds property names case-insensitively.
    let misspelled = [
        String::new(),
        "state".into(),
        format!("{name}es"),
        name.chars().skip(1).collect(),
    ];
    let mut object = Map::new();
    if rng.chance() {
        object.insert(rng.pick(&misspelled), value);
    }
    let why = format!("the required property '{name}' is missing");
    Variant::body(Value::Object(object).to_string().into_bytes(), why)
}

fn body_extra_field(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let value = Value::from(target.wire());
    let (extra, extra_value) = rng.pick(&[
        ("comment", json!("x")),
        ("force", json!(true)),
        ("reason", json!("generated")),
        ("Uuid", json!("00000000-0000-0000-0000-000000000000")),
    ]);
    let mut object = Map::new();
    let extra_first = rng.chance();
    if extra_first {
        object.insert(extra.into(), extra_value.clone());
    }
    object.insert(facts.property.clone(), value);
    if !extra_first {
        object.insert(extra.into(), extra_value);
    }
    let why = format!(
        "a property besides '{}': Json.NET ignores unknown members by default",
        facts.property
    );
    let mut body = Value::Object(object).to_string().into_bytes();
    // The serializer grew its buffer by doubling: give back the unused half of 2 MiB.
    body.shrink_to_fit();
    Variant::body(body, why).open(target)
}

fn body_duplicate_key(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let value = target.wire();
    let unknown = rng.pick(&unknown_values(facts));
    let name = &facts.property;
    let raw = format!(
        r#"{{"{name}":{},"{name}":{}}}"#,
        Value::from(value),
        Value::from(unknown)
    );
    let why = "duplicate keys (RFC 8259 says names SHOULD be unique): a last-wins parser (.NET) \
               sees an unknown value and refuses, a first-wins parser sees the valid first one";
    Variant::body(raw.into_bytes(), why).open(target)
}

fn body_not_object(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let code = expectation_for(GIVEN, target)
        .status_value
        .unwrap_or_default();
    let top = rng.pick(&[
        Value::from(target.wire()),
        json!([facts.valid_value(target)]),
        Value::from(code),
        Value::Null,
        Value::from(true),
    ]);
    Variant::body(
        top.to_string().into_bytes(),
        "the body must be a JSON object",
    )
}

// ---------------------------------------------------------------------------------------------
// Strings outside the enum (schema: "enum" of exact-case strings).

/// Strings that are not in the enum yet look like they could be: the other states' names, near
/// misspellings of the targets, their codes as strings, and the empty string.
fn unknown_values(facts: &BodyFacts) -> Vec<String> {
    let enum_values: Vec<&str> = facts.values.iter().map(|target| target.wire()).collect();
    let states = RequestState::ALL
        .iter()
        .map(|state| capitalized(state.name()));
    let codes = RequestState::ALL
        .iter()
        .map(|state| state.code().to_string());
    let near = ["Cancelled", "Complete", "Abandon", "Aborted", ""].map(String::from);
    states
        .chain(codes)
        .chain(near)
        .filter(|candidate| !enum_values.contains(&candidate.as_str()))
        .collect()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn status_unknown(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let value = rng.pick(&unknown_values(facts));
    let why = format!("'{value}' is not one of the schema's enum values");
    Variant::body(facts.body_with(Value::from(value)), why)
}

fn string_variant(facts: &BodyFacts, value: String, why: &str) -> Variant {
    Variant::body(facts.body_with(Value::from(value)), why)
}

/// Why another letter case of an enum value is open (section 7).
const CASE_WHY: &str = "Json.NET binds enum names case-insensitively up to version 9";

fn status_case_lower(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    string_variant(facts, target.wire().to_lowercase(), CASE_WHY).open(target)
}

fn status_case_upper(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    string_variant(facts, target.wire().to_uppercase(), CASE_WHY).open(target)
}

/// Random casing that is neither the enum value, nor all lower, nor all upper case: the first
/// letter is lowered (so it differs from the exact spelling) and at least one other is raised.
fn status_case_mixed(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let wire = target.wire();
    let mut chars: Vec<char> = wire
        .chars()
        .enumerate()
        .map(|(at, c)| {
            if at > 0 && rng.chance() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if !chars.iter().any(char::is_ascii_uppercase)
        && let Some(last) = chars.last_mut()
    {
        *last = last.to_ascii_uppercase();
    }
    string_variant(facts, chars.into_iter().collect(), CASE_WHY).open(target)
}

fn status_padded(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let wire = target.wire();
    let (before, after) = rng.pick(&[
        (" ", ""),
        ("", " "),
        ("", "\n"),
        ("\t", ""),
        (" ", " "),
        ("", "\r\n"),
        ("\u{a0}", ""),
    ]);
    let why = "whitespace padding inside the string: .NET's Enum.Parse trims it, a strict reader \
               finds no enum value";
    string_variant(facts, format!("{before}{wire}{after}"), why).open(target)
}

fn status_long(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let wire = rng.pick(&facts.values).wire();
    let length = LONG_MIN + rng.below(LONG_MIN + 1);
    let value: String = match rng.below(3) {
        0 => wire.chars().cycle().take(length).collect(),
        1 => wire
            .chars()
            .chain(std::iter::repeat('x'))
            .take(length)
            .collect(),
        _ => "A".repeat(length),
    };
    let why = format!("a {length}-character string is not one of the enum values");
    string_variant(facts, value, &why)
}

fn status_non_ascii(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let wire = rng.pick(&facts.values).wire();
    let emoji = rng.pick(&["✅", "🎉", "👍"]);
    let (value, what) = match rng.below(5) {
        0 => (wire.replace('e', "é"), "accented letters"),
        1 => (map_first(wire, fullwidth), "a fullwidth first letter"),
        2 => (map_first(wire, homoglyph), "a Cyrillic look-alike letter"),
        3 => (format!("{wire}{emoji}"), "an emoji appended"),
        _ => (insert_middle(wire, '\u{200b}'), "a zero-width space inside"),
    };
    let why = format!("with {what} it is another string than the enum value {wire}");
    string_variant(facts, value, &why)
}

/// The enum value with its first character that `map` knows replaced.
fn map_first(text: &str, map: fn(char) -> Option<char>) -> String {
    let mut done = false;
    text.chars()
        .map(|c| match map(c).filter(|_| !done) {
            Some(mapped) => {
                done = true;
                mapped
            }
            None => c,
        })
        .collect()
}

/// The fullwidth form (U+FF01..) of a printable ASCII character.
fn fullwidth(c: char) -> Option<char> {
    ('!'..='~')
        .contains(&c)
        .then(|| char::from_u32(u32::from(c) - 0x21 + 0xff01))
        .flatten()
}

/// A Cyrillic letter that looks like the Latin one.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'A' => 'А',
        'C' => 'С',
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        _ => return None,
    })
}

fn insert_middle(text: &str, inserted: char) -> String {
    let middle = text.chars().count() / 2;
    text.chars()
        .enumerate()
        .flat_map(|(at, c)| (at == middle).then_some(inserted).into_iter().chain([c]))
        .collect()
}

fn status_nul(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let wire = rng.pick(&facts.values).wire();
    let value = rng.pick(&[
        format!("{wire}\u{0}"),
        format!("{wire}\u{0}Foo"),
        format!("\u{0}{wire}"),
    ]);
    let why = "the NUL (JSON \\u0000) is part of the string; a server that reads it as a C string \
               would see the enum value";
    string_variant(facts, value, why)
}

// ---------------------------------------------------------------------------------------------
// Bodies that are not JSON text, or far too large.

fn body_invalid_utf8(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let wire = rng.pick(&facts.values).wire();
    let (bad, what): (&[u8], &str) = rng.pick(&[
        (&b"\xff"[..], "the byte 0xFF"),
        (&b"\xc3\x28"[..], "a lead byte without continuation"),
        (&b"\xc0\xaf"[..], "an overlong encoding"),
        (&b"\xed\xa0\x80"[..], "an encoded UTF-16 surrogate"),
        (&b"\xe9"[..], "a Latin-1 e-acute"),
        (&b"\x80"[..], "a lone continuation byte"),
    ]);
    let at = 1 + rng.below(wire.len().saturating_sub(1).max(1));
    let (head, tail) = wire.split_at(at.min(wire.len()));
    let mut body = format!(r#"{{"{}":"{head}"#, facts.property).into_bytes();
    body.extend_from_slice(bad);
    body.extend_from_slice(format!(r#"{tail}"}}"#).as_bytes());
    let why =
        format!("{what} makes the body invalid UTF-8, so it is not JSON text (RFC 8259 §8.1)");
    Variant::body(body, why)
}

fn body_empty(rng: &mut Rng, _: &BodyFacts) -> Variant {
    let body = rng.pick(&["", " ", "\r\n"]);
    Variant::body(
        body.as_bytes().to_vec(),
        "an empty or blank body is no JSON value",
    )
}

fn body_huge(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let size = HUGE_MIN + rng.below(HUGE_MIN / 3);
    let mut object = Map::new();
    object.insert(facts.property.clone(), Value::from(target.wire()));
    object.insert("padding".into(), Value::from(""));
    // `{..., "padding":""}`: the padding characters need no escape, so they are written once
    // into the empty value at the final size (serializing a 1.1 MiB string took 5 MiB).
    let frame = Value::Object(object).to_string();
    let padding = rng.pick(b"x 0");
    let (head, tail) = frame.split_at(frame.len().saturating_sub(2));
    let mut body = Vec::with_capacity(size.max(frame.len()));
    body.extend_from_slice(head.as_bytes());
    body.extend(std::iter::repeat_n(
        padding,
        size.saturating_sub(frame.len()),
    ));
    body.extend_from_slice(tail.as_bytes());
    let why = format!(
        "a {size}-byte body (over 1 MiB) with an unknown property: a size limit refuses it, \
         Json.NET ignores the property"
    );
    Variant::body(body, why).open(target)
}

fn body_truncated(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let body = facts.valid_body(rng.pick(&facts.values));
    let cut = 1 + rng.below(body.len().saturating_sub(1).max(1));
    let why = format!("the JSON text ends after {cut} of its {} bytes", body.len());
    Variant::body(body[..cut.min(body.len())].to_vec(), why)
}

fn content_type_missing(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    Variant {
        headers: Vec::new(),
        ..Variant::body(
            facts.valid_body(rng.pick(&facts.values)),
            "section 2 requires Content-Type: application/json when there is a body",
        )
        .judged(Judged::Refused(ExpectationKind::Documented))
    }
}

// ---------------------------------------------------------------------------------------------
// The GUID in the path. The staged id is only known at run time, so these use the id
// placeholders that `OutgoingRequest::resolve` replaces.

fn id_too_short(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let why = format!(
        "{} is the staged id without its last character, not a GUID",
        OutgoingRequest::ID_SHORT
    );
    Variant::path(
        facts,
        OutgoingRequest::ID_SHORT,
        rng.pick(&facts.values),
        why,
    )
}

fn id_path_traversal(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let segment = rng.pick(&[
        "../{id}",
        "%2e%2e/{id}",
        "..%2f{id}",
        "%2e%2e%2f{id}",
        "..;/{id}",
    ]);
    let why = "a dot-dot segment before the id addresses another resource (or an invalid id), \
               not the request; clients may resolve ../ and %2e%2e/ before sending";
    Variant::path(facts, segment, rng.pick(&facts.values), why)
}

fn id_trailing_garbage(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let segment = rng.pick(&[
        "{id}0",
        "{id}x",
        "{id}-0000",
        "{id}.json",
        "{id}%00",
        "{id}{id}",
    ]);
    let why = "characters after the GUID make the segment no GUID";
    Variant::path(facts, segment, rng.pick(&facts.values), why)
}

fn id_upper_case(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let why = format!(
        ".NET parses upper-case GUIDs ({} is the staged id upper-cased)",
        OutgoingRequest::ID_UPPER
    );
    Variant::path(facts, OutgoingRequest::ID_UPPER, target, why).open(target)
}

fn id_braced(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let why = format!(
        ".NET parses the braced GUID form \"B\" ({} is the staged id in braces, sent as %7B..%7D)",
        OutgoingRequest::ID_BRACED
    );
    Variant::path(facts, OutgoingRequest::ID_BRACED, target, why).open(target)
}

fn id_no_dashes(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let why = format!(
        ".NET parses the 32-digit GUID form \"N\" ({} is the staged id without dashes)",
        OutgoingRequest::ID_SIMPLE
    );
    Variant::path(facts, OutgoingRequest::ID_SIMPLE, target, why).open(target)
}

fn id_percent_encoded(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let why = format!(
        "percent-encoded unreserved characters are the same URI (RFC 3986 §2.3) and IIS decodes \
         the path before routing ({} is the staged id with every character as %XX)",
        OutgoingRequest::ID_PERCENT
    );
    Variant::path(facts, OutgoingRequest::ID_PERCENT, target, why).open(target)
}

// ---------------------------------------------------------------------------------------------
// Valid spellings of a valid body or header.

fn body_whitespace(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let mut gaps: Vec<String> = (0..6).map(|_| json_whitespace(rng)).collect();
    if gaps.iter().all(String::is_empty) {
        gaps[1] = " ".into();
    }
    let body = format!(
        "{}{{{}\"{}\"{}:{}{}{}}}",
        gaps[0],
        gaps[1],
        facts.property,
        gaps[2],
        gaps[3],
        Value::from(target.wire()),
        gaps[4]
    ) + &gaps[5];
    let why = "whitespace around JSON tokens is insignificant (RFC 8259 §2)";
    Variant::body(body.into_bytes(), why).open(target)
}

/// 0 to 3 of JSON's four insignificant whitespace characters.
fn json_whitespace(rng: &mut Rng) -> String {
    (0..rng.below(4))
        .map(|_| rng.pick(&[' ', '\t', '\n', '\r']))
        .collect()
}

fn status_unicode_escape(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let wire = target.wire();
    let at = rng.below(wire.chars().count());
    let upper_hex = rng.chance();
    let escaped: String = wire
        .chars()
        .enumerate()
        .map(|(index, c)| match (index == at, upper_hex) {
            (true, true) => format!("\\u{:04X}", u32::from(c)),
            (true, false) => format!("\\u{:04x}", u32::from(c)),
            (false, _) => c.to_string(),
        })
        .collect();
    let body = format!(r#"{{"{}":"{escaped}"}}"#, facts.property);
    let why = format!("a JSON \\u escape decodes to the same string \"{wire}\" (RFC 8259 §7)");
    Variant::body(body.into_bytes(), why).open(target)
}

fn content_type_charset(rng: &mut Rng, facts: &BodyFacts) -> Variant {
    let target = rng.pick(&facts.values);
    let value = rng.pick(&[
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ]);
    let why = "a charset parameter on application/json is still application/json";
    Variant {
        headers: json_header(value),
        ..Variant::body(facts.valid_body(target), why).open(target)
    }
}

// ---------------------------------------------------------------------------------------------

/// The generator of the generated family: ChaCha8, whose output is specified, so that a seed
/// gives the same cases in every build.
struct Rng(ChaCha8Rng);

impl Rng {
    /// Stream for the order of the kinds in each round.
    const ORDER: u64 = 1;
    /// Stream for the parameters of each case.
    const PARAMETERS: u64 = 2;

    /// An independent generator for one purpose and one index, so that case `i` depends on the
    /// seed and `i` only. ChaCha8's output is specified, so a seed means the same cases on every
    /// platform and version.
    fn derive(seed: u64, stream: u64, index: u64) -> Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream((stream << 48) ^ index);
        Rng(rng)
    }

    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (0 when `n` is 0); the modulo bias is irrelevant for test inputs.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// One of `items`, which callers never pass empty (constants, or the schema enum, which
    /// [`BodyFacts::from_schema`] rejects when empty).
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::fixture::Outcome;
    use crate::contract::lifecycle::transition;
    use std::collections::BTreeMap;

    const STAGED: &str = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099";

    fn kind_of(case: &Case) -> &str {
        case.tags.get(1).map(String::as_str).unwrap_or_default()
    }

    fn step(case: &Case) -> &Step {
        let [step] = case.steps.as_slice() else {
            panic!("{}: one step expected", case.id)
        };
        step
    }

    /// The built-in contract's facts, as a run without `--contract` has them.
    fn facts() -> BodyFacts {
        crate::contract::Contract::embedded()
            .map(|contract| contract.put_body)
            .unwrap_or_else(|error| panic!("built-in contract: {error}"))
    }

    fn generate(count: usize, seed: u64) -> Vec<Case> {
        super::generate(count, seed, &facts())
    }

    #[test]
    fn the_facts_shape_the_cases() {
        let only_complete = BodyFacts {
            property: "state".into(),
            values: vec![TargetStatus::Completed],
        };
        let cases = super::generate(64, 4, &only_complete);
        let bodies: Vec<String> = cases
            .iter()
            .map(|case| step(case).request.body.clone().unwrap_or_default())
            .map(|body| String::from_utf8_lossy(&body).into_owned())
            .collect();
        assert!(bodies.iter().any(|body| body.contains(r#""state""#)));
        assert!(!bodies.iter().any(|body| body.contains(r#""status""#)));
        let text = |cases: &[Case]| serde_json::to_string(cases).unwrap_or_default();
        assert_ne!(text(&cases), text(&generate(64, 4)));
    }

    #[test]
    fn same_seed_same_cases() {
        let first = serde_json::to_string(&generate(200, 42)).unwrap_or_default();
        let second = serde_json::to_string(&generate(200, 42)).unwrap_or_default();
        assert!(!first.is_empty());
        assert_eq!(first, second);
    }

    #[test]
    fn different_seeds_differ() {
        let fingerprint = |seed| {
            generate(64, seed)
                .into_iter()
                .map(|case| (case.id.clone(), step(&case).request.body.clone()))
                .collect::<Vec<_>>()
        };
        assert_ne!(fingerprint(1), fingerprint(2));
    }

    #[test]
    fn a_smaller_count_is_a_prefix() {
        let small = serde_json::to_value(generate(40, 7)).unwrap_or_default();
        let large = serde_json::to_value(&generate(200, 7)[..40]).unwrap_or_default();
        assert_eq!(small, large);
    }

    #[test]
    fn two_hundred_cover_every_kind_several_times() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let cases = generate(200, 3);
        for case in &cases {
            *counts.entry(kind_of(case)).or_default() += 1;
        }
        for kind in variant_kinds() {
            let count = counts.get(kind).copied().unwrap_or_default();
            assert!(count >= 200 / variant_kinds().len(), "{kind}: {count}");
        }
        assert_eq!(counts.len(), variant_kinds().len());
    }

    #[test]
    fn ids_tags_and_shape() {
        let cases = generate(100, 11);
        for (index, case) in cases.iter().enumerate() {
            let kind = kind_of(case);
            assert_eq!(case.id, format!("gen-{index:04}-{kind}"));
            assert!(
                case.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
            assert_eq!(case.tags, ["generated", kind]);
            assert_eq!(case.family, Family::Generated);
            let section = match step(case).kind {
                StepKind::Documented => "2",
                StepKind::Reading => "6",
                StepKind::Open { .. } => "7",
            };
            assert_eq!(case.section, section, "{}", case.id);
            assert_eq!(case.given, Some(RequestState::Approved));
            assert!(case.race.is_none());
            assert_eq!(step(case).request.method, "PUT");
        }
    }

    #[test]
    fn sizes_are_as_advertised() {
        for case in generate(200, 5) {
            let body = step(&case).request.body.clone().unwrap_or_default();
            match kind_of(&case) {
                "body-huge" => assert!(body.len() >= HUGE_MIN, "{}", body.len()),
                "status-long" => assert!(body.len() >= LONG_MIN, "{}", body.len()),
                _ => assert!(body.len() < 4096, "{}", case.id),
            }
            assert!(case.title.len() < 600, "{}: {}", case.id, case.title);
        }
    }

    /// An independent oracle: the body validates against the schema, the Content-Type is JSON,
    /// and the resolved, percent-decoded path segment parses as the staged GUID.
    fn valid_target(request: &OutgoingRequest) -> Option<TargetStatus> {
        let text = include_str!("../schemas/put-body.schema.json");
        let schema: Value = serde_json::from_str(text).ok()?;
        let validator = jsonschema::draft202012::new(&schema).ok()?;
        let body: Value = serde_json::from_slice(request.body.as_deref()?).ok()?;
        let json_type = request.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("content-type")
                && value
                    .split(';')
                    .next()
                    .is_some_and(|media| media.trim() == JSON)
        });
        let path = request.resolve(Some(STAGED), "fresh").path;
        let segment = path.strip_prefix(&format!("{REQUESTS_PATH}/"))?;
        let decoded = percent_decode(segment)?;
        let id = uuid::Uuid::parse_str(&decoded).ok()?;
        let good = validator.is_valid(&body) && json_type && id.to_string() == STAGED;
        good.then(|| body["status"].as_str().and_then(TargetStatus::from_wire))?
    }

    fn percent_decode(text: &str) -> Option<String> {
        let mut decoded = Vec::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if c == '%' {
                decoded.push(u8::from_str_radix(rest.get(1..3)?, 16).ok()?);
                rest = &rest[3..];
            } else {
                decoded.extend_from_slice(c.to_string().as_bytes());
                rest = &rest[c.len_utf8()..];
            }
        }
        String::from_utf8(decoded).ok()
    }

    /// Kinds that are other spellings of a valid PUT (section 7) although the oracle, which
    /// knows only the canonical form, finds them invalid.
    const OPEN_BEYOND_THE_ORACLE: [&str; 8] = [
        "body-extra-field",
        "status-case-lower",
        "status-case-upper",
        "status-case-mixed",
        "status-padded",
        "body-duplicate-key",
        "body-huge",
        "status-number",
    ];

    #[test]
    fn expectations_match_an_independent_oracle() {
        for case in generate(320, 9) {
            let step = step(&case);
            let oracle = valid_target(&step.request);
            match (&step.kind, oracle) {
                (
                    StepKind::Open {
                        rule: OpenRule::Spelling(canonical),
                    },
                    _,
                ) => {
                    let body = canonical.body.clone().unwrap_or_default();
                    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let target = value["status"].as_str().and_then(TargetStatus::from_wire);
                    let Some(target) = target else {
                        panic!(
                            "{}: the canonical request names no documented status",
                            case.id
                        )
                    };
                    assert!(oracle.is_none_or(|valid| valid == target), "{}", case.id);
                    assert!(
                        oracle.is_some() || OPEN_BEYOND_THE_ORACLE.contains(&kind_of(&case)),
                        "{}",
                        case.id
                    );
                    let to = transition(RequestState::Approved, target).map(RequestState::code);
                    assert_eq!(step.expect.outcome, Outcome::Success, "{}", case.id);
                    assert_eq!(step.expect.status_value, to, "{}", case.id);
                    assert!(case.title.contains("open input: "), "{}", case.title);
                }
                (
                    StepKind::Open {
                        rule: OpenRule::AnyStatus,
                    },
                    None,
                ) => {
                    let body = step.request.body.clone().unwrap_or_default();
                    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
                    assert!(value["status"].is_i64(), "{}", case.title);
                    assert!(case.title.contains("acting as one of"), "{}", case.title);
                }
                (StepKind::Documented | StepKind::Reading, None) => {
                    assert_eq!(step.expect.outcome, Outcome::Refusal, "{}", case.id);
                    assert!(case.title.contains("expected refused"), "{}", case.title);
                }
                (kind, oracle) => panic!("{}: {kind:?} for a valid {oracle:?}", case.id),
            }
        }
    }

    #[test]
    fn resolve_spells_the_staged_id() {
        let resolved = |segment: &str| {
            let request = OutgoingRequest {
                method: "PUT".into(),
                path: segment.into(),
                headers: Vec::new(),
                body: None,
                credentials: true,
            };
            request.resolve(Some(STAGED), "fresh").path
        };
        assert_eq!(resolved("{ID}"), STAGED.to_uppercase());
        assert_eq!(resolved("{id_n}"), STAGED.replace('-', ""));
        assert_eq!(resolved("{id_braced}"), format!("{{{STAGED}}}"));
        assert_eq!(resolved("{id_short}"), STAGED[..STAGED.len() - 1]);
        assert_eq!(resolved("{id_pct}").len(), STAGED.len() * 3);
        assert!(resolved("{id_pct}").starts_with("%61%39%62"));
        assert_eq!(resolved("../{id}"), format!("../{STAGED}"));
    }

    #[test]
    fn titles_show_exact_bytes() {
        assert_eq!(show_bytes(b"a\n\xff\0"), "a\\n\\xff\\u{0}");
        assert_eq!(show_bytes("x\u{200b}é".as_bytes()), "x\\u{200b}é");
        let long = format!(r#"{{"status":"{}"}}"#, "x".repeat(500));
        let shown = show_body(long.as_bytes());
        assert!(
            shown.contains("bytes elided") && shown.ends_with(&format!("({} bytes)", long.len()))
        );
    }

    #[test]
    fn every_kind_has_a_unique_name() {
        let mut names = variant_kinds().to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
    }
}
