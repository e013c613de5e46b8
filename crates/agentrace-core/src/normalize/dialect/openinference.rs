//! OpenInference (Arize Phoenix and its instrumentors).
//!
//! Core's normalizer maps `openinference.span.kind`, `llm.provider` (else `llm.system`),
//! `llm.request.model_name`/`llm.response.model_name` (else `llm.model_name`,
//! `embedding.model_name`), `llm.token_count.*`, `session.id`, `user.id`, `agent.name`,
//! `tool.name` and `tool_call.id`. Particular to the dialect:
//!
//! - `AGENT` and `TOOL` spans are named after the run (the LangChain instrumentor names a
//!   tool's span after the tool, an agent's after the agent), so their name is the agent or
//!   tool name when `agent.name` / `tool.name` are absent;
//! - LangGraph runs through the LangChain instrumentor carry `langgraph_*` keys in their
//!   `metadata`: their framework is `langgraph`.

use crate::SpanRecord;
use crate::semconv::openinference;

use super::{name_from, text};

/// For spans with an `openinference.span.kind`.
pub(crate) fn apply(record: &mut SpanRecord) {
    let name = record.name.clone();
    name_from(record, Some(&name));
    if record.framework.is_none()
        && text(record, openinference::METADATA).is_some_and(|m| m.contains("\"langgraph_"))
    {
        record.framework = Some("langgraph".into());
    }
}
