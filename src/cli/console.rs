//! The console while a run goes: a progress bar on an interactive terminal, plain lines when
//! the output is piped or `CI` is set, `--quiet` and `--verbose`. Colours follow the terminal
//! and `NO_COLOR` (the `console` crate decides).

use crate::report::{self, CaseReport, CaseStatus};
use crate::run::RunEvent;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only failing cases, then the failures and the summary.
    Quiet,
    Normal,
    /// Every exchange of every case.
    Verbose,
}

pub struct Console {
    verbosity: Verbosity,
    interactive: bool,
    bar: Option<ProgressBar>,
}

impl Console {
    pub fn new(verbosity: Verbosity) -> Console {
        let interactive = std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
        Console {
            verbosity,
            interactive,
            bar: None,
        }
    }

    pub fn observe(&mut self, event: RunEvent) {
        match event {
            RunEvent::Started(start) => {
                // The header says what ran and with which seed, so the run can be reproduced.
                self.print(&report::start_line(&start));
                self.start(start.total);
            }
            RunEvent::CaseFinished(case) => self.case_finished(case),
        }
    }

    fn start(&mut self, total: usize) {
        if !self.interactive || self.verbosity == Verbosity::Quiet {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        self.bar = Some(bar);
    }

    fn case_finished(&mut self, case: &CaseReport) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(case.id.clone());
        }
        let failed = matches!(case.status, CaseStatus::Failed | CaseStatus::Errored);
        if self.verbosity == Verbosity::Quiet && !failed {
            return;
        }
        let mut text = styled_case_line(case);
        if self.verbosity == Verbosity::Verbose {
            text.push('\n');
            text.push_str(report::exchanges_text(case).trim_end());
        }
        self.print(&text);
    }

    fn print(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            // A closed stdout (`| head`) must not abort the run: the report is still written.
            None => {
                let _ = writeln!(std::io::stdout(), "{text}");
            }
        }
    }

    /// Clears the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn styled_case_line(case: &CaseReport) -> String {
    let line = report::case_line(case);
    let label = case.status.label();
    let styled = match case.status {
        CaseStatus::Passed => console::style(label).green(),
        CaseStatus::Failed | CaseStatus::Errored => console::style(label).red().bold(),
        CaseStatus::Skipped => console::style(label).yellow(),
    };
    format!("{styled}{}", line.strip_prefix(label).unwrap_or(&line))
}
