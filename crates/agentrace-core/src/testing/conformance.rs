//! The conformance suite every sink crate runs, as `object_store`'s integration suite.
//!
//! A backend implements [`Readback`] in its tests (reading back through its own reader or
//! query API) and calls [`run`]:
//!
//! ```text
//! #[tokio::test]
//! async fn conformance() {
//!     let sink = MySink::open(tempdir)?;
//!     agentrace_core::testing::conformance::run(Arc::new(MyReadback(sink))).await;
//! }
//! ```
//!
//! The cases check round-trip fidelity of every field of spans and events (unicode, nested
//! attributes, optional fields absent and present, cost present and absent), empty and large
//! batches, concurrent exports, idempotent flush, and shutdown (later exports fail with
//! [`ExportError::ShutDown`], never panic). Each case uses its own trace id, so one sink serves
//! the whole suite.

use std::sync::Arc;

use async_trait::async_trait;

use super::fixtures::{llm_span, sample_events, sample_spans};
use crate::model::{Event, SpanRecord, TraceId};
use crate::sink::{BoxError, ExportError, Sink};

/// Reads back what a sink stored, so the suite can compare it with what was sent.
#[async_trait]
pub trait Readback: Send + Sync + 'static {
    /// The sink under test.
    fn sink(&self) -> &dyn Sink;
    /// Every span stored.
    async fn read_spans(&self) -> Result<Vec<SpanRecord>, BoxError>;
    /// Every event stored.
    async fn read_events(&self) -> Result<Vec<Event>, BoxError>;
}

fn key(s: &SpanRecord) -> (TraceId, crate::SpanId) {
    (s.trace_id, s.span_id)
}

async fn spans_of(r: &dyn Readback, trace: TraceId) -> Vec<SpanRecord> {
    let mut spans: Vec<_> = match r.read_spans().await {
        Ok(spans) => spans.into_iter().filter(|s| s.trace_id == trace).collect(),
        Err(e) => panic!("reading spans back failed: {e}"),
    };
    spans.sort_by_key(key);
    spans
}

async fn events_of(r: &dyn Readback, trace: TraceId) -> Vec<Event> {
    let mut events: Vec<_> = match r.read_events().await {
        Ok(events) => events
            .into_iter()
            .filter(|e| e.trace_id == Some(trace))
            .collect(),
        Err(e) => panic!("reading events back failed: {e}"),
    };
    events.sort_by_key(|e| e.time_unix_nano);
    events
}

async fn flush(r: &dyn Readback) {
    if let Err(e) = r.sink().flush().await {
        panic!("flush failed: {e}");
    }
}

/// Runs every case, shutdown last.
pub async fn run(r: Arc<dyn Readback>) {
    assert!(
        r.sink().as_span_sink().is_some(),
        "a conformant sink takes spans"
    );
    span_fidelity(&*r).await;
    empty_batches(&*r).await;
    large_batch(&*r).await;
    concurrent_exports(r.clone()).await;
    if r.sink().as_event_sink().is_some() {
        event_fidelity(&*r).await;
    }
    flush_is_idempotent(&*r).await;
    shutdown(&*r).await;
}

/// Every field of every kind of span survives.
pub async fn span_fidelity(r: &dyn Readback) {
    let trace = TraceId::random();
    let mut sent = sample_spans(trace, 1_700_000_000_000_000_000);
    let Some(sink) = r.sink().as_span_sink() else {
        return;
    };
    let (a, b) = sent.split_at(3);
    for part in [a, b] {
        if let Err(e) = sink.export_spans(part).await {
            panic!("export_spans failed: {e}");
        }
    }
    flush(r).await;
    sent.sort_by_key(key);
    let got = spans_of(r, trace).await;
    assert_eq!(got.len(), sent.len(), "span count");
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!(g, s, "span {} did not round-trip", s.name);
    }
}

/// Every field of every kind of event survives.
pub async fn event_fidelity(r: &dyn Readback) {
    let trace = TraceId::random();
    let sent = sample_events(trace, 1_700_000_000_000_000_000);
    let Some(sink) = r.sink().as_event_sink() else {
        return;
    };
    if let Err(e) = sink.export_events(&sent).await {
        panic!("export_events failed: {e}");
    }
    flush(r).await;
    let got = events_of(r, trace).await;
    assert_eq!(got.len(), sent.len(), "event count");
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!(g, s, "event {} did not round-trip", s.kind);
    }
}

/// Empty batches are accepted and store nothing.
pub async fn empty_batches(r: &dyn Readback) {
    let sink = r.sink();
    if let Some(s) = sink.as_span_sink() {
        assert!(s.export_spans(&[]).await.is_ok(), "empty span batch");
    }
    if let Some(s) = sink.as_event_sink() {
        assert!(s.export_events(&[]).await.is_ok(), "empty event batch");
    }
    flush(r).await;
}

/// A batch of 5,000 spans is stored whole.
pub async fn large_batch(r: &dyn Readback) {
    let trace = TraceId::random();
    let spans: Vec<_> = (0..5_000)
        .map(|i| llm_span(trace, None, 1_700_000_000_000_000_000 + i))
        .collect();
    let Some(sink) = r.sink().as_span_sink() else {
        return;
    };
    if let Err(e) = sink.export_spans(&spans).await {
        panic!("large export failed: {e}");
    }
    flush(r).await;
    assert_eq!(
        spans_of(r, trace).await.len(),
        spans.len(),
        "large batch count"
    );
}

/// Eight tasks exporting at once lose nothing.
pub async fn concurrent_exports(r: Arc<dyn Readback>) {
    let trace = TraceId::random();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8u64 {
        let r = r.clone();
        tasks.spawn(async move {
            let spans: Vec<_> = (0..100)
                .map(|i| llm_span(trace, None, 1_700_000_000_000_000_000 + t * 1_000 + i))
                .collect();
            match r.sink().as_span_sink() {
                Some(sink) => sink.export_spans(&spans).await.map_err(|e| e.to_string()),
                None => Ok(()),
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("concurrent export failed: {e}"),
            Err(e) => panic!("concurrent export task failed: {e}"),
        }
    }
    flush(&*r).await;
    assert_eq!(
        spans_of(&*r, trace).await.len(),
        800,
        "concurrent export count"
    );
}

/// Flushing twice in a row succeeds.
pub async fn flush_is_idempotent(r: &dyn Readback) {
    flush(r).await;
    flush(r).await;
}

/// After shutdown, exports fail with `ShutDown` and nothing panics; what was stored stays.
pub async fn shutdown(r: &dyn Readback) {
    let trace = TraceId::random();
    let sink = r.sink();
    let Some(spans) = sink.as_span_sink() else {
        return;
    };
    let before = vec![llm_span(trace, None, 1_700_000_000_000_000_000)];
    assert!(spans.export_spans(&before).await.is_ok());
    if let Err(e) = sink.shutdown().await {
        panic!("shutdown failed: {e}");
    }
    let after = spans
        .export_spans(&[llm_span(trace, None, 1_700_000_000_000_000_001)])
        .await;
    assert!(
        matches!(after, Err(ExportError::ShutDown)),
        "export after shutdown must fail with ShutDown, got {after:?}"
    );
    // A second shutdown and a flush after shutdown return (Ok or an error), never panic.
    let _ = sink.shutdown().await;
    let _ = sink.flush().await;
    assert_eq!(
        spans_of(r, trace).await.len(),
        1,
        "data exported before shutdown is kept"
    );
}
