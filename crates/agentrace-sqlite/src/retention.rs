//! Retention: deleting records older than a cutoff, in short transactions.

use std::collections::HashSet;

use crate::codec::bound;
use crate::error::Db;
use crate::past::{self, Touched};
use crate::store::SqliteStore;
use crate::trace_summaries;
use agentrace_store::RecordKind;
use agentrace_store::RetentionError;

/// Deletes a chunk of old spans, returning their traces.
const DELETE_SPANS: &str = "DELETE FROM spans WHERE rowid IN \
     (SELECT rowid FROM spans WHERE start_ns < ?1 LIMIT ?2) RETURNING trace_no";

/// Deletes a chunk of old events.
const DELETE_EVENTS: &str = "DELETE FROM events WHERE rowid IN \
     (SELECT rowid FROM events WHERE time_ns < ?1 LIMIT ?2)";

/// Deletes a chunk of old scores (a table without rowid: by its key).
const DELETE_SCORES: &str = "DELETE FROM scores WHERE id IN \
     (SELECT id FROM scores WHERE time_ns < ?1 LIMIT ?2)";

/// Deletes a chunk of rollup rows whose bucket ended by `?1`.
const DELETE_ROLLUPS: &str = "DELETE FROM rollups WHERE (tier, bucket_ns, key_id) IN \
     (SELECT tier, bucket_ns, key_id FROM rollups \
      WHERE bucket_ns + tier * 1000000000 <= ?1 LIMIT ?2)";

/// Deletes a chunk of received metric points whose minute ended by `?1`.
const DELETE_METRIC_POINTS: &str = "DELETE FROM metric_points WHERE (series_id, bucket_ns) IN \
     (SELECT series_id, bucket_ns FROM metric_points \
      WHERE bucket_ns <= ?1 - 60000000000 LIMIT ?2)";

/// Deletes the metric series left without points.
const DELETE_EMPTY_SERIES: &str = "DELETE FROM metric_series AS s \
     WHERE NOT EXISTS (SELECT 1 FROM metric_points AS p WHERE p.series_id = s.id)";

/// Deletes a chunk of rollup error rows whose bucket ended by `?1`.
const DELETE_ROLLUP_ERRORS: &str = "DELETE FROM rollup_errors \
     WHERE (tier, bucket_ns, key_id, error_type, pattern) IN \
     (SELECT tier, bucket_ns, key_id, error_type, pattern FROM rollup_errors \
      WHERE bucket_ns + tier * 1000000000 <= ?1 LIMIT ?2)";

/// Rows deleted per transaction: small enough that a chunk holds the write lock for
/// milliseconds, so the pipeline's writes interleave with a long purge.
const CHUNK: i64 = 2_000;

impl SqliteStore {
    /// Deletes the spans (by start time), events or scores (by time) older than `cutoff_unix_nano`,
    /// or the metrics (rollup rows, received metric points) whose bucket ended by then, and
    /// returns how many were deleted.
    ///
    /// Works in chunks of a few thousand rows, each in its own short transaction, releasing
    /// the write lock between chunks. Deleting spans keeps trace summaries right: a trace
    /// left without spans disappears from the list, a trace that lost some is recomputed from
    /// the rest (and keeps its place in the list). The metrics of deleted spans stay: they
    /// have their own retention ([`RecordKind::Metrics`]).
    pub fn delete_before(
        &self,
        kind: RecordKind,
        cutoff_unix_nano: u64,
    ) -> Result<usize, RetentionError> {
        let cutoff = bound(cutoff_unix_nano);
        let mut deleted = 0usize;
        loop {
            if self.is_shut_down() {
                return Err(RetentionError::ShutDown);
            }
            let (n, full) = match kind {
                RecordKind::Spans => full(self.delete_span_chunk(cutoff)?),
                RecordKind::Events => full(self.delete_chunk(DELETE_EVENTS, cutoff)?),
                RecordKind::Scores => full(self.delete_score_chunk(cutoff)?),
                RecordKind::Metrics => self.delete_metric_chunk(cutoff)?,
            };
            deleted += n;
            if !full {
                return Ok(deleted);
            }
            // Let a waiting writer in before the next chunk.
            std::thread::yield_now();
        }
    }

    fn delete_span_chunk(&self, cutoff: i64) -> Result<usize, RetentionError> {
        self.writer().transaction(|tx, _| {
            let mut traces = HashSet::new();
            let mut deleted = 0;
            {
                let mut stmt = tx.prepare_cached(DELETE_SPANS).db()?;
                let mut rows = stmt.query([cutoff, CHUNK]).db()?;
                while let Some(row) = rows.next().db()? {
                    traces.insert(row.get::<_, i64>(0).db()?);
                    deleted += 1;
                }
            }
            // Within the purge's range, which is recorded whole.
            for trace_no in traces {
                trace_summaries::recompute(tx, trace_no, &mut Touched::default())?;
            }
            if deleted > 0 {
                past::purged(tx, cutoff)?;
            }
            Ok(deleted)
        })
    }

    /// Deletes a chunk of each of rollup rows, rollup error rows and metric points, and the
    /// series left without points once none is left: the rows and points deleted, and
    /// whether any chunk was full (more may be left).
    fn delete_metric_chunk(&self, cutoff: i64) -> Result<(usize, bool), RetentionError> {
        self.writer().transaction(|tx, _| {
            let mut deleted = 0;
            let mut more = false;
            for sql in [DELETE_ROLLUPS, DELETE_ROLLUP_ERRORS, DELETE_METRIC_POINTS] {
                let n = tx.prepare_cached(sql).db()?.execute([cutoff, CHUNK]).db()?;
                if sql != DELETE_ROLLUP_ERRORS {
                    deleted += n;
                }
                more |= full(n).1;
            }
            if !more {
                tx.prepare_cached(DELETE_EMPTY_SERIES)
                    .db()?
                    .execute([])
                    .db()?;
            }
            Ok((deleted, more))
        })
    }

    /// Deletes a chunk of scores, recording the purge as a change of the past.
    fn delete_score_chunk(&self, cutoff: i64) -> Result<usize, RetentionError> {
        self.writer().transaction(|tx, _| {
            let n = tx
                .prepare_cached(DELETE_SCORES)
                .db()?
                .execute([cutoff, CHUNK])
                .db()?;
            if n > 0 {
                past::purged(tx, cutoff)?;
            }
            Ok(n)
        })
    }

    /// Runs one of the chunked deletes of a single table (`?1` the cutoff, `?2` the chunk).
    fn delete_chunk(&self, sql: &str, cutoff: i64) -> Result<usize, RetentionError> {
        let writer = self.writer();
        let n = writer
            .conn()
            .prepare_cached(sql)
            .db()?
            .execute([cutoff, CHUNK])
            .db()?;
        Ok(n)
    }
}

/// A chunk's count, and whether it was full (more may be left).
fn full(n: usize) -> (usize, bool) {
    (n, i64::try_from(n).unwrap_or(i64::MAX) >= CHUNK)
}
