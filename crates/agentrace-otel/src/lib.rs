//! # agentrace-otel
//!
//! The bridge between agentrace's records and the OpenTelemetry SDK's data types. It is a
//! support crate, like `opentelemetry-proto` is for opentelemetry-rust: it implements no sink
//! itself, but every backend that speaks OpenTelemetry builds on it, so the mapping exists once.
//!
//! | module | maps | used by |
//! |---|---|---|
//! | [`resource`] | agentrace [`Resource`](agentrace_core::Resource) → SDK `Resource` | OTLP, Jaeger |
//! | [`trace`] | [`SpanRecord`](agentrace_core::SpanRecord) → SDK `SpanData`, every GenAI attribute kept | OTLP, Jaeger |
//! | [`logs`] | [`Event`](agentrace_core::Event) → SDK log records with trace context | OTLP |
//! | [`metrics`] | [`Measurement`](agentrace_core::Measurement) → SDK instruments on a `Meter` | Prometheus, OTLP |

pub mod logs;
pub mod metrics;
pub mod resource;
pub mod trace;
