//! The cases of a report, in plan order, kept so that memory stays flat however many cases a run
//! has (issues 12 and 13): failing, errored and skipped cases stay whole in memory (they are
//! few, and every format shows them in full); a passing case goes whole (its evidence bounded)
//! to a spool file that is unlinked at once, and leaves only its [`Slot`] in memory (24 bytes:
//! its offset in the spool, its number of warnings and its tag group), so 100,000 passing cases
//! cost about 2.4 MB. The totals are counted as cases arrive.
//!
//! Readers see every case through [`CaseStore::full`] (the spooled ones read back one at a
//! time), and the cases in memory through [`CaseStore::kept`]. The JSON layout is unchanged: a
//! store serializes as the array of whole cases, streamed from the spool.
//!
//! Formats that need totals before their first case (JUnit's per-suite counts, HTML's warning
//! counts) read them from [`CaseStore::briefs`], made from the slots without reading the spool,
//! and then read back the cases they write next by their positions ([`CaseStore::at`]): a
//! spooled case is found by its offset, without parsing the lines in between.

use super::{CaseReport, CaseStatus, Summary};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Evidence of passing cases, one JSON line each, in plan order.
#[derive(Debug)]
struct Spool {
    file: File,
    writer: Mutex<Option<SpoolWriter>>,
    /// Set when a write failed: what was spooled before cannot be read back whole.
    broken: AtomicBool,
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
        // Owner-only: until the unlink below, another local user could open it and read the
        // passing cases' evidence for the whole run.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let _ = std::fs::remove_file(&path);
        let writer = SpoolWriter {
            out: BufWriter::with_capacity(256 * 1024, file.try_clone()?),
            written: 0,
        };
        Ok(Spool {
            file,
            writer: Mutex::new(Some(writer)),
            broken: AtomicBool::new(false),
        })
    }

    /// Writes the case as the next line; returns the offset the line starts at.
    fn append(&self, case: &CaseReport) -> io::Result<u64> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| io::Error::other("evidence spool poisoned"))?;
        let writer = guard
            .as_mut()
            .ok_or_else(|| io::Error::other("evidence spool already closed"))?;
        let line = SpoolLine {
            raw: raw_bodies(case),
            case,
        };
        let offset = writer.written;
        // Serialized first so that its length, and so the next line's offset, is known.
        let written = serde_json::to_vec(&line)
            .map_err(io::Error::from)
            .and_then(|mut bytes| {
                bytes.push(b'\n');
                writer.out.write_all(&bytes)?;
                writer.written += bytes.len() as u64;
                Ok(offset)
            });
        if written.is_err() {
            // A half-written buffer cannot be trusted: later cases stay in memory, and reading
            // back the ones before fails loudly rather than returning a wrong case.
            *guard = None;
            self.broken.store(true, Ordering::SeqCst);
        }
        written
    }

    /// Flushes what was written; later appends fail (and keep their case in memory).
    fn close(&self) -> io::Result<()> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| io::Error::other("evidence spool poisoned"))?;
        if let Some(mut writer) = guard.take() {
            writer.out.flush()?;
        }
        match self.broken.load(Ordering::SeqCst) {
            true => Err(io::Error::other("a write to the evidence spool failed")),
            false => Ok(()),
        }
    }
}

/// The spool's buffered writer and the bytes written through it: the offset of the next line.
#[derive(Debug)]
struct SpoolWriter {
    out: BufWriter<File>,
    written: u64,
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

/// Where one case is. A spooled case also keeps what the formats count before writing
/// (its warnings and its tag group), so that counting does not read the spool.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// `kept[index]`.
    Kept(usize),
    /// A passing case whose spool line starts at `offset`; `group` indexes `CaseStore::groups`.
    Spooled {
        offset: u64,
        warnings: u32,
        group: u32,
    },
}

/// What a format may need of a case before it writes any: its outcome, its number of warnings
/// and its tag group ([`CaseReport::group`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseBrief<'a> {
    pub status: CaseStatus,
    pub warnings: usize,
    pub group: Cow<'a, str>,
}

impl<'a> CaseBrief<'a> {
    fn of(case: &'a CaseReport) -> CaseBrief<'a> {
        CaseBrief {
            status: case.status,
            warnings: case.warnings(),
            group: case.group(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CaseStore {
    /// The cases held whole in memory, in plan order: every case that did not pass (and a
    /// passing one only when it could not be spooled).
    kept: Vec<CaseReport>,
    /// Per case, in plan order: where it is.
    slots: Vec<Slot>,
    /// The distinct tag groups of the spooled cases, each once (a run has a handful).
    groups: Vec<String>,
    group_index: HashMap<String, u32>,
    spool: Option<Arc<Spool>>,
    /// The totals, counted as cases are pushed.
    summary: Summary,
}

impl CaseStore {
    /// A store that spools passing cases; in memory only when no temporary file can be made.
    pub fn spooling() -> CaseStore {
        CaseStore {
            spool: Spool::create().ok().map(Arc::new),
            ..CaseStore::default()
        }
    }

    /// Adds the next case in plan order. A passing case goes to the spool whole and leaves
    /// nothing in memory but its 24-byte slot.
    pub fn push(&mut self, case: CaseReport) {
        self.summary.count(&case);
        let offset = match &self.spool {
            Some(spool) if case.status == CaseStatus::Passed => spool.append(&case).ok(),
            _ => None,
        };
        let slot = match offset {
            Some(offset) => Slot::Spooled {
                offset,
                warnings: u32::try_from(case.warnings()).unwrap_or(u32::MAX),
                group: self.intern_group(&case.group()),
            },
            None => {
                self.kept.push(case);
                Slot::Kept(self.kept.len() - 1)
            }
        };
        self.slots.push(slot);
    }

    fn intern_group(&mut self, group: &str) -> u32 {
        if let Some(&index) = self.group_index.get(group) {
            return index;
        }
        // More than 2^32 distinct groups cannot be pushed: each needs a case.
        let index = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
        self.groups.push(group.to_string());
        self.group_index.insert(group.to_string(), index);
        index
    }

    /// Ends the writing; call once every case is pushed. A spool that cannot be flushed is an
    /// error: the passing cases in it cannot be read back.
    pub fn close(&mut self) -> io::Result<()> {
        match &self.spool {
            Some(spool) => spool.close(),
            None => Ok(()),
        }
    }

    /// The number of cases.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The totals of the cases pushed so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The cases held in memory, in plan order: every failed, errored and skipped case (what
    /// the failure details, the skip list and the self-test read), without reading the spool;
    /// every case of a store read back from JSON (as `merge` reads shards) or without a spool.
    pub fn kept(&self) -> impl Iterator<Item = &CaseReport> {
        self.kept.iter()
    }

    pub fn kept_mut(&mut self) -> impl Iterator<Item = &mut CaseReport> {
        self.kept.iter_mut()
    }

    /// Every case whole, in plan order: the kept ones borrowed, the spooled ones read back one
    /// at a time.
    pub fn full(&self) -> impl Iterator<Item = io::Result<Cow<'_, CaseReport>>> {
        self.at(0..self.len())
    }

    /// Every case's brief, in plan order, without reading the spool.
    pub fn briefs(&self) -> impl Iterator<Item = CaseBrief<'_>> {
        self.slots.iter().map(|slot| self.brief(*slot))
    }

    fn brief(&self, slot: Slot) -> CaseBrief<'_> {
        #[cfg(test)]
        counted::BRIEFS.with(|made| made.set(made.get() + 1));
        match slot {
            Slot::Kept(index) => self.kept.get(index).map_or_else(
                // Unreachable: every Kept slot indexes a pushed case.
                || CaseBrief {
                    status: CaseStatus::Errored,
                    warnings: 0,
                    group: Cow::Borrowed(""),
                },
                CaseBrief::of,
            ),
            Slot::Spooled {
                warnings, group, ..
            } => CaseBrief {
                status: CaseStatus::Passed,
                warnings: warnings as usize,
                group: Cow::Borrowed(self.groups.get(group as usize).map_or("", String::as_str)),
            },
        }
    }

    /// The cases at `positions` (indices in plan order, as [`CaseStore::briefs`] yields
    /// them), whole, in the order given. Only those are read back from the spool, each from
    /// its own offset: a format that writes one group at a time reads each case once however
    /// many groups there are, and consecutive positions are one sequential read.
    pub fn at<'a>(
        &'a self,
        positions: impl IntoIterator<Item = usize> + 'a,
    ) -> impl Iterator<Item = io::Result<Cow<'a, CaseReport>>> + 'a {
        let mut reader = SpoolCursor::new(self.spool.as_deref());
        let out_of_step = || io::Error::other("case store out of step");
        positions
            .into_iter()
            .map(move |position| match self.slots.get(position) {
                Some(Slot::Kept(index)) => self
                    .kept
                    .get(*index)
                    .map(Cow::Borrowed)
                    .ok_or_else(out_of_step),
                Some(Slot::Spooled { offset, .. }) => reader.read_at(*offset).map(Cow::Owned),
                None => Err(out_of_step()),
            })
    }
}

/// Reads spool lines at given offsets, buffered: consecutive lines (a whole-store read) cost
/// one buffered sequential read, a jump costs a fresh buffer.
struct SpoolCursor<'a> {
    spool: Option<&'a Spool>,
    reader: Option<BufReader<SpoolReader<'a>>>,
    /// The offset of the next byte `reader` returns.
    position: u64,
    line: String,
}

impl<'a> SpoolCursor<'a> {
    fn new(spool: Option<&'a Spool>) -> SpoolCursor<'a> {
        SpoolCursor {
            spool,
            reader: None,
            position: 0,
            line: String::new(),
        }
    }

    fn read_at(&mut self, offset: u64) -> io::Result<CaseReport> {
        #[cfg(test)]
        counted::READS.with(|read| read.set(read.get() + 1));
        let spool = self
            .spool
            .ok_or_else(|| io::Error::other("evidence spool missing"))?;
        let reader = match &mut self.reader {
            Some(reader) if self.position == offset => reader,
            stale => stale.insert(BufReader::new(SpoolReader {
                file: &spool.file,
                offset,
            })),
        };
        self.line.clear();
        let read = reader.read_line(&mut self.line)?;
        self.position = offset + read as u64;
        let line: SpoolLine<CaseReport> = serde_json::from_str(&self.line)?;
        line.restored()
    }
}

/// One line of the spool: the case as the reports write it, and beside it, in base64, every
/// body that is not UTF-8. Reports write bodies as text, so such a body would come back with
/// U+FFFD in place of its bytes, and the HAR's base64 and the reproductions' exact bytes (the
/// generated invalid-UTF-8 cases pass whenever the server refuses them) would lie.
#[derive(Serialize, Deserialize)]
struct SpoolLine<C> {
    case: C,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    raw: Vec<RawBody>,
}

/// The exact bytes of one body: of the request of exchange `exchange`, or of its answer.
#[derive(Serialize, Deserialize)]
struct RawBody {
    exchange: usize,
    answer: bool,
    base64: String,
}

fn raw_bodies(case: &CaseReport) -> Vec<RawBody> {
    use base64::Engine;
    let mut raw = Vec::new();
    for (index, labelled) in case.exchanges.iter().enumerate() {
        let exchange = &labelled.exchange;
        let answer = exchange
            .response
            .as_ref()
            .ok()
            .map(|received| &received.body[..]);
        for (is_answer, body) in [(false, Some(&exchange.request.body[..])), (true, answer)] {
            if let Some(body) = body.filter(|body| std::str::from_utf8(body).is_err()) {
                raw.push(RawBody {
                    exchange: index,
                    answer: is_answer,
                    base64: base64::engine::general_purpose::STANDARD.encode(body),
                });
            }
        }
    }
    raw
}

impl SpoolLine<CaseReport> {
    /// The case with its exact bodies back in place.
    fn restored(mut self) -> io::Result<CaseReport> {
        use base64::Engine;
        let corrupt =
            || io::Error::other("evidence spool corrupt: a raw body does not fit its case");
        for raw in self.raw {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw.base64)
                .map_err(|_| corrupt())?;
            let exchange = &mut self
                .case
                .exchanges
                .get_mut(raw.exchange)
                .ok_or_else(corrupt)?
                .exchange;
            match (raw.answer, exchange.response.as_mut()) {
                (false, _) => exchange.request.body = bytes.into(),
                (true, Ok(received)) => received.body = bytes,
                (true, Err(_)) => return Err(corrupt()),
            }
        }
        Ok(self.case)
    }
}

impl From<Vec<CaseReport>> for CaseStore {
    fn from(cases: Vec<CaseReport>) -> CaseStore {
        CaseStore {
            slots: (0..cases.len()).map(Slot::Kept).collect(),
            summary: Summary::of(&cases),
            kept: cases,
            ..CaseStore::default()
        }
    }
}

impl Serialize for CaseStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
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

/// What the store did on this thread, for the writers' tests to count: briefs made and spool
/// lines read back.
#[cfg(test)]
pub(crate) mod counted {
    use std::cell::Cell;

    thread_local! {
        pub static BRIEFS: Cell<usize> = const { Cell::new(0) };
        pub static READS: Cell<usize> = const { Cell::new(0) };
    }

    /// `(briefs, reads)` since the last call.
    pub fn take() -> (usize, usize) {
        (
            BRIEFS.with(|made| made.replace(0)),
            READS.with(|read| read.replace(0)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, status: CaseStatus, body: &str) -> CaseReport {
        let mut case = CaseReport::stopped(String::new());
        Arc::make_mut(&mut case.case).id = id.into();
        case.status = status;
        case.exchanges.push(super::super::LabelledExchange {
            step: 0,
            label: "request".into(),
            exchange: crate::checks::testing::answer(200, &[], body),
        });
        case
    }

    #[test]
    fn passing_cases_leave_memory_and_read_back_whole_in_plan_order() {
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
        if let Err(error) = store.close() {
            panic!("closing the spool: {error}");
        }
        assert_eq!(store.len(), 4);
        let kept: Vec<&str> = store.kept().map(|case| case.id.as_str()).collect();
        assert_eq!(kept, ["b", "d"]);
        let summary = store.summary();
        assert_eq!(
            (
                summary.total,
                summary.passed,
                summary.failed,
                summary.skipped
            ),
            (4, 2, 1, 1)
        );
        for ((id, _, body, spooled), whole) in table.iter().zip(store.full()) {
            let whole = whole.unwrap_or_else(|error| panic!("{id}: {error}"));
            assert_eq!(&whole.id, id);
            assert_eq!(matches!(whole, Cow::Owned(_)), *spooled, "{id}");
            let read = whole.exchanges[0].exchange.ok().map(|r| r.body.clone());
            assert_eq!(read, Some(body.as_bytes().to_vec()), "{id}");
        }
        let json = serde_json::to_value(&store).unwrap_or_default();
        assert_eq!(
            json[2]["exchanges"][0]["response"]["received"]["body"],
            "third"
        );
    }

    #[test]
    fn a_passing_case_with_bytes_that_are_not_utf8_reads_back_byte_for_byte() {
        let mut store = CaseStore::spooling();
        let mut binary = case("binary", CaseStatus::Passed, "");
        if let Ok(received) = binary.exchanges[0].exchange.response.as_mut() {
            received.body = vec![b'{', 0xff, 0xfe, b'}'];
        }
        let mut sent = case("sent", CaseStatus::Passed, "text");
        sent.exchanges[0].exchange.request.body = vec![0xc3, 0x28].into();
        for case in [case("text", CaseStatus::Passed, "ok"), binary, sent] {
            store.push(case);
        }
        if let Err(error) = store.close() {
            panic!("closing the spool: {error}");
        }
        assert_eq!(store.kept().count(), 0, "every passing case is spooled");
        let read: Vec<CaseReport> = store
            .full()
            .map(|case| case.unwrap_or_else(|error| panic!("{error}")).into_owned())
            .collect();
        let answer = |case: &CaseReport| case.exchanges[0].exchange.ok().map(|r| r.body.clone());
        assert_eq!(answer(&read[0]), Some(b"ok".to_vec()));
        assert_eq!(answer(&read[1]), Some(vec![b'{', 0xff, 0xfe, b'}']));
        assert_eq!(answer(&read[2]), Some(b"text".to_vec()));
        assert_eq!(
            &read[2].exchanges[0].exchange.request.body[..],
            &[0xc3, 0x28]
        );
    }

    #[test]
    fn the_spool_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let store = CaseStore::spooling();
        let Some(spool) = store.spool.as_ref() else {
            panic!("no spool in the temporary directory");
        };
        let mode = spool.file.metadata().map(|meta| meta.permissions().mode());
        assert_eq!(mode.map(|mode| mode & 0o777).ok(), Some(0o600));
    }

    #[test]
    fn briefs_are_counted_without_the_spool_and_at_reads_only_what_it_wants() {
        let mut store = CaseStore::spooling();
        let mut warned = case("warned", CaseStatus::Passed, "w");
        warned.checks.push(crate::checks::CheckResult {
            check: "content_type_conformance",
            step: 0,
            verdict: crate::checks::Verdict::Warn {
                message: "charset".into(),
            },
        });
        Arc::make_mut(&mut warned.case).tags = vec!["b".into(), "a".into()];
        let table = [
            case("a", CaseStatus::Passed, "1"),
            warned,
            case("b", CaseStatus::Failed, "2"),
            case("c", CaseStatus::Passed, "3"),
        ];
        let expected: Vec<CaseBrief<'static>> = table
            .iter()
            .map(|case| CaseBrief {
                status: case.status,
                warnings: case.warnings(),
                group: Cow::Owned(case.group().into_owned()),
            })
            .collect();
        table.into_iter().for_each(|case| store.push(case));
        if let Err(error) = store.close() {
            panic!("closing the spool: {error}");
        }
        assert_eq!(store.briefs().collect::<Vec<_>>(), expected);
        assert_eq!(expected[1].group, "b", "the first tag is the group");
        assert_eq!(expected[0].group, "fixture", "no tag: the family");
        // Reading the spool out of order, one group at a time, finds each case at its offset.
        for (group, ids) in [("b", vec!["warned"]), ("fixture", vec!["a", "b", "c"])] {
            let positions: Vec<usize> = (store.briefs().enumerate())
                .filter(|(_, brief)| brief.group == group)
                .map(|(position, _)| position)
                .collect();
            let read: Vec<String> = store
                .at(positions)
                .map(|case| {
                    case.map(|case| case.id.clone())
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .collect();
            assert_eq!(read, ids, "{group}");
        }
        let bodies: Vec<String> = store
            .at([3, 0, 3])
            .map(|case| case.map(|case| case.exchanges[0].exchange.ok().map(|r| r.body.clone())))
            .map(|body| format!("{:?}", body.ok().flatten()))
            .collect();
        let body = |text: &[u8]| format!("{:?}", Some(text.to_vec()));
        assert_eq!(bodies, [body(b"3"), body(b"1"), body(b"3")]);
        assert!(
            store.at([4]).all(|case| case.is_err()),
            "past the last case"
        );
    }

    #[test]
    fn a_slot_is_24_bytes() {
        // What a spooled case costs in memory; the module's documentation counts with it.
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn a_store_without_a_spool_keeps_every_case() {
        let mut store = CaseStore::default();
        store.push(case("a", CaseStatus::Passed, "first"));
        store.push(case("b", CaseStatus::Failed, "second"));
        let ids: Vec<&str> = store.kept().map(|case| case.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(
            store
                .full()
                .all(|case| matches!(case, Ok(Cow::Borrowed(_))))
        );
    }
}
