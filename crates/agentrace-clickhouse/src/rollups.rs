//! Reads of `span_rollups` (kept by a materialized view, see [`crate::schema`]): aggregates
//! over any number of spans in milliseconds, for the filters and groupings the rollups keep.

use agentrace_core::{TokenUsage, Usd};
use agentrace_store::series::{DurationHistogram, MINUTE_NS, histogram_percentiles};
use agentrace_store::{AggregateRow, GroupBy, QueryError, SpanFilter};
use clickhouse::Row;
use serde::Deserialize;

use crate::error;
use crate::sql::{Param, Where, time_seconds};
use crate::store::ClickHouseStore;

/// One group of rollup rows, summed.
#[derive(Debug, Row, Deserialize)]
struct RollupRow {
    keys: Vec<Option<String>>,
    n: i64,
    errs: i64,
    input: i64,
    output: i64,
    cache_read: i64,
    cache_write: i64,
    cache_write_1h: i64,
    reasoning: i64,
    cost_nanos: i64,
    priced: i64,
    unpriced: i64,
    u_input: i64,
    u_output: i64,
    u_cache_read: i64,
    u_cache_write: i64,
    u_cache_write_1h: i64,
    u_reasoning: i64,
    durations: (Vec<u16>, Vec<i64>),
}

const MEASURES: &str = "sum(r_spans) AS n, sum(r_errors) AS errs, sum(r_input) AS input, \
     sum(r_output) AS output, sum(r_cache_read) AS cache_read, \
     sum(r_cache_write) AS cache_write, sum(r_cache_write_1h) AS cache_write_1h, \
     sum(r_reasoning) AS reasoning, sum(r_cost_nanos) AS cost_nanos, \
     sum(r_priced) AS priced, sum(r_unpriced) AS unpriced, sum(r_u_input) AS u_input, \
     sum(r_u_output) AS u_output, sum(r_u_cache_read) AS u_cache_read, \
     sum(r_u_cache_write) AS u_cache_write, sum(r_u_cache_write_1h) AS u_cache_write_1h, \
     sum(r_u_reasoning) AS u_reasoning, sumMapMerge(r_durations) AS durations";

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn usage(t: [i64; 6]) -> TokenUsage {
    TokenUsage {
        input_tokens: count(t[0]),
        output_tokens: count(t[1]),
        cache_read_tokens: count(t[2]),
        cache_write_tokens: count(t[3]),
        cache_write_1h_tokens: count(t[4]),
        reasoning_tokens: (t[5] > 0).then(|| count(t[5])),
    }
}

impl RollupRow {
    fn row(self, group_by: &[GroupBy]) -> Result<AggregateRow, QueryError> {
        let keys = crate::analytics::group_keys(group_by, self.keys)?;
        let (buckets, counts) = self.durations;
        let buckets: Vec<(u16, i64)> = buckets.into_iter().zip(counts).collect();
        Ok(AggregateRow {
            keys,
            count: count(self.n),
            errors: count(self.errs),
            duration: histogram_percentiles(buckets.iter().copied(), 0, u64::MAX),
            durations: DurationHistogram::from_buckets(buckets),
            usage: usage([
                self.input,
                self.output,
                self.cache_read,
                self.cache_write,
                self.cache_write_1h,
                self.reasoning,
            ]),
            cost: (self.priced > 0).then(|| Usd::from_nanos(self.cost_nanos)),
            priced: count(self.priced),
            unpriced: count(self.unpriced),
            unpriced_usage: usage([
                self.u_input,
                self.u_output,
                self.u_cache_read,
                self.u_cache_write,
                self.u_cache_write_1h,
                self.u_reasoning,
            ]),
        })
    }
}

/// The key of a grouping over `span_rollups`, as nullable text; `None` for what the rollups
/// do not keep (sessions, users, buckets of part of a minute).
fn key(g: GroupBy) -> Option<String> {
    Some(match g {
        GroupBy::Model => "coalesce(response_model, request_model)".to_owned(),
        GroupBy::Provider => "provider".to_owned(),
        GroupBy::Agent => "agent_name".to_owned(),
        GroupBy::Framework => "framework".to_owned(),
        GroupBy::Kind => "kind".to_owned(),
        GroupBy::Service => "service_name".to_owned(),
        GroupBy::Tool => "tool_name".to_owned(),
        GroupBy::Operation => "operation".to_owned(),
        GroupBy::McpServer => "mcp_server".to_owned(),
        GroupBy::Session | GroupBy::User | GroupBy::Attribute(_) => return None,
        GroupBy::TimeBucket { width_ns } if width_ns == 0 || width_ns % MINUTE_NS != 0 => {
            return None;
        }
        GroupBy::TimeBucket { width_ns } => format!(
            "toString(intDiv(toUInt64(toUnixTimestamp(minute)) * 1000000000, {width_ns}) \
             * {width_ns})"
        ),
    })
}

/// The clauses of `f` over the rollups of `scope` (a project's: `project = …`), if the rollups
/// keep what it filters on (its range in whole minutes).
fn filter(scope: String, f: &SpanFilter) -> Option<Where> {
    let whole = |t: Option<u64>| t.is_none_or(|t| t % MINUTE_NS == 0);
    if f.trace_id.is_some()
        || f.session.is_some()
        || f.user.is_some()
        || f.status.is_some()
        || f.min_duration_ns.is_some()
        || f.name_contains.is_some()
        || f.resource_attribute.is_some()
        || !whole(f.range.start_unix_nano)
        || !whole(f.range.end_unix_nano)
    {
        return None;
    }
    let mut w = Where::default();
    w.push(scope, []);
    if let Some(start) = f.range.start_unix_nano {
        w.push(format!("minute >= {}", time_seconds(start)), []);
    }
    if let Some(end) = f.range.end_unix_nano {
        w.push(format!("minute < {}", time_seconds(end)), []);
    }
    let text = |w: &mut Where, clause: &str, v: &Option<String>| {
        if let Some(v) = v {
            w.push(clause, [Param::Text(v.clone())]);
        }
    };
    text(&mut w, "service_name = ?", &f.service);
    if let Some(kind) = f.kind {
        w.push("kind = ?", [Param::Text(kind.as_str().to_owned())]);
    }
    if let Some(model) = &f.model {
        w.push(
            "(request_model = ? OR response_model = ?)",
            [Param::Text(model.clone()), Param::Text(model.clone())],
        );
    }
    text(&mut w, "provider = ?", &f.provider);
    text(&mut w, "agent_name = ?", &f.agent);
    text(&mut w, "framework = ?", &f.framework);
    text(&mut w, "tool_name = ?", &f.tool);
    text(&mut w, "mcp_server = ?", &f.mcp_server);
    if let Some(billable) = f.billable {
        w.push(format!("billable = {}", u8::from(billable)), []);
    }
    Some(w)
}

impl ClickHouseStore {
    /// `filter`'s spans grouped by `group_by` from the rollups (counts, tokens and costs
    /// exact, percentiles within 3.1 %), sorted by key; `None` when the rollups do not keep
    /// what the query needs (the caller reads the spans).
    pub(crate) async fn rollup_rows(
        &self,
        filter_by: &SpanFilter,
        group_by: &[GroupBy],
    ) -> Result<Option<Vec<AggregateRow>>, QueryError> {
        let Some(w) = filter(self.scope(), filter_by) else {
            return Ok(None);
        };
        let Some(keys) = group_by
            .iter()
            .map(|g| key(*g).map(|k| format!("CAST({k} AS Nullable(String))")))
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let query = format!(
            "SELECT [{}]::Array(Nullable(String)) AS keys, {MEASURES} FROM span_rollups \
             WHERE {} GROUP BY keys HAVING n <> 0",
            keys.join(", "),
            w.sql()
        );
        let rows: Vec<RollupRow> = w
            .bind(self.client().query(&query))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let mut out = rows
            .into_iter()
            .map(|r| r.row(group_by))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(AggregateRow::key_order);
        Ok(Some(out))
    }
}
