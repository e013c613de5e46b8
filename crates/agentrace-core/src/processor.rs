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

/// The processors every record passes through, in agentrace's one order: masking (secrets, or
/// the full [`Redactor`](crate::redact::Redactor) when configured) first, so nothing after it
/// sees what it removes; then pricing; then budgets, which count the price just stamped; then
/// metrics, which read it too; then the application's own. The library's pipeline
/// ([`Telemetry`](crate::Telemetry)) and `agentrace serve` both build their chains here.
///
/// ```
/// # #[cfg(feature = "redact")] {
/// use std::sync::Arc;
/// use agentrace_core::cost::{PriceBook, PriceTable};
/// use agentrace_core::ProcessorChain;
/// use agentrace_core::redact::Redactor;
///
/// let prices: Arc<dyn PriceBook> = Arc::new(PriceTable::builtin());
/// let chain = ProcessorChain::new()
///     .masking(Some(Arc::new(Redactor::secrets_only())))
///     .pricing(Some(prices))
///     .metrics(true)
///     .build();
/// let names: Vec<&str> = chain.iter().map(|p| p.name()).collect();
/// assert_eq!(names[0], "redact");
/// assert_eq!(names.len(), 3);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct ProcessorChain {
    #[cfg(feature = "redact")]
    masking: Option<Arc<crate::redact::Redactor>>,
    pricing: Option<Arc<dyn crate::cost::PriceBook>>,
    budgets: Option<Arc<crate::budget::Budgets>>,
    metrics: bool,
    then: Vec<Arc<dyn Processor>>,
}

impl ProcessorChain {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Masks (or redacts) records first, if given.
    #[cfg(feature = "redact")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
    #[must_use]
    pub fn masking(mut self, redactor: Option<Arc<crate::redact::Redactor>>) -> Self {
        self.masking = redactor;
        self
    }

    /// Prices LLM spans with `book`, if given.
    #[must_use]
    pub fn pricing(mut self, book: Option<Arc<dyn crate::cost::PriceBook>>) -> Self {
        self.pricing = book;
        self
    }

    /// Counts priced spans against `budgets`, if given.
    #[must_use]
    pub fn budgets(mut self, budgets: Option<Arc<crate::budget::Budgets>>) -> Self {
        self.budgets = budgets;
        self
    }

    /// Derives the GenAI metrics from spans.
    #[must_use]
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Adds the application's own processor, after agentrace's.
    #[must_use]
    pub fn then(mut self, processor: Arc<dyn Processor>) -> Self {
        self.then.push(processor);
        self
    }

    /// The processors, in order.
    pub fn build(self) -> Vec<Arc<dyn Processor>> {
        let mut chain: Vec<Arc<dyn Processor>> = Vec::new();
        #[cfg(feature = "redact")]
        if let Some(redactor) = self.masking {
            chain.push(redactor);
        }
        if let Some(book) = self.pricing {
            chain.push(Arc::new(crate::cost::PriceProcessor::new(book)));
        }
        if let Some(budgets) = self.budgets {
            chain.push(Arc::new(crate::budget::BudgetProcessor(budgets)));
        }
        if self.metrics {
            chain.push(Arc::new(crate::metrics::MetricsProcessor));
        }
        chain.extend(self.then);
        chain
    }
}
