//! OpenLIT: spans of its scopes (`openlit` for its function spans,
//! `openlit.instrumentation.{library}` for its instrumentors), which also carry
//! `telemetry.sdk.name = openlit` (on the resource and on each span). It writes OTel GenAI
//! names, which core's normalizer maps; particular to it:
//!
//! - its own cost, `gen_ai.usage.cost`, priced by its own price file, stays a raw attribute:
//!   the client's figure, shown beside agentrace's (which prices the tokens with agentrace's
//!   book, like every other dialect's);
//! - a stream without a usage chunk (OpenAI without `stream_options.include_usage`): OpenLIT
//!   1.45 makes the counts up, `ceil(characters / 2)` of the prompt and of the answer, where a
//!   stream with usage carries the provider's counts and their cache details. Its OpenAI spans
//!   of a stream without `gen_ai.usage.cache_read.input_tokens` therefore have made-up counts:
//!   agentrace stores their usage as unknown (the raw attributes keep OpenLIT's numbers);
//! - the HTTP client spans it adds under each call (httpx, requests) are not GenAI spans: they
//!   are neither calls nor billed;
//! - a tool is only a function span (`@openlit.trace`, scope `openlit`) named after the function:
//!   [`mark_requested_tool`] makes it a tool span when the call before it under the same parent
//!   asked for a tool of that name (docs/conventions.md, "OpenLIT tool spans").

use crate::semconv::{gen_ai, openlit};
use crate::{AttributeValue, SpanKind, SpanRecord, TokenUsage};

use super::text;

/// For every span: OpenLIT's are known by their scope (a string comparison, no attribute
/// lookup on the spans of other dialects).
pub(crate) fn apply(record: &mut SpanRecord) {
    if made_up_stream_usage(record) {
        record.usage = TokenUsage::default();
    }
}

/// An OpenAI stream whose usage OpenLIT counted itself (no usage chunk came).
fn made_up_stream_usage(record: &SpanRecord) -> bool {
    record.scope.as_deref() == Some(openlit::OPENAI_SCOPE)
        && record
            .attributes
            .get(openlit::REQUEST_STREAM)
            .is_some_and(|stream| matches!(stream, AttributeValue::Bool(true)))
        && record
            .attributes
            .get(gen_ai::USAGE_CACHE_READ_INPUT_TOKENS)
            .is_none()
}

/// Whether `span` is an OpenLIT function span (`@openlit.trace`: scope `openlit`, with
/// `function.args`, of no GenAI kind) under a parent: a tool span if [`mark_requested_tool`]
/// finds the call that asked for it.
pub fn is_tool_candidate(span: &SpanRecord) -> bool {
    span.scope.as_deref() == Some(openlit::SCOPE)
        && span.kind == SpanKind::Other
        && span.parent_span_id.is_some()
        && span.attributes.get(openlit::FUNCTION_ARGS).is_some()
}

/// Makes `candidate` (see [`is_tool_candidate`]) a tool span when `call` — the LLM call that
/// ended last before `candidate` started, under the same parent — asked for a tool of its name
/// (`gen_ai.tool.name`, which OpenLIT writes as the requested tools' names joined by `", "`):
/// kind `tool`, the tool's name, and the tool call's id when the names and ids
/// (`gen_ai.tool.call.id`) pair up one to one. Returns whether it did; never a guess — a
/// candidate no call asked for by name stays what it was.
pub fn mark_requested_tool(candidate: &mut SpanRecord, call: &SpanRecord) -> bool {
    let same_parent =
        candidate.trace_id == call.trace_id && candidate.parent_span_id == call.parent_span_id;
    if !is_tool_candidate(candidate)
        || !same_parent
        || call.kind != SpanKind::Llm
        || call.end_time_unix_nano > candidate.start_time_unix_nano
    {
        return false;
    }
    let Some(names) = text(call, gen_ai::TOOL_NAME) else {
        return false;
    };
    let names: Vec<&str> = names.split(", ").collect();
    let matching: Vec<usize> = (0..names.len())
        .filter(|&at| names[at] == candidate.name.as_str())
        .collect();
    let ids: Vec<&str> = text(call, gen_ai::TOOL_CALL_ID)
        .map(|ids| ids.split(", ").collect())
        .unwrap_or_default();
    let call_id = match matching.as_slice() {
        [] => return false,
        [at] if ids.len() == names.len() => Some(ids[*at].to_owned()),
        _ => None,
    };
    candidate.kind = SpanKind::Tool;
    candidate.tool_name = Some(candidate.name.clone());
    if candidate.tool_call_id.is_none() {
        candidate.tool_call_id = call_id.map(Into::into);
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Resource, SpanId, TraceId};

    const TRACE: TraceId = TraceId::from_bytes([7; 16]);
    const AGENT: SpanId = SpanId::from_bytes([1; 8]);

    fn span(id: u8, name: &str, start: u64, end: u64) -> SpanRecord {
        let mut span = SpanRecord::new(
            TRACE,
            SpanId::from_bytes([id; 8]),
            name,
            start,
            end,
            Arc::new(Resource::new("app")),
        );
        span.parent_span_id = Some(AGENT);
        span
    }

    /// An LLM call ending at 10 that asked for `names` with `ids`.
    fn call(names: &str, ids: Option<&str>) -> SpanRecord {
        let mut call = span(2, "chat gpt-4o-mini", 0, 10);
        call.kind = SpanKind::Llm;
        call.scope = Some(openlit::OPENAI_SCOPE.into());
        call.attributes.insert(gen_ai::TOOL_NAME, names);
        if let Some(ids) = ids {
            call.attributes.insert(gen_ai::TOOL_CALL_ID, ids);
        }
        call
    }

    /// `@openlit.trace` on a function `name`, from 11 to 12.
    fn function(name: &str) -> SpanRecord {
        let mut function = span(3, name, 11, 12);
        function.scope = Some(openlit::SCOPE.into());
        function
            .attributes
            .insert(openlit::FUNCTION_ARGS, "('Paris',)");
        function
    }

    #[test]
    fn a_function_the_call_asked_for_is_a_tool() {
        let mut tool = function("get_weather");
        assert!(mark_requested_tool(
            &mut tool,
            &call("get_weather", Some("call_1"))
        ));
        assert_eq!(tool.kind, SpanKind::Tool);
        assert_eq!(tool.tool_name.as_deref(), Some("get_weather"));
        assert_eq!(tool.tool_call_id.as_deref(), Some("call_1"));

        // Of several requested tools, the one of its name, with its id.
        let mut second = function("get_time");
        let asked = call("get_weather, get_time", Some("call_1, call_2"));
        assert!(mark_requested_tool(&mut second, &asked));
        assert_eq!(second.tool_call_id.as_deref(), Some("call_2"));

        // The same tool asked for twice: a tool, but which call is unknown.
        let mut twice = function("get_weather");
        let asked = call("get_weather, get_weather", Some("call_1, call_2"));
        assert!(mark_requested_tool(&mut twice, &asked));
        assert_eq!(twice.tool_call_id, None);
    }

    #[test]
    fn anything_less_than_a_match_is_left_alone() {
        let asked = call("get_weather", Some("call_1"));
        let untouched = |mut candidate: SpanRecord, call: &SpanRecord| {
            let before = candidate.clone();
            assert!(!mark_requested_tool(&mut candidate, call));
            assert_eq!(candidate, before);
        };
        // A function no call asked for.
        untouched(function("summarize"), &asked);
        // A call that asked for no tool.
        let mut plain = asked.clone();
        plain.attributes.remove(gen_ai::TOOL_NAME);
        untouched(function("get_weather"), &plain);
        // A call that had not ended when the function started.
        let mut late = asked.clone();
        late.end_time_unix_nano = 11_500;
        untouched(function("get_weather"), &late);
        // A call under another parent.
        let mut elsewhere = asked.clone();
        elsewhere.parent_span_id = Some(SpanId::from_bytes([9; 8]));
        untouched(function("get_weather"), &elsewhere);
        // Not OpenLIT's function span: another scope, or without its arguments.
        let mut other_scope = function("get_weather");
        other_scope.scope = Some("my_app".into());
        untouched(other_scope, &asked);
        let mut no_args = function("get_weather");
        no_args.attributes.remove(openlit::FUNCTION_ARGS);
        untouched(no_args, &asked);
        // The "call" is not an LLM call.
        let mut not_llm = asked.clone();
        not_llm.kind = SpanKind::Other;
        untouched(function("get_weather"), &not_llm);
    }

    #[test]
    fn a_stream_without_usage_keeps_no_made_up_counts() {
        let mut stream = call("", None);
        stream.attributes.insert(openlit::REQUEST_STREAM, true);
        stream.usage = TokenUsage::new(18, 6);
        apply(&mut stream);
        assert!(stream.usage.is_empty(), "OpenLIT's estimate dropped");

        let mut reported = call("", None);
        reported.attributes.insert(openlit::REQUEST_STREAM, true);
        reported
            .attributes
            .insert(gen_ai::USAGE_CACHE_READ_INPUT_TOKENS, 0_i64);
        reported.usage = TokenUsage::new(30, 12);
        apply(&mut reported);
        assert_eq!(
            reported.usage,
            TokenUsage::new(30, 12),
            "the provider's counts"
        );

        let mut whole = call("", None);
        whole.usage = TokenUsage::new(1, 2);
        apply(&mut whole);
        assert_eq!(whole.usage, TokenUsage::new(1, 2), "not a stream");
    }
}
