//! A metric update from a span, in its two halves and whole:
//!
//! - `derive`: the metrics processor turning one priced LLM span into its measurements (token
//!   usage in and out, duration, cost), as the dispatcher runs it — on the pipeline's thread.
//! - `record`: one measurement into an OpenTelemetry SDK histogram through the `MetricsBridge`,
//!   with the Prometheus exporter as the reader — what a metrics sink does on its own thread.
//! - `span`: both, for every measurement of the span.
//!
//! Run with `cargo xtask bench metrics`.

use std::sync::Arc;

use agentrace::cost::{PriceProcessor, PriceTable};
use agentrace::metrics::MetricsProcessor;
use agentrace::testing::fixtures::llm_span;
use agentrace::{InstrumentKind, Measurement, ProcessContext, Processor, TraceId};
use agentrace_otel::metrics::MetricsBridge;
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;

const AT: u64 = 1_759_276_800_000_000_000; // 2025-10-01

fn bench_metrics(c: &mut Criterion) {
    let mut span = llm_span(TraceId::random(), None, AT);
    let mut cx = ProcessContext::new();
    let _ = PriceProcessor::new(Arc::new(PriceTable::builtin())).process_span(&mut span, &mut cx);
    let mut group = c.benchmark_group("metric_update");

    // As the dispatcher runs it: one reused context, the measurements moved into the batch; the
    // batch is cleared (the measurements freed) inside the timing.
    let mut batch = Vec::with_capacity(8);
    group.bench_function("derive/llm_span", |b| {
        b.iter(|| {
            let _ = MetricsProcessor.process_span(&mut span, &mut cx);
            cx.drain_into(&mut batch);
            batch.clear();
        })
    });

    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .expect("prometheus exporter");
    let provider = SdkMeterProvider::builder().with_reader(exporter).build();
    let bridge = MetricsBridge::new(provider.meter("agentrace"));
    let one = Measurement::new(
        "gen_ai.client.token.usage",
        InstrumentKind::Histogram,
        1_200.0,
    )
    .with_unit("{token}")
    .with_label("gen_ai.operation.name", "chat")
    .with_label("gen_ai.provider.name", "openai")
    .with_label("gen_ai.request.model", "gpt-4o")
    .with_label("gen_ai.token.type", "input");
    group.bench_function("record/one_histogram_sample", |b| {
        b.iter(|| bridge.record(std::hint::black_box(&one)))
    });

    group.bench_function("span/derive_and_record", |b| {
        b.iter(|| {
            let _ = MetricsProcessor.process_span(&mut span, &mut cx);
            cx.drain_into(&mut batch);
            for m in &batch {
                let _ = bridge.record(m);
            }
            batch.clear();
        })
    });
    group.finish();
    // The series exist: the updates were real.
    assert!(!registry.gather().is_empty());
}

criterion_group!(benches, bench_metrics);
criterion_main!(benches);
