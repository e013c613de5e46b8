//! # agentrace-jaeger
//!
//! The Jaeger backend of [agentrace](https://example.invalid/agentrace): a preset over
//! [`agentrace_otlp`] that sends spans to Jaeger's native OTLP receiver, plus W3C Trace Context
//! propagation so a trace continues across the services Jaeger shows.
//!
//! | piece | what it is |
//! |---|---|
//! | [`builder`], [`JaegerSinkBuilder`] | an [`OtlpSink`] for Jaeger: its OTLP ports, traces only, named `jaeger` |
//! | [`GRPC_ENDPOINT`], [`HTTP_ENDPOINT`], [`UI`] | Jaeger's default OTLP/gRPC and OTLP/HTTP receivers and its UI |
//! | [`AGENTRACE_JAEGER_ENDPOINT`] | where Jaeger is, without touching the `OTEL_*` variables |
//! | [`propagation`] | W3C `traceparent` inject and extract (core's [`agentrace_core::propagation`]) |
//! | [`trace_url`] | the Jaeger UI page of a trace |
//!
//! ## What the preset sets
//!
//! - **OTLP/gRPC to port 4317** ([`GRPC_ENDPOINT`]) by default, or OTLP/HTTP to port 4318
//!   ([`HTTP_ENDPOINT`]) with [`with_protocol`](JaegerSinkBuilder::with_protocol); the preset's
//!   protocol wins over `OTEL_EXPORTER_OTLP_PROTOCOL`.
//! - **Where Jaeger is**: [`with_host`](JaegerSinkBuilder::with_host) (the port follows the
//!   protocol) or [`with_endpoint`](JaegerSinkBuilder::with_endpoint), else
//!   `AGENTRACE_JAEGER_ENDPOINT`, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (read by agentrace-otlp), else localhost.
//! - **Traces only**: Jaeger stores traces; it has no logs or metrics pipeline to send events and
//!   measurements to (add an [`OtlpSink`] for a collector that does).
//! - **Service naming**: Jaeger lists traces by `service.name`, which is the records' own
//!   (`Telemetry::with_service_name`, `OTEL_SERVICE_NAME`) unless
//!   [`with_service_name`](JaegerSinkBuilder::with_service_name) overrides it.
//! - Everything else of agentrace-otlp (headers, gzip, timeouts, the `OTEL_EXPORTER_OTLP_*`
//!   table) through [`with_otlp`](JaegerSinkBuilder::with_otlp).
//!
//! ## Why not `opentelemetry-jaeger`
//!
//! - `opentelemetry-jaeger` (Thrift over UDP/HTTP) was deprecated by the opentelemetry-rust
//!   project and its last release, 0.22, needs `opentelemetry` ^0.23: it cannot build alongside
//!   `opentelemetry_sdk` 0.33, and RUSTSEC-2025-0123 flags it as unmaintained.
//! - `opentelemetry-jaeger-propagator` (the `uber-trace-id` header) ends at 0.32, is itself
//!   `#[deprecated]` in favour of W3C Trace Context, and fails to build with 0.33 (it brings a
//!   second `opentelemetry`, E0277).
//! - Jaeger ingests OTLP natively (Jaeger v2 is built on the OpenTelemetry Collector) and
//!   recommends the OpenTelemetry SDKs with OTLP; its own client libraries are retired. W3C
//!   `traceparent` is what those SDKs propagate by default.
//!
//! ## Example
//!
//! ```
//! use agentrace_jaeger::{JaegerSinkBuilder, Protocol, Signal};
//!
//! let sink = agentrace_jaeger::builder()
//!     .with_host("jaeger.internal")
//!     .with_service_name("research-agent")
//!     .build()?;
//! assert_eq!(sink.endpoint(Signal::Traces), Some("http://jaeger.internal:4317"));
//! assert_eq!(sink.endpoint(Signal::Logs), None); // traces only
//!
//! let http = JaegerSinkBuilder::default().with_protocol(Protocol::HttpProtobuf).build()?;
//! assert_eq!(http.endpoint(Signal::Traces), Some("http://localhost:4318/v1/traces"));
//! # Ok::<(), agentrace_jaeger::BuildError>(())
//! ```
//!
//! Continuing a trace from an incoming request, and passing it on:
//!
//! ```
//! use agentrace_jaeger::propagation::{self, TraceContext};
//!
//! let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
//! let span = tracing::info_span!("handle_request");
//! propagation::set_parent(&span, TraceContext::from_traceparent(incoming)?);
//! // Under the agentrace layer, send this as the `traceparent` header of outgoing calls:
//! let outgoing: Option<String> = propagation::inject(&span);
//! # let _ = outgoing;
//! # Ok::<(), agentrace_jaeger::propagation::ParseTraceparentError>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::time::Duration;

use agentrace_core::TraceId;
pub use agentrace_core::propagation;
pub use agentrace_otlp::{BuildError, OtlpSink, OtlpSinkBuilder, Protocol, Signal};

/// Jaeger's OTLP/gRPC receiver.
pub const GRPC_ENDPOINT: &str = "http://localhost:4317";
/// Jaeger's OTLP/HTTP receiver (traces at `/v1/traces`).
pub const HTTP_ENDPOINT: &str = "http://localhost:4318";
/// Jaeger's OTLP/gRPC port.
pub const GRPC_PORT: u16 = 4317;
/// Jaeger's OTLP/HTTP port.
pub const HTTP_PORT: u16 = 4318;
/// Jaeger's UI.
pub const UI: &str = "http://localhost:16686";
/// The name of the W3C Trace Context header the [`propagation`] helpers read and write.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// Jaeger's base OTLP endpoint (`http://host:4317` for gRPC, `http://host:4318` for HTTP),
/// read when the builder sets none. Unlike `OTEL_EXPORTER_OTLP_ENDPOINT`, it concerns only this
/// sink. (The legacy `JAEGER_ENDPOINT` is not read: it named the Thrift collector, port 14268,
/// which OTLP cannot reach.)
pub const AGENTRACE_JAEGER_ENDPOINT: &str = "AGENTRACE_JAEGER_ENDPOINT";

/// Starts building a Jaeger sink.
pub fn builder() -> JaegerSinkBuilder {
    JaegerSinkBuilder::default()
}

/// The Jaeger UI page of a trace, e.g. `trace_url(UI, id)`.
pub fn trace_url(ui: &str, trace_id: TraceId) -> String {
    format!("{}/trace/{trace_id}", ui.trim_end_matches('/'))
}

/// Where Jaeger is.
#[derive(Debug, Clone)]
enum Target {
    Host(String),
    Endpoint(String),
}

/// Builds an [`OtlpSink`] preset for Jaeger; see the crate docs for what it sets.
#[derive(Debug, Clone)]
pub struct JaegerSinkBuilder {
    protocol: Protocol,
    target: Option<Target>,
    otlp: OtlpSinkBuilder,
}

impl Default for JaegerSinkBuilder {
    fn default() -> Self {
        Self {
            protocol: Protocol::Grpc,
            target: None,
            otlp: OtlpSink::builder()
                .with_name("jaeger")
                .with_signal(Signal::Logs, false)
                .with_signal(Signal::Metrics, false),
        }
    }
}

impl JaegerSinkBuilder {
    /// OTLP/gRPC (the default, port 4317) or OTLP/HTTP (port 4318).
    #[must_use]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Jaeger's host name or address; the port follows the protocol (4317 or 4318).
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.target = Some(Target::Host(host.into()));
        self
    }

    /// Jaeger's base OTLP endpoint, e.g. `http://jaeger:4317` (HTTP: `/v1/traces` is appended).
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.target = Some(Target::Endpoint(endpoint.into()));
        self
    }

    /// The service the traces are listed under, over the records' own.
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.otlp = self.otlp.with_service_name(name);
        self
    }

    /// Time allowed for one export.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.otlp = self.otlp.with_timeout(timeout);
        self
    }

    /// Any other agentrace-otlp setting (headers, compression, resource attributes, …).
    #[must_use]
    pub fn with_otlp(mut self, f: impl FnOnce(OtlpSinkBuilder) -> OtlpSinkBuilder) -> Self {
        self.otlp = f(self.otlp);
        self
    }

    /// Builds the sink.
    pub fn build(self) -> Result<OtlpSink, BuildError> {
        self.into_otlp(&agentrace_core::env::process).build()
    }

    /// The agentrace-otlp builder, with Jaeger's endpoint resolved over `env`.
    fn into_otlp(self, env: &dyn Fn(&str) -> Option<String>) -> OtlpSinkBuilder {
        let port = match self.protocol {
            Protocol::Grpc => GRPC_PORT,
            _ => HTTP_PORT,
        };
        let endpoint = match self.target {
            Some(Target::Host(host)) => Some(format!("http://{host}:{port}")),
            Some(Target::Endpoint(endpoint)) => Some(endpoint),
            None => env(AGENTRACE_JAEGER_ENDPOINT).filter(|e| !e.trim().is_empty()),
        };
        let otlp = self.otlp.with_protocol(self.protocol);
        match endpoint {
            Some(endpoint) => otlp.with_endpoint(endpoint),
            // agentrace-otlp reads OTEL_EXPORTER_OTLP_*; its defaults are Jaeger's ports.
            None => otlp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(
        builder: JaegerSinkBuilder,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, BuildError> {
        let sink = builder.into_otlp(env).build()?;
        Ok(sink.endpoint(Signal::Traces).map(str::to_owned))
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn jaeger_env(var: &str) -> Option<String> {
        (var == AGENTRACE_JAEGER_ENDPOINT).then(|| "http://from-env:4317".to_owned())
    }

    #[test]
    fn the_host_picks_the_port_of_the_protocol() -> Result<(), BuildError> {
        assert_eq!(
            endpoint(builder().with_host("jaeger"), &no_env)?.as_deref(),
            Some("http://jaeger:4317")
        );
        assert_eq!(
            endpoint(
                builder()
                    .with_host("jaeger")
                    .with_protocol(Protocol::HttpJson),
                &no_env
            )?
            .as_deref(),
            Some("http://jaeger:4318/v1/traces")
        );
        Ok(())
    }

    #[test]
    fn the_builder_wins_over_the_jaeger_variable() -> Result<(), BuildError> {
        assert_eq!(
            endpoint(builder(), &jaeger_env)?.as_deref(),
            Some("http://from-env:4317")
        );
        assert_eq!(
            endpoint(
                builder().with_endpoint("http://from-builder:4317"),
                &jaeger_env
            )?
            .as_deref(),
            Some("http://from-builder:4317")
        );
        Ok(())
    }

    #[test]
    fn traces_only_named_jaeger() -> Result<(), BuildError> {
        let sink = builder().into_otlp(&no_env).build()?;
        assert_eq!(agentrace_core::Sink::name(&sink), "jaeger");
        assert_eq!(sink.protocol(Signal::Traces), Some(Protocol::Grpc));
        assert_eq!(sink.protocol(Signal::Logs), None);
        assert_eq!(sink.protocol(Signal::Metrics), None);
        Ok(())
    }

    #[test]
    fn trace_urls() {
        let id = TraceId::from_bytes([0x4b; 16]);
        assert_eq!(
            trace_url("http://localhost:16686/", id),
            format!("http://localhost:16686/trace/{id}")
        );
        assert_eq!(UI, "http://localhost:16686");
    }
}
