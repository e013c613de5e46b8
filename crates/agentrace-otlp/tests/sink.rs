//! The sink's life cycle and failures, against sockets that refuse or never answer (no
//! receiver needed; the integration suite runs it against a real one).

use std::net::TcpListener;
use std::time::Duration;

use agentrace_core::testing::fixtures::{llm_span, sample_events};
use agentrace_core::{
    ExportError, FlushError, InstrumentKind, Measurement, ShutdownError, Sink, TraceId,
};
use agentrace_otlp::{OtlpSink, Protocol, Signal};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROTOCOLS: [Protocol; 3] = [Protocol::Grpc, Protocol::HttpProtobuf, Protocol::HttpJson];

/// A loopback address nothing listens on.
fn closed_endpoint() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{addr}"))
}

fn sink(
    protocol: Protocol,
    endpoint: &str,
    timeout: Duration,
) -> Result<OtlpSink, agentrace_otlp::BuildError> {
    OtlpSink::builder()
        .with_protocol(protocol)
        .with_endpoint(endpoint)
        .with_timeout(timeout)
        .build()
}

#[tokio::test]
async fn a_refused_connection_is_a_transient_error() -> TestResult {
    let endpoint = closed_endpoint()?;
    for protocol in PROTOCOLS {
        let sink = sink(protocol, &endpoint, Duration::from_secs(5))?;
        let spans = [llm_span(TraceId::random(), None, 1)];
        let result = sink
            .as_span_sink()
            .ok_or("takes spans")?
            .export_spans(&spans)
            .await;
        assert!(
            matches!(result, Err(ExportError::Transient(_))),
            "{protocol}: {result:?}"
        );
        let events = sample_events(TraceId::random(), 1);
        let result = sink
            .as_event_sink()
            .ok_or("takes events")?
            .export_events(&events)
            .await;
        assert!(
            matches!(result, Err(ExportError::Transient(_))),
            "{protocol}: {result:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() -> TestResult {
    // Connections are queued in the backlog and never answered.
    let silent = TcpListener::bind("127.0.0.1:0")?;
    let endpoint = format!("http://{}", silent.local_addr()?);
    let timeout = Duration::from_millis(300);
    for protocol in PROTOCOLS {
        let sink = sink(protocol, &endpoint, timeout)?;
        let spans = [llm_span(TraceId::random(), None, 1)];
        let result = sink
            .as_span_sink()
            .ok_or("takes spans")?
            .export_spans(&spans)
            .await;
        assert!(
            result.as_ref().is_err_and(ExportError::is_retryable),
            "{protocol}: {result:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn flushing_metrics_to_a_down_receiver_fails_and_shutdown_ends_everything() -> TestResult {
    let sink = sink(
        Protocol::HttpProtobuf,
        &closed_endpoint()?,
        Duration::from_secs(2),
    )?;
    let metrics = sink.as_metric_sink().ok_or("takes metrics")?;
    metrics
        .export_measurements(&[Measurement::new(
            "agentrace.test",
            InstrumentKind::Counter,
            1.0,
        )])
        .await?;
    assert!(matches!(sink.flush().await, Err(FlushError::Failed(_))));

    assert!(
        matches!(sink.shutdown().await, Err(ShutdownError::Failed(_))),
        "the last export failed"
    );
    let spans = [llm_span(TraceId::random(), None, 1)];
    let after = sink
        .as_span_sink()
        .ok_or("takes spans")?
        .export_spans(&spans)
        .await;
    assert!(matches!(after, Err(ExportError::ShutDown)), "{after:?}");
    assert!(matches!(
        metrics.export_measurements(&[]).await,
        Err(ExportError::ShutDown)
    ));
    assert!(matches!(sink.flush().await, Err(FlushError::ShutDown)));
    assert!(matches!(
        sink.shutdown().await,
        Err(ShutdownError::AlreadyShutDown)
    ));
    Ok(())
}

#[tokio::test]
async fn nothing_recorded_means_nothing_to_flush_and_empty_batches_send_nothing() -> TestResult {
    // The port is closed: any request would fail.
    let sink = sink(Protocol::Grpc, &closed_endpoint()?, Duration::from_secs(2))?;
    sink.flush().await?;
    sink.as_span_sink()
        .ok_or("takes spans")?
        .export_spans(&[])
        .await?;
    sink.as_event_sink()
        .ok_or("takes events")?
        .export_events(&[])
        .await?;
    sink.shutdown().await?;
    Ok(())
}

#[test]
fn turned_off_signals_are_not_offered_to_the_pipeline() -> TestResult {
    let sink = OtlpSink::builder()
        .with_signal(Signal::Logs, false)
        .with_signal(Signal::Metrics, false)
        .with_name("traces-only")
        .with_metric_export_interval(Duration::from_secs(7))
        .build()?;
    assert_eq!(sink.metric_export_interval(), Duration::from_secs(7));
    assert_eq!(sink.name(), "traces-only");
    assert!(sink.as_span_sink().is_some());
    assert!(sink.as_event_sink().is_none());
    assert!(sink.as_metric_sink().is_none());
    assert_eq!(sink.protocol(Signal::Traces), Some(Protocol::HttpProtobuf));
    assert_eq!(sink.endpoint(Signal::Logs), None);
    Ok(())
}

#[tokio::test]
async fn dropping_the_sink_inside_a_runtime_does_not_panic() -> TestResult {
    let sink = sink(Protocol::Grpc, &closed_endpoint()?, Duration::from_secs(1))?;
    let clone = sink.clone();
    drop(sink);
    drop(clone); // the last handle: its runtime shuts down in the background
    Ok(())
}
