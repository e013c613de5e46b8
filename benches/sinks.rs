//! Sink throughput: events/s into JSONL and spans/s into SQLite, each measured at the sink
//! (batches handed to the backend) and end to end (submitted to the pipeline, flushed).
//! Run with `cargo xtask bench sinks`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentrace::file::{JsonlSink, Rotation};
use agentrace::sqlite::SqliteStore;
use agentrace::testing::fixtures::llm_span;
use agentrace::{
    Event, EventKind, EventSink, Level, Pipeline, Resource, SpanRecord, SpanSink, TraceId,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};

const BATCH: usize = 1_024;

fn events(n: usize) -> Vec<Event> {
    let resource = Arc::new(Resource::new("bench"));
    let trace = TraceId::random();
    (0..n)
        .map(|i| {
            let mut e = Event::new(
                1_763_700_000_000_000_000 + i as u64,
                Level::Info,
                EventKind::ToolCall,
                "calling web_search",
                resource.clone(),
            );
            e.trace_id = Some(trace);
            e.session_id = Some("session-1".into());
            e.agent_id = Some("researcher".into());
            e.attributes.insert("gen_ai.tool.name", "web_search");
            e.attributes.insert(
                "gen_ai.tool.call.arguments",
                r#"{"q":"rust llm observability"}"#,
            );
            e
        })
        .collect()
}

/// Start times only move forward, as in a live system (the store's time index appends).
static CLOCK: AtomicU64 = AtomicU64::new(1_763_700_000_000_000_000);

/// Fully populated LLM spans in traces of 8 (a root and seven children), sharing one resource
/// as a process's spans do, with start times moving forward.
fn spans(n: usize, resource: &Arc<Resource>) -> Vec<SpanRecord> {
    let mut trace = TraceId::random();
    let mut root = None;
    (0..n)
        .map(|i| {
            if i % 8 == 0 {
                trace = TraceId::random();
                root = None;
            }
            let start = CLOCK.fetch_add(1_000_000, Ordering::Relaxed);
            let mut s = llm_span(trace, root, start);
            root = root.or(Some(s.span_id));
            s.resource = resource.clone();
            s
        })
        .collect()
}

/// Waits while the sink has more than `max` records in flight: the producer runs at the
/// sink's sustained rate, so the measured rate counts only records that were exported (the
/// pipeline itself never blocks a producer; it would drop, and count, the excess).
fn pace(pipeline: &Pipeline, max: u64) {
    loop {
        let stats = pipeline.stats();
        let sink = &stats.sinks[0];
        let in_flight = stats.queue_depth as u64 + sink.accepted - sink.exported - sink.failed;
        if in_flight <= max {
            return;
        }
        // Sleep rather than spin: on two cores a spinning producer steals the sink's time.
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Reports what the pipeline lost; a non-zero figure would make the rate a lie.
fn report(name: &str, pipeline: &Pipeline) {
    let stats = pipeline.stats();
    eprintln!(
        "{name}: received {} exported {} lost {}",
        stats.received,
        stats.sinks[0].exported,
        stats.total_lost()
    );
    assert_eq!(
        stats.total_lost(),
        0,
        "{name}: the benchmark must not lose records"
    );
}

/// Benchmarks batches produced by `produce` going through a pipeline into `sink`: paced to the
/// sink, flushed at the end of each sample, and failing if anything was lost.
fn through_pipeline(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    sink: impl agentrace::Sink + 'static,
    mut produce: impl FnMut(&Pipeline),
) {
    let pipeline = Pipeline::builder()
        .with_sink(sink)
        .configure(|c| c.queue_capacity = 1 << 20)
        .build()
        .expect("pipeline");
    group.bench_function("pipeline_submit_and_flush", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                pace(&pipeline, 32 * BATCH as u64);
                produce(&pipeline);
            }
            pipeline.flush().expect("flush");
            start.elapsed()
        });
    });
    report(name, &pipeline);
    let _ = pipeline.shutdown();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn jsonl(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = JsonlSink::builder(dir.path())
        .rotation(Rotation::size(256 << 20))
        .max_files(2)
        .build()
        .expect("jsonl sink");
    let batch = events(BATCH);
    let rt = runtime();
    let mut group = c.benchmark_group("jsonl_events");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("sink_export_batch", |b| {
        b.iter(|| rt.block_on(sink.export_events(&batch)).expect("export"));
    });
    // The producer builds each event (a clone), as an application would.
    through_pipeline(&mut group, "jsonl pipeline", sink.clone(), |p| {
        for e in &batch {
            p.submit_event(e.clone());
        }
    });
    group.finish();
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("bench.db")).expect("store");
    let resource = Arc::new(Resource::new("bench"));
    let rt = runtime();
    let mut group = c.benchmark_group("sqlite_spans");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sink_export_batch", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iters {
                // New span ids every batch (duplicates would be skipped, not written); built
                // outside the timing.
                let batch = spans(BATCH, &resource);
                let start = Instant::now();
                rt.block_on(store.export_spans(&batch)).expect("export");
                elapsed += start.elapsed();
            }
            elapsed
        });
    });
    // The producer builds each span, as the tracing layer would.
    through_pipeline(&mut group, "sqlite pipeline", store.clone(), |p| {
        for s in spans(BATCH, &resource) {
            p.submit_span(s);
        }
    });
    group.finish();
}

criterion_group!(benches, jsonl, sqlite);
criterion_main!(benches);
