//! Spans awaiting their parent, held on this node until it arrives, then written once,
//! completed: a children-first trace (an agent's calls exported before the agent span that
//! ends after them, as the OpenTelemetry SDKs' batch processors send agent runs) costs no
//! rewrite in ClickHouse (a cancelling row and a second version of every call).
//!
//! - **Durable.** A span is held only once it is in the node's spool (appended and
//!   `fsync`ed), so answering its request keeps the store's promise; a node started again over
//!   its spool writes what it held before anything else ([`HeldSpans::open`]: every recovered
//!   span is due at once). A span held is written at the latest hold after it
//!   arrived: then as it is, and completed by a rewrite if its parent comes later.
//! - **Bounded.** At most [`MAX_BYTES`] held (about: twice their records); past it, spans awaiting
//!   their parent are written at once, as without a spool. A spool that cannot be written (a
//!   full disk) holds nothing: the spans are written at once.
//! - **Looked up.** A parent arriving at another node (its own spans there) is written by
//!   that node: each trace held here is looked up in ClickHouse one tick after it was first
//!   held, then after two more, four more, … ([`HeldSpans::pending`]); its spans whose parent is
//!   stored are written then, completed from it, the others held on. A trace whose parent
//!   arrives late is read a few times, not every tick. The lookups due ride with the node's
//!   batches; the store's timer makes a write of its own only for a tick in which no batch
//!   took every trace due ([`HeldSpans::caught_up_within_a_tick`]).
//!
//! The spool is a directory of segments (`NNNNNNNNNNNNNNNN.spool`), each a sequence of records
//! (length, CRC-32 of the payload, the span as MessagePack with its fields named; a spool
//! written before holds JSON records, read as such); a segment is deleted (the current one
//! emptied) once none of its spans is held any more. A torn record at a segment's end (a crash
//! mid-append, before the answer) ends what is read of it. The directory is locked while open
//! (its `lock` file): a second node opening it fails, so two never replay one spool.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_core::{Attribution, SpanRecord, TraceId};
use agentrace_store::{HeldStatus, ProjectId};

use crate::schema::DEFAULT_PROJECT_ID;

/// The spans held at most, in bytes (about: twice their records).
pub(crate) const MAX_BYTES: usize = 64 << 20;

/// How often held spans are looked at (a quarter of the hold), at least and at most.
const TICK_MIN: Duration = Duration::from_millis(100);
const TICK_MAX: Duration = Duration::from_secs(1);

/// The traces one statement looks up in ClickHouse at most (its size bounded).
pub(crate) const MAX_LOOKED_UP: usize = 4096;

/// A segment past this size is closed and a new one begun.
const SEGMENT_BYTES: u64 = 8 << 20;

/// A record's header: the payload's length and its CRC-32, little-endian.
const HEADER: usize = 8;

/// The spool could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// Its directory or a segment could not be created, read or removed.
    #[error("the spool of held spans at {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// Another process holds its lock: two nodes must not share a data directory.
    #[error(
        "the spool of held spans at {path} is in use by another process (each node needs a data directory of its own)"
    )]
    Locked {
        /// The directory.
        path: PathBuf,
    },
}

/// A held trace: its project's, by its id (the same id in two projects is two traces).
type HeldTrace = (ProjectId, TraceId);

/// A span held, its project, and where its record is.
#[derive(Debug)]
pub(crate) struct Held {
    project: ProjectId,
    pub(crate) span: Box<SpanRecord>,
    since: Instant,
    segment: u64,
    size: usize,
}

/// Spans taken out for a write ([`HeldSpans::take`]); put back when dropped unsettled. They
/// are counted as held until the write settles them: a span is held until it is in
/// ClickHouse.
///
/// The write completes their attribution in place ([`for_write`](Self::for_write)), not in
/// copies (a span record with its attributes is half a kilobyte, and a write children first
/// takes thousands); a span held on or put back gets its attribution as taken back.
#[derive(Debug)]
pub(crate) struct Taken<'a> {
    from: &'a HeldSpans,
    spans: Vec<Held>,
    /// Each span's attribution as taken.
    taken_as: Vec<Attribution>,
}

impl Taken<'_> {
    /// The spans, for the write to complete in place: each with its index and its
    /// attribution as taken.
    pub(crate) fn for_write(
        &mut self,
    ) -> impl Iterator<Item = (usize, &mut SpanRecord, &Attribution)> {
        self.spans
            .iter_mut()
            .zip(&self.taken_as)
            .enumerate()
            .map(|(i, (held, taken_as))| (i, &mut *held.span, taken_as))
    }

    /// The write is done: the spans whose index is in `kept` are held still (as taken), the
    /// others were written (their records are released).
    pub(crate) fn settle(mut self, kept: &HashSet<usize>) {
        let mut state = self.from.state();
        let mut released: BTreeMap<u64, usize> = BTreeMap::new();
        let mut traces = HashSet::new();
        let taken_as = std::mem::take(&mut self.taken_as);
        for ((i, mut held), taken_as) in std::mem::take(&mut self.spans)
            .into_iter()
            .enumerate()
            .zip(taken_as)
        {
            traces.insert((held.project, held.span.trace_id));
            if kept.contains(&i) {
                taken_as.apply_to(&mut held.span);
                state.place(held);
            } else {
                state.spans -= 1;
                state.bytes -= held.size;
                *released.entry(held.segment).or_default() += 1;
            }
        }
        for (segment, n) in released {
            state.spool.release(segment, n);
        }
        for trace in traces {
            if !state.traces.contains_key(&trace) {
                state.lookups.remove(&trace);
            }
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if self.spans.is_empty() {
            return;
        }
        let mut state = self.from.state();
        let taken_as = std::mem::take(&mut self.taken_as);
        for (mut held, taken_as) in std::mem::take(&mut self.spans).into_iter().zip(taken_as) {
            taken_as.apply_to(&mut held.span);
            state.place(held);
        }
    }
}

/// See the module's documentation.
#[derive(Debug)]
pub(crate) struct HeldSpans {
    hold: Duration,
    state: Mutex<State>,
}

/// The held traces of a project a tick writes ([`HeldSpans::pending`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Traces with a span held past the hold: their held spans are written as they are.
    pub(crate) released: HashSet<TraceId>,
    /// Traces due to be looked up: their held spans whose parent is stored are written.
    pub(crate) looked_up: HashSet<TraceId>,
}

/// When a held trace is next looked up in ClickHouse, and how long after that.
#[derive(Debug, Clone, Copy)]
struct Lookup {
    next: Instant,
    then: Duration,
}

#[derive(Debug)]
struct State {
    traces: HashMap<HeldTrace, Vec<Held>>,
    lookups: HashMap<HeldTrace, Lookup>,
    tick: Duration,
    /// When a write last took every held trace due ([`HeldSpans::pending`]).
    caught_up: Option<Instant>,
    spans: usize,
    bytes: usize,
    /// Spans written at once: over [`MAX_BYTES`], and because the spool failed.
    over_ceiling: u64,
    spool_failures: u64,
    spool: Spool,
}

impl HeldSpans {
    /// Opens the spool in `dir` (created if missing), each span held at most `hold`; the
    /// spans it still holds (a node stopped before writing them) are held again, due at once.
    pub(crate) fn open(dir: &Path, hold: Duration) -> Result<Self, SpoolError> {
        let (spool, recovered) = Spool::open(dir)?;
        let due = Instant::now()
            .checked_sub(hold)
            .unwrap_or_else(Instant::now);
        let mut state = State {
            traces: HashMap::new(),
            lookups: HashMap::new(),
            tick: tick(hold),
            caught_up: None,
            spans: 0,
            bytes: 0,
            over_ceiling: 0,
            spool_failures: 0,
            spool,
        };
        for (segment, project, span, size) in recovered {
            state.put(Held {
                project,
                span: Box::new(span),
                since: due,
                segment,
                size,
            });
        }
        Ok(Self {
            hold,
            state: Mutex::new(state),
        })
    }

    /// How often the held spans are looked at ([`pending`](Self::pending)).
    pub(crate) fn tick(&self) -> Duration {
        tick(self.hold)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the spans held of `project`'s `traces` out (still in the spool, still counted)
    /// for a write: settled when it is done ([`Taken::settle`]), put back as they were if it
    /// fails or is dropped (a write that timed out).
    pub(crate) fn take(&self, project: ProjectId, traces: &HashSet<TraceId>) -> Taken<'_> {
        let mut state = self.state();
        let mut spans = Vec::new();
        for trace in traces {
            if let Some(held) = state.traces.remove(&(project, *trace)) {
                spans.extend(held);
            }
        }
        let taken_as = spans.iter().map(|h| Attribution::of(&h.span)).collect();
        Taken {
            from: self,
            spans,
            taken_as,
        }
    }

    /// Holds `project`'s `spans` (in the spool first, then here): those that do not fit under
    /// [`MAX_BYTES`], or all if the spool cannot be written, are given back, to be written.
    pub(crate) fn add(&self, project: ProjectId, spans: Vec<SpanRecord>) -> Vec<SpanRecord> {
        let mut state = self.state();
        let mut records = Vec::with_capacity(spans.len());
        // The records, encoded where they are appended from: no copy a span.
        let mut buffer = Vec::with_capacity(spans.len() * 1024);
        let mut room = MAX_BYTES.saturating_sub(state.bytes);
        let mut unheld = Vec::new();
        for span in spans {
            let start = buffer.len();
            let Some(size) = encode_record(&mut buffer, project, &span).map(|encoded| 2 * encoded)
            else {
                buffer.truncate(start);
                unheld.push(span);
                continue;
            };
            if size > room {
                buffer.truncate(start);
                state.over_ceiling += 1;
                unheld.push(span);
                continue;
            }
            room -= size;
            // Boxed: a held span is moved a few times more, and a record is big.
            records.push((Box::new(span), size));
        }
        if records.is_empty() {
            return unheld;
        }
        let segment = match state.spool.append(&buffer, records.len()) {
            Ok(segment) => segment,
            Err(_) => {
                state.spool_failures += records.len() as u64;
                unheld.extend(records.into_iter().map(|(span, _)| *span));
                return unheld;
            }
        };
        let since = Instant::now();
        for (span, size) in records {
            state.put(Held {
                project,
                span,
                since,
                segment,
                size,
            });
        }
        unheld
    }

    /// The traces a tick writes, by project: those with a span held past the hold (every
    /// trace held if `all`), and at most `lookups` of those due to be looked up (each then
    /// next looked up twice as long after; the others stay due); of `project` only if given
    /// (a batch's), of every project if not (the timer's). A trace of another project left
    /// due is left for the timer.
    pub(crate) fn pending(
        &self,
        project: Option<ProjectId>,
        all: bool,
        lookups: usize,
    ) -> BTreeMap<ProjectId, Pending> {
        let mut state = self.state();
        let state = &mut *state;
        let now = Instant::now();
        let in_scope = |p: ProjectId| project.is_none_or(|q| q == p);
        let mut pending: BTreeMap<ProjectId, Pending> = BTreeMap::new();
        let mut left_due = false;
        for ((p, trace), spans) in &state.traces {
            let due = all
                || spans
                    .iter()
                    .any(|h| now.duration_since(h.since) >= self.hold);
            if !due {
                continue;
            }
            if in_scope(*p) {
                pending.entry(*p).or_default().released.insert(*trace);
            } else {
                left_due = true;
            }
        }
        let mut looked_up = 0;
        for ((p, trace), lookup) in &mut state.lookups {
            let released = pending
                .get(p)
                .is_some_and(|pending| pending.released.contains(trace));
            if lookup.next > now || released {
                continue;
            }
            if !in_scope(*p) || looked_up >= lookups.min(MAX_LOOKED_UP) {
                left_due = true;
                continue;
            }
            pending.entry(*p).or_default().looked_up.insert(*trace);
            looked_up += 1;
            lookup.next = now + lookup.then;
            lookup.then *= 2;
        }
        state.caught_up = (!left_due).then_some(now);
        pending
    }

    /// Whether a write took every held trace due within the last tick: then the store's
    /// timer has nothing to write that the next batch would not (under load, batches come
    /// every few milliseconds, each with the lookups due; a write of the timer's own would
    /// cost ClickHouse a statement more a tick).
    pub(crate) fn caught_up_within_a_tick(&self) -> bool {
        self.state()
            .caught_up
            .is_some_and(|at| at.elapsed() < self.tick())
    }

    /// How many spans are held (those a write has taken out included: they are not in
    /// ClickHouse yet).
    pub(crate) fn len(&self) -> usize {
        self.state().spans
    }

    /// What `/status` shows of the held spans.
    pub(crate) fn status(&self) -> HeldStatus {
        let state = self.state();
        HeldStatus {
            spans: state.spans as u64,
            bytes: state.bytes as u64,
            ceiling_bytes: MAX_BYTES as u64,
            over_ceiling: state.over_ceiling,
            spool_failures: state.spool_failures,
        }
    }
}

impl State {
    /// Holds a span newly held: counted, and placed.
    fn put(&mut self, held: Held) {
        self.spans += 1;
        self.bytes += held.size;
        self.place(held);
    }

    /// Places a span that is counted already (one a write took out and gave back).
    fn place(&mut self, held: Held) {
        let tick = self.tick;
        let trace = (held.project, held.span.trace_id);
        self.lookups.entry(trace).or_insert_with(|| Lookup {
            next: held.since + tick,
            then: 2 * tick,
        });
        self.traces.entry(trace).or_default().push(held);
    }
}

/// How often spans held at most `hold` are looked at.
fn tick(hold: Duration) -> Duration {
    (hold / 4).clamp(TICK_MIN, TICK_MAX)
}

/// A span read back from the spool: its segment, its project, the span, the size it is held
/// at.
type Recovered = (u64, ProjectId, SpanRecord, usize);

/// The segments on disk, and how many held spans each still has.
#[derive(Debug)]
struct Spool {
    dir: PathBuf,
    current: Segment,
    live: BTreeMap<u64, usize>,
    /// Locked while the spool is open (released when the process ends, however it ends).
    _lock: File,
}

#[derive(Debug)]
struct Segment {
    id: u64,
    file: File,
    bytes: u64,
}

impl Spool {
    /// Opens `dir`: the spans of its segments, oldest first (segment, span, size held), and a
    /// new segment to append to.
    fn open(dir: &Path) -> Result<(Self, Vec<Recovered>), SpoolError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => SpoolError::Locked {
                path: dir.to_owned(),
            },
            std::fs::TryLockError::Error(source) => SpoolError::Io {
                path: lock_path.clone(),
                source,
            },
        })?;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
            let name = entry.map_err(io_error(dir))?.file_name();
            if let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".spool"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut recovered = Vec::new();
        let mut live = BTreeMap::new();
        for &id in &ids {
            let path = segment_path(dir, id);
            let mut bytes = Vec::new();
            File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(io_error(&path))?;
            let spans = read_records(&bytes);
            if spans.is_empty() {
                std::fs::remove_file(&path).map_err(io_error(&path))?;
                continue;
            }
            live.insert(id, spans.len());
            recovered.extend(
                spans
                    .into_iter()
                    .map(|(project, span, size)| (id, project, span, size)),
            );
        }
        let id = ids.last().map_or(0, |last| last + 1);
        let current = Segment::create(dir, id).map_err(io_error(&segment_path(dir, id)))?;
        Ok((
            Self {
                dir: dir.to_owned(),
                current,
                live,
                _lock: lock,
            },
            recovered,
        ))
    }

    /// Appends `n` records (`encoded`, [`encode_record`]) to the current segment (a new one
    /// if it is full) and syncs it: the segment they are in.
    fn append(&mut self, encoded: &[u8], n: usize) -> io::Result<u64> {
        if self.current.bytes >= SEGMENT_BYTES {
            let next = Segment::create(&self.dir, self.current.id + 1)?;
            let done = std::mem::replace(&mut self.current, next);
            if !self.live.contains_key(&done.id) {
                std::fs::remove_file(segment_path(&self.dir, done.id))?;
            }
        }
        let segment = &mut self.current;
        if let Err(e) = segment
            .file
            .write_all(encoded)
            .and_then(|()| segment.file.sync_data())
        {
            // A part written would end what is read of the segment at a restart, records
            // appended after it included: cut it off, and begin a new segment next time.
            let _ = segment.file.set_len(segment.bytes);
            segment.bytes = SEGMENT_BYTES;
            return Err(e);
        }
        segment.bytes += encoded.len() as u64;
        *self.live.entry(segment.id).or_default() += n;
        Ok(segment.id)
    }

    /// `n` spans of `segment` are held no more: a segment left without any is removed (the
    /// current one emptied). A failure leaves the file, read again at the next start (its
    /// spans then stored once: they are duplicates).
    fn release(&mut self, segment: u64, n: usize) {
        let Some(live) = self.live.get_mut(&segment) else {
            return;
        };
        *live = live.saturating_sub(n);
        if *live > 0 {
            return;
        }
        self.live.remove(&segment);
        if segment == self.current.id {
            if self.current.file.set_len(0).is_ok() {
                self.current.bytes = 0;
            }
        } else {
            let _ = std::fs::remove_file(segment_path(&self.dir, segment));
        }
    }
}

impl Segment {
    fn create(dir: &Path, id: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(dir, id))?;
        // The new file's name, durable.
        File::open(dir)?.sync_all()?;
        Ok(Self { id, file, bytes: 0 })
    }
}

/// The error of an I/O operation on `path`.
fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + use<> {
    let path = path.to_owned();
    move |source| SpoolError::Io { path, source }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:016}.spool"))
}

/// Appends the record of `project`'s `span` to `buffer` (its header, then its MessagePack: the
/// pair of the project's id and the span, fields by name): the payload's length, or `None` if
/// it cannot be encoded (`buffer` then holds a part: cut it off).
fn encode_record(buffer: &mut Vec<u8>, project: ProjectId, span: &SpanRecord) -> Option<usize> {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; HEADER]);
    rmp_serde::encode::write_named(&mut *buffer, &(project.0, span)).ok()?;
    let (header, payload) = buffer[start..].split_at_mut(HEADER);
    let length = u32::try_from(payload.len()).ok()?;
    header[..4].copy_from_slice(&length.to_le_bytes());
    header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    Some(payload.len())
}

/// The spans of a segment's bytes, each with its project and the size it is held at, up to a
/// torn or corrupt record.
fn read_records(mut bytes: &[u8]) -> Vec<(ProjectId, SpanRecord, usize)> {
    let mut spans = Vec::new();
    while bytes.len() >= HEADER {
        let (header, rest) = bytes.split_at(HEADER);
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = rest.get(..length) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        // A record is the pair of a project and a span, a MessagePack array of two (0x92). One
        // of a spool written before projects is a span alone, the `default` project's: a
        // MessagePack map (0x80–0x8f, 0xde or 0xdf), or before MessagePack, JSON (`{`).
        let default = ProjectId(DEFAULT_PROJECT_ID);
        let span = match payload.first() {
            Some(0x92) => rmp_serde::from_slice::<(u32, SpanRecord)>(payload)
                .ok()
                .map(|(project, span)| (ProjectId(project), span)),
            Some(b'{') => serde_json::from_slice::<SpanRecord>(payload)
                .ok()
                .map(|span| (default, span)),
            _ => rmp_serde::from_slice::<SpanRecord>(payload)
                .ok()
                .map(|span| (default, span)),
        };
        let Some((project, span)) = span else {
            break;
        };
        spans.push((project, span, 2 * length));
        bytes = &rest[length..];
    }
    spans
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::{Resource, SpanId};

    use super::*;

    fn span(trace: u8, id: u8) -> SpanRecord {
        SpanRecord::new(
            TraceId::from_bytes([trace; 16]),
            SpanId::from_bytes([id; 8]),
            "chat",
            1,
            2,
            Arc::new(Resource::new("svc")),
        )
    }

    fn temp_dir() -> Result<tempfile::TempDir, SpoolError> {
        tempfile::tempdir().map_err(io_error(&std::env::temp_dir()))
    }

    /// The project of the spans held in these tests.
    const P: ProjectId = ProjectId(DEFAULT_PROJECT_ID);

    /// What a batch of `P` takes: its project's pending traces.
    fn due(held: &HeldSpans, all: bool, lookups: usize) -> Pending {
        held.pending(Some(P), all, lookups)
            .remove(&P)
            .unwrap_or_default()
    }

    fn traces(ids: &[u8]) -> HashSet<TraceId> {
        ids.iter().map(|t| TraceId::from_bytes([*t; 16])).collect()
    }

    fn spool_files(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        let size = e.metadata().map_or(0, |m| m.len());
                        (e.file_name().to_string_lossy().into_owned(), size)
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    #[test]
    fn held_spans_survive_a_restart_until_written() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let hold = Duration::from_secs(3600);
        let held = HeldSpans::open(dir.path(), hold)?;
        assert!(
            held.add(P, vec![span(1, 1), span(1, 2), span(2, 1)])
                .is_empty()
        );
        assert_eq!(held.len(), 3);
        assert!(
            held.pending(Some(P), false, MAX_LOOKED_UP).is_empty(),
            "held for an hour"
        );
        drop(held);

        // Started again: everything held before is due at once.
        let held = HeldSpans::open(dir.path(), hold)?;
        assert_eq!(held.len(), 3);
        assert_eq!(due(&held, false, MAX_LOOKED_UP).released, traces(&[1, 2]));
        let mut taken = held.take(P, &traces(&[1]));
        assert_eq!(taken.for_write().count(), 2);
        taken.settle(&HashSet::new());
        assert_eq!(held.len(), 1);
        held.take(P, &traces(&[2])).settle(&HashSet::new());
        assert!(
            spool_files(dir.path()).iter().all(|(_, size)| *size == 0),
            "nothing held, nothing left: {:?}",
            spool_files(dir.path())
        );
        drop(held);
        assert_eq!(HeldSpans::open(dir.path(), hold)?.len(), 0);
        Ok(())
    }

    #[test]
    fn spans_kept_or_put_back_stay_held() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let held = HeldSpans::open(dir.path(), Duration::ZERO)?;
        assert!(held.add(P, vec![span(1, 1), span(1, 2)]).is_empty());
        // A write completes the spans it takes in place; a span put back or held on is held
        // as it was taken.
        let complete = |taken: &mut Taken<'_>| {
            for (_, span, taken_as) in taken.for_write() {
                assert_eq!(taken_as, &Attribution::of(span));
                span.agent_name = Some("planner".into());
            }
        };
        let as_taken = |held: &HeldSpans| {
            let mut taken = held.take(P, &traces(&[1]));
            let names: Vec<_> = taken
                .for_write()
                .map(|(_, span, _)| span.agent_name.clone())
                .collect();
            drop(taken);
            names
        };
        let mut taken = held.take(P, &traces(&[1]));
        complete(&mut taken);
        assert_eq!(held.len(), 2, "held until written");
        assert!(
            held.pending(Some(P), true, MAX_LOOKED_UP).is_empty(),
            "not due twice"
        );
        drop(taken);
        assert_eq!(held.len(), 2, "a write dropped unsettled puts them back");
        assert_eq!(as_taken(&held), [None, None]);
        let kept: HashSet<usize> = [1].into();
        let mut taken = held.take(P, &traces(&[1]));
        complete(&mut taken);
        taken.settle(&kept);
        assert_eq!(held.len(), 1);
        assert_eq!(as_taken(&held), [None]);
        assert_eq!(
            due(&held, false, MAX_LOOKED_UP).released,
            traces(&[1]),
            "a zero hold: due at once"
        );
        drop(held);
        // A segment keeps the record of a span written until none of its spans is held:
        // read again, it is a duplicate the store skips.
        assert_eq!(HeldSpans::open(dir.path(), Duration::ZERO)?.len(), 2);
        Ok(())
    }

    #[test]
    fn held_traces_are_looked_up_ever_less_often() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let held = HeldSpans::open(dir.path(), Duration::from_secs(3600))?;
        assert_eq!(held.tick(), TICK_MAX);
        assert!(held.add(P, vec![span(1, 1), span(2, 1)]).is_empty());
        assert!(
            held.pending(Some(P), false, MAX_LOOKED_UP).is_empty(),
            "not before a tick"
        );
        std::thread::sleep(held.tick() + Duration::from_millis(50));
        let pending = due(&held, false, MAX_LOOKED_UP);
        assert_eq!(pending.looked_up, traces(&[1, 2]));
        assert!(pending.released.is_empty(), "held for an hour");
        assert!(
            held.pending(Some(P), false, MAX_LOOKED_UP).is_empty(),
            "looked up again two ticks later"
        );
        // Trace 1's span is still awaiting: it stays held, on the same schedule.
        held.take(P, &traces(&[1])).settle(&[0].into());
        held.take(P, &traces(&[2])).settle(&HashSet::new());
        assert_eq!(held.len(), 1);
        let state = held.state();
        assert_eq!(
            state.lookups.len(),
            1,
            "a trace written is looked up no more"
        );
        assert_eq!(
            state
                .lookups
                .get(&(P, TraceId::from_bytes([1; 16])))
                .map(|l| l.then),
            Some(4 * TICK_MAX)
        );
        Ok(())
    }

    #[test]
    fn lookups_beyond_a_batchs_share_wait_for_the_next_batch_or_the_timer() -> Result<(), SpoolError>
    {
        let dir = temp_dir()?;
        let held = HeldSpans::open(dir.path(), Duration::from_secs(3600))?;
        assert!(
            held.add(P, vec![span(1, 1), span(2, 1), span(3, 1)])
                .is_empty()
        );
        std::thread::sleep(held.tick() + Duration::from_millis(50));
        let mut looked_up = HashSet::new();
        for batch in 1..=3 {
            let pending = due(&held, false, 1);
            assert_eq!(pending.looked_up.len(), 1, "one a batch");
            looked_up.extend(pending.looked_up);
            assert_eq!(
                held.caught_up_within_a_tick(),
                batch == 3,
                "the timer writes what batch {batch} left due"
            );
        }
        assert_eq!(looked_up, traces(&[1, 2, 3]), "each in its turn");
        assert!(
            held.pending(Some(P), false, 1).is_empty(),
            "none due again yet"
        );
        std::thread::sleep(held.tick());
        assert!(
            !held.caught_up_within_a_tick(),
            "no batch for a tick: the timer looks"
        );
        Ok(())
    }

    #[test]
    fn a_spool_in_use_cannot_be_opened_again() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let held = HeldSpans::open(dir.path(), Duration::ZERO)?;
        assert!(matches!(
            HeldSpans::open(dir.path(), Duration::ZERO),
            Err(SpoolError::Locked { .. })
        ));
        drop(held);
        HeldSpans::open(dir.path(), Duration::ZERO).map(drop)
    }

    #[test]
    fn records_bring_back_every_field_and_older_ones_are_still_read() {
        let spans =
            agentrace_core::testing::fixtures::sample_spans(TraceId::from_bytes([7; 16]), 1_000);
        let other = ProjectId(7);
        let mut records = Vec::new();
        for s in &spans {
            assert!(encode_record(&mut records, other, s).is_some(), "{s:?}");
        }
        let read: Vec<(ProjectId, SpanRecord)> = read_records(&records)
            .into_iter()
            .map(|(p, s, _)| (p, s))
            .collect();
        let expected: Vec<(ProjectId, SpanRecord)> =
            spans.iter().map(|s| (other, s.clone())).collect();
        assert_eq!(read, expected);
        // A spool written before projects (a span alone, MessagePack) and before MessagePack
        // (JSON): the default project's.
        let record = |payload: Vec<u8>, into: &mut Vec<u8>| {
            let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
            into.extend_from_slice(&length.to_le_bytes());
            into.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            into.extend_from_slice(&payload);
        };
        let (mut alone, mut json) = (Vec::new(), Vec::new());
        for s in &spans {
            record(rmp_serde::to_vec_named(s).unwrap_or_default(), &mut alone);
            record(serde_json::to_vec(s).unwrap_or_default(), &mut json);
        }
        let expected: Vec<(ProjectId, SpanRecord)> = spans.iter().map(|s| (P, s.clone())).collect();
        for older in [&alone, &json] {
            let read: Vec<(ProjectId, SpanRecord)> = read_records(older)
                .into_iter()
                .map(|(p, s, _)| (p, s))
                .collect();
            assert_eq!(read, expected);
        }
        assert!(
            records.len() < json.len(),
            "{} against {}",
            records.len(),
            json.len()
        );
    }

    #[test]
    fn each_project_holds_its_own_traces() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let other = ProjectId(7);
        let hour = Duration::from_secs(3600);
        let held = HeldSpans::open(dir.path(), hour)?;
        // The same trace id in two projects: two traces.
        assert!(held.add(P, vec![span(1, 1)]).is_empty());
        assert!(held.add(other, vec![span(1, 1), span(1, 2)]).is_empty());
        assert_eq!(held.len(), 3);
        let mut taken = held.take(P, &traces(&[1]));
        assert_eq!(taken.for_write().count(), 1, "P's span only");
        drop(taken);
        drop(held);

        // Started again, each span in its project, all due: a batch of P takes P's, leaving
        // the other's to the timer, which takes every project's.
        let held = HeldSpans::open(dir.path(), hour)?;
        assert_eq!(held.len(), 3);
        let batch = held.pending(Some(P), false, MAX_LOOKED_UP);
        assert_eq!(batch.keys().copied().collect::<Vec<_>>(), [P]);
        assert!(!held.caught_up_within_a_tick(), "the other's trace is left");
        let timer = held.pending(None, false, MAX_LOOKED_UP);
        assert_eq!(timer.keys().copied().collect::<Vec<_>>(), [P, other]);
        assert_eq!(
            timer.get(&other).map(|p| p.released.clone()),
            Some(traces(&[1]))
        );
        assert!(held.caught_up_within_a_tick());
        assert_eq!(held.take(other, &traces(&[1])).for_write().count(), 2);
        Ok(())
    }

    #[test]
    fn a_torn_record_ends_what_is_read() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let held = HeldSpans::open(dir.path(), Duration::ZERO)?;
        assert!(held.add(P, vec![span(1, 1)]).is_empty());
        assert!(held.add(P, vec![span(1, 2)]).is_empty());
        drop(held);
        let path = segment_path(dir.path(), 0);
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        // The second record cut short, then one whose checksum is wrong.
        let mut torn = bytes[..bytes.len() - 3].to_vec();
        std::fs::write(&path, &torn).map_err(io_error(&path))?;
        assert_eq!(HeldSpans::open(dir.path(), Duration::ZERO)?.len(), 1);
        torn.truncate(bytes.len() / 2);
        if let Some(b) = torn.get_mut(HEADER + 1) {
            *b ^= 0xff;
        }
        let path = segment_path(dir.path(), 9);
        std::fs::write(&path, &torn).map_err(io_error(&path))?;
        assert_eq!(
            HeldSpans::open(dir.path(), Duration::ZERO)?.len(),
            1,
            "the corrupt segment yields nothing"
        );
        Ok(())
    }

    #[test]
    fn spans_over_the_bound_are_given_back() -> Result<(), SpoolError> {
        let dir = temp_dir()?;
        let held = HeldSpans::open(dir.path(), Duration::ZERO)?;
        let mut big = span(1, 1);
        big.attributes.insert("content", "x".repeat(MAX_BYTES / 3));
        let mut bigger = span(1, 2);
        bigger
            .attributes
            .insert("content", "x".repeat(MAX_BYTES / 3));
        let given_back = held.add(P, vec![big, bigger, span(1, 3)]);
        assert_eq!(
            given_back.iter().map(|s| s.span_id).collect::<Vec<_>>(),
            [SpanId::from_bytes([2; 8])]
        );
        assert_eq!(held.len(), 2);
        let status = held.status();
        assert_eq!((status.spans, status.over_ceiling), (2, 1));
        assert!(status.bytes > MAX_BYTES as u64 / 2 && status.bytes <= status.ceiling_bytes);

        // A spool that cannot be written holds nothing, and says so.
        held.state().spool.current.file =
            File::open(dir.path().join("lock")).map_err(io_error(dir.path()))?;
        held.state().spool.current.bytes = 0;
        assert_eq!(held.add(P, vec![span(2, 1)]).len(), 1);
        assert_eq!(held.status().spool_failures, 1);
        Ok(())
    }
}
