//! The cases of a report, in plan order, kept so that memory stays flat however many cases a run
//! has (issue 13): failing, errored and skipped cases stay whole in memory (they are few, and
//! every format shows them in full); a passing case stays in memory as a compact summary (its
//! checks, no exchanges), while its bounded evidence goes to a spool file that is unlinked at
//! once and read back, one case at a time, by the formats that show every exchange (JSON, HAR).
//!
//! Readers see the summaries through `Deref` (`report.cases.iter()`) and the whole cases through
//! [`CaseStore::full`]. The JSON layout is unchanged: a store serializes as the array of whole
//! cases, streamed from the spool.

use super::{CaseReport, CaseStatus};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::sync::{Arc, Mutex};

/// Evidence of passing cases, one JSON line each, in plan order.
#[derive(Debug)]
struct Spool {
    file: File,
    writer: Mutex<Option<BufWriter<File>>>,
}

impl Spool {
    /// A fresh file in the temporary directory, unlinked as soon as it is open so that nothing
    /// outlives the process, whatever way it ends.
    fn create() -> io::Result<Spool> {
        let path = std::env::temp_dir().join(format!(
            "cmconform-evidence-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        let _ = std::fs::remove_file(&path);
        let writer = BufWriter::with_capacity(256 * 1024, file.try_clone()?);
        Ok(Spool {
            file,
            writer: Mutex::new(Some(writer)),
        })
    }

    fn append(&self, case: &CaseReport) -> io::Result<()> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| io::Error::other("evidence spool poisoned"))?;
        let writer = guard
            .as_mut()
            .ok_or_else(|| io::Error::other("evidence spool already closed"))?;
        serde_json::to_writer(&mut *writer, case)?;
        writer.write_all(b"\n")
    }

    /// Flushes what was written; later appends fail (and keep their case in memory).
    fn close(&self) -> io::Result<()> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| io::Error::other("evidence spool poisoned"))?;
        match guard.take() {
            Some(mut writer) => writer.flush(),
            None => Ok(()),
        }
    }
}

/// A reader of the spool with its own position, so two formats can read it at once.
struct SpoolReader<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for SpoolReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = std::os::unix::fs::FileExt::read_at(self.file, buf, self.offset)?;
        self.offset += read as u64;
        Ok(read)
    }
}

#[derive(Debug, Clone, Default)]
pub struct CaseStore {
    cases: Vec<CaseReport>,
    /// Per case: whether its whole report is in the spool (the one in `cases` is a summary).
    spooled: Vec<bool>,
    spool: Option<Arc<Spool>>,
}

impl CaseStore {
    /// A store that spools the evidence of passing cases; in memory only when no temporary file
    /// can be made.
    pub fn spooling() -> CaseStore {
        CaseStore {
            spool: Spool::create().ok().map(Arc::new),
            ..CaseStore::default()
        }
    }

    /// Adds the next case in plan order.
    pub fn push(&mut self, case: CaseReport) {
        let spooled = match &self.spool {
            Some(spool) if case.status == CaseStatus::Passed && !case.exchanges.is_empty() => {
                spool.append(&case).is_ok()
            }
            _ => false,
        };
        self.spooled.push(spooled);
        self.cases.push(if spooled { case.summary() } else { case });
    }

    /// Ends the writing; call once every case is pushed.
    pub fn close(&mut self) {
        let closed = self.spool.as_ref().map(|spool| spool.close());
        if let Some(Err(_)) = closed {
            // What was spooled cannot be read back whole: those cases keep their summaries.
            self.spooled.iter_mut().for_each(|spooled| *spooled = false);
            self.spool = None;
        }
    }

    /// Every case whole, in plan order: summaries replaced by their spooled reports.
    pub fn full(&self) -> impl Iterator<Item = io::Result<Cow<'_, CaseReport>>> {
        let mut reader = self.spool.as_ref().map(|spool| {
            BufReader::new(SpoolReader {
                file: &spool.file,
                offset: 0,
            })
        });
        let mut line = String::new();
        self.cases
            .iter()
            .zip(&self.spooled)
            .map(move |(case, &spooled)| {
                let Some(reader) = reader.as_mut().filter(|_| spooled) else {
                    return Ok(Cow::Borrowed(case));
                };
                line.clear();
                reader.read_line(&mut line)?;
                let whole: CaseReport = serde_json::from_str(&line)?;
                Ok(Cow::Owned(whole))
            })
    }
}

impl From<Vec<CaseReport>> for CaseStore {
    fn from(cases: Vec<CaseReport>) -> CaseStore {
        CaseStore {
            spooled: vec![false; cases.len()],
            cases,
            spool: None,
        }
    }
}

impl std::ops::Deref for CaseStore {
    type Target = [CaseReport];
    fn deref(&self) -> &[CaseReport] {
        &self.cases
    }
}

impl std::ops::DerefMut for CaseStore {
    fn deref_mut(&mut self) -> &mut [CaseReport] {
        &mut self.cases
    }
}

impl<'a> IntoIterator for &'a CaseStore {
    type Item = &'a CaseReport;
    type IntoIter = std::slice::Iter<'a, CaseReport>;
    fn into_iter(self) -> Self::IntoIter {
        self.cases.iter()
    }
}

impl Serialize for CaseStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.cases.len()))?;
        for case in self.full() {
            seq.serialize_element(case.map_err(S::Error::custom)?.as_ref())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for CaseStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CaseStore, D::Error> {
        Vec::<CaseReport>::deserialize(deserializer).map(CaseStore::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, status: CaseStatus, body: &str) -> CaseReport {
        let mut case = CaseReport::stopped(String::new());
        case.id = id.into();
        case.status = status;
        case.exchanges.push(super::super::LabelledExchange {
            step: 0,
            label: "request".into(),
            exchange: crate::checks::testing::answer(200, &[], body),
        });
        case
    }

    #[test]
    fn passing_cases_are_summaries_in_memory_and_whole_when_read_back() {
        let mut store = CaseStore::spooling();
        assert!(store.spool.is_some(), "no spool in the temporary directory");
        let table = [
            ("a", CaseStatus::Passed, "first", true),
            ("b", CaseStatus::Failed, "second", false),
            ("c", CaseStatus::Passed, "third", true),
            ("d", CaseStatus::Skipped, "fourth", false),
        ];
        for (id, status, body, _) in table {
            store.push(case(id, status, body));
        }
        store.close();
        for ((id, _, body, summarized), (kept, whole)) in
            table.iter().zip(store.iter().zip(store.full()))
        {
            assert_eq!(&kept.id, id);
            assert_eq!(kept.exchanges.is_empty(), *summarized, "{id}");
            let whole = whole.unwrap_or_else(|error| panic!("{id}: {error}"));
            assert_eq!(&whole.id, id);
            let read = whole.exchanges[0].exchange.ok().map(|r| r.body.clone());
            assert_eq!(read, Some(body.as_bytes().to_vec()), "{id}");
        }
        let json = serde_json::to_value(&store).unwrap_or_default();
        assert_eq!(
            json[2]["exchanges"][0]["response"]["received"]["body"],
            "third"
        );
    }
}
