//! # agentrace-prometheus
//!
//! The Prometheus backend of [agentrace](https://example.invalid/agentrace): the metrics the
//! pipeline derives (GenAI token usage and durations, cost, agent runs, tool calls, budgets,
//! pipeline health) exposed in the Prometheus text format on `/metrics`, for Prometheus to
//! scrape.
//!
//! [`PrometheusSink`] is a core [`MetricSink`](agentrace_core::MetricSink). Measurements go
//! through the OpenTelemetry SDK (`opentelemetry_sdk` metrics, with agentrace-otel's
//! [`MetricsBridge`](agentrace_otel::metrics::MetricsBridge)) into the
//! `opentelemetry-prometheus` exporter, which a [`prometheus::Registry`] gathers from. The
//! values are cumulative from the start of the process, as Prometheus expects.
//!
//! | piece | what it is |
//! |---|---|
//! | [`PrometheusSink::builder`] | registry (its own or yours), resource / service name, scope labels, histogram buckets |
//! | [`PrometheusSink::render`] | the exposition as a `String` |
//! | [`PrometheusSink::router`] | an axum `Router` with `GET /metrics`, to mount in your server |
//! | [`PrometheusSink::serve`] | a server of its own on a thread of its own ([`DEFAULT_ADDR`] is `127.0.0.1:9464`), stopped with the returned [`MetricsServer`] |
//!
//! ## Example
//!
//! ```
//! use agentrace_core::{InstrumentKind, Measurement, Pipeline};
//! use agentrace_prometheus::PrometheusSink;
//!
//! let sink = PrometheusSink::builder().service_name("my-agent").build()?;
//! let pipeline = Pipeline::builder().with_sink(sink.clone()).build()?;
//! // With the `agentrace` facade: agentrace::init().metrics().sink(sink.clone()).install()?
//!
//! pipeline.submit_measurement(
//!     Measurement::new("agentrace.cost", InstrumentKind::Counter, 0.0125)
//!         .with_unit("USD")
//!         .with_label("gen_ai.request.model", "gpt-4o"),
//! );
//! pipeline.flush()?;
//!
//! let text = sink.render();
//! assert!(text.contains(r#"agentrace_cost_usd_total{gen_ai_request_model="gpt-4o""#));
//!
//! // Serve /metrics until `server` is stopped or dropped (port 0: any free port).
//! let server = sink.serve("127.0.0.1:0".parse()?)?;
//! println!("metrics on {}", server.url());
//! server.stop()?;
//! # pipeline.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The exposed series
//!
//! Names follow the OpenTelemetry → Prometheus rules: dots become `_`, the unit is appended as
//! a word (`s` → `_seconds`, `1` → `_ratio`, other units in lower case, `USD` → `_usd`; annotations such as
//! `{token}` are dropped, and a name already ending with its unit gets nothing), counters end
//! in `_total`. Label keys have their dots replaced the same way. Every series also carries
//! `otel_scope_name="agentrace"` and `otel_scope_version` unless
//! [`scope_info_enabled(false)`](PrometheusSinkBuilder::scope_info_enabled).
//!
//! | series | type | labels |
//! |---|---|---|
//! | `gen_ai_client_token_usage_bucket` / `_sum` / `_count` | histogram (buckets 1, 4, 16 … 67,108,864) | `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`, `gen_ai_token_type` (`input`, `output`), `le` |
//! | `gen_ai_client_operation_duration_seconds_bucket` / `_sum` / `_count` | histogram (buckets 0.01 … 81.92 s) | `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`, `error_type` (failures only), `le` |
//! | `agentrace_cost_usd_total` | counter | `gen_ai_provider_name`, `gen_ai_request_model`, `gen_ai_agent_name`, `agentrace_framework` |
//! | `agentrace_cost_unpriced_total` | counter | `gen_ai_request_model` |
//! | `agentrace_agent_runs_total` | counter | `gen_ai_agent_name`, `agentrace_framework`, `agentrace_status` (`ok`, `error`) |
//! | `agentrace_tool_calls_total` | counter | `gen_ai_tool_name`, `agentrace_status` |
//! | `agentrace_guardrail_checks_total` | counter | `agentrace_guardrail`, `agentrace_status`, `error_type` (blocked ones) |
//! | `agentrace_llm_errors_total` | counter | `gen_ai_provider_name`, `error_type` |
//! | `agentrace_budget_spend_ratio` | gauge | `budget`, `scope` (global, agent, framework and model budgets) |
//! | `agentrace_pipeline_queue_depth` | gauge | |
//! | `agentrace_pipeline_dropped_total` | counter | `reason` (`queue_full`, `after_shutdown`, `processor_panic`) |
//! | `agentrace_pipeline_sink_exported_total`, `_sink_dropped_total`, `_sink_failed_total` | counter | `sink` |
//! | `agentrace_metrics_rejected_total` | counter | `reason` (`not_finite`, `negative`, `invalid_name`, `invalid_label`, `conflict`, `unsupported_kind`) |
//! | `target_info` | gauge, always 1 | the resource: `service_name`, `telemetry_sdk_*`, your attributes |
//!
//! A label a record does not have is left out rather than empty. A series appears once it has
//! a value; the pipeline-health ones need [`with_metrics`](agentrace_core::TelemetryBuilder::with_metrics)
//! (or `agentrace::init().metrics()`). Other measurements (`Pipeline::submit_measurement`)
//! are named by the same rules.
//!
//! ## Behaviour
//!
//! - **Invalid measurements** (NaN or infinite values, negative counter increments or
//!   histogram samples, names the SDK refuses, a name reused with another kind or unit) are
//!   dropped and counted in [`PrometheusSink::rejected`] and in
//!   `agentrace_metrics_rejected_total`; the rest of the batch is recorded.
//! - **Flush** has nothing to do: a measurement is part of the next scrape as soon as it is
//!   exported. **Shutdown** stops taking measurements; the values stay exposed (so a last
//!   scrape sees them) until the last clone of the sink is dropped.
//! - **Cardinality** is bounded by the SDK: past 2,000 label sets per metric, new ones are
//!   folded into one series labelled `otel_metric_overflow="true"`.
//! - One sink per registry: a second exporter on the same registry is refused
//!   ([`BuildError::Registry`]); clone the sink instead.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod naming;
mod server;
mod sink;

pub use agentrace_otel::metrics::Rejected;
pub use server::{CONTENT_TYPE_TEXT, DEFAULT_ADDR, METRICS_PATH, MetricsServer, ServeError};
pub use sink::{BuildError, PrometheusSink, PrometheusSinkBuilder, SCOPE_NAME};

/// The `prometheus` crate, for [`prometheus::Registry`].
pub use prometheus;
