//! `/v1/chat/completions`: a whole completion, or its stream of `chat.completion.chunk`s as
//! server-sent events, in the shapes OpenAI's API documents.

use serde_json::{Value, json};

use crate::reply::{ToolCall, Usage};

/// What a chat request asked for, as far as the answer's shape depends on it.
pub(crate) struct ChatRequest {
    pub(crate) model: String,
    pub(crate) stream: bool,
    /// `stream_options.include_usage`: a last chunk carries the usage.
    pub(crate) include_usage: bool,
}

impl ChatRequest {
    pub(crate) fn read(body: &Value) -> Self {
        Self {
            model: body["model"].as_str().unwrap_or("unknown").to_owned(),
            stream: body["stream"].as_bool().unwrap_or(false),
            include_usage: body["stream_options"]["include_usage"]
                .as_bool()
                .unwrap_or(false),
        }
    }
}

/// The message a completion carries: text, or tool calls.
pub(crate) enum Answer<'a> {
    Text(&'a str),
    ToolCalls(&'a [ToolCall]),
}

impl Answer<'_> {
    const fn finish_reason(&self) -> &'static str {
        match self {
            Answer::Text(_) => "stop",
            Answer::ToolCalls(_) => "tool_calls",
        }
    }
}

pub(crate) struct Completion<'a> {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) answer: Answer<'a>,
    pub(crate) usage: Usage,
}

pub(crate) fn usage_json(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

impl Completion<'_> {
    /// The `chat.completion` object of a request without `stream`.
    pub(crate) fn whole(&self) -> Value {
        let message = match &self.answer {
            Answer::Text(text) => json!({"role": "assistant", "content": text, "refusal": null}),
            Answer::ToolCalls(calls) => json!({
                "role": "assistant",
                "content": null,
                "refusal": null,
                "tool_calls": calls.iter().map(|call| json!({
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments}
                })).collect::<Vec<_>>()
            }),
        };
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": self.answer.finish_reason()
            }],
            "usage": usage_json(self.usage)
        })
    }

    /// The event stream of a request with `stream: true`: a role chunk, the content (or the
    /// tool calls, name first, then their arguments in two pieces), a chunk with the finish
    /// reason, with `include_usage` a last chunk with no choices and the usage, and `[DONE]`.
    pub(crate) fn stream(&self, include_usage: bool) -> String {
        let mut deltas = vec![json!({"role": "assistant", "content": ""})];
        match &self.answer {
            Answer::Text(text) => deltas.extend(
                text.split_inclusive(' ')
                    .map(|piece| json!({"content": piece})),
            ),
            Answer::ToolCalls(calls) => {
                for (index, call) in calls.iter().enumerate() {
                    deltas.push(json!({"tool_calls": [{
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""}
                    }]}));
                    let middle = call
                        .arguments
                        .char_indices()
                        .nth(call.arguments.chars().count() / 2)
                        .map_or(call.arguments.len(), |(at, _)| at);
                    let (first, second) = call.arguments.split_at(middle);
                    for piece in [first, second].into_iter().filter(|p| !p.is_empty()) {
                        deltas.push(json!({"tool_calls": [{
                            "index": index,
                            "function": {"arguments": piece}
                        }]}));
                    }
                }
            }
        }
        let mut events = String::new();
        let usage_field = include_usage.then_some(Value::Null);
        for delta in deltas {
            events.push_str(&self.chunk(
                json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]),
                usage_field.clone(),
            ));
        }
        events.push_str(&self.chunk(
            json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": self.answer.finish_reason()}]),
            usage_field,
        ));
        if include_usage {
            events.push_str(&self.chunk(json!([]), Some(usage_json(self.usage))));
        }
        events.push_str("data: [DONE]\n\n");
        events
    }

    fn chunk(&self, choices: Value, usage: Option<Value>) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": choices
        });
        if let (Some(usage), Some(object)) = (usage, chunk.as_object_mut()) {
            object.insert("usage".to_owned(), usage);
        }
        format!("data: {chunk}\n\n")
    }
}
