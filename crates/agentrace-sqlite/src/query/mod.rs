//! The query API: records, traces, aggregates. Every query runs on a read connection of its
//! own and sees the last committed state, even while a write is in progress.

use agentrace_core::{SpanId, SpanRecord, TraceId};
use agentrace_store::{
    AggregateQuery, AggregateRow, Analytics, CostTally, CostTallyQuery, Cursor, EventPage,
    EventQuery, MetricInfo, MetricQuery, MetricSeries, Overview, OverviewQuery, QueryError,
    RespondingSpan, RollupAnswer, SessionCost, SessionSort, SessionSummary, SpanPage, SpanQuery,
    Summary, TimeRange, ToolsAnswer, TraceDetail, TraceFilter, TraceOrder, TracePage, TraceReader,
    TraceTree, UserSummary,
};

use agentrace_store::search::{SearchPage, SearchQuery, scan};
use agentrace_store::series::{align, whole_minutes};

use crate::store::SqliteStore;

mod aggregate;
mod cost;
mod filter;
mod metric_points;
mod people;
mod records;
mod rollups;
mod traces;

pub(crate) use aggregate::aggregate as exact_aggregate;

impl TraceReader for SqliteStore {
    fn list_traces_by(
        &self,
        filter: &TraceFilter,
        order: TraceOrder,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError> {
        traces::list_traces_by(self, filter, order, cursor, limit)
    }

    fn trace_tree(
        &self,
        trace_id: TraceId,
        detail: TraceDetail,
    ) -> Result<Option<TraceTree>, QueryError> {
        traces::trace_tree(self, trace_id, detail)
    }

    fn span(&self, trace_id: TraceId, span_id: SpanId) -> Result<Option<SpanRecord>, QueryError> {
        traces::span(self, trace_id, span_id)
    }

    fn turn_spans(&self, trace_id: TraceId) -> Result<Vec<SpanRecord>, QueryError> {
        traces::turn_spans(self, trace_id)
    }

    fn last_llm_call_before(
        &self,
        trace_id: TraceId,
        parent: SpanId,
        ended_by_unix_nano: u64,
    ) -> Result<Option<SpanRecord>, QueryError> {
        traces::last_llm_call_before(self, trace_id, parent, ended_by_unix_nano)
    }

    fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        people::sessions_by(self, range, sort, limit)
    }

    fn session(&self, session_id: &str) -> Result<Option<SessionSummary>, QueryError> {
        people::session(self, session_id)
    }

    fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError> {
        people::users(self, range, sort, limit)
    }

    fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError> {
        records::spans(self, q)
    }

    fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError> {
        records::events(self, q)
    }

    /// From the trigram indexes where they narrow the query, else by a scan
    /// (`crate::search`).
    fn search(&self, q: &SearchQuery) -> Result<SearchPage, QueryError> {
        match self.read(|conn| crate::search::from_index(conn, q))? {
            Some(page) => Ok(page),
            None => scan(q, |page| self.spans(page)),
        }
    }

    fn responding_spans(
        &self,
        response_ids: &[String],
        range: TimeRange,
    ) -> Result<Vec<RespondingSpan>, QueryError> {
        crate::scores::responding_spans(self, response_ids, range)
    }

    fn judged_spans(
        &self,
        targets: &[agentrace_core::ScoreTarget],
    ) -> Result<Vec<SpanRecord>, QueryError> {
        crate::scores::judged_spans(self, targets)
    }
}

impl Analytics for SqliteStore {
    fn aggregate_exact(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError> {
        self.read(|conn| aggregate::aggregate(conn, &q.filter, &q.group_by))
    }

    fn overview_exact(&self, range: TimeRange) -> Result<Summary, QueryError> {
        self.snapshot(|conn| aggregate::summary(conn, range))
    }

    fn aggregate(&self, q: &AggregateQuery) -> Result<RollupAnswer, QueryError> {
        rollups::rollup(self, q)
    }

    fn overview(&self, q: &OverviewQuery) -> Result<Overview, QueryError> {
        whole_minutes(q.bucket_ns, "the series' bucket width")?;
        let range = align(q.range);
        self.snapshot(|conn| rollups::overview(conn, range, q.bucket_ns))
    }

    fn tools(
        &self,
        range: TimeRange,
        top: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError> {
        whole_minutes(bucket_ns, "the trend's bucket width")?;
        let range = align(range);
        self.snapshot(|conn| rollups::tools(conn, range, top, bucket_ns))
    }

    fn metric_names(&self, range: TimeRange) -> Result<Vec<MetricInfo>, QueryError> {
        metric_points::metric_names(self, range)
    }

    fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError> {
        metric_points::metric(self, q)
    }

    fn cost_tally_by_bucket(
        &self,
        q: &CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        cost::cost_tally_by_bucket(self, q, width_ns)
    }

    fn session_costs_by_bucket(
        &self,
        q: &CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<SessionCost>, QueryError> {
        cost::session_costs_by_bucket(self, q, width_ns)
    }
}
