//! Sessions and end users: the trace summaries grouped by the trace's session or user (its
//! head span's, else the first seen among its spans).
//!
//! Read in one pass over the trace rows of the range and summed in memory: a `GROUP BY` sorts
//! every row first (measured over 166,700 traces: ~330 ms against the pass's ~190 ms, most of
//! it SQLite decoding the rows' columns). Sessions and users are not rollup dimensions (a
//! trace's session can still change as its spans arrive), so these lists cost a read of the
//! range's trace rows.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use agentrace_core::{TokenUsage, Usd};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::filter::Where;
use crate::codec::{self, from_sql};
use crate::deferred_index::TRACES_OF_SESSION;
use crate::error::Db;
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::{SessionSort, SessionSummary, TimeRange, UserSummary};

/// The sums of one session's or user's traces.
#[derive(Debug, Default)]
struct Group {
    traces: u64,
    spans: u64,
    errors: u64,
    usage: TokenUsage,
    cost: Option<i64>,
    unpriced: u64,
    first: u64,
    last: u64,
    /// Sessions: the largest user id named; users: the distinct sessions.
    user: Option<String>,
    sessions: HashSet<String>,
}

/// Which column the traces are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Session,
    User,
}

impl By {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Self::Session => ("t.session_id", "t.user_id"),
            Self::User => ("t.user_id", "t.session_id"),
        }
    }
}

/// Groups the traces `w` selects, then sorts and keeps `limit`.
fn group(
    store: &SqliteStore,
    mut w: Where,
    by: By,
    sort: SessionSort,
    limit: usize,
) -> Result<Vec<(String, Group)>, QueryError> {
    let (key, other) = by.columns();
    w.push(format!("{key} IS NOT NULL"), []);
    let sql = format!(
        "SELECT {key}, t.span_count, t.error_count, t.input_tokens, t.output_tokens,
                t.cache_read_tokens, t.cache_write_tokens, t.reasoning_tokens, t.cost_total,
                t.unpriced_count, t.start_ns, t.end_ns, {other}
         FROM traces AS t WHERE {}",
        w.sql()
    );
    let mut groups: HashMap<String, Group> = store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        let mut groups: HashMap<String, Group> = HashMap::new();
        while let Some(row) = rows.next().db()? {
            let name = match row.get_ref(0).db()? {
                rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                    .map_err(|e| QueryError::decode("a session or user id", e))?,
                _ => continue,
            };
            let g = match groups.get_mut(name) {
                Some(g) => g,
                None => groups.entry(name.to_owned()).or_insert_with(|| Group {
                    first: u64::MAX,
                    ..Group::default()
                }),
            };
            g.traces += 1;
            g.spans += codec::count(row, 1)?;
            g.errors += codec::count(row, 2)?;
            g.usage += TokenUsage {
                input_tokens: codec::count(row, 3)?,
                output_tokens: codec::count(row, 4)?,
                cache_read_tokens: codec::count(row, 5)?,
                cache_write_tokens: codec::count(row, 6)?,
                // Summaries count cache writes; their one-hour share is kept per span.
                cache_write_1h_tokens: 0,
                reasoning_tokens: codec::total_reasoning(codec::count(row, 7)?),
            };
            if let Some(cost) = codec::opt_usd(row, 8)? {
                g.cost = Some(g.cost.unwrap_or(0).saturating_add(cost.nanos()));
            }
            g.unpriced += codec::count(row, 9)?;
            g.first = g.first.min(from_sql(codec::int(row, 10)?));
            g.last = g.last.max(from_sql(codec::int(row, 11)?));
            if let rusqlite::types::ValueRef::Text(t) = row.get_ref(12).db()? {
                let other = std::str::from_utf8(t)
                    .map_err(|e| QueryError::decode("a session or user id", e))?;
                match by {
                    By::Session => {
                        if g.user.as_deref().is_none_or(|u| u < other) {
                            g.user = Some(other.to_owned());
                        }
                    }
                    By::User => {
                        if !g.sessions.contains(other) {
                            g.sessions.insert(other.to_owned());
                        }
                    }
                }
            }
        }
        Ok(groups)
    })?;
    let mut out: Vec<(String, Group)> = groups.drain().collect();
    match sort {
        SessionSort::Recent => out.sort_by(|(a, ga), (b, gb)| gb.last.cmp(&ga.last).then(a.cmp(b))),
        SessionSort::Cost => out.sort_by(|(a, ga), (b, gb)| {
            Reverse(ga.cost.unwrap_or(-1))
                .cmp(&Reverse(gb.cost.unwrap_or(-1)))
                .then(a.cmp(b))
        }),
    }
    out.truncate(limit);
    Ok(out)
}

/// The traces starting in `range`.
fn starting_in(range: TimeRange) -> Where {
    let mut w = Where::default();
    w.range("t.start_ns", &range);
    w
}

fn session_summary(session_id: String, g: Group) -> SessionSummary {
    SessionSummary {
        session_id,
        traces: g.traces,
        spans: g.spans,
        errors: g.errors,
        usage: g.usage,
        cost: g.cost.map(Usd::from_nanos),
        unpriced: g.unpriced,
        first_seen_unix_nano: g.first,
        last_seen_unix_nano: g.last,
        user_id: g.user,
    }
}

impl SqliteStore {
    /// Sessions with traces starting in `range`, most recently active first, from the
    /// trace summaries.
    pub fn sessions(
        &self,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        self.sessions_by(range, SessionSort::Recent, limit)
    }

    /// [`sessions`](Self::sessions) in another order: most recently active, or costliest,
    /// first. The sums are over the session's traces starting in the range.
    pub fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        Ok(group(self, starting_in(range), By::Session, sort, limit)?
            .into_iter()
            .map(|(id, g)| session_summary(id, g))
            .collect())
    }

    /// One session's activity (all of its traces); `None` when no trace names it.
    pub fn session(&self, session_id: &str) -> Result<Option<SessionSummary>, QueryError> {
        let mut w = Where::default();
        let id = Value::Text(session_id.to_owned());
        w.push(TRACES_OF_SESSION, [id.clone(), id]);
        Ok(group(self, w, By::Session, SessionSort::Recent, 1)?
            .pop()
            .map(|(id, g)| session_summary(id, g)))
    }

    /// End users with traces starting in `range` (a trace belongs to its head span's user),
    /// most recently active or costliest first, with the sums of those traces.
    pub fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError> {
        Ok(group(self, starting_in(range), By::User, sort, limit)?
            .into_iter()
            .map(|(user_id, g)| UserSummary {
                user_id,
                traces: g.traces,
                sessions: g.sessions.len() as u64,
                spans: g.spans,
                errors: g.errors,
                usage: g.usage,
                cost: g.cost.map(Usd::from_nanos),
                unpriced: g.unpriced,
                first_seen_unix_nano: g.first,
                last_seen_unix_nano: g.last,
            })
            .collect())
    }
}
