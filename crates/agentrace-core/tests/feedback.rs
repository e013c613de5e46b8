//! A sink whose export emits `tracing` events (as HTTP clients do) must not receive them back
//! through the application's agentrace layer: the pipeline silences its worker threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentrace_core::{Event, EventSink, ExportError, Sink, Telemetry, async_trait};

#[derive(Debug, Default)]
struct ChattySink {
    events: Arc<AtomicUsize>,
}

#[async_trait]
impl Sink for ChattySink {
    fn name(&self) -> &str {
        "chatty"
    }
    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }
}

#[async_trait]
impl EventSink for ChattySink {
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        // What hyper or tonic would say while sending, on the worker thread.
        tracing::warn!(batch = events.len(), "sending request to the receiver");
        self.events.fetch_add(events.len(), Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn a_sinks_own_events_do_not_come_back_to_it() {
    let events = Arc::new(AtomicUsize::new(0));
    let guard = Telemetry::builder()
        .with_sink(ChattySink {
            events: events.clone(),
        })
        .with_event_level(agentrace_core::Level::Trace)
        .install()
        .expect("installs the global subscriber");
    tracing::info!("one event from the application");
    for _ in 0..3 {
        guard.flush().expect("flushes");
    }
    assert_eq!(
        events.load(Ordering::Relaxed),
        1,
        "only the application's event"
    );
    guard.shutdown().expect("shuts down");
}
