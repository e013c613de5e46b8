//! One record path: the same attributes recorded with `tracing` under the agentrace layer and
//! sent over OTLP give the same record — kind, provider, models, tokens (reconciled), session,
//! user, agent, tool, framework, status — because both routes run core's one normalization
//! (`agentrace_core::normalize::dialect`).

use agentrace_core::testing::MemorySink;
use agentrace_core::{SpanRecord, Telemetry};
use agentrace_ingest::{Ingestor, Limits};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use tracing_subscriber::prelude::*;

use crate::common::{NOW, T0, TestResult, int, kv, request, string};

/// What normalization decides about a span.
fn record_view(s: &SpanRecord) -> String {
    format!(
        "kind={:?} operation={:?} provider={:?} request_model={:?} response_model={:?} usage={:?} \
         session={:?} user={:?} agent={:?} agent_id={:?} tool={:?} framework={:?} status={:?} {:?}",
        s.kind,
        s.operation,
        s.provider,
        s.request_model,
        s.response_model,
        s.usage,
        s.session_id,
        s.user_id,
        s.agent_name,
        s.agent_id,
        s.tool_name,
        s.framework,
        s.status.code,
        s.status.message,
    )
}

/// The spans `record` records under the agentrace layer (no pricing, no masking: only
/// normalization), by name.
fn through_the_layer(record: impl FnOnce()) -> Vec<SpanRecord> {
    let memory = MemorySink::new();
    let (layer, guard) = Telemetry::builder()
        .with_sink(memory.clone())
        .without_pricing()
        .without_secret_masking()
        .build()
        .expect("builds");
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), record);
    guard.flush().expect("flushes");
    memory.spans()
}

/// The spans of `spans` through OTLP ingest, each with `attributes`.
fn through_otlp(spans: Vec<(&str, Vec<KeyValue>)>) -> Vec<SpanRecord> {
    let spans = spans
        .into_iter()
        .enumerate()
        .map(|(i, (name, attributes))| Span {
            trace_id: vec![7; 16],
            span_id: vec![i as u8 + 1; 8],
            name: name.into(),
            start_time_unix_nano: T0,
            end_time_unix_nano: T0 + 1_000,
            attributes,
            ..Span::default()
        })
        .collect();
    let decoded = Ingestor::new(Limits::default()).traces(request(spans), NOW);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    decoded.records
}

fn assert_same(layer: &[SpanRecord], otlp: &[SpanRecord]) {
    assert_eq!(layer.len(), otlp.len());
    for l in layer {
        let o = otlp
            .iter()
            .find(|o| o.name == l.name)
            .unwrap_or_else(|| panic!("{} sent over OTLP", l.name));
        assert_eq!(record_view(l), record_view(o), "{}", l.name);
    }
}

#[test]
fn every_dialect_gives_the_same_record_through_the_layer_and_through_otlp() -> TestResult {
    let layer = through_the_layer(|| {
        // OTel GenAI, legacy names, Anthropic's raw counts (input without the cache) and a
        // failure by `error.type`.
        drop(tracing::info_span!(
            "chat claude-sonnet-4-5",
            gen_ai.operation.name = "chat",
            gen_ai.system = "anthropic",
            gen_ai.request.model = "claude-sonnet-4-5",
            gen_ai.usage.prompt_tokens = 100_i64,
            gen_ai.usage.completion_tokens = 40_i64,
            gen_ai.usage.cache_read_input_tokens = 1_000_i64,
            gen_ai.conversation.id = "s-1",
            error.r#type = "overloaded_error",
        ));
        // OTel GenAI agent span: the agent named by the span name only.
        drop(tracing::info_span!(
            "invoke_agent planner",
            gen_ai.operation.name = "invoke_agent",
            user.id = "lin",
        ));
        // OpenInference.
        drop(tracing::info_span!(
            "ChatOpenAI",
            openinference.span.kind = "LLM",
            llm.provider = "openai",
            llm.model_name = "gpt-4o",
            llm.token_count.prompt = 500_i64,
            llm.token_count.completion = 20_i64,
            llm.token_count.completion_details.reasoning = 8_i64,
            session.id = "s-2",
        ));
        // Vercel AI SDK.
        drop(tracing::info_span!(
            "ai.generateText.doGenerate",
            ai.operationId = "ai.generateText.doGenerate",
            ai.model.provider = "openai.chat",
            ai.model.id = "gpt-4o-mini",
            ai.usage.inputTokens = 300_i64,
            ai.usage.outputTokens = 30_i64,
        ));
        // Traceloop: a tool named by its entity, another by its span name only.
        drop(tracing::info_span!(
            "web_search.tool",
            traceloop.span.kind = "tool",
            traceloop.entity.name = "web_search",
        ));
        drop(tracing::info_span!(
            "fetch_url.tool",
            traceloop.span.kind = "tool"
        ));
    });
    let otlp = through_otlp(vec![
        (
            "chat claude-sonnet-4-5",
            vec![
                kv("gen_ai.operation.name", string("chat")),
                kv("gen_ai.system", string("anthropic")),
                kv("gen_ai.request.model", string("claude-sonnet-4-5")),
                kv("gen_ai.usage.prompt_tokens", int(100)),
                kv("gen_ai.usage.completion_tokens", int(40)),
                kv("gen_ai.usage.cache_read_input_tokens", int(1_000)),
                kv("gen_ai.conversation.id", string("s-1")),
                kv("error.type", string("overloaded_error")),
            ],
        ),
        (
            "invoke_agent planner",
            vec![
                kv("gen_ai.operation.name", string("invoke_agent")),
                kv("user.id", string("lin")),
            ],
        ),
        (
            "ChatOpenAI",
            vec![
                kv("openinference.span.kind", string("LLM")),
                kv("llm.provider", string("openai")),
                kv("llm.model_name", string("gpt-4o")),
                kv("llm.token_count.prompt", int(500)),
                kv("llm.token_count.completion", int(20)),
                kv("llm.token_count.completion_details.reasoning", int(8)),
                kv("session.id", string("s-2")),
            ],
        ),
        (
            "ai.generateText.doGenerate",
            vec![
                kv("ai.operationId", string("ai.generateText.doGenerate")),
                kv("ai.model.provider", string("openai.chat")),
                kv("ai.model.id", string("gpt-4o-mini")),
                kv("ai.usage.inputTokens", int(300)),
                kv("ai.usage.outputTokens", int(30)),
            ],
        ),
        (
            "web_search.tool",
            vec![
                kv("traceloop.span.kind", string("tool")),
                kv("traceloop.entity.name", string("web_search")),
            ],
        ),
        (
            "fetch_url.tool",
            vec![kv("traceloop.span.kind", string("tool"))],
        ),
    ]);
    assert_same(&layer, &otlp);
    // And what they agree on is right.
    let chat = otlp
        .iter()
        .find(|s| s.name == "chat claude-sonnet-4-5")
        .ok_or("chat")?;
    assert_eq!(
        chat.usage.input_tokens, 1_100,
        "the cache added to the raw input"
    );
    assert_eq!(chat.provider.as_deref(), Some("anthropic"));
    let agent = otlp
        .iter()
        .find(|s| s.name == "invoke_agent planner")
        .ok_or("agent")?;
    assert_eq!(agent.agent_name.as_deref(), Some("planner"));
    let tool = otlp
        .iter()
        .find(|s| s.name == "fetch_url.tool")
        .ok_or("tool")?;
    assert_eq!(tool.tool_name.as_deref(), Some("fetch_url"));
    Ok(())
}
