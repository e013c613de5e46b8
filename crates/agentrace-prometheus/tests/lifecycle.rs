//! The sink-guide rules that apply to a metric sink (core's conformance suite is for span
//! sinks): empty batches, concurrent exports, idempotent flush, shutdown.

mod common;

use std::sync::Arc;

use agentrace_core::{
    ExportError, FlushError, InstrumentKind, Measurement, MetricSink, ShutdownError, Sink,
};
use agentrace_prometheus::PrometheusSink;
use common::{parse, value};

fn sink() -> PrometheusSink {
    match PrometheusSink::new() {
        Ok(sink) => sink,
        Err(e) => panic!("build: {e}"),
    }
}

fn call(tokens: f64) -> [Measurement; 2] {
    [
        Measurement::new("agentrace.tool.calls", InstrumentKind::Counter, 1.0)
            .with_unit("{call}")
            .with_label("agentrace.status", "ok"),
        Measurement::new(
            "gen_ai.client.token.usage",
            InstrumentKind::Histogram,
            tokens,
        )
        .with_unit("{token}")
        .with_label("gen_ai.token.type", "input"),
    ]
}

#[tokio::test]
async fn it_takes_measurements_only() {
    let sink = sink();
    assert_eq!(sink.name(), "prometheus");
    assert!(sink.as_metric_sink().is_some());
    assert!(sink.as_span_sink().is_none());
    assert!(sink.as_event_sink().is_none());
}

#[tokio::test]
async fn empty_batches_are_accepted_and_change_nothing() {
    let sink = sink();
    let before = sink.render();
    assert!(sink.export_measurements(&[]).await.is_ok());
    assert_eq!(sink.render(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exports_lose_nothing() {
    let sink = Arc::new(sink());
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8u32 {
        let sink = sink.clone();
        tasks.spawn(async move {
            for i in 0..100u32 {
                let batch = call(f64::from(t * 100 + i));
                if let Err(e) = sink.export_measurements(&batch).await {
                    return Err(e.to_string());
                }
            }
            Ok(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("export failed: {e}"),
            Err(e) => panic!("task failed: {e}"),
        }
    }
    let samples = parse(&sink.render());
    assert_eq!(value(&samples, "agentrace_tool_calls_total", &[]), 800.0);
    assert_eq!(
        value(&samples, "gen_ai_client_token_usage_count", &[]),
        800.0
    );
    // 0 + 1 + … + 799
    assert_eq!(
        value(&samples, "gen_ai_client_token_usage_sum", &[]),
        799.0 * 800.0 / 2.0
    );
}

#[tokio::test]
async fn flush_is_idempotent() {
    let sink = sink();
    assert!(sink.export_measurements(&call(5.0)).await.is_ok());
    for _ in 0..2 {
        assert!(sink.flush().await.is_ok());
    }
}

#[tokio::test]
async fn shutdown_refuses_later_exports_and_keeps_the_values_exposed() {
    let sink = sink();
    assert!(sink.export_measurements(&call(5.0)).await.is_ok());
    assert!(sink.shutdown().await.is_ok());
    assert!(sink.is_shut_down());

    let after = sink.export_measurements(&call(7.0)).await;
    assert!(matches!(after, Err(ExportError::ShutDown)), "{after:?}");
    let again = sink.shutdown().await;
    assert!(
        matches!(again, Err(ShutdownError::AlreadyShutDown)),
        "{again:?}"
    );
    let flush = sink.flush().await;
    assert!(matches!(flush, Err(FlushError::ShutDown)), "{flush:?}");

    // A last scrape still sees what came before the shutdown, and only that.
    let samples = parse(&sink.render());
    assert_eq!(value(&samples, "agentrace_tool_calls_total", &[]), 1.0);
    assert_eq!(value(&samples, "gen_ai_client_token_usage_sum", &[]), 5.0);
}

#[tokio::test]
async fn clones_share_state() {
    let sink = sink();
    let clone = sink.clone();
    assert!(clone.export_measurements(&call(3.0)).await.is_ok());
    let samples = parse(&sink.render());
    assert_eq!(value(&samples, "agentrace_tool_calls_total", &[]), 1.0);
    assert!(clone.shutdown().await.is_ok());
    assert!(sink.is_shut_down());
}
