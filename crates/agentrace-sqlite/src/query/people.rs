//! Sessions and end users: the trace summaries grouped by the trace's session or user (its
//! head span's, else the first seen among its spans).
//!
//! Read in one pass over the trace rows of the range and summed in memory: a `GROUP BY` sorts
//! every row first (measured over 166,700 traces: ~330 ms against the pass's ~190 ms, most of
//! it SQLite decoding the rows' columns). Sessions and users are not rollup dimensions (a
//! trace's session can still change as its spans arrive), so these lists cost a read of the
//! range's trace rows.

use agentrace_core::TokenUsage;
use rusqlite::params_from_iter;
use rusqlite::types::{Value, ValueRef};

use super::filter::Where;
use crate::codec::{self, from_sql};
use crate::deferred_index::TRACES_OF_SESSION;
use crate::error::Db;
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::{People, SessionSort, SessionSummary, TimeRange, TraceFigures, UserSummary};

/// Sums the traces `w` selects by session or user ([`People`]).
fn group(store: &SqliteStore, w: Where, mut people: People) -> Result<People, QueryError> {
    let sql = format!(
        "SELECT t.session_id, t.user_id, t.span_count, t.error_count, t.input_tokens,
                t.output_tokens, t.cache_read_tokens, t.cache_write_tokens, t.reasoning_tokens,
                t.cost_total, t.unpriced_count, t.start_ns, t.end_ns
         FROM traces AS t WHERE {}",
        w.sql()
    );
    store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        while let Some(row) = rows.next().db()? {
            let text = |i| match row.get_ref(i).db()? {
                ValueRef::Text(t) => std::str::from_utf8(t)
                    .map(Some)
                    .map_err(|e| QueryError::decode("a session or user id", e)),
                _ => Ok(None),
            };
            people.add(TraceFigures {
                session: text(0)?,
                user: text(1)?,
                spans: codec::count(row, 2)?,
                errors: codec::count(row, 3)?,
                usage: TokenUsage {
                    input_tokens: codec::count(row, 4)?,
                    output_tokens: codec::count(row, 5)?,
                    cache_read_tokens: codec::count(row, 6)?,
                    cache_write_tokens: codec::count(row, 7)?,
                    // Summaries count cache writes; their one-hour share is kept per span.
                    cache_write_1h_tokens: 0,
                    reasoning_tokens: codec::total_reasoning(codec::count(row, 8)?),
                },
                cost: codec::opt_usd(row, 9)?,
                unpriced: codec::count(row, 10)?,
                start_unix_nano: from_sql(codec::int(row, 11)?),
                end_unix_nano: from_sql(codec::int(row, 12)?),
            });
        }
        Ok(people)
    })
}

/// The traces starting in `range`.
fn starting_in(range: TimeRange) -> Where {
    let mut w = Where::default();
    w.range("t.start_ns", &range);
    w
}

/// [`sessions`](Self::sessions) in another order: most recently active, or costliest,
/// first. The sums are over the session's traces starting in the range.
pub(super) fn sessions_by(
    store: &SqliteStore,
    range: TimeRange,
    sort: SessionSort,
    limit: usize,
) -> Result<Vec<SessionSummary>, QueryError> {
    Ok(group(store, starting_in(range), People::by_session())?.sessions(sort, limit))
}

/// One session's activity (all of its traces); `None` when no trace names it.
pub(super) fn session(
    store: &SqliteStore,
    session_id: &str,
) -> Result<Option<SessionSummary>, QueryError> {
    let mut w = Where::default();
    let id = Value::Text(session_id.to_owned());
    w.push(TRACES_OF_SESSION, [id.clone(), id]);
    Ok(group(store, w, People::by_session())?
        .sessions(SessionSort::Recent, 1)
        .pop())
}

/// End users with traces starting in `range` (a trace belongs to its head span's user),
/// most recently active or costliest first, with the sums of those traces.
pub(super) fn users(
    store: &SqliteStore,
    range: TimeRange,
    sort: SessionSort,
    limit: usize,
) -> Result<Vec<UserSummary>, QueryError> {
    Ok(group(store, starting_in(range), People::by_user())?.users(sort, limit))
}
