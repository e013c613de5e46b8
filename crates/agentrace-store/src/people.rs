//! Sessions and end users from the traces they own: one rule of grouping and ordering, used by
//! [`TraceReader`](crate::TraceReader)'s provided [`sessions_by`](crate::TraceReader::sessions_by)
//! and [`users`](crate::TraceReader::users) over the trace list, and by a store that reads its
//! trace rows itself.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use agentrace_core::{TokenUsage, Usd};

use crate::model::{SessionSort, SessionSummary, TraceSummary, UserSummary};

/// What [`People`] needs of a trace: the figures of its summary, and its session and user; or
/// the sums of several traces of one session and user (a store's rollup row).
#[derive(Debug, Clone, Copy)]
pub struct TraceFigures<'a> {
    /// The traces' session.
    pub session: Option<&'a str>,
    /// The traces' end user.
    pub user: Option<&'a str>,
    /// How many traces these figures sum: 1 for one trace.
    pub traces: u64,
    /// Their spans.
    pub spans: u64,
    /// Their failed spans.
    pub errors: u64,
    /// Their tokens.
    pub usage: TokenUsage,
    /// Their cost; `None` when nothing in them is priced.
    pub cost: Option<Usd>,
    /// Their unpriced calls.
    pub unpriced: u64,
    /// Their earliest start.
    pub start_unix_nano: u64,
    /// Their latest end.
    pub end_unix_nano: u64,
}

impl<'a> From<&'a TraceSummary> for TraceFigures<'a> {
    fn from(t: &'a TraceSummary) -> Self {
        Self {
            session: t.session_id.as_deref(),
            user: t.user_id.as_deref(),
            traces: 1,
            spans: t.span_count,
            errors: t.error_count,
            usage: t.usage,
            cost: t.cost,
            unpriced: t.unpriced_count,
            start_unix_nano: t.start_unix_nano,
            end_unix_nano: t.end_unix_nano,
        }
    }
}

/// The sums of one session's or user's traces.
#[derive(Debug)]
struct Group {
    traces: u64,
    spans: u64,
    errors: u64,
    usage: TokenUsage,
    cost: Option<Usd>,
    unpriced: u64,
    first: u64,
    last: u64,
    /// Sessions: the largest user id named.
    user: Option<String>,
    /// Users: their distinct sessions.
    sessions: HashSet<String>,
}

impl Default for Group {
    fn default() -> Self {
        Self {
            traces: 0,
            spans: 0,
            errors: 0,
            usage: TokenUsage::default(),
            cost: None,
            unpriced: 0,
            first: u64::MAX,
            last: 0,
            user: None,
            sessions: HashSet::new(),
        }
    }
}

/// Traces summed by their session, or by their end user: add each trace once, then take
/// the groups in order.
#[derive(Debug)]
pub struct People {
    by_user: bool,
    groups: HashMap<String, Group>,
}

impl People {
    /// Sums by session (a trace without one is left out).
    pub fn by_session() -> Self {
        Self {
            by_user: false,
            groups: HashMap::new(),
        }
    }

    /// Sums by end user (a trace without one is left out).
    pub fn by_user() -> Self {
        Self {
            by_user: true,
            groups: HashMap::new(),
        }
    }

    /// Adds a trace to its session's or user's sums.
    pub fn add(&mut self, t: TraceFigures<'_>) {
        let (key, other) = if self.by_user {
            (t.user, t.session)
        } else {
            (t.session, t.user)
        };
        let Some(key) = key else { return };
        let g = match self.groups.get_mut(key) {
            Some(g) => g,
            None => self.groups.entry(key.to_owned()).or_default(),
        };
        g.traces += t.traces;
        g.spans += t.spans;
        g.errors += t.errors;
        g.usage += t.usage;
        if let Some(cost) = t.cost {
            g.cost = Some(g.cost.map_or(cost, |c| {
                Usd::from_nanos(c.nanos().saturating_add(cost.nanos()))
            }));
        }
        g.unpriced += t.unpriced;
        g.first = g.first.min(t.start_unix_nano);
        g.last = g.last.max(t.end_unix_nano);
        match other {
            Some(other) if self.by_user && !g.sessions.contains(other) => {
                g.sessions.insert(other.to_owned());
            }
            Some(other) if !self.by_user && g.user.as_deref().is_none_or(|u| u < other) => {
                g.user = Some(other.to_owned());
            }
            _ => {}
        }
    }

    /// The groups in `sort` order (ties by id), at most `limit`.
    fn sorted(self, sort: SessionSort, limit: usize) -> Vec<(String, Group)> {
        let mut out: Vec<(String, Group)> = self.groups.into_iter().collect();
        match sort {
            SessionSort::Recent => {
                out.sort_by(|(a, ga), (b, gb)| gb.last.cmp(&ga.last).then(a.cmp(b)));
            }
            SessionSort::Cost => out.sort_by(|(a, ga), (b, gb)| {
                let cost = |g: &Group| g.cost.map_or(-1, Usd::nanos);
                Reverse(cost(ga)).cmp(&Reverse(cost(gb))).then(a.cmp(b))
            }),
        }
        out.truncate(limit);
        out
    }

    /// The sessions, in `sort` order, at most `limit`.
    pub fn sessions(self, sort: SessionSort, limit: usize) -> Vec<SessionSummary> {
        self.sorted(sort, limit)
            .into_iter()
            .map(|(session_id, g)| SessionSummary {
                session_id,
                traces: g.traces,
                spans: g.spans,
                errors: g.errors,
                usage: g.usage,
                cost: g.cost,
                unpriced: g.unpriced,
                first_seen_unix_nano: g.first,
                last_seen_unix_nano: g.last,
                user_id: g.user,
            })
            .collect()
    }

    /// The end users, in `sort` order, at most `limit`.
    pub fn users(self, sort: SessionSort, limit: usize) -> Vec<UserSummary> {
        self.sorted(sort, limit)
            .into_iter()
            .map(|(user_id, g)| UserSummary {
                user_id,
                traces: g.traces,
                sessions: g.sessions.len() as u64,
                spans: g.spans,
                errors: g.errors,
                usage: g.usage,
                cost: g.cost,
                unpriced: g.unpriced,
                first_seen_unix_nano: g.first,
                last_seen_unix_nano: g.last,
            })
            .collect()
    }
}
