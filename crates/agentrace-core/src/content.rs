//! A span's captured content — prompts, responses, tool calls and their results — read back
//! as messages, whichever dialect recorded it.
//!
//! Content is opt-in everywhere (see [`crate::redact`] and the conventions' "content capture"):
//! when an instrumentation captured it, it sits in attributes or span events whose names and
//! shapes differ by dialect. [`SpanContent::of`] reads all of them into one form, for people to
//! read (the dashboard's span detail, the session thread):
//!
//! | dialect | where |
//! |---|---|
//! | OTel GenAI ≥ 1.37 | `gen_ai.system_instructions`, `gen_ai.input.messages` (or only the new ones, `gen_ai.input.messages_delta`), `gen_ai.output.messages` (JSON: `{role, parts: [{type: text \| tool_call \| tool_call_response \| any other (generic: its `content`, else its JSON)}]}`); the tools offered: `gen_ai.tool.definitions`; tools: `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result` |
//! | OTel GenAI 1.28–1.36 | span events `gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`, `gen_ai.tool.message`, `gen_ai.choice` |
//! | OTel GenAI ≤ 1.27 | span events `gen_ai.content.prompt` / `gen_ai.content.completion` with `gen_ai.prompt` / `gen_ai.completion` (JSON) |
//! | OpenLLMetry | `gen_ai.prompt.{i}.role/content`, `gen_ai.completion.{i}.role/content/finish_reason/tool_calls.{j}.name/arguments` |
//! | OpenInference | `llm.input_messages.{i}.message.role/content/contents/tool_calls…`, `llm.output_messages.…`; other spans `input.value` / `output.value` |
//! | Vercel AI SDK | `ai.prompt.messages`, `ai.prompt`, `ai.response.text`, `ai.response.toolCalls`, `ai.toolCall.args`, `ai.toolCall.result` |
//! | Traceloop, Langfuse | `traceloop.entity.input/output`, `langfuse.observation.input/output` |
//!
//! Nothing is interpreted as markup: texts are kept verbatim for the reader to show as text.
//! Unknown shapes are kept as their raw text, never dropped.
//!
//! ```
//! use agentrace_core::content::{Part, SpanContent};
//! # use agentrace_core::{Resource, SpanId, SpanRecord, TraceId};
//! # use std::sync::Arc;
//! # let mut span = SpanRecord::new(TraceId::from_bytes([1; 16]), SpanId::from_bytes([2; 8]),
//! #     "chat gpt-4o", 0, 1, Arc::new(Resource::new("app")));
//! span.attributes.insert(
//!     "gen_ai.input.messages",
//!     r#"[{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]"#,
//! );
//! let content = SpanContent::of(&span);
//! assert_eq!(content.input[0].role, "user");
//! assert_eq!(content.input[0].parts[0], Part::Text { text: "Hi".into() });
//! ```

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::model::{AttributeValue, Attributes, SpanRecord};
use crate::semconv::gen_ai;

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Part {
    /// Text, verbatim (Markdown stays Markdown: show it as text).
    Text {
        /// The text.
        text: String,
    },
    /// A call of a tool the model asked for.
    ToolCall {
        /// The call's id, when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The tool.
        name: String,
        /// The arguments, as the JSON text they were sent as.
        arguments: String,
    },
    /// What a tool returned, sent back to the model.
    ToolResult {
        /// The call's id, when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The result, as text.
        result: String,
    },
}

/// A message: who said it and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`, or what the emitter wrote; `input` / `output` for
    /// content without roles.
    pub role: String,
    /// What was said.
    pub parts: Vec<Part>,
    /// Why the model stopped, on output messages that say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

impl Message {
    fn text(role: &str, text: String) -> Self {
        Self {
            role: role.to_owned(),
            parts: vec![Part::Text { text }],
            finish_reason: None,
        }
    }

    /// The message's text parts, joined: what a preview shows.
    pub fn plain_text(&self) -> String {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        texts.join("\n")
    }
}

/// What a tool span was called with and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ToolIo {
    /// The arguments, as text (usually JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// The result, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// A tool offered to the model (`gen_ai.tool.definitions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// Its name.
    pub name: String,
    /// What it does, as the model was told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its parameters' JSON Schema, as JSON text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
}

/// Everything a span captured, as messages. Empty when nothing was captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SpanContent {
    /// System instructions given apart from the messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<String>,
    /// The tools offered to the model.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
    /// The messages sent (the prompt, the conversation so far).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input: Vec<Message>,
    /// Whether [`input`](Self::input) holds only the messages added since the model's previous
    /// call (`gen_ai.input.messages_delta`), not the whole conversation.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub input_is_delta: bool,
    /// The messages received (the model's answer, or a span's output).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<Message>,
    /// A tool call's arguments and result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolIo>,
}

impl SpanContent {
    /// Whether nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.system.is_empty()
            && self.tools.is_empty()
            && self.input.is_empty()
            && self.output.is_empty()
            && self.tool.is_none()
    }

    /// The content `span` captured, in whichever dialect (see the module docs); the first
    /// dialect that has input (or output) wins for it.
    pub fn of(span: &SpanRecord) -> Self {
        let a = &span.attributes;
        let mut c = Self {
            system: system_instructions(a),
            tools: tool_definitions(a),
            ..Self::default()
        };
        for read in [
            otel_current,
            openllmetry,
            openinference,
            vercel,
            otel_events,
            generic,
        ] {
            let (input, output) = read(span);
            if c.input.is_empty() {
                c.input = input;
            }
            if c.output.is_empty() {
                c.output = output;
            }
        }
        if c.input.is_empty() {
            c.input = from_json_attribute(a, gen_ai::INPUT_MESSAGES_DELTA, "input");
            c.input_is_delta = !c.input.is_empty();
        }
        let tool = ToolIo {
            arguments: first_text(a, &[gen_ai::TOOL_CALL_ARGUMENTS, "ai.toolCall.args"]),
            result: first_text(a, &[gen_ai::TOOL_CALL_RESULT, "ai.toolCall.result"]),
        };
        if tool.arguments.is_some() || tool.result.is_some() {
            c.tool = Some(tool);
        }
        c
    }

    /// The last text the user sent (what a conversation thread shows as the turn's question).
    pub fn last_user_text(&self) -> Option<String> {
        self.input
            .iter()
            .rev()
            .find(|m| m.role == "user" || m.role == "input")
            .map(Message::plain_text)
            .filter(|t| !t.is_empty())
    }

    /// The last text received (the turn's answer).
    pub fn last_output_text(&self) -> Option<String> {
        self.output
            .iter()
            .rev()
            .map(Message::plain_text)
            .find(|t| !t.is_empty())
    }
}

/// Attribute-name prefixes that hold prompt or response content, in every dialect.
pub const CONTENT_PREFIXES: &[&str] = &[
    // OTel GenAI (current and legacy).
    "gen_ai.input.messages",
    "gen_ai.input.messages_delta",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.prompt",
    "gen_ai.completion",
    // OpenInference.
    "input.value",
    "output.value",
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "llm.prompt_template",
    "tool.parameters",
    "retrieval.documents",
    // Vercel AI SDK.
    "ai.prompt",
    "ai.response.text",
    "ai.response.object",
    "ai.response.toolCalls",
    "ai.toolCall.args",
    "ai.toolCall.result",
    // OpenLLMetry / Traceloop.
    "traceloop.entity.input",
    "traceloop.entity.output",
    // Langfuse.
    "langfuse.observation.input",
    "langfuse.observation.output",
];

/// Whether an attribute name holds prompt or response content.
pub fn is_content_key(key: &str) -> bool {
    CONTENT_PREFIXES.iter().any(|prefix| {
        key.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// A JSON value from an attribute: a JSON string parsed, or the structured value as JSON.
fn json(value: &AttributeValue) -> Option<Value> {
    match value {
        AttributeValue::String(s) => serde_json::from_str(s).ok(),
        other => serde_json::to_value(other).ok(),
    }
}

/// A value as text: strings verbatim, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn attribute_text(value: &AttributeValue) -> String {
    match value {
        AttributeValue::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn first_text(a: &Attributes, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| a.get(k).map(attribute_text))
}

fn system_instructions(a: &Attributes) -> Vec<String> {
    let Some(value) = a.get(gen_ai::SYSTEM_INSTRUCTIONS) else {
        return Vec::new();
    };
    match json(value) {
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| p.get("content").map_or_else(|| text_of(p), text_of))
            .collect(),
        _ => vec![attribute_text(value)],
    }
}

/// The tools of `gen_ai.tool.definitions`: OTel's `{type, name, description, parameters}`, or
/// OpenAI's `{type: "function", function: {name, …}}`; an entry without a name is left out.
fn tool_definitions(a: &Attributes) -> Vec<ToolDefinition> {
    let Some(Value::Array(tools)) = a.get(gen_ai::TOOL_DEFINITIONS).and_then(json) else {
        return Vec::new();
    };
    tools
        .iter()
        .filter_map(|t| {
            let t = t.get("function").unwrap_or(t);
            Some(ToolDefinition {
                name: t.get("name")?.as_str()?.to_owned(),
                description: t.get("description").map(text_of),
                parameters: t.get("parameters").map(|p| p.to_string()),
            })
        })
        .collect()
}

/// Parts in OTel GenAI's shape (`{type, content | id, name, arguments | response}`), also
/// reading OpenAI- and Vercel-style content arrays (`{type: "text", text}`, `tool-call`).
fn parts_of(content: &Value) -> Vec<Part> {
    let items = match content {
        Value::Array(items) => items.as_slice(),
        Value::Null => return Vec::new(),
        other => {
            return vec![Part::Text {
                text: text_of(other),
            }];
        }
    };
    items
        .iter()
        .map(|p| {
            let field = |names: &[&str]| names.iter().find_map(|n| p.get(*n)).map(text_of);
            let kind = p.get("type").and_then(Value::as_str).unwrap_or("text");
            match kind {
                "tool_call" | "tool-call" | "function_call" => Part::ToolCall {
                    id: field(&["id", "toolCallId", "call_id"]),
                    name: field(&["name", "toolName"]).unwrap_or_default(),
                    arguments: field(&["arguments", "args", "input"]).unwrap_or_default(),
                },
                "tool_call_response" | "tool-result" | "function_call_output" => Part::ToolResult {
                    id: field(&["id", "toolCallId", "call_id"]),
                    result: field(&["response", "result", "output"]).unwrap_or_default(),
                },
                _ => Part::Text {
                    text: field(&["content", "text"]).unwrap_or_else(|| text_of(p)),
                },
            }
        })
        .collect()
}

/// The text parts of a `tool` message answering call `id`, as that call's results.
fn tool_results(parts: Vec<Part>, id: Option<String>) -> Vec<Part> {
    let Some(id) = id else {
        return parts;
    };
    parts
        .into_iter()
        .map(|p| match p {
            Part::Text { text } => Part::ToolResult {
                id: Some(id.clone()),
                result: text,
            },
            other => other,
        })
        .collect()
}

/// Messages from a JSON array of `{role, parts | content, tool_calls, finish_reason}`.
fn messages_of(value: &Value) -> Vec<Message> {
    let Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .iter()
        .map(|m| {
            let role = m.get("role").map_or_else(|| "message".to_owned(), text_of);
            let mut parts = match (m.get("parts"), m.get("content")) {
                (Some(parts), _) => parts_of(parts),
                (None, Some(content)) => parts_of(content),
                (None, None) => Vec::new(),
            };
            for call in m
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let function = call.get("function").unwrap_or(call);
                parts.push(Part::ToolCall {
                    id: call.get("id").map(text_of),
                    name: function.get("name").map(text_of).unwrap_or_default(),
                    arguments: function.get("arguments").map(text_of).unwrap_or_default(),
                });
            }
            if role == "tool" {
                parts = tool_results(parts, m.get("tool_call_id").map(text_of));
            }
            Message {
                role,
                parts,
                finish_reason: m.get("finish_reason").map(text_of),
            }
        })
        .collect()
}

type Read = (Vec<Message>, Vec<Message>);

/// Messages from a JSON attribute; its raw text as one `role` message when it is not a
/// message array.
fn from_json_attribute(a: &Attributes, key: &str, role: &str) -> Vec<Message> {
    let Some(value) = a.get(key) else {
        return Vec::new();
    };
    let messages = json(value).map(|v| messages_of(&v)).unwrap_or_default();
    if messages.is_empty() {
        vec![Message::text(role, attribute_text(value))]
    } else {
        messages
    }
}

/// OTel GenAI ≥ 1.37.
fn otel_current(span: &SpanRecord) -> Read {
    let a = &span.attributes;
    (
        from_json_attribute(a, gen_ai::INPUT_MESSAGES, "input"),
        from_json_attribute(a, gen_ai::OUTPUT_MESSAGES, "output"),
    )
}

/// Flattened attributes `{prefix}.{i}.{rest}` grouped by index, in index order.
fn indexed<'a>(
    a: &'a Attributes,
    prefix: &str,
) -> BTreeMap<u64, BTreeMap<&'a str, &'a AttributeValue>> {
    let mut out: BTreeMap<u64, BTreeMap<&str, &AttributeValue>> = BTreeMap::new();
    for (key, value) in a.iter() {
        let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        if let Ok(i) = index.parse() {
            out.entry(i).or_default().insert(field, value);
        }
    }
    out
}

/// Tool calls flattened under a message: `{calls}.{j}.{name_key}` / `{arguments_key}` / `{id_key}`.
fn flattened_calls(
    fields: &BTreeMap<&str, &AttributeValue>,
    calls: &str,
    keys: [&str; 3],
) -> Vec<Part> {
    let mut by_index: BTreeMap<u64, BTreeMap<&str, &AttributeValue>> = BTreeMap::new();
    for (field, value) in fields {
        if let Some((index, rest)) = field
            .strip_prefix(calls)
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.split_once('.'))
            && let Ok(i) = index.parse()
        {
            by_index.entry(i).or_default().insert(rest, *value);
        }
    }
    let [name, arguments, id] = keys;
    by_index
        .values()
        .map(|call| Part::ToolCall {
            id: call.get(id).map(|v| attribute_text(v)),
            name: call
                .get(name)
                .map(|v| attribute_text(v))
                .unwrap_or_default(),
            arguments: call
                .get(arguments)
                .map(|v| attribute_text(v))
                .unwrap_or_default(),
        })
        .collect()
}

/// OpenLLMetry (and OTel ≤ 1.36 flattened): `gen_ai.prompt.{i}.*`, `gen_ai.completion.{i}.*`.
fn openllmetry(span: &SpanRecord) -> Read {
    let a = &span.attributes;
    let read = |prefix: &str| -> Vec<Message> {
        indexed(a, prefix)
            .into_values()
            .map(|f| {
                let mut parts: Vec<Part> = f
                    .get("content")
                    .map(|c| Part::Text {
                        text: attribute_text(c),
                    })
                    .into_iter()
                    .collect();
                parts.extend(flattened_calls(
                    &f,
                    "tool_calls",
                    ["name", "arguments", "id"],
                ));
                Message {
                    role: f
                        .get("role")
                        .map_or_else(|| "message".to_owned(), |r| attribute_text(r)),
                    parts,
                    finish_reason: f.get("finish_reason").map(|r| attribute_text(r)),
                }
            })
            .collect()
    };
    (read("gen_ai.prompt"), read("gen_ai.completion"))
}

/// OpenInference: `llm.input_messages.{i}.message.*`, `llm.output_messages.{i}.message.*`.
fn openinference(span: &SpanRecord) -> Read {
    let a = &span.attributes;
    let read = |prefix: &str| -> Vec<Message> {
        indexed(a, prefix)
            .into_values()
            .map(|f| {
                let field = |name: &str| f.get(format!("message.{name}").as_str()).copied();
                let mut parts: Vec<Part> = field("content")
                    .map(|c| Part::Text {
                        text: attribute_text(c),
                    })
                    .into_iter()
                    .collect();
                let contents: BTreeMap<&str, &AttributeValue> = f
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix("message.").map(|k| (k, *v)))
                    .collect();
                let mut texts: BTreeMap<u64, String> = BTreeMap::new();
                for (k, v) in &contents {
                    if let Some((i, "message_content.text")) =
                        k.strip_prefix("contents.").and_then(|r| r.split_once('.'))
                        && let Ok(i) = i.parse()
                    {
                        texts.insert(i, attribute_text(v));
                    }
                }
                parts.extend(texts.into_values().map(|text| Part::Text { text }));
                parts.extend(flattened_calls(
                    &contents,
                    "tool_calls",
                    [
                        "tool_call.function.name",
                        "tool_call.function.arguments",
                        "tool_call.id",
                    ],
                ));
                let role = field("role").map_or_else(|| "message".to_owned(), attribute_text);
                if role == "tool" {
                    parts = tool_results(parts, field("tool_call_id").map(attribute_text));
                }
                Message {
                    role,
                    parts,
                    finish_reason: None,
                }
            })
            .collect()
    };
    (read("llm.input_messages"), read("llm.output_messages"))
}

/// Vercel AI SDK.
fn vercel(span: &SpanRecord) -> Read {
    let a = &span.attributes;
    let mut input = from_json_attribute(a, "ai.prompt.messages", "input");
    if input.is_empty()
        && let Some(prompt) = a.get("ai.prompt").and_then(json)
    {
        if let Some(system) = prompt.get("system") {
            input.push(Message::text("system", text_of(system)));
        }
        match (prompt.get("messages"), prompt.get("prompt")) {
            (Some(messages), _) => input.extend(messages_of(messages)),
            (None, Some(p)) => input.push(Message::text("user", text_of(p))),
            (None, None) => {}
        }
    }
    let mut parts: Vec<Part> = a
        .get("ai.response.text")
        .map(|t| Part::Text {
            text: attribute_text(t),
        })
        .into_iter()
        .collect();
    if let Some(Value::Array(calls)) = a.get("ai.response.toolCalls").and_then(json) {
        parts.extend(calls.iter().map(|c| {
            Part::ToolCall {
                id: c.get("toolCallId").map(text_of),
                name: c.get("toolName").map(text_of).unwrap_or_default(),
                arguments: c
                    .get("args")
                    .or_else(|| c.get("input"))
                    .map(text_of)
                    .unwrap_or_default(),
            }
        }));
    }
    let output = if parts.is_empty() {
        Vec::new()
    } else {
        vec![Message {
            role: "assistant".into(),
            parts,
            finish_reason: a.get("ai.response.finishReason").map(attribute_text),
        }]
    };
    (input, output)
}

/// OTel GenAI 1.28–1.36 message events and ≤ 1.27 content events, when recorded on the span.
fn otel_events(span: &SpanRecord) -> Read {
    let (mut input, mut output) = (Vec::new(), Vec::new());
    for event in &span.events {
        let a = &event.attributes;
        let body = |keys: &[&str]| keys.iter().find_map(|k| a.get(k));
        match event.name.as_str() {
            "gen_ai.content.prompt" => {
                if let Some(v) = body(&["gen_ai.prompt"]) {
                    input.extend(
                        json(v)
                            .map(|j| messages_of(&j))
                            .filter(|m| !m.is_empty())
                            .unwrap_or_else(|| vec![Message::text("input", attribute_text(v))]),
                    );
                }
            }
            "gen_ai.content.completion" => {
                if let Some(v) = body(&["gen_ai.completion"]) {
                    output.extend(
                        json(v)
                            .map(|j| messages_of(&j))
                            .filter(|m| !m.is_empty())
                            .unwrap_or_else(|| vec![Message::text("output", attribute_text(v))]),
                    );
                }
            }
            name @ ("gen_ai.system.message"
            | "gen_ai.user.message"
            | "gen_ai.assistant.message"
            | "gen_ai.tool.message") => {
                let role = name
                    .trim_start_matches("gen_ai.")
                    .trim_end_matches(".message");
                let mut message = serde_json::Map::new();
                message.insert("role".into(), Value::String(role.to_owned()));
                for key in ["content", "tool_calls", "id"] {
                    if let Some(v) = a.get(key) {
                        let v = json(v).unwrap_or_else(|| Value::String(attribute_text(v)));
                        let key = if key == "id" { "tool_call_id" } else { key };
                        message.insert(key.into(), v);
                    }
                }
                input.extend(messages_of(&Value::Array(vec![Value::Object(message)])));
            }
            "gen_ai.choice" => {
                if let Some(m) = a.get("message").and_then(json) {
                    let mut m = m;
                    if let (Value::Object(map), Some(reason)) = (&mut m, a.get("finish_reason")) {
                        map.insert(
                            "finish_reason".into(),
                            Value::String(attribute_text(reason)),
                        );
                    }
                    output.extend(messages_of(&Value::Array(vec![m])));
                }
            }
            _ => {}
        }
    }
    (input, output)
}

/// Content without roles: OpenInference `input.value`/`output.value`, Traceloop entities,
/// Langfuse observations (message arrays when they are ones).
fn generic(span: &SpanRecord) -> Read {
    let a = &span.attributes;
    let read = |keys: &[&str], role: &str| -> Vec<Message> {
        let Some(value) = keys.iter().find_map(|k| a.get(k)) else {
            return Vec::new();
        };
        let as_messages = json(value)
            .filter(|j| {
                j.as_array()
                    .is_some_and(|items| items.iter().all(|m| m.get("role").is_some()))
            })
            .map(|j| messages_of(&j))
            .unwrap_or_default();
        if as_messages.is_empty() {
            vec![Message::text(role, attribute_text(value))]
        } else {
            as_messages
        }
    };
    (
        read(
            &[
                "input.value",
                "traceloop.entity.input",
                "langfuse.observation.input",
            ],
            "input",
        ),
        read(
            &[
                "output.value",
                "traceloop.entity.output",
                "langfuse.observation.output",
            ],
            "output",
        ),
    )
}
