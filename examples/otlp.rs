//! The simulated multi-agent workflow exported over OTLP — spans, events as log records, and
//! the derived GenAI metrics — to any OpenTelemetry receiver: an OpenTelemetry Collector,
//! Jaeger, Grafana's stack, or `agentrace serve`.
//!
//! ```text
//! cargo run --example otlp --features otlp -- --endpoint http://localhost:4318
//! cargo run --example otlp --features otlp -- --protocol grpc --endpoint http://localhost:4317
//! OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_EXPORTER_OTLP_HEADERS=x-api-key=secret \
//!     cargo run --example otlp --features otlp
//! ```
//!
//! Flags: `--endpoint URL`, `--protocol grpc|http/protobuf|http/json`, `--gzip`. Without them
//! the standard `OTEL_EXPORTER_OTLP_*` variables apply (defaults: HTTP/protobuf to
//! `http://localhost:4318`). At the end it prints what was exported, failed and dropped: a
//! receiver that is down costs the records, never the run.

use agentrace::otlp::{Compression, OtlpSink, Protocol};

#[path = "support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut otlp = OtlpSink::builder();
    if let Some(endpoint) = support::flag("endpoint") {
        otlp = otlp.with_endpoint(endpoint);
    }
    if let Some(protocol) = support::flag("protocol") {
        otlp = otlp.with_protocol(protocol.parse::<Protocol>()?);
    }
    if std::env::args().any(|a| a == "--gzip") {
        otlp = otlp.with_compression(Compression::Gzip);
    }
    let guard = agentrace::init()
        .service_name("agent-workflow")
        .metrics()
        .sink(otlp.build()?)
        .install()?;

    support::workflow::two_sessions().await?;

    support::finish(guard);
    Ok(())
}
