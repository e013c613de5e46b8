//! Captured content read back as messages, one case per dialect (shapes from each dialect's
//! conventions and real instrumentations' output).

use std::sync::Arc;

use agentrace_core::content::{Message, Part, SpanContent};
use agentrace_core::{AttributeValue, Resource, SpanEvent, SpanId, SpanRecord, TraceId};

fn span(attributes: &[(&'static str, AttributeValue)]) -> SpanRecord {
    let mut s = SpanRecord::new(
        TraceId::from_bytes([1; 16]),
        SpanId::from_bytes([2; 8]),
        "chat gpt-4o",
        0,
        1,
        Arc::new(Resource::new("app")),
    );
    for (k, v) in attributes {
        s.attributes.insert(*k, v.clone());
    }
    s
}

fn text(t: &str) -> Part {
    Part::Text { text: t.into() }
}

fn roles(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.role.as_str()).collect()
}

#[test]
fn otel_genai_current_messages_with_tool_calls_and_system_instructions() {
    let s = span(&[
        (
            "gen_ai.system_instructions",
            r#"[{"type": "text", "content": "You are terse."}]"#.into(),
        ),
        (
            "gen_ai.input.messages",
            r#"[{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "rainy, 57°F"}]}]"#
                .into(),
        ),
        (
            "gen_ai.output.messages",
            r#"[{"role": "assistant", "parts": [{"type": "text", "content": "Rainy, 57°F."}], "finish_reason": "stop"}]"#
                .into(),
        ),
    ]);
    let c = SpanContent::of(&s);
    assert_eq!(c.system, ["You are terse."]);
    assert_eq!(roles(&c.input), ["user", "assistant", "tool"]);
    assert_eq!(
        c.input[1].parts,
        [Part::ToolCall {
            id: Some("c1".into()),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }]
    );
    assert_eq!(
        c.input[2].parts,
        [Part::ToolResult {
            id: Some("c1".into()),
            result: "rainy, 57°F".into(),
        }]
    );
    assert_eq!(c.output[0].parts, [text("Rainy, 57°F.")]);
    assert_eq!(c.output[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(c.last_user_text().as_deref(), Some("Weather in Paris?"));
    assert_eq!(c.last_output_text().as_deref(), Some("Rainy, 57°F."));
}

#[test]
fn the_tools_offered_and_generic_parts_of_the_current_conventions() {
    let s = span(&[
        (
            "gen_ai.tool.definitions",
            r#"[{"type": "function", "name": "get_weather", "description": "Weather of a city",
                 "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
                {"type": "function", "function": {"name": "search"}},
                {"type": "function", "description": "no name: left out"}]"#
                .into(),
        ),
        (
            "gen_ai.output.messages",
            r#"[{"role": "assistant", "parts": [
                 {"type": "reasoning", "content": "The user wants weather."},
                 {"type": "blob", "modality": "image", "mime_type": "image/png"}]}]"#
                .into(),
        ),
    ]);
    let c = SpanContent::of(&s);
    let tools: Vec<_> = c
        .tools
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.description.as_deref(),
                t.parameters.is_some(),
            )
        })
        .collect();
    assert_eq!(
        tools,
        [
            ("get_weather", Some("Weather of a city"), true),
            ("search", None, false)
        ]
    );
    assert!(!c.is_empty());
    assert_eq!(c.output[0].parts[0], text("The user wants weather."));
    match &c.output[0].parts[1] {
        Part::Text { text } => assert!(text.contains(r#""modality":"image""#), "{text}"),
        other => panic!("a generic part kept as its JSON: {other:?}"),
    }
}

#[test]
fn openllmetry_flattened_prompts_and_completions() {
    let s = span(&[
        ("gen_ai.prompt.0.role", "system".into()),
        ("gen_ai.prompt.0.content", "Be brief.".into()),
        ("gen_ai.prompt.1.role", "user".into()),
        ("gen_ai.prompt.1.content", "2+2?".into()),
        ("gen_ai.completion.0.role", "assistant".into()),
        ("gen_ai.completion.0.finish_reason", "tool_calls".into()),
        ("gen_ai.completion.0.tool_calls.0.name", "calc".into()),
        (
            "gen_ai.completion.0.tool_calls.0.arguments",
            r#"{"x":"2+2"}"#.into(),
        ),
        ("gen_ai.completion.0.tool_calls.0.id", "t9".into()),
    ]);
    let c = SpanContent::of(&s);
    assert_eq!(roles(&c.input), ["system", "user"]);
    assert_eq!(c.input[1].parts, [text("2+2?")]);
    assert_eq!(
        c.output[0].parts,
        [Part::ToolCall {
            id: Some("t9".into()),
            name: "calc".into(),
            arguments: r#"{"x":"2+2"}"#.into(),
        }]
    );
    assert_eq!(c.output[0].finish_reason.as_deref(), Some("tool_calls"));
}

#[test]
fn openinference_messages_contents_and_tool_results() {
    let s = span(&[
        ("llm.input_messages.0.message.role", "user".into()),
        (
            "llm.input_messages.0.message.contents.0.message_content.type",
            "text".into(),
        ),
        (
            "llm.input_messages.0.message.contents.0.message_content.text",
            "look it up".into(),
        ),
        ("llm.input_messages.1.message.role", "tool".into()),
        ("llm.input_messages.1.message.tool_call_id", "x1".into()),
        ("llm.input_messages.1.message.content", "42".into()),
        ("llm.output_messages.0.message.role", "assistant".into()),
        (
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
            "search".into(),
        ),
        (
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
            r#"{"q":"a"}"#.into(),
        ),
        ("input.value", "ignored: the messages win".into()),
    ]);
    let c = SpanContent::of(&s);
    assert_eq!(roles(&c.input), ["user", "tool"]);
    assert_eq!(c.input[0].parts, [text("look it up")]);
    assert_eq!(
        c.input[1].parts,
        [Part::ToolResult {
            id: Some("x1".into()),
            result: "42".into(),
        }]
    );
    assert_eq!(
        c.output[0].parts,
        [Part::ToolCall {
            id: None,
            name: "search".into(),
            arguments: r#"{"q":"a"}"#.into(),
        }]
    );
}

#[test]
fn vercel_ai_prompt_response_and_tool_calls() {
    let s = span(&[
        (
            "ai.prompt.messages",
            r#"[{"role": "system", "content": "sys"}, {"role": "user", "content": [{"type": "text", "text": "hello"}]}]"#
                .into(),
        ),
        ("ai.response.text", "hi there".into()),
        (
            "ai.response.toolCalls",
            r#"[{"toolCallType": "function", "toolCallId": "v1", "toolName": "lookup", "args": "{\"id\":7}"}]"#
                .into(),
        ),
        ("ai.response.finishReason", "tool-calls".into()),
    ]);
    let c = SpanContent::of(&s);
    assert_eq!(roles(&c.input), ["system", "user"]);
    assert_eq!(c.input[1].parts, [text("hello")]);
    assert_eq!(
        c.output[0].parts,
        [
            text("hi there"),
            Part::ToolCall {
                id: Some("v1".into()),
                name: "lookup".into(),
                arguments: r#"{"id":7}"#.into(),
            }
        ]
    );
}

#[test]
fn legacy_span_events_of_both_generations() {
    let mut s = span(&[]);
    let event = |name: &str, attributes: &[(&'static str, &str)]| {
        let mut e = SpanEvent {
            name: name.into(),
            time_unix_nano: 0,
            attributes: Default::default(),
        };
        for (k, v) in attributes {
            e.attributes.insert(*k, *v);
        }
        e
    };
    s.events = vec![
        event("gen_ai.user.message", &[("content", "question?")]),
        event(
            "gen_ai.choice",
            &[
                ("message", r#"{"role": "assistant", "content": "answer."}"#),
                ("finish_reason", "stop"),
            ],
        ),
    ];
    let c = SpanContent::of(&s);
    assert_eq!(c.input[0].parts, [text("question?")]);
    assert_eq!(c.output[0].parts, [text("answer.")]);
    assert_eq!(c.output[0].finish_reason.as_deref(), Some("stop"));

    let mut old = span(&[]);
    old.events = vec![
        event(
            "gen_ai.content.prompt",
            &[("gen_ai.prompt", r#"[{"role": "user", "content": "q"}]"#)],
        ),
        event(
            "gen_ai.content.completion",
            &[("gen_ai.completion", "plain answer")],
        ),
    ];
    let c = SpanContent::of(&old);
    assert_eq!(roles(&c.input), ["user"]);
    assert_eq!(c.output[0].role, "output");
    assert_eq!(c.output[0].parts, [text("plain answer")]);
}

#[test]
fn tools_and_role_less_content() {
    let tool = span(&[
        ("gen_ai.tool.call.arguments", r#"{"q": "rust"}"#.into()),
        ("gen_ai.tool.call.result", "3 results".into()),
    ]);
    let io = SpanContent::of(&tool).tool.unwrap_or_default();
    assert_eq!(io.arguments.as_deref(), Some(r#"{"q": "rust"}"#));
    assert_eq!(io.result.as_deref(), Some("3 results"));
    let chain = span(&[
        ("input.value", "<script>alert(1)</script>".into()),
        ("traceloop.entity.output", r#"{"answer": 1}"#.into()),
    ]);
    let c = SpanContent::of(&chain);
    assert_eq!(
        c.input[0].parts,
        [text("<script>alert(1)</script>")],
        "kept verbatim: escaping is the reader's job"
    );
    assert_eq!(c.output[0].parts, [text(r#"{"answer": 1}"#)]);
}

#[test]
fn nothing_captured_is_empty_and_bad_json_is_kept_as_text() {
    assert!(SpanContent::of(&span(&[("gen_ai.request.model", "gpt-4o".into())])).is_empty());
    let broken = span(&[("gen_ai.input.messages", "[{not json".into())]);
    assert_eq!(
        SpanContent::of(&broken).input[0].parts,
        [text("[{not json")]
    );
    let raw = span(&[("langfuse.observation.input", "[{not json".into())]);
    assert_eq!(SpanContent::of(&raw).input[0].parts, [text("[{not json")]);
}

#[test]
fn a_history_sent_as_a_delta_reads_as_the_new_messages_marked_so() {
    let s = span(&[(
        "gen_ai.input.messages_delta",
        r#"[{"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "rainy"}]}]"#
            .into(),
    )]);
    let c = SpanContent::of(&s);
    assert_eq!(roles(&c.input), ["tool"]);
    assert!(c.input_is_delta);
    let whole = span(&[
        (
            "gen_ai.input.messages",
            r#"[{"role": "user", "parts": []}]"#.into(),
        ),
        (
            "gen_ai.input.messages_delta",
            r#"[{"role": "tool", "parts": []}]"#.into(),
        ),
    ]);
    let c = SpanContent::of(&whole);
    assert_eq!(roles(&c.input), ["user"], "the whole history wins");
    assert!(!c.input_is_delta);
}
