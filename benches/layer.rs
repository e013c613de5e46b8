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

fn bench_layers(c: &mut Criterion) {
    let mut group = c.benchmark_group("llm_span");

    let none = tracing::Dispatch::new(tracing_subscriber::registry());
    group.bench_function("registry_only_baseline", |b| {
        b.iter_custom(|iters| timed(&none, iters, || {}))
    });

    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(memory.clone())
        .configure(|c| c.queue_capacity = 1 << 20)
        .build()
        .expect("pipeline starts");
    let agentrace = tracing::Dispatch::new(tracing_subscriber::registry().with(
        AgentraceLayer::new(pipeline.clone(), Resource::new("bench")),
    ));
    group.bench_function("agentrace_layer", |b| {
        b.iter_custom(|iters| {
            timed(&agentrace, iters, || {
                let _ = pipeline.flush();
                memory.clear();
            })
        })
    });
    group.bench_function("agentrace_layer_including_export", |b| {
        b.iter_custom(|iters| {
            let elapsed = timed(&agentrace, iters, || {});
            let start = Instant::now();
            let _ = pipeline.flush();
            let total = elapsed + start.elapsed();
            memory.clear();
            total
        })
    });
    let stats = pipeline.stats();
    eprintln!(
        "agentrace pipeline: received {} dropped {} exported {}",
        stats.received, stats.dropped_queue_full, stats.sinks[0].exported
    );

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let otel_simple = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    );
    group.bench_function("tracing_opentelemetry_simple_in_memory", |b| {
        b.iter_custom(|iters| timed(&otel_simple, iters, || exporter.reset()))
    });

    let batch_exporter = InMemorySpanExporter::default();
    let batch_provider = SdkTracerProvider::builder()
        .with_batch_exporter(batch_exporter.clone())
        .build();
    let otel_batch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(batch_provider.tracer("bench"))),
    );
    group.bench_function("tracing_opentelemetry_batch_in_memory", |b| {
        b.iter_custom(|iters| {
            timed(&otel_batch, iters, || {
                let _ = batch_provider.force_flush();
                batch_exporter.reset();
            })
        })
    });
    group.finish();
    let _ = pipeline.shutdown();
    let _ = provider.shutdown();
    let _ = batch_provider.shutdown();
}

/// The same comparison without criterion: the stacks take turns, round after round, so the
/// drift of a shared, noisy 2-core VM hits both alike; prints each stack's median per span and
/// the ratio of medians.
fn interleaved() {
    const SPANS: u64 = 100_000;
    const ROUNDS: usize = 21;
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(memory.clone())
        .configure(|c| c.queue_capacity = 1 << 20)
        .build()
        .expect("pipeline starts");
    let agentrace = tracing::Dispatch::new(tracing_subscriber::registry().with(
        AgentraceLayer::new(pipeline.clone(), Resource::new("bench")),
    ));
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let otel = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(timed(&agentrace, SPANS, || {
            let _ = pipeline.flush();
            memory.clear();
        }));
        theirs.push(timed(&otel, SPANS, || exporter.reset()));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_nanos() as f64 / SPANS as f64
    };
    let (a, o) = (median(&mut ours), median(&mut theirs));
    println!(
        "llm_span interleaved ({ROUNDS} rounds of {SPANS}): agentrace {a:.0} ns, tracing-opentelemetry {o:.0} ns, ratio {:.2}",
        a / o
    );
    let _ = pipeline.shutdown();
    let _ = provider.shutdown();
}

criterion_group!(benches, bench_layers);

fn main() {
    benches();
    interleaved();
    Criterion::default().configure_from_args().final_summary();
}
