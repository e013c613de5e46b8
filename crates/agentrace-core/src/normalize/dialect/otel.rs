//! OpenTelemetry GenAI conventions, current (v1.37–v1.41) and legacy (≤ v1.36) names.
//!
//! The mapping itself (operation, provider and the `gen_ai.system` renames, models, usage
//! with `prompt_tokens`/`completion_tokens`, conversation, agent, tool, `error.type`) is
//! core's [`normalize`](crate::normalize). Particular to the dialect: agent and tool
//! spans are named `invoke_agent {gen_ai.agent.name}`, `create_agent {…}` and
//! `execute_tool {gen_ai.tool.name}`, so a span that left the attribute out still has its
//! name — unless what follows the operation is the span's model (AI SDK 7 names an agent run
//! without a `functionId` `invoke_agent {model}`): a model is no agent's name.

use crate::SpanRecord;
use crate::semconv::gen_ai;

use super::{name_from, text};

pub(crate) fn apply(record: &mut SpanRecord) {
    // The raw attribute (kept by OTLP ingest), else the typed operation (the `tracing` layer
    // keeps only that).
    let Some(operation) = text(record, gen_ai::OPERATION_NAME).or(record.operation.as_deref())
    else {
        return;
    };
    let name = record
        .name
        .strip_prefix(operation)
        .filter(|rest| rest.starts_with(' '))
        .filter(|rest| {
            let rest = rest.trim();
            record.request_model.as_deref() != Some(rest)
                && record.response_model.as_deref() != Some(rest)
        })
        .map(str::to_owned);
    name_from(record, name.as_deref());
}
