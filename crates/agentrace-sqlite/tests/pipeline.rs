//! End to end: records through a real core pipeline into the store, then queried.

mod common;

use agentrace_core::{EventKind, Level, Pipeline, SpanKind, TokenUsage, Usd};
use agentrace_sqlite::{
    AggregateQuery, EventFilter, EventQuery, GroupBy, SpanFilter, TimeRange, TraceFilter,
};
use agentrace_store::Analytics;
use agentrace_store::SessionSort;
use agentrace_store::TraceReader;
use common::{MS, T0, TestResult, event, llm, sid, span, tid};

#[test]
fn records_submitted_to_a_pipeline_are_queryable_after_flush() -> TestResult {
    let (_dir, store) = common::open()?;
    let pipeline = Pipeline::builder().with_sink(store.clone()).build()?;
    for t in 0..50u64 {
        let mut root = span(
            tid(t),
            sid(t * 10),
            None,
            "invoke_agent planner",
            T0 + t * 100 * MS,
            50 * MS,
        );
        root.kind = SpanKind::Agent;
        root.session_id = Some(format!("session-{}", t % 5).into());
        for c in 1..=3u64 {
            let mut call = llm(
                tid(t),
                sid(t * 10 + c),
                "gpt-4o",
                T0 + t * 100 * MS + c * MS,
                10 * MS,
                TokenUsage::new(100, 10),
                Some(1_000),
            );
            call.parent_span_id = Some(root.span_id);
            call.session_id = root.session_id.clone();
            assert!(pipeline.submit_span(call));
        }
        assert!(pipeline.submit_span(root));
        let mut e = event(
            T0 + t * 100 * MS,
            Level::Info,
            EventKind::AgentStart,
            "start",
        );
        e.trace_id = Some(tid(t));
        assert!(pipeline.submit_event(e));
    }
    pipeline.flush()?;

    let tree = store.trace(tid(7))?.ok_or("trace 7 missing")?;
    assert_eq!(tree.nodes.len(), 4);
    assert_eq!(tree.nodes[0].span.name, "invoke_agent planner");
    assert_eq!(tree.nodes[0].children.len(), 3);
    let summary = store.overview_exact(TimeRange::ALL)?;
    assert_eq!(
        (summary.traces, summary.spans, summary.requests),
        (50, 200, 150)
    );
    assert_eq!(summary.cost, Some(Usd::from_nanos(150_000)));
    assert_eq!(summary.usage.total_tokens(), 150 * 110);
    let page = store.list_traces(&TraceFilter::new().session("session-2"), None, 100)?;
    assert_eq!(page.traces.len(), 10);
    assert_eq!(
        store
            .sessions_by(TimeRange::ALL, SessionSort::Recent, 100)?
            .len(),
        5
    );
    let by_model = store.aggregate_exact(&AggregateQuery::new(
        SpanFilter::new().kind(SpanKind::Llm),
        [GroupBy::Model],
    ))?;
    assert_eq!(by_model.len(), 1);
    assert_eq!(by_model[0].duration.p99_ns, 10 * MS);
    assert_eq!(
        store
            .events(&EventQuery::new(EventFilter::new()))?
            .events
            .len(),
        50
    );

    let stats = pipeline.stats();
    assert_eq!(stats.dropped_queue_full, 0);
    pipeline.shutdown()?;
    assert!(store.is_shut_down());
    // The application keeps querying after the pipeline is gone.
    assert_eq!(store.overview_exact(TimeRange::ALL)?.spans, 200);
    Ok(())
}
