//! Aggregates: which spans repeat what is reported beneath them.
//!
//! Stacks report usage more than once in a tree: the Vercel AI SDK puts a call's usage on its
//! `ai.generateText` span and on each `….doGenerate` step, an `invoke_agent` span may carry
//! its run's totals (AI SDK 7, PydanticAI, the OTel GenAI conventions), LangChain's
//! `ChatOpenAI` run wraps the OpenAI instrumentor's call with the same tokens, AI SDK 7 wraps
//! each embedding call in an `embeddings` span. The rule, one for every dialect
//! ([`repeats_what_is_below`]): **a span that reports usage with usage reported beneath it is
//! an aggregate, and so is a model call that reports none with a step (a call, or usage)
//! beneath it**; only the deepest reports count, and
//! [`mark_aggregate`](agentrace_core::normalize::mark_aggregate) moves an aggregate's usage out
//! of every total (docs/conventions.md, "Aggregates"). A span whose usage has no step beneath
//! it (an instrumentation that reports only the totals) counts: never both, never neither.
//!
//! [`crate::Ingestor::traces`] applies the rule to the spans of each request. A child ends
//! before its parent, so it arrives with it or earlier; the server applies [`aggregates`] to
//! a request together with the trace's spans stored before (before pricing), and to the
//! stored trace when a step arrives after its aggregate (then the aggregate's usage and cost
//! are taken out of the stored totals).

use std::collections::HashMap;

use agentrace_core::SpanId;
use agentrace_core::normalize::repeats_what_is_below;

use crate::shape::SpanShape;

/// The spans of one trace that repeat what is reported beneath them (core's
/// [`repeats_what_is_below`]), in input order. Cycles in the parent links are tolerated.
pub fn aggregates(spans: &[SpanShape]) -> Vec<SpanId> {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    // (a step beneath, usage beneath) of each span.
    let mut below = vec![(false, false); spans.len()];
    for (i, span) in spans.iter().enumerate().filter(|(_, s)| s.step) {
        let mut current = span.parent_span_id.and_then(|p| index.get(&p).copied());
        for _ in 0..spans.len() {
            let Some(ancestor) = current.filter(|&a| a != i) else {
                break;
            };
            below[ancestor].0 = true;
            below[ancestor].1 |= span.reports_usage;
            current = spans[ancestor]
                .parent_span_id
                .and_then(|p| index.get(&p).copied());
        }
    }
    spans
        .iter()
        .zip(below)
        .filter(|(s, (step_below, usage_below))| {
            repeats_what_is_below(s.reports_usage, s.step, *usage_below, *step_below)
        })
        .map(|(s, _)| s.span_id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(id: u8, parent: Option<u8>, step: bool) -> SpanShape {
        SpanShape {
            reports_usage: step,
            ..call(id, parent, step)
        }
    }

    /// A model call that reports no usage when `step`.
    fn call(id: u8, parent: Option<u8>, step: bool) -> SpanShape {
        SpanShape {
            span_id: SpanId::from_bytes([id; 8]),
            parent_span_id: parent.map(|p| SpanId::from_bytes([p; 8])),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            received_unix_nano: 0,
            orphan: false,
            step,
            reports_usage: false,
            mcp: None,
            tool: false,
        }
    }

    #[test]
    fn only_steps_with_steps_beneath() {
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
    fn usage_counts_where_it_is_deepest() {
        // agent with totals(1) > call without usage(2); chain with usage(3) > plain(4) >
        // call with usage(5); a wrapper call without usage(6) > call without usage(7).
        let spans = [
            shape(1, None, true),
            call(2, Some(1), true),
            shape(3, None, true),
            shape(4, Some(3), false),
            shape(5, Some(4), true),
            call(6, None, true),
            call(7, Some(6), true),
        ];
        assert_eq!(
            aggregates(&spans),
            vec![SpanId::from_bytes([3; 8]), SpanId::from_bytes([6; 8])],
            "1 is the only report of its usage; 3 repeats 5; 6 wraps the call 7"
        );
    }

    #[test]
    fn cycles_end() {
        let spans = [shape(1, Some(2), true), shape(2, Some(1), true)];
        assert_eq!(aggregates(&spans).len(), 2);
        assert!(aggregates(&[shape(1, Some(1), true)]).is_empty());
    }
}
