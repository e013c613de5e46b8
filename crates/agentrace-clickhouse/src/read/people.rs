//! Sessions and end users: the trace summaries grouped by the trace's session or user (its
//! head span's, else the first span's that names one, roots first, then by start), summed from
//! the summaries `trace_summaries` keeps (one small row a trace), not from spans.

use agentrace_core::{TokenUsage, Usd};
use agentrace_store::{QueryError, SessionSort, SessionSummary, TimeRange, UserSummary};
use clickhouse::Row;
use serde::Deserialize;

use super::traces::{kept_sums_sql, starts_in};
use crate::error;
use crate::sql::{Param, Where};
use crate::store::ClickHouseStore;

/// One session's or user's sums.
#[derive(Debug, Row, Deserialize)]
struct GroupRow {
    group_key: String,
    traces: u64,
    spans: u64,
    errors: u64,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    reasoning: u64,
    group_cost: i64,
    group_priced: u64,
    group_unpriced: u64,
    first_ns: i64,
    last_ns: i64,
    /// Sessions: the largest user id named.
    max_other: Option<String>,
    /// Users: their distinct sessions.
    distinct_other: u64,
}

impl GroupRow {
    fn usage(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self.input,
            output_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            cache_write_1h_tokens: 0,
            reasoning_tokens: (self.reasoning > 0).then_some(self.reasoning),
        }
    }

    fn cost(&self) -> Option<Usd> {
        (self.group_priced > 0).then(|| Usd::from_nanos(self.group_cost))
    }

    fn session(self) -> SessionSummary {
        SessionSummary {
            traces: self.traces,
            spans: self.spans,
            errors: self.errors,
            usage: self.usage(),
            cost: self.cost(),
            unpriced: self.group_unpriced,
            first_seen_unix_nano: u64::try_from(self.first_ns).unwrap_or(0),
            last_seen_unix_nano: u64::try_from(self.last_ns).unwrap_or(0),
            user_id: self.max_other,
            session_id: self.group_key,
        }
    }

    fn user(self) -> UserSummary {
        UserSummary {
            traces: self.traces,
            sessions: self.distinct_other,
            spans: self.spans,
            errors: self.errors,
            usage: self.usage(),
            cost: self.cost(),
            unpriced: self.group_unpriced,
            first_seen_unix_nano: u64::try_from(self.first_ns).unwrap_or(0),
            last_seen_unix_nano: u64::try_from(self.last_ns).unwrap_or(0),
            user_id: self.group_key,
        }
    }
}

/// The traces starting in `range`, among the kept summaries: every trace's summary is read
/// (no candidate spans: the summaries are keyed by trace), each kept by its start.
fn starting(range: &TimeRange) -> (Where, Where) {
    (Where::default(), starts_in(range, "kept_start"))
}

/// Which summary column the traces are grouped by.
#[derive(Debug, Clone, Copy)]
enum By {
    Session,
    User,
}

impl ClickHouseStore {
    /// Groups the kept summaries of the traces `candidates` (by `trace_id`) and `having`
    /// select.
    async fn group(
        &self,
        (candidates, mut having): (Where, Where),
        by: By,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<GroupRow>, QueryError> {
        // A session's distinct sessions are not asked for.
        let (key, other, distinct) = match by {
            By::Session => ("head_session", "head_user", "toUInt64(0)"),
            By::User => ("head_user", "head_session", "uniqExact(head_session)"),
        };
        having.push(format!("{key} IS NOT NULL"), []);
        let order = match sort {
            SessionSort::Recent => "last_ns DESC, group_key ASC",
            SessionSort::Cost => "if(group_priced > 0, group_cost, -1) DESC, group_key ASC",
        };
        let query = format!(
            "SELECT assumeNotNull({key}) AS group_key, count() AS traces, sum(span_count) AS spans, \
             sum(error_count) AS errors, sum(sum_input) AS input, sum(sum_output) AS output, \
             sum(sum_cache_read) AS cache_read, sum(sum_cache_write) AS cache_write, \
             sum(sum_reasoning) AS reasoning, toInt64(sumIf(cost_nanos, priced > 0)) AS group_cost, \
             sum(priced) AS group_priced, sum(unpriced) AS group_unpriced, \
             min(start_ns) AS first_ns, max(end_ns) AS last_ns, max({other}) AS max_other, \
             {distinct} AS distinct_other \
             FROM ({}) GROUP BY group_key ORDER BY {order} LIMIT {limit}",
            kept_sums_sql(&self.scope(), &candidates.sql(), &having.sql()),
        );
        let q = having.bind(candidates.bind(self.client().query(&query)));
        q.fetch_all().await.map_err(error::query)
    }

    pub(crate) async fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        let rows = self
            .group(starting(&range), By::Session, sort, limit)
            .await?;
        Ok(rows.into_iter().map(GroupRow::session).collect())
    }

    pub(crate) async fn session(
        &self,
        session_id: &str,
    ) -> Result<Option<SessionSummary>, QueryError> {
        let mut candidates = Where::default();
        candidates.push(
            format!(
                "trace_id IN (SELECT trace_id FROM spans WHERE {} AND session_id = ?)",
                self.scope()
            ),
            [Param::Text(session_id.to_owned())],
        );
        let mut having = Where::default();
        having.push("head_session = ?", [Param::Text(session_id.to_owned())]);
        let rows = self
            .group((candidates, having), By::Session, SessionSort::Recent, 1)
            .await?;
        Ok(rows.into_iter().next().map(GroupRow::session))
    }

    pub(crate) async fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError> {
        let rows = self.group(starting(&range), By::User, sort, limit).await?;
        Ok(rows.into_iter().map(GroupRow::user).collect())
    }
}
