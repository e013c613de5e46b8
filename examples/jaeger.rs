//! The simulated multi-agent workflow sent to Jaeger over OTLP, continuing a trace that began
//! in another service (a W3C `traceparent`), and passing it on to the next one.
//!
//! ```text
//! # Jaeger all-in-one listens for OTLP on 4317 (gRPC) and 4318 (HTTP), UI on 16686:
//! cargo run --example jaeger --features jaeger
//! cargo run --example jaeger --features jaeger -- --host jaeger.internal --protocol http/protobuf \
//!     --traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//! ```
//!
//! Flags: `--host HOST` (else `AGENTRACE_JAEGER_ENDPOINT`, the `OTEL_EXPORTER_OTLP_*`
//! variables, then localhost), `--protocol grpc|http/protobuf`, `--traceparent HEADER` (the
//! incoming request's; by default a trace starts here). It prints the trace's page in the
//! Jaeger UI, the `traceparent` a downstream call would carry, and what was exported.

use agentrace::jaeger::propagation::{self, TraceContext};
use agentrace::jaeger::{self, Protocol};
use tracing::Instrument;

#[path = "support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut preset = jaeger::builder();
    let mut ui = jaeger::UI.to_owned();
    if let Some(host) = support::flag("host") {
        ui = format!("http://{host}:16686");
        preset = preset.with_host(host);
    }
    if let Some(protocol) = support::flag("protocol") {
        preset = preset.with_protocol(protocol.parse::<Protocol>()?);
    }
    let guard = agentrace::init()
        .service_name("agent-workflow")
        .sink(preset.build()?)
        .install()?;

    // The request that started this run, as an HTTP server would receive it.
    let request = tracing::info_span!("handle_request", otel.name = "POST /runs");
    if let Some(header) = support::flag("traceparent") {
        propagation::set_parent(&request, TraceContext::from_traceparent(&header)?);
    }
    let downstream = async {
        support::workflow::two_sessions().await?;
        // What an outgoing call to the next service would carry.
        Ok::<_, tokio::task::JoinError>(propagation::current())
    }
    .instrument(request)
    .await?;
    if let Some(context) = downstream {
        println!("trace: {}", jaeger::trace_url(&ui, context.trace_id));
        println!(
            "traceparent for downstream calls: {}",
            context.to_traceparent()
        );
    }

    support::finish(guard);
    Ok(())
}
