//! Retention: by age through ClickHouse's own TTL on each data type's tables
//! ([`expire_after`](ClickHouseStore::expire_after)), by size through lightweight deletes of
//! the oldest rows ([`delete_before`](ClickHouseStore::delete_before)), and the measures size
//! retention works from.
//!
//! Deletes and measures are a project's (`project = …`, which leads every table's key, so a
//! delete reads only the project's granules); a TTL is a table's, so the age retention is the
//! deployment's, the same for every project (the server sets it with the same rules for all).
//! A project's bytes are its share of each table's, by rows: a table's parts hold every
//! project's rows, so no count of bytes is a project's alone.
//!
//! A TTL is applied by ClickHouse itself: rows already expired are dropped as they are inserted,
//! the rest by merges in the background (at the latest `merge_with_ttl_timeout`, 4 h by default,
//! after they expire), whole parts at once when all their rows have expired. No node deletes
//! by age, so a fleet does not repeat the work, and nothing runs while no node does.

use std::time::Duration;

use agentrace_store::{QueryError, RecordKind, RetentionError};

use crate::error;
use crate::schema::Layout;
use crate::sql;
use crate::store::ClickHouseStore;

/// A table of a data type, with the time its rows count from for retention (a metric row's is
/// the end of its minute, `after` seconds past its column).
struct Expiring {
    table: &'static str,
    column: &'static str,
    after: u64,
}

/// The tables of a trace's rows (its head, its list times), deleted by size with the trace's
/// last span.
const TRACE_TABLES: [&str; 2] = ["trace_heads", "trace_list"];

/// The table of the traces' summaries, deleted by size with a trace's earliest span (as the
/// TTL of `start` drops it by age): before the spans, of the traces that have one to delete.
const SUMMARIES: &str = "trace_summaries";

/// The tables holding a data type, each with its time.
fn expiring(kind: RecordKind) -> &'static [Expiring] {
    const SPANS: &[Expiring] = &[
        Expiring {
            table: "spans",
            column: "start",
            after: 0,
        },
        // A trace leaves the list with its earliest span.
        Expiring {
            table: "trace_heads",
            column: "start",
            after: 0,
        },
        // A trace's candidate list times no earlier than its start (they are checked against
        // its head: one left over is passed over).
        Expiring {
            table: "trace_list",
            column: "list_time",
            after: 0,
        },
        // A failure with its span.
        Expiring {
            table: "failed_tool_calls",
            column: "minute",
            after: 0,
        },
        // A trace's summary with its earliest span.
        Expiring {
            table: SUMMARIES,
            column: "start",
            after: 0,
        },
    ];
    const EVENTS: &[Expiring] = &[Expiring {
        table: "events",
        column: "time",
        after: 0,
    }];
    const METRICS: &[Expiring] = &[
        Expiring {
            table: "metric_points",
            column: "bucket",
            after: 60,
        },
        Expiring {
            table: "span_rollups",
            column: "minute",
            after: 60,
        },
    ];
    const SCORES: &[Expiring] = &[Expiring {
        table: "scores",
        column: "time",
        after: 0,
    }];
    match kind {
        RecordKind::Spans => SPANS,
        RecordKind::Events => EVENTS,
        RecordKind::Metrics => METRICS,
        RecordKind::Scores => SCORES,
    }
}

/// The tables holding a data type (`None`: every table of the store) on each server, as a SQL
/// list.
pub(crate) fn tables(kind: Option<RecordKind>, layout: &Layout) -> String {
    table_names(kind)
        .iter()
        .map(|n| format!("'{}'", layout.local(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tables holding a data type (`None`: every table of the store).
fn table_names(kind: Option<RecordKind>) -> Vec<&'static str> {
    let kinds = match kind {
        Some(s) => vec![s],
        None => vec![
            RecordKind::Spans,
            RecordKind::Events,
            RecordKind::Metrics,
            RecordKind::Scores,
        ],
    };
    let mut names: Vec<&str> = kinds
        .into_iter()
        .flat_map(|s| expiring(s).iter().map(|e| e.table))
        .collect();
    if kind.is_none() {
        names.push("alert_notifications");
    }
    names
}

/// How a data type's rows are read: with `FINAL` or not (replaced versions are not rows),
/// and the condition of a live row (a deleted score's newest version is not one).
fn rows_of(kind: RecordKind) -> (&'static str, &'static str) {
    match kind {
        RecordKind::Metrics => ("", "1"),
        RecordKind::Scores => ("FINAL", "deleted = 0"),
        RecordKind::Spans | RecordKind::Events => ("FINAL", "1"),
    }
}

/// The TTL clause of a table keeping its rows `seconds`, as ClickHouse shows it back in
/// `system.tables.engine_full`.
fn ttl_clause(e: &Expiring, seconds: u64) -> String {
    format!(
        "TTL toDateTime({}) + toIntervalSecond({})",
        e.column,
        seconds.saturating_add(e.after)
    )
}

impl ClickHouseStore {
    /// Sets (or with `None` removes) the TTL of `kind`'s tables so that ClickHouse drops rows
    /// older than `max_age`; a table whose TTL is already that is left alone (a changed TTL
    /// rewrites the table's parts once, in the background).
    pub(crate) async fn expire_after(
        &self,
        kind: RecordKind,
        max_age: Option<Duration>,
    ) -> Result<bool, RetentionError> {
        for e in expiring(kind) {
            let engine: String = self
                .client()
                .query(
                    "SELECT engine_full FROM system.tables \
                     WHERE database = currentDatabase() AND name = ?",
                )
                .bind(self.layout().local(e.table))
                .fetch_one()
                .await
                .map_err(error::retention)?;
            let change = match max_age {
                Some(age) => {
                    let clause = ttl_clause(e, age.as_secs().max(1));
                    (!engine.contains(&clause)).then(|| format!("MODIFY {clause}"))
                }
                None => engine.contains(" TTL ").then(|| "REMOVE TTL".to_owned()),
            };
            if let Some(change) = change {
                self.client()
                    .query(&format!(
                        "ALTER TABLE {} {change}",
                        self.layout().target(e.table)
                    ))
                    .execute()
                    .await
                    .map_err(error::retention)?;
            }
        }
        Ok(true)
    }

    /// Deletes `kind`'s rows older than `cutoff_unix_nano` (lightweight deletes, applied by
    /// merges); returns how many rows of its main table.
    pub(crate) async fn delete_before(
        &self,
        kind: RecordKind,
        cutoff_unix_nano: u64,
    ) -> Result<usize, RetentionError> {
        if self.shut_down() {
            return Err(RetentionError::ShutDown);
        }
        let cutoff = sql::time(cutoff_unix_nano);
        let mut deleted = 0u64;
        // Trace heads and list times go with their traces' last spans, summaries with their
        // first, not by their own time.
        let by_trace = |e: &Expiring| TRACE_TABLES.contains(&e.table) || e.table == SUMMARIES;
        for (i, e) in expiring(kind)
            .iter()
            .enumerate()
            .filter(|(_, e)| !by_trace(e))
        {
            let condition = format!(
                "{} AND {} + INTERVAL {} SECOND < {cutoff}",
                self.scope(),
                e.column,
                e.after
            );
            let (final_, live) = rows_of(kind);
            let n: u64 = self
                .client()
                .query(&format!(
                    "SELECT count() FROM {} {final_} WHERE {live} AND {condition}",
                    e.table
                ))
                .fetch_one()
                .await
                .map_err(error::retention)?;
            if n == 0 {
                continue;
            }
            if kind == RecordKind::Spans && i == 0 {
                self.client()
                    .query(&format!(
                        "DELETE FROM {} WHERE {scope} AND trace_id IN \
                         (SELECT trace_id FROM spans WHERE {condition})",
                        self.layout().target(SUMMARIES),
                        scope = self.scope()
                    ))
                    .execute()
                    .await
                    .map_err(error::retention)?;
            }
            self.client()
                .query(&format!(
                    "DELETE FROM {} WHERE {condition}",
                    self.layout().target(e.table)
                ))
                .execute()
                .await
                .map_err(error::retention)?;
            if i == 0 {
                deleted = n;
            }
        }
        if kind == RecordKind::Spans && deleted > 0 {
            for table in TRACE_TABLES {
                self.client()
                    .query(&format!(
                        "DELETE FROM {} WHERE {scope} AND trace_id NOT IN \
                         (SELECT trace_id FROM spans WHERE {scope})",
                        self.layout().target(table),
                        scope = self.scope()
                    ))
                    .execute()
                    .await
                    .map_err(error::retention)?;
            }
        }
        if matches!(kind, RecordKind::Spans | RecordKind::Scores) && deleted > 0 {
            self.record_past_change(0, cutoff_unix_nano)
                .await
                .map_err(error::retention)?;
        }
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    /// The bytes of the project's rows of `kind` (`None`: of every kind): of each table, its
    /// bytes on disk times the project's share of its rows.
    pub(crate) async fn stored_bytes(&self, kind: Option<RecordKind>) -> Result<u64, QueryError> {
        let shares: Vec<String> = table_names(kind)
            .iter()
            .map(|table| {
                format!(
                    "SELECT (SELECT sum(bytes_on_disk) FROM {parts} WHERE database = '{database}' \
                     AND active AND table = '{local}') * (SELECT count() FROM {table} \
                     WHERE {scope}) / greatest((SELECT count() FROM {table}), 1) AS share",
                    parts = self.layout().parts(),
                    database = self.database(),
                    local = self.layout().local(table),
                    scope = self.scope(),
                )
            })
            .collect();
        self.client()
            .query(&format!(
                "SELECT toUInt64(coalesce(sum(share), 0)) FROM ({})",
                shares.join(" UNION ALL ")
            ))
            .fetch_one()
            .await
            .map_err(error::query)
    }

    pub(crate) async fn count(&self, kind: RecordKind) -> Result<u64, QueryError> {
        let main = &expiring(kind)[0];
        let (final_, live) = rows_of(kind);
        self.client()
            .query(&format!(
                "SELECT count() FROM {} {final_} WHERE {} AND {live}",
                main.table,
                self.scope()
            ))
            .fetch_one()
            .await
            .map_err(error::query)
    }

    pub(crate) async fn nth_oldest(
        &self,
        kind: RecordKind,
        n: u64,
    ) -> Result<Option<u64>, QueryError> {
        let main = &expiring(kind)[0];
        let (final_, live) = rows_of(kind);
        let t: Option<i64> = self
            .client()
            .query(&format!(
                "SELECT toUnixTimestamp64Nano({} + INTERVAL {} SECOND) AS t FROM {} {final_} \
                 WHERE {} AND {live} ORDER BY t LIMIT 1 OFFSET {n}",
                main.column,
                main.after,
                main.table,
                self.scope(),
            ))
            .fetch_optional()
            .await
            .map_err(error::query)?;
        Ok(t.map(|t| u64::try_from(t).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_type_names_its_tables_and_the_store_all_of_them() {
        let single = &Layout::Single;
        assert_eq!(
            tables(Some(RecordKind::Spans), single),
            "'spans', 'trace_heads', 'trace_list', 'failed_tool_calls', 'trace_summaries'"
        );
        assert_eq!(
            tables(Some(RecordKind::Metrics), single),
            "'metric_points', 'span_rollups'"
        );
        assert_eq!(
            tables(Some(RecordKind::Events), &Layout::Cluster("c".into())),
            "'events_local'"
        );
        assert_eq!(
            tables(None, single),
            "'spans', 'trace_heads', 'trace_list', 'failed_tool_calls', 'trace_summaries', \
             'events', 'metric_points', 'span_rollups', 'scores', 'alert_notifications'"
        );
    }

    #[test]
    fn a_metric_row_expires_a_minute_after_its_bucket_starts() {
        let [points, _] = expiring(RecordKind::Metrics) else {
            panic!("two metric tables")
        };
        assert_eq!(
            ttl_clause(points, 86_400),
            "TTL toDateTime(bucket) + toIntervalSecond(86460)"
        );
    }
}
