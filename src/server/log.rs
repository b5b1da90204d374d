//! The server's log: lines go through a bounded queue to one writer thread, so logging never
//! blocks an exchange (a reader that does not read) and never stops serving (a closed pipe:
//! `serve 2>&1 | head -1`). Lines that do not fit in the queue are dropped.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::mpsc::{SyncSender, sync_channel};

/// Lines waiting for the writer thread before new ones are dropped.
const QUEUE: usize = 1024;

static WRITER: OnceLock<Option<SyncSender<String>>> = OnceLock::new();

/// Queues one line for standard error; never blocks, never fails.
pub fn line(text: String) {
    let writer = WRITER.get_or_init(|| {
        let (sender, receiver) = sync_channel::<String>(QUEUE);
        std::thread::Builder::new()
            .name("cmconform-log".into())
            .spawn(move || {
                for line in receiver {
                    let mut err = std::io::stderr().lock();
                    // A closed or full standard error: the line is lost, serving goes on.
                    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
                }
            })
            .ok()
            .map(|_| sender)
    });
    if let Some(sender) = writer {
        let _ = sender.try_send(text);
    }
}
