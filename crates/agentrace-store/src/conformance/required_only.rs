//! [`RequiredOnly`]: a store seen through the required methods of its traits alone, so that
//! the suite checks every provided method's answer (a new store's first answers, before it
//! overrides any for speed) against the same expectations as the store's own.

use agentrace_core::{Event, Measurement, Score, SpanRecord};

use crate::{
    AggregateQuery, AggregateRow, AlertHistory, AlertRecord, Analytics, Cursor, EvaluatorRules,
    EventPage, EventQuery, Fleet, Health, InsertReport, MetricInfo, MetricQuery, MetricSeries,
    PastChanges, QueryError, RecordKind, RecordWriter, Repaired, Repairs, Retention,
    RetentionError, ScorePage, ScoreQuery, Scores, SpanPage, SpanQuery, SpanRows, Store,
    StoreHealth, StoredRule, TimeRange, TraceFilter, TraceOrder, TracePage, TraceReader,
    WriteError,
};

/// `S` through its traits' required methods only: every provided method answers with its
/// default. Run the suite on it too (`run_all(|| Ok(Arc::new(RequiredOnly(store))))`).
#[derive(Debug)]
pub struct RequiredOnly<S>(pub S);

impl<S: Store> RecordWriter for RequiredOnly<S> {
    fn insert_spans(&self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError> {
        self.0.insert_spans(rows)
    }

    fn insert_events(&self, events: &[Event]) -> Result<InsertReport, WriteError> {
        self.0.insert_events(events)
    }

    fn insert_measurements(
        &self,
        measurements: &[Measurement],
    ) -> Result<InsertReport, WriteError> {
        self.0.insert_measurements(measurements)
    }
}

impl<S: Store> TraceReader for RequiredOnly<S> {
    fn list_traces_by(
        &self,
        filter: &TraceFilter,
        order: TraceOrder,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError> {
        self.0.list_traces_by(filter, order, cursor, limit)
    }

    fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError> {
        self.0.spans(q)
    }

    fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError> {
        self.0.events(q)
    }
}

impl<S: Store> Analytics for RequiredOnly<S> {
    fn aggregate_exact(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError> {
        self.0.aggregate_exact(q)
    }

    fn metric_names(&self, range: TimeRange) -> Result<Vec<MetricInfo>, QueryError> {
        self.0.metric_names(range)
    }

    fn metric(&self, q: &MetricQuery) -> Result<Vec<MetricSeries>, QueryError> {
        self.0.metric(q)
    }
}

impl<S: Store> AlertHistory for RequiredOnly<S> {
    fn insert_alert_records(&self, records: &[AlertRecord]) -> Result<(), WriteError> {
        self.0.insert_alert_records(records)
    }

    fn alert_records(
        &self,
        alert: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, QueryError> {
        self.0.alert_records(alert, before, limit)
    }
}

impl<S: Store> Retention for RequiredOnly<S> {
    fn delete_before(
        &self,
        kind: RecordKind,
        cutoff_unix_nano: u64,
    ) -> Result<usize, RetentionError> {
        self.0.delete_before(kind, cutoff_unix_nano)
    }

    fn stored_bytes(&self, kind: Option<RecordKind>) -> Result<u64, QueryError> {
        self.0.stored_bytes(kind)
    }

    fn nth_oldest(&self, kind: RecordKind, n: u64) -> Result<Option<u64>, QueryError> {
        self.0.nth_oldest(kind, n)
    }
}

impl<S: Store> Repairs for RequiredOnly<S> {
    fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError> {
        self.0.repair_spans(spans)
    }

    fn past_changes(&self, cursor: u64) -> Result<PastChanges, QueryError> {
        self.0.past_changes(cursor)
    }
}

impl<S: Store> Health for RequiredOnly<S> {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn health(&self) -> Result<StoreHealth, QueryError> {
        self.0.health()
    }

    fn close(&self) -> Result<(), WriteError> {
        self.0.close()
    }
}

impl<S: Store> Fleet for RequiredOnly<S> {}

impl<S: Store> Scores for RequiredOnly<S> {
    fn write_scores(&self, scores: &[Score]) -> Result<(), WriteError> {
        self.0.write_scores(scores)
    }

    fn scores(&self, query: &ScoreQuery) -> Result<ScorePage, QueryError> {
        self.0.scores(query)
    }

    fn delete_score(&self, id: &str) -> Result<bool, WriteError> {
        self.0.delete_score(id)
    }
}

impl<S: Store> EvaluatorRules for RequiredOnly<S> {
    fn evaluator_rules(&self) -> Result<Vec<StoredRule>, QueryError> {
        self.0.evaluator_rules()
    }

    fn put_evaluator_rule(&self, rule: &StoredRule) -> Result<(), WriteError> {
        self.0.put_evaluator_rule(rule)
    }

    fn delete_evaluator_rule(&self, name: &str) -> Result<bool, WriteError> {
        self.0.delete_evaluator_rule(name)
    }
}
