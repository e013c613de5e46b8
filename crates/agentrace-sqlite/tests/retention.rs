//! Retention deletes exactly what is older than the cutoff, and trace rows follow.

mod common;

use agentrace_core::{EventKind, Level, TokenUsage, Usd};
use agentrace_sqlite::{
    EventFilter, EventQuery, RecordKind, SpanFilter, SpanQuery, TimeRange, TraceFilter,
};
use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::Retention;
use agentrace_store::TraceReader;
use common::{SEC, T0, TestResult, event, llm, sid, tid};

#[test]
fn deleting_spans_before_a_cutoff() -> TestResult {
    let (_dir, store) = common::open()?;
    // 7,000 spans (more than one chunk), 10 per trace, one per second... of nanoseconds.
    let spans: Vec<_> = (0..7_000u64)
        .map(|i| {
            llm(
                tid(i / 10),
                sid(i),
                "m",
                T0 + i,
                1,
                TokenUsage::new(1, 0),
                Some(2),
            )
        })
        .collect();
    for chunk in spans.chunks(1_000) {
        store.write_spans(chunk)?;
    }
    let cutoff = T0 + 4_005; // in the middle of trace 400
    assert_eq!(store.delete_before(RecordKind::Spans, cutoff)?, 4_005);
    let left = store.spans(&SpanQuery::default())?.spans;
    assert_eq!(left.len(), 2_995);
    assert!(left.iter().all(|s| s.start_time_unix_nano >= cutoff));
    assert_eq!(store.overview_exact(TimeRange::ALL)?.spans, 2_995);
    // Whole traces are gone from the list; the straddling one is recomputed.
    let page = store.list_traces(&TraceFilter::new(), None, 10_000)?;
    assert_eq!(page.traces.len(), 300);
    let straddling = page
        .traces
        .iter()
        .find(|t| t.trace_id == tid(400))
        .ok_or("trace 400 gone")?;
    assert_eq!(straddling.span_count, 5);
    assert_eq!(straddling.start_unix_nano, cutoff);
    assert_eq!(straddling.usage.input_tokens, 5);
    assert_eq!(straddling.cost, Some(Usd::from_nanos(10)));
    assert!(store.trace(tid(399))?.is_none());
    // The recomputed trace kept its place in the list: newest first is intact.
    let order: Vec<_> = page.traces.iter().map(|t| t.trace_id).collect();
    assert_eq!(order, (400..700).rev().map(tid).collect::<Vec<_>>());
    // Nothing older is left: deleting again removes nothing.
    assert_eq!(store.delete_before(RecordKind::Spans, cutoff)?, 0);
    Ok(())
}

#[test]
fn deleting_events_before_a_cutoff() -> TestResult {
    let (_dir, store) = common::open()?;
    let events: Vec<_> = (0..5_000u64)
        .map(|i| event(T0 + i * SEC, Level::Info, EventKind::Log, &format!("e{i}")))
        .collect();
    store.insert_events(&events)?;
    assert_eq!(
        store.delete_before(RecordKind::Events, T0 + 2_500 * SEC)?,
        2_500
    );
    let left = store.events(&EventQuery::new(EventFilter::new()))?.events;
    assert_eq!(left, events[2_500..]);
    // Spans are untouched by event retention.
    store.write_spans(&[llm(tid(1), sid(1), "m", T0, 1, TokenUsage::default(), None)])?;
    assert_eq!(store.delete_before(RecordKind::Events, u64::MAX)?, 2_500);
    assert_eq!(
        store.spans(&SpanQuery::new(SpanFilter::new()))?.spans.len(),
        1
    );
    Ok(())
}
