//! `unique_member_names` (section 3, RFC 8259 section 4): no object in an API answer has two
//! members with the same name. serde (like Json.NET) keeps the last of them, so every other
//! check sees one value while another client may read the first: `"Status":99, ...,
//! "Status":8` passes every parsed check. This check therefore reads the raw bytes with its own
//! scanner, which decodes escapes (`"St\u0061tus"` is `"Status"`) and keeps an explicit stack
//! instead of recursing, so hostile nesting costs memory bounded by the (capped) body, never the
//! call stack. Names that differ only in letter case warn: Json.NET binds members
//! case-insensitively, so a .NET client cannot tell them apart either.

use super::{CheckContext, Subject, Verdict};
use std::borrow::Cow;
use std::collections::HashMap;

#[cfg(test)]
mod reference;

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

/// Objects up to this many distinct names are searched linearly (answers have about 21, and a
/// compare of short names is cheaper than hashing them); past it an object indexes its names
/// in hash maps, so a hostile object of 100,000 members costs linear time, not quadratic.
const LINEAR_NAMES: usize = 32;

/// How often something repeated, and where its report is once it did.
#[derive(Default)]
struct Seen {
    count: usize,
    reported: Option<usize>,
}

/// One distinct spelling of a name in one object.
struct Spelling<'a> {
    /// Decoded; borrowed from the body unless it held escapes or invalid UTF-8.
    text: Cow<'a, str>,
    /// `text.to_lowercase()` for names that are not ASCII (whose folding is Unicode's and may
    /// change their length); ASCII names are compared without a folded copy.
    folded: Option<String>,
    seen: Seen,
}

impl Spelling<'_> {
    /// Whether the two names are equal once lower-cased (`str::to_lowercase`).
    fn same_folded(&self, other: &Spelling) -> bool {
        match (&self.folded, &other.folded) {
            (None, None) => self.text.eq_ignore_ascii_case(&other.text),
            (Some(folded), None) => ascii_folds_to(&other.text, folded),
            (None, Some(folded)) => ascii_folds_to(&self.text, folded),
            (Some(left), Some(right)) => left == right,
        }
    }

    /// The lower-cased name, as the hash index keys it.
    fn folded_key(&self) -> String {
        self.folded
            .clone()
            .unwrap_or_else(|| self.text.to_ascii_lowercase())
    }
}

/// Whether the ASCII name `ascii` lower-cases to `folded`.
fn ascii_folds_to(ascii: &str, folded: &str) -> bool {
    ascii.len() == folded.len()
        && ascii
            .bytes()
            .zip(folded.bytes())
            .all(|(a, f)| a.to_ascii_lowercase() == f)
}

/// Names whose spellings differ only in letter case: the first spelling, and how many.
struct CaseGroup {
    first: usize,
    seen: Seen,
}

/// The names of one object: distinct spellings in order, their letter-case groups, and past
/// [`LINEAR_NAMES`] an index of both.
struct Names<'a> {
    spellings: Vec<Spelling<'a>>,
    groups: Vec<CaseGroup>,
    index: Option<NameIndex<'a>>,
}

/// The hash index of a large object: spelling and lower-cased name to their position.
#[derive(Default)]
struct NameIndex<'a> {
    exact: HashMap<Cow<'a, str>, usize>,
    folded: HashMap<String, usize>,
}

impl<'a> Names<'a> {
    /// Empty: an open object costs only the names it has (deep nesting of empty or one-member
    /// objects keeps memory proportional to the body), and a closed object's room is reused.
    fn new() -> Names<'a> {
        Names {
            spellings: Vec::new(),
            groups: Vec::new(),
            index: None,
        }
    }

    fn clear(&mut self) {
        self.spellings.clear();
        self.groups.clear();
        self.index = None;
    }

    /// The position of this spelling, if it was seen.
    fn find(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.exact.get(name).copied(),
            None => self.spellings.iter().position(|s| s.text == name),
        }
    }

    /// Adds a spelling not seen before (placing it in its letter-case group) and returns the
    /// group's position.
    fn add(&mut self, name: Cow<'a, str>) -> usize {
        let folded = (!name.is_ascii()).then(|| name.to_lowercase());
        let spelling = Spelling {
            text: name,
            folded,
            // This occurrence, the first: never a repetition.
            seen: Seen {
                count: 1,
                reported: None,
            },
        };
        let group = match &self.index {
            Some(index) => index.folded.get(&spelling.folded_key()).copied(),
            None => self
                .groups
                .iter()
                .position(|g| self.spellings[g.first].same_folded(&spelling)),
        };
        let at = self.spellings.len();
        let group = group.unwrap_or_else(|| {
            self.groups.push(CaseGroup {
                first: at,
                seen: Seen::default(),
            });
            self.groups.len() - 1
        });
        if let Some(index) = &mut self.index {
            index.exact.insert(spelling.text.clone(), at);
            index.folded.entry(spelling.folded_key()).or_insert(group);
        }
        self.spellings.push(spelling);
        if self.index.is_none() && self.spellings.len() > LINEAR_NAMES {
            self.index = Some(self.build_index());
        }
        group
    }

    fn build_index(&self) -> NameIndex<'a> {
        let mut index = NameIndex::default();
        for (at, spelling) in self.spellings.iter().enumerate() {
            index.exact.insert(spelling.text.clone(), at);
        }
        for (at, group) in self.groups.iter().enumerate() {
            index
                .folded
                .insert(self.spellings[group.first].folded_key(), at);
        }
        index
    }
}

/// One open container on the scanner's stack, with where the scanner is inside it.
enum Frame<'a> {
    Object {
        names: Names<'a>,
        /// The spelling of the member whose value is being read.
        current: usize,
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

/// The scanner's state over one body.
struct Scan<'a> {
    scanner: Scanner<'a>,
    stack: Vec<Frame<'a>>,
    /// The names of closed objects, cleared, for the next object to reuse their allocations.
    spare: Vec<Names<'a>>,
    found: Vec<Repeated>,
}

/// Every member name repeated within one object of `bytes` (at most [`MAX_REPORTED`]), in
/// document order of the second occurrence. Scanning stops at the first syntax error: what was
/// found before it is kept (those objects were read), the rest is not JSON and is not judged
/// here.
pub fn repeated_members(bytes: &[u8]) -> Vec<Repeated> {
    let mut scan = Scan {
        scanner: Scanner { bytes, pos: 0 },
        // Answers nest a few levels; hostile ones grow it.
        stack: Vec::with_capacity(8),
        spare: Vec::new(),
        found: Vec::new(),
    };
    let mut expect = Expect::Value;
    while scan.found.len() < MAX_REPORTED {
        match scan.step(expect) {
            Some(next) => expect = next,
            None => break,
        }
    }
    scan.found
}

impl<'a> Scan<'a> {
    /// One token of the grammar; `None` at the end of the top-level value or at a syntax error.
    fn step(&mut self, expect: Expect) -> Option<Expect> {
        self.scanner.skip_whitespace();
        let byte = self.scanner.peek()?;
        Some(match expect {
            Expect::Value => match byte {
                b'{' => {
                    self.scanner.pos += 1;
                    let names = self.spare.pop().unwrap_or_else(Names::new);
                    self.stack.push(Frame::Object { names, current: 0 });
                    Expect::MemberOrClose
                }
                b'[' => {
                    self.scanner.pos += 1;
                    self.stack.push(Frame::Array { index: 0 });
                    Expect::ValueOrClose
                }
                b'"' => {
                    self.scanner.skip_string()?;
                    Expect::CommaOrClose
                }
                _ => {
                    self.scanner.scalar()?;
                    Expect::CommaOrClose
                }
            },
            Expect::ValueOrClose if byte == b']' => self.close(b']')?,
            Expect::ValueOrClose => Expect::Value,
            Expect::MemberOrClose if byte == b'}' => self.close(b'}')?,
            Expect::MemberOrClose | Expect::Member => {
                self.member()?;
                Expect::Value
            }
            Expect::CommaOrClose => match (byte, self.stack.last_mut()?) {
                (b',', Frame::Object { .. }) => {
                    self.scanner.pos += 1;
                    Expect::Member
                }
                (b',', Frame::Array { index }) => {
                    self.scanner.pos += 1;
                    *index += 1;
                    Expect::Value
                }
                (b'}' | b']', _) => self.close(byte)?,
                _ => return None,
            },
        })
    }

    /// Closes the innermost container with `byte` if it is the matching bracket.
    fn close(&mut self, byte: u8) -> Option<Expect> {
        let matches = matches!(
            (self.stack.last()?, byte),
            (Frame::Object { .. }, b'}') | (Frame::Array { .. }, b']')
        );
        if !matches {
            return None;
        }
        self.scanner.pos += 1;
        if let Some(Frame::Object { mut names, .. }) = self.stack.pop() {
            names.clear();
            self.spare.push(names);
        }
        // After the top-level value closes there is nothing left to judge.
        (!self.stack.is_empty()).then_some(Expect::CommaOrClose)
    }

    /// Reads `"name" :` into the innermost object and records a repetition.
    fn member(&mut self) -> Option<()> {
        if self.scanner.peek()? != b'"' {
            return None;
        }
        let name = self.scanner.name()?;
        self.scanner.skip_whitespace();
        if self.scanner.peek()? != b':' {
            return None;
        }
        self.scanner.pos += 1;
        let last = self.stack.len().checked_sub(1)?;
        let (outer, inner) = self.stack.split_at_mut(last);
        let Frame::Object { names, current } = &mut inner[0] else {
            return None;
        };
        let found = &mut self.found;
        *current = match names.find(&name) {
            Some(at) => {
                let spelling = &mut names.spellings[at];
                record(&mut spelling.seen, found, || {
                    (path_of(outer), spelling.text.to_string(), Repetition::Exact)
                });
                at
            }
            None => {
                let group = names.add(name);
                let first = &names.spellings[names.groups[group].first].text;
                record(&mut names.groups[group].seen, found, || {
                    (path_of(outer), first.to_string(), Repetition::LetterCase)
                });
                names.spellings.len() - 1
            }
        };
        Some(())
    }
}

/// Counts one more occurrence; the second one is reported as `what` gives it: the object's
/// path, computed then (and only then: a path costs the depth of the object), and the name.
fn record(
    seen: &mut Seen,
    found: &mut Vec<Repeated>,
    what: impl FnOnce() -> (String, String, Repetition),
) {
    seen.count += 1;
    match seen.reported {
        Some(index) => {
            if let Some(entry) = found.get_mut(index) {
                entry.count = seen.count;
            }
        }
        None if seen.count >= 2 => {
            let (object, name, kind) = what();
            seen.reported = Some(found.len());
            found.push(Repeated {
                object,
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
            Frame::Object { names, current } => {
                let name = names.spellings.get(*current).map_or("", |s| &s.text);
                path.push_str(&segment(name));
            }
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

impl<'a> Scanner<'a> {
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

    /// Moves past the next `"` or `\` (whichever comes first) and returns it with the bytes
    /// before it; `None` if neither comes.
    fn until_quote_or_escape(&mut self) -> Option<(&'a [u8], u8)> {
        let bytes: &'a [u8] = self.bytes;
        let rest = bytes.get(self.pos..)?;
        let at = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
        self.pos += at + 1;
        Some((&rest[..at], rest[at]))
    }

    /// A string value at `"`, skipped: nothing is built, but it must end and its escapes be
    /// well-formed, as [`Scanner::name`] requires (a value the scanner cannot read ends the
    /// scan just as a name does).
    fn skip_string(&mut self) -> Option<()> {
        self.pos += 1;
        loop {
            let (_, stop) = self.until_quote_or_escape()?;
            if stop == b'"' {
                return Some(());
            }
            self.escape(&mut Escaped::Skip)?;
        }
    }

    /// A member name at `"`, decoded: escapes (`\u` with surrogate pairs; a lone surrogate
    /// becomes U+FFFD) and raw bytes (invalid UTF-8 replaced). Borrowed when it has neither.
    /// `None` if it never ends or an escape is malformed.
    fn name(&mut self) -> Option<Cow<'a, str>> {
        self.pos += 1;
        let (plain, stop) = self.until_quote_or_escape()?;
        if stop == b'"' {
            // `from_utf8` checks ASCII faster than `from_utf8_lossy`; the lossy copy is for the
            // rare name that is not UTF-8.
            return Some(match std::str::from_utf8(plain) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(plain),
            });
        }
        let mut raw = plain.to_vec();
        loop {
            self.escape(&mut Escaped::Decode(&mut raw))?;
            let (more, stop) = self.until_quote_or_escape()?;
            raw.extend_from_slice(more);
            if stop == b'"' {
                return Some(Cow::Owned(String::from_utf8_lossy(&raw).into_owned()));
            }
        }
    }

    /// One escape (the `\` read): decoded into the name being built, or only checked.
    fn escape(&mut self, out: &mut Escaped) -> Option<()> {
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
                if let Escaped::Decode(out) = out {
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                return Some(());
            }
            _ => return None,
        };
        if let Escaped::Decode(out) = out {
            out.push(simple);
        }
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

/// Where an escape goes: into a name's bytes, or nowhere (a value string is only checked).
enum Escaped<'b> {
    Decode(&'b mut Vec<u8>),
    Skip,
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
    fn letter_case_is_folded_as_unicode_lower_case() {
        // Non-ASCII names fold by `str::to_lowercase`: the Kelvin sign lower-cases to `k`.
        let table: &[(&str, Found)] = &[
            ("{\"\u{212A}\":1,\"k\":2}", one("$", "\u{212A}", 2)),
            ("{\"k\":1,\"\u{212A}\":2}", one("$", "k", 2)),
            (r#"{"Ä":1,"\u00e4":2,"\u00C4":3}"#, one("$", "Ä", 2)),
            ("{\"\u{3a3}A\":1,\"\u{3c3}a\":2}", one("$", "\u{3a3}A", 2)),
            (r#"{"ß":1,"SS":2,"ss":3}"#, one("$", "SS", 2)),
        ];
        for (input, expected) in table {
            assert_eq!(&scan(input).1, expected, "{input}");
        }
    }

    #[test]
    fn large_objects_are_indexed_without_changing_what_is_found() {
        let mut members: Vec<String> = (0..100_000).map(|n| format!("\"m{n}\":{n}")).collect();
        members.push(r#""m7":1"#.into());
        members.push(r#""M99999":2"#.into());
        members.push("\"\u{212A}\":3,\"k\":4".into());
        let input = format!("{{{}}}", members.join(","));
        let (exact, folded) = scan(&input);
        assert_eq!(exact, one("$", "m7", 2));
        assert_eq!(
            folded,
            vec![
                ("$".to_string(), "m99999".to_string(), 2),
                ("$".to_string(), "\u{212A}".to_string(), 2)
            ]
        );
    }

    /// A deterministic generator (SplitMix64) for the differential test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// Member names as written on the wire: repeats, letter-case variants, escapes that decode
    /// to another name, surrogates, invalid escapes and raw bytes that are not UTF-8.
    const NAMES: &[&[u8]] = &[
        b"Status",
        b"status",
        b"STATUS",
        br"St\u0061tus",
        br"st\u0041tus",
        b"a",
        b"A",
        br#"a\"b"#,
        br"a\u0022b",
        br"\/",
        b"/",
        br"\ud83d\ude00",
        "😀".as_bytes(),
        br"\ud800",
        br"\ud800\u0041",
        br"\udc00x",
        br"\ud83d\uzzzz",
        "Ä".as_bytes(),
        "ä".as_bytes(),
        br"\u00e4",
        "\u{212A}".as_bytes(),
        b"k",
        "ß".as_bytes(),
        b"SS",
        "\u{130}".as_bytes(),
        "i\u{307}".as_bytes(),
        "\u{3a3}".as_bytes(),
        "\u{3c3}".as_bytes(),
        "\u{3c2}".as_bytes(),
        b"a b",
        b"",
        b"$x",
        b"\xff",
        b"\xfe",
        b"\xc3",
        br"\xff",
        br"\n\t",
        b"\n\t",
    ];

    /// Value strings: escapes a value may carry.
    const STRINGS: &[&[u8]] = &[
        b"x",
        br#"\"a\":1"#,
        br"\u0041\ud83d\ude00",
        br"\ud800",
        br"\ud800\u0041",
        b"\xff\xfe",
        b"",
    ];

    /// Value strings that end the scan, rare enough that most documents are read to the end.
    const BAD_STRINGS: &[&[u8]] = &[br"\q", br"\ud800\u12", br"\u00"];

    const SCALARS: &[&[u8]] = &[b"1", b"-2.5e+3", b"true", b"false", b"null", b"+", b"0x"];

    /// Below this depth values are scalars and strings only.
    const DEEPEST: usize = 4;

    fn value(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
        match if depth > DEEPEST {
            rng.below(2)
        } else {
            rng.below(5)
        } {
            0 => out.extend_from_slice(rng.pick(SCALARS)),
            1 => {
                out.push(b'"');
                let strings = if rng.below(64) == 0 {
                    BAD_STRINGS
                } else {
                    STRINGS
                };
                out.extend_from_slice(rng.pick(strings));
                out.push(b'"');
            }
            2 => {
                out.push(b'[');
                for n in 0..rng.below(4) {
                    if n > 0 {
                        out.push(b',');
                    }
                    value(rng, depth + 1, out);
                }
                out.push(b']');
            }
            _ => object(rng, depth, out),
        }
    }

    fn object(rng: &mut Rng, depth: usize, out: &mut Vec<u8>) {
        // Now and then an object past LINEAR_NAMES, whose names are indexed.
        let (members, many) = match rng.below(8) {
            0 => (LINEAR_NAMES + rng.below(3 * LINEAR_NAMES), true),
            _ => (rng.below(8), false),
        };
        out.push(b'{');
        for n in 0..members {
            if n > 0 {
                out.extend_from_slice(if rng.below(9) == 0 { b" ,\n" } else { b"," });
            }
            out.push(b'"');
            if many && rng.below(10) > 0 {
                // Few repetitions, so that some are found after the names were indexed.
                let spelling = if rng.below(4) == 0 { "N" } else { "n" };
                out.extend_from_slice(format!("{spelling}{}", rng.below(16 * members)).as_bytes());
            } else {
                out.extend_from_slice(rng.pick(NAMES));
            }
            out.extend_from_slice(b"\":");
            // The members of a large object hold scalars, or the documents grow without bound.
            value(rng, if many { DEEPEST + 1 } else { depth + 1 }, out);
        }
        out.push(b'}');
    }

    /// Breaks a document: cuts it short, or puts a byte that matters to the grammar somewhere.
    fn damage(rng: &mut Rng, bytes: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => bytes.truncate(at),
            1 => bytes[at] = rng.pick(b"\"\\{}[],: x\xff"),
            _ => bytes.insert(at, rng.pick(b"\"\\{}[],:")),
        }
    }

    /// The allocation-light scanner finds exactly what the scanner before it found (kept in
    /// `reference`): same repetitions, order, paths, names and counts, on well-formed,
    /// truncated and damaged documents.
    #[test]
    fn the_scanner_agrees_with_the_reference_scanner() {
        let mut rng = Rng(0x5EED_1313);
        let (mut repeated, mut case_only) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = Vec::new();
            if round % 2 == 0 {
                object(&mut rng, 0, &mut bytes);
            } else {
                value(&mut rng, 0, &mut bytes);
            }
            if round % 3 == 0 {
                damage(&mut rng, &mut bytes);
            }
            let found = repeated_members(&bytes);
            assert_eq!(
                found,
                reference::repeated_members(&bytes),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            let exact = found.iter().filter(|r| r.kind == Repetition::Exact).count();
            repeated += exact;
            case_only += found.len() - exact;
        }
        // The inputs exercised both kinds of repetition, many times.
        assert!(
            repeated > 1_000 && case_only > 1_000,
            "{repeated} {case_only}"
        );
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
