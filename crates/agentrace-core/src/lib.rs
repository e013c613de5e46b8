//! # agentrace-core
//!
//! The core of [agentrace](https://example.invalid/agentrace), observability for LLM agents:
//! the data model, the extension traits, the pipeline and the `tracing` layer. It depends on no
//! other agentrace crate; backends (JSONL, SQLite, Prometheus, OTLP, …) implement its sink
//! traits, adapters produce its records, and the `agentrace` facade assembles them by feature.
//!
//! ## The pieces
//!
//! | piece | what it is |
//! |---|---|
//! | [`SpanRecord`], [`Event`], [`Measurement`], [`CostEntry`] | canonical records, aligned with OpenTelemetry and its GenAI conventions |
//! | [`Sink`], [`SpanSink`], [`EventSink`], [`MetricSink`] | where records go; the guide for writing a backend is in [`sink`] |
//! | [`Processor`] | transforms or drops records on the way ([`Filter`], [`SamplingProcessor`]) |
//! | [`Pipeline`] | bounded, non-blocking queue → processors → one isolated worker per sink, with counters |
//! | [`AgentraceLayer`] | the `tracing_subscriber::Layer` turning spans and events into records |
//! | [`spans`], [`events`] | one-line helpers for agent/LLM/tool spans and the seed event types |
//! | [`propagation`] | W3C `traceparent` inject/extract |
//! | [`semconv`], [`normalize`] | attribute names of every GenAI dialect, and their mapping onto records |
//! | [`budget`] | budgets per scope and period, thresholds, check-and-reserve before a call |
//! | [`metrics`] | GenAI client metrics and agent/tool/error/cost counters derived from spans |
//! | [`cost`] | the price book, exact cost arithmetic, the price processor |
//! | [`Score`], [`ScoreConfig`] | scores of traces, spans and sessions, and what a score of a name may be |
//! | [`json_fields`] | fields of the JSON bodies agentrace takes: present or absent, whole numbers |
//! | [`Telemetry`] | the builder that assembles all of it and installs the subscriber |
//! | `testing` (feature) | in-memory and faulty sinks, fixtures, the sink conformance suite |
//!
//! ## Example
//!
//! ```
//! use agentrace_core::{spans, testing::MemorySink, Telemetry, TokenUsage};
//! use tracing_subscriber::prelude::*;
//!
//! let memory = MemorySink::new();
//! let (layer, guard) = Telemetry::builder()
//!     .with_service_name("example")
//!     .with_sink(memory.clone())
//!     .build()?;
//!
//! tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
//!     let agent = spans::agent("planner");
//!     spans::set_session(&agent, "s-1");
//!     let _a = agent.enter();
//!     let llm = spans::llm("openai", "gpt-4o");
//!     spans::record_usage(&llm, &TokenUsage::new(100, 20));
//! });
//! guard.flush()?;
//!
//! let recorded = memory.spans();
//! let llm = recorded.iter().find(|s| s.request_model.as_deref() == Some("gpt-4o")).unwrap();
//! assert_eq!(llm.usage.total_tokens(), 120);
//! assert_eq!(llm.session_id.as_deref(), Some("s-1")); // inherited from the agent span
//! assert_eq!(llm.agent_name.as_deref(), Some("planner"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Feature flags
//! - `tiktoken` (default): exact token counts for OpenAI models ([`tokenize`]).
//! - `redact` (default): masking of secrets and personal data with regular expressions (the
//!   `redact` module), on for secrets by default in [`Telemetry`]; without it nothing is masked.
//! - `pipeline` (default): the [`Pipeline`] (bounded queues, a thread per sink), the
//!   [`AgentraceLayer`], [`Telemetry`], the [`Meter`](metrics::Meter) and span-context
//!   propagation. Without it core is the model, the conventions, normalization, pricing,
//!   budgets and the sink traits: what a crate that only produces or reads records needs (the
//!   backends take core without it).
//! - `testing`: the `testing` module (with `pipeline`).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod budget;
pub mod capture;
mod chain;
pub mod civil;
pub mod content;
pub mod cost;
pub mod env;
pub mod events;
#[cfg(feature = "pipeline")]
mod filter;
pub mod json_fields;
#[cfg(feature = "pipeline")]
mod layer;
pub mod metrics;
mod model;
pub mod model_call;
pub mod normalize;
#[cfg(feature = "pipeline")]
mod pipeline;
mod processor;
pub mod propagation;
#[cfg(feature = "redact")]
#[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
pub mod redact;
mod sampling;
pub mod search;
pub mod semconv;
pub mod serde_duration;
pub mod sink;
pub mod spans;
#[cfg(feature = "pipeline")]
mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod tokenize;

pub use async_trait::async_trait;
pub use chain::ProcessorChain;
#[cfg(feature = "pipeline")]
pub use filter::Filter;
#[cfg(feature = "pipeline")]
pub use layer::AgentraceLayer;
pub use model::{
    AnnotatorKind, AttributeValue, Attributes, Attribution, AttributionNode, Completion, Cost,
    CostEntry, Evaluation, EvaluationError, Event, EventKind, InheritedField, InstrumentKind,
    InvalidScore, InvalidScoreConfig, Key, Labels, Level, LoadScoreConfigsError, Measurement,
    ParseIdError, ParseLevelError, ParseSpanKindError, Resource, Score, ScoreConfig, ScoreConfigs,
    ScoreKind, ScoreSource, ScoreTarget, ScoreValue, SpanEvent, SpanId, SpanKind, SpanRecord,
    SpanStatus, StatusCode, Text, TokenUsage, TraceId, UnknownName, Usd, complete_attribution,
    inherit, lacks_attribution,
};
#[cfg(feature = "pipeline")]
pub use pipeline::{
    BuildError, Pipeline, PipelineBuilder, PipelineConfig, PipelineStats, RetryPolicy, SinkStats,
};
pub use processor::{Outcome, ProcessContext, Processor, Processors, Verdict};
pub use sampling::{Sampler, SamplingProcessor};
pub use sink::{
    BoxError, EventSink, ExportError, FlushError, MetricSink, ShutdownError, Sink, SpanSink,
};
#[cfg(feature = "pipeline")]
pub use telemetry::{InitError, Telemetry, TelemetryBuilder, TelemetryGuard};

/// Now, in nanoseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
