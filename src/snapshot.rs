//! Snapshots of normalized Request objects, stored in `snapshots/` in insta's `.snap` format so
//! that `cargo insta` tooling and the harness's own tests read the same files.
//!
//! Normalization keeps what the contract fixes (field names, value types, Status) and replaces
//! what legitimately varies per request with placeholders of its type, so a snapshot holds on any
//! conformant deployment.

use crate::contract::LoadError;
use crate::contract::source::{ContractSource, embedded_snapshot};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Fields whose value the contract fixes after a transition: kept literally.
const LITERAL_FIELDS: [&str; 1] = ["Status"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    Compare,
    /// `--update-snapshots`: write what was observed, for review.
    Update,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    Matched,
    Written(PathBuf),
    Missing(PathBuf),
    Differs { path: PathBuf, diff: String },
}

#[derive(Debug)]
pub struct SnapshotStore {
    /// `None`: the snapshots built into the binary, read-only.
    dir: Option<PathBuf>,
    mode: SnapshotMode,
    /// The stored files by name, read once when the store is made: judging runs on the async
    /// runtime, which must not block on file reads. Updated when a file is written, and locked
    /// while it is, so concurrent cases sharing a snapshot name cannot interleave a file.
    files: Mutex<HashMap<String, Stored>>,
}

/// One stored snapshot file, or why it could not be read.
type Stored = Result<String, (std::io::ErrorKind, String)>;

impl SnapshotStore {
    pub fn new(dir: &Path, mode: SnapshotMode) -> SnapshotStore {
        SnapshotStore {
            dir: Some(dir.to_path_buf()),
            mode,
            files: Mutex::new(read_snap_files(dir)),
        }
    }

    /// The snapshots of a contract source: its `snapshots/` folder, or the built-in copy.
    pub fn for_source(source: &ContractSource, mode: SnapshotMode) -> SnapshotStore {
        match source.snapshot_dir() {
            Some(dir) => SnapshotStore::new(&dir, mode),
            None => SnapshotStore {
                dir: None,
                mode,
                files: Mutex::new(HashMap::new()),
            },
        }
    }

    pub fn path_for(&self, name: &str) -> PathBuf {
        let dir = self
            .dir
            .clone()
            .unwrap_or_else(|| ContractSource::Embedded.display_path("snapshots"));
        dir.join(format!("{name}.snap"))
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<String, Stored>> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks, before anything is sent, that the snapshot files `names` can be compared with:
    /// a `snapshots/` folder, and files that are UTF-8, not empty, and hold a JSON document
    /// after their header. A bad one is a contract error naming the file (exit 2), never a
    /// failed check blamed on the target. A file that does not exist yet stays a finding (the
    /// `snapshot` check says to create it); in update mode every file may be rewritten.
    pub fn validate<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Result<(), LoadError> {
        let (Some(dir), SnapshotMode::Compare) = (&self.dir, self.mode) else {
            return Ok(());
        };
        let mut names = names.into_iter().peekable();
        if names.peek().is_some() && !dir.is_dir() {
            return Err(LoadError::invalid(
                dir,
                "/",
                "the snapshots folder is missing (create it with --update-snapshots)",
            ));
        }
        let files = self.files();
        for name in names {
            let path = self.path_for(name);
            let text = match files.get(&format!("{name}.snap")) {
                None => continue,
                Some(Ok(text)) => text,
                Some(Err((std::io::ErrorKind::InvalidData, _))) => {
                    return Err(LoadError::invalid(&path, "/", "not UTF-8 text"));
                }
                Some(Err((kind, message))) => {
                    return Err(LoadError::Io {
                        path,
                        source: std::io::Error::new(*kind, message.clone()),
                    });
                }
            };
            let body = snapshot_body(text).trim();
            if body.is_empty() {
                return Err(LoadError::invalid(&path, "/", "the snapshot is empty"));
            }
            if let Err(error) = serde_json::from_str::<Value>(body) {
                return Err(LoadError::invalid(
                    &path,
                    "/",
                    &format!("not a snapshot (a header, then a JSON document): {error}"),
                ));
            }
        }
        Ok(())
    }

    /// The stored file, if there is one.
    fn read(&self, name: &str) -> std::io::Result<Option<String>> {
        let file = format!("{name}.snap");
        if self.dir.is_none() {
            return Ok(embedded_snapshot(&file).map(str::to_string));
        }
        match self.files().get(&file) {
            None => Ok(None),
            Some(Ok(text)) => Ok(Some(text.clone())),
            Some(Err((kind, message))) => Err(std::io::Error::new(*kind, message.clone())),
        }
    }

    /// Whether the stored snapshot `name` exists and `same` says its contents (after the header,
    /// trailing whitespace trimmed) are what was observed. Borrows the stored text: no copy.
    pub fn holds(&self, name: &str, same: impl FnOnce(&str) -> bool) -> bool {
        let file = format!("{name}.snap");
        if self.dir.is_none() {
            return embedded_snapshot(&file)
                .is_some_and(|text| same(snapshot_body(text).trim_end()));
        }
        match self.files().get(&file) {
            Some(Ok(text)) => same(snapshot_body(text).trim_end()),
            _ => false,
        }
    }

    /// Compares (or, in update mode, writes) the snapshot `name`.
    pub fn check(&self, name: &str, contents: &str) -> std::io::Result<SnapshotOutcome> {
        let path = self.path_for(name);
        let stored = self
            .read(name)?
            .map(|text| snapshot_body(&text).to_string());
        if stored.as_deref().map(str::trim_end) == Some(contents.trim_end()) {
            return Ok(SnapshotOutcome::Matched);
        }
        if self.mode == SnapshotMode::Update {
            let mut files = self.files();
            let Some(dir) = &self.dir else {
                return Err(std::io::Error::other(
                    "the built-in snapshots cannot be updated: pass --contract DIR",
                ));
            };
            std::fs::create_dir_all(dir)?;
            let text = snap_file(name, contents);
            std::fs::write(&path, &text)?;
            files.insert(format!("{name}.snap"), Ok(text));
            return Ok(SnapshotOutcome::Written(path));
        }
        Ok(match stored {
            None => SnapshotOutcome::Missing(path),
            Some(stored) => SnapshotOutcome::Differs {
                diff: unified_diff(&stored, contents),
                path,
            },
        })
    }
}

/// Every `*.snap` file of `dir` by file name; a missing folder holds none.
fn read_snap_files(dir: &Path) -> HashMap<String, Stored> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashMap::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "snap"))
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            let text =
                std::fs::read_to_string(&path).map_err(|error| (error.kind(), error.to_string()));
            Some((name, text))
        })
        .collect()
}

/// An insta `.snap` file: a small YAML header, then the contents.
fn snap_file(name: &str, contents: &str) -> String {
    format!(
        "---\nsource: cmconform\nexpression: \"normalized Request of {name}\"\n---\n{}\n",
        contents.trim_end()
    )
}

/// The contents of a `.snap` file after its header.
fn snapshot_body(file: &str) -> &str {
    let Some(rest) = file.strip_prefix("---\n") else {
        return file;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + 5..],
        None => file,
    }
}

pub fn unified_diff(stored: &str, observed: &str) -> String {
    similar::TextDiff::from_lines(stored.trim_end(), observed.trim_end())
        .unified_diff()
        .context_radius(3)
        .header("snapshot", "observed")
        .to_string()
}

/// The normalized, pretty-printed form of a Request object that snapshots hold.
pub fn render(value: &Value) -> String {
    render_members(value, every_member)
}

/// [`render`] of `value` with only the top-level members `keep` accepts (the documented
/// profile compares the documented fields).
pub fn render_members(value: &Value, keep: fn(&str) -> bool) -> String {
    serde_json::to_string_pretty(&Normalized { value, keep }).unwrap_or_else(|_| value.to_string())
}

/// Whether [`render_members`] of `value` is `expected`, decided as the text is written and
/// without keeping it: judging an answer that matches its snapshot, the common case, costs no
/// normalized copy and no rendered text. (Rendered JSON never ends in whitespace, so comparing
/// with a trimmed `expected` is comparing trimmed texts, as [`SnapshotStore::check`] does.)
pub fn renders_as(value: &Value, keep: fn(&str) -> bool, expected: &str) -> bool {
    let mut same = SameText {
        expected: expected.as_bytes(),
        written: 0,
    };
    serde_json::to_writer_pretty(&mut same, &Normalized { value, keep }).is_ok()
        && same.written == same.expected.len()
}

/// Every member is kept.
pub fn every_member(_: &str) -> bool {
    true
}

/// A writer that only compares what it is given with `expected`, failing at the first byte
/// that differs (which stops the serializer there).
struct SameText<'a> {
    expected: &'a [u8],
    written: usize,
}

impl std::io::Write for SameText<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let end = self.written + buf.len();
        if self.expected.get(self.written..end) != Some(buf) {
            return Err(std::io::Error::other("differs from the snapshot"));
        }
        self.written = end;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keys sorted (JSON objects are unordered), varying values replaced by type placeholders.
pub fn normalize(value: &Value) -> Value {
    serde_json::to_value(Normalized {
        value,
        keep: every_member,
    })
    .unwrap_or_else(|_| value.clone())
}

/// The normalized form of a value, serialized as it is walked: [`render`] and [`normalize`]
/// write it, [`renders_as`] compares it, none of them copies the value first.
struct Normalized<'a> {
    value: &'a Value,
    /// Which top-level members are compared.
    keep: fn(&str) -> bool,
}

impl Serialize for Normalized<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(object) => serialize_object(object, self.keep, serializer),
            other => Placeholder::of("", other).serialize(serializer),
        }
    }
}

/// An object with its members in key order, kept literally (Status) or as placeholders.
fn serialize_object<S: Serializer>(
    object: &Map<String, Value>,
    keep: fn(&str) -> bool,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut members: Vec<(&String, &Value)> = object.iter().filter(|(key, _)| keep(key)).collect();
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut map = serializer.serialize_map(Some(members.len()))?;
    for (key, field) in members {
        if LITERAL_FIELDS.contains(&key.as_str()) {
            map.serialize_entry(key, field)?;
        } else {
            map.serialize_entry(key, &Placeholder::of(key, field))?;
        }
    }
    map.end()
}

/// The placeholder of a value of the member `key` (`""` in arrays and at the top).
struct Placeholder<'a> {
    key: &'a str,
    value: &'a Value,
}

impl<'a> Placeholder<'a> {
    fn of(key: &'a str, value: &'a Value) -> Placeholder<'a> {
        Placeholder { key, value }
    }
}

impl Serialize for Placeholder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(_) => serializer.serialize_str("[boolean]"),
            Value::Number(number) if number.is_i64() || number.is_u64() => {
                serializer.serialize_str("[integer]")
            }
            Value::Number(_) => serializer.serialize_str("[number]"),
            Value::String(text) => serializer.serialize_str(string_placeholder(self.key, text)),
            Value::Array(items) if self.key == "DataCollection" && collapses(items) => {
                serializer.collect_seq(["[data-collection-item]*"])
            }
            Value::Array(items) => {
                serializer.collect_seq(items.iter().map(|item| Placeholder::of("", item)))
            }
            Value::Object(object) => serialize_object(object, every_member, serializer),
        }
    }
}

/// DataCollection items vary in number and content per request: well-formed items collapse into
/// one placeholder; malformed ones stay visible so a diff shows them.
fn collapses(items: &[Value]) -> bool {
    items.iter().all(|item| {
        item.get("Name").is_some_and(Value::is_string)
            && item
                .get("Value")
                .is_some_and(|v| v.is_string() || v.is_null())
    })
}

fn string_placeholder(key: &str, text: &str) -> &'static str {
    if uuid::Uuid::parse_str(text).is_ok() {
        "[guid]"
    } else if crate::contract::timestamp::Timestamp::parse(text).is_some() {
        "[timestamp]"
    } else if key == "SecurityDescriptor" && text.starts_with("O:") {
        "[sddl]"
    } else {
        "[string]"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::request_fields::{documented_only, is_documented};
    use serde_json::json;

    #[test]
    fn varying_values_become_type_placeholders() {
        let value = json!({"Status": 8, "Uuid": "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099", "Flags": 2,
            "Completed": "2015-07-07T23:37:37.767Z", "IsSmartcard": true, "DataCollection": [{"Name": "a", "Value": null}]});
        let normalized = normalize(&value);
        assert_eq!(
            normalized,
            json!({"Completed": "[timestamp]", "DataCollection": ["[data-collection-item]*"], "Flags": "[integer]",
                "IsSmartcard": "[boolean]", "Status": 8, "Uuid": "[guid]"})
        );
        let keys: Vec<&String> = normalized
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("Completed"));
    }

    #[test]
    fn type_changes_stay_visible() {
        assert_eq!(
            normalize(&json!({"Status": "8", "Flags": "2"})),
            json!({"Status": "8", "Flags": "[string]"})
        );
    }

    /// The normalization before it was written as a serializer, kept as the oracle of the
    /// differential test below.
    mod reference {
        use super::super::{LITERAL_FIELDS, string_placeholder};
        use serde_json::{Map, Value};

        pub fn normalize(value: &Value) -> Value {
            match value {
                Value::Object(object) => {
                    let mut keys: Vec<&String> = object.keys().collect();
                    keys.sort();
                    let mut normalized = Map::new();
                    for key in keys {
                        let field = &object[key.as_str()];
                        let value = if LITERAL_FIELDS.contains(&key.as_str()) {
                            field.clone()
                        } else {
                            placeholder(key, field)
                        };
                        normalized.insert(key.clone(), value);
                    }
                    Value::Object(normalized)
                }
                other => placeholder("", other),
            }
        }

        fn placeholder(key: &str, value: &Value) -> Value {
            match value {
                Value::Null => Value::Null,
                Value::Bool(_) => "[boolean]".into(),
                Value::Number(number) if number.is_i64() || number.is_u64() => "[integer]".into(),
                Value::Number(_) => "[number]".into(),
                Value::String(text) => string_placeholder(key, text).into(),
                Value::Array(items) => normalize_array(key, items),
                Value::Object(_) => normalize(value),
            }
        }

        fn normalize_array(key: &str, items: &[Value]) -> Value {
            let well_formed_item = |item: &Value| {
                item.get("Name").is_some_and(Value::is_string)
                    && item
                        .get("Value")
                        .is_some_and(|v| v.is_string() || v.is_null())
            };
            if key == "DataCollection" && items.iter().all(well_formed_item) {
                return Value::Array(vec!["[data-collection-item]*".into()]);
            }
            Value::Array(items.iter().map(|item| placeholder("", item)).collect())
        }
    }

    /// A deterministic generator (SplitMix64) for the differential test.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }
    }

    const KEYS: &[&str] = &[
        "Status",
        "Uuid",
        "Comment",
        "Completed",
        "Submitted",
        "SecurityDescriptor",
        "DataCollection",
        "Flags",
        "Name",
        "Value",
        "ETag",
        "odata.type",
        "",
        "Ä",
    ];

    fn scalar(rng: &mut Rng) -> Value {
        let scalars = [
            Value::Null,
            json!(true),
            json!(8),
            json!(-3),
            json!(u64::MAX),
            json!(1.5),
            json!(-0.0),
            json!(1e300),
            json!("a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"),
            json!("2015-07-07T23:37:37.767Z"),
            json!("2015-07-07T23:37:37"),
            json!("O:BAG:BA"),
            json!("x\"\n"),
            json!(""),
        ];
        scalars[rng.below(scalars.len())].clone()
    }

    fn value(rng: &mut Rng, depth: usize) -> Value {
        match if depth > 3 { 0 } else { rng.below(4) } {
            0 => scalar(rng),
            1 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
            2 => {
                let item = |rng: &mut Rng| {
                    let value = [Value::Null, json!("v")][rng.below(2)].clone();
                    json!({"Name": "n", "Value": value})
                };
                Value::Array((0..rng.below(3)).map(|_| item(rng)).collect())
            }
            _ => object(rng, depth),
        }
    }

    fn object(rng: &mut Rng, depth: usize) -> Value {
        let mut object = Map::new();
        for _ in 0..rng.below(8) {
            object.insert(
                KEYS[rng.below(KEYS.len())].to_string(),
                value(rng, depth + 1),
            );
        }
        Value::Object(object)
    }

    /// Rendering while walking the value gives, byte for byte, what normalizing a copy and
    /// pretty-printing it gave; the comparison says yes to that text and no to any other.
    #[test]
    fn rendering_agrees_with_the_reference_normalization() {
        let mut rng = Rng(0x5EED_0013);
        for round in 0..5_000 {
            let value = if round % 4 == 0 {
                value(&mut rng, 0)
            } else {
                object(&mut rng, 0)
            };
            let expected = reference::normalize(&value);
            assert_eq!(normalize(&value), expected, "{value}");
            let text = serde_json::to_string_pretty(&expected).unwrap_or_default();
            assert_eq!(render(&value), text, "{value}");
            let documented = documented_only(&value);
            let documented_text = render(&documented);
            assert_eq!(render_members(&value, is_documented), documented_text);
            assert!(renders_as(&value, every_member, &text), "{value}");
            assert!(renders_as(&value, is_documented, &documented_text));
            assert!(!renders_as(&value, every_member, &text[..text.len() - 1]));
            assert!(!renders_as(&value, every_member, &format!("{text} ")));
            let mut other = text.clone().into_bytes();
            let at = rng.below(other.len());
            other[at] = if other[at] == b'x' { b'y' } else { b'x' };
            let other = String::from_utf8_lossy(&other);
            assert!(!renders_as(&value, every_member, &other), "{value}");
        }
    }

    /// `holds` says yes exactly when `check` would say the snapshot matched: stored files with
    /// and without a header and trailing whitespace, other contents, missing files, and the
    /// built-in snapshots.
    #[test]
    fn holds_agrees_with_check() {
        let dir = std::env::temp_dir().join(format!("cmconform-holds-{}", uuid::Uuid::new_v4()));
        let observed = render(&json!({"Status": 8, "Flags": 2}));
        let files = [
            ("plain", snap_file("plain", &observed)),
            (
                "spaces",
                format!("{}\n\n  \n", snap_file("spaces", &observed)),
            ),
            ("bare", observed.clone()),
            ("other", snap_file("other", "{}")),
            (
                "prefix",
                snap_file("prefix", &observed[..observed.len() - 2]),
            ),
        ];
        std::fs::create_dir_all(&dir).unwrap_or_default();
        for (name, text) in &files {
            std::fs::write(dir.join(format!("{name}.snap")), text).unwrap_or_default();
        }
        let store = SnapshotStore::new(&dir, SnapshotMode::Compare);
        for name in ["plain", "spaces", "bare", "other", "prefix", "missing"] {
            let matched = matches!(store.check(name, &observed), Ok(SnapshotOutcome::Matched));
            assert_eq!(
                store.holds(name, |stored| stored == observed),
                matched,
                "{name}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        let built_in = SnapshotStore::for_source(&ContractSource::Embedded, SnapshotMode::Compare);
        let request = crate::checks::testing::completed_request();
        let rendered = render(&request);
        for name in ["complete-from-approved", "get-approved", "missing"] {
            let matched = matches!(
                built_in.check(name, &rendered),
                Ok(SnapshotOutcome::Matched)
            );
            let holds = built_in.holds(name, |stored| renders_as(&request, every_member, stored));
            assert_eq!(holds, matched, "{name}");
        }
        assert!(built_in.holds("complete-from-approved", |stored| stored == rendered));
    }

    #[test]
    fn snap_header_is_stripped() {
        assert_eq!(snapshot_body(&snap_file("x", "{\n}")), "{\n}\n");
    }
}
