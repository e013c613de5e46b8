//! Sessions and end users: the trace summaries grouped by the trace's session or user (its
//! head span's, else the first seen among its spans).
//!
//! A range is read from `trace_rollups` (see `crate::trace_rollups`) where it covers whole
//! buckets: its whole hours from the hour tier, the minutes around them from the minute tier,
//! so that a list reads a few rows per session and bucket whatever the number of traces. The
//! trace rows are read only where the rollups cannot answer exactly: a part-minute at an end
//! of the range that holds traces outside it (a range ending now holds none past its end, so
//! its last minute comes from the rollups), and a bucket whose row is `stale`. One read
//! transaction sees rollups and trace rows in the same state.

use agentrace_core::{TokenUsage, Usd};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Params, Row, params, params_from_iter};

use super::filter::Where;
use super::rollups::{plan, sql_bounds};
use crate::codec::{self, bound, from_sql};
use crate::deferred_index::TRACES_OF_SESSION;
use crate::error::Db;
use crate::span_rollups::{MINUTE_NS, ceil, floor};
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::{People, SessionSort, SessionSummary, TimeRange, TraceFigures, UserSummary};

/// A trace row's figures, in the order [`figures`] reads.
const TRACE_FIGURES: &str = "t.session_id, t.user_id, 1, t.span_count, t.error_count, \
     t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens, \
     t.reasoning_tokens, coalesce(t.cost_total, 0), t.cost_total IS NOT NULL, \
     t.unpriced_count, t.start_ns, t.end_ns";

/// The rollup rows of one tier's buckets `?2..=?3` (`?1`: the tier) that are not stale.
const ROLLUP_ROWS: &str = "SELECT session_id, user_id, traces, spans, errors, input_tokens, \
     output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_total, \
     costed, unpriced, first_ns, last_ns FROM trace_rollups \
     WHERE tier = ?1 AND bucket_ns >= ?2 AND bucket_ns <= ?3 AND bucket_ns NOT IN \
     (SELECT bucket_ns FROM trace_rollups \
      WHERE tier = ?1 AND bucket_ns >= ?2 AND bucket_ns <= ?3 AND stale = 1)";

/// The buckets of `ROLLUP_ROWS`' range holding a stale row.
const STALE_BUCKETS: &str = "SELECT DISTINCT bucket_ns FROM trace_rollups \
     WHERE tier = ?1 AND bucket_ns >= ?2 AND bucket_ns <= ?3 AND stale = 1";

/// The figures of a trace row ([`TRACE_FIGURES`]) or a rollup row ([`ROLLUP_ROWS`]); a
/// missing session or user is NULL in the one, an empty blob in the other.
fn figures<'r>(row: &'r Row<'_>) -> Result<TraceFigures<'r>, QueryError> {
    let id = |i| match row.get_ref(i).db()? {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Some)
            .map_err(|e| QueryError::decode("a session or user id", e)),
        _ => Ok(None),
    };
    Ok(TraceFigures {
        session: id(0)?,
        user: id(1)?,
        traces: codec::count(row, 2)?,
        spans: codec::count(row, 3)?,
        errors: codec::count(row, 4)?,
        usage: TokenUsage {
            input_tokens: codec::count(row, 5)?,
            output_tokens: codec::count(row, 6)?,
            cache_read_tokens: codec::count(row, 7)?,
            cache_write_tokens: codec::count(row, 8)?,
            // Summaries count cache writes; their one-hour share is kept per span.
            cache_write_1h_tokens: 0,
            reasoning_tokens: codec::total_reasoning(codec::count(row, 9)?),
        },
        cost: match codec::count(row, 11)? {
            0 => None,
            _ => Some(Usd::from_nanos(codec::int(row, 10)?)),
        },
        unpriced: codec::count(row, 12)?,
        start_unix_nano: from_sql(codec::int(row, 13)?),
        end_unix_nano: from_sql(codec::int(row, 14)?),
    })
}

/// Adds every row `sql` answers to `people`.
fn add_rows(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    people: &mut People,
) -> Result<(), QueryError> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let mut rows = stmt.query(params).db()?;
    while let Some(row) = rows.next().db()? {
        people.add(figures(row)?);
    }
    Ok(())
}

/// Adds the traces `w` selects, read from their rows.
fn add_traces(conn: &Connection, w: &Where, people: &mut People) -> Result<(), QueryError> {
    let sql = format!("SELECT {TRACE_FIGURES} FROM traces AS t WHERE {}", w.sql());
    add_rows(conn, &sql, params_from_iter(&w.params), people)
}

/// The traces starting in `range`.
fn starting_in(range: TimeRange) -> Where {
    let mut w = Where::default();
    w.range("t.start_ns", &range);
    w
}

/// Whether some trace starts in `[from, to)`.
fn starts_between(conn: &Connection, from: u64, to: u64) -> Result<bool, QueryError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM traces WHERE start_ns >= ?1 AND start_ns < ?2)",
        )
        .db()?
        .query_row(params![bound(from), bound(to)], |r| r.get(0))
        .db()?)
}

/// How a range is read: the whole minutes the rollups answer, and the rest from trace rows.
#[derive(Debug, Default)]
struct Split {
    rollups: Option<TimeRange>,
    traces: Vec<TimeRange>,
}

/// Splits `range`: a part-minute at either end is answered by its minute's rollups when no
/// trace of that minute lies outside the range, else from the trace rows.
fn split(conn: &Connection, range: TimeRange) -> Result<Split, QueryError> {
    let (from, to) = (range.start_unix_nano, range.end_unix_nano);
    // Where the rollups' part ends at `t`, the range's start or end: `t` itself on a minute;
    // else its minute taken whole when no trace of the minute starts on the far side of `t`,
    // or left out.
    let edge = |t: Option<u64>, is_start: bool| -> Result<Option<u64>, QueryError> {
        let Some(t) = t.filter(|t| !t.is_multiple_of(MINUTE_NS)) else {
            return Ok(t);
        };
        let (down, up) = (floor(t, MINUTE_NS), ceil(t, MINUTE_NS));
        let (outside, whole, without) = match is_start {
            true => ((down, t), down, up),
            false => ((t, up), up, down),
        };
        Ok(Some(match starts_between(conn, outside.0, outside.1)? {
            true => without,
            false => whole,
        }))
    };
    let (lo, hi) = (edge(from, true)?, edge(to, false)?);
    if let (Some(lo), Some(hi)) = (lo, hi)
        && lo >= hi
    {
        return Ok(Split {
            rollups: None,
            traces: vec![range],
        });
    }
    let mut traces = Vec::new();
    if let (Some(f), Some(lo)) = (from, lo)
        && f < lo
    {
        traces.push(TimeRange::new(f, lo));
    }
    if let (Some(t), Some(hi)) = (to, hi)
        && hi < t
    {
        traces.push(TimeRange::new(hi, t));
    }
    Ok(Split {
        rollups: Some(TimeRange {
            start_unix_nano: lo,
            end_unix_nano: hi,
        }),
        traces,
    })
}

/// `a` ∩ `b` (open bounds are unbounded).
fn intersect(a: TimeRange, b: TimeRange) -> TimeRange {
    let later = |x: Option<u64>, y: Option<u64>| x.max(y);
    let earlier = |x: Option<u64>, y: Option<u64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    };
    TimeRange {
        start_unix_nano: later(a.start_unix_nano, b.start_unix_nano),
        end_unix_nano: earlier(a.end_unix_nano, b.end_unix_nano),
    }
}

/// Sums the traces starting in `range` by session or user ([`People`]).
fn group_range(
    store: &SqliteStore,
    range: TimeRange,
    mut people: People,
) -> Result<People, QueryError> {
    store.snapshot(|conn| {
        let split = split(conn, range)?;
        for part in &split.traces {
            add_traces(conn, &starting_in(*part), &mut people)?;
        }
        for part in split.rollups.map(|r| plan(r, true)).unwrap_or_default() {
            let (lo, hi) = sql_bounds(&part);
            let tier = part.tier.to_sql();
            let stale: Vec<i64> = conn
                .prepare_cached(STALE_BUCKETS)
                .db()?
                .query_map(params![tier, lo, hi], |r| r.get(0))
                .db()?
                .collect::<Result<_, _>>()
                .db()?;
            for bucket in stale {
                let start = from_sql(bucket);
                let width = part.tier.width_ns();
                let bucket = TimeRange::new(start, start.saturating_add(width));
                add_traces(conn, &starting_in(intersect(bucket, range)), &mut people)?;
            }
            add_rows(conn, ROLLUP_ROWS, params![tier, lo, hi], &mut people)?;
        }
        Ok(people)
    })
}

/// [`sessions`](Self::sessions) in another order: most recently active, or costliest,
/// first. The sums are over the session's traces starting in the range.
pub(super) fn sessions_by(
    store: &SqliteStore,
    range: TimeRange,
    sort: SessionSort,
    limit: usize,
) -> Result<Vec<SessionSummary>, QueryError> {
    Ok(group_range(store, range, People::by_session())?.sessions(sort, limit))
}

/// One session's activity (all of its traces); `None` when no trace names it.
pub(super) fn session(
    store: &SqliteStore,
    session_id: &str,
) -> Result<Option<SessionSummary>, QueryError> {
    let mut w = Where::default();
    let id = Value::Text(session_id.to_owned());
    w.push(TRACES_OF_SESSION, [id.clone(), id]);
    let mut people = People::by_session();
    store.read(|conn| add_traces(conn, &w, &mut people))?;
    Ok(people.sessions(SessionSort::Recent, 1).pop())
}

/// End users with traces starting in `range` (a trace belongs to its head span's user),
/// most recently active or costliest first, with the sums of those traces.
pub(super) fn users(
    store: &SqliteStore,
    range: TimeRange,
    sort: SessionSort,
    limit: usize,
) -> Result<Vec<UserSummary>, QueryError> {
    Ok(group_range(store, range, People::by_user())?.users(sort, limit))
}
