//! Processors: transform or drop records on their way from sources to sinks.
//!
//! Processors run in order, never on the application's thread, for every record whichever
//! source it came from: on the pipeline's dispatcher thread for the `tracing` layer's records,
//! on `agentrace serve`'s receiving threads for OTLP — both through one runner,
//! [`Processors`]. Built-ins: [`Filter`](crate::Filter) and [`SamplingProcessor`](crate::SamplingProcessor); pricing,
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
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

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

    /// Moves what was emitted to the end of `out`, the increments of each counter series
    /// summed into one (`model::merge_counters`), keeping this
    /// context's capacity for reuse.
    pub fn drain_into(&mut self, out: &mut Vec<Measurement>) {
        crate::model::merge_counters(&mut self.measurements);
        out.append(&mut self.measurements);
    }

    /// Whether nothing was emitted since it was last drained.
    pub fn is_empty(&self) -> bool {
        self.measurements.is_empty()
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

/// What became of a record the processors ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Every processor kept it.
    Kept,
    /// A processor dropped it.
    Dropped,
    /// A processor panicked on it: it is dropped (and the caller counts the panic).
    Panicked,
}

impl Outcome {
    /// Whether the record goes on to the sinks or the store.
    pub fn is_kept(self) -> bool {
        self == Self::Kept
    }
}

/// The one runner of a chain of processors, used by every place records pass through them
/// (the library's pipeline, `agentrace serve`'s receivers): each record through the
/// processors in order until one drops it, a panicking processor caught (the record dropped,
/// never the caller), and the hooks that release what processors hold back. Measurements the
/// processors emit collect in the [`ProcessContext`]; whoever drains it (at each batch) gets
/// the counter increments of a series summed. Cheap to clone and `Sync`: many threads may run
/// records through one chain at once (processors keep their state behind their own locks).
#[derive(Debug, Clone, Default)]
pub struct Processors {
    chain: Arc<[Arc<dyn Processor>]>,
}

impl Processors {
    /// Runs `chain`, in its order.
    pub fn new(chain: Vec<Arc<dyn Processor>>) -> Self {
        Self {
            chain: chain.into(),
        }
    }

    /// The processors, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Processor>> {
        self.chain.iter()
    }

    /// Runs the processors on a span.
    pub fn span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Outcome {
        self.run(span, cx, |p, s, cx| p.process_span(s, cx))
    }

    /// Runs the processors on an event.
    pub fn event(&self, event: &mut Event, cx: &mut ProcessContext) -> Outcome {
        self.run(event, cx, |p, e, cx| p.process_event(e, cx))
    }

    fn run<T>(
        &self,
        record: &mut T,
        cx: &mut ProcessContext,
        process: impl Fn(&dyn Processor, &mut T, &mut ProcessContext) -> Verdict,
    ) -> Outcome {
        for p in self.chain.iter() {
            match catch_unwind(AssertUnwindSafe(|| process(&**p, record, cx))) {
                Ok(Verdict::Keep) => {}
                Ok(Verdict::Drop) => return Outcome::Dropped,
                Err(_) => return Outcome::Panicked,
            }
        }
        Outcome::Kept
    }

    /// Lets every processor emit what it holds back ([`Processor::flush`]); returns how many
    /// panicked.
    pub fn flush(&self, cx: &mut ProcessContext) -> usize {
        self.release(cx, |p, cx| p.flush(cx))
    }

    /// Lets every processor emit what is left, once, at the end ([`Processor::shutdown`]);
    /// returns how many panicked.
    pub fn shutdown(&self, cx: &mut ProcessContext) -> usize {
        self.release(cx, |p, cx| p.shutdown(cx))
    }

    fn release(
        &self,
        cx: &mut ProcessContext,
        hook: impl Fn(&dyn Processor, &mut ProcessContext),
    ) -> usize {
        let mut panics = 0;
        for p in self.chain.iter() {
            if catch_unwind(AssertUnwindSafe(|| hook(&**p, cx))).is_err() {
                panics += 1;
            }
        }
        panics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InstrumentKind, Resource, SpanId, TraceId};

    /// Counts every span it sees, drops those named "drop", panics on "panic"; emits one
    /// count on shutdown and panics on flush.
    #[derive(Debug)]
    struct Probe;

    impl Processor for Probe {
        fn name(&self) -> &str {
            "probe"
        }

        fn process_span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Verdict {
            cx.emit(Measurement::new("seen", InstrumentKind::Counter, 1.0));
            match span.name.as_str() {
                "drop" => Verdict::Drop,
                "panic" => panic!("probe"),
                _ => Verdict::Keep,
            }
        }

        fn flush(&self, _: &mut ProcessContext) {
            panic!("flush");
        }

        fn shutdown(&self, cx: &mut ProcessContext) {
            cx.emit(Measurement::new("left", InstrumentKind::Gauge, 2.0));
        }
    }

    fn span(name: &str) -> SpanRecord {
        SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            name,
            0,
            1,
            Arc::new(Resource::new("svc")),
        )
    }

    #[test]
    fn the_runner_keeps_drops_and_survives_panics_and_sums_what_is_emitted() {
        let processors = Processors::new(vec![Arc::new(Probe), Arc::new(Probe)]);
        let mut cx = ProcessContext::new();
        assert_eq!(processors.span(&mut span("ok"), &mut cx), Outcome::Kept);
        assert_eq!(
            processors.span(&mut span("drop"), &mut cx),
            Outcome::Dropped
        );
        assert_eq!(
            processors.span(&mut span("panic"), &mut cx),
            Outcome::Panicked
        );
        assert_eq!(
            processors.flush(&mut cx),
            2,
            "each processor's flush panicked"
        );
        assert_eq!(processors.shutdown(&mut cx), 0);
        let mut out = Vec::new();
        cx.drain_into(&mut out);
        assert!(cx.is_empty());
        // "ok" passed both processors, "drop" and "panic" stopped at the first.
        let seen: Vec<f64> = out
            .iter()
            .filter(|m| m.name == "seen")
            .map(|m| m.value)
            .collect();
        assert_eq!(seen, vec![4.0], "one counter series, summed");
        assert_eq!(out.iter().filter(|m| m.name == "left").count(), 2);
    }
}
