//! OpenLIT's tool spans, recognized on the receiving threads before the processors run (so that
//! metrics, budgets and the `/tools` rollups see them as tools): an OpenLIT function span
//! becomes a tool span when the LLM call that ended last before it, under the same parent,
//! asked for a tool of its name — the rule is core's
//! (`agentrace_core::normalize::dialect::mark_requested_tool`, docs/conventions.md).
//!
//! That call is looked for in the request and among the trace's stored spans. An OpenTelemetry
//! SDK exports spans in the order they end and sends its next request once the previous one
//! was answered — after it was committed — so the call, which ended before the function span
//! started, is in the same request or already stored. A function span whose call comes later
//! (another exporter's, out of order) stays a plain span: the rule never guesses.

use agentrace_core::normalize::dialect::{is_tool_candidate, mark_requested_tool};
use agentrace_core::{SpanKind, SpanRecord};
use agentrace_store::Store;

/// Marks the tool spans among `spans`: each candidate's call is the latest of those in the
/// request and the one stored ([`TraceReader::last_llm_call_before`](agentrace_store::TraceReader::last_llm_call_before)); a read that fails
/// leaves the candidate as it is.
pub(crate) fn mark(spans: &mut [SpanRecord], store: &dyn Store) {
    for at in 0..spans.len() {
        let candidate = &spans[at];
        let Some(parent) = candidate
            .parent_span_id
            .filter(|_| is_tool_candidate(candidate))
        else {
            continue;
        };
        let in_request = spans
            .iter()
            .filter(|s| {
                s.kind == SpanKind::Llm
                    && s.trace_id == candidate.trace_id
                    && s.parent_span_id == Some(parent)
                    && s.end_time_unix_nano <= candidate.start_time_unix_nano
            })
            .max_by_key(|s| s.end_time_unix_nano)
            .cloned();
        let stored = store
            .last_llm_call_before(candidate.trace_id, parent, candidate.start_time_unix_nano)
            .ok()
            .flatten();
        let call = in_request
            .into_iter()
            .chain(stored)
            .max_by_key(|s| s.end_time_unix_nano);
        if let Some(call) = call {
            mark_requested_tool(&mut spans[at], &call);
        }
    }
}
