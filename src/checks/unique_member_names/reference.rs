//! The scanner `unique_member_names` used before it was made allocation-light, kept verbatim
//! (test builds only) as the oracle of the differential test: both must find the same
//! repetitions, in the same order, with the same paths and counts, on every input. It shares
//! only what the scanner kept unchanged: the byte-level reading (whitespace, scalars, one escape)
//! and the counting of a repetition (`record`).

use super::{Escaped, Expect, MAX_REPORTED, Repeated, Repetition, Scanner, Seen, record, segment};
use std::collections::HashMap;

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

/// Every member name repeated within one object of `bytes` (at most [`MAX_REPORTED`]), in
/// document order of the second occurrence. Scanning stops at the first syntax error: what was
/// found before it is kept (those objects were read), the rest is not JSON and is not judged
/// here.
pub(super) fn repeated_members(bytes: &[u8]) -> Vec<Repeated> {
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
                string(scanner)?;
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
    let name = string(scanner)?;
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
    record(exact, found, || {
        (path_of(outer), name.clone(), Repetition::Exact)
    });
    if exact.count == 1 {
        let (first, spellings) = folded
            .entry(name.to_lowercase())
            .or_insert_with(|| (name.clone(), Seen::default()));
        record(spellings, found, || {
            (path_of(outer), first.clone(), Repetition::LetterCase)
        });
    }
    *current = name;
    Some(())
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

/// A string at `"`, decoded byte by byte into a new `String` (value strings too), as the
/// reference scanner did. The escapes themselves are decoded by the scanner's own, unchanged
/// [`Scanner::escape`].
fn string(scanner: &mut Scanner) -> Option<String> {
    scanner.pos += 1;
    let mut raw: Vec<u8> = Vec::new();
    loop {
        let byte = scanner.peek()?;
        scanner.pos += 1;
        match byte {
            b'"' => return Some(String::from_utf8_lossy(&raw).into_owned()),
            b'\\' => scanner.escape(&mut Escaped::Decode(&mut raw))?,
            _ => raw.push(byte),
        }
    }
}
