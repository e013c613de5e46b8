//! Normalization of a decoded span: core's [`SpanNormalizer`] applies the mapping table of
//! docs/conventions.md, "Dialects" (precedence, kinds, provider names) to every raw attribute; then each
//! dialect's module adds what is particular to it; then the token counts are reconciled.
//!
//! | module | dialect | particular logic |
//! |---|---|---|
//! | [`agentrace`] | agentrace's own export | cost from `gen_ai.usage.cost` / `agentrace.cost.*` |
//! | [`otel`] | OTel GenAI, current (v1.37+) and legacy names | agent and tool names from `invoke_agent {name}` / `execute_tool {name}` span names |
//! | [`openinference`] | OpenInference (Arize Phoenix) | `AGENT`/`TOOL` names from the span name; LangGraph from run metadata |
//! | [`traceloop`] | OpenLLMetry / Traceloop | names from `{entity}.{kind}` span names |
//! | [`vercel`] | Vercel AI SDK (`ai.*`) | v6 uncached input; framework |
//! | [`langfuse`] | Langfuse attributes | `usage_details`, observation level, observation names |
//!
//! Exceptions (span events named `exception`) complete an error status of any dialect, and
//! the instrumentation scope names the framework when nothing else did.

pub(crate) mod agentrace;
pub(crate) mod langfuse;
pub(crate) mod openinference;
pub(crate) mod otel;
pub(crate) mod traceloop;
pub(crate) mod vercel;

use agentrace_core::normalize::{SpanNormalizer, reconcile_usage};
use agentrace_core::semconv::otel as names;
use agentrace_core::{AttributeValue, SpanKind, SpanRecord, StatusCode, Text};

/// Fills the typed fields of `record` from its raw attributes, which stay as they are;
/// `scope_framework` is the framework its instrumentation scope names.
pub(crate) fn normalize(record: &mut SpanRecord, scope_framework: Option<&'static str>) {
    let attributes = std::mem::take(&mut record.attributes);
    let mut normalizer = SpanNormalizer::new();
    for (key, value) in attributes.iter() {
        normalizer.offer_value(record, key, value);
    }
    record.attributes = attributes;
    normalizer.finish(record);
    agentrace::apply(record);
    vercel::apply(record);
    langfuse::apply(record);
    reconcile_usage(&mut record.usage);
    otel::apply(record);
    openinference::apply(record);
    traceloop::apply(record);
    exception(record);
    if record.framework.is_none() {
        record.framework = scope_framework.map(Text::from);
    }
}

/// The text of a raw attribute.
pub(crate) fn text<'a>(record: &'a SpanRecord, key: &str) -> Option<&'a str> {
    record.attributes.get(key).and_then(AttributeValue::as_str)
}

/// Names an agent or tool span from `name` when the dialect gave no better one.
pub(crate) fn name_from(record: &mut SpanRecord, name: Option<&str>) {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return;
    };
    match record.kind {
        SpanKind::Agent if record.agent_name.is_none() => record.agent_name = Some(name.into()),
        SpanKind::Tool if record.tool_name.is_none() => record.tool_name = Some(name.into()),
        _ => {}
    }
}

/// An error status without a message takes the first exception's `type: message`.
fn exception(record: &mut SpanRecord) {
    if record.status.code != StatusCode::Error
        || record
            .status
            .message
            .as_deref()
            .is_some_and(|m| !m.is_empty())
    {
        return;
    }
    let Some(event) = record
        .events
        .iter()
        .find(|e| e.name == names::EXCEPTION_EVENT)
    else {
        return;
    };
    let get = |k| event.attributes.get(k).map(ToString::to_string);
    record.status.message = match (get(names::EXCEPTION_TYPE), get(names::EXCEPTION_MESSAGE)) {
        (Some(t), Some(m)) => Some(format!("{t}: {m}")),
        (t, m) => t.or(m),
    };
}

/// Agent frameworks by a word in the instrumentation scope name (OpenInference and
/// OpenLLMetry name their instrumentors after the framework; Rust `tracing` targets are
/// crate paths).
const FRAMEWORKS: &[(&str, &str)] = &[
    ("langgraph", "langgraph"),
    ("langchain", "langchain"),
    ("crewai", "crewai"),
    ("llama_index", "llamaindex"),
    ("llamaindex", "llamaindex"),
    ("openai_agents", "openai-agents"),
    ("openai-agents", "openai-agents"),
    ("autogen", "autogen"),
    ("haystack", "haystack"),
    ("dspy", "dspy"),
    ("smolagents", "smolagents"),
    ("pydantic_ai", "pydantic-ai"),
    ("pydantic-ai", "pydantic-ai"),
    ("google_adk", "google-adk"),
    ("agno", "agno"),
    ("semantic_kernel", "semantic-kernel"),
    ("strands", "strands"),
    ("mastra", "mastra"),
];

/// The agent framework an instrumentation scope names, if any.
pub(crate) fn framework_of_scope(scope: Option<&str>) -> Option<&'static str> {
    let scope = scope?.to_ascii_lowercase();
    if scope == "rig" || scope.starts_with("rig::") || scope.starts_with("rig_core") {
        return Some("rig");
    }
    FRAMEWORKS
        .iter()
        .find(|(needle, _)| scope.contains(needle))
        .map(|(_, framework)| *framework)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frameworks_from_scopes() {
        for (scope, framework) in [
            ("openinference.instrumentation.langchain", Some("langchain")),
            ("opentelemetry.instrumentation.crewai", Some("crewai")),
            (
                "openinference.instrumentation.llama_index",
                Some("llamaindex"),
            ),
            (
                "openinference.instrumentation.openai_agents",
                Some("openai-agents"),
            ),
            ("rig::completions", Some("rig")),
            ("opentelemetry.instrumentation.openai", None),
            ("ai", None),
        ] {
            assert_eq!(framework_of_scope(Some(scope)), framework, "{scope}");
        }
        assert_eq!(framework_of_scope(None), None);
    }
}
