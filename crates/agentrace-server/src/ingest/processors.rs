//! What happens to received records before they are queued for the writer: OpenLIT's tool
//! spans recognized ([`crate::ingest::requested_tools`]), the processors (redact when on → price →
//! budget → derive metrics, the same as in-process records), then each span's row encoded for
//! the store.
//!
//! It runs on the threads that received the request, many at once, so that the writer thread
//! (the one thing that cannot run in parallel) only writes. The chain is run by
//! `agentrace_core::Processors`, the library pipeline's runner: a processor that panics drops
//! the record it panicked on (counted), never the server; the measurements derived from a
//! request leave with it, each counter series summed.

use std::sync::Arc;

use agentrace_core::{Event, Measurement, Outcome, ProcessContext, Processors, SpanRecord};
use agentrace_store::{EncodedSpans, WriteError};

use crate::store::SharedStore;
use crate::telemetry::counters::add;
use crate::telemetry::stats::ServerStats;

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
    processors: Processors,
    stats: Arc<ServerStats>,
    /// Read for the calls before OpenLIT's function spans ([`crate::ingest::requested_tools`]).
    store: SharedStore,
}

impl Processing {
    pub(crate) fn new(processors: Processors, stats: Arc<ServerStats>, store: SharedStore) -> Self {
        Self {
            processors,
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
                crate::ingest::requested_tools::mark(&mut spans, &*self.store);
                let before = spans.len();
                batch.spans = EncodedSpans::with_capacity(before);
                for mut span in spans {
                    if self.kept(self.processors.span(&mut span, &mut cx)) {
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
                    if self.kept(self.processors.event(&mut event, &mut cx)) {
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
        Ok(batch)
    }

    /// Lets the processors emit what they hold back, at shutdown: the measurements, for the
    /// fan-out pipeline (where a request's derived measurements go).
    pub(crate) fn shutdown(&self) -> Vec<Measurement> {
        let mut cx = ProcessContext::new();
        add(
            &self.stats.processor_panics,
            self.processors.shutdown(&mut cx) as u64,
        );
        let mut out = Vec::new();
        cx.drain_into(&mut out);
        out
    }

    /// Whether a record goes on; a panic is counted.
    fn kept(&self, outcome: Outcome) -> bool {
        if outcome == Outcome::Panicked {
            add(&self.stats.processor_panics, 1);
        }
        outcome.is_kept()
    }
}
