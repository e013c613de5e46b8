//! Pricing one LLM span: price lookup (name resolution included) plus cost computation, and the
//! price processor as the pipeline runs it. Run with `cargo xtask bench cost`.

use std::sync::Arc;

use agentrace::cost::{PriceBook, PriceProcessor, PriceTable, compute_cost};
use agentrace::testing::fixtures::llm_span;
use agentrace::{ProcessContext, Processor, TokenUsage, TraceId};
use criterion::{Criterion, criterion_group, criterion_main};

const AT: u64 = 1_759_276_800_000_000_000; // 2025-10-01

fn bench_cost(c: &mut Criterion) {
    let table = PriceTable::builtin();
    let usage = TokenUsage {
        input_tokens: 12_000,
        output_tokens: 800,
        cache_read_tokens: 8_000,
        cache_write_tokens: 0,
        cache_write_1h_tokens: 0,
        reasoning_tokens: Some(200),
    };
    let mut group = c.benchmark_group("price_span");
    for (name, provider, model) in [
        ("exact_name", "openai", "gpt-4o"),
        ("dated_snapshot", "openai", "gpt-4o-2024-08-06"),
        (
            "bedrock_id",
            "aws.bedrock",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
    ] {
        group.bench_function(format!("lookup_and_compute/{name}"), |b| {
            b.iter(|| {
                let found = table.price(Some(provider), std::hint::black_box(model), AT);
                found.map(|m| compute_cost(&usage, m.price))
            })
        });
    }
    let processor = PriceProcessor::new(Arc::new(table));
    let mut span = llm_span(TraceId::random(), None, AT);
    group.bench_function("price_processor", |b| {
        let mut cx = ProcessContext::new();
        b.iter(|| {
            span.cost = None;
            processor.process_span(&mut span, &mut cx)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_cost);
criterion_main!(benches);
