//! Grouped numbers: aggregates, the overview, tools, metrics.

use agentrace_core::SpanKind;
use agentrace_core::semconv::{agentrace, gen_ai};

use crate::error::QueryError;
use crate::model::{
    AggregateQuery, AggregateRow, MetricInfo, MetricQuery, MetricSeries, Overview, OverviewQuery,
    RollupAnswer, RollupSource, Summary, ToolsAnswer,
};
use crate::model::{
    AttributeKey, GroupBy, GroupKey, Order, SeriesPoint, SpanFilter, SpanQuery, StatusFilter,
};
use crate::read::TraceReader;
use crate::series::{SeriesLayout, align, error_pattern, whole_minutes};
use crate::tally::{CostTally, CostTallyQuery, SessionCost, check_bucket_width, whole_tally};
use crate::time_range::TimeRange;
use crate::tools::{ToolFailures, tool_groups, tools_answer};
use crate::unit_costs;

/// The numbers behind the dashboard, the alerts and the CLI's reports.
///
/// # Contract (checked by the conformance suite)
/// Counts, tokens and costs are exact, whichever way they are computed; duration percentiles
/// are exact from [`aggregate_exact`](Self::aggregate_exact) and [`overview_exact`](Self::overview_exact),
/// and within 3.2 % from the rollups ([`aggregate`](Self::aggregate), [`overview`](Self::overview),
/// [`tools`](Self::tools)). An aggregate span (one that reports its steps' usage) counts as a
/// span, its usage and cost do not (they are its steps'). An unpriced billable call is
/// counted as unpriced, never as zero.
///
/// Each figure has one name, and a `_exact` twin where a fast answer exists: `aggregate` and
/// `overview` answer in milliseconds from rollups where a store keeps them,
/// `aggregate_exact` and `overview_exact` read the spans.
///
/// Required: [`aggregate_exact`](Self::aggregate_exact), [`metric_names`](Self::metric_names)
/// and [`metric`](Self::metric). The overviews, the fast aggregate (exact by default), tools
/// and the cost tallies are provided on top of them and the trace list; a store that keeps
/// rollups and sums in place overrides them.
pub trait Analytics: TraceReader {
    /// Spans matching the query's filter, grouped by its dimensions: counts, errors,
    /// nearest-rank duration percentiles, tokens and cost, exact, from the spans. Rows come
    /// sorted by key (missing values last).
    fn aggregate_exact(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError>;

    /// The overview of a time range, exact, from one consistent snapshot.
    ///
    /// Provided: from [`aggregate_exact`](Self::aggregate_exact) (every span, the calls, by model and
    /// by agent) and a count of the trace list.
    fn overview_exact(&self, range: TimeRange) -> Result<Summary, QueryError> {
        let spans = SpanFilter::new().range(range);
        let mut billable = spans.clone();
        billable.billable = Some(true);
        let calls = billable.clone().kind(SpanKind::Llm);
        let total = |filter: SpanFilter| -> Result<AggregateRow, QueryError> {
            Ok(self
                .aggregate_exact(&AggregateQuery::new(filter, []))?
                .pop()
                .unwrap_or_else(|| AggregateRow::empty(Vec::new())))
        };
        let by = |group: GroupBy| -> Result<Vec<AggregateRow>, QueryError> {
            let mut rows = self.aggregate_exact(&AggregateQuery::new(billable.clone(), [group]))?;
            AggregateRow::sort_by_cost(&mut rows);
            Ok(rows)
        };
        let (all, llm) = (total(spans)?, total(calls)?);
        let mut traces = 0;
        crate::read::each_trace(self, range, |_| traces += 1)?;
        let mut by_model = by(GroupBy::Model)?;
        by_model.retain(|r| r.keys.first() != Some(&GroupKey::None));
        Ok(Summary {
            range,
            traces,
            spans: all.count,
            span_errors: all.errors,
            requests: llm.count,
            errors: llm.errors,
            error_rate: if llm.count == 0 {
                0.0
            } else {
                llm.errors as f64 / llm.count as f64
            },
            latency: (llm.count > 0).then_some(llm.duration),
            usage: all.usage,
            cost: all.cost,
            priced: all.priced,
            unpriced: all.unpriced,
            unpriced_usage: all.unpriced_usage,
            by_model,
            by_agent: by(GroupBy::Agent)?,
        })
    }

    /// [`aggregate_exact`](Self::aggregate_exact) over the range widened to whole minutes, at any size
    /// in milliseconds: from rollups when they cover the query, else from the spans
    /// ([`RollupAnswer::source`] says which).
    ///
    /// Provided: the exact answer from [`aggregate_exact`](Self::aggregate_exact) (source
    /// [`RollupSource::Spans`]); a store that keeps rollups answers from them.
    fn aggregate(&self, q: &AggregateQuery) -> Result<RollupAnswer, QueryError> {
        let mut whole = q.clone();
        whole.filter.range = align(q.filter.range);
        let rows = self.aggregate_exact(&whole)?;
        whole.group_by.clear();
        let total = self
            .aggregate_exact(&whole)?
            .pop()
            .unwrap_or_else(|| AggregateRow::empty(Vec::new()));
        Ok(RollupAnswer {
            range: whole.filter.range,
            source: RollupSource::Spans,
            rows,
            total,
        })
    }

    /// The dashboard's overview of a range widened to whole minutes: the
    /// [`overview_exact`](Self::overview_exact) numbers and a time series.
    ///
    /// Provided: [`overview_exact`](Self::overview_exact) and the series from
    /// [`aggregate`](Self::aggregate) by time bucket.
    fn overview(&self, q: &OverviewQuery) -> Result<Overview, QueryError> {
        whole_minutes(q.bucket_ns, "the series' bucket width")?;
        let range = align(q.range);
        let extent = match (range.start_unix_nano, range.end_unix_nano) {
            (Some(start), Some(end)) => Some((start, end)),
            _ => span_extent(self, range)?,
        };
        let layout = SeriesLayout::of(extent, q.bucket_ns)?;
        let by_bucket = |filter: SpanFilter| -> Result<Vec<AggregateRow>, QueryError> {
            let width_ns = layout.width_ns;
            let q = AggregateQuery::new(filter, [GroupBy::TimeBucket { width_ns }]);
            Ok(self.aggregate(&q)?.rows)
        };
        let all = by_bucket(SpanFilter::new().range(range))?;
        let mut calls = SpanFilter::new().range(range).kind(SpanKind::Llm);
        calls.billable = Some(true);
        let llm = by_bucket(calls)?;
        let row_at = |rows: &[AggregateRow], start: u64| {
            rows.iter()
                .find(|r| r.keys.first() == Some(&GroupKey::Bucket(start)))
                .cloned()
        };
        let series = layout
            .starts()
            .map(|start| {
                let all = row_at(&all, start).unwrap_or_else(|| AggregateRow::empty(Vec::new()));
                let llm = row_at(&llm, start);
                SeriesPoint {
                    start_unix_nano: start,
                    spans: all.count,
                    span_errors: all.errors,
                    requests: llm.as_ref().map_or(0, |r| r.count),
                    errors: llm.as_ref().map_or(0, |r| r.errors),
                    latency: llm.filter(|r| r.count > 0).map(|r| r.duration),
                    usage: all.usage,
                    cost: all.cost,
                    unpriced: all.unpriced,
                }
            })
            .collect();
        Ok(Overview {
            summary: self.overview_exact(range)?,
            bucket_ns: layout.width_ns,
            series,
        })
    }

    /// Tool calls in a range widened to whole minutes, by tool: calls, failures, duration
    /// percentiles, the `top` error types and message patterns, and with `bucket_ns` a trend.
    ///
    /// Provided: from [`aggregate`](Self::aggregate) and a read of the range's failed tool calls.
    fn tools(
        &self,
        range: TimeRange,
        top: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError> {
        tool_calls(self, range, None, top, bucket_ns)
    }

    /// [`tools`](Self::tools), each tool split by the value of the attribute `key` (the span's,
    /// else its resource's, as text: `group_by=attr:customer.id`): one row per tool and value,
    /// each naming its value ([`ToolStats::attribute`](crate::ToolStats::attribute)). Exact:
    /// never from rollups, which keep no attributes.
    ///
    /// Provided: from [`aggregate`](Self::aggregate) and a read of the range's failed tool calls.
    fn tools_by_attribute(
        &self,
        range: TimeRange,
        key: AttributeKey,
        top: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError> {
        tool_calls(self, range, Some(key), top, bucket_ns)
    }

    /// The metrics received in `range`: name, kind, unit and how many series.
    fn metric_names(&self, range: TimeRange) -> Result<Vec<MetricInfo>, QueryError>;

    /// The series of one metric over a range, one point per step (at most 1,440 points, at
    /// most 200 series, the busiest first).
    fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError>;

    /// How many traces (or sessions, or agent runs) the query selects, how many of them cost
    /// at most its threshold, and how many have an unpriced call (their cost unknown: neither
    /// cheap nor dear): a cost objective's counts. Traces and sessions from the per-trace
    /// summaries, never a read of spans one by one; agent runs from the spans of the traces
    /// that hold them, judged by [`AgentRunTallies`](crate::AgentRunTallies).
    ///
    /// Provided: the one bucket of [`cost_tally_by_bucket`](Self::cost_tally_by_bucket).
    fn cost_tally(&self, q: &CostTallyQuery) -> Result<CostTally, QueryError> {
        Ok(whole_tally(self.cost_tally_by_bucket(q, u64::MAX)?))
    }

    /// [`cost_tally`](Self::cost_tally) in buckets of `width_ns` (aligned on the epoch, each
    /// keyed by its start) of the traces' (or runs') start, in one read: each bucket judged as a range
    /// of its own (a session on its traces starting in it). Oldest first; a bucket without a
    /// trace is left out. A width of 0 is [`QueryError::Invalid`].
    ///
    /// Provided: from the trace list (traces, sessions) and the spans of the traces holding
    /// runs; a store that sums in place does better.
    fn cost_tally_by_bucket(
        &self,
        q: &CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        unit_costs::tallies(self, q, check_bucket_width(width_ns)?)
    }

    /// The cost of each session of `q`'s range and scope in each bucket of `width_ns` (aligned
    /// on the epoch) of its traces' start: the parts a window's cost of sessions is summed
    /// from when it is kept by the bucket (a session is judged on its whole part of a window,
    /// so its buckets are summed before it is judged: [`CostTally::count`]). `q`'s unit and
    /// threshold are not read. Ordered by bucket, then session; a session with no trace in a
    /// bucket has no part there. A width of 0 is [`QueryError::Invalid`].
    ///
    /// Provided: from the trace list.
    fn session_costs_by_bucket(
        &self,
        q: &CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<SessionCost>, QueryError> {
        unit_costs::session_costs(self, q, check_bucket_width(width_ns)?)
    }
}

/// The start of the first span of `range` and a minute past the start of the last, `None`
/// without spans: where an open range's series begins and ends.
fn span_extent<A: Analytics + ?Sized>(
    store: &A,
    range: TimeRange,
) -> Result<Option<(u64, u64)>, QueryError> {
    let edge = |order| -> Result<Option<u64>, QueryError> {
        let q = SpanQuery::new(SpanFilter::new().range(range))
            .order(order)
            .limit(1);
        Ok(store
            .spans(&q)?
            .spans
            .first()
            .map(|s| s.start_time_unix_nano))
    };
    let (Some(first), Some(last)) = (edge(Order::Asc)?, edge(Order::Desc)?) else {
        return Ok(None);
    };
    Ok(Some((
        range.start_unix_nano.unwrap_or(first),
        range
            .end_unix_nano
            .unwrap_or_else(|| last.saturating_add(crate::series::MINUTE_NS)),
    )))
}

/// [`Analytics::tools`], split by `split` when given: the tool calls' groups from
/// [`Analytics::aggregate`], their failures from a read of the failed calls.
fn tool_calls<S: Analytics + ?Sized>(
    store: &S,
    range: TimeRange,
    split: Option<AttributeKey>,
    top: usize,
    bucket_ns: Option<u64>,
) -> Result<ToolsAnswer, QueryError> {
    whole_minutes(bucket_ns, "the trend's bucket width")?;
    let range = align(range);
    let calls = SpanFilter::new().range(range).kind(SpanKind::Tool);
    let groups = tool_groups(split);
    let rows = store
        .aggregate(&AggregateQuery::new(calls.clone(), groups.clone()))?
        .rows;
    let points = match bucket_ns {
        Some(width_ns) => {
            let groups = groups.into_iter().chain([GroupBy::TimeBucket { width_ns }]);
            store
                .aggregate(&AggregateQuery::new(calls.clone(), groups))?
                .rows
        }
        None => Vec::new(),
    };
    let mut failures = ToolFailures::default();
    let failed = calls.status(StatusFilter::Error);
    let mut cursor = None;
    loop {
        let page = store.spans(&SpanQuery::new(failed.clone()).limit(1_000).cursor(cursor))?;
        for span in &page.spans {
            let text = |key| span.attributes.get(key).and_then(|v| v.as_str());
            let tool = (
                text(agentrace::MCP_SERVER).map(str::to_owned),
                span.tool_name.as_deref().map(str::to_owned),
            );
            let value = split.and_then(|key| {
                span.attributes
                    .get(key.as_str())
                    .or_else(|| span.resource.attributes.get(key.as_str()))
                    .map(ToString::to_string)
            });
            let error_type = text(gen_ai::ERROR_TYPE).map(str::to_owned);
            let pattern = error_pattern(span.status.message.as_deref().unwrap_or(""));
            failures.add_split(tool, value, error_type, Some(pattern), 1);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(tools_answer(range, split, rows, points, failures, top))
}
