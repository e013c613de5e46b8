//! What the provided lookups of [`TraceReader`](crate::TraceReader) pick from a trace's spans:
//! the same spans a store's own key lookups find.

use agentrace_core::{SpanId, SpanKind, SpanRecord};

/// The earliest root: the first span without a parent, by start then span id.
pub(crate) fn root(spans: &[SpanRecord]) -> Option<&SpanRecord> {
    spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .min_by_key(|s| (s.start_time_unix_nano, s.span_id))
}

/// The spans a conversation turn is read from: the earliest root, the first LLM call by
/// start and the last by end, in that order, each at most once.
pub(crate) fn turn(spans: &[SpanRecord]) -> Vec<SpanRecord> {
    let llm = || spans.iter().filter(|s| s.kind == SpanKind::Llm);
    let first = llm().min_by_key(|s| (s.start_time_unix_nano, s.span_id));
    let last = llm().max_by_key(|s| s.end_time_unix_nano);
    let mut out: Vec<SpanRecord> = Vec::new();
    for span in [root(spans), first, last].into_iter().flatten() {
        if !out.iter().any(|s| s.span_id == span.span_id) {
            out.push(span.clone());
        }
    }
    out
}

/// The LLM call under `parent` that ended last, at or before `ended_by_unix_nano`.
pub(crate) fn last_llm_call_before(
    spans: Vec<SpanRecord>,
    parent: SpanId,
    ended_by_unix_nano: u64,
) -> Option<SpanRecord> {
    spans
        .into_iter()
        .filter(|s| {
            s.kind == SpanKind::Llm
                && s.parent_span_id == Some(parent)
                && s.end_time_unix_nano <= ended_by_unix_nano
        })
        .max_by_key(|s| s.end_time_unix_nano)
}
