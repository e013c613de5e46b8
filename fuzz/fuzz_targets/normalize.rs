//! The dialect normalizer: a span with attributes whose keys come mostly from the dialects'
//! own names (OTel GenAI, OpenInference, OpenLLMetry, OpenLIT, Vercel AI SDK, Langfuse) and
//! values of any type; normalized twice, the second time changes nothing. Never a panic.
#![no_main]

use agentrace_core::normalize::dialect::normalize_span;
use std::sync::Arc;

use agentrace_core::{AttributeValue, Resource, SpanId, SpanRecord, TraceId};
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Attribute names the dialects read (docs/conventions.md), and some near misses.
const KEYS: &[&str] = &[
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.cost",
    "gen_ai.agent.name",
    "gen_ai.agent.id",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.conversation.id",
    "openinference.span.kind",
    "llm.model_name",
    "llm.provider",
    "llm.system",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "llm.token_count.prompt_details.cache_read",
    "llm.token_count.completion_details.reasoning",
    "session.id",
    "user.id",
    "tool.name",
    "traceloop.span.kind",
    "traceloop.entity.name",
    "traceloop.association.properties.session_id",
    "llm.usage.total_tokens",
    "llm.request.type",
    "ai.model.id",
    "ai.model.provider",
    "ai.usage.promptTokens",
    "ai.usage.completionTokens",
    "ai.operationId",
    "ai.telemetry.functionId",
    "langfuse.observation.type",
    "langfuse.session.id",
    "langfuse.user.id",
    "telemetry.sdk.name",
    "error.type",
];

fn value(u: &mut Unstructured<'_>, depth: u8) -> arbitrary::Result<AttributeValue> {
    Ok(match u.int_in_range(0..=6)? {
        0 => AttributeValue::Bool(u.arbitrary()?),
        1 => AttributeValue::I64(u.arbitrary()?),
        2 => AttributeValue::F64(u.arbitrary()?),
        3 if depth < 3 => AttributeValue::Array(
            (0..u.int_in_range(0..=3)?)
                .map(|_| value(u, depth + 1))
                .collect::<arbitrary::Result<_>>()?,
        ),
        4 => AttributeValue::String(u.int_in_range(0..=2_000_000)?.to_string()),
        _ => AttributeValue::String(String::arbitrary(u)?),
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(n) = u.int_in_range(0..=24) else {
        return;
    };
    let mut span = SpanRecord::new(
        TraceId::from_bytes([1; 16]),
        SpanId::from_bytes([2; 8]),
        "span",
        1,
        2,
        Arc::new(Resource::new("fuzz")),
    );
    for _ in 0..n {
        let key = match u.ratio(1, 8) {
            Ok(true) => String::arbitrary(&mut u).unwrap_or_default(),
            _ => KEYS[u.choose_index(KEYS.len()).unwrap_or(0)].to_owned(),
        };
        let Ok(value) = value(&mut u, 0) else { break };
        span.attributes.insert(key, value);
    }
    normalize_span(&mut span, None);
    // Compared as text: a NaN attribute is never equal to itself.
    let once = format!("{span:?}");
    normalize_span(&mut span, None);
    assert_eq!(
        format!("{span:?}"),
        once,
        "normalizing twice changed the span"
    );
});
