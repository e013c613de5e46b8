//! A chat completion or embeddings request, read from the JSON body async-openai sends.

use agentrace_core::model_call::{ModelRequest, Operation};
use agentrace_core::tokenize::ChatMessage;
use serde_json::Value;

/// What the span and the budget check need of a model call's request.
#[derive(Debug)]
pub(crate) struct ModelCallRequest {
    operation: Operation,
    model: String,
    /// `(role, text)` of each message (each input of embeddings, as `user`); non-text parts
    /// (images, audio, token arrays) are left out.
    messages: Vec<(String, String)>,
    max_output_tokens: Option<u64>,
    /// Whether the answer streams (server-sent events).
    pub(crate) stream: bool,
}

impl ModelCallRequest {
    /// The request, if it is a chat completion or embeddings with a JSON body that names a
    /// model.
    pub(crate) fn of(request: &reqwest::Request) -> Option<Self> {
        if request.method() != reqwest::Method::POST {
            return None;
        }
        let path = request.url().path();
        let operation = if path.ends_with("/chat/completions") {
            Operation::Chat
        } else if path.ends_with("/embeddings") {
            Operation::Embeddings
        } else {
            return None;
        };
        let body: Value = serde_json::from_slice(request.body()?.as_bytes()?).ok()?;
        let messages = match operation {
            Operation::Embeddings => inputs(&body["input"]),
            _ => body["messages"]
                .as_array()
                .map(|list| list.iter().map(message).collect())
                .unwrap_or_default(),
        };
        Some(Self {
            operation,
            model: body["model"].as_str()?.to_owned(),
            messages,
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
        match self.operation {
            Operation::Embeddings => ModelRequest::embeddings(provider, &self.model, messages),
            _ => ModelRequest::chat(provider, &self.model, messages)
                .max_output_tokens(self.max_output_tokens),
        }
    }
}

/// The texts of an embeddings `input`: one string, or a list of them (token arrays are left
/// out: they are not text the estimate can count).
fn inputs(input: &Value) -> Vec<(String, String)> {
    let texts: Vec<&str> = match input {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    texts
        .into_iter()
        .map(|text| ("user".to_owned(), text.to_owned()))
        .collect()
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
