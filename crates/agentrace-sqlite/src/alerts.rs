//! The history of alerts: every notification an alert engine sent, kept beside the spans it
//! was computed from (table `alert_notifications`, docs/sql-schema.md).
//!
//! The store does not interpret a notification: it keeps its identity (alert, rule, states,
//! reason, time) in columns to query by and the whole notification as JSON, as the engine
//! wrote it. The newest [`MAX_ALERT_RECORDS`] are kept.

use agentrace_store::AlertHistory;
use agentrace_store::AlertRecord;
use rusqlite::{Row, params};

use crate::codec::{from_sql, to_sql};
use crate::error::Db;
use crate::store::SqliteStore;
use agentrace_store::{QueryError, WriteError};

/// Notifications kept at most; older ones are deleted as new ones arrive.
pub const MAX_ALERT_RECORDS: u64 = 100_000;

/// A row of `alert_notifications` (its columns in [`COLUMNS`]' order).
fn read_record(row: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    Ok(AlertRecord::new(
        from_sql(row.get(0)?),
        row.get::<_, String>(1)?,
        row.get::<_, String>(2)?,
        row.get::<_, String>(3)?,
        row.get::<_, String>(4)?,
        row.get::<_, String>(5)?,
        row.get::<_, String>(6)?,
    ))
}

const COLUMNS: &str = "time_ns, alert, rule, state, previous, reason, body";

impl AlertHistory for SqliteStore {
    /// Stores notifications in one transaction.
    fn insert_alert_records(&self, records: &[AlertRecord]) -> Result<(), WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        if records.is_empty() {
            return Ok(());
        }
        let writer = self.writer();
        let tx = writer.conn().unchecked_transaction().db()?;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO alert_notifications ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ))
                .db()?;
            for r in records {
                insert
                    .execute(params![
                        to_sql(r.time_unix_nano),
                        r.alert,
                        r.rule,
                        r.state,
                        r.previous,
                        r.reason,
                        r.body
                    ])
                    .db()?;
            }
        }
        tx.execute(
            "DELETE FROM alert_notifications WHERE id <= \
             (SELECT max(id) FROM alert_notifications) - ?",
            [to_sql(MAX_ALERT_RECORDS)],
        )
        .db()?;
        tx.commit().db()?;
        Ok(())
    }

    /// Stored notifications, newest first: at most `limit`, before `before` (ns, exclusive)
    /// if given, of one alert if given.
    fn alert_records(
        &self,
        alert: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, QueryError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alert_notifications \
                     WHERE (?1 IS NULL OR alert = ?1) AND time_ns < ?2 \
                     ORDER BY time_ns DESC, id DESC LIMIT ?3"
                ))
                .db()?;
            let rows = stmt
                .query_map(
                    params![
                        alert,
                        before.map_or(i64::MAX, to_sql),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    read_record,
                )
                .db()?;
            Ok(rows.collect::<Result<Vec<_>, _>>().db()?)
        })
    }

    /// Each alert's newest notification (by evaluation time, then by arrival): the states to
    /// resume from after a restart.
    fn latest_alert_records(&self) -> Result<Vec<AlertRecord>, QueryError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM (SELECT *, row_number() OVER \
                     (PARTITION BY alert ORDER BY time_ns DESC, id DESC) AS newest \
                     FROM alert_notifications) WHERE newest = 1 ORDER BY alert"
                ))
                .db()?;
            let rows = stmt.query_map([], read_record).db()?;
            Ok(rows.collect::<Result<Vec<_>, _>>().db()?)
        })
    }
}
