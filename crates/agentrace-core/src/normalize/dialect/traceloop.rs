//! OpenLLMetry / Traceloop.
//!
//! Core's normalizer maps `traceloop.span.kind` (workflow, task, agent, tool), the LLM spans'
//! `llm.request.type`, `traceloop.entity.name` (the agent or tool name by kind), the
//! association properties `session_id` and `user_id`, and the pre-0.5 usage names.
//! Particular to the dialect: its spans are named `{entity}.{kind}` (`search.tool`,
//! `planner.agent`), which names them when `traceloop.entity.name` is absent.

use crate::SpanRecord;

use super::name_from;

/// For spans with a `traceloop.span.kind` (`kind`).
pub(crate) fn apply(record: &mut SpanRecord, kind: &str) {
    let name = record
        .name
        .strip_suffix(kind)
        .and_then(|rest| rest.strip_suffix('.'))
        .map(str::to_owned);
    name_from(record, name.as_deref());
}
