//! In-process cost of one LLM span (six GenAI attributes plus usage), app thread:
//! the agentrace layer into the in-memory sink vs `tracing-opentelemetry` + `opentelemetry_sdk`
//! with the SDK's in-memory exporter. Run with `cargo xtask bench layer`.

use std::time::{Duration, Instant};

use agentrace::testing::MemorySink;
use agentrace::{AgentraceLayer, Pipeline, Resource};
use criterion::{Criterion, criterion_group};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::field::Empty;
use tracing_subscriber::prelude::*;

/// The span under test, the same for every stack.
fn llm_span() {
    let span = tracing::info_span!(
        "chat",
        otel.name = "chat gpt-4o",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "openai",
        gen_ai.request.model = "gpt-4o",
        gen_ai.response.model = Empty,
        gen_ai.conversation.id = "session-1",
        gen_ai.agent.name = "researcher",
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
    );
    span.record("gen_ai.response.model", "gpt-4o-2024-08-06");
    span.record("gen_ai.usage.input_tokens", 1_200u64);
    span.record("gen_ai.usage.output_tokens", 300u64);
    drop(span);
}

/// Times `iters` spans under `dispatch`; `between` runs after timing (clears the sinks).
fn timed(dispatch: &tracing::Dispatch, iters: u64, between: impl Fn()) -> Duration {
    let elapsed = tracing::dispatcher::with_default(dispatch, || {
        let start = Instant::now();
        for _ in 0..iters {
            llm_span();
        }
        start.elapsed()
    });
    between();
    elapsed
}

/// agentrace: the layer → the pipeline → the in-memory sink.
struct AgentraceStack {
    pipeline: Pipeline,
    memory: MemorySink,
    dispatch: tracing::Dispatch,
}

impl AgentraceStack {
    fn new() -> Self {
        let memory = MemorySink::new();
        let pipeline = Pipeline::builder()
            .with_sink(memory.clone())
            .configure(|c| c.queue_capacity = 1 << 20)
            .build()
            .expect("pipeline starts");
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(
            AgentraceLayer::new(pipeline.clone(), Resource::new("bench")),
        ));
        Self {
            pipeline,
            memory,
            dispatch,
        }
    }

    /// Between samples: export what is queued, forget what was stored.
    fn reset(&self) {
        let _ = self.pipeline.flush();
        self.memory.clear();
    }
}

/// tracing-opentelemetry + opentelemetry_sdk with the SDK's in-memory exporter.
struct OtelStack {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
    dispatch: tracing::Dispatch,
}

impl OtelStack {
    fn new(batch: bool) -> Self {
        let exporter = InMemorySpanExporter::default();
        let builder = SdkTracerProvider::builder();
        let provider = if batch {
            builder.with_batch_exporter(exporter.clone()).build()
        } else {
            builder.with_simple_exporter(exporter.clone()).build()
        };
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
        );
        Self {
            provider,
            exporter,
            dispatch,
        }
    }

    fn reset(&self) {
        let _ = self.provider.force_flush();
        self.exporter.reset();
    }
}

fn bench_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("llm_span");

    let none = tracing::Dispatch::new(tracing_subscriber::registry());
    group.bench_function("registry_only_baseline", |b| {
        b.iter_custom(|iters| timed(&none, iters, || {}))
    });

    let ours = AgentraceStack::new();
    group.bench_function("agentrace_layer", |b| {
        b.iter_custom(|iters| timed(&ours.dispatch, iters, || ours.reset()))
    });
    group.bench_function("agentrace_layer_including_export", |b| {
        b.iter_custom(|iters| {
            let elapsed = timed(&ours.dispatch, iters, || {});
            let start = Instant::now();
            let _ = ours.pipeline.flush();
            let total = elapsed + start.elapsed();
            ours.memory.clear();
            total
        })
    });
    let stats = ours.pipeline.stats();
    eprintln!(
        "agentrace pipeline: received {} dropped {} exported {}",
        stats.received, stats.dropped_queue_full, stats.sinks[0].exported
    );

    for (name, batch) in [
        ("tracing_opentelemetry_simple_in_memory", false),
        ("tracing_opentelemetry_batch_in_memory", true),
    ] {
        let theirs = OtelStack::new(batch);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| timed(&theirs.dispatch, iters, || theirs.reset()))
        });
        let _ = theirs.provider.shutdown();
    }
    group.finish();
    let _ = ours.pipeline.shutdown();
}

/// The same comparison without criterion: the stacks take turns, round after round, so the
/// drift of a shared, noisy 2-core VM hits both alike; prints each stack's median per span and
/// the ratio of medians.
///
/// Run by `cargo test` (no `--bench` argument), one round of 1,000 spans checks that it works.
fn interleaved() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (spans, rounds): (u64, usize) = if measuring { (100_000, 21) } else { (1_000, 1) };
    let ours = AgentraceStack::new();
    let theirs = OtelStack::new(false);
    let (mut ours_times, mut theirs_times) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours_times.push(timed(&ours.dispatch, spans, || ours.reset()));
        theirs_times.push(timed(&theirs.dispatch, spans, || theirs.reset()));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_nanos() as f64 / spans as f64
    };
    let (a, o) = (median(&mut ours_times), median(&mut theirs_times));
    println!(
        "llm_span interleaved ({rounds} rounds of {spans}): agentrace {a:.0} ns, tracing-opentelemetry {o:.0} ns, ratio {:.2}",
        a / o
    );
    let _ = ours.pipeline.shutdown();
    let _ = theirs.provider.shutdown();
}

criterion_group!(benches, bench_layers);

fn main() {
    benches();
    interleaved();
    Criterion::default().configure_from_args().final_summary();
}
