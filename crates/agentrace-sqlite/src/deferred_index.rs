//! The indexes of `traces` by trace id and by session, kept up to date in batches.
//!
//! Both take their inserts at random places (trace ids are random; sessions are many), so a
//! commit rewrites about one page of each per new trace. Measured at 1 M spans
//! (`cargo xtask bench ingest`): with the two indexes written at every commit, half of all the
//! bytes the writer wrote were these pages. So a new trace row starts *pending*
//! (`indexed = 0`), listed by `traces_pending`, an index in arrival order that grows at its
//! end; the writer moves the pending rows into `traces_id` and `traces_session` at most once a
//! second (or once [`MAX_PENDING`] are pending), in one transaction that touches each page
//! once.
//!
//! A query by trace id or session reads both the index and the pending rows (a second's worth):
//! [`TRACE_NO_OF_ID`], [`TRACES_OF_SESSION`]. Nothing is ever missing from an answer: a row is
//! pending or indexed, and SQLite keeps both partial indexes right through every update and
//! delete.
//!
//! The writer indexes while it writes; rows it leaves pending when it stops writing are indexed
//! by the checkpointing thread ([`IdleIndexer`]) once the oldest has waited two seconds.
//!
//! A trace id is unique among the rows: the writer finds a trace before creating its row, in
//! `traces_id` or among the pending rows, which it keeps in memory ([`DeferredIndexer`]). It
//! knows them all: it reloads them inside its write transaction whenever another connection
//! (another process writing the same file) has committed since (`PRAGMA data_version`), or its
//! own rows may have changed (a rollback, retention, a repair).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use agentrace_core::TraceId;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Db, DbError};

/// How often the writer indexes the pending rows at most.
const INTERVAL: Duration = Duration::from_secs(1);

/// Pending rows that make indexing due before [`INTERVAL`] has passed.
const MAX_PENDING: usize = 50_000;

/// The `trace_no` of the trace whose id is `?1`, as a scalar subquery.
pub(crate) static TRACE_NO_OF_ID: LazyLock<String> = LazyLock::new(|| trace_no_of_id("?1"));

/// The `trace_no` of the trace whose id is the parameter `param` (`?` binds it twice).
pub(crate) fn trace_no_of_id(param: &str) -> String {
    format!(
        "(SELECT trace_no FROM traces INDEXED BY traces_id \
         WHERE trace_id = {param} AND indexed = 1 \
         UNION ALL \
         SELECT trace_no FROM traces INDEXED BY traces_pending \
         WHERE indexed = 0 AND trace_id = {param} \
         LIMIT 1)"
    )
}

/// A `WHERE` term selecting the traces (aliased `t`) of one session; binds the session id
/// twice.
pub(crate) const TRACES_OF_SESSION: &str = "t.trace_no IN (\
     SELECT trace_no FROM traces INDEXED BY traces_session \
     WHERE session_id = ? AND indexed = 1 \
     UNION ALL \
     SELECT trace_no FROM traces INDEXED BY traces_pending \
     WHERE indexed = 0 AND session_id = ?)";

/// Moves every pending row into the indexes.
const INDEX_PENDING: &str =
    "UPDATE traces INDEXED BY traces_pending SET indexed = 1 WHERE indexed = 0";

/// The writer's side: the pending rows, and when it last indexed them.
#[derive(Debug, Default)]
pub(crate) struct DeferredIndexer {
    last: Option<Instant>,
    /// Every pending row of the file by trace id, as of `data_version`.
    pending: HashMap<TraceId, i64>,
    /// `PRAGMA data_version` when `pending` was last complete; `None`: reload it.
    data_version: Option<i64>,
}

impl DeferredIndexer {
    /// Makes the pending rows known complete. Call it inside the write transaction, before
    /// [`find`](Self::find): no other connection can add rows until it ends.
    pub(crate) fn sync(&mut self, conn: &Connection) -> Result<(), DbError> {
        let version: i64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .db()?;
        if self.data_version == Some(version) {
            return Ok(());
        }
        self.pending.clear();
        let mut stmt = conn
            .prepare_cached(
                "SELECT trace_id, trace_no FROM traces INDEXED BY traces_pending \
                 WHERE indexed = 0",
            )
            .db()?;
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
        Ok(())
    }

    /// The `trace_no` of a stored trace: among the pending rows, else in `traces_id`.
    pub(crate) fn find(
        &self,
        conn: &Connection,
        trace_id: TraceId,
    ) -> Result<Option<i64>, DbError> {
        if let Some(&n) = self.pending.get(&trace_id) {
            return Ok(Some(n));
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT trace_no FROM traces INDEXED BY traces_id \
                 WHERE trace_id = ?1 AND indexed = 1",
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
    }

    /// Forgets the pending rows (reloaded by the next [`sync`](Self::sync)): after a rollback,
    /// or a write that may have deleted or recreated rows.
    pub(crate) fn forget(&mut self) {
        self.pending.clear();
        self.data_version = None;
    }

    /// Indexes the pending rows if it is time to, in a transaction of its own (run it
    /// between the writer's transactions). Indexing that fails is tried again next time:
    /// queries are right either way.
    pub(crate) fn run_if_due(&mut self, conn: &mut Connection) -> Result<(), DbError> {
        let n = self.pending.len();
        let due = n >= MAX_PENDING || (n > 0 && self.last.is_none_or(|t| t.elapsed() >= INTERVAL));
        if due {
            self.run(conn)?;
        }
        Ok(())
    }

    fn run(&mut self, conn: &mut Connection) -> Result<(), DbError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        tx.prepare_cached(INDEX_PENDING).db()?.execute([]).db()?;
        tx.commit().db()?;
        self.last = Some(Instant::now());
        // Another connection's rows are indexed too; if one committed meanwhile, the next
        // `sync` sees it.
        self.pending.clear();
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
            .query_row(
                "SELECT min(trace_no) FROM traces INDEXED BY traces_pending WHERE indexed = 0",
                [],
                |r| r.get(0),
            )
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
        tx.prepare_cached(INDEX_PENDING).db()?.execute([]).db()?;
        tx.commit().db()?;
        self.oldest = None;
        Ok(())
    }
}
