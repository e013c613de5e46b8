//! Grouped numbers (`agentrace_store::Analytics`), from the spans: exact counts, tokens and
//! costs, exact nearest-rank duration percentiles.

use std::collections::HashMap;

use agentrace_core::{SpanKind, TokenUsage, Usd};
use agentrace_store::series::{
    DurationHistogram, MINUTE_NS, SeriesLayout, align, error_pattern, floor, whole_minutes,
};
use agentrace_store::{
    AggregateQuery, AggregateRow, GroupBy, GroupKey, Overview, OverviewQuery, Percentiles,
    QueryError, RollupAnswer, RollupSource, SeriesPoint, SpanFilter, Summary, TOOL_GROUPS,
    TimeRange, ToolFailures, ToolsAnswer, tools_answer,
};
use clickhouse::Row;
use serde::Deserialize;

use crate::error;
use crate::read::traces::{kept_sums_sql, starts_in};
use crate::schema::{DURATION_BUCKET_SQL, MCP_SERVER_SQL};
use crate::sql::{self, DURATION, UNPRICED};
use crate::store::ClickHouseStore;

/// One group: its keys (text, `NULL` for a missing value) and its measures.
#[derive(Debug, Row, Deserialize)]
struct GroupRow {
    keys: Vec<Option<String>>,
    n: u64,
    errs: u64,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    cache_write_1h: u64,
    reasoning: u64,
    cost_nanos: i64,
    priced: u64,
    unpriced: u64,
    u_input: u64,
    u_output: u64,
    u_cache_read: u64,
    u_cache_write: u64,
    u_cache_write_1h: u64,
    u_reasoning: u64,
    /// `(bucket, spans)`: the durations by `agentrace_store::series::duration_bucket`.
    buckets: (Vec<u16>, Vec<i64>),
    p50: u64,
    p95: u64,
    p99: u64,
}

/// The duration percentiles of a group, by nearest rank (the value at rank ⌈p·n/100⌉ of the
/// sorted durations), over [`MEASURES`]' `durations`.
const PERCENTILES: &str = "durations[greatest(intDiv(50 * length(durations) + 99, 100), 1)] AS p50, \
     durations[greatest(intDiv(95 * length(durations) + 99, 100), 1)] AS p95, \
     durations[greatest(intDiv(99 * length(durations) + 99, 100), 1)] AS p99";

/// The measures of a group of spans, and its sorted durations last.
const MEASURES: &str = "count() AS n, countIf(status_code = 2) AS errs, \
     sum(input_tokens) AS input, sum(output_tokens) AS output, \
     sum(cache_read_tokens) AS cache_read, sum(cache_write_tokens) AS cache_write, \
     sum(cache_write_1h_tokens) AS cache_write_1h, \
     sum(ifNull(reasoning_tokens, 0)) AS reasoning, \
     toInt64(sumIf(toDecimal128(assumeNotNull(cost_total), 9), isNotNull(cost_total)) \
        * 1000000000) AS cost_nanos, \
     countIf(isNotNull(cost_total)) AS priced, countIf(UNPRICED) AS unpriced, \
     sumIf(input_tokens, UNPRICED) AS u_input, sumIf(output_tokens, UNPRICED) AS u_output, \
     sumIf(cache_read_tokens, UNPRICED) AS u_cache_read, \
     sumIf(cache_write_tokens, UNPRICED) AS u_cache_write, \
     sumIf(cache_write_1h_tokens, UNPRICED) AS u_cache_write_1h, \
     sumIf(ifNull(reasoning_tokens, 0), UNPRICED) AS u_reasoning, \
     sumMap([DURATION_BUCKET], [toInt64(1)]) AS buckets, \
     arraySort(groupArray(toUInt64(greatest(DURATION_NS, 0)))) AS durations";

fn usage(
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    cache_write_1h: u64,
    reasoning: u64,
) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        cache_write_1h_tokens: cache_write_1h,
        reasoning_tokens: (reasoning > 0).then_some(reasoning),
    }
}

impl GroupRow {
    fn row(self, group_by: &[GroupBy]) -> Result<AggregateRow, QueryError> {
        let keys = group_keys(group_by, self.keys)?;
        Ok(AggregateRow {
            keys,
            count: self.n,
            errors: self.errs,
            duration: Percentiles {
                p50_ns: self.p50,
                p95_ns: self.p95,
                p99_ns: self.p99,
            },
            durations: DurationHistogram::from_buckets(
                self.buckets.0.into_iter().zip(self.buckets.1),
            ),
            usage: usage(
                self.input,
                self.output,
                self.cache_read,
                self.cache_write,
                self.cache_write_1h,
                self.reasoning,
            ),
            cost: (self.priced > 0).then(|| Usd::from_nanos(self.cost_nanos)),
            priced: self.priced,
            unpriced: self.unpriced,
            unpriced_usage: usage(
                self.u_input,
                self.u_output,
                self.u_cache_read,
                self.u_cache_write,
                self.u_cache_write_1h,
                self.u_reasoning,
            ),
        })
    }
}

/// A group's keys, read back from their text (`NULL`: no value).
pub(crate) fn group_keys(
    group_by: &[GroupBy],
    keys: Vec<Option<String>>,
) -> Result<Vec<GroupKey>, QueryError> {
    group_by
        .iter()
        .zip(keys)
        .map(|(g, k)| match (g, k) {
            (_, None) => Ok(GroupKey::None),
            (GroupBy::TimeBucket { .. }, Some(t)) => t
                .parse()
                .map(GroupKey::Bucket)
                .map_err(|e| QueryError::decode("time bucket", e)),
            (_, Some(v)) => Ok(GroupKey::Value(v)),
        })
        .collect()
}

/// The key of a grouping, as nullable text.
fn key(g: GroupBy) -> Result<String, QueryError> {
    Ok(match g {
        GroupBy::Model => "coalesce(response_model, request_model)".to_owned(),
        GroupBy::Provider => "provider".to_owned(),
        GroupBy::Agent => "agent_name".to_owned(),
        GroupBy::Framework => "framework".to_owned(),
        GroupBy::Kind => "kind".to_owned(),
        GroupBy::Service => "service_name".to_owned(),
        GroupBy::Tool => "tool_name".to_owned(),
        GroupBy::Operation => "operation".to_owned(),
        GroupBy::McpServer => MCP_SERVER_SQL.to_owned(),
        GroupBy::Session => "session_id".to_owned(),
        GroupBy::User => "user_id".to_owned(),
        GroupBy::TimeBucket { width_ns: 0 } => {
            return Err(QueryError::Invalid(
                "a time bucket must be at least 1 ns wide".into(),
            ));
        }
        GroupBy::TimeBucket { width_ns } => format!(
            "toString(intDiv(toUInt64(toUnixTimestamp64Nano(start)), {width_ns}) * {width_ns})"
        ),
        // The span's attribute (each value kept as JSON), else its resource's (an object of
        // JSON): a string as itself, another value as its JSON. The key's characters need no
        // quoting (`AttributeKey`).
        GroupBy::Attribute(key) => format!(
            "if(mapContains(attributes, '{key}'), \
                if(JSONType(attributes['{key}']) = 'String', \
                   JSONExtractString(attributes['{key}']), attributes['{key}']), \
             if(JSONHas(resource_attributes, '{key}'), \
                if(JSONType(resource_attributes, '{key}') = 'String', \
                   JSONExtractString(resource_attributes, '{key}'), \
                   JSONExtractRaw(resource_attributes, '{key}')), NULL))"
        ),
    })
}

/// A row of failed tool calls: the tool, its `error.type` (JSON) and status message.
#[derive(Debug, Row, Deserialize)]
struct ToolErrorRow {
    mcp_server: Option<String>,
    tool: Option<String>,
    error_type: Option<String>,
    message: Option<String>,
    n: u64,
}

impl ClickHouseStore {
    pub(crate) async fn aggregate(
        &self,
        filter: &SpanFilter,
        group_by: &[GroupBy],
    ) -> Result<Vec<AggregateRow>, QueryError> {
        let mut w = self.scoped();
        sql::spans(&mut w, filter);
        let keys = group_by
            .iter()
            .map(|g| key(*g).map(|k| format!("CAST({k} AS Nullable(String))")))
            .collect::<Result<Vec<_>, _>>()?;
        let query = format!(
            "SELECT * EXCEPT (durations), {PERCENTILES} FROM \
             (SELECT [{}]::Array(Nullable(String)) AS keys, {} FROM spans FINAL WHERE {} \
              GROUP BY keys)",
            keys.join(", "),
            MEASURES
                .replace("DURATION_NS", DURATION)
                .replace("DURATION_BUCKET", DURATION_BUCKET_SQL)
                .replace("UNPRICED", UNPRICED),
            w.sql()
        );
        let rows: Vec<GroupRow> = w
            .bind(self.client().query(&query))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let mut out = rows
            .into_iter()
            .map(|r| r.row(group_by))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(AggregateRow::key_order);
        Ok(out)
    }

    /// [`aggregate`](Self::aggregate), from the rollups if `rollups` and they keep what the
    /// query needs.
    async fn grouped(
        &self,
        filter: &SpanFilter,
        group_by: &[GroupBy],
        rollups: bool,
    ) -> Result<Vec<AggregateRow>, QueryError> {
        if rollups && let Some(rows) = self.rollup_rows(filter, group_by).await? {
            return Ok(rows);
        }
        self.aggregate(filter, group_by).await
    }

    /// The whole of `filter`'s spans as one row (zero when there are none).
    async fn total(&self, filter: &SpanFilter, rollups: bool) -> Result<AggregateRow, QueryError> {
        Ok(self
            .grouped(filter, &[], rollups)
            .await?
            .pop()
            .unwrap_or_else(|| AggregateRow {
                keys: Vec::new(),
                count: 0,
                errors: 0,
                duration: Percentiles::default(),
                durations: DurationHistogram::default(),
                usage: TokenUsage::default(),
                cost: None,
                priced: 0,
                unpriced: 0,
                unpriced_usage: TokenUsage::default(),
            }))
    }

    pub(crate) async fn summary(&self, range: TimeRange) -> Result<Summary, QueryError> {
        self.summary_with(range, false).await
    }

    /// The summary of `range`, from the rollups if `rollups` (percentiles within 3.1 %).
    async fn summary_with(&self, range: TimeRange, rollups: bool) -> Result<Summary, QueryError> {
        let all = SpanFilter::new().range(range);
        let total = self.total(&all, rollups).await?;
        // LLM calls: an aggregate is a span, not a call, and never billable.
        let calls = all.clone().kind(SpanKind::Llm).billable(true);
        let llm = self.total(&calls, rollups).await?;
        let billable = all.clone().billable(true);
        let mut by_model: Vec<AggregateRow> = self
            .grouped(&billable, &[GroupBy::Model], rollups)
            .await?
            .into_iter()
            .filter(|r| r.keys.first() != Some(&GroupKey::None))
            .collect();
        AggregateRow::sort_by_cost(&mut by_model);
        let mut by_agent = self.grouped(&billable, &[GroupBy::Agent], rollups).await?;
        AggregateRow::sort_by_cost(&mut by_agent);
        let (requests, errors) = (llm.count, llm.errors);
        Ok(Summary {
            range,
            traces: self.count_traces(range).await?,
            spans: total.count,
            span_errors: total.errors,
            requests,
            errors,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            latency: (requests > 0).then_some(llm.duration),
            usage: total.usage,
            cost: total.cost,
            priced: total.priced,
            unpriced: total.unpriced,
            unpriced_usage: total.unpriced_usage,
            by_model,
            by_agent,
        })
    }

    /// Traces starting in `range`, as the sessions count them: their kept summaries' starts
    /// (one small merged row a trace).
    async fn count_traces(&self, range: TimeRange) -> Result<u64, QueryError> {
        let query = format!(
            "SELECT count() FROM ({})",
            kept_sums_sql(&self.scope(), "1", &starts_in(&range, "kept_start").sql())
        );
        self.client()
            .query(&query)
            .fetch_one()
            .await
            .map_err(error::query)
    }

    pub(crate) async fn rollup(&self, q: &AggregateQuery) -> Result<RollupAnswer, QueryError> {
        let mut filter = q.filter.clone();
        filter.range = align(filter.range);
        let (source, rows) = match self.rollup_rows(&filter, &q.group_by).await? {
            Some(rows) => (RollupSource::Rollups, rows),
            None => (
                RollupSource::Spans,
                self.aggregate(&filter, &q.group_by).await?,
            ),
        };
        let total = self.total(&filter, source == RollupSource::Rollups).await?;
        Ok(RollupAnswer {
            range: filter.range,
            source,
            rows,
            total,
        })
    }

    pub(crate) async fn overview(&self, q: &OverviewQuery) -> Result<Overview, QueryError> {
        whole_minutes(q.bucket_ns, "the series' bucket width")?;
        let range = align(q.range);
        let extent = match (range.start_unix_nano, range.end_unix_nano) {
            (Some(s), Some(e)) => Some((s, e)),
            _ => self.extent(range).await?.map(|(first, last)| {
                (
                    range.start_unix_nano.unwrap_or(first),
                    range
                        .end_unix_nano
                        .unwrap_or_else(|| last.saturating_add(MINUTE_NS)),
                )
            }),
        };
        let layout = SeriesLayout::of(extent, q.bucket_ns)?;
        let (width, series_start, points) =
            (layout.width_ns, layout.start_unix_nano, layout.points);
        let summary = self.summary_with(range, true).await?;
        let bucket = [GroupBy::TimeBucket { width_ns: width }];
        let all = SpanFilter::new().range(range);
        let by_bucket = |rows: Vec<AggregateRow>| -> HashMap<u64, AggregateRow> {
            rows.into_iter()
                .filter_map(|r| match r.keys.first() {
                    Some(GroupKey::Bucket(b)) => Some((*b, r)),
                    _ => None,
                })
                .collect()
        };
        let mut spans = by_bucket(self.grouped(&all, &bucket, true).await?);
        let calls = all.clone().kind(SpanKind::Llm).billable(true);
        let mut llm = by_bucket(self.grouped(&calls, &bucket, true).await?);
        let series = (0..points)
            .map(|i| {
                let start = series_start + i * width;
                let s = spans.remove(&start);
                let l = llm.remove(&start);
                SeriesPoint {
                    start_unix_nano: start,
                    spans: s.as_ref().map_or(0, |r| r.count),
                    span_errors: s.as_ref().map_or(0, |r| r.errors),
                    requests: l.as_ref().map_or(0, |r| r.count),
                    errors: l.as_ref().map_or(0, |r| r.errors),
                    latency: l.as_ref().filter(|r| r.count > 0).map(|r| r.duration),
                    usage: s.as_ref().map(|r| r.usage).unwrap_or_default(),
                    cost: s.as_ref().and_then(|r| r.cost),
                    unpriced: s.as_ref().map_or(0, |r| r.unpriced),
                }
            })
            .collect();
        Ok(Overview {
            summary,
            bucket_ns: width,
            series,
        })
    }

    /// The minutes of the earliest and latest span start in `range`, if it has spans.
    async fn extent(&self, range: TimeRange) -> Result<Option<(u64, u64)>, QueryError> {
        let mut w = self.scoped();
        w.range("start", &range);
        let (n, first, last): (u64, i64, i64) = self
            .client()
            .query(&format!(
                "SELECT count(), toUnixTimestamp64Nano(min(start)), \
                 toUnixTimestamp64Nano(max(start)) FROM spans WHERE {}",
                w.sql()
            ))
            .fetch_one()
            .await
            .map_err(error::query)?;
        Ok((n > 0).then(|| {
            (
                floor(u64::try_from(first).unwrap_or(0), MINUTE_NS),
                floor(u64::try_from(last).unwrap_or(0), MINUTE_NS),
            )
        }))
    }

    pub(crate) async fn tools(
        &self,
        range: TimeRange,
        n: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError> {
        whole_minutes(bucket_ns, "the trend's bucket width")?;
        let range = align(range);
        let filter = SpanFilter::new().range(range).kind(SpanKind::Tool);
        let rows = self.grouped(&filter, &TOOL_GROUPS, true).await?;
        let points = match bucket_ns {
            Some(width_ns) => {
                let [server, tool] = TOOL_GROUPS;
                self.grouped(
                    &filter,
                    &[server, tool, GroupBy::TimeBucket { width_ns }],
                    true,
                )
                .await?
            }
            None => Vec::new(),
        };
        let mut failures = ToolFailures::default();
        // The failures give each tool's top error types and patterns: none are asked for, or
        // the rollups count no failed call, and the spans are not read.
        if n == 0 || rows.iter().all(|r| r.errors == 0) {
            return Ok(tools_answer(range, None, rows, points, failures, n));
        }
        // The range is whole minutes: the failures' minutes are their spans' starts'.
        let mut w = self.scoped();
        w.range("minute", &range);
        let failed: Vec<ToolErrorRow> = w
            .bind(self.client().query(&format!(
                "SELECT CAST(mcp_server AS Nullable(String)) AS mcp_server, \
                 CAST(tool_name AS Nullable(String)) AS tool, error_type, message, \
                 count() AS n FROM failed_tool_calls FINAL WHERE {} \
                 GROUP BY mcp_server, tool, error_type, message",
                w.sql()
            )))
            .fetch_all()
            .await
            .map_err(error::query)?;
        for f in failed {
            // `error.type` is kept as JSON: a string names a type, anything else does not.
            let error_type = f
                .error_type
                .and_then(|json| serde_json::from_str::<String>(&json).ok());
            let pattern = error_pattern(f.message.as_deref().unwrap_or(""));
            failures.add(
                (f.mcp_server, f.tool),
                error_type,
                Some(pattern),
                i64::try_from(f.n).unwrap_or(i64::MAX),
            );
        }
        Ok(tools_answer(range, None, rows, points, failures, n))
    }
}
