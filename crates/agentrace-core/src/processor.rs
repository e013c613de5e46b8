//! Processors: transform or drop records on their way from sources to sinks.
//!
//! Processors run in order on the pipeline's dispatcher thread, never on the application's
//! thread, for every record whichever source it came from (the `tracing` layer, an OTLP
//! receiver). Built-ins: [`Filter`](crate::Filter) and [`SamplingProcessor`](crate::SamplingProcessor); pricing,
//! redaction, budgets and derived metrics plug in here too.
//!
//! # Writing a processor
//! Implement the hooks you need; the others keep records unchanged. Keep them fast (they are
//! on the path of every record) and never panic: a panic is caught, the record is dropped and
//! counted in [`PipelineStats::processor_panics`](crate::PipelineStats::processor_panics).
//! Measurements derived from records go into the [`ProcessContext`] and reach every
//! [`MetricSink`](crate::MetricSink).
//!
//! ```
//! use agentrace_core::{ProcessContext, Processor, SpanRecord, Verdict};
//!
//! /// Drops health-check spans.
//! #[derive(Debug)]
//! struct DropHealthChecks;
//!
//! impl Processor for DropHealthChecks {
//!     fn name(&self) -> &str { "drop-health-checks" }
//!     fn process_span(&self, span: &mut SpanRecord, _: &mut ProcessContext) -> Verdict {
//!         if span.name == "healthz" { Verdict::Drop } else { Verdict::Keep }
//!     }
//! }
//! ```

use std::fmt;

use crate::model::{Event, Measurement, SpanRecord};

/// Whether a record goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// Pass it to the next processor and the sinks.
    Keep,
    /// Drop it (counted as filtered).
    Drop,
}

/// What a processor can produce besides changing the record.
#[derive(Debug, Default)]
pub struct ProcessContext {
    measurements: Vec<Measurement>,
}

impl ProcessContext {
    /// A context with nothing emitted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Emits a measurement to the metric sinks.
    pub fn emit(&mut self, measurement: Measurement) {
        self.measurements.push(measurement);
    }

    /// Moves what was emitted to the end of `out`, keeping this context's capacity for reuse.
    pub fn drain_into(&mut self, out: &mut Vec<Measurement>) {
        out.append(&mut self.measurements);
    }

    /// Takes what was emitted.
    pub fn take_measurements(&mut self) -> Vec<Measurement> {
        std::mem::take(&mut self.measurements)
    }
}

/// Transforms or drops records. Runs on the pipeline's dispatcher thread, on the path of every
/// record, so its hooks are plain functions rather than `async` (a processor does no I/O; one
/// that must, hands the work to a sink). It is dyn-compatible: pipelines hold
/// `Arc<dyn Processor>`. A processor that holds records back (a tail sampler, an aggregator)
/// releases them on [`flush`](Processor::flush) and [`shutdown`](Processor::shutdown).
pub trait Processor: Send + Sync + fmt::Debug {
    /// A short name for stats.
    fn name(&self) -> &str;

    /// Processes a finished span.
    fn process_span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Verdict {
        let _ = (span, cx);
        Verdict::Keep
    }

    /// Processes an event.
    fn process_event(&self, event: &mut Event, cx: &mut ProcessContext) -> Verdict {
        let _ = (event, cx);
        Verdict::Keep
    }

    /// Emits what the processor holds back. Called on every pipeline flush.
    fn flush(&self, cx: &mut ProcessContext) {
        let _ = cx;
    }

    /// Emits what is left and releases resources. Called once, when the pipeline shuts down;
    /// by default the same as [`flush`](Processor::flush).
    fn shutdown(&self, cx: &mut ProcessContext) {
        self.flush(cx);
    }
}
