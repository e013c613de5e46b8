//! What a chat completion answered: a whole JSON body, or the chunks of a stream gathered into
//! one reply; and errors as `error.type`.

use agentrace_core::TokenUsage;
use agentrace_core::model_call::ModelResponse;
use async_openai::error::OpenAIError;
use serde_json::Value;

/// A reply, owned, as it is gathered.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    model: Option<String>,
    id: Option<String>,
    usage: Option<TokenUsage>,
    finish_reasons: Vec<String>,
    text: String,
}

impl Reply {
    /// The reply of a whole (not streamed) JSON body; empty if it is not one.
    pub(crate) fn of_body(body: &[u8]) -> Self {
        let mut reply = Self::default();
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            reply.add(&value, "message");
        }
        reply
    }

    /// Adds what a body or a stream chunk (`delta` instead of `message`) says.
    pub(crate) fn add(&mut self, value: &Value, message: &str) {
        if self.model.is_none() {
            self.model = value["model"].as_str().map(str::to_owned);
        }
        if self.id.is_none() {
            self.id = value["id"].as_str().map(str::to_owned);
        }
        if let Some(usage) = usage(&value["usage"]) {
            self.usage = Some(usage);
        }
        for choice in value["choices"].as_array().into_iter().flatten() {
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.finish_reasons.push(reason.to_owned());
            }
            if let Some(text) = choice[message]["content"].as_str() {
                self.text.push_str(text);
            }
        }
    }

    /// The reply as agentrace records it.
    pub(crate) fn as_model_response(&self) -> ModelResponse<'_> {
        ModelResponse {
            model: self.model.as_deref(),
            id: self.id.as_deref(),
            usage: self.usage,
            finish_reasons: self.finish_reasons.iter().map(String::as_str).collect(),
            text: Some(self.text.as_str()).filter(|t| !t.is_empty()),
        }
    }
}

/// OpenAI's `usage`: `prompt_tokens` include the cached ones, `completion_tokens` the reasoning
/// ones (docs/conventions.md, token arithmetic). `None` when absent or null.
fn usage(value: &Value) -> Option<TokenUsage> {
    let mut usage = TokenUsage::new(
        value["prompt_tokens"].as_u64()?,
        value["completion_tokens"].as_u64().unwrap_or(0),
    );
    usage.cache_read_tokens = value["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0);
    usage.reasoning_tokens = value["completion_tokens_details"]["reasoning_tokens"].as_u64();
    Some(usage)
}

/// The `error.type` of a failed call: the HTTP status of an API error, else what failed.
pub(crate) fn error_type(error: &OpenAIError) -> String {
    match error {
        OpenAIError::ApiError(api) => api.status_code.as_str().to_owned(),
        OpenAIError::Reqwest(e) if e.is_timeout() => "timeout".to_owned(),
        OpenAIError::Reqwest(e) if e.is_connect() => "connection".to_owned(),
        OpenAIError::Reqwest(_) => "http".to_owned(),
        OpenAIError::JSONDeserialize(..) => "invalid_response".to_owned(),
        OpenAIError::StreamError(_) => "stream_error".to_owned(),
        _ => "error".to_owned(),
    }
}

/// The message of an error answer: OpenAI's `error.message`, else the status.
pub(crate) fn error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string())
}
