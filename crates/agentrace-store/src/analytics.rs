//! Grouped numbers: aggregates, the overview, tools, metrics.

use crate::error::QueryError;
use crate::model::{
    AggregateQuery, AggregateRow, MetricInfo, MetricQuery, MetricSeries, Overview, OverviewQuery,
    RollupAnswer, Summary, TimeRange, ToolsAnswer,
};

/// The numbers behind the dashboard, the alerts and the CLI's reports.
///
/// # Contract (checked by the conformance suite)
/// Counts, tokens and costs are exact, whichever way they are computed; duration percentiles
/// are exact from [`aggregate`](Self::aggregate) and [`summary`](Self::summary), and within
/// 3.2 % from the rollups ([`rollup`](Self::rollup), [`overview`](Self::overview),
/// [`tools`](Self::tools)). An aggregate span (one that reports its steps' usage) counts as a
/// span, its usage and cost do not (they are its steps'). An unpriced billable call is
/// counted as unpriced, never as zero.
pub trait Analytics {
    /// Spans matching the query's filter, grouped by its dimensions: counts, errors,
    /// nearest-rank duration percentiles, tokens and cost, exact, from the spans. Rows come
    /// sorted by key (missing values last).
    fn aggregate(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError>;

    /// The overview of a time range, exact, from one consistent snapshot.
    fn summary(&self, range: TimeRange) -> Result<Summary, QueryError>;

    /// [`aggregate`](Self::aggregate) over the range widened to whole minutes, at any size
    /// in milliseconds: from rollups when they cover the query, else from the spans
    /// ([`RollupAnswer::source`] says which).
    fn rollup(&self, q: &AggregateQuery) -> Result<RollupAnswer, QueryError>;

    /// The dashboard's overview of a range widened to whole minutes: the
    /// [`summary`](Self::summary) numbers and a time series.
    fn overview(&self, q: &OverviewQuery) -> Result<Overview, QueryError>;

    /// Tool calls in a range widened to whole minutes, by tool: calls, failures, duration
    /// percentiles, the `top` error types and message patterns, and with `bucket_ns` a trend.
    fn tools(
        &self,
        range: TimeRange,
        top: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError>;

    /// The metrics received in `range`: name, kind, unit and how many series.
    fn metric_names(&self, range: TimeRange) -> Result<Vec<MetricInfo>, QueryError>;

    /// The series of one metric over a range, one point per step (at most 1,440 points, at
    /// most 200 series, the busiest first).
    fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError>;
}
