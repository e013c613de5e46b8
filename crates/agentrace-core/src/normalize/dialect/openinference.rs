//! OpenInference (Arize Phoenix and its instrumentors).
//!
//! Core's normalizer maps `openinference.span.kind`, `llm.provider` (else `llm.system`),
//! `llm.request.model_name`/`llm.response.model_name` (else `llm.model_name`,
//! `embedding.model_name`), `llm.token_count.*`, `session.id`, `user.id`, `agent.name`,
//! `tool.name` and `tool_call.id`. Particular to the dialect:
//!
//! - an `AGENT` span named `{graph.node.id}.…` is the agent `graph.node.id` when `agent.name`
//!   is absent (the CrewAI instrumentor names a task's agent span `{role}._execute_core` and
//!   puts the role in `graph.node.id`);
//! - other `AGENT` and `TOOL` spans are named after the run (the LangChain instrumentor names a
//!   tool's span after the tool, an agent's after the agent), so their name is the agent or
//!   tool name when `agent.name` / `tool.name` are absent;
//! - LangGraph runs through the LangChain instrumentor carry `langgraph_*` keys in their
//!   `metadata`, the graph's own run `"ls_integration": "langgraph"`: their framework is
//!   `langgraph`.

use crate::semconv::openinference;
use crate::{SpanKind, SpanRecord};

use super::{name_from, text};

/// For spans with an `openinference.span.kind`.
pub(crate) fn apply(record: &mut SpanRecord) {
    if record.kind == SpanKind::Agent
        && record.agent_name.is_none()
        && let Some(node) = text(record, openinference::GRAPH_NODE_ID)
            .map(str::trim)
            .filter(|node| !node.is_empty())
        && record
            .name
            .strip_prefix(node)
            .is_some_and(|rest| rest.starts_with('.'))
    {
        record.agent_name = Some(node.into());
    }
    let name = record.name.clone();
    name_from(record, Some(&name));
    if record.framework.is_none()
        && text(record, openinference::METADATA).is_some_and(is_langgraph_metadata)
    {
        record.framework = Some("langgraph".into());
    }
}

/// Whether LangChain run `metadata` (a JSON object, possibly truncated) is a LangGraph run's:
/// a `langgraph_*` key (a node's run and what runs in it), or `ls_integration` `langgraph` (the
/// graph's own run).
fn is_langgraph_metadata(metadata: &str) -> bool {
    if metadata.contains("\"langgraph_") {
        return true;
    }
    metadata
        .match_indices("\"ls_integration\"")
        .any(|(at, key)| {
            metadata[at + key.len()..]
                .trim_start()
                .strip_prefix(':')
                .is_some_and(|value| value.trim_start().starts_with("\"langgraph\""))
        })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::normalize::dialect::normalize_span;
    use crate::semconv::openinference as oi;
    use crate::{Resource, SpanId, SpanKind, SpanRecord, TraceId};

    fn span(name: &str, kind: &str, attributes: &[(&'static str, &str)]) -> SpanRecord {
        let mut span = SpanRecord::new(
            TraceId::from_bytes([7; 16]),
            SpanId::from_bytes([1; 8]),
            name,
            0,
            10,
            Arc::new(Resource::new("app")),
        );
        span.attributes.insert(oi::SPAN_KIND, kind);
        for (key, value) in attributes {
            span.attributes.insert(*key, *value);
        }
        span
    }

    fn normalized(mut record: SpanRecord, scope_framework: Option<&'static str>) -> SpanRecord {
        normalize_span(&mut record, scope_framework);
        record
    }

    #[test]
    fn a_crewai_agent_span_is_named_by_its_graph_node() {
        for name in [
            "Weather Reporter._execute_core",
            "Weather Reporter.forecast._execute_core",
            "Weather Reporter.kickoff",
        ] {
            let agent = normalized(
                span(name, "AGENT", &[(oi::GRAPH_NODE_ID, "Weather Reporter")]),
                Some("crewai"),
            );
            assert_eq!(agent.kind, SpanKind::Agent, "{name}");
            assert_eq!(
                agent.agent_name.as_deref(),
                Some("Weather Reporter"),
                "{name}"
            );
            assert_eq!(agent.framework.as_deref(), Some("crewai"), "{name}");
        }
        // `agent.name` wins; a node id the span name does not start with (an opaque id) is
        // not a name: the span name is.
        let named = normalized(
            span(
                "researcher._execute_core",
                "AGENT",
                &[(oi::GRAPH_NODE_ID, "researcher"), (oi::AGENT_NAME, "Ada")],
            ),
            None,
        );
        assert_eq!(named.agent_name.as_deref(), Some("Ada"));
        for node in ["5f0c9a2e11d4b7a3", "research", ""] {
            let opaque = normalized(
                span("researcher", "AGENT", &[(oi::GRAPH_NODE_ID, node)]),
                None,
            );
            assert_eq!(opaque.agent_name.as_deref(), Some("researcher"), "{node}");
        }
        // Only agent spans.
        let chain = normalized(
            span(
                "researcher.step",
                "CHAIN",
                &[(oi::GRAPH_NODE_ID, "researcher")],
            ),
            None,
        );
        assert_eq!(chain.agent_name, None);
    }

    #[test]
    fn langgraph_runs_by_their_metadata() {
        for metadata in [
            // A node's run and what runs in it (LangChain instrumentor, Python).
            r#"{"langgraph_step": 1, "langgraph_node": "model", "ls_provider": "openai"}"#,
            // The graph's own run.
            r#"{"ls_integration": "langgraph"}"#,
            r#"{"thread_id":"t1","ls_integration":"langgraph"}"#,
        ] {
            let run = normalized(
                span("weather_agent", "AGENT", &[(oi::METADATA, metadata)]),
                Some("langchain"),
            );
            assert_eq!(run.framework.as_deref(), Some("langgraph"), "{metadata}");
        }
        for metadata in [
            r#"{"ls_integration": "langchain_chat_model", "ls_provider": "openai"}"#,
            r#"{"note": "ls_integration langgraph"}"#,
        ] {
            let run = normalized(
                span("ChatOpenAI", "LLM", &[(oi::METADATA, metadata)]),
                Some("langchain"),
            );
            assert_eq!(run.framework.as_deref(), Some("langchain"), "{metadata}");
        }
    }
}
