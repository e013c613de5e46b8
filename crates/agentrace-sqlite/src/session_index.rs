//! The index of traces by session, kept up to date in batches.
//!
//! An index ordered by session takes its inserts at as many places as there are active
//! sessions, so a commit rewrites about one page of it per new trace: measured at 1 M spans
//! (`cargo xtask bench ingest`), a quarter of all the bytes written and an eighth of the
//! writer's time. So a new trace row starts *pending* (`session_indexed = 0`), listed by
//! `traces_session_pending`, an index in arrival order that grows at its end; the writer moves
//! the pending rows into `traces_session` at most once a second (or once many are pending), in
//! one transaction that touches each session's page once.
//!
//! A query by session reads both: `traces_session`, and the pending rows (a second's worth),
//! through [`TRACES_OF_SESSION`]. Nothing is ever missing from the answer: a row is pending or
//! indexed, and SQLite keeps both indexes right through every update and delete.

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Db, DbError};

/// How often the writer indexes the pending rows at most.
const INTERVAL: Duration = Duration::from_secs(1);

/// Pending rows that make indexing due before [`INTERVAL`] has passed.
const MAX_PENDING: usize = 50_000;

/// A `WHERE` term selecting the traces (aliased `t`) of one session; binds the session id
/// twice.
pub(crate) const TRACES_OF_SESSION: &str = "t.trace_no IN (\
     SELECT trace_no FROM traces INDEXED BY traces_session \
     WHERE session_id = ? AND session_indexed = 1 \
     UNION ALL \
     SELECT trace_no FROM traces INDEXED BY traces_session_pending \
     WHERE session_indexed = 0 AND session_id = ?)";

/// Moves every pending row into `traces_session`.
const INDEX_PENDING: &str = "UPDATE traces INDEXED BY traces_session_pending \
     SET session_indexed = 1 WHERE session_indexed = 0";

/// When the writer last indexed, and how many rows it created since (as far as it knows:
/// other writers of the file add theirs, which the next run indexes too).
#[derive(Debug, Default)]
pub(crate) struct SessionIndexer {
    last: Option<Instant>,
    created: usize,
}

impl SessionIndexer {
    /// Notes trace rows just created (pending).
    pub(crate) fn created(&mut self, rows: usize) {
        self.created += rows;
    }

    /// Indexes the pending rows if it is time to, in a transaction of its own (run it
    /// between the writer's transactions). Indexing that fails is tried again next time:
    /// queries are right either way.
    pub(crate) fn run_if_due(&mut self, conn: &mut Connection) -> Result<(), DbError> {
        let due = self.created >= MAX_PENDING
            || (self.created > 0 && self.last.is_none_or(|t| t.elapsed() >= INTERVAL));
        if due {
            self.run(conn)?;
        }
        Ok(())
    }

    /// Indexes every pending row now.
    pub(crate) fn run(&mut self, conn: &mut Connection) -> Result<(), DbError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        tx.prepare_cached(INDEX_PENDING).db()?.execute([]).db()?;
        tx.commit().db()?;
        self.last = Some(Instant::now());
        self.created = 0;
        Ok(())
    }
}
