//! Steps are numbered from 1 wherever people or files see them (console, JSON, JUnit, HTML,
//! Markdown, TAP, HAR, `merge`); in memory a step is its index in the case, from 0. This module
//! is the one crossing between the two for serde: `#[serde(with = "crate::step_number")]` on an
//! index field writes it 1-based and reads it back 0-based, refusing a 0.

use serde::{Deserialize, Deserializer, Serializer};

/// The number people see for the step at `index`.
pub fn shown(index: usize) -> usize {
    index + 1
}

pub fn serialize<S: Serializer>(index: &usize, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(shown(*index) as u64)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let number = usize::deserialize(deserializer)?;
    number.checked_sub(1).ok_or_else(|| {
        serde::de::Error::custom(
            "steps are numbered from 1 (a report of report_version 1 counted from 0)",
        )
    })
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Holder {
        #[serde(with = "super")]
        step: usize,
    }

    #[test]
    fn indexes_are_written_from_1_and_read_back() {
        for (index, text) in [(0, r#"{"step":1}"#), (3, r#"{"step":4}"#)] {
            let written = serde_json::to_string(&Holder { step: index }).unwrap_or_default();
            assert_eq!(written, text);
            let read: Option<Holder> = serde_json::from_str(text).ok();
            assert_eq!(read, Some(Holder { step: index }));
        }
        let zero = serde_json::from_str::<Holder>(r#"{"step":0}"#).err();
        let message = zero.map(|error| error.to_string()).unwrap_or_default();
        assert!(message.contains("numbered from 1"), "{message}");
    }
}
