//! `unique_member_names` (section 3, RFC 8259 section 4): no object in an API answer has two
//! members with the same name. serde (like Json.NET) keeps the last of them, so every other
//! check sees one value while another client may read the first: `"Status":99, ...,
//! "Status":8` passes every parsed check. This check therefore reads the raw bytes with its own
//! scanner, which decodes escapes (`"St\u0061tus"` is `"Status"`) and keeps an explicit stack
//! instead of recursing, so hostile nesting costs memory bounded by the (capped) body, never the
//! call stack. Names that differ only in letter case warn: Json.NET binds members
//! case-insensitively, so a .NET client cannot tell them apart either.

use super::{CheckContext, Subject, Verdict};
use std::collections::HashMap;

/// Every answer with a body is scanned; answers that are not JSON yield nothing here (the
/// content-type and schema checks judge them).
pub fn unique_member_names(subject: &Subject, _: &CheckContext) -> Option<Verdict> {
    let answers = subject.answers_with_bodies();
    if answers.is_empty() {
        return None;
    }
    let (mut duplicates, mut case_only) = (Vec::new(), Vec::new());
    for (label, response) in answers {
        for found in repeated_members(&response.body) {
            let line = format!("{label}: {} ({} times)", found.path(), found.count);
            match found.kind {
                Repetition::Exact => duplicates.push(line),
                Repetition::LetterCase => case_only.push(line),
            }
        }
    }
    let verdict = Verdict::from_problems(
        duplicates,
        "an object carries the same member name more than once (RFC 8259 section 4: not interoperable; parsers disagree on which value counts)",
        "unique member names in every object",
    );
    if verdict.is_fail() || case_only.is_empty() {
        return Some(verdict);
    }
    Some(Verdict::warn(format!(
        "an object carries member names that differ only in letter case (Json.NET binds them \
         to the same property): {}",
        case_only.join("; ")
    )))
}

/// How a member name repeats within one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repetition {
    /// The same name (after decoding escapes).
    Exact,
    /// Names equal but for ASCII letter case.
    LetterCase,
}

/// A member name that occurs more than once in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    /// Where the object is, as `$`, `$.DataCollection[0]`, `$["a b"]`.
    pub object: String,
    /// The name as decoded (for a letter-case repetition, its first spelling).
    pub name: String,
    pub count: usize,
    pub kind: Repetition,
}

impl Repeated {
    /// The path to the member itself.
    pub fn path(&self) -> String {
        format!("{}{}", self.object, segment(&self.name))
    }
}

/// `.Name` for plain names, `["..."]` (JSON-escaped) for any other.
fn segment(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        format!(".{name}")
    } else {
        format!("[{}]", serde_json::Value::String(name.to_string()))
    }
}

/// At most this many repetitions are reported: a failure needs one, and a hostile answer with
/// thousands must not cost a path each.
const MAX_REPORTED: usize = 16;

/// A name seen in one object: how often, and where its report is once it repeats.
#[derive(Default)]
struct Seen {
    count: usize,
    reported: Option<usize>,
}

/// One open container on the scanner's stack, with where the scanner is inside it.
enum Frame {
    Object {
        /// Decoded names seen so far.
        names: HashMap<String, Seen>,
        /// Lower-cased names: distinct spellings seen, and the first one.
        folded: HashMap<String, (String, Seen)>,
        /// The member whose value is being read.
        current: String,
    },
    Array {
        index: usize,
    },
}

/// What the scanner expects next.
#[derive(Clone, Copy)]
enum Expect {
    Value,
    ValueOrClose,
    MemberOrClose,
    Member,
    CommaOrClose,
}

/// Every member name repeated within one object of `bytes` (at most [`MAX_REPORTED`]), in
/// document order of the second occurrence. Scanning stops at the first syntax error: what was
/// found before it is kept (those objects were read), the rest is not JSON and is not judged
/// here.
pub fn repeated_members(bytes: &[u8]) -> Vec<Repeated> {
    let mut scanner = Scanner { bytes, pos: 0 };
    let mut stack: Vec<Frame> = Vec::new();
    let mut found = Vec::new();
    let mut expect = Expect::Value;
    while found.len() < MAX_REPORTED {
        match step(&mut scanner, &mut stack, &mut found, expect) {
            Some(next) => expect = next,
            None => break,
        }
    }
    found
}

/// One token of the grammar; `None` at the end of the top-level value or at a syntax error.
fn step(
    scanner: &mut Scanner,
    stack: &mut Vec<Frame>,
    found: &mut Vec<Repeated>,
    expect: Expect,
) -> Option<Expect> {
    scanner.skip_whitespace();
    let byte = scanner.peek()?;
    Some(match expect {
        Expect::Value => match byte {
            b'{' => {
                scanner.pos += 1;
                stack.push(Frame::Object {
                    names: HashMap::new(),
                    folded: HashMap::new(),
                    current: String::new(),
                });
                Expect::MemberOrClose
            }
            b'[' => {
                scanner.pos += 1;
                stack.push(Frame::Array { index: 0 });
                Expect::ValueOrClose
            }
            b'"' => {
                scanner.string()?;
                Expect::CommaOrClose
            }
            _ => {
                scanner.scalar()?;
                Expect::CommaOrClose
            }
        },
        Expect::ValueOrClose if byte == b']' => close(scanner, stack, b']')?,
        Expect::ValueOrClose => Expect::Value,
        Expect::MemberOrClose if byte == b'}' => close(scanner, stack, b'}')?,
        Expect::MemberOrClose | Expect::Member => {
            member(scanner, stack, found)?;
            Expect::Value
        }
        Expect::CommaOrClose => match (byte, stack.last_mut()?) {
            (b',', Frame::Object { .. }) => {
                scanner.pos += 1;
                Expect::Member
            }
            (b',', Frame::Array { index }) => {
                scanner.pos += 1;
                *index += 1;
                Expect::Value
            }
            (b'}' | b']', _) => close(scanner, stack, byte)?,
            _ => return None,
        },
    })
}

/// Closes the innermost container with `byte` if it is the matching bracket.
fn close(scanner: &mut Scanner, stack: &mut Vec<Frame>, byte: u8) -> Option<Expect> {
    let matches = matches!(
        (stack.last()?, byte),
        (Frame::Object { .. }, b'}') | (Frame::Array { .. }, b']')
    );
    if !matches {
        return None;
    }
    scanner.pos += 1;
    stack.pop();
    // After the top-level value closes there is nothing left to judge.
    (!stack.is_empty()).then_some(Expect::CommaOrClose)
}

/// Reads `"name" :` into the innermost object and records a repetition.
fn member(scanner: &mut Scanner, stack: &mut [Frame], found: &mut Vec<Repeated>) -> Option<()> {
    if scanner.peek()? != b'"' {
        return None;
    }
    let name = scanner.string()?;
    scanner.skip_whitespace();
    if scanner.peek()? != b':' {
        return None;
    }
    scanner.pos += 1;
    let (outer, inner) = stack.split_at_mut(stack.len().checked_sub(1)?);
    let Frame::Object {
        names,
        folded,
        current,
    } = &mut inner[0]
    else {
        return None;
    };
    let exact = names.entry(name.clone()).or_default();
    record(exact, found, || (outer, name.clone(), Repetition::Exact));
    if exact.count == 1 {
        let (first, spellings) = folded
            .entry(name.to_lowercase())
            .or_insert_with(|| (name.clone(), Seen::default()));
        record(spellings, found, || {
            (outer, first.clone(), Repetition::LetterCase)
        });
    }
    *current = name;
    Some(())
}

/// Counts one more occurrence; the second one is reported, with the object's path computed
/// then (and only then: a path costs the depth of the object).
fn record<'a>(
    seen: &mut Seen,
    found: &mut Vec<Repeated>,
    what: impl FnOnce() -> (&'a [Frame], String, Repetition),
) {
    seen.count += 1;
    match seen.reported {
        Some(index) => {
            if let Some(entry) = found.get_mut(index) {
                entry.count = seen.count;
            }
        }
        None if seen.count >= 2 => {
            let (outer, name, kind) = what();
            seen.reported = Some(found.len());
            found.push(Repeated {
                object: path_of(outer),
                name,
                count: seen.count,
                kind,
            });
        }
        None => {}
    }
}

/// The path of the innermost open position of `frames`, from the root `$`.
fn path_of(frames: &[Frame]) -> String {
    let mut path = String::from("$");
    for frame in frames {
        match frame {
            Frame::Object { current, .. } => path.push_str(&segment(current)),
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// A cursor over the raw bytes.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// A number, `true`, `false` or `null`: the run of bytes up to a delimiter. Its exact
    /// grammar is the schema check's business; here it only has to end.
    fn scalar(&mut self) -> Option<()> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    /// A string at `"`, decoded: escapes (`\u` with surrogate pairs; a lone surrogate becomes
    /// U+FFFD) and raw bytes (invalid UTF-8 replaced). `None` if it never ends or an escape is
    /// malformed.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut raw: Vec<u8> = Vec::new();
        loop {
            let byte = self.peek()?;
            self.pos += 1;
            match byte {
                b'"' => return Some(String::from_utf8_lossy(&raw).into_owned()),
                b'\\' => self.escape(&mut raw)?,
                _ => raw.push(byte),
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let byte = self.peek()?;
        self.pos += 1;
        let simple = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let c = self.unicode_escape()?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Some(());
            }
            _ => return None,
        };
        out.push(simple);
        Some(())
    }

    /// The character of `\uXXXX` (the `\u` read), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return Some(char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        let rest = self.bytes.get(self.pos..self.pos + 2);
        if rest != Some(b"\\u".as_slice()) {
            return Some(char::REPLACEMENT_CHARACTER);
        }
        let save = self.pos;
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            // Not a pair: the second escape is read again on its own.
            self.pos = save;
            return Some(char::REPLACEMENT_CHARACTER);
        }
        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        char::from_u32(code)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(text, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{answer, case, class, evidence, verdict_of};
    use crate::contract::lifecycle::RequestState;
    use crate::contract::profile::Profile;
    use crate::plan::StepKind;
    use crate::sequences::refusal;

    /// `(object path, name, count)` of repetitions.
    type Found = Vec<(String, String, usize)>;

    /// The exact repetitions, then the letter-case ones.
    fn scan(input: &str) -> (Found, Found) {
        let found = repeated_members(input.as_bytes());
        let of = |kind| {
            found
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| (r.object.clone(), r.name.clone(), r.count))
                .collect()
        };
        (of(Repetition::Exact), of(Repetition::LetterCase))
    }

    fn one(object: &str, name: &str, count: usize) -> Found {
        vec![(object.to_string(), name.to_string(), count)]
    }

    #[test]
    fn exact_repetitions_are_found_with_their_path() {
        let none = Vec::new();
        let table: &[(&str, Found)] = &[
            (r#"{"Status":3,"Flags":2}"#, none.clone()),
            (
                r#"{"Status":99,"Uuid":"x","Status":8}"#,
                one("$", "Status", 2),
            ),
            (r#"{"a":1,"a":2,"a":3}"#, one("$", "a", 3)),
            // Escapes are decoded before names are compared.
            (r#"{"St\u0061tus":99,"Status":8}"#, one("$", "Status", 2)),
            (r#"{"a\"b":1,"a\u0022b":2}"#, one("$", "a\"b", 2)),
            (r#"{"\/":1,"/":2}"#, one("$", "/", 2)),
            (r#"{"\ud83d\ude00":1,"😀":2}"#, one("$", "😀", 2)),
            // Nested objects, arrays, and the path to them.
            (
                r#"{"DataCollection":[{"Name":"a","Value":null},{"Name":"b","Name":"c"}]}"#,
                one("$.DataCollection[1]", "Name", 2),
            ),
            (r#"[[{"x":{"y":1,"y":2}}]]"#, one("$[0][0].x", "y", 2)),
            (r#"{"a b":{"k":1,"k":2}}"#, one(r#"$["a b"]"#, "k", 2)),
            // The same name in different objects, or as a value, is no repetition.
            (r#"{"a":{"a":1},"b":{"a":2},"c":"a"}"#, none.clone()),
            (r#"[{"a":1},{"a":2}]"#, none.clone()),
            (r#"{"a":"\"a\":1","b":2}"#, none.clone()),
            // What is not JSON: nothing to judge, but what was read before an error counts.
            ("<html><body>Server Error</body></html>", none.clone()),
            ("", none.clone()),
            (r#"{"a":1,"a":2,"b":"#, one("$", "a", 2)),
            (r#"{"a":1,"a""#, none.clone()),
            (r#"{"a":"\x","a":1}"#, none.clone()),
            (r#"{"a":1 "a":2}"#, none.clone()),
            (r#"{"a":1]"#, none.clone()),
            // Only the first top-level value is read.
            (r#"{"a":1} {"a":1,"a":2}"#, none.clone()),
        ];
        for (input, expected) in table {
            assert_eq!(&scan(input).0, expected, "{input}");
        }
    }

    #[test]
    fn names_differing_only_in_letter_case_are_told_apart() {
        let (exact, folded) = scan(r#"{"Status":3,"status":8,"STATUS":9}"#);
        assert!(exact.is_empty());
        assert_eq!(folded, one("$", "Status", 3));
        let (exact, folded) = scan(r#"{"Status":3,"Status":8}"#);
        assert_eq!(exact, one("$", "Status", 2));
        assert!(
            folded.is_empty(),
            "an exact repeat is not also a case repeat"
        );
    }

    #[test]
    fn lone_surrogates_and_raw_bytes_do_not_stop_the_scan() {
        let (exact, _) = scan(r#"{"\ud800":1,"\ud800":2,"\udc00x":3}"#);
        assert_eq!(exact, one("$", "\u{FFFD}", 2));
        let bytes = b"{\"\xff\":1,\"\xff\":2}";
        assert_eq!(repeated_members(bytes).len(), 1);
    }

    #[test]
    fn hostile_nesting_is_scanned_without_recursion() {
        let depth = 200_000;
        let mut deep = "[".repeat(depth);
        deep.push_str(r#"{"a":1,"a":2}"#);
        deep.push_str(&"]".repeat(depth));
        let found = repeated_members(deep.as_bytes());
        assert_eq!(found.len(), 1);
        assert!(found[0].object.ends_with("[0][0]"));
        // Thousands of repetitions cost at most MAX_REPORTED paths.
        let many = format!("[{}{{}}]", r#"{"a":1,"a":2},"#.repeat(10_000));
        assert_eq!(repeated_members(many.as_bytes()).len(), MAX_REPORTED);
        // Unclosed nesting ends the scan quietly.
        assert!(repeated_members("{\"a\":".repeat(depth).as_bytes()).is_empty());
    }

    #[test]
    fn member_paths_quote_names_that_are_not_plain() {
        let found = Repeated {
            object: "$.DataCollection[0]".into(),
            name: "Name".into(),
            count: 2,
            kind: Repetition::Exact,
        };
        assert_eq!(found.path(), "$.DataCollection[0].Name");
        assert_eq!(segment("a.b"), r#"["a.b"]"#);
        assert_eq!(segment(""), r#"[""]"#);
    }

    #[test]
    fn the_check_fails_on_duplicates_warns_on_case_and_passes_otherwise() {
        let table = [
            (r#"{"Status":8,"Flags":2}"#, "pass"),
            (r#"{"Status":99,"Flags":2,"Status":8}"#, "fail"),
            (r#"{"Status":8,"status":8}"#, "warn"),
            ("not json", "pass"),
            ("", "none"),
        ];
        for (body, expected) in table {
            let exchange = answer(200, &[("Content-Type", "application/json")], body);
            let case = case(RequestState::Approved, refusal(), StepKind::Reading);
            let step = evidence(None, exchange, None);
            let verdict = verdict_of("unique_member_names", case, step, Profile::Documented);
            assert_eq!(class(&verdict), expected, "{body}");
            if let Some(Verdict::Fail(finding)) = &verdict {
                assert!(
                    finding.actual.contains("request: $.Status (2 times)"),
                    "{finding:?}"
                );
            }
        }
    }
}
