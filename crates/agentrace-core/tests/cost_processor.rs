//! The price processor in a pipeline: billable spans get a cost, others none, unknown models
//! stay unpriced (never zero) and are counted.

use std::sync::Arc;

use agentrace_core::cost::{PriceProcessor, PriceTable};
use agentrace_core::testing::MemorySink;
use agentrace_core::{
    Pipeline, ProcessContext, Processor, Resource, SpanId, SpanKind, SpanRecord, TokenUsage,
    TraceId, Usd,
};

const AT: u64 = 1_759_276_800_000_000_000; // 2025-10-01

fn span(kind: SpanKind, model: Option<&str>, usage: TokenUsage) -> SpanRecord {
    let mut s = SpanRecord::new(
        TraceId::random(),
        SpanId::random(),
        "s",
        AT,
        AT + 1,
        Arc::new(Resource::new("t")),
    );
    s.kind = kind;
    s.request_model = model.map(Into::into);
    s.usage = usage;
    s
}

fn processor() -> PriceProcessor {
    PriceProcessor::new(Arc::new(PriceTable::builtin().clone()))
}

#[test]
fn prices_only_billable_leaf_calls() {
    let p = processor();
    let mut cx = ProcessContext::new();
    let usage = TokenUsage::new(1_000, 100);
    let mut llm = span(SpanKind::Llm, Some("gpt-4o"), usage);
    let mut agent = span(SpanKind::Agent, Some("gpt-4o"), usage);
    let mut no_usage = span(SpanKind::Llm, Some("gpt-4o"), TokenUsage::default());
    for s in [&mut llm, &mut agent, &mut no_usage] {
        let _ = p.process_span(s, &mut cx);
    }
    assert_eq!(llm.cost.map(|c| c.total), Some(Usd::from_nanos(3_500_000)));
    assert_eq!(
        agent.cost, None,
        "an agent span's tokens are its children's: never billed twice"
    );
    assert_eq!(no_usage.cost, None);
    assert!(cx.take_measurements().is_empty());
}

#[test]
fn unknown_models_stay_unpriced_and_are_counted() {
    let p = processor();
    let mut cx = ProcessContext::new();
    let mut unknown = span(
        SpanKind::Llm,
        Some("my-private-model"),
        TokenUsage::new(10, 10),
    );
    let mut anonymous = span(SpanKind::Llm, None, TokenUsage::new(10, 10));
    let _ = p.process_span(&mut unknown, &mut cx);
    let _ = p.process_span(&mut unknown.clone(), &mut cx);
    let _ = p.process_span(&mut anonymous, &mut cx);
    assert_eq!(unknown.cost, None);
    assert_eq!(
        unknown
            .attributes
            .get("agentrace.cost.unpriced_reason")
            .and_then(|v| v.as_str()),
        Some("unknown model")
    );
    let counts = p.unpriced();
    assert_eq!(counts.get("my-private-model"), Some(&2));
    assert_eq!(counts.get("(no model)"), Some(&1));
    let metrics = cx.take_measurements();
    assert_eq!(metrics.len(), 3);
    assert!(metrics.iter().all(|m| m.name == "agentrace.cost.unpriced"));
}

#[test]
fn falls_back_from_an_unknown_response_model_to_the_request_model() {
    let p = processor();
    let mut cx = ProcessContext::new();
    let mut s = span(
        SpanKind::Llm,
        Some("claude-sonnet-4-5"),
        TokenUsage::new(1_000, 500),
    );
    s.response_model = Some("claude-sonnet-4-5-experimental-build".into());
    let _ = p.process_span(&mut s, &mut cx);
    assert_eq!(s.cost.map(|c| c.total), Some(Usd::from_nanos(10_500_000)));
}

#[test]
fn stamps_cost_in_a_running_pipeline() -> Result<(), Box<dyn std::error::Error>> {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_processor(processor())
        .with_sink(memory.clone())
        .build()?;
    pipeline.submit_span(span(
        SpanKind::Llm,
        Some("gpt-4o-mini"),
        TokenUsage::new(10_000, 500),
    ));
    pipeline.submit_span(span(
        SpanKind::Llm,
        Some("nobody-knows-this"),
        TokenUsage::new(10, 10),
    ));
    pipeline.shutdown()?;
    let spans = memory.spans();
    // 10,000 × $0.15/M + 500 × $0.60/M = $0.0015 + $0.0003
    assert_eq!(
        spans[0].cost.map(|c| c.total),
        Some(Usd::from_nanos(1_800_000))
    );
    assert_eq!(spans[1].cost, None);
    let unpriced: Vec<_> = memory
        .measurements()
        .into_iter()
        .map(|m| m.labels)
        .collect();
    assert_eq!(
        unpriced,
        [vec![(
            "gen_ai.request.model".into(),
            "nobody-knows-this".into()
        )]]
    );
    Ok(())
}

#[test]
fn batch_calls_are_priced_at_batch_rates_or_left_unpriced() {
    let p = processor();
    let mut cx = ProcessContext::new();
    let batch = |model: &str, usage: TokenUsage| {
        let mut s = span(SpanKind::Llm, Some(model), usage);
        s.attributes.insert("agentrace.batch", true);
        s
    };
    // 1,000 × $1.25/M + 100 × $5/M (gpt-4o batch)
    let mut gpt4o = batch("gpt-4o", TokenUsage::new(1_000, 100));
    // 1,000 × $1.50/M + 4,000 writes × $1.875/M + 100 × $7.50/M (claude-sonnet-4-5 batch)
    let mut sonnet = batch(
        "claude-sonnet-4-5",
        TokenUsage {
            cache_write_tokens: 4_000,
            ..TokenUsage::new(5_000, 100)
        },
    );
    // deepseek-chat has no batch rates in the table: unknown, not the standard price.
    let mut deepseek = batch("deepseek-chat", TokenUsage::new(1_000, 100));
    for s in [&mut gpt4o, &mut sonnet, &mut deepseek] {
        let _ = p.process_span(s, &mut cx);
    }
    assert_eq!(
        gpt4o.cost.map(|c| c.total),
        Some(Usd::from_nanos(1_750_000))
    );
    assert_eq!(
        sonnet.cost.map(|c| c.total),
        Some(Usd::from_nanos(9_750_000))
    );
    assert_eq!(deepseek.cost, None);
    assert_eq!(
        deepseek
            .attributes
            .get("agentrace.cost.unpriced_reason")
            .and_then(|v| v.as_str()),
        Some("no batch price")
    );
}

#[test]
fn telemetry_with_metrics_derives_them_after_pricing() -> Result<(), Box<dyn std::error::Error>> {
    use agentrace_core::{Telemetry, spans};
    use tracing_subscriber::prelude::*;

    let memory = MemorySink::new();
    let (layer, guard) = Telemetry::builder()
        .with_sink(memory.clone())
        .with_metrics()
        .build()?;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let llm = spans::llm("openai", "gpt-4o-mini");
        spans::record_usage(&llm, &TokenUsage::new(10_000, 500));
    });
    guard.shutdown()?;
    let cost: Vec<f64> = memory
        .measurements()
        .into_iter()
        .filter(|m| m.name == "agentrace.cost")
        .map(|m| m.value)
        .collect();
    // 10,000 × $0.15/M + 500 × $0.60/M
    assert_eq!(cost, [0.0018]);
    assert!(
        memory
            .measurements()
            .iter()
            .any(|m| m.name == "gen_ai.client.token.usage")
    );
    Ok(())
}
