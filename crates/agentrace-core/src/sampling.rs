//! Sampling: ratio by trace id, parent-based, errors always kept.

use crate::model::{SpanRecord, TraceId};
use crate::processor::{ProcessContext, Processor, Verdict};

/// Which traces to keep.
///
/// - **Ratio**: a trace is kept if its id falls under `ratio` (the OpenTelemetry
///   `TraceIdRatioBased` rule on the id's low 8 bytes), so every process that sees the same
///   trace decides the same way.
/// - **Parent-based** (default on): a span with a parent, local or remote (`traceparent`'s
///   sampled flag), follows its parent's decision.
/// - **Errors kept** (default on): a span that ends in error is exported even if its trace was
///   not sampled, so failures are never invisible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    ratio: f64,
    parent_based: bool,
    keep_errors: bool,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::always()
    }
}

impl Sampler {
    /// Keep everything.
    pub const fn always() -> Self {
        Self {
            ratio: 1.0,
            parent_based: true,
            keep_errors: true,
        }
    }

    /// Keep a `ratio` (clamped to 0..=1) of traces.
    pub fn ratio(ratio: f64) -> Self {
        Self {
            ratio: if ratio.is_nan() {
                1.0
            } else {
                ratio.clamp(0.0, 1.0)
            },
            ..Self::always()
        }
    }

    /// Whether children follow their parent's decision (default true).
    #[must_use]
    pub const fn parent_based(mut self, on: bool) -> Self {
        self.parent_based = on;
        self
    }

    /// Whether error spans are kept regardless (default true).
    #[must_use]
    pub const fn keep_errors(mut self, on: bool) -> Self {
        self.keep_errors = on;
        self
    }

    /// The configured ratio.
    pub const fn sample_ratio(&self) -> f64 {
        self.ratio
    }

    /// Whether errors are kept regardless of the decision.
    pub const fn keeps_errors(&self) -> bool {
        self.keep_errors
    }

    /// The ratio decision for a trace id alone.
    pub fn sample_trace(&self, trace_id: TraceId) -> bool {
        if self.ratio >= 1.0 {
            return true;
        }
        if self.ratio <= 0.0 {
            return false;
        }
        let bytes = trace_id.to_bytes();
        let mut low = [0u8; 8];
        low.copy_from_slice(&bytes[8..]);
        let x = u64::from_be_bytes(low) >> 1;
        let bound = (self.ratio * (1u64 << 63) as f64) as u64;
        x < bound
    }

    /// The decision for a new span: its parent's when parent-based and there is a parent,
    /// else the ratio decision.
    pub fn decide(&self, trace_id: TraceId, parent_sampled: Option<bool>) -> bool {
        match parent_sampled {
            Some(parent) if self.parent_based => parent,
            _ => self.sample_trace(trace_id),
        }
    }
}

/// Applies a [`Sampler`] in the pipeline, for records that did not pass through the `tracing`
/// layer's head sampling (OTLP ingest): drops spans of unsampled traces, except errors when
/// the sampler keeps them. Events are not sampled.
#[derive(Debug, Clone, Copy)]
pub struct SamplingProcessor(pub Sampler);

impl Processor for SamplingProcessor {
    fn name(&self) -> &str {
        "sampling"
    }

    fn process_span(&self, span: &mut SpanRecord, _: &mut ProcessContext) -> Verdict {
        if self.0.sample_trace(span.trace_id) || (self.0.keep_errors && span.is_error()) {
            Verdict::Keep
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_close_and_deterministic() {
        let sampler = Sampler::ratio(0.25);
        let ids: Vec<_> = (0..20_000).map(|_| TraceId::random()).collect();
        let kept = ids.iter().filter(|id| sampler.sample_trace(**id)).count();
        assert!(
            (4_500..5_500).contains(&kept),
            "kept {kept} of 20000 at 25%"
        );
        assert!(
            ids.iter()
                .all(|id| sampler.sample_trace(*id) == sampler.sample_trace(*id))
        );
        assert!(ids.iter().all(|id| !Sampler::ratio(0.0).sample_trace(*id)));
        assert!(ids.iter().all(|id| Sampler::ratio(1.0).sample_trace(*id)));
    }

    #[test]
    fn parent_based() {
        let id = TraceId::random();
        let s = Sampler::ratio(0.0);
        assert!(s.decide(id, Some(true)));
        assert!(!s.parent_based(false).decide(id, Some(true)));
        assert!(!s.decide(id, None));
    }
}
