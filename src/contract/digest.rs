//! The contract digest: one SHA-256 over the names and bytes of every file of `schemas/`,
//! `fixtures/` and `snapshots/`, so two reports can be told to come from the same contract
//! (`cmconform merge` refuses to join reports whose digests differ).
//!
//! Files are taken in the order of their relative names (`fixtures/001-...json`); for each, the
//! name, a NUL byte, the length as 8 big-endian bytes and the bytes go into the hash. Hidden
//! files (editor leftovers) are left out. The built-in copy and a checkout of the same commit
//! give the same digest.

use super::source::{SourceFile, embedded_dir};
use super::{ContractSource, LoadError};
use ring::digest::{Context, SHA256};
use std::collections::HashMap;
use std::path::Path;

/// The folders whose files make up the contract.
pub const CONTRACT_FOLDERS: [&str; 3] = ["schemas", "fixtures", "snapshots"];

/// `sha256:` and 64 hex digits.
pub fn contract_digest(source: &ContractSource) -> Result<String, LoadError> {
    contract_digest_of_read(source, &[])
}

/// [`contract_digest`], taking the bytes of the files in `read` (by path) from there instead of
/// reading them again: loading the contract has just read every schema and fixture, and a
/// one-case run's start is short enough for a second read of them all to show.
pub fn contract_digest_of_read(
    source: &ContractSource,
    read: &[SourceFile],
) -> Result<String, LoadError> {
    let read: HashMap<&Path, &[u8]> = read
        .iter()
        .map(|file| (file.path.as_path(), file.text.as_bytes()))
        .collect();
    let mut files = Vec::new();
    for folder in CONTRACT_FOLDERS {
        match source {
            ContractSource::Dir(root) => disk_files(&root.join(folder), folder, &read, &mut files)?,
            ContractSource::Embedded => embedded_files(folder, &mut files)?,
        }
    }
    Ok(digest_of(files))
}

/// The digest of `(relative name, bytes)` pairs, in name order.
pub fn digest_of(mut files: Vec<(String, Vec<u8>)>) -> String {
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut context = Context::new(&SHA256);
    for (name, bytes) in &files {
        context.update(name.as_bytes());
        context.update(&[0]);
        context.update(&(bytes.len() as u64).to_be_bytes());
        context.update(bytes);
    }
    let hex: String = context
        .finish()
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The first 12 hex digits, for one-line headers.
pub fn short(digest: &str) -> &str {
    let end = digest.len().min("sha256:".len() + 12);
    digest.get(..end).unwrap_or(digest)
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn embedded_files(folder: &str, files: &mut Vec<(String, Vec<u8>)>) -> Result<(), LoadError> {
    for file in embedded_dir(folder)?.files() {
        let Some(name) = file.path().file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if !is_hidden(name) {
            files.push((format!("{folder}/{name}"), file.contents().to_vec()));
        }
    }
    Ok(())
}

/// The regular files directly in `dir`; a folder that does not exist adds nothing (a contract
/// without snapshots yet). A file in `read` was read as a file already: its bytes are taken
/// from there.
fn disk_files(
    dir: &Path,
    folder: &str,
    read: &HashMap<&Path, &[u8]>,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), LoadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io(dir)(error)),
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if is_hidden(name) {
            continue;
        }
        let bytes = match read.get(path.as_path()) {
            Some(bytes) => bytes.to_vec(),
            None if path.is_file() => std::fs::read(&path).map_err(io(&path))?,
            None => continue,
        };
        files.push((format!("{folder}/{name}"), bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &str) -> (String, Vec<u8>) {
        (name.to_string(), bytes.as_bytes().to_vec())
    }

    #[test]
    fn names_bytes_and_boundaries_all_count_but_order_does_not() {
        let base = digest_of(vec![file("fixtures/a.json", "{}"), file("schemas/b", "x")]);
        let cases = [
            (
                vec![file("schemas/b", "x"), file("fixtures/a.json", "{}")],
                true,
            ),
            (
                vec![file("fixtures/a.json", "{} "), file("schemas/b", "x")],
                false,
            ),
            (
                vec![file("fixtures/c.json", "{}"), file("schemas/b", "x")],
                false,
            ),
            // Moving bytes from one file to the next must change the digest.
            (
                vec![file("fixtures/a.json", "{}x"), file("schemas/b", "")],
                false,
            ),
        ];
        for (files, same) in cases {
            assert_eq!(digest_of(files.clone()) == base, same, "{files:?}");
        }
        assert!(
            base.starts_with("sha256:") && base.len() == 7 + 64,
            "{base}"
        );
        assert_eq!(short(&base).len(), 7 + 12);
    }

    #[test]
    fn the_built_in_contract_is_this_checkout() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let disk = contract_digest(&ContractSource::Dir(root)).ok();
        let embedded = contract_digest(&ContractSource::Embedded).ok();
        assert!(disk.is_some());
        assert_eq!(disk, embedded);
    }

    /// The bytes loading kept stand for the files on disk: the same digest as reading them
    /// all, and a kept file's bytes are the ones hashed.
    #[test]
    fn the_digest_of_what_loading_read_is_the_digest_of_the_disk() {
        let source = ContractSource::Dir(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let loaded = crate::contract::Contract::from_source_keeping_files(source.clone());
        let (_, mut read) = loaded.unwrap_or_else(|error| panic!("{error}"));
        assert!(read.len() >= 8, "{} files kept", read.len());
        let from_disk = contract_digest(&source).ok();
        assert!(from_disk.is_some());
        assert_eq!(contract_digest_of_read(&source, &read).ok(), from_disk);
        read[0].text.push(' ');
        assert_ne!(contract_digest_of_read(&source, &read).ok(), from_disk);
    }
}
