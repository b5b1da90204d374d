//! The Request object of CONTRACT.md section 3 as the server stores and serializes it, the
//! .NET-style timestamps it carries, the documented example of section 4, and the realistic
//! requests the provider-state endpoint stages.

use crate::contract::lifecycle::RequestState;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};
use serde::Serialize;
use uuid::Uuid;

/// `Completed` of a request that has not completed: .NET's `DateTime.MinValue`, without a zone.
pub const NOT_COMPLETED: &str = "0001-01-01T00:00:00";

/// `Microsoft.Clm.Shared.Requests.Request`: the 21 fields in the documented order and casing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestObject {
    pub uuid: Uuid,
    pub request_type: i64,
    pub status: i64,
    pub flags: i64,
    pub data_collection: Vec<DataItem>,
    pub data_collection_flags: i64,
    pub originator_user_uuid: Uuid,
    pub target_user_uuid: Uuid,
    pub submitted: String,
    pub completed: String,
    pub new_profile_uuid: Uuid,
    pub old_profile_uuid: Uuid,
    pub new_smartcard_uuid: Uuid,
    pub old_smartcard_uuid: Uuid,
    pub priority: i64,
    pub comment: String,
    pub profile_template_uuid: Uuid,
    pub security_descriptor: String,
    pub is_smartcard: bool,
    pub is_enrollment_agent: bool,
    pub is_data_collection_complete: bool,
}

/// One data collection item: a name and an optional value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataItem {
    pub name: String,
    pub value: Option<String>,
}

/// A timestamp the way the CM REST API writes it: UTC, `Z`, and .NET's trimmed fraction
/// (`2015-07-07T23:36:21.93Z`: trailing zero digits and a bare dot are dropped).
pub fn dotnet_timestamp(at: DateTime<Utc>) -> String {
    // chrono formats 3, 6 or 9 digits; .NET ticks are 100 ns, so 9 digits after truncation to 7
    // end in "00", which the trimming removes.
    let nine_digits = at
        .trunc_subsecs(7)
        .format("%Y-%m-%dT%H:%M:%S%.9f")
        .to_string();
    let trimmed = nine_digits.trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}Z")
}

/// The moment a request completed now, with `digits` fraction digits (3 where SQL Server keeps
/// milliseconds, 7 for .NET ticks), and never earlier than its submission, whatever the clocks
/// say.
pub fn completion_time(submitted: DateTime<Utc>, digits: u16) -> DateTime<Utc> {
    Utc::now().trunc_subsecs(digits).max(submitted)
}

/// The request of the documented example (sections 1 and 4), before completion: Approved,
/// Status 3, not completed, every other field exactly as on the seed page.
pub fn documented_example() -> (RequestObject, DateTime<Utc>) {
    const SUBMITTED: &str = "2015-07-07T23:36:21.93Z";
    let submitted_at = DateTime::parse_from_rfc3339(SUBMITTED)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH);
    let object = RequestObject {
        uuid: Uuid::from_u128(0xa9b4b42c_cc50_4c9b_89d1_bbc0bcd5a099),
        request_type: 1,
        status: RequestState::Approved.code(),
        flags: 2,
        data_collection: Vec::new(),
        data_collection_flags: 32,
        originator_user_uuid: Uuid::from_u128(0x8f1590dc_d932_4b66_8e68_2e91c5880780),
        target_user_uuid: Uuid::from_u128(0x8f1590dc_d932_4b66_8e68_2e91c5880780),
        submitted: SUBMITTED.into(),
        completed: NOT_COMPLETED.into(),
        new_profile_uuid: Uuid::from_u128(0xb99ff38c_6653_471f_ae3c_325bb351a6bc),
        old_profile_uuid: Uuid::nil(),
        new_smartcard_uuid: Uuid::from_u128(0x17cf063d_e337_4aa9_a822_346554ddd3c9),
        old_smartcard_uuid: Uuid::nil(),
        priority: 0,
        comment: String::new(),
        profile_template_uuid: Uuid::from_u128(0xa039b4d0_5ce8_4eff_8651_181c6576fda3),
        security_descriptor: EXAMPLE_SECURITY_DESCRIPTOR.into(),
        is_smartcard: true,
        is_enrollment_agent: false,
        is_data_collection_complete: false,
    };
    (object, submitted_at)
}

/// The SecurityDescriptor of the seed page, including its nine trailing NUL characters.
const EXAMPLE_SECURITY_DESCRIPTOR: &str = concat!(
    "O:S-1-5-21-2127521184-1604012920-1887927527-14134865",
    "D:(D;;LC;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)",
    "(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5094533)",
    "(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5094534)",
    "(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-5219125)",
    "(A;;SWRC;;;S-1-5-21-2127521184-1604012920-1887927527-5094533)",
    "(A;;RC;;;WD)",
    "(A;;CCDCLCSWSDRC;;;S-1-5-21-2127521184-1604012920-1887927527-14134865)",
    "(A;;DCSW;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)",
    "(A;;CCDCSW;;;S-1-5-21-2127521184-1604012920-1887927527-14995557)",
    "\0\0\0\0\0\0\0\0\0",
);

/// Variety for generated requests: ChaCha8 seeded from the system's randomness (through a v4
/// GUID's bytes), not cryptographic quality and not reproducible, which the server does not need.
struct Dice(ChaCha8Rng);

impl Dice {
    fn new() -> Dice {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        Dice(ChaCha8Rng::from_seed(seed))
    }

    /// A number in `0..bound` (bound > 0), slightly biased, which is fine for test data.
    fn below(&mut self, bound: u32) -> u32 {
        self.0.next_u32() % bound.max(1)
    }

    fn pick<T: Copy>(&mut self, choices: &[T]) -> Option<T> {
        let len = u32::try_from(choices.len()).ok()?;
        choices.get(self.below(len) as usize).copied()
    }

    fn flip(&mut self) -> bool {
        self.0.next_u32() & 1 == 1
    }
}

/// A fresh, realistic request in `state` (the provider-state endpoint's product). Returns the
/// object (with the documented Status code of `state`) and its submission time.
pub fn generated_request(state: RequestState) -> (RequestObject, DateTime<Utc>) {
    let mut dice = Dice::new();
    let (submitted, submitted_at) = past_timestamp(&mut dice);
    let completed = match state {
        RequestState::Completed => {
            let later = submitted_at + Duration::seconds(i64::from(30 + dice.below(7200)));
            dotnet_timestamp(later.trunc_subsecs(3).min(Utc::now()).max(submitted_at))
        }
        _ => NOT_COMPLETED.into(),
    };
    let originator = Uuid::new_v4();
    let is_smartcard = dice.flip();
    let object = RequestObject {
        uuid: Uuid::new_v4(),
        request_type: i64::from(1 + dice.below(5)),
        status: state.code(),
        flags: dice.pick(&[0, 1, 2, 2, 4, 6]).unwrap_or(2),
        data_collection: data_collection(&mut dice),
        data_collection_flags: dice.pick(&[0, 32, 32, 64, 96]).unwrap_or(32),
        originator_user_uuid: originator,
        target_user_uuid: if dice.flip() {
            originator
        } else {
            Uuid::new_v4()
        },
        submitted,
        completed,
        new_profile_uuid: Uuid::new_v4(),
        old_profile_uuid: if dice.below(4) == 0 {
            Uuid::new_v4()
        } else {
            Uuid::nil()
        },
        new_smartcard_uuid: if is_smartcard {
            Uuid::new_v4()
        } else {
            Uuid::nil()
        },
        old_smartcard_uuid: Uuid::nil(),
        priority: if dice.flip() {
            0
        } else {
            i64::from(dice.below(256))
        },
        comment: dice.pick(COMMENTS).unwrap_or_default().into(),
        profile_template_uuid: Uuid::new_v4(),
        security_descriptor: security_descriptor(&mut dice),
        is_smartcard,
        is_enrollment_agent: dice.below(4) == 0,
        is_data_collection_complete: dice.flip(),
    };
    (object, submitted_at)
}

const COMMENTS: &[&str] = &[
    "",
    "",
    "New hire enrollment",
    "Replacement card: lost badge",
    "Renewal before expiry",
    "Approved by helpdesk (ticket 4711)",
];

/// A submission between an hour and about a year ago, written with 0 to 7 fraction digits as
/// real CM answers vary; the returned instant is the parsed string, so both always agree.
fn past_timestamp(dice: &mut Dice) -> (String, DateTime<Utc>) {
    let age = Duration::seconds(i64::from(3600 + dice.below(365 * 24 * 3600)))
        + Duration::nanoseconds(i64::from(dice.below(1_000_000_000)));
    let full = (Utc::now() - age).trunc_subsecs(7);
    let digits = dice.below(8) as usize;
    let text = dotnet_timestamp(full);
    let text = cut_fraction(&text, digits);
    let at = DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or(full);
    (text, at)
}

/// Keeps at most `digits` fraction digits of a `...ss.fffffffZ` timestamp, trimmed as .NET does.
fn cut_fraction(timestamp: &str, digits: usize) -> String {
    let body = timestamp.trim_end_matches('Z');
    let Some((seconds, fraction)) = body.split_once('.') else {
        return timestamp.to_string();
    };
    let kept = fraction.get(..digits.min(fraction.len())).unwrap_or("");
    let kept = kept.trim_end_matches('0');
    if kept.is_empty() {
        format!("{seconds}Z")
    } else {
        format!("{seconds}.{kept}Z")
    }
}

fn data_collection(dice: &mut Dice) -> Vec<DataItem> {
    const ITEMS: &[(&str, Option<&str>)] = &[
        ("Employee ID", Some("E-10442")),
        ("Department", Some("Finance")),
        ("Reason", None),
        ("Badge Number", Some("0042-7781")),
        ("Manager Approval", Some("yes")),
    ];
    let count = dice.pick(&[0, 0, 1, 2, 3]).unwrap_or(0);
    (0..count)
        .filter_map(|_| dice.pick(ITEMS))
        .map(|(name, value)| DataItem {
            name: name.into(),
            value: value.map(str::to_string),
        })
        .collect()
}

/// An SDDL string like the example's: owner and ACEs with domain SIDs, sometimes NUL-padded.
fn security_descriptor(dice: &mut Dice) -> String {
    let domain = format!(
        "S-1-5-21-{}-{}-{}",
        1_000_000_000 + dice.below(1_000_000_000),
        1_000_000_000 + dice.below(1_000_000_000),
        1_000_000_000 + dice.below(1_000_000_000)
    );
    let owner = format!("{domain}-{}", 1000 + dice.below(20_000_000));
    let group = format!("{domain}-{}", 1000 + dice.below(20_000_000));
    let padding = "\0".repeat(dice.below(10) as usize);
    format!("O:{owner}D:(A;;DCSW;;;{group})(A;;RC;;;WD)(A;;CCDCLCSWSDRC;;;{owner}){padding}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_trimmed_like_dotnet() {
        let at = DateTime::parse_from_rfc3339("2015-07-07T23:36:21.930Z")
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(dotnet_timestamp(at), "2015-07-07T23:36:21.93Z");
        assert_eq!(
            dotnet_timestamp(at.trunc_subsecs(0)),
            "2015-07-07T23:36:21Z"
        );
        assert_eq!(
            cut_fraction("2015-07-07T23:36:21.1234567Z", 3),
            "2015-07-07T23:36:21.123Z"
        );
        assert_eq!(
            cut_fraction("2015-07-07T23:36:21.1034567Z", 2),
            "2015-07-07T23:36:21.1Z"
        );
        assert_eq!(
            cut_fraction("2015-07-07T23:36:21.1234567Z", 0),
            "2015-07-07T23:36:21Z"
        );
    }

    #[test]
    fn documented_example_serializes_in_documented_order() {
        let (object, _) = documented_example();
        let json = serde_json::to_value(&object).unwrap_or_default();
        let keys: Vec<&str> = json
            .as_object()
            .map(|map| map.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 21);
        assert_eq!(keys.first(), Some(&"Uuid"));
        assert_eq!(keys.last(), Some(&"IsDataCollectionComplete"));
        assert_eq!(json["Uuid"], "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099");
        assert_eq!(json["Status"], 3);
        assert_eq!(json["Completed"], NOT_COMPLETED);
        let sd = json["SecurityDescriptor"].as_str().unwrap_or_default();
        assert!(sd.ends_with("14995557)\0\0\0\0\0\0\0\0\0"));
        assert!(!sd.ends_with("\0\0\0\0\0\0\0\0\0\0"));
    }

    #[test]
    fn generated_requests_are_plausible() {
        for state in RequestState::ALL {
            for _ in 0..50 {
                let (object, submitted_at) = generated_request(state);
                assert_eq!(object.status, state.code());
                assert!((1..=5).contains(&object.request_type));
                assert!((0..=255).contains(&object.priority));
                assert!(submitted_at < Utc::now());
                if state == RequestState::Completed {
                    let completed = DateTime::parse_from_rfc3339(&object.completed)
                        .map(|at| at.with_timezone(&Utc));
                    assert!(completed.is_ok_and(|at| at >= submitted_at), "{object:?}");
                } else {
                    assert_eq!(object.completed, NOT_COMPLETED);
                }
            }
        }
    }
}
