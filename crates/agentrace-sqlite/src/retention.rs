//! Retention: deleting records older than a cutoff, in short transactions, and what size-based
//! retention measures: pages in use per data type, record counts, the n-th oldest record.

use std::collections::HashSet;

use rusqlite::OptionalExtension;

use crate::codec::{bound, count, from_sql};
use crate::content;
use crate::error::Db;
use crate::past::{self, Touched};
use crate::store::SqliteStore;
use crate::trace_summaries;
use crate::words;
use agentrace_store::RetentionError;
use agentrace_store::{QueryError, RecordKind, Retention};

/// Deletes a chunk of old spans, returning their traces.
const DELETE_SPANS: &str = "DELETE FROM spans WHERE rowid IN \
     (SELECT rowid FROM spans WHERE start_ns < ?1 LIMIT ?2) RETURNING trace_no, rowid";

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
    fn delete_span_chunk(&self, cutoff: i64) -> Result<usize, RetentionError> {
        self.writer().transaction(|tx, _| {
            let mut traces = HashSet::new();
            let mut removed = Vec::new();
            {
                let mut stmt = tx.prepare_cached(DELETE_SPANS).db()?;
                let mut rows = stmt.query([cutoff, CHUNK]).db()?;
                while let Some(row) = rows.next().db()? {
                    traces.insert(row.get::<_, i64>(0).db()?);
                    removed.push(row.get::<_, i64>(1).db()?);
                }
            }
            // Once the chunk is deleted: an entry is forgotten when none of its spans is left.
            words::forget_spans(tx, &removed)?;
            let deleted = removed.len();
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

/// The tables holding a data type (their indexes count too): spans come with their trace
/// summaries and the rollups of those, their content kept apart and their search indexes (the
/// FTS5 tables' shadow tables), which retention shrinks with them.
fn tables(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Spans => &[
            "spans",
            "traces",
            "trace_rollups",
            "content_nodes",
            "content_pieces",
            "content_refs",
            "frequent_lines",
            "span_word_groups",
            "span_words_data",
            "span_words_idx",
            "span_words_docsize",
            "span_words_config",
            "piece_words_data",
            "piece_words_idx",
            "piece_words_docsize",
            "piece_words_config",
        ],
        RecordKind::Events => &["events"],
        RecordKind::Metrics => &[
            "rollups",
            "rollup_errors",
            "rollup_keys",
            "metric_points",
            "metric_series",
        ],
        RecordKind::Scores => &["scores"],
    }
}

impl Retention for SqliteStore {
    /// Deletes the spans (by start time), events or scores (by time) older than `cutoff_unix_nano`,
    /// or the metrics (rollup rows, received metric points) whose bucket ended by then, and
    /// returns how many were deleted.
    ///
    /// Works in chunks of a few thousand rows, each in its own short transaction, releasing
    /// the write lock between chunks. Deleting spans keeps trace summaries right: a trace
    /// left without spans disappears from the list, a trace that lost some is recomputed from
    /// the rest (and keeps its place in the list). The metrics of deleted spans stay: they
    /// have their own retention ([`RecordKind::Metrics`]). Content kept apart that no span
    /// left reaches is deleted after the spans, in one transaction that reads every span's
    /// `content` column.
    fn delete_before(
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
                if kind == RecordKind::Spans && deleted > 0 {
                    // The content only deleted spans reached goes with them.
                    self.writer()
                        .transaction(|tx, _| content::collect_garbage(tx))?;
                }
                return Ok(deleted);
            }
            // Let a waiting writer in before the next chunk.
            std::thread::yield_now();
        }
    }

    /// Bytes of the pages in use: by one data type's tables and their indexes, or (`None`) by
    /// the whole store (pages in use, without the free list: deleting records makes this
    /// smaller even though the file keeps its size).
    ///
    /// Measuring one data type reads every page of its tables (SQLite's `dbstat`), which takes
    /// a while on a large store; measuring the whole store is instant, and an upper bound of
    /// every data type's size.
    fn stored_bytes(&self, kind: Option<RecordKind>) -> Result<u64, QueryError> {
        self.read(|conn| match kind {
            None => {
                let pages: i64 = conn
                    .query_row(
                        "SELECT p.page_count - f.freelist_count \
                         FROM pragma_page_count() AS p, pragma_freelist_count() AS f",
                        [],
                        |r| r.get(0),
                    )
                    .db()?;
                let size: i64 = conn
                    .pragma_query_value(None, "page_size", |r| r.get(0))
                    .db()?;
                Ok(u64::try_from(pages.saturating_mul(size)).unwrap_or(0))
            }
            Some(kind) => {
                let names = tables(kind)
                    .iter()
                    .map(|t| format!("'{t}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT TOTAL(pgsize) FROM dbstat('main', 1) WHERE name IN \
                     (SELECT name FROM sqlite_schema WHERE tbl_name IN ({names}))"
                );
                conn.query_row(&sql, [], |r| Ok(count(r, 0))).db()?
            }
        })
    }

    /// How many records of a data type are stored.
    fn count(&self, kind: RecordKind) -> Result<u64, QueryError> {
        let sql = match kind {
            RecordKind::Spans => "SELECT count(*) FROM spans",
            RecordKind::Events => "SELECT count(*) FROM events",
            RecordKind::Scores => "SELECT count(*) FROM scores",
            RecordKind::Metrics => {
                "SELECT (SELECT count(*) FROM rollups) + (SELECT count(*) FROM metric_points)"
            }
        };
        self.read(|conn| conn.query_row(sql, [], |r| Ok(count(r, 0))).db()?)
    }

    /// The time of the `n`-th oldest record (0: the oldest), spans by start time, events by
    /// time, scores by time, metrics (rollup and metric point rows) by the end of their bucket; `None` when fewer are stored.
    /// `delete_before(kind, t + 1)` then deletes at least `n + 1` records.
    fn nth_oldest(&self, kind: RecordKind, n: u64) -> Result<Option<u64>, QueryError> {
        let sql = match kind {
            RecordKind::Spans => "SELECT start_ns FROM spans ORDER BY start_ns LIMIT 1 OFFSET ?1",
            RecordKind::Events => "SELECT time_ns FROM events ORDER BY time_ns LIMIT 1 OFFSET ?1",
            RecordKind::Scores => "SELECT time_ns FROM scores ORDER BY time_ns LIMIT 1 OFFSET ?1",
            RecordKind::Metrics => {
                "SELECT end_ns FROM (SELECT bucket_ns + tier * 1000000000 AS end_ns FROM rollups \
                 UNION ALL SELECT bucket_ns + 60000000000 FROM metric_points) \
                 ORDER BY end_ns LIMIT 1 OFFSET ?1"
            }
        };
        let offset = i64::try_from(n).unwrap_or(i64::MAX);
        self.read(|conn| {
            Ok(conn
                .query_row(sql, [offset], |r| r.get::<_, i64>(0))
                .optional()
                .db()?
                .map(from_sql))
        })
    }
}

/// A chunk's count, and whether it was full (more may be left).
fn full(n: usize) -> (usize, bool) {
    (n, i64::try_from(n).unwrap_or(i64::MAX) >= CHUNK)
}

#[cfg(test)]
mod tests {
    use agentrace_store::RecordWriter;
    use std::sync::Arc;

    use agentrace_core::{Resource, SpanId, SpanRecord, TraceId};

    use super::*;

    #[test]
    fn sizes_counts_and_ranks() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(dir.path().join("a.db"))?;
        let resource = Arc::new(Resource::new("svc"));
        let spans: Vec<SpanRecord> = (0..500u64)
            .map(|i| {
                let mut s = SpanRecord::new(
                    TraceId::random(),
                    SpanId::random(),
                    "x".repeat(200),
                    1_000 + i,
                    2_000 + i,
                    resource.clone(),
                );
                s.agent_name = Some("agent".into());
                s
            })
            .collect();
        let empty = store.stored_bytes(Some(RecordKind::Spans))?;
        store.write_spans(&spans)?;
        let full = store.stored_bytes(Some(RecordKind::Spans))?;
        assert!(full > empty + 100_000, "{empty} → {full}");
        assert!(store.stored_bytes(None)? >= full);
        assert_eq!(store.count(RecordKind::Spans)?, 500);
        assert_eq!(store.count(RecordKind::Events)?, 0);
        assert_eq!(store.nth_oldest(RecordKind::Spans, 0)?, Some(1_000));
        assert_eq!(store.nth_oldest(RecordKind::Spans, 99)?, Some(1_099));
        assert_eq!(store.nth_oldest(RecordKind::Spans, 500)?, None);
        assert_eq!(store.delete_before(RecordKind::Spans, 1_100)?, 100);
        assert!(store.stored_bytes(Some(RecordKind::Spans))? < full);
        Ok(())
    }
}
