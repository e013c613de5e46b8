//! The store as `agentrace-store`'s blocking traits: each method runs its async counterpart on
//! the store's runtime ([`ClickHouseStore::block_on`]). The server calls them from its
//! blocking pool and its writer thread, never from async code.

use agentrace_core::{Event, Measurement, Score, SpanId, SpanRecord, TraceId};
use agentrace_store::{
    AggregateQuery, AggregateRow, AlertHistory, AlertRecord, Analytics, Arrivals, CostUpdate,
    Cursor, EvaluatorRules, EventPage, EventQuery, Fleet, Health, HeldStatus, InsertReport,
    MetricInfo, MetricQuery, MetricSeries, Overview, OverviewQuery, QueryError, RecordKind,
    RecordWriter, Repaired, Repairs, RespondingSpan, Retention, RetentionError, RollupAnswer,
    ScorePage, ScoreQuery, Scores, SessionSort, SessionSummary, SpanPage, SpanQuery, SpanRows,
    StoreHealth, StoredRule, Summary, TimeRange, ToolsAnswer, TraceDetail, TraceFilter, TraceOrder,
    TracePage, TraceReader, TraceTree, UserSummary, Wanted, WriteError,
};

use agentrace_store::search::{SearchPage, SearchQuery, required_word_choices, scan};

use crate::held::HeldSpans;
use crate::store::ClickHouseStore;

impl RecordWriter for ClickHouseStore {
    fn insert_spans(&self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError> {
        self.block_on(self.write_spans(rows))
    }

    fn insert_events(&self, events: &[Event]) -> Result<InsertReport, WriteError> {
        self.block_on(self.write_events(events))
    }

    fn insert_measurements(
        &self,
        measurements: &[Measurement],
    ) -> Result<InsertReport, WriteError> {
        self.block_on(self.write_measurements(measurements))
    }
}

impl TraceReader for ClickHouseStore {
    fn list_traces_by(
        &self,
        filter: &TraceFilter,
        order: TraceOrder,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError> {
        self.block_on(ClickHouseStore::list_traces_by(
            self, filter, order, cursor, limit,
        ))
    }

    fn trace_tree(
        &self,
        trace_id: TraceId,
        detail: TraceDetail,
    ) -> Result<Option<TraceTree>, QueryError> {
        self.block_on(ClickHouseStore::trace(self, trace_id, detail))
    }

    fn span(&self, trace_id: TraceId, span_id: SpanId) -> Result<Option<SpanRecord>, QueryError> {
        self.block_on(ClickHouseStore::span(self, trace_id, span_id))
    }

    fn turn_spans(&self, trace_id: TraceId) -> Result<Vec<SpanRecord>, QueryError> {
        self.block_on(ClickHouseStore::turn_spans(self, trace_id))
    }

    fn last_llm_call_before(
        &self,
        trace_id: TraceId,
        parent: SpanId,
        ended_by_unix_nano: u64,
    ) -> Result<Option<SpanRecord>, QueryError> {
        self.block_on(ClickHouseStore::last_llm_call_before(
            self,
            trace_id,
            parent,
            ended_by_unix_nano,
        ))
    }

    fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        self.block_on(ClickHouseStore::sessions_by(self, range, sort, limit))
    }

    fn session(&self, session_id: &str) -> Result<Option<SessionSummary>, QueryError> {
        self.block_on(ClickHouseStore::session(self, session_id))
    }

    fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError> {
        self.block_on(ClickHouseStore::users(self, range, sort, limit))
    }

    fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError> {
        self.block_on(ClickHouseStore::spans(self, q))
    }

    fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError> {
        self.block_on(ClickHouseStore::events(self, q))
    }

    /// The provided scan, with the words every match holds (one of each `OR` of words) asked
    /// of the engine (`spans_holding`: `positionCaseInsensitiveUTF8` in the name, status,
    /// attribute values, span events and resource): it reads only the spans that may hold them.
    fn search(&self, q: &SearchQuery) -> Result<SearchPage, QueryError> {
        let choices = required_word_choices(&q.query);
        scan(q, |page| self.block_on(self.spans_holding(page, &choices)))
    }

    fn responding_spans(
        &self,
        response_ids: &[String],
        range: TimeRange,
    ) -> Result<Vec<RespondingSpan>, QueryError> {
        self.block_on(ClickHouseStore::responding_spans(self, response_ids, range))
    }

    fn judged_spans(
        &self,
        targets: &[agentrace_core::ScoreTarget],
    ) -> Result<Vec<agentrace_core::SpanRecord>, QueryError> {
        self.block_on(ClickHouseStore::judged_spans(self, targets))
    }
}

impl Analytics for ClickHouseStore {
    fn aggregate_exact(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError> {
        self.block_on(ClickHouseStore::aggregate(self, &q.filter, &q.group_by))
    }

    fn overview_exact(&self, range: TimeRange) -> Result<Summary, QueryError> {
        self.block_on(ClickHouseStore::summary(self, range))
    }

    fn aggregate(&self, q: &AggregateQuery) -> Result<RollupAnswer, QueryError> {
        self.block_on(ClickHouseStore::rollup(self, q))
    }

    fn overview(&self, q: &OverviewQuery) -> Result<Overview, QueryError> {
        self.block_on(ClickHouseStore::overview(self, q))
    }

    fn tools(
        &self,
        range: TimeRange,
        top: usize,
        bucket_ns: Option<u64>,
    ) -> Result<ToolsAnswer, QueryError> {
        self.block_on(ClickHouseStore::tools(self, range, top, bucket_ns))
    }

    fn metric_names(&self, range: TimeRange) -> Result<Vec<MetricInfo>, QueryError> {
        self.block_on(ClickHouseStore::metric_names(self, range))
    }

    fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError> {
        self.block_on(ClickHouseStore::metric(self, q))
    }

    fn cost_tally_by_bucket(
        &self,
        q: &agentrace_store::CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<(u64, agentrace_store::CostTally)>, QueryError> {
        self.block_on(ClickHouseStore::cost_tally_by_bucket(self, q, width_ns))
    }

    fn session_costs_by_bucket(
        &self,
        q: &agentrace_store::CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<agentrace_store::SessionCost>, QueryError> {
        self.block_on(ClickHouseStore::session_costs_by_bucket(self, q, width_ns))
    }
}

impl AlertHistory for ClickHouseStore {
    fn insert_alert_records(&self, records: &[AlertRecord]) -> Result<(), WriteError> {
        self.block_on(self.write_alerts(records))
    }

    fn alert_records(
        &self,
        alert: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, QueryError> {
        self.block_on(ClickHouseStore::alert_records(self, alert, before, limit))
    }

    fn latest_alert_records(&self) -> Result<Vec<AlertRecord>, QueryError> {
        self.block_on(ClickHouseStore::latest_alert_records(self))
    }
}

impl Retention for ClickHouseStore {
    fn delete_before(
        &self,
        kind: RecordKind,
        cutoff_unix_nano: u64,
    ) -> Result<usize, RetentionError> {
        self.block_on(ClickHouseStore::delete_before(self, kind, cutoff_unix_nano))
    }

    fn stored_bytes(&self, kind: Option<RecordKind>) -> Result<u64, QueryError> {
        self.block_on(ClickHouseStore::stored_bytes(self, kind))
    }

    fn count(&self, kind: RecordKind) -> Result<u64, QueryError> {
        self.block_on(ClickHouseStore::count(self, kind))
    }

    fn nth_oldest(&self, kind: RecordKind, n: u64) -> Result<Option<u64>, QueryError> {
        self.block_on(ClickHouseStore::nth_oldest(self, kind, n))
    }

    /// A TTL on the data type's tables: ClickHouse expires the rows itself.
    fn expire_after(
        &self,
        kind: RecordKind,
        max_age: Option<std::time::Duration>,
    ) -> Result<bool, RetentionError> {
        self.block_on(ClickHouseStore::expire_after(self, kind, max_age))
    }
}

impl Repairs for ClickHouseStore {
    fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError> {
        self.block_on(ClickHouseStore::repair_spans(self, spans))
    }

    fn update_costs(&self, updates: &[CostUpdate]) -> Result<usize, WriteError> {
        self.block_on(ClickHouseStore::update_costs(self, updates))
    }

    /// The spans this node holds awaiting their parent, of every project (`hold_awaiting`; 0
    /// if it holds none).
    /// A stored span never waits here: attribution is completed at each write, from what is
    /// stored, whichever node the parent reaches.
    fn spans_awaiting_parent(&self) -> usize {
        self.held_spans().map_or(0, HeldSpans::len)
    }

    fn past_changes(&self, cursor: u64) -> Result<agentrace_store::PastChanges, QueryError> {
        self.block_on(ClickHouseStore::past_changes(self, cursor))
    }
}

impl Health for ClickHouseStore {
    fn describe(&self) -> String {
        self.location()
    }

    fn health(&self) -> Result<StoreHealth, QueryError> {
        Ok(StoreHealth::new(
            self.block_on(ClickHouseStore::schema_version(self))?,
            self.block_on(ClickHouseStore::disk_usage(self))?,
            self.shut_down(),
        ))
    }

    fn held(&self) -> Option<HeldStatus> {
        self.held_spans().map(HeldSpans::status)
    }

    /// Every write was answered once ClickHouse had it: nothing is left to flush.
    /// Writes every span held (`hold_awaiting`).
    fn close(&self) -> Result<(), WriteError> {
        self.block_on(self.write_held(true)).map(|_| ())
    }
}

impl EvaluatorRules for ClickHouseStore {
    fn evaluator_rules(&self) -> Result<Vec<StoredRule>, QueryError> {
        self.block_on(ClickHouseStore::evaluator_rules(self))
    }

    fn put_evaluator_rule(&self, rule: &StoredRule) -> Result<(), WriteError> {
        self.block_on(ClickHouseStore::put_evaluator_rule(self, rule))
    }

    fn delete_evaluator_rule(&self, name: &str) -> Result<bool, WriteError> {
        self.block_on(ClickHouseStore::delete_evaluator_rule(self, name))
    }
}

impl Scores for ClickHouseStore {
    fn write_scores(&self, scores: &[Score]) -> Result<(), WriteError> {
        self.block_on(ClickHouseStore::write_scores(self, scores))
    }

    fn scores(&self, query: &ScoreQuery) -> Result<ScorePage, QueryError> {
        self.block_on(self.read_scores(query))
    }

    fn delete_score(&self, id: &str) -> Result<bool, WriteError> {
        self.block_on(ClickHouseStore::delete_score(self, id))
    }

    fn score_names(&self, range: TimeRange) -> Result<Vec<agentrace_store::ScoreName>, QueryError> {
        self.block_on(ClickHouseStore::score_names(self, range))
    }

    fn score_tally_by_bucket(
        &self,
        name: &str,
        range: TimeRange,
        pass: &agentrace_store::ScorePass,
        width_ns: u64,
    ) -> Result<Vec<(u64, agentrace_store::ScoreTally)>, QueryError> {
        self.block_on(ClickHouseStore::score_tally_by_bucket(
            self, name, range, pass, width_ns,
        ))
    }
}

impl Fleet for ClickHouseStore {
    fn node(&self) -> Option<&str> {
        Some(self.node_id())
    }

    fn heartbeat(&self, at_unix_nano: u64) -> Result<(), WriteError> {
        self.block_on(ClickHouseStore::heartbeat(self, at_unix_nano))
    }

    fn nodes_since(&self, since_unix_nano: u64) -> Result<Vec<String>, QueryError> {
        self.block_on(ClickHouseStore::nodes_since(self, since_unix_nano))
    }

    fn adopt_held(&self, alive: &[String]) -> Result<usize, WriteError> {
        self.block_on(ClickHouseStore::adopt_held(self, alive))
    }

    fn arrivals(
        &self,
        since_unix_nano: u64,
        wanted: Wanted,
        limit: usize,
    ) -> Result<Arrivals, QueryError> {
        self.block_on(ClickHouseStore::arrivals(
            self,
            since_unix_nano,
            wanted,
            limit,
        ))
    }
}
