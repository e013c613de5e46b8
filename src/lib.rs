//! # agentrace
//!
//! Observability for LLM agents: traces of agent runs (agents, LLM calls, tools), token usage
//! and cost, structured events, and pluggable backends chosen by cargo feature.
//!
//! This crate is the facade: it re-exports [`agentrace_core`] and, per feature, the backend
//! crates, and offers [`init()`] to assemble them. It holds no logic of its own.
//!
//! | feature | default | backend |
//! |---|---|---|
//! | `file` | yes | [`file::JsonlSink`]: JSON-lines files with rotation and retention |
//! | `sqlite` | yes | [`sqlite::SqliteStore`]: embedded store with a query API |
//! | `clickhouse` | no | `clickhouse::ClickHouseStore`: spans and events in a ClickHouse database, read back |
//! | `prometheus` | no | `prometheus::PrometheusSink`: metrics on `/metrics` in Prometheus text format |
//! | `otlp` | no | `otlp::OtlpSink`: spans, events (as logs) and metrics over OTLP gRPC or HTTP |
//! | `jaeger` | no | `jaeger::builder()`: OTLP to Jaeger with W3C propagation (the deprecated `opentelemetry-jaeger` is not used; see `docs/backends.md`) |
//! | `tiktoken` | yes | exact token counts for OpenAI models ([`tokenize`]); without it every count is an estimate |
//! | `redact` | yes | masking of secrets (on by default) and personal data with regular expressions; without it nothing is masked |
//! | `testing` | no | in-memory and faulty sinks, the sink conformance suite, the adapter kit |
//!
//! Framework adapters, one feature each (their crates depend on `agentrace-core` only):
//!
//! | feature | adapter |
//! |---|---|
//! | `async-openai` | [`async_openai`]: async-openai's chat completions and embeddings traced, priced, stopped before they spend |
//! | `genai` | [`genai`]: genai's chats (whole and streamed) and embeddings traced, priced, stopped before they spend |
//! | `rig` | [`rig`]: rig's own agent, chat and tool spans completed, priced, every model call stopped before it spends |
//! | `rmcp` | [`rmcp`]: an agent's MCP calls and an MCP server's handlers traced (`mcp.client`, `mcp.server`), one trace across the two processes |
//!
//! Each feature builds alone and with none (CI checks it).
//!
//! ## Quick start
//!
//! ```no_run
//! use agentrace::{spans, TokenUsage};
//!
//! let _guard = agentrace::init()
//!     .service_name("my-agent")
//!     .sqlite("agentrace-data/agentrace.db")
//!     .jsonl("agentrace-data/logs")
//!     .install()?;
//!
//! let agent = spans::agent("planner");
//! let _entered = agent.enter();
//! let llm = spans::llm("openai", "gpt-4o");
//! spans::record_usage(&llm, &TokenUsage::new(1_200, 300));
//! # Ok::<(), agentrace::InitError>(())
//! ```
//!
//! Environment (used where the builder leaves a setting unset): `OTEL_SERVICE_NAME`,
//! `AGENTRACE_LEVEL`, `AGENTRACE_FILTER`, `AGENTRACE_SAMPLE_RATIO`, `AGENTRACE_SQLITE_PATH`,
//! `AGENTRACE_JSONL_DIR`.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod init;

#[cfg(feature = "redact")]
#[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
pub use agentrace_core::redact;
/// Test support (feature `testing`): core's in-memory and faulty sinks, fixtures and sink
/// conformance suite, and the adapter kit every framework adapter runs.
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing {
    #[doc(inline)]
    pub use agentrace_adapter_kit as adapter;
    pub use agentrace_core::testing::{Fault, FaultySink, MemorySink, conformance, fixtures};
}
pub use agentrace_core::{
    AgentraceLayer, AnnotatorKind, AttributeValue, Attributes, Attribution, AttributionNode,
    BoxError, BuildError, Completion, Cost, CostEntry, Evaluation, EvaluationError, Event,
    EventKind, EventSink, ExportError, Filter, FlushError, InheritedField, InitError,
    InstrumentKind, InvalidScore, InvalidScoreConfig, Key, Labels, Level, LoadScoreConfigsError,
    Measurement, MetricSink, Outcome, ParseIdError, ParseLevelError, ParseSpanKindError, Pipeline,
    PipelineBuilder, PipelineConfig, PipelineStats, ProcessContext, Processor, ProcessorChain,
    Processors, Resource, RetryPolicy, Sampler, SamplingProcessor, Score, ScoreConfig,
    ScoreConfigs, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, ShutdownError, Sink, SinkStats,
    SpanEvent, SpanId, SpanKind, SpanRecord, SpanSink, SpanStatus, StatusCode, Telemetry,
    TelemetryBuilder, TelemetryGuard, Text, TokenUsage, TraceId, UnknownName, Usd, Verdict,
    async_trait, complete_attribution, inherit, lacks_attribution, now_unix_nano,
};
pub use agentrace_core::{
    budget, capture, civil, content, cost, events, json_fields, metrics, model_call, normalize,
    propagation, search, semconv, serde_duration, sink, spans, tokenize,
};
pub use init::{Builder, env, init};

/// The JSONL backend (`agentrace-file`).
#[cfg(feature = "file")]
#[cfg_attr(docsrs, doc(cfg(feature = "file")))]
#[doc(inline)]
pub use agentrace_file as file;

/// What a store answers, as traits every store implements, and the types they speak
/// (`agentrace-store`; with the `sqlite` or `clickhouse` feature).
#[cfg(any(feature = "sqlite", feature = "clickhouse"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "clickhouse"))))]
#[doc(inline)]
pub use agentrace_store as store;

/// The SQLite backend and query API (`agentrace-sqlite`).
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
#[doc(inline)]
pub use agentrace_sqlite as sqlite;

/// The ClickHouse backend (`agentrace-clickhouse`, feature `clickhouse`).
#[cfg(feature = "clickhouse")]
#[cfg_attr(docsrs, doc(cfg(feature = "clickhouse")))]
#[doc(inline)]
pub use agentrace_clickhouse as clickhouse;

/// The Prometheus backend: metrics on `/metrics` (feature `prometheus`).
#[cfg(feature = "prometheus")]
#[cfg_attr(docsrs, doc(cfg(feature = "prometheus")))]
#[doc(inline)]
pub use agentrace_prometheus as prometheus;

/// The OTLP backend: spans, metrics and events over gRPC or HTTP (feature `otlp`).
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
#[doc(inline)]
pub use agentrace_otlp as otlp;

/// The async-openai adapter (feature `async-openai`).
#[cfg(feature = "async-openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-openai")))]
#[doc(inline)]
pub use agentrace_async_openai as async_openai;

/// The genai adapter (feature `genai`).
#[cfg(feature = "genai")]
#[cfg_attr(docsrs, doc(cfg(feature = "genai")))]
#[doc(inline)]
pub use agentrace_genai as genai;

/// The rig adapter (feature `rig`).
#[cfg(feature = "rig")]
#[cfg_attr(docsrs, doc(cfg(feature = "rig")))]
#[doc(inline)]
pub use agentrace_rig as rig;

/// The rmcp adapter (feature `rmcp`).
#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
#[doc(inline)]
pub use agentrace_rmcp as rmcp;

/// The Jaeger backend: OTLP preset for Jaeger with W3C propagation (feature `jaeger`).
#[cfg(feature = "jaeger")]
#[cfg_attr(docsrs, doc(cfg(feature = "jaeger")))]
#[doc(inline)]
pub use agentrace_jaeger as jaeger;
