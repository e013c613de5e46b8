//! Retention: deleting records older than a cutoff, in short transactions.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::codec::bound;
use crate::error::{Db, RetentionError};
use crate::model::Signal;
use crate::rollup;
use crate::span_rollups::{self, FACT_COLUMNS, OwnedFacts};
use crate::store::SqliteStore;

/// Deletes a chunk of old spans, returning their traces and what they contributed to rollups.
static DELETE_SPANS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM spans WHERE rowid IN \
         (SELECT rowid FROM spans WHERE start_ns < ?1 LIMIT ?2) RETURNING trace_no, {FACT_COLUMNS}"
    )
});

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
        self.writer().transaction(|tx, keys| {
            let mut traces = HashSet::new();
            let mut deleted = Vec::new();
            {
                let mut stmt = tx.prepare_cached(&DELETE_SPANS).db()?;
                let mut rows = stmt.query([cutoff, CHUNK]).db()?;
                while let Some(row) = rows.next().db()? {
                    traces.insert(row.get::<_, i64>(0).db()?);
                    deleted.push(OwnedFacts::read(row, 1)?);
                }
            }
            for trace_no in traces {
                rollup::recompute(tx, trace_no)?;
            }
            let mut batch = span_rollups::Batch::default();
            for f in &deleted {
                batch.add(&f.facts(), -1);
            }
            batch.apply(tx, keys)?;
            Ok(deleted.len())
        })
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
