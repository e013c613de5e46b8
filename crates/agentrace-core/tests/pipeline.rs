//! Pipeline behaviour: nothing accepted is lost, misbehaving sinks are isolated, and every
//! drop is counted exactly.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agentrace_core::testing::fixtures::llm_span;
use agentrace_core::testing::{Fault, FaultySink, MemorySink};
use agentrace_core::{
    Event, EventKind, FlushError, Level, Pipeline, PipelineConfig, ProcessContext, Processor,
    Resource, ShutdownError, SpanRecord, TraceId, Verdict,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn span(i: u64) -> SpanRecord {
    llm_span(TraceId::random(), None, 1_700_000_000_000_000_000 + i)
}

fn event(i: u64) -> Event {
    Event::new(
        i,
        Level::Info,
        EventKind::ToolCall,
        format!("e{i}"),
        Arc::new(Resource::new("t")),
    )
}

fn small(config: &mut PipelineConfig) {
    config.queue_capacity = 1_000;
    config.max_batch_size = 100;
    config.sink_queue_batches = 2;
    config.batch_timeout = Duration::from_millis(20);
    config.retry.initial_backoff = Duration::from_millis(1);
    config.retry.max_backoff = Duration::from_millis(5);
    config.flush_timeout = Duration::from_secs(20);
    config.shutdown_timeout = Duration::from_secs(5);
}

/// Polls `cond` for up to 10 s.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

#[test]
fn flush_exports_everything_accepted() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder().with_sink(memory.clone()).build()?;
    for i in 0..10_000 {
        assert!(pipeline.submit_span(span(i)));
        assert!(pipeline.submit_event(event(i)));
    }
    pipeline.flush()?;
    assert_eq!(memory.spans().len(), 10_000);
    assert_eq!(memory.events().len(), 10_000);
    assert!(memory.flush_count() >= 1);
    let stats = pipeline.stats();
    assert_eq!(stats.received, 20_000);
    assert_eq!(stats.sinks[0].accepted, 20_000);
    assert_eq!(stats.sinks[0].exported, 20_000);
    assert_eq!(stats.total_lost(), 0);
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn shutdown_exports_everything_then_refuses() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder().with_sink(memory.clone()).build()?;
    for i in 0..5_000 {
        pipeline.submit_span(span(i));
    }
    pipeline.shutdown()?;
    assert_eq!(memory.spans().len(), 5_000);
    assert!(memory.is_shut_down());
    assert!(!pipeline.submit_span(span(0)));
    assert_eq!(pipeline.stats().dropped_after_shutdown, 1);
    assert!(matches!(
        pipeline.shutdown(),
        Err(ShutdownError::AlreadyShutDown)
    ));
    assert!(matches!(pipeline.flush(), Err(FlushError::ShutDown)));
    Ok(())
}

#[test]
fn stuck_sink_never_blocks_the_application_and_drops_are_exact() -> TestResult {
    let stuck = FaultySink::new(Fault::Block);
    let healthy = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(stuck.clone())
        .with_sink(healthy.clone())
        .configure(|c| {
            small(c);
            c.sink_queue_batches = 16;
        })
        .build()?;
    // Submit from another thread: if submitting ever blocked on the stuck sink, this would
    // not finish.
    let submitted = 20_000u64;
    let (done_tx, done_rx) = mpsc::channel();
    let producer = pipeline.clone();
    std::thread::spawn(move || {
        // Paced (about 100,000 spans/s) so that the healthy sink keeps up on a loaded machine.
        let mut accepted = 0;
        for chunk in 0..submitted / 100 {
            accepted += (0..100)
                .filter(|i| producer.submit_span(span(chunk * 100 + i)))
                .count();
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = done_tx.send(accepted as u64);
    });
    let accepted = done_rx.recv_timeout(Duration::from_secs(60))?;
    // Let the dispatcher drain and dispatch what it accepted while the sink is still stuck.
    assert!(eventually(|| {
        let s = pipeline.stats();
        s.sinks[0].accepted + s.sinks[0].dropped == accepted
    }));
    let before_release = pipeline.stats();
    assert_eq!(before_release.received, accepted);
    assert_eq!(
        before_release.received + before_release.dropped_queue_full,
        submitted
    );
    let stuck_stats = &before_release.sinks[0];
    assert!(
        stuck_stats.dropped > 0,
        "the stuck sink's queue must overflow: {stuck_stats:?}"
    );
    // Its queue holds at most `sink_queue_batches` batches plus the one being exported.
    assert!(stuck_stats.accepted <= 17 * 100, "{stuck_stats:?}");
    assert_eq!(stuck_stats.accepted + stuck_stats.dropped, accepted);

    stuck.release();
    pipeline.flush()?;
    let stats = pipeline.stats();
    let (stuck_stats, healthy_stats) = (&stats.sinks[0], &stats.sinks[1]);
    assert_eq!(stuck.memory.spans().len() as u64, stuck_stats.exported);
    assert_eq!(stuck_stats.exported, stuck_stats.accepted);
    // The healthy sink was never starved by its stuck neighbour.
    assert_eq!(healthy_stats.dropped, 0);
    assert_eq!(healthy.spans().len() as u64, accepted);
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn transient_failures_are_retried() -> TestResult {
    let flaky = FaultySink::new(Fault::Transient { times: 2 });
    let pipeline = Pipeline::builder()
        .with_sink(flaky.clone())
        .configure(small)
        .build()?;
    for i in 0..10 {
        pipeline.submit_span(span(i));
    }
    pipeline.flush()?;
    let stats = &pipeline.stats().sinks[0];
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.exported, 10);
    assert_eq!(stats.failed, 0);
    assert_eq!(flaky.memory.spans().len(), 10);
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn failing_and_panicking_sinks_are_counted_and_isolated() -> TestResult {
    let failing = FaultySink::new(Fault::Permanent);
    let panicking = FaultySink::new(Fault::Panic);
    let healthy = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(failing)
        .with_sink(panicking)
        .with_sink(healthy.clone())
        .configure(small)
        .build()?;
    for i in 0..250 {
        pipeline.submit_span(span(i));
        pipeline.submit_event(event(i));
    }
    pipeline.flush()?;
    let stats = pipeline.stats();
    for failed in &stats.sinks[..2] {
        assert_eq!(failed.failed, failed.accepted, "{failed:?}");
        assert_eq!(failed.accepted + failed.dropped, 500, "{failed:?}");
        assert_eq!(failed.exported, 0);
        assert_eq!(failed.retries, 0, "permanent failures are not retried");
        assert!(failed.last_error.is_some());
    }
    let healthy_stats = &stats.sinks[2];
    assert_eq!(
        healthy.spans().len() + healthy.events().len(),
        healthy_stats.exported as usize
    );
    assert_eq!(healthy_stats.exported + healthy_stats.dropped, 500);
    // The pipeline still works afterwards.
    let before = healthy.spans().len();
    pipeline.submit_span(span(999));
    pipeline.flush()?;
    assert_eq!(healthy.spans().len(), before + 1);
    pipeline.shutdown()?;
    Ok(())
}

#[derive(Debug)]
struct DropOddAndPanicOnSeven;

impl Processor for DropOddAndPanicOnSeven {
    fn name(&self) -> &str {
        "test"
    }
    fn process_span(&self, span: &mut SpanRecord, cx: &mut ProcessContext) -> Verdict {
        let n = span.start_time_unix_nano % 10;
        if n == 7 {
            panic!("processor bug");
        }
        cx.emit(agentrace_core::Measurement::new(
            "spans",
            agentrace_core::InstrumentKind::Counter,
            1.0,
        ));
        span.attributes.insert("processed", true);
        if n % 2 == 1 {
            Verdict::Drop
        } else {
            Verdict::Keep
        }
    }
}

#[test]
fn processors_transform_drop_emit_and_panics_are_contained() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_processor(DropOddAndPanicOnSeven)
        .with_sink(memory.clone())
        .build()?;
    for i in 0..10 {
        pipeline.submit_span(span(i));
    }
    pipeline.flush()?;
    let stats = pipeline.stats();
    assert_eq!(stats.processor_panics, 1);
    assert_eq!(stats.filtered, 4); // 1, 3, 5, 9
    let spans = memory.spans();
    assert_eq!(spans.len(), 5);
    assert!(
        spans
            .iter()
            .all(|s| s.attributes.get("processed").is_some())
    );
    // Nine increments of one counter (not the panicking span's), summed within each batch.
    let measurements = memory.measurements();
    assert!(measurements.iter().all(|m| m.name == "spans"));
    assert_eq!(measurements.iter().map(|m| m.value).sum::<f64>(), 9.0);
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn partial_batches_go_out_after_the_batch_timeout() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(memory.clone())
        .configure(small)
        .build()?;
    pipeline.submit_span(span(1));
    assert!(
        eventually(|| memory.spans().len() == 1),
        "no flush was asked; the timeout must send it"
    );
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn full_ingress_queue_drops_and_counts() -> TestResult {
    let stuck = FaultySink::new(Fault::Block);
    let pipeline = Pipeline::builder()
        .with_sink(stuck.clone())
        .configure(|c| {
            small(c);
            c.queue_capacity = 10;
            c.max_batch_size = 1_000_000;
            c.batch_timeout = Duration::from_secs(3600);
        })
        .build()?;
    // The dispatcher holds a partial batch and keeps draining; submit far more than it can
    // take in one go.
    let accepted = (0..100_000)
        .filter(|i| pipeline.submit_span(span(*i)))
        .count() as u64;
    let stats = pipeline.stats();
    assert_eq!(stats.received, accepted);
    assert_eq!(stats.received + stats.dropped_queue_full, 100_000);
    stuck.release();
    pipeline.shutdown()?;
    assert_eq!(stuck.memory.spans().len() as u64, accepted);
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_current_thread_runtime() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder().with_sink(memory.clone()).build()?;
    for i in 0..100 {
        pipeline.submit_span(span(i));
    }
    pipeline.flush()?;
    assert_eq!(memory.spans().len(), 100);
    pipeline.shutdown()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_a_multi_thread_runtime_from_many_tasks() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder().with_sink(memory.clone()).build()?;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8u64 {
        let p = pipeline.clone();
        tasks.spawn(async move {
            for i in 0..500 {
                p.submit_span(span(t * 1_000 + i));
                tokio::task::yield_now().await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let p = pipeline.clone();
    tokio::task::spawn_blocking(move || p.flush()).await??;
    assert_eq!(memory.spans().len(), 4_000);
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn dropping_every_handle_still_exports_and_shuts_sinks_down() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder().with_sink(memory.clone()).build()?;
    pipeline.submit_span(span(1));
    drop(pipeline);
    assert!(eventually(|| memory.is_shut_down()));
    assert_eq!(memory.spans().len(), 1);
    Ok(())
}

/// Emits a measurement named after each hook call, as a buffering processor releases its data.
#[derive(Debug)]
struct HoldsBack;

impl Processor for HoldsBack {
    fn name(&self) -> &str {
        "holds-back"
    }
    fn flush(&self, cx: &mut ProcessContext) {
        cx.emit(agentrace_core::Measurement::new(
            "flushed",
            agentrace_core::InstrumentKind::Counter,
            1.0,
        ));
    }
    fn shutdown(&self, cx: &mut ProcessContext) {
        cx.emit(agentrace_core::Measurement::new(
            "shut_down",
            agentrace_core::InstrumentKind::Counter,
            1.0,
        ));
    }
}

#[test]
fn processors_release_on_flush_and_shutdown_before_sinks_close() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_processor(HoldsBack)
        .with_sink(memory.clone())
        .build()?;
    pipeline.flush()?;
    pipeline.flush()?;
    pipeline.shutdown()?;
    let names: Vec<_> = memory
        .measurements()
        .into_iter()
        .map(|m| m.name.into_owned())
        .collect();
    assert_eq!(names, ["flushed", "flushed", "shut_down"]);
    Ok(())
}

#[test]
fn pipeline_health_reaches_the_metric_sinks() -> TestResult {
    let memory = MemorySink::new();
    let failing = FaultySink::new(Fault::Permanent);
    let pipeline = Pipeline::builder()
        .with_sink(memory.clone())
        .with_sink(failing)
        .configure(|c| c.health_interval = Some(Duration::from_secs(3600)))
        .build()?;
    for i in 0..10 {
        pipeline.submit_span(span(i));
    }
    pipeline.flush()?; // the exports happen
    pipeline.flush()?; // their outcome is reported
    pipeline.flush()?; // nothing new: no counter increments, only the gauge
    let health: Vec<_> = memory
        .measurements()
        .into_iter()
        .filter(|m| m.name.starts_with("agentrace.pipeline."))
        .collect();
    let sum = |name: &str, sink: &str| -> f64 {
        health
            .iter()
            .filter(|m| m.name == name && m.labels.iter().any(|(k, v)| k == "sink" && v == sink))
            .map(|m| m.value)
            .sum()
    };
    assert_eq!(sum("agentrace.pipeline.sink.failed", "faulty"), 10.0);
    // Reported by the 2nd flush: the 10 spans and the 1st report's gauge (11); by the 3rd: the
    // 2nd report's 3 measurements. Health measurements are records like any other.
    assert_eq!(sum("agentrace.pipeline.sink.exported", "memory"), 14.0);
    assert_eq!(
        health
            .iter()
            .filter(|m| m.name == "agentrace.pipeline.queue.depth")
            .count(),
        3
    );
    pipeline.shutdown()?;
    Ok(())
}

#[test]
fn pipeline_health_is_also_periodic() -> TestResult {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(memory.clone())
        .configure(|c| c.health_interval = Some(Duration::from_millis(20)))
        .build()?;
    assert!(eventually(|| memory
        .measurements()
        .iter()
        .filter(|m| m.name == "agentrace.pipeline.queue.depth")
        .count()
        >= 3));
    pipeline.shutdown()?;
    Ok(())
}
