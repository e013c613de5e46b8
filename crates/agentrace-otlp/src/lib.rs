//! # agentrace-otlp
//!
//! The OTLP backend of [agentrace](https://example.invalid/agentrace): spans, events (as log
//! records) and metrics sent to any OpenTelemetry receiver (the OpenTelemetry Collector,
//! Jaeger, Grafana Tempo/Loki/Mimir, Langfuse, Phoenix, …) over OTLP/gRPC, OTLP/HTTP with
//! protobuf or OTLP/HTTP with JSON. [`OtlpSink`] implements core's
//! [`Sink`](agentrace_core::Sink), [`SpanSink`](agentrace_core::SpanSink),
//! [`EventSink`](agentrace_core::EventSink) and [`MetricSink`](agentrace_core::MetricSink), so it
//! plugs into a core [`Pipeline`](agentrace_core::Pipeline) like any other backend.
//!
//! | piece | what it is |
//! |---|---|
//! | [`OtlpSink`], [`OtlpSinkBuilder`] | the sink and its builder |
//! | [`Protocol`], [`Compression`], [`Signal`] | transport, gzip, which signals |
//! | [`BuildError`] | why a sink could not be built (a bad endpoint, header or environment value) |
//! | [`OtlpExportError`] | why an export failed; core's `ExportError` says whether to retry |
//!
//! Records become OpenTelemetry data in [`agentrace_otel`]: every GenAI field of a span under its
//! canonical OTel GenAI name (`gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cost`, …)
//! plus all its attributes, events as log records with their trace context. Requests are made
//! by opentelemetry-otlp's exporters, called directly on a small runtime the sink owns (one
//! thread), with an async `reqwest` client for HTTP and tonic for gRPC: it works whatever runtime
//! the application runs, or none. The sink does not enable opentelemetry-otlp's own HTTP client
//! features, so it never changes how the application's own OpenTelemetry exporters behave.
//!
//! ## Configuration
//!
//! Builder values win over the environment, which wins over the defaults; a signal-specific
//! variable wins over the generic one (`{SIGNAL}` is `TRACES`, `LOGS` or `METRICS`), as in
//! opentelemetry-rust:
//!
//! | setting | builder | environment | default |
//! |---|---|---|---|
//! | protocol | [`with_protocol`](OtlpSinkBuilder::with_protocol) | `OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc`, `http/protobuf`, `http/json` | `http/protobuf` |
//! | endpoint | [`with_signal_endpoint`](OtlpSinkBuilder::with_signal_endpoint) (used as it is), [`with_endpoint`](OtlpSinkBuilder::with_endpoint) (HTTP: `/v1/{signal}` appended) | `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT` (as it is), `OTEL_EXPORTER_OTLP_ENDPOINT` (HTTP: path appended) | `http://localhost:4318` (HTTP), `http://localhost:4317` (gRPC) |
//! | headers | [`with_header`](OtlpSinkBuilder::with_header), [`with_headers`](OtlpSinkBuilder::with_headers) | `OTEL_EXPORTER_OTLP_{SIGNAL}_HEADERS`, `OTEL_EXPORTER_OTLP_HEADERS`: `k1=v1,k2=v2`, values URL-encoded; merged with the builder's, which win per name | none |
//! | compression | [`with_compression`](OtlpSinkBuilder::with_compression) | `OTEL_EXPORTER_OTLP_{SIGNAL}_COMPRESSION`, `OTEL_EXPORTER_OTLP_COMPRESSION`: `gzip`, `none` | none |
//! | timeout of one export | [`with_timeout`](OtlpSinkBuilder::with_timeout) | `OTEL_EXPORTER_OTLP_{SIGNAL}_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT`, milliseconds | 10 s |
//! | `service.name` | [`with_service_name`](OtlpSinkBuilder::with_service_name) | the record's resource, then `OTEL_SERVICE_NAME` | `unknown_service:<executable>` |
//! | other resource attributes | [`with_resource_attribute`](OtlpSinkBuilder::with_resource_attribute) | the record's resource, then `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`) | `telemetry.sdk.*` |
//! | metric export interval | [`with_metric_export_interval`](OtlpSinkBuilder::with_metric_export_interval) | `OTEL_METRIC_EXPORT_INTERVAL`, milliseconds | 60 s |
//! | signals | [`with_signal`](OtlpSinkBuilder::with_signal) | | traces, logs and metrics |
//!
//! A protocol, timeout or interval the sink cannot use is a [`BuildError::Env`] naming the
//! variable, rather than a silent fallback. Endpoints must be `http://` URLs: this build has no
//! TLS (send to a local collector or agent, which forwards over TLS).
//!
//! ## Delivery
//!
//! The pipeline batches, bounds the queues, retries and isolates each sink; the sink sends each
//! batch at once. A down or slow receiver never blocks the application: exports time out, are
//! retried when the failure is transient (no response, HTTP 429/502/503/504, gRPC
//! `UNAVAILABLE` and the other retryable codes), and what cannot be delivered is counted in the
//! pipeline's stats (`SinkStats::failed`, `dropped`) and its health metrics.
//!
//! ## Example
//!
//! Building connects nothing yet:
//!
//! ```
//! use std::time::Duration;
//!
//! use agentrace_otlp::{Compression, OtlpSink, Protocol, Signal};
//!
//! let sink = OtlpSink::builder()
//!     .with_protocol(Protocol::Grpc)
//!     .with_endpoint("http://collector:4317")
//!     .with_header("x-api-key", "secret")
//!     .with_compression(Compression::Gzip)
//!     .with_timeout(Duration::from_secs(5))
//!     .with_service_name("research-agent")
//!     .with_signal(Signal::Metrics, false)
//!     .build()?;
//! assert_eq!(sink.endpoint(Signal::Traces), Some("http://collector:4317"));
//! assert_eq!(sink.endpoint(Signal::Metrics), None);
//! # Ok::<(), agentrace_otlp::BuildError>(())
//! ```
//!
//! With telemetry installed, spans, events and metrics go to the collector:
//!
//! ```no_run
//! use agentrace_core::{spans, Telemetry, TokenUsage};
//! use agentrace_otlp::OtlpSink;
//! use tracing_subscriber::prelude::*;
//!
//! let sink = OtlpSink::builder().with_endpoint("http://localhost:4318").build()?;
//! let (layer, guard) = Telemetry::builder()
//!     .with_service_name("research-agent")
//!     .with_sink(sink)
//!     .build()?;
//! tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
//!     let llm = spans::llm("openai", "gpt-4o");
//!     spans::record_usage(&llm, &TokenUsage::new(1_200, 340));
//! });
//! guard.shutdown()?; // exports what is queued, then the metrics
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
mod sink;
mod transport;

pub use config::{
    BuildError, Compression, DEFAULT_GRPC_ENDPOINT, DEFAULT_HTTP_ENDPOINT,
    DEFAULT_METRIC_EXPORT_INTERVAL, DEFAULT_TIMEOUT, OTEL_METRIC_EXPORT_INTERVAL, OtlpSinkBuilder,
    ParseProtocolError, Protocol, Signal,
};
pub use error::OtlpExportError;
pub use sink::OtlpSink;
