//! How much the store holds, for size-based retention: pages in use per data type, record
//! counts, and the time of the n-th oldest record.

use rusqlite::OptionalExtension;

use crate::codec::{count, from_sql};
use crate::error::Db;
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::RecordKind;

/// The tables holding a data type (their indexes count too): spans come with their trace
/// summaries, which retention shrinks with them.
fn tables(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Spans => &["spans", "traces"],
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

impl SqliteStore {
    /// Bytes of the pages in use: by one data type's tables and their indexes, or (`None`) by
    /// the whole store (pages in use, without the free list: deleting records makes this
    /// smaller even though the file keeps its size).
    ///
    /// Measuring one data type reads every page of its tables (SQLite's `dbstat`), which takes
    /// a while on a large store; measuring the whole store is instant, and an upper bound of
    /// every data type's size.
    pub fn stored_bytes(&self, kind: Option<RecordKind>) -> Result<u64, QueryError> {
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
    pub fn count(&self, kind: RecordKind) -> Result<u64, QueryError> {
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
    pub fn nth_oldest(&self, kind: RecordKind, n: u64) -> Result<Option<u64>, QueryError> {
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

#[cfg(test)]
mod tests {
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
        store.insert_spans(&spans)?;
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
