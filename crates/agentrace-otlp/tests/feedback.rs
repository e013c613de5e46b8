//! Exporting must not feed itself: tonic, hyper, h2, reqwest and opentelemetry-otlp emit
//! `tracing` events while sending, which an application's agentrace layer, installed as the
//! global subscriber and open to every level, would turn into records for the very sink that
//! is exporting. Alone in its test binary, because it installs the global subscriber.

use std::net::TcpListener;
use std::time::Duration;

use agentrace_core::testing::MemorySink;
use agentrace_core::{Level, Telemetry, spans};
use agentrace_otlp::{OtlpSink, Protocol};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORT_TARGETS: [&str; 7] = [
    "h2",
    "hyper",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "agentrace_otlp",
];

#[test]
fn exporting_records_nothing_about_itself() -> TestResult {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?
    };
    let memory = MemorySink::new();
    let mut builder = Telemetry::builder()
        .with_service_name("feedback")
        .with_event_level(Level::Trace)
        .with_filter("trace")
        .with_sink(memory.clone())
        .with_pipeline_config(|c| c.retry.max_retries = 0);
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        builder = builder.with_sink(
            OtlpSink::builder()
                .with_name(format!("otlp-{protocol}"))
                .with_protocol(protocol)
                .with_endpoint(format!("http://{closed}"))
                .with_timeout(Duration::from_secs(2))
                .build()?,
        );
    }
    let guard = builder.install()?;
    for _ in 0..3 {
        let _llm = spans::llm("openai", "gpt-4o");
    }
    tracing::info!(target: "app", "a record of the application's own");
    guard.flush().ok(); // the OTLP sinks fail: their receiver is down
    guard.flush().ok();

    let stats = guard.stats();
    let otlp_failures: u64 = stats
        .sinks
        .iter()
        .filter(|s| s.name.starts_with("otlp-"))
        .map(|s| s.failed)
        .sum();
    assert!(otlp_failures > 0, "exports were attempted: {stats:?}");
    let events = memory.events();
    assert!(
        events.iter().any(|e| e.scope.as_deref() == Some("app")),
        "the layer records events at all: {events:?}"
    );
    let about_exporting: Vec<_> = events
        .iter()
        .filter(|e| {
            e.scope
                .as_deref()
                .is_some_and(|s| TRANSPORT_TARGETS.iter().any(|t| s.starts_with(t)))
        })
        .collect();
    assert!(
        about_exporting.is_empty(),
        "the sinks' own sending was recorded: {about_exporting:?}"
    );
    let _ = guard.shutdown();
    Ok(())
}
