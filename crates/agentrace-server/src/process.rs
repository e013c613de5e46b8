//! What happens to received records before they are queued for the writer: OpenLIT's tool
//! spans recognized ([`crate::requested_tools`]), the processors (redact when on → price →
//! budget → derive metrics, the same as in-process records), then each span's row encoded for
//! SQLite.
//!
//! It runs on the threads that received the request, many at once, so that the writer thread
//! (the one thing that cannot run in parallel) only writes. Processors are `Sync` and keep
//! their state behind their own locks; a processor that panics drops the record it panicked on
//! (counted), never the server.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use agentrace_core::{Event, Measurement, ProcessContext, Processor, SpanRecord, Verdict};
use agentrace_store::{EncodedSpans, WriteError};

use crate::state::SharedStore;
use crate::state::{ServerStats, add};

/// The records of one decoded export request.
#[derive(Debug)]
pub(crate) enum Records {
    Spans(Vec<SpanRecord>),
    Events(Vec<Event>),
    Measurements(Vec<Measurement>),
}

impl Records {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Spans(r) => r.len(),
            Self::Events(r) => r.len(),
            Self::Measurements(r) => r.len(),
        }
    }
}

/// The records of one request, processed and ready to store.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) spans: EncodedSpans,
    pub(crate) events: Vec<Event>,
    /// Received metric data points.
    pub(crate) metrics: Vec<Measurement>,
    /// Measurements the processors derived from the spans and events.
    pub(crate) derived: Vec<Measurement>,
}

impl Batch {
    /// The records it holds, for the writer's queue budget.
    pub(crate) fn records(&self) -> usize {
        self.spans.len() + self.events.len() + self.metrics.len()
    }
}

/// The processors of received records.
#[derive(Debug, Clone)]
pub(crate) struct Processing {
    processors: Arc<[Arc<dyn Processor>]>,
    stats: Arc<ServerStats>,
    /// Read for the calls before OpenLIT's function spans ([`crate::requested_tools`]).
    store: SharedStore,
}

impl Processing {
    pub(crate) fn new(
        processors: Vec<Arc<dyn Processor>>,
        stats: Arc<ServerStats>,
        store: SharedStore,
    ) -> Self {
        Self {
            processors: processors.into(),
            stats,
            store,
        }
    }

    /// Marks OpenLIT's tool spans, runs the processors on every record (dropped ones are
    /// counted) and encodes the kept spans. Fails only if a span cannot be encoded.
    pub(crate) fn run(&self, records: Records) -> Result<Batch, WriteError> {
        let mut cx = ProcessContext::new();
        let mut batch = Batch::default();
        match records {
            Records::Spans(mut spans) => {
                crate::requested_tools::mark(&mut spans, &*self.store);
                let before = spans.len();
                batch.spans = EncodedSpans::with_capacity(before);
                for mut span in spans {
                    if self.keep(&mut cx, &mut span, |p, s, cx| p.process_span(s, cx)) {
                        batch.spans.push(span)?;
                    }
                }
                add(
                    &self.stats.spans.dropped,
                    (before - batch.spans.len()) as u64,
                );
            }
            Records::Events(events) => {
                let before = events.len();
                for mut event in events {
                    if self.keep(&mut cx, &mut event, |p, e, cx| p.process_event(e, cx)) {
                        batch.events.push(event);
                    }
                }
                add(
                    &self.stats.events.dropped,
                    (before - batch.events.len()) as u64,
                );
            }
            Records::Measurements(measurements) => batch.metrics = measurements,
        }
        cx.drain_into(&mut batch.derived);
        agentrace_core::metrics::merge_counters(&mut batch.derived);
        Ok(batch)
    }

    /// Runs the processors on one record; `false` if it is dropped.
    fn keep<T>(
        &self,
        cx: &mut ProcessContext,
        record: &mut T,
        process: impl Fn(&dyn Processor, &mut T, &mut ProcessContext) -> Verdict,
    ) -> bool {
        for p in self.processors.iter() {
            match catch_unwind(AssertUnwindSafe(|| process(&**p, record, cx))) {
                Ok(Verdict::Keep) => {}
                Ok(Verdict::Drop) => return false,
                Err(_) => {
                    add(&self.stats.processor_panics, 1);
                    return false;
                }
            }
        }
        true
    }
}
