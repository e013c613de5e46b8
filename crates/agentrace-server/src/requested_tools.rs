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

use std::collections::HashMap;

use agentrace_core::normalize::dialect::{is_tool_candidate, mark_requested_tool};
use agentrace_core::{SpanKind, SpanRecord, TraceId};
use agentrace_sqlite::SqliteStore;

/// Marks the tool spans among `spans`. Reads each trace of a candidate once from `store`; a
/// read that fails leaves its candidates as they are.
pub(crate) fn mark(spans: &mut [SpanRecord], store: &SqliteStore) {
    if !spans.iter().any(is_tool_candidate) {
        return;
    }
    let mut stored: HashMap<TraceId, Vec<SpanRecord>> = HashMap::new();
    for at in 0..spans.len() {
        if !is_tool_candidate(&spans[at]) {
            continue;
        }
        let trace_id = spans[at].trace_id;
        let stored = stored.entry(trace_id).or_insert_with(|| {
            store
                .trace(trace_id)
                .ok()
                .flatten()
                .map(|tree| tree.nodes.into_iter().map(|node| node.span).collect())
                .unwrap_or_default()
        });
        let candidate = &spans[at];
        let call = spans
            .iter()
            .chain(stored.iter())
            .filter(|s| {
                s.kind == SpanKind::Llm
                    && s.parent_span_id == candidate.parent_span_id
                    && s.end_time_unix_nano <= candidate.start_time_unix_nano
            })
            .max_by_key(|s| s.end_time_unix_nano)
            .cloned();
        if let Some(call) = call {
            mark_requested_tool(&mut spans[at], &call);
        }
    }
}
