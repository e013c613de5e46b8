//! The trace-id and session indexes of `traces`, kept up to date in batches and levels.
//!
//! Trace ids are random and sessions are many, so an index entry lands at a random place: a
//! commit rewrites about one page per new trace. Measured at 1 M spans
//! (`cargo xtask bench ingest`): with the two indexes written at every commit, half of all the
//! bytes the writer wrote were these pages. So the entries go through stages, each written in
//! batches that touch a page once for many entries:
//!
//! 1. **Pending**: a new trace row is listed in `pending_traces` by its `trace_no` (a table that
//!    grows at its end). At most once a second (or once [`MAX_PENDING`] are pending) the writer
//!    moves them all on, in one transaction: the row's session into `trace_sessions`, its id into
//!    the recent level, and empties `pending_traces`. The row itself is not written again (up
//!    to schema version 7 a flag on it was set, rewriting every row).
//! 2. **Recent**: `trace_ids_recent`, a small table of (trace id, `trace_no`), which stays in
//!    the page cache.
//! 3. **Main**: `trace_ids`, the same for every other trace. A random insert into a main level
//!    larger than the page cache reads and rewrites a page per trace: measured over a 5-minute
//!    sustained run, that took 30 % of the writer by its end. So the recent level is merged into
//!    it once it holds a sixteenth of the traces (see [`merge_at`]), in order of trace id: each
//!    main page is then rewritten once per merge, for many entries. A merge goes
//!    [`MERGE_CHUNK`] entries per transaction, so that a transaction touches at most that many
//!    main pages whatever the ids (the write-ahead log's ceiling holds).
//!
//! A query by trace id reads the three ([`TRACE_NO_OF_ID`]), by session both `trace_sessions`
//! and the pending rows ([`TRACES_OF_SESSION`]). Nothing is ever missing from an answer: a row is
//! pending or indexed; an indexed row's id is in one of the levels and, if it has a session, its
//! (session, start) in `trace_sessions`; triggers remove them with the row and move the session
//! entry when an indexed row's session or start changes.
//!
//! The writer indexes while it writes; rows it leaves pending when it stops writing are indexed
//! by the checkpointing thread ([`IdleIndexer`]) once the oldest has waited two seconds.
//!
//! A trace id is unique among the rows: the writer finds a trace before creating its row, in the
//! levels or among the pending rows, which it keeps in memory ([`DeferredIndexer`]). It knows
//! them all: it reloads them inside its write transaction whenever another connection
//! (another process writing the same file) has committed since (`PRAGMA data_version`), or its
//! own rows may have changed (a rollback, retention, a repair). Before the levels it asks a
//! Bloom filter of every stored id ([`IdFilter`]): a new trace, the usual case, is known to be
//! new without a lookup. The filter is built from the levels and the pending rows at the first
//! write, and kept whole by adding each row's id as it is made and, after another connection
//! has committed, the ids of the rows numbered past the newest it covered (a new row takes the
//! next number; if that newest row is gone, numbers may have been taken again and the filter is
//! built anew).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use agentrace_core::TraceId;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::error::{Db, DbError};
use crate::id_filter::{IdFilter, MAX_IDS};
use crate::wal::WalBound;

/// How often the writer indexes the pending rows at most.
const INTERVAL: Duration = Duration::from_secs(1);

/// Pending rows that make indexing due before [`INTERVAL`] has passed.
const MAX_PENDING: usize = 50_000;

/// Entries a merge moves from the recent level to the main one per transaction.
const MERGE_CHUNK: u32 = 4_096;

/// The smallest recent level that a merge starts at.
const MERGE_AT_LEAST: usize = 32_768;

/// The size of the recent level that starts a merge into the main one, given the number of
/// traces: a sixteenth of them, so that a merge rewrites each main page for many entries,
/// within bounds that keep the recent level in the page cache (about 35 bytes an entry).
fn merge_at(traces: usize) -> usize {
    (traces / 16).clamp(MERGE_AT_LEAST, 524_288)
}

/// The `trace_no` of the trace whose id is `?1`, as a scalar subquery.
pub(crate) static TRACE_NO_OF_ID: LazyLock<String> = LazyLock::new(|| trace_no_of_id("?1"));

/// The `trace_no` of the trace whose id is the parameter `param` (`?` binds it three times).
pub(crate) fn trace_no_of_id(param: &str) -> String {
    format!(
        "(SELECT trace_no FROM trace_ids WHERE trace_id = {param} \
         UNION ALL \
         SELECT trace_no FROM trace_ids_recent WHERE trace_id = {param} \
         UNION ALL \
         SELECT p.trace_no FROM pending_traces p CROSS JOIN traces t \
         ON t.trace_no = p.trace_no WHERE t.trace_id = {param} \
         LIMIT 1)"
    )
}

/// A `WHERE` term selecting the traces (aliased `t`) of one session; binds the session id
/// twice.
pub(crate) const TRACES_OF_SESSION: &str = "t.trace_no IN (\
     SELECT trace_no FROM trace_sessions WHERE session_id = ? \
     UNION ALL \
     SELECT p.trace_no FROM pending_traces p CROSS JOIN traces s \
     ON s.trace_no = p.trace_no WHERE s.session_id = ?)";

/// The id and `trace_no` of every pending row.
const PENDING_IDS: &str = "SELECT t.trace_id, t.trace_no \
     FROM pending_traces p CROSS JOIN traces t ON t.trace_no = p.trace_no";

/// Lists a new row as pending (its writer calls it in the transaction that made the row).
pub(crate) fn pending(conn: &Connection, trace_no: i64) -> Result<(), DbError> {
    conn.prepare_cached("INSERT INTO pending_traces (trace_no) VALUES (?1)")
        .db()?
        .execute([trace_no])
        .db()?;
    Ok(())
}

/// The row numbered `at`, else the newest row: its number and id (number 0, no id: none).
fn top(conn: &Connection, at: Option<i64>) -> Result<Top, DbError> {
    let sql = match at {
        Some(_) => "SELECT trace_no, trace_id FROM traces WHERE trace_no = ?1",
        None => "SELECT trace_no, trace_id FROM traces ORDER BY trace_no DESC LIMIT 1",
    };
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(rusqlite::params_from_iter(at)).db()?;
    let Some(row) = rows.next().db()? else {
        return Ok(Top::default());
    };
    let id = match row.get_ref(1).db()? {
        ValueRef::Blob(id) => <[u8; 16]>::try_from(id).ok().map(TraceId::from_bytes),
        _ => None,
    };
    Ok(Top {
        trace_no: row.get(0).db()?,
        id,
    })
}

/// Moves every pending row into the session index and the recent level; returns the number of
/// ids added to the recent level.
fn index_pending(conn: &Connection) -> Result<usize, DbError> {
    let added = conn
        .prepare_cached(&format!(
            "INSERT OR IGNORE INTO trace_ids_recent (trace_id, trace_no) {PENDING_IDS}"
        ))
        .db()?
        .execute([])
        .db()?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO trace_sessions (session_id, start_ns, trace_no) \
         SELECT t.session_id, t.start_ns, t.trace_no \
         FROM pending_traces p CROSS JOIN traces t ON t.trace_no = p.trace_no \
         WHERE t.session_id IS NOT NULL",
    )
    .db()?
    .execute([])
    .db()?;
    conn.prepare_cached("DELETE FROM pending_traces")
        .db()?
        .execute([])
        .db()?;
    Ok(added)
}

/// Moves the first [`MERGE_CHUNK`] entries of the recent level, by trace id, into the main
/// one; returns how many it moved (fewer: the recent level is now empty).
fn merge_chunk(conn: &Connection) -> Result<usize, DbError> {
    let last: Option<Vec<u8>> = conn
        .prepare_cached("SELECT trace_id FROM trace_ids_recent ORDER BY trace_id LIMIT 1 OFFSET ?1")
        .db()?
        .query_row([MERGE_CHUNK - 1], |r| r.get(0))
        .optional()
        .db()?;
    let (insert, delete) = match last {
        Some(_) => (
            "INSERT OR IGNORE INTO trace_ids (trace_id, trace_no) \
             SELECT trace_id, trace_no FROM trace_ids_recent WHERE trace_id <= ?1",
            "DELETE FROM trace_ids_recent WHERE trace_id <= ?1",
        ),
        None => (
            "INSERT OR IGNORE INTO trace_ids (trace_id, trace_no) \
             SELECT trace_id, trace_no FROM trace_ids_recent",
            "DELETE FROM trace_ids_recent",
        ),
    };
    let bind = |stmt: &mut rusqlite::CachedStatement<'_>| match &last {
        Some(last) => stmt.execute([last]),
        None => stmt.execute([]),
    };
    bind(&mut conn.prepare_cached(insert).db()?).db()?;
    bind(&mut conn.prepare_cached(delete).db()?).db()
}

/// Runs `work` in a write transaction of its own (begun where the log has room), committed if
/// it succeeds.
fn in_write<T>(
    conn: &mut Connection,
    wal: &WalBound,
    work: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let tx = wal.begin(conn)?;
    let out = work(&tx)?;
    tx.commit().db()?;
    Ok(out)
}

/// The newest row a filter covers: its number and id.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Top {
    trace_no: i64,
    id: Option<TraceId>,
}

/// The writer's side: the pending rows, when it last indexed them, and the merges.
#[derive(Debug, Default)]
pub(crate) struct DeferredIndexer {
    last: Option<Instant>,
    /// Every pending row of the file by trace id, as of `data_version`.
    pending: HashMap<TraceId, i64>,
    /// The entries of the recent level, as of `data_version`; `None`: count them.
    recent: Option<usize>,
    /// A merge has begun and goes on until the recent level is empty.
    merging: bool,
    /// `PRAGMA data_version` when `pending` was last complete; `None`: reload it.
    data_version: Option<i64>,
    /// Every stored id, and some no longer stored; `None`: not built yet, or too many traces.
    filter: Option<IdFilter>,
    /// The filter holds the ids of every row numbered up to this one, the newest it has seen
    /// (its number and id: if it is gone when another connection has committed, rows at the
    /// top were deleted and their numbers may have been taken again).
    covered: Top,
    /// `covered` when the last write began: what holds if that write is rolled back.
    covered_before: Top,
    /// Too many traces for a filter: every id is looked up.
    unfiltered: bool,
}

impl DeferredIndexer {
    /// Makes the pending rows known complete. Call it inside the write transaction, before
    /// [`find`](Self::find): no other connection can add rows until it ends.
    pub(crate) fn sync(&mut self, conn: &Connection) -> Result<(), DbError> {
        self.covered_before = self.covered;
        let version: i64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .db()?;
        if self.data_version == Some(version) {
            return Ok(());
        }
        if self.data_version.is_some() {
            // Another connection has committed: it may have added to the recent level.
            self.recent = None;
        }
        self.pending.clear();
        let mut stmt = conn.prepare_cached(PENDING_IDS).db()?;
        let mut rows = stmt.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            // A row whose id is not 16 bytes can match no lookup.
            if let ValueRef::Blob(id) = row.get_ref(0).db()?
                && let Ok(id) = <[u8; 16]>::try_from(id)
            {
                self.pending
                    .insert(TraceId::from_bytes(id), row.get(1).db()?);
            }
        }
        self.data_version = Some(version);
        self.sync_filter(conn)?;
        self.covered_before = self.covered;
        Ok(())
    }

    /// Builds the filter, or adds the ids of the rows made since it last covered them.
    fn sync_filter(&mut self, conn: &Connection) -> Result<(), DbError> {
        if self.unfiltered {
            return Ok(());
        }
        let newest = top(conn, None)?;
        if self.filter.is_some() && top(conn, Some(self.covered.trace_no))? != self.covered {
            // Rows at the top were deleted since: numbers it covered may name other traces.
            self.filter = None;
        }
        let mut ids = Vec::new();
        let (sql, params): (&str, &[i64]) = match self.filter {
            Some(_) if newest.trace_no <= self.covered.trace_no => return Ok(()),
            Some(_) => (
                "SELECT trace_id FROM traces WHERE trace_no > ?1",
                std::slice::from_ref(&self.covered.trace_no),
            ),
            None if usize::try_from(newest.trace_no).unwrap_or(usize::MAX) > MAX_IDS => {
                self.unfiltered = true;
                return Ok(());
            }
            // Every row is pending or has its id in a level.
            None => (
                "SELECT trace_id FROM trace_ids UNION ALL \
                 SELECT trace_id FROM trace_ids_recent UNION ALL \
                 SELECT t.trace_id FROM pending_traces p CROSS JOIN traces t \
                 ON t.trace_no = p.trace_no",
                &[],
            ),
        };
        let mut stmt = conn.prepare_cached(sql).db()?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).db()?;
        while let Some(row) = rows.next().db()? {
            if let ValueRef::Blob(id) = row.get_ref(0).db()?
                && let Ok(id) = <[u8; 16]>::try_from(id)
            {
                ids.push(TraceId::from_bytes(id));
            }
        }
        let filter = self.filter.get_or_insert_with(IdFilter::new);
        if !ids.into_iter().all(|id| filter.insert(id)) {
            self.drop_filter();
            return Ok(());
        }
        self.covered = newest;
        Ok(())
    }

    fn drop_filter(&mut self) {
        self.filter = None;
        self.unfiltered = true;
    }

    /// The `trace_no` of a stored trace: among the pending rows, else in a level.
    pub(crate) fn find(
        &self,
        conn: &Connection,
        trace_id: TraceId,
    ) -> Result<Option<i64>, DbError> {
        if let Some(&n) = self.pending.get(&trace_id) {
            return Ok(Some(n));
        }
        if self
            .filter
            .as_ref()
            .is_some_and(|f| !f.may_contain(trace_id))
        {
            return Ok(None);
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT trace_no FROM trace_ids_recent WHERE trace_id = ?1 \
                 UNION ALL \
                 SELECT trace_no FROM trace_ids WHERE trace_id = ?1 \
                 LIMIT 1",
            )
            .db()?;
        let mut rows = stmt.query([trace_id.to_bytes()]).db()?;
        match rows.next().db()? {
            Some(row) => Ok(Some(row.get(0).db()?)),
            None => Ok(None),
        }
    }

    /// Notes a row just created (pending).
    pub(crate) fn created(&mut self, trace_id: TraceId, trace_no: i64) {
        self.pending.insert(trace_id, trace_no);
        if let Some(filter) = &mut self.filter {
            if !filter.insert(trace_id) {
                self.drop_filter();
            } else if trace_no > self.covered.trace_no {
                self.covered = Top {
                    trace_no,
                    id: Some(trace_id),
                };
            }
        }
    }

    /// Forgets the pending rows (reloaded by the next [`sync`](Self::sync)): after a rollback,
    /// or a write that may have deleted or recreated rows.
    ///
    /// The count of the recent level stays: such writes only delete from it (with their rows),
    /// and a count too high only starts a merge early.
    pub(crate) fn forget(&mut self) {
        self.pending.clear();
        self.data_version = None;
        // The rows numbered past it may have been rolled back, their numbers to be taken by
        // others: the next `sync` adds those again.
        self.covered = self.covered_before;
    }

    /// Indexes the pending rows if it is time to, then moves a chunk of a merge if one is due,
    /// each in a transaction of its own (run it between the writer's transactions). Work that
    /// fails is tried again next time: queries are right either way.
    pub(crate) fn run_if_due(
        &mut self,
        conn: &mut Connection,
        wal: &WalBound,
    ) -> Result<(), DbError> {
        let n = self.pending.len();
        if n >= MAX_PENDING || (n > 0 && self.last.is_none_or(|t| t.elapsed() >= INTERVAL)) {
            self.index(conn, wal)?;
        }
        if self.merge_due(conn)? {
            self.merge(conn, wal)?;
        }
        Ok(())
    }

    fn index(&mut self, conn: &mut Connection, wal: &WalBound) -> Result<(), DbError> {
        let added = in_write(conn, wal, index_pending)?;
        self.last = Some(Instant::now());
        // Another connection's rows are indexed too; if one committed meanwhile, the next
        // `sync` sees it.
        self.pending.clear();
        self.recent = self.recent.map(|r| r + added);
        Ok(())
    }

    fn merge_due(&mut self, conn: &Connection) -> Result<bool, DbError> {
        let recent = match self.recent {
            Some(r) => r,
            None => {
                let r: i64 = conn
                    .query_row("SELECT count(*) FROM trace_ids_recent", [], |r| r.get(0))
                    .db()?;
                let r = usize::try_from(r).unwrap_or(0);
                self.recent = Some(r);
                r
            }
        };
        if !self.merging && recent >= MERGE_AT_LEAST {
            // The newest `trace_no` counts the traces ever made: close enough, and one seek.
            let traces: Option<i64> = conn
                .query_row("SELECT max(trace_no) FROM traces", [], |r| r.get(0))
                .db()?;
            let traces = traces.and_then(|t| usize::try_from(t).ok()).unwrap_or(0);
            self.merging = recent >= merge_at(traces);
        }
        Ok(self.merging)
    }

    fn merge(&mut self, conn: &mut Connection, wal: &WalBound) -> Result<(), DbError> {
        let moved = in_write(conn, wal, merge_chunk)?;
        if moved < MERGE_CHUNK as usize {
            self.recent = Some(0);
            self.merging = false;
        } else {
            self.recent = self.recent.map(|r| r.saturating_sub(moved));
        }
        Ok(())
    }
}

/// Indexes the pending rows the writer has left alone: run every tick of a background thread
/// with a connection of its own; it indexes once the oldest pending row has been the oldest for
/// [`IDLE_AFTER`] (the writer, while it writes, indexes at most [`INTERVAL`] after a row
/// arrives). Ticks may come more often than that (the writer wakes the thread as its log
/// grows): counting ticks instead of time took the write lock from a busy writer several times a
/// second, which then reloaded the pending rows it had lost track of, in a sustained run.
#[derive(Debug, Default)]
pub(crate) struct IdleIndexer {
    /// The oldest pending row, and since when it has been the oldest.
    oldest: Option<(i64, Instant)>,
}

/// How long the oldest pending row stays the oldest before the writer counts as stopped.
const IDLE_AFTER: Duration = Duration::from_secs(2);

impl IdleIndexer {
    pub(crate) fn tick(&mut self, conn: &Connection) -> Result<(), DbError> {
        let oldest: Option<i64> = conn
            .query_row("SELECT min(trace_no) FROM pending_traces", [], |r| r.get(0))
            .db()?;
        let Some(oldest) = oldest else {
            self.oldest = None;
            return Ok(());
        };
        match self.oldest {
            Some((seen, since)) if seen == oldest => {
                if since.elapsed() < IDLE_AFTER {
                    return Ok(());
                }
            }
            _ => {
                self.oldest = Some((oldest, Instant::now()));
                return Ok(());
            }
        }
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).db()?;
        index_pending(&tx)?;
        tx.commit().db()?;
        self.oldest = None;
        Ok(())
    }
}
