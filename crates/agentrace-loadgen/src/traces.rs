//! Realistic agent traces as OTLP: per trace an agent span (naming the agent, the session and
//! the user), three LLM spans with usage (cache reads on some, three providers) and two tool
//! spans under it, one in ten of them failing. As with the OTel GenAI instrumentations, only
//! the agent span names the agent, session and user: the calls take them from it. Session and
//! user ids come from small pools, as in a real deployment.

use opentelemetry::KeyValue as ApiKeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use opentelemetry_proto::transform::common::tonic::Attributes;

/// Spans in one generated trace.
pub(crate) const SPANS_PER_TRACE: usize = 6;

/// A small, fast, deterministic generator (splitmix64): ids must be unique, not secret.
#[derive(Debug)]
pub(crate) struct Ids(u64);

impl Ids {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn trace_id(&mut self) -> Vec<u8> {
        let mut id = Vec::with_capacity(16);
        id.extend_from_slice(&self.next().to_be_bytes());
        id.extend_from_slice(&(self.next() | 1).to_be_bytes());
        id
    }

    fn span_id(&mut self) -> Vec<u8> {
        (self.next() | 1).to_be_bytes().to_vec()
    }
}

/// OTLP attributes from API key-values, through opentelemetry-proto's own conversion.
fn otlp(kvs: impl IntoIterator<Item = ApiKeyValue>) -> Vec<KeyValue> {
    Attributes::from(kvs).0
}

const MODELS: [(&str, &str); 3] = [
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gcp.gemini", "gemini-2.5-flash"),
];
const AGENTS: [&str; 4] = ["planner", "researcher", "coder", "reviewer"];
const TOOLS: [&str; 4] = ["web_search", "fetch_url", "run_tests", "read_file"];

/// One trace of [`SPANS_PER_TRACE`] spans ending at `end_ns`; returns its trace id too.
pub(crate) fn trace(ids: &mut Ids, end_ns: u64, n: u64) -> (Vec<u8>, Vec<Span>) {
    let trace_id = ids.trace_id();
    let root_id = ids.span_id();
    let start = end_ns.saturating_sub(4_000_000_000);
    let agent = AGENTS[(n % 4) as usize];
    let session = format!("session-{}", n % 500);
    let user = format!("user-{}", n % 50);
    let mut spans = Vec::with_capacity(SPANS_PER_TRACE);
    spans.push(Span {
        trace_id: trace_id.clone(),
        span_id: root_id.clone(),
        name: format!("invoke_agent {agent}"),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end_ns,
        attributes: otlp([
            ApiKeyValue::new("gen_ai.operation.name", "invoke_agent".to_owned()),
            ApiKeyValue::new("gen_ai.agent.name", agent.to_owned()),
            ApiKeyValue::new("gen_ai.conversation.id", session.to_owned()),
            ApiKeyValue::new("user.id", user.to_owned()),
        ]),
        ..Span::default()
    });
    for i in 0..3u64 {
        let (provider, model) = MODELS[((n + i) % 3) as usize];
        let input = 800 + ((n * 37 + i * 101) % 4_000) as i64;
        let mut attributes = vec![
            ApiKeyValue::new("gen_ai.operation.name", "chat".to_owned()),
            ApiKeyValue::new("gen_ai.provider.name", provider.to_owned()),
            ApiKeyValue::new("gen_ai.request.model", model.to_owned()),
            ApiKeyValue::new("gen_ai.usage.input_tokens", input),
            ApiKeyValue::new(
                "gen_ai.usage.output_tokens",
                120 + ((n + i * 7) % 600) as i64,
            ),
        ];
        if i == 1 {
            attributes.push(ApiKeyValue::new(
                "gen_ai.usage.cache_read.input_tokens",
                input / 2,
            ));
        }
        let s = start + 100_000_000 + i * 1_000_000_000;
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: ids.span_id(),
            parent_span_id: root_id.clone(),
            name: format!("chat {model}"),
            kind: span::SpanKind::Client as i32,
            start_time_unix_nano: s,
            end_time_unix_nano: s + 600_000_000 + (n % 400) * 1_000_000,
            attributes: otlp(attributes),
            ..Span::default()
        });
    }
    for i in 0..2u64 {
        let tool = TOOLS[((n + i) % 4) as usize];
        let fails = (n + i).is_multiple_of(10);
        let s = start + 3_200_000_000 + i * 300_000_000;
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: ids.span_id(),
            parent_span_id: root_id.clone(),
            name: format!("execute_tool {tool}"),
            kind: span::SpanKind::Internal as i32,
            start_time_unix_nano: s,
            end_time_unix_nano: s + 50_000_000 + (n % 200) * 1_000_000,
            attributes: otlp([
                ApiKeyValue::new("gen_ai.operation.name", "execute_tool".to_owned()),
                ApiKeyValue::new("gen_ai.tool.name", tool.to_owned()),
            ]),
            status: fails.then(|| Status {
                code: status::StatusCode::Error as i32,
                message: format!("{tool}: upstream returned 502"),
            }),
            ..Span::default()
        });
    }
    (trace_id, spans)
}

/// A request of `traces` traces, numbered from `first`; returns the first trace's id too.
pub(crate) fn request(
    ids: &mut Ids,
    end_ns: u64,
    first: u64,
    traces: usize,
) -> (Vec<u8>, ExportTraceServiceRequest) {
    let mut spans = Vec::with_capacity(traces * SPANS_PER_TRACE);
    let mut sample = Vec::new();
    for n in first..first + traces as u64 {
        let (trace_id, mut trace_spans) = trace(ids, end_ns, n);
        if sample.is_empty() {
            sample = trace_id;
        }
        spans.append(&mut trace_spans);
    }
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: otlp([ApiKeyValue::new("service.name", "loadgen-agents")]),
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "agentrace-loadgen".into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    (sample, request)
}

/// A request cut in two: the spans that have a parent (they end first), and the roots (the
/// agent spans, ending last), as separate span lists.
pub(crate) fn children_and_roots(
    request: ExportTraceServiceRequest,
) -> (ExportTraceServiceRequest, Vec<Span>) {
    let mut children = request;
    let mut roots = Vec::new();
    for resource_spans in &mut children.resource_spans {
        for scope_spans in &mut resource_spans.scope_spans {
            let (r, c): (Vec<Span>, Vec<Span>) = std::mem::take(&mut scope_spans.spans)
                .into_iter()
                .partition(|s| s.parent_span_id.is_empty());
            scope_spans.spans = c;
            roots.extend(r);
        }
    }
    (children, roots)
}

/// Adds `spans` (of the same resource and scope) to a request.
pub(crate) fn append(request: &mut ExportTraceServiceRequest, spans: Vec<Span>) {
    if let Some(scope_spans) = request
        .resource_spans
        .first_mut()
        .and_then(|r| r.scope_spans.first_mut())
    {
        scope_spans.spans.extend(spans);
    }
}

/// How many spans a request carries.
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}
