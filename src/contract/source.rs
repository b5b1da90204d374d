//! Where the contract files come from: a directory on disk (`--contract DIR`, or the working
//! directory when it has `fixtures/`), or the copy of this repository's `schemas/`, `fixtures/`
//! and `snapshots/` built into the binary, so an installed `cmconform` runs from anywhere.

use super::LoadError;
use include_dir::{Dir, include_dir};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static EMBEDDED_SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/schemas");
static EMBEDDED_FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");
static EMBEDDED_SNAPSHOTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/snapshots");

/// How reports name the built-in contract ([`ContractSource::report_name`]).
pub const BUILT_IN: &str = "built-in";

/// How embedded files are named in messages.
const EMBEDDED_ROOT: &str = "<built-in contract>";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractSource {
    Dir(PathBuf),
    Embedded,
}

/// One file of the contract: the path messages name, and its text.
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl ContractSource {
    /// The `*.json` files of `schemas` or `fixtures`, in file-name order.
    pub fn json_files(&self, folder: &str) -> Result<Vec<SourceFile>, LoadError> {
        match self {
            ContractSource::Dir(root) => disk_json_files(&root.join(folder)),
            ContractSource::Embedded => embedded_json_files(folder),
        }
    }

    /// The path a file of `folder` is named by in messages.
    pub fn display_path(&self, folder: &str) -> PathBuf {
        match self {
            ContractSource::Dir(root) => root.join(folder),
            ContractSource::Embedded => Path::new(EMBEDDED_ROOT).join(folder),
        }
    }

    /// What reports name as the contract a run used: `built-in`, or the directory as an absolute
    /// path (the command line takes the working directory when it has `fixtures/`, which a
    /// reader of the report could not otherwise tell).
    pub fn report_name(&self) -> String {
        match self {
            ContractSource::Dir(root) => std::path::absolute(root)
                .unwrap_or_else(|_| root.clone())
                .display()
                .to_string(),
            ContractSource::Embedded => BUILT_IN.to_string(),
        }
    }

    /// The snapshots folder on disk, when there is one to read and write.
    pub fn snapshot_dir(&self) -> Option<PathBuf> {
        match self {
            ContractSource::Dir(root) => Some(root.join("snapshots")),
            ContractSource::Embedded => None,
        }
    }
}

/// The text of a built-in snapshot file, e.g. `complete-from-approved.snap`. The snapshot check
/// asks for every answer it judges, so the files are found by name in a map made once; a name
/// it does not hold (another spelling of a path) is looked up in the directory as before.
pub fn embedded_snapshot(file: &str) -> Option<&'static str> {
    static BY_NAME: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| {
        EMBEDDED_SNAPSHOTS
            .files()
            .filter_map(|file| Some((file.path().to_str()?, file.contents_utf8()?)))
            .collect()
    });
    by_name.get(file).copied().or_else(|| {
        EMBEDDED_SNAPSHOTS
            .get_file(file)
            .and_then(|file| file.contents_utf8())
    })
}

/// The text of a built-in schema file, e.g. `request.schema.json`.
pub fn embedded_schema(file: &str) -> Option<&'static str> {
    EMBEDDED_SCHEMAS
        .get_file(file)
        .and_then(|file| file.contents_utf8())
}

/// The file names of the built-in schemas.
pub fn embedded_schema_names() -> impl Iterator<Item = &'static str> {
    EMBEDDED_SCHEMAS
        .files()
        .filter_map(|file| file.path().file_name()?.to_str())
}

/// The built-in copy of `schemas`, `fixtures` or `snapshots`; any other name is an error that
/// names it (never another folder in its place).
pub(super) fn embedded_dir(folder: &str) -> Result<&'static Dir<'static>, LoadError> {
    match folder {
        "schemas" => Ok(&EMBEDDED_SCHEMAS),
        "fixtures" => Ok(&EMBEDDED_FIXTURES),
        "snapshots" => Ok(&EMBEDDED_SNAPSHOTS),
        _ => Err(LoadError::invalid(
            &Path::new(EMBEDDED_ROOT).join(folder),
            "",
            "the built-in contract has no such folder (only schemas, fixtures and snapshots)",
        )),
    }
}

/// The `*.json` files of a built-in folder; a file that is not UTF-8 is an error naming it.
fn embedded_json_files(folder: &str) -> Result<Vec<SourceFile>, LoadError> {
    let mut files = embedded_dir(folder)?
        .files()
        .filter(|file| file.path().extension().is_some_and(|ext| ext == "json"))
        .map(|file| {
            let path = Path::new(EMBEDDED_ROOT).join(folder).join(file.path());
            match file.contents_utf8() {
                Some(text) => Ok(SourceFile {
                    path,
                    text: text.to_string(),
                }),
                None => Err(LoadError::invalid(&path, "", "not UTF-8 text")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn disk_json_files(dir: &Path) -> Result<Vec<SourceFile>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            Ok(SourceFile { path, text })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_snapshots_are_found_by_name_as_in_the_directory() {
        let names = [
            "complete-from-approved.snap",
            "get-approved.snap",
            "missing.snap",
            "",
        ];
        for name in names
            .into_iter()
            .chain(["./get-approved.snap", "get-approved.snap/"])
        {
            let in_directory = EMBEDDED_SNAPSHOTS
                .get_file(name)
                .and_then(|file| file.contents_utf8());
            assert_eq!(embedded_snapshot(name), in_directory, "{name}");
        }
        assert!(embedded_snapshot("get-approved.snap").is_some());
    }

    #[test]
    fn an_unknown_built_in_folder_is_an_error_naming_it() {
        let error = ContractSource::Embedded.json_files("fixtrues").err();
        let shown = error.map(|error| error.to_string()).unwrap_or_default();
        assert!(
            shown.contains("fixtrues") && shown.contains("no such folder"),
            "{shown}"
        );
        let fixtures = ContractSource::Embedded.json_files("fixtures");
        assert!(fixtures.is_ok_and(|files| !files.is_empty()));
    }

    #[test]
    fn reports_name_the_built_in_copy_or_an_absolute_directory() {
        assert_eq!(ContractSource::Embedded.report_name(), "built-in");
        let here = ContractSource::Dir(PathBuf::from(".")).report_name();
        assert!(Path::new(&here).is_absolute(), "{here}");
        let named = ContractSource::Dir(PathBuf::from("/srv/contract")).report_name();
        assert_eq!(named, "/srv/contract");
    }
}
