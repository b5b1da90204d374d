//! Where the contract files come from: a directory on disk (`--contract DIR`, or the working
//! directory when it has `fixtures/`), or the copy of this repository's `schemas/`, `fixtures/`
//! and `snapshots/` built into the binary, so an installed `cmconform` runs from anywhere.

use super::LoadError;
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

static EMBEDDED_SCHEMAS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/schemas");
static EMBEDDED_FIXTURES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");
static EMBEDDED_SNAPSHOTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/snapshots");

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
            ContractSource::Embedded => Ok(embedded_json_files(folder)),
        }
    }

    /// The path a file of `folder` is named by in messages.
    pub fn display_path(&self, folder: &str) -> PathBuf {
        match self {
            ContractSource::Dir(root) => root.join(folder),
            ContractSource::Embedded => Path::new(EMBEDDED_ROOT).join(folder),
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

/// The text of a built-in snapshot file, e.g. `complete-from-approved.snap`.
pub fn embedded_snapshot(file: &str) -> Option<&'static str> {
    EMBEDDED_SNAPSHOTS
        .get_file(file)
        .and_then(|file| file.contents_utf8())
}

/// The built-in copy of `schemas`, `fixtures` or `snapshots`.
pub(super) fn embedded_dir(folder: &str) -> &'static Dir<'static> {
    match folder {
        "schemas" => &EMBEDDED_SCHEMAS,
        "snapshots" => &EMBEDDED_SNAPSHOTS,
        _ => &EMBEDDED_FIXTURES,
    }
}

fn embedded_json_files(folder: &str) -> Vec<SourceFile> {
    let dir = embedded_dir(folder);
    let mut files: Vec<SourceFile> = dir
        .files()
        .filter(|file| file.path().extension().is_some_and(|ext| ext == "json"))
        .filter_map(|file| {
            Some(SourceFile {
                path: Path::new(EMBEDDED_ROOT).join(folder).join(file.path()),
                text: file.contents_utf8()?.to_string(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
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
