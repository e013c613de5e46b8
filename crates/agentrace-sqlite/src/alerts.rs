//! The history of alerts: every notification an alert engine sent, kept beside the spans it
//! was computed from (table `alert_notifications`, docs/sql-schema.md).
//!
//! The store does not interpret a notification: it keeps its identity (alert, rule, states,
//! reason, time) in columns to query by and the whole notification as JSON, as the engine
//! wrote it. The newest [`MAX_ALERT_RECORDS`] are kept.

use rusqlite::{Row, params};

use crate::codec::{from_sql, to_sql};
use crate::error::{Db, QueryError, WriteError};
use crate::store::SqliteStore;

/// Notifications kept at most; older ones are deleted as new ones arrive.
pub const MAX_ALERT_RECORDS: u64 = 100_000;

/// One stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlertRecord {
    /// When it was evaluated (ns since the epoch).
    pub time_unix_nano: u64,
    /// The alert (a rule, with its per-dimension value).
    pub alert: String,
    /// The rule.
    pub rule: String,
    /// The state it reports.
    pub state: String,
    /// The state before.
    pub previous: String,
    /// Why it was sent (`change`, `reminder`).
    pub reason: String,
    /// The notification, as JSON.
    pub body: String,
}

impl AlertRecord {
    /// A record of a notification.
    pub fn new(
        time_unix_nano: u64,
        alert: impl Into<String>,
        rule: impl Into<String>,
        state: impl Into<String>,
        previous: impl Into<String>,
        reason: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self {
            time_unix_nano,
            alert: alert.into(),
            rule: rule.into(),
            state: state.into(),
            previous: previous.into(),
            reason: reason.into(),
            body: body.into(),
        }
    }

    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            time_unix_nano: from_sql(row.get(0)?),
            alert: row.get(1)?,
            rule: row.get(2)?,
            state: row.get(3)?,
            previous: row.get(4)?,
            reason: row.get(5)?,
            body: row.get(6)?,
        })
    }
}

const COLUMNS: &str = "time_ns, alert, rule, state, previous, reason, body";

impl SqliteStore {
    /// Stores notifications in one transaction.
    pub fn insert_alert_records(&self, records: &[AlertRecord]) -> Result<(), WriteError> {
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
    pub fn alert_records(
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
                    AlertRecord::read,
                )
                .db()?;
            Ok(rows.collect::<Result<Vec<_>, _>>().db()?)
        })
    }

    /// Each alert's newest notification: the states to resume from after a restart.
    pub fn latest_alert_records(&self) -> Result<Vec<AlertRecord>, QueryError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM alert_notifications WHERE id IN \
                     (SELECT max(id) FROM alert_notifications GROUP BY alert) ORDER BY alert"
                ))
                .db()?;
            let rows = stmt.query_map([], AlertRecord::read).db()?;
            Ok(rows.collect::<Result<Vec<_>, _>>().db()?)
        })
    }
}
