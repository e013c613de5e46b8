//! The sink conformance suite of agentrace-core, reading back through the query API.

mod common;

use agentrace_store::RecordWriter;
use agentrace_store::TraceReader;
use std::sync::Arc;

use agentrace_core::testing::conformance::{self, Readback};
use agentrace_core::{BoxError, Event, Sink, SpanRecord, async_trait};
use agentrace_sqlite::{EventFilter, EventQuery, SpanFilter, SpanQuery, SqliteStore};

struct Store(SqliteStore);

#[async_trait]
impl Readback for Store {
    fn sink(&self) -> &dyn Sink {
        &self.0
    }

    async fn read_spans(&self) -> Result<Vec<SpanRecord>, BoxError> {
        Ok(self.0.spans(&SpanQuery::new(SpanFilter::new()))?.spans)
    }

    async fn read_events(&self) -> Result<Vec<Event>, BoxError> {
        Ok(self.0.events(&EventQuery::new(EventFilter::new()))?.events)
    }
}

#[tokio::test]
async fn conformance_suite_passes() -> common::TestResult {
    let (_dir, store) = common::open()?;
    conformance::run(Arc::new(Store(store))).await;
    Ok(())
}

#[tokio::test]
async fn conformance_suite_passes_after_reopening() -> common::TestResult {
    // Fidelity must hold for what is read from the file by a fresh process, not only by
    // connections that wrote it.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    let trace = agentrace_core::TraceId::random();
    let mut sent = agentrace_core::testing::fixtures::sample_spans(trace, common::T0);
    let events = agentrace_core::testing::fixtures::sample_events(trace, common::T0);
    {
        let store = SqliteStore::open(&path)?;
        store.write_spans(&sent)?;
        store.insert_events(&events)?;
        store.shutdown().await?;
    }
    let store = SqliteStore::open(&path)?;
    let mut got = store
        .spans(&SpanQuery::new(SpanFilter::new().trace_id(trace)))?
        .spans;
    got.sort_by_key(|s| s.span_id);
    sent.sort_by_key(|s| s.span_id);
    assert_eq!(got, sent);
    let got = store
        .events(&EventQuery::new(EventFilter::new().trace_id(trace)))?
        .events;
    assert_eq!(got, events);
    Ok(())
}
