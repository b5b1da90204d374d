//! The judging profile (CONTRACT.md sections 6 and 7): how strictly the harness reads what the
//! documents leave open. Checks read it from [`crate::checks::CheckContext`]; every report
//! format prints it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Sections 1 to 7 as written: open inputs pass when refused or treated as the canonical
    /// request; extra Request fields, chunked answers and web-server HTML error pages warn.
    #[default]
    Documented,
    /// For vendors who want to prove they accept only the canonical form: every open input must
    /// be refused, and extra Request fields, chunked answers and HTML error pages fail.
    Strict,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Documented => "documented",
            Profile::Strict => "strict",
        }
    }

    pub fn is_strict(self) -> bool {
        self == Profile::Strict
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
