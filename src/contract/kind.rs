//! The three kinds of expectation (CONTRACT.md sections 1-7): what the documents fix, how the
//! harness reads their silences, and inputs whose meaning they leave open. Every fixture and
//! every generated kind declares one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectationKind {
    /// Sections 1 to 5: a breach fails.
    Documented,
    /// Section 6, our reading: as documented, with warnings for correct-but-undocumented answers.
    Reading,
    /// Section 7: another spelling of a canonical request, judged by refusal-or-equivalence.
    Open,
}

impl ExpectationKind {
    pub fn name(self) -> &'static str {
        match self {
            ExpectationKind::Documented => "documented",
            ExpectationKind::Reading => "reading",
            ExpectationKind::Open => "open",
        }
    }

    /// The CONTRACT.md sections an expectation of this kind comes from.
    pub fn sections(self) -> &'static str {
        match self {
            ExpectationKind::Documented => "1 to 5",
            ExpectationKind::Reading => "6",
            ExpectationKind::Open => "7",
        }
    }

    /// Whether a fixture of this kind may cite `section` of CONTRACT.md.
    pub fn allows_section(self, section: &str) -> bool {
        let major = section.split('.').next().unwrap_or(section);
        match self {
            ExpectationKind::Documented => ["1", "2", "3", "4", "5"].contains(&major),
            ExpectationKind::Reading => major == "6",
            ExpectationKind::Open => major == "7",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExpectationKind::*;

    #[test]
    fn kinds_cite_their_sections() {
        let table = [
            (Documented, "5", true),
            (Documented, "6", false),
            (Reading, "6", true),
            (Reading, "2", false),
            (Open, "7", true),
            (Open, "6", false),
        ];
        for (kind, section, allowed) in table {
            assert_eq!(kind.allows_section(section), allowed, "{kind:?} {section}");
        }
    }
}
