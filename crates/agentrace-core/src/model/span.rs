//! The span record: one unit of agent work (an agent run, an LLM call, a tool call, …).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Attributes, Cost, Resource, SpanId, Text, TokenUsage, TraceId};

/// What a span does, normalized across telemetry dialects (docs/conventions.md, "Dialects").
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SpanKind {
    /// An agent invocation (`invoke_agent`, `create_agent`).
    Agent,
    /// A model inference call (`chat`, `text_completion`, `generate_content`): the billable kind.
    Llm,
    /// A tool execution (`execute_tool`).
    Tool,
    /// A chain of steps (LangChain chains, OpenLLMetry tasks).
    Chain,
    /// A retrieval from a data source.
    Retriever,
    /// An embeddings call.
    Embedding,
    /// A workflow (`invoke_workflow`, OpenLLMetry workflow).
    Workflow,
    /// A task of an agent (CrewAI tasks).
    Task,
    /// A guardrail or safety check.
    Guardrail,
    /// A Model Context Protocol operation other than a tool call (`resources/read`,
    /// `prompts/get`, `tools/list`, `initialize`, …), or the MCP server's side of a tool call
    /// its caller reports (the call itself, `tools/call`, is a [`Tool`](Self::Tool)).
    Mcp,
    /// Anything else.
    #[default]
    Other,
}

impl SpanKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 11] = [
        Self::Agent,
        Self::Llm,
        Self::Tool,
        Self::Chain,
        Self::Retriever,
        Self::Embedding,
        Self::Workflow,
        Self::Task,
        Self::Guardrail,
        Self::Mcp,
        Self::Other,
    ];

    /// The lower-case name used in JSON, SQL and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Llm => "llm",
            Self::Tool => "tool",
            Self::Chain => "chain",
            Self::Retriever => "retriever",
            Self::Embedding => "embedding",
            Self::Workflow => "workflow",
            Self::Task => "task",
            Self::Guardrail => "guardrail",
            Self::Mcp => "mcp",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown span kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown span kind {0:?}; expected one of agent, llm, tool, chain, retriever, embedding, workflow, task, guardrail, mcp, other"
)]
pub struct ParseSpanKindError(pub String);

impl FromStr for SpanKind {
    type Err = ParseSpanKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSpanKindError(s.to_owned()))
    }
}

/// OpenTelemetry status code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    /// Not set by the instrumentation.
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed.
    Error,
}

/// A span's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanStatus {
    /// Success or failure.
    pub code: StatusCode,
    /// What went wrong, for errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SpanStatus {
    /// An error status with a message.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            code: StatusCode::Error,
            message: Some(message.into()),
        }
    }
}

/// A timestamped event inside a span (OpenTelemetry span event, e.g. `exception`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// When it happened, nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// Its attributes.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
}

/// A finished span with the GenAI fields every query needs extracted into typed fields.
///
/// Field names follow OpenTelemetry; the extracted fields are filled from whichever dialect the
/// emitter spoke (see [`crate::semconv`]). Spans recorded in process (the `tracing` layer) do
/// not repeat the extracted attributes in [`attributes`](Self::attributes); spans received over
/// OTLP (`agentrace-ingest`) keep every attribute the client sent there as well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// This span's id.
    pub span_id: SpanId,
    /// The parent span, `None` for a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<SpanId>,
    /// Span name, e.g. `chat gpt-4o`.
    pub name: Text,
    /// What the span does.
    pub kind: SpanKind,
    /// Start, nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// Outcome.
    #[serde(default)]
    pub status: SpanStatus,
    /// The service that emitted it.
    pub resource: Arc<Resource>,
    /// Instrumentation scope (the `tracing` target for in-process spans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Cow<'static, str>>,
    /// `gen_ai.operation.name`, normalized (`chat`, `invoke_agent`, `execute_tool`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Text>,
    /// Provider, e.g. `openai`, `anthropic`, `gcp.vertex_ai`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Text>,
    /// Model requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<Text>,
    /// Model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_model: Option<Text>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "TokenUsage::is_empty")]
    pub usage: TokenUsage,
    /// Cost in USD; `None` when not priced (unknown model or not billable), never a silent zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Session or conversation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Text>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Text>,
    /// Correlation id linking records across systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Text>,
    /// Agent name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<Text>,
    /// Agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Text>,
    /// Tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<Text>,
    /// Tool call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<Text>,
    /// Agent framework (`rig`, `langgraph`, `crewai`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<Text>,
    /// The other attributes (all of them, for spans received over OTLP).
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
    /// Span events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
}

impl SpanRecord {
    /// A span with ids, name and times; every other field empty.
    pub fn new(
        trace_id: TraceId,
        span_id: SpanId,
        name: impl Into<Text>,
        start_time_unix_nano: u64,
        end_time_unix_nano: u64,
        resource: Arc<Resource>,
    ) -> Self {
        Self {
            trace_id,
            span_id,
            parent_span_id: None,
            name: name.into(),
            kind: SpanKind::Other,
            start_time_unix_nano,
            end_time_unix_nano,
            status: SpanStatus::default(),
            resource,
            scope: None,
            operation: None,
            provider: None,
            request_model: None,
            response_model: None,
            usage: TokenUsage::default(),
            cost: None,
            session_id: None,
            user_id: None,
            correlation_id: None,
            agent_name: None,
            agent_id: None,
            tool_name: None,
            tool_call_id: None,
            framework: None,
            attributes: Attributes::new(),
            events: Vec::new(),
        }
    }

    /// Duration in nanoseconds (zero if the clock went backwards).
    pub fn duration_ns(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }

    /// Whether the span failed.
    pub fn is_error(&self) -> bool {
        self.status.code == StatusCode::Error
    }

    /// The model to price and group by: the responding model, else the requested one.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }

    /// The usage/cost entry of an LLM span, `None` for other kinds.
    pub fn cost_entry(&self) -> Option<CostEntry> {
        (self.kind == SpanKind::Llm).then(|| CostEntry {
            time_unix_nano: self.start_time_unix_nano,
            provider: self.provider.clone(),
            model: self.model().map(Text::from),
            usage: self.usage,
            cost: self.cost,
            duration_ns: self.duration_ns(),
            session_id: self.session_id.clone(),
            agent_name: self.agent_name.clone(),
            framework: self.framework.clone(),
            user_id: self.user_id.clone(),
        })
    }
}

/// Usage and cost of one LLM call, with what it belongs to: the unit of cost analysis and budgets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostEntry {
    /// When the call started.
    pub time_unix_nano: u64,
    /// Provider.
    pub provider: Option<Text>,
    /// Model priced.
    pub model: Option<Text>,
    /// Tokens by type.
    pub usage: TokenUsage,
    /// Cost by type; `None` when unpriced.
    pub cost: Option<Cost>,
    /// Call duration.
    pub duration_ns: u64,
    /// Session.
    pub session_id: Option<Text>,
    /// Agent.
    pub agent_name: Option<Text>,
    /// Framework.
    pub framework: Option<Text>,
    /// End user.
    pub user_id: Option<Text>,
}
