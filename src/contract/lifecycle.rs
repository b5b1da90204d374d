//! The request life cycle of CONTRACT.md section 5: the provider states a request can be put in,
//! their numeric codes, the three statuses a PUT may ask for, and the one transition table that
//! the reference server enforces and the planner derives expectations from.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A state a CM request can be staged in (the provider-state vocabulary of the harness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    Pending,
    Approved,
    Executing,
    Completed,
    Canceled,
    Denied,
    Failed,
}

impl RequestState {
    pub const ALL: [RequestState; 7] = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Executing,
        RequestState::Completed,
        RequestState::Canceled,
        RequestState::Denied,
        RequestState::Failed,
    ];

    /// The numeric `Status` the CM database reports for this state (section 5).
    pub fn code(self) -> i64 {
        match self {
            RequestState::Approved => 3,
            RequestState::Denied => 4,
            RequestState::Completed => 8,
            RequestState::Failed => 9,
            RequestState::Pending => 16,
            RequestState::Canceled => 17,
            RequestState::Executing => 18,
        }
    }

    pub fn from_code(code: i64) -> Option<RequestState> {
        Self::ALL.into_iter().find(|state| state.code() == code)
    }

    /// Denied, Completed, Failed and Canceled: no PUT may leave them.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestState::Completed
                | RequestState::Canceled
                | RequestState::Denied
                | RequestState::Failed
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Executing => "executing",
            RequestState::Completed => "completed",
            RequestState::Canceled => "canceled",
            RequestState::Denied => "denied",
            RequestState::Failed => "failed",
        }
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RequestState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            // Case-insensitive: Pact states and hand-written files say "Approved" as often.
            .find(|state| state.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!(
                    "unknown state '{text}' (expected one of: {})",
                    Self::ALL.map(|s| s.name()).join(", ")
                )
            })
    }
}

/// The value of `status` in the PUT body (section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetStatus {
    Completed,
    Canceled,
    Abandoned,
}

impl TargetStatus {
    pub const ALL: [TargetStatus; 3] = [
        TargetStatus::Completed,
        TargetStatus::Canceled,
        TargetStatus::Abandoned,
    ];

    /// The exact, case-sensitive wire value.
    pub fn wire(self) -> &'static str {
        match self {
            TargetStatus::Completed => "Completed",
            TargetStatus::Canceled => "Canceled",
            TargetStatus::Abandoned => "Abandoned",
        }
    }

    pub fn from_wire(text: &str) -> Option<TargetStatus> {
        Self::ALL.into_iter().find(|target| target.wire() == text)
    }
}

/// The one transition table of section 5: the state a PUT of `target` moves a request in `from`
/// to, or `None` when the transition is forbidden and must be refused.
pub fn transition(from: RequestState, target: TargetStatus) -> Option<RequestState> {
    use RequestState::*;
    match (target, from) {
        (TargetStatus::Completed, Approved | Executing) => Some(Completed),
        (TargetStatus::Abandoned, Approved | Executing) => Some(Failed),
        (TargetStatus::Canceled, Pending | Approved | Executing) => Some(Canceled),
        _ => None,
    }
}

/// Whether a PUT of `target` on a request in `from` repeats the PUT that already took effect
/// (Completed on Completed, Canceled on Canceled, Abandoned on Failed): section 7 allows a
/// refusal or an idempotent success that changes nothing.
pub fn is_repeat(from: RequestState, target: TargetStatus) -> bool {
    from.is_final()
        && RequestState::ALL
            .into_iter()
            .any(|start| transition(start, target) == Some(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_admit_no_transition() {
        for from in RequestState::ALL.into_iter().filter(|s| s.is_final()) {
            for target in TargetStatus::ALL {
                assert_eq!(transition(from, target), None, "{from} -> {target:?}");
            }
        }
    }

    #[test]
    fn documented_codes_round_trip() {
        assert_eq!(RequestState::Approved.code(), 3);
        assert_eq!(RequestState::Completed.code(), 8);
        for state in RequestState::ALL {
            assert_eq!(RequestState::from_code(state.code()), Some(state));
        }
        assert_eq!(RequestState::from_code(0), None);
    }

    #[test]
    fn repeats_are_the_final_state_of_their_own_target() {
        use RequestState::*;
        let table = [
            (Completed, TargetStatus::Completed, true),
            (Canceled, TargetStatus::Canceled, true),
            (Failed, TargetStatus::Abandoned, true),
            (Completed, TargetStatus::Canceled, false),
            (Denied, TargetStatus::Completed, false),
            (Approved, TargetStatus::Completed, false),
        ];
        for (from, target, repeat) in table {
            assert_eq!(is_repeat(from, target), repeat, "{from} {target:?}");
        }
    }

    #[test]
    fn abandon_fails_the_request() {
        assert_eq!(
            transition(RequestState::Executing, TargetStatus::Abandoned),
            Some(RequestState::Failed)
        );
        assert_eq!(
            transition(RequestState::Pending, TargetStatus::Abandoned),
            None
        );
        assert_eq!(
            transition(RequestState::Pending, TargetStatus::Completed),
            None
        );
    }
}
