//! Retention: deleting records older than a cutoff, in short transactions.

use std::collections::HashSet;

use rusqlite::TransactionBehavior;

use crate::codec::bound;
use crate::error::{Db, RetentionError};
use crate::model::Signal;
use crate::rollup;
use crate::store::SqliteStore;

/// Rows deleted per transaction: small enough that a chunk holds the write lock for
/// milliseconds, so the pipeline's writes interleave with a long purge.
const CHUNK: i64 = 2_000;

impl SqliteStore {
    /// Deletes the spans (by start time) or events (by time) older than `cutoff_unix_nano`,
    /// and returns how many were deleted.
    ///
    /// Works in chunks of a few thousand rows, each in its own short transaction, releasing
    /// the write lock between chunks. Deleting spans keeps trace summaries right: a trace
    /// left without spans disappears from the list, a trace that lost some is recomputed from
    /// the rest (and keeps its place in the list).
    pub fn delete_before(
        &self,
        signal: Signal,
        cutoff_unix_nano: u64,
    ) -> Result<usize, RetentionError> {
        let cutoff = bound(cutoff_unix_nano);
        let mut deleted = 0usize;
        loop {
            if self.is_shut_down() {
                return Err(RetentionError::ShutDown);
            }
            let n = match signal {
                Signal::Spans => self.delete_span_chunk(cutoff)?,
                Signal::Events => self.delete_event_chunk(cutoff)?,
            };
            deleted += n;
            if i64::try_from(n).unwrap_or(i64::MAX) < CHUNK {
                return Ok(deleted);
            }
            // Let a waiting writer in before the next chunk.
            std::thread::yield_now();
        }
    }

    fn delete_span_chunk(&self, cutoff: i64) -> Result<usize, RetentionError> {
        let mut writer = self.writer();
        let tx = writer
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let mut traces = HashSet::new();
        let mut n = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "DELETE FROM spans WHERE rowid IN \
                     (SELECT rowid FROM spans WHERE start_ns < ?1 LIMIT ?2) RETURNING trace_no",
                )
                .db()?;
            let mut rows = stmt.query([cutoff, CHUNK]).db()?;
            while let Some(row) = rows.next().db()? {
                n += 1;
                let trace_no: i64 = row.get(0).db()?;
                traces.insert(trace_no);
            }
        }
        for trace_no in traces {
            rollup::recompute(&tx, trace_no)?;
        }
        tx.commit().db()?;
        Ok(n)
    }

    fn delete_event_chunk(&self, cutoff: i64) -> Result<usize, RetentionError> {
        let writer = self.writer();
        let n = writer
            .conn()
            .prepare_cached(
                "DELETE FROM events WHERE rowid IN \
                 (SELECT rowid FROM events WHERE time_ns < ?1 LIMIT ?2)",
            )
            .db()?
            .execute([cutoff, CHUNK])
            .db()?;
        Ok(n)
    }
}
