//! Text from the target shown as text, in every format that quotes it: its control characters
//! (ESC, BEL, NUL, CR, ...) written as visible `\u{001b}` escapes, line breaks and tabs kept. The
//! target's bytes must never drive the terminal that shows them, and a stripped control would
//! hide evidence: an ANSI string sequence (`ESC ]`) stripped the way terminals parse it swallows
//! everything after it, line breaks included.

/// `text` with every control character but `\n` and `\t` shown as a `\u{..}` escape. `\r` is
/// shown too: XML and HTML readers turn a raw one into a line break, and a CR a server sent is
/// evidence (a CRLF in a header value).
pub fn visible_controls(text: &str) -> String {
    if !text.chars().any(is_invisible) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if is_invisible(c) {
                format!("\\u{{{:04x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn is_invisible(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}
