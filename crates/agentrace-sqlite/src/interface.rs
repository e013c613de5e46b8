//! The store as `agentrace-store`'s traits: what `agentrace serve` and the CLI call. Each
//! method is the inherent method of the same name (documented there, with what is particular
//! to SQLite).

use agentrace_core::{SpanId, SpanRecord, TraceId};
use agentrace_store::{
    AggregateQuery, AggregateRow, Analytics, Cursor, EventPage, EventQuery, Fleet, MetricInfo,
    MetricQuery, MetricSeries, Overview, OverviewQuery, QueryError, RespondingSpan, RollupAnswer,
    SessionSort, SessionSummary, SpanPage, SpanQuery, Summary, TimeRange, ToolsAnswer, TraceDetail,
    TraceFilter, TraceOrder, TracePage, TraceReader, TraceTree, UserSummary,
};

use crate::store::SqliteStore;

impl TraceReader for SqliteStore {
    fn list_traces_by(
        &self,
        filter: &TraceFilter,
        order: TraceOrder,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError> {
        SqliteStore::list_traces_by(self, filter, order, cursor, limit)
    }

    fn trace_tree(
        &self,
        trace_id: TraceId,
        detail: TraceDetail,
    ) -> Result<Option<TraceTree>, QueryError> {
        SqliteStore::trace_tree(self, trace_id, detail)
    }

    fn span(&self, trace_id: TraceId, span_id: SpanId) -> Result<Option<SpanRecord>, QueryError> {
        SqliteStore::span(self, trace_id, span_id)
    }

    fn turn_spans(&self, trace_id: TraceId) -> Result<Vec<SpanRecord>, QueryError> {
        SqliteStore::turn_spans(self, trace_id)
    }

    fn last_llm_call_before(
        &self,
        trace_id: TraceId,
        parent: SpanId,
        ended_by_unix_nano: u64,
    ) -> Result<Option<SpanRecord>, QueryError> {
        SqliteStore::last_llm_call_before(self, trace_id, parent, ended_by_unix_nano)
    }

    fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        SqliteStore::sessions_by(self, range, sort, limit)
    }

    fn session(&self, session_id: &str) -> Result<Option<SessionSummary>, QueryError> {
        SqliteStore::session(self, session_id)
    }

    fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError> {
        SqliteStore::users(self, range, sort, limit)
    }

    fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError> {
        SqliteStore::spans(self, q)
    }

    fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError> {
        SqliteStore::events(self, q)
    }

    fn responding_spans(
        &self,
        response_ids: &[String],
        range: TimeRange,
    ) -> Result<Vec<RespondingSpan>, QueryError> {
        SqliteStore::responding_spans(self, response_ids, range)
    }

    fn judged_spans(
        &self,
        targets: &[agentrace_core::ScoreTarget],
    ) -> Result<Vec<agentrace_core::SpanRecord>, QueryError> {
        SqliteStore::judged_spans(self, targets)
    }
}

impl Analytics for SqliteStore {
    fn aggregate(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError> {
        SqliteStore::aggregate(self, q)
    }

    fn summary(&self, range: TimeRange) -> Result<Summary, QueryError> {
        SqliteStore::summary(self, range)
    }

    fn rollup(&self, q: &AggregateQuery) -> Result<RollupAnswer, QueryError> {
        SqliteStore::rollup(self, q)
    }

    fn overview(&self, q: &OverviewQuery) -> Result<Overview, QueryError> {
        SqliteStore::overview(self, q)
    }

    fn tools(
        &self,
        range: TimeRange,
        top: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError> {
        SqliteStore::tools(self, range, top, bucket_ns)
    }

    fn metric_names(&self, range: TimeRange) -> Result<Vec<MetricInfo>, QueryError> {
        SqliteStore::metric_names(self, range)
    }

    fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError> {
        SqliteStore::metric(self, q)
    }

    fn cost_tally_by_bucket(
        &self,
        q: &agentrace_store::CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<(u64, agentrace_store::CostTally)>, QueryError> {
        SqliteStore::cost_tally_by_bucket(self, q, width_ns)
    }

    fn session_costs_by_bucket(
        &self,
        q: &agentrace_store::CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<agentrace_store::SessionCost>, QueryError> {
        SqliteStore::session_costs_by_bucket(self, q, width_ns)
    }
}

/// One process writes a SQLite file: the fleet is this node.
impl Fleet for SqliteStore {}
