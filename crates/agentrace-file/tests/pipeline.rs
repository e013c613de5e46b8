//! End to end through a real core `Pipeline`.

mod common;

use std::sync::Arc;

use agentrace_core::testing::fixtures::{sample_events, sample_spans};
use agentrace_core::{Pipeline, TraceId};
use agentrace_file::{JsonlSink, Rotation, read_all};
use common::TestResult;

#[test]
fn pipeline_to_files_and_back() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::daily().with_max_bytes(64 << 10))
        .build()?;
    let pipeline = Pipeline::builder().with_sink(sink).build()?;

    let trace = TraceId::random();
    let mut sent_spans = Vec::new();
    let mut sent_events = Vec::new();
    for round in 0..20u64 {
        let start = 1_700_000_000_000_000_000 + round * 1_000_000;
        sent_spans.extend(sample_spans(trace, start));
        sent_events.extend(sample_events(trace, start));
    }
    for s in &sent_spans {
        assert!(pipeline.submit_span(s.clone()), "span dropped");
    }
    for e in &sent_events {
        assert!(pipeline.submit_event(e.clone()), "event dropped");
    }
    pipeline.flush()?;

    let read = read_all(dir.path())?;
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(read.spans, sent_spans, "spans, in submission order");
    assert_eq!(read.events, sent_events, "events, in submission order");
    assert!(
        std::fs::read_dir(dir.path())?.count() > 1,
        "the 64 KiB limit rotated files"
    );

    let stats = pipeline.stats();
    assert_eq!(stats.total_lost(), 0, "{stats:?}");
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn a_shared_sink_is_shut_down_by_the_pipeline() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    let pipeline = Pipeline::builder()
        .with_shared_sink(Arc::new(sink.clone()))
        .build()?;
    let sent = sample_events(TraceId::random(), 1);
    for e in &sent {
        assert!(pipeline.submit_event(e.clone()));
    }
    pipeline.shutdown()?; // flushes, then shuts the sink down
    assert_eq!(sink.current_file(), None, "shut down by the pipeline");
    assert_eq!(read_all(dir.path())?.events, sent);
    Ok(())
}
