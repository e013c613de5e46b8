//! What an evaluator judges ([`Subject`]): one span, or a whole trace, read from the records
//! a store keeps.

use agentrace_core::content::SpanContent;
use agentrace_core::{ScoreTarget, SpanKind, SpanRecord, Usd};
use serde_json::{Map, Value};

/// A tool call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailure {
    /// The tool.
    pub tool: String,
    /// What went wrong (the error type, else the status message).
    pub error: String,
}

/// What an evaluator judges: one span (its content, duration, cost, error), or a whole trace
/// (its root span's content; the trace's duration, total cost and failed tool calls).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Subject {
    /// What its score is of.
    pub target: ScoreTarget,
    /// The span's name (a trace's: its root's).
    pub name: String,
    /// The span's kind (a trace's: its root's).
    pub kind: SpanKind,
    /// What went in: the last user text, or a tool's arguments; `None` when no content was
    /// captured.
    pub input: Option<String>,
    /// What came out: the last output text, or a tool's result.
    pub output: Option<String>,
    /// How long it took.
    pub duration_ns: u64,
    /// What it cost: the span's priced call, or the trace's calls together; `None` when
    /// nothing in it was priced.
    pub cost: Option<Usd>,
    /// The span's error (a trace's: its root's), if it failed.
    pub error: Option<String>,
    /// The tool calls in it that failed (a span: itself, if it is one).
    pub tool_failures: Vec<ToolFailure>,
    /// Its model, agent, service, session, user and operation, for a judge's prompt.
    pub metadata: Map<String, Value>,
    /// When it ended.
    pub end_unix_nano: u64,
}

impl Subject {
    /// One span.
    pub fn of_span(span: &SpanRecord) -> Self {
        let content = SpanContent::of(span);
        let tool = content.tool.clone().unwrap_or_default();
        let input = content.last_user_text().or(tool.arguments);
        let output = content.last_output_text().or(tool.result);
        Self {
            target: ScoreTarget::Span {
                span_id: span.span_id,
                trace_id: Some(span.trace_id),
            },
            name: span.name.to_string(),
            kind: span.kind,
            input,
            output,
            duration_ns: span.duration_ns(),
            cost: span.cost.map(|c| c.total),
            error: error_of(span),
            tool_failures: tool_failure(span).into_iter().collect(),
            metadata: metadata(span),
            end_unix_nano: span.end_time_unix_nano,
        }
    }

    /// A whole trace, from its spans (in any order): its root is the span without a parent
    /// among them (the earliest, if several). `None` for no spans.
    pub fn of_trace(spans: &[SpanRecord]) -> Option<Self> {
        let ids: std::collections::HashSet<_> = spans.iter().map(|s| s.span_id).collect();
        let root = spans
            .iter()
            .filter(|s| s.parent_span_id.is_none_or(|p| !ids.contains(&p)))
            .min_by_key(|s| (s.start_time_unix_nano, s.span_id))?;
        let mut subject = Self::of_span(root);
        subject.target = ScoreTarget::Trace(root.trace_id);
        let start = spans.iter().map(|s| s.start_time_unix_nano).min()?;
        let end = spans.iter().map(|s| s.end_time_unix_nano).max()?;
        subject.duration_ns = end.saturating_sub(start);
        subject.end_unix_nano = end;
        let priced: Vec<Usd> = spans
            .iter()
            .filter(|s| !agentrace_core::normalize::is_aggregate(s))
            .filter_map(|s| s.cost.map(|c| c.total))
            .collect();
        subject.cost = (!priced.is_empty()).then(|| priced.into_iter().sum());
        subject.tool_failures = spans.iter().filter_map(tool_failure).collect();
        Some(subject)
    }
}

/// A failed span's error: its `error.type`, else its status message, else "error".
fn error_of(span: &SpanRecord) -> Option<String> {
    span.is_error().then(|| {
        span.attributes
            .get(agentrace_core::semconv::gen_ai::ERROR_TYPE)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .or_else(|| span.status.message.clone())
            .unwrap_or_else(|| "error".to_owned())
    })
}

fn tool_failure(span: &SpanRecord) -> Option<ToolFailure> {
    if span.kind != SpanKind::Tool {
        return None;
    }
    let error = error_of(span)?;
    Some(ToolFailure {
        tool: span.tool_name.as_deref().unwrap_or(&span.name).to_owned(),
        error,
    })
}

fn metadata(span: &SpanRecord) -> Map<String, Value> {
    let mut out = Map::new();
    let fields = [
        ("model", span.model().map(str::to_owned)),
        ("provider", span.provider.as_deref().map(str::to_owned)),
        ("agent", span.agent_name.as_deref().map(str::to_owned)),
        ("service", Some(span.resource.service_name.clone())),
        ("session", span.session_id.as_deref().map(str::to_owned)),
        ("user", span.user_id.as_deref().map(str::to_owned)),
        ("operation", span.operation.as_deref().map(str::to_owned)),
        ("tool", span.tool_name.as_deref().map(str::to_owned)),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            out.insert(key.to_owned(), value.into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use agentrace_core::testing::fixtures::llm_span;
    use agentrace_core::{Cost, SpanId, SpanStatus, TraceId};

    use super::*;

    #[test]
    fn a_trace_is_judged_by_its_root_and_its_totals() {
        let trace = TraceId::from_bytes([1; 16]);
        let mut root = llm_span(trace, None, 1_000);
        root.span_id = SpanId::from_bytes([1; 8]);
        root.kind = SpanKind::Agent;
        root.end_time_unix_nano = 9_000;
        root.attributes.insert(
            "gen_ai.output.messages",
            r#"[{"role": "assistant", "parts": [{"type": "text", "content": "Paris"}]}]"#,
        );
        let mut call = llm_span(trace, Some(root.span_id), 2_000);
        call.span_id = SpanId::from_bytes([2; 8]);
        call.end_time_unix_nano = 4_000;
        let mut tool = llm_span(trace, Some(root.span_id), 3_000);
        tool.span_id = SpanId::from_bytes([3; 8]);
        tool.end_time_unix_nano = 5_000;
        tool.kind = SpanKind::Tool;
        tool.tool_name = Some("search".into());
        tool.cost = None;
        tool.status = SpanStatus::error("timed out");
        let costs = [&root, &call].map(|s| s.cost.map(|c: Cost| c.total));
        let subject = Subject::of_trace(&[call.clone(), tool, root.clone()]).expect("a root");
        assert_eq!(subject.target, ScoreTarget::Trace(trace));
        assert_eq!(subject.kind, SpanKind::Agent);
        assert_eq!(subject.output.as_deref(), Some("Paris"));
        assert_eq!(subject.duration_ns, 8_000);
        assert_eq!(subject.cost, costs[0].zip(costs[1]).map(|(a, b)| a + b));
        assert_eq!(
            subject.tool_failures,
            [ToolFailure {
                tool: "search".into(),
                error: "timed out".into()
            }]
        );
        let one = Subject::of_span(&call);
        assert!(one.tool_failures.is_empty());
        assert_eq!(one.metadata["model"], "gpt-4o-2024-08-06");
        assert!(Subject::of_trace(&[]).is_none());
    }
}
