//! Records that exercise every field, for conformance tests and benchmarks.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{
    AttributeValue, Attributes, Cost, Event, EventKind, Level, Resource, SpanEvent, SpanId,
    SpanKind, SpanRecord, SpanStatus, StatusCode, TokenUsage, TraceId, Usd,
};

/// A resource with attributes.
pub fn resource() -> Arc<Resource> {
    let mut r = Resource::new("conformance-service");
    r.attributes.insert("service.version", "1.2.3");
    r.attributes.insert("deployment.environment.name", "test");
    Arc::new(r)
}

/// A fully populated LLM span of `trace_id`, started at `start` ns.
pub fn llm_span(trace_id: TraceId, parent: Option<SpanId>, start: u64) -> SpanRecord {
    let mut s = SpanRecord::new(
        trace_id,
        SpanId::random(),
        "chat gpt-4o",
        start,
        start + 1_234_567,
        resource(),
    );
    s.parent_span_id = parent;
    s.kind = SpanKind::Llm;
    s.scope = Some("agentrace::conformance".into());
    s.operation = Some("chat".into());
    s.provider = Some("openai".into());
    s.request_model = Some("gpt-4o".into());
    s.response_model = Some("gpt-4o-2024-08-06".into());
    s.usage = TokenUsage {
        input_tokens: 1_200,
        output_tokens: 340,
        cache_read_tokens: 1_000,
        cache_write_tokens: 0,
        cache_write_1h_tokens: 0,
        reasoning_tokens: Some(12),
    };
    s.cost = Some(Cost::from_parts(
        Usd::from_nanos(500_000),
        Usd::from_nanos(1_250_000),
        Usd::ZERO,
        Usd::from_nanos(3_400_000),
    ));
    s.session_id = Some("session-1".into());
    s.user_id = Some("user-1".into());
    s.correlation_id = Some("corr-1".into());
    s.agent_name = Some("researcher".into());
    s.agent_id = Some("agent-7".into());
    s.framework = Some("rig".into());
    s.attributes.insert(
        "gen_ai.response.finish_reasons",
        AttributeValue::Array(vec!["stop".into()]),
    );
    s.attributes.insert("gen_ai.request.temperature", 0.2);
    s.attributes.insert("gen_ai.request.max_tokens", 1024i64);
    s.attributes.insert("gen_ai.request.stream", false);
    s.events.push(SpanEvent {
        name: "gen_ai.content.completion".into(),
        time_unix_nano: start + 1_000,
        attributes: [("gen_ai.completion", "Ünïcödé ✓ — \"quoted\"\nnew line")]
            .into_iter()
            .collect(),
    });
    s
}

/// A set of spans covering every kind, status, optional field and attribute type.
pub fn sample_spans(trace_id: TraceId, start: u64) -> Vec<SpanRecord> {
    let mut root = SpanRecord::new(
        trace_id,
        SpanId::random(),
        "invoke_agent planner",
        start,
        start + 10_000_000,
        resource(),
    );
    root.kind = SpanKind::Agent;
    root.agent_name = Some("planner".into());
    root.session_id = Some("session-1".into());
    root.status.code = StatusCode::Ok;
    let mut spans = vec![root.clone()];
    spans.push(llm_span(trace_id, Some(root.span_id), start + 100));
    for (i, kind) in SpanKind::ALL.into_iter().enumerate() {
        let mut s = SpanRecord::new(
            trace_id,
            SpanId::random(),
            format!("{kind} step {i}"),
            start + 200 + i as u64,
            start + 900 + i as u64,
            resource(),
        );
        s.parent_span_id = Some(root.span_id);
        s.kind = kind;
        if kind == SpanKind::Tool {
            s.tool_name = Some("web_search".into());
            s.tool_call_id = Some("call_1".into());
            s.status = SpanStatus::error("timeout after 30s");
            s.attributes.insert("error.type", "timeout");
        }
        spans.push(s);
    }
    let mut unpriced = llm_span(trace_id, Some(root.span_id), start + 300);
    unpriced.request_model = Some("my-private-model".into());
    unpriced.response_model = None;
    unpriced.cost = None;
    unpriced.usage.cache_write_tokens = 300;
    unpriced.usage.cache_write_1h_tokens = 100;
    spans.push(unpriced);
    let mut odd = SpanRecord::new(
        trace_id,
        SpanId::random(),
        "名前 with spaces & symbols <>",
        start + 400,
        start + 400,
        resource(),
    );
    odd.parent_span_id = Some(root.span_id);
    let mut nested = BTreeMap::new();
    nested.insert(
        "inner".to_owned(),
        AttributeValue::Array(vec![1i64.into(), 2.5.into(), "x".into(), true.into()]),
    );
    odd.attributes = Attributes::from_iter([
        ("map", AttributeValue::Map(nested)),
        ("empty", AttributeValue::String(String::new())),
        ("negative", AttributeValue::I64(-42)),
        ("big", AttributeValue::I64(i64::MAX)),
        ("float_integral", AttributeValue::F64(2.0)),
        ("long", AttributeValue::String("x".repeat(10_000))),
    ]);
    spans.push(odd);
    // As every route records them: children take what they lack from their ancestors (see
    // `crate::inherit`), so a store that completes attribution stores them as they are.
    for s in &mut spans[1..] {
        crate::inherit(s, &root);
    }
    spans
}

/// A set of events covering every seed kind, every level and optional fields.
pub fn sample_events(trace_id: TraceId, start: u64) -> Vec<Event> {
    let mut events = Vec::new();
    for (i, kind) in EventKind::SEED
        .into_iter()
        .chain([EventKind::Log, EventKind::Custom("deploy.finished".into())])
        .enumerate()
    {
        let level = Level::ALL[i % Level::ALL.len()];
        let mut e = Event::new(
            start + i as u64,
            level,
            kind,
            format!("event {i}: ünïcödé \"q\"\n"),
            resource(),
        );
        e.trace_id = Some(trace_id);
        if i % 2 == 0 {
            e.span_id = Some(SpanId::random());
            e.session_id = Some("session-1".into());
            e.correlation_id = Some("corr-1".into());
            e.agent_id = Some("agent-7".into());
            e.framework = Some("crewai".into());
            e.scope = Some("agentrace::event".into());
            e.attributes.insert("gen_ai.tool.name", "web_search");
            e.attributes.insert("metric.value", 12.5);
        }
        events.push(e);
    }
    events
}
