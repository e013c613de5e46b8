//! Leaf-only billing: which LLM spans sum the calls beneath them.
//!
//! A framework span around an instrumented client call (LangChain's `ChatOpenAI` run over the
//! OpenAI instrumentor's span, both OpenInference `LLM` with the same tokens) would bill the
//! call twice. The rule: **an LLM call with an LLM call among its descendants is an
//! aggregate** and is not billed; only the leaves are (docs/ingest.md, "Leaf-only billing").
//!
//! Spans the dialects already say are not calls never get here: AI SDK `ai.generateText`
//! (only its `*.do*` children are LLM spans), `invoke_agent` spans with usage totals, Traceloop
//! workflows and tasks, Langfuse spans that are not generations.
//!
//! [`crate::Ingestor::traces`] applies the rule to the spans of each request. A child usually
//! arrives with or before its parent (it ends first), but when a call's parent was stored by
//! an earlier request, the server applies [`aggregates`] to the stored spans of the trace and
//! marks what it returns with [`mark_aggregate`](agentrace_core::normalize::mark_aggregate)
//! (repricing it, if it was priced).

use std::collections::HashMap;

use agentrace_core::SpanId;

use crate::shape::SpanShape;

/// The LLM calls of one trace that have an LLM call among their descendants, in input order.
/// Cycles in the parent links are tolerated.
pub fn aggregates(spans: &[SpanShape]) -> Vec<SpanId> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let mut aggregate = vec![false; spans.len()];
    for (i, span) in spans.iter().enumerate().filter(|(_, s)| s.llm_call) {
        let mut current = span.parent_span_id.and_then(|p| index.get(&p).copied());
        for _ in 0..spans.len() {
            let Some(ancestor) = current.filter(|&a| a != i) else {
                break;
            };
            aggregate[ancestor] |= spans[ancestor].llm_call;
            current = spans[ancestor]
                .parent_span_id
                .and_then(|p| index.get(&p).copied());
        }
    }
    spans
        .iter()
        .zip(aggregate)
        .filter_map(|(s, a)| a.then_some(s.span_id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(id: u8, parent: Option<u8>, llm_call: bool) -> SpanShape {
        SpanShape {
            span_id: SpanId::from_bytes([id; 8]),
            parent_span_id: parent.map(|p| SpanId::from_bytes([p; 8])),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            received_unix_nano: 0,
            orphan: false,
            llm_call,
        }
    }

    #[test]
    fn only_calls_with_calls_beneath() {
        // agent(1) > chain-llm(2) > http(3) > client-llm(4); agent > tool(5); llm(6) alone.
        let spans = [
            shape(1, None, false),
            shape(2, Some(1), true),
            shape(3, Some(2), false),
            shape(4, Some(3), true),
            shape(5, Some(1), false),
            shape(6, Some(1), true),
        ];
        assert_eq!(aggregates(&spans), vec![SpanId::from_bytes([2; 8])]);
    }

    #[test]
    fn cycles_end() {
        let spans = [shape(1, Some(2), true), shape(2, Some(1), true)];
        assert_eq!(aggregates(&spans).len(), 2);
        assert!(aggregates(&[shape(1, Some(1), true)]).is_empty());
    }
}
