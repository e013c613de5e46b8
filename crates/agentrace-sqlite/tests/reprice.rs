//! Repricing stored spans keeps span rows and trace summaries consistent.

use agentrace_store::RecordWriter;
use agentrace_store::Repairs;
use agentrace_store::TraceReader;
use std::sync::Arc;

use agentrace_core::{Cost, Resource, SpanId, SpanKind, SpanRecord, TokenUsage, TraceId, Usd};
use agentrace_sqlite::{CostUpdate, SpanFilter, SpanQuery, SqliteStore, TraceFilter};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn llm(trace: TraceId, start: u64, cost: Option<i64>) -> SpanRecord {
    let mut s = SpanRecord::new(
        trace,
        SpanId::random(),
        "chat gpt-4o",
        start,
        start + 10,
        Arc::new(Resource::new("svc")),
    );
    s.kind = SpanKind::Llm;
    s.request_model = Some("gpt-4o".into());
    s.usage = TokenUsage::new(1_000, 100);
    s.cost = cost.map(|n| Cost::from_parts(Usd::from_nanos(n), Usd::ZERO, Usd::ZERO, Usd::ZERO));
    s
}

#[test]
fn update_costs_changes_spans_and_trace_summaries() -> TestResult {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("a.db"))?;
    let trace = TraceId::random();
    let spans = vec![
        llm(trace, 1_000, Some(100)),
        llm(trace, 2_000, None),
        llm(TraceId::random(), 3_000, Some(7)),
    ];
    store.write_spans(&spans)?;
    let new_cost = |n| {
        Some(Cost::from_parts(
            Usd::from_nanos(n),
            Usd::ZERO,
            Usd::ZERO,
            Usd::ZERO,
        ))
    };
    let updates = [
        CostUpdate {
            trace_id: trace,
            span_id: spans[0].span_id,
            cost: new_cost(250),
        },
        CostUpdate {
            trace_id: trace,
            span_id: spans[1].span_id,
            cost: new_cost(50),
        },
        // Unchanged, and not stored: nothing happens.
        CostUpdate {
            trace_id: spans[2].trace_id,
            span_id: spans[2].span_id,
            cost: new_cost(7),
        },
        CostUpdate {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            cost: new_cost(1),
        },
    ];
    assert_eq!(store.update_costs(&updates)?, 2);
    let stored = store
        .spans(&SpanQuery::new(SpanFilter::new().trace_id(trace)))?
        .spans;
    let mut totals: Vec<_> = stored
        .iter()
        .map(|s| s.cost.map(|c| c.total.nanos()))
        .collect();
    totals.sort();
    assert_eq!(totals, [Some(50), Some(250)]);
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    let summary = page
        .traces
        .iter()
        .find(|t| t.trace_id == trace)
        .map(|t| (t.cost, t.unpriced_count));
    assert_eq!(
        summary,
        Some((Some(Usd::from_nanos(300)), 0)),
        "the trace summary follows"
    );
    assert_eq!(
        store.update_costs(&updates)?,
        0,
        "repricing again changes nothing"
    );
    Ok(())
}
