//! What the benches share: timing a command with its peak RSS, and medians.

use std::process::Command;
use std::time::Instant;

/// One timed run of a command.
pub struct Sample {
    pub wall_ms: f64,
    pub max_rss_kib: u64,
}

/// Runs `command` under `/usr/bin/time -f %M` and returns its wall time and peak RSS.
pub fn measure(command: Command) -> Option<Sample> {
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M"])
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let started = Instant::now();
    let output = match timed.output() {
        Ok(output) => output,
        Err(error) => {
            eprintln!("bench: cannot run /usr/bin/time: {error}");
            return None;
        }
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let max_rss_kib = stderr
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok());
    match max_rss_kib {
        Some(max_rss_kib) => Some(Sample {
            wall_ms,
            max_rss_kib,
        }),
        None => {
            eprintln!("bench: no RSS reading from /usr/bin/time: {stderr}");
            None
        }
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
