//! What is particular to each telemetry dialect, after [`SpanNormalizer`] applied the mapping
//! table of docs/conventions.md, "Dialects" (precedence, kinds, provider names) to every raw
//! attribute; then the token counts are reconciled. Used by both routes a span takes: the
//! `tracing` layer ([`complete`] after its normalizer) and OTLP ingest ([`normalize_span`]).
//!
//! | module | dialect | particular logic |
//! |---|---|---|
//! | `agentrace` | agentrace's own export | cost from `gen_ai.usage.cost` / `agentrace.cost.*` |
//! | `otel` | OTel GenAI, current (v1.37+) and legacy names | agent and tool names from `invoke_agent {name}` / `execute_tool {name}` span names |
//! | `openinference` | OpenInference (Arize Phoenix) | `AGENT` names from `graph.node.id` (CrewAI), `AGENT`/`TOOL` names from the span name; LangGraph from run metadata |
//! | `traceloop` | OpenLLMetry / Traceloop | names from `{entity}.{kind}` span names |
//! | `vercel` | Vercel AI SDK (`ai.*`; v7's `@ai-sdk/otel` writes OTel GenAI names under the scope `gen_ai`) | v6 uncached input; framework |
//! | `langfuse` | Langfuse attributes | `usage_details`, observation level, observation names |
//! | `mcp` | the Model Context Protocol's spans (OTel GenAI `mcp.client`/`mcp.server`, the MCP Python SDK 2, OpenLLMetry's MCP instrumentation) | the method and side written the conventions' way, `tools/call` a tool call, other methods MCP operations, the server side of a traced tool call an MCP operation |
//! | `openlit` | OpenLIT (scopes `openlit`, `openlit.instrumentation.*`) | its made-up stream usage dropped; tool spans by [`mark_requested_tool`] |
//!
//! Exceptions (span events named `exception`) complete an error status of any dialect, and
//! the instrumentation scope names the framework when nothing else did.

mod agentrace;
mod langfuse;
mod mcp;
mod openinference;
mod openlit;
mod otel;
mod traceloop;
mod vercel;

pub use openlit::{is_tool_candidate, mark_requested_tool};

use super::{DialectMarks, SpanNormalizer, reconcile_usage};
use crate::semconv::otel as names;
use crate::{AttributeValue, SpanKind, SpanRecord, StatusCode, Text};

/// Fills the typed fields of `record` from its raw attributes, which stay as they are;
/// `scope_framework` is the framework its instrumentation scope names (OTLP ingest).
pub fn normalize_span(record: &mut SpanRecord, scope_framework: Option<&'static str>) {
    let attributes = std::mem::take(&mut record.attributes);
    let mut normalizer = SpanNormalizer::new();
    for (key, value) in attributes.iter() {
        normalizer.offer_value(record, key, value);
    }
    record.attributes = attributes;
    let marks = normalizer.finish(record);
    complete(record, &marks, scope_framework);
}

/// The dialects' own rules (for the dialects whose `marks` [`SpanNormalizer::finish`] found),
/// token reconciliation, exceptions, and the framework its scope names when nothing else did:
/// what follows [`SpanNormalizer::finish`] on every route.
pub fn complete(
    record: &mut SpanRecord,
    marks: &DialectMarks,
    scope_framework: Option<&'static str>,
) {
    agentrace::apply(record);
    if marks.vercel {
        vercel::apply(record);
    }
    langfuse::apply(record, marks.langfuse);
    reconcile_usage(&mut record.usage);
    otel::apply(record);
    if marks.openinference {
        openinference::apply(record);
    }
    if let Some(kind) = &marks.traceloop_kind {
        traceloop::apply(record, kind);
    }
    openlit::apply(record);
    mcp::apply(record);
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

/// The AI SDK's framework name: its spans' (`ai.operationId`, v6 and earlier) and its scope's
/// (`@ai-sdk/otel`'s `gen_ai`, v7).
pub(crate) const VERCEL_AI: &str = "vercel-ai";

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

/// Rust crates that instrument with `tracing` natively, by the root of their target.
const RUST_FRAMEWORKS: &[(&str, &str)] = &[
    ("rig", "rig"),
    ("rig_core", "rig"),
    ("genai", "genai"),
    ("langchain_rust", "langchain-rust"),
    ("async_openai", "async-openai"),
    ("swarms_rs", "swarms-rs"),
    ("adk", "adk"),
    ("adk_rust", "adk"),
];

/// The framework of a span from its `tracing` target (a crate path), for the Rust crates that
/// instrument natively.
pub fn framework_of_target(target: &str) -> Option<&'static str> {
    let root = target.split(':').next().unwrap_or(target);
    RUST_FRAMEWORKS
        .iter()
        .find(|(name, _)| *name == root)
        .map(|(_, framework)| *framework)
}

/// The agent framework an instrumentation scope names, if any: a Rust crate's target, or a
/// word of an OpenInference or OpenLLMetry instrumentor's name.
pub fn framework_of_scope(scope: Option<&str>) -> Option<&'static str> {
    let scope = scope?;
    if scope == crate::semconv::vercel_ai::SCOPE_V7 {
        return Some(VERCEL_AI);
    }
    if let Some(framework) = framework_of_target(scope) {
        return Some(framework);
    }
    let scope = scope.to_ascii_lowercase();
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
            ("rig_core::agent", Some("rig")),
            ("genai::chat", Some("genai")),
            ("async_openai", Some("async-openai")),
            ("my_app::agents", None),
            ("opentelemetry.instrumentation.openai", None),
            ("ai", None),
            ("gen_ai", Some("vercel-ai")),
        ] {
            assert_eq!(framework_of_scope(Some(scope)), framework, "{scope}");
        }
        assert_eq!(framework_of_scope(None), None);
    }
}
