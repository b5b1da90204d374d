//! Writing to standard output and standard error the way the coreutils do: a reader that stops
//! reading (`| head`) ends the output quietly, a full disk (`> /dev/full`) is an error that says
//! so (exit 2), and nothing ever panics on a closed stream.

use super::UsageError;
use std::io::{self, Write};

/// Writes to standard output with `write` and flushes. A closed pipe is not an error (the reader
/// has all it wanted); any other failure is, naming standard output.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    let written = write(&mut out).and_then(|()| out.flush());
    tolerate_closed(written)
        .map_err(|error| UsageError(format!("cannot write to standard output: {error}")).into())
}

/// A reader that stopped reading is not a failure.
pub fn tolerate_closed(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// One line on standard error; a closed or full standard error is ignored (there is nowhere
/// left to say anything), where `eprintln!` would panic.
pub fn say(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}").and_then(|()| err.flush());
}
