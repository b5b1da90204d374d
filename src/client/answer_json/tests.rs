//! Differential proof: `parse` gives what `serde_json::from_slice::<Value>` gives (the code it
//! replaced in `ReceivedResponse::json`) for generated, mutated and hostile texts: the same
//! success or failure, an equal value, and the same member order (an `IndexMap` compares equal
//! in any order, so the serialized texts are compared too).

use super::parse;
use serde_json::Value;

fn reference(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body).ok()
}

fn assert_same(body: &[u8]) {
    let (ours, theirs) = (parse(body), reference(body));
    let shown = String::from_utf8_lossy(body);
    assert_eq!(ours, theirs, "value differs for {shown}");
    assert_eq!(
        ours.as_ref().map(Value::to_string),
        theirs.as_ref().map(Value::to_string),
        "member order differs for {shown}"
    );
}

#[test]
fn hand_written_texts_parse_as_serde_json_parses_them() {
    let texts: &[&[u8]] = &[
        b"",
        b" ",
        b"null",
        b"true",
        b"false",
        b"0",
        b"-0",
        b"-0.0",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775808",
        b"-9223372036854775809",
        b"0.1e1",
        b"1.7976931348623157e308",
        b"01",
        b"1.",
        b".5",
        b"+1",
        b"NaN",
        br#""\u0000\ud83d\ude00\/\b\f\n\r\t\"\\""#,
        br#""\ud800""#,
        br#""\udc00""#,
        br#""\ud800\u0041""#,
        br#""\x""#,
        b"\"\xff\"",
        b"\"\x01\"",
        b"\xef\xbb\xbf{}",
        b"{}",
        b"[]",
        b"{} ",
        b"{}x",
        b"{},",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{\"a\":}",
        b"{1:2}",
        b"{\"a\":1",
        b"[[[]]",
        b"{\"a\":1,\"b\":2,\"a\":3}",
        b"{\"b\":1,\"a\":2,\"b\":{\"x\":1,\"x\":[1,{\"y\":2,\"y\":3}]},\"c\":null}",
        br#"{"St\u0061tus":1,"Status":2}"#,
        b"{\"\":1,\"\":2}",
        b"[{\"a\":1},{\"a\":2,\"b\":3},{}]",
        b" \t\n\r{ \"a\" : [ 1 , 2.5 , -3e2 ] } \n",
    ];
    for text in texts {
        assert_same(text);
    }
}

#[test]
fn nesting_at_and_past_the_recursion_limit_parses_or_fails_alike() {
    for depth in [1, 64, 126, 127, 128, 129, 130, 400] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            assert_same(text.as_bytes());
            // One opening too many: truncated.
            assert_same(format!("{open}{text}").as_bytes());
        }
    }
}

#[test]
fn a_request_answer_and_every_cut_and_flip_of_it_parse_alike() {
    let answer = br#"{"Uuid":"e3e34dca-c3c5-4ab2-8f92-b1f40f44dee2","RequestType":2,"Status":3,"Flags":1,"DataCollection":[{"Name":"a","Value":"b"}],"DataCollectionFlags":64,"Submitted":"2026-05-04T20:33:28.39646Z","Completed":"0001-01-01T00:00:00","Priority":-0.5e1,"Comment":"\u00e4\ud83d\ude00","SecurityDescriptor":"O:S-1\u0000","IsSmartcard":false,"Status":8,"Extra":null}"#;
    assert_same(answer);
    let mut rng = Rng(7);
    for cut in 0..answer.len() {
        assert_same(&answer[..cut]);
        let mut flipped = answer.to_vec();
        let replacement = rng.pick(b"\"{}[],:0123456789.eE+-\\ntfu\xff \x00");
        flipped[cut] = replacement;
        assert_same(&flipped);
        let mut removed = answer.to_vec();
        removed.remove(cut);
        assert_same(&removed);
    }
}

#[test]
fn generated_documents_parse_alike() {
    let mut rng = Rng(13);
    let mut parsed = 0;
    for round in 0..2000 {
        // One document in four may hold malformed pieces; the others are JSON.
        let hostile = round % 4 == 0;
        let mut text = Vec::new();
        generate(&mut rng, &mut text, 0, hostile);
        assert_same(&text);
        parsed += usize::from(parse(&text).is_some());
    }
    assert!(
        parsed >= 1500,
        "only {parsed} generated documents were JSON"
    );
}

/// Writes one JSON value (occasionally malformed), with repeated names, escapes and numbers at
/// the edges of their types.
fn generate(rng: &mut Rng, out: &mut Vec<u8>, depth: usize, hostile: bool) {
    const NAMES: &[&[u8]] = &[
        b"Status",
        b"status",
        br"St\u0061tus",
        b"a",
        b"",
        br"\ud83d\ude00",
        br#"a\"b"#,
        // Malformed from here on.
        br"\ud800",
        b"\xff",
    ];
    const SCALARS: &[&[u8]] = &[
        b"null",
        b"true",
        b"false",
        b"0",
        b"-0",
        b"1.5",
        b"-1e-7",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"123456789012345678901234567890",
        b"0.30000000000000004",
        br#""text""#,
        br#""\u0041\n\/""#,
        b"\"\x7f\"",
        // Malformed from here on (out of range, a lone surrogate, cut words and numbers).
        b"1e309",
        br#""\ud800x""#,
        b"nul",
        b"1.",
    ];
    // Wide at the top (past the 32 members collected at once), narrow below: bounded size.
    let width = if depth == 0 { 40 } else { 5 };
    match rng.below(if depth > 4 { 1 } else { 4 }) {
        0 => out.extend_from_slice(rng.pick(usable(SCALARS, 4, hostile))),
        1 => {
            out.push(b'[');
            for index in 0..rng.below(5) {
                if index > 0 {
                    out.push(b',');
                }
                generate(rng, out, depth + 1, hostile);
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            for index in 0..rng.below(width) {
                if index > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(rng.pick(usable(NAMES, 2, hostile)));
                if rng.below(2) == 0 {
                    out.extend_from_slice(rng.below(30).to_string().as_bytes());
                }
                out.extend_from_slice(b"\":");
                generate(rng, out, depth + 1, hostile);
            }
            out.push(b'}');
        }
    }
}

/// The whole table for a hostile document, else all but its last `malformed` entries.
fn usable<'a>(table: &'a [&'a [u8]], malformed: usize, hostile: bool) -> &'a [&'a [u8]] {
    if hostile {
        table
    } else {
        &table[..table.len() - malformed]
    }
}

/// A deterministic generator (xorshift64; the seed must not be 0), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
