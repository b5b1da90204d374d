//! Snapshots of normalized Request objects, stored in `snapshots/` in insta's `.snap` format so
//! that `cargo insta` tooling and the harness's own tests read the same files.
//!
//! Normalization keeps what the contract fixes (field names, value types, Status) and replaces
//! what legitimately varies per request with placeholders of its type, so a snapshot holds on any
//! conformant deployment.

use crate::contract::LoadError;
use crate::contract::source::{ContractSource, embedded_snapshot};
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
    serde_json::to_string_pretty(&normalize(value)).unwrap_or_else(|_| value.to_string())
}

/// Keys sorted (JSON objects are unordered), varying values replaced by type placeholders.
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

/// DataCollection items vary in number and content per request: well-formed items collapse into
/// one placeholder; malformed ones stay visible so a diff shows them.
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

    #[test]
    fn snap_header_is_stripped() {
        assert_eq!(snapshot_body(&snap_file("x", "{\n}")), "{\n}\n");
    }
}
