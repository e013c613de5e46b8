//! Leaf-only billing: the price processor bills the leaf LLM calls, never the spans that sum
//! them, within a request and across requests.

use agentrace_core::cost::{PriceProcessor, PriceTable, UNPRICED_REASON};
use agentrace_core::normalize::{is_aggregate, mark_aggregate};
use agentrace_core::{ProcessContext, Processor, SpanRecord, Usd};
use agentrace_ingest::SpanShape;
use agentrace_ingest::billing::aggregates;

use crate::common::{TestResult, ingest, ingest_fixture, int, kv, named, span, string};

fn price(spans: &mut [SpanRecord]) {
    let processor = PriceProcessor::new(std::sync::Arc::new(PriceTable::builtin()));
    let mut cx = ProcessContext::new();
    for span in spans {
        let _kept = processor.process_span(span, &mut cx);
    }
}

fn total(spans: &[SpanRecord]) -> Usd {
    spans.iter().filter_map(|s| s.cost).map(|c| c.total).sum()
}

#[test]
fn only_leaf_calls_are_priced() -> TestResult {
    let mut spans = ingest_fixture("openinference.json")?;
    price(&mut spans);
    let wrapper = named(&spans, "ChatOpenAI");
    assert_eq!(wrapper.cost, None);
    assert!(
        wrapper.attributes.get(UNPRICED_REASON).is_none(),
        "not billable, not unpriced"
    );
    let leaf = named(&spans, "ChatCompletion")
        .cost
        .ok_or("the leaf is priced")?;
    let anthropic = named(&spans, "ChatAnthropic").cost.ok_or("priced")?;
    assert_eq!(total(&spans), leaf.total + anthropic.total);
    for name in ["LangGraph", "research_agent", "tavily_search"] {
        assert_eq!(named(&spans, name).cost, None, "{name}");
    }

    let mut spans = ingest_fixture("vercel.json")?;
    price(&mut spans);
    assert_eq!(
        named(&spans, "ai.generateText").cost,
        None,
        "the parent's totals"
    );
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "ai.generateText.doGenerate")
        .collect();
    assert!(calls.iter().all(|s| s.cost.is_some()));

    let mut spans = ingest_fixture("otel_current.json")?;
    price(&mut spans);
    assert_eq!(named(&spans, "invoke_agent researcher").cost, None);
    assert!(named(&spans, "chat gpt-4o").cost.is_some());
    Ok(())
}

/// An LLM span with usage.
fn call(id: u8, parent: Option<u8>) -> opentelemetry_proto::tonic::trace::v1::Span {
    span(
        id,
        parent,
        "llm",
        u64::from(id),
        100 - u64::from(id),
        vec![
            kv("gen_ai.operation.name", string("chat")),
            kv("gen_ai.request.model", string("gpt-4o")),
            kv("gen_ai.usage.input_tokens", int(100)),
            kv("gen_ai.usage.output_tokens", int(10)),
        ],
    )
}

#[test]
fn nested_calls_in_one_request() {
    // 1 > 2 > (3: a tool) > 4: 1 and 2 sum the call 4.
    let tool = span(
        3,
        Some(2),
        "tool",
        3,
        97,
        vec![kv("gen_ai.tool.name", string("t"))],
    );
    let decoded = ingest(vec![
        call(4, Some(3)),
        tool,
        call(2, Some(1)),
        call(1, None),
    ]);
    let marked: Vec<(u8, bool)> = decoded
        .records
        .iter()
        .map(|s| (s.span_id.to_bytes()[0], is_aggregate(s)))
        .collect();
    assert_eq!(marked, vec![(4, false), (3, false), (2, true), (1, true)]);
}

#[test]
fn a_parent_stored_earlier_is_found_by_the_stored_shapes() {
    // The parent arrives first (it was exported on its own), the child later.
    let mut parent = ingest(vec![call(1, None)]).records;
    assert!(!is_aggregate(&parent[0]));
    let child = ingest(vec![call(2, Some(1))]).records;
    assert!(!is_aggregate(&child[0]));
    // The server applies the rule to the trace's stored spans.
    let shapes: Vec<SpanShape> = parent
        .iter()
        .chain(&child)
        .map(|s| SpanShape::of(s, 0))
        .collect();
    let found = aggregates(&shapes);
    assert_eq!(found, vec![parent[0].span_id]);
    mark_aggregate(&mut parent[0]);
    price(&mut parent);
    assert_eq!(parent[0].cost, None);
    // Marked, it stays a call for the rule: planning again finds the same.
    let shapes: Vec<SpanShape> = parent
        .iter()
        .chain(&child)
        .map(|s| SpanShape::of(s, 0))
        .collect();
    assert_eq!(aggregates(&shapes), found);
}
