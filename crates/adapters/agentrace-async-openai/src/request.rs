//! A chat completion request, read from the JSON body async-openai sends.

use agentrace_core::model_call::ModelRequest;
use agentrace_core::tokenize::ChatMessage;
use serde_json::Value;

/// What the span and the budget check need of a chat completion request.
#[derive(Debug)]
pub(crate) struct ChatRequest {
    model: String,
    /// `(role, text)` of each message; non-text parts (images, audio) are left out.
    messages: Vec<(String, String)>,
    max_output_tokens: Option<u64>,
    /// Whether the answer streams (server-sent events).
    pub(crate) stream: bool,
}

impl ChatRequest {
    /// The request, if it is a chat completion with a JSON body that names a model.
    pub(crate) fn of(request: &reqwest::Request) -> Option<Self> {
        let is_chat = request.method() == reqwest::Method::POST
            && request.url().path().ends_with("/chat/completions");
        if !is_chat {
            return None;
        }
        let body: Value = serde_json::from_slice(request.body()?.as_bytes()?).ok()?;
        Some(Self {
            model: body["model"].as_str()?.to_owned(),
            messages: body["messages"]
                .as_array()
                .map(|list| list.iter().map(message).collect())
                .unwrap_or_default(),
            max_output_tokens: body["max_completion_tokens"]
                .as_u64()
                .or_else(|| body["max_tokens"].as_u64()),
            stream: body["stream"].as_bool().unwrap_or(false),
        })
    }

    /// The messages, as the estimate counts them.
    pub(crate) fn messages(&self) -> Vec<ChatMessage<'_>> {
        self.messages
            .iter()
            .map(|(role, text)| ChatMessage::new(role, text))
            .collect()
    }

    /// The request as agentrace records and budgets it.
    pub(crate) fn model_request<'a>(
        &'a self,
        provider: &'a str,
        messages: &'a [ChatMessage<'a>],
    ) -> ModelRequest<'a> {
        ModelRequest::chat(provider, &self.model, messages)
            .max_output_tokens(self.max_output_tokens)
    }
}

/// A message's role and its text: a string content, or its text parts joined.
fn message(value: &Value) -> (String, String) {
    let role = value["role"].as_str().unwrap_or("user").to_owned();
    let text = match &value["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    (role, text)
}
