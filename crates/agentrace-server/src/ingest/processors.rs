//! What happens to received records before they are queued for the writer: OpenLIT's tool
//! spans recognized ([`crate::ingest::requested_tools`]), the processors of the records'
//! project (redact when on → price → budget → derive metrics, the same as in-process records),
//! then each span's row encoded for the store. Each project's chain is its own
//! ([`ProjectChains`]: its masking, its prices, its budgets), so a project's cost never counts
//! for another's budgets, and its metrics go to its own `/metrics`.
//!
//! It runs on the threads that received the request, many at once, so that the writer thread
//! (the one thing that cannot run in parallel) only writes. The chain is run by
//! `agentrace_core::Processors`, the library pipeline's runner: a processor that panics drops
//! the record it panicked on (counted), never the server; the measurements derived from a
//! request leave with it, each counter series summed.

use std::sync::Arc;

use agentrace_core::{Event, Measurement, Outcome, ProcessContext, Processors, SpanRecord};
use agentrace_store::{EncodedSpans, ProjectId, WriteError};

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

/// The project records are stored in, and its store.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    pub(crate) project: ProjectId,
    pub(crate) store: SharedStore,
    /// Whether it is the configured project (its metrics go to the server's fan-out pipeline,
    /// with the forwarder; repairs are set up for it).
    pub(crate) configured: bool,
}

/// The records of one request for one project, processed and ready to store.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) destination: Destination,
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

/// Each project's processors and budgets, as its settings make them
/// (`crate::jobs::projects` keeps them).
pub(crate) trait ProjectChains: std::fmt::Debug + Send + Sync + 'static {
    /// The processors records of `project` run through.
    fn processors(&self, project: ProjectId) -> Processors;
    /// The budgets of `project`, if it has any.
    fn budgets(&self, project: ProjectId) -> Option<Arc<agentrace_core::budget::Budgets>>;
    /// Every project's processors (to shut them down).
    fn every_chain(&self) -> Vec<Processors>;
    /// Spans of `project` just committed: its online evaluations queue what they want (on the
    /// publisher's thread: they only queue).
    fn committed(&self, project: ProjectId, spans: &[SpanRecord]);
    /// Records metrics of `project` (received, or derived from its records) for its
    /// `/metrics` (the configured project's go through the fan-out pipeline instead).
    fn record_metrics(&self, project: ProjectId, measurements: &[Measurement]);
    /// The pipeline `project`'s committed records are forwarded through, if it forwards
    /// (the configured project's, when the server forwards, is the server's own).
    fn forwarder(&self, project: ProjectId) -> Option<agentrace_core::Pipeline>;
}

/// The processors of received records: each project's chain.
#[derive(Debug, Clone)]
pub(crate) struct Processing {
    chains: Arc<dyn ProjectChains>,
    stats: Arc<ServerStats>,
}

impl Processing {
    pub(crate) fn new(chains: Arc<dyn ProjectChains>, stats: Arc<ServerStats>) -> Self {
        Self { chains, stats }
    }

    /// Marks OpenLIT's tool spans (reading the calls before them in the destination's store),
    /// runs the destination's processors on every record (dropped ones are counted) and
    /// encodes the kept spans. Fails only if a span cannot be encoded.
    pub(crate) fn run(
        &self,
        destination: Destination,
        records: Records,
    ) -> Result<Batch, WriteError> {
        let mut cx = ProcessContext::new();
        let processors = &self.chains.processors(destination.project);
        let mut batch = Batch {
            destination,
            spans: EncodedSpans::new(),
            events: Vec::new(),
            metrics: Vec::new(),
            derived: Vec::new(),
        };
        match records {
            Records::Spans(mut spans) => {
                crate::ingest::requested_tools::mark(&mut spans, &*batch.destination.store);
                let before = spans.len();
                batch.spans = EncodedSpans::with_capacity(before);
                for mut span in spans {
                    if self.kept(processors.span(&mut span, &mut cx)) {
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
                    if self.kept(processors.event(&mut event, &mut cx)) {
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
        for chain in self.chains.every_chain() {
            add(&self.stats.processor_panics, chain.shutdown(&mut cx) as u64);
        }
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
