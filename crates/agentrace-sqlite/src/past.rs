//! Changes of the past (`Repairs::past_changes`): a write transaction that changes data
//! older than [`PAST`] records the range it changed, one row in `past_changes`, whose
//! `seq` (never reused) is the cursor. The writers note what they change as they go
//! ([`Touched`]): a span write the whole time of each trace it adds to, a repricing or a repair
//! that of each trace it recomputes, a score its time (and the time it replaces), a purge
//! everything before its cutoff. Rows are kept a day.

use agentrace_store::{PAST, PastChanges, QueryError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{self, to_sql};
use crate::error::{Db, DbError};

/// How long a recorded change is kept: far longer than a reader waits between reads.
const KEPT_NS: u64 = 86_400 * 1_000_000_000;

/// The range of the data one transaction changed, noted as it goes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Touched(Option<(i64, i64)>);

impl Touched {
    /// Notes that data from `from` to `to` (ns, as stored) changed.
    pub(crate) fn note(&mut self, from: i64, to: i64) {
        self.0 = Some(match self.0 {
            Some((f, t)) => (f.min(from), t.max(to)),
            None => (from.min(to), to.max(from)),
        });
    }

    /// Records what was noted in the transaction of `conn` if it reaches more than [`PAST`]
    /// before `now`, and forgets the rows older than a day.
    pub(crate) fn record(self, conn: &Connection, now: u64) -> Result<(), DbError> {
        let Some((from, to)) = self.0 else {
            return Ok(());
        };
        let past = u64::try_from(PAST.as_nanos()).unwrap_or(u64::MAX);
        if from >= to_sql(now.saturating_sub(past)) {
            return Ok(());
        }
        conn.prepare_cached("INSERT INTO past_changes (at_ns, from_ns, to_ns) VALUES (?1, ?2, ?3)")
            .db()?
            .execute(params![to_sql(now), from, to])
            .db()?;
        // Every 64th row written forgets up to 512 of the oldest rows older than a day, read
        // from the start of the key: what is kept stays about a day's.
        if conn.last_insert_rowid() % 64 == 0 {
            conn.prepare_cached(
                "DELETE FROM past_changes WHERE seq IN (SELECT seq FROM past_changes \
                 ORDER BY seq LIMIT 512) AND at_ns < ?1",
            )
            .db()?
            .execute([to_sql(now.saturating_sub(KEPT_NS))])
            .db()?;
        }
        Ok(())
    }
}

/// Records that a purge changed everything before `cutoff` (ns, as stored).
pub(crate) fn purged(conn: &Connection, cutoff: i64) -> Result<(), DbError> {
    let mut touched = Touched::default();
    touched.note(0, cutoff);
    touched.record(conn, agentrace_core::now_unix_nano())
}

/// The changes recorded after `cursor`.
pub(crate) fn since(conn: &Connection, cursor: u64) -> Result<PastChanges, QueryError> {
    let row = conn
        .prepare_cached(
            "SELECT max(seq), min(from_ns), max(to_ns) FROM past_changes WHERE seq > ?1",
        )
        .db()?
        .query_row([to_sql(cursor)], |row| {
            Ok((
                row.get::<_, Option<i64>>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        })
        .optional()
        .db()?;
    Ok(match row {
        Some((Some(seq), Some(from), Some(to))) => PastChanges::new(
            codec::from_sql(seq),
            Some((codec::from_sql(from), codec::from_sql(to))),
        ),
        _ => PastChanges::new(cursor, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_NS: u64 = 3_600 * 1_000_000_000;

    fn table() -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE past_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             at_ns INTEGER NOT NULL, from_ns INTEGER NOT NULL, to_ns INTEGER NOT NULL);",
        )?;
        Ok(conn)
    }

    fn rows(conn: &Connection) -> Result<i64, rusqlite::Error> {
        conn.query_row("SELECT count(*) FROM past_changes", [], |r| r.get(0))
    }

    /// Only what reaches before `PAST` is recorded; a reader gets the range after its cursor.
    #[test]
    fn writes_reaching_into_the_past_are_recorded_and_read_after_a_cursor()
    -> Result<(), Box<dyn std::error::Error>> {
        let conn = table()?;
        let now = 1_800_000_000 * 1_000_000_000;
        let mut recent = Touched::default();
        recent.note(to_sql(now - HOUR_NS / 4), to_sql(now));
        recent.record(&conn, now)?;
        assert_eq!(since(&conn, 0)?, PastChanges::new(0, None));
        let mut old = Touched::default();
        old.note(to_sql(now - 3 * HOUR_NS), to_sql(now - 2 * HOUR_NS));
        old.note(to_sql(now - 5 * HOUR_NS), to_sql(now - 4 * HOUR_NS));
        old.record(&conn, now)?;
        let read = since(&conn, 0)?;
        assert_eq!(read.range, Some((now - 5 * HOUR_NS, now - 2 * HOUR_NS)));
        assert_eq!(
            since(&conn, read.cursor)?,
            PastChanges::new(read.cursor, None)
        );
        Ok(())
    }

    /// Rows older than a day are forgotten as more are written.
    #[test]
    fn rows_older_than_a_day_are_forgotten() -> Result<(), Box<dyn std::error::Error>> {
        let conn = table()?;
        let now = 1_800_000_000 * 1_000_000_000;
        let write = |at: u64| {
            let mut t = Touched::default();
            t.note(0, 1);
            t.record(&conn, at)
        };
        for _ in 0..100 {
            write(now - 2 * KEPT_NS)?;
        }
        for _ in 0..100 {
            write(now)?;
        }
        assert_eq!(
            rows(&conn)?,
            100,
            "the day-old rows gone, the new ones kept"
        );
        Ok(())
    }
}
