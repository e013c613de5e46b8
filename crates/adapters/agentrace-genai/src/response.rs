//! genai's answers as agentrace records them: usage by type, the responding model, the finish
//! reason, and errors as `error.type`.

use agentrace_core::TokenUsage;
use agentrace_core::model_call::ModelResponse;
use genai::chat::{ChatResponse, Usage};
use genai::embed::EmbedResponse;

/// A whole answer.
pub(crate) fn of_chat(answer: &ChatResponse) -> ModelResponse<'_> {
    ModelResponse {
        model: Some(answer.provider_model_iden.model_name.as_str()),
        id: answer.response_id.as_deref(),
        usage: usage(&answer.usage),
        finish_reasons: answer.stop_reason.iter().map(|r| r.raw()).collect(),
        text: answer.content.texts().first().copied(),
    }
}

/// An embeddings answer: its model and usage (input tokens only).
pub(crate) fn of_embed(answer: &EmbedResponse) -> ModelResponse<'_> {
    ModelResponse {
        model: Some(answer.provider_model_iden.model_name.as_str()),
        usage: usage(&answer.usage),
        ..ModelResponse::default()
    }
}

/// genai's usage: `prompt_tokens` include the cached and cache-writing ones,
/// `completion_tokens` the reasoning ones (as agentrace counts them: docs/conventions.md,
/// token arithmetic). `None` when the provider reported nothing.
pub(crate) fn usage(usage: &Usage) -> Option<TokenUsage> {
    let count = |n: Option<i32>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    if usage.prompt_tokens.is_none() && usage.completion_tokens.is_none() {
        return None;
    }
    let mut tokens = TokenUsage::new(count(usage.prompt_tokens), count(usage.completion_tokens));
    if let Some(details) = &usage.prompt_tokens_details {
        tokens.cache_read_tokens = count(details.cached_tokens);
        tokens.cache_write_tokens = count(details.cache_creation_tokens);
        tokens.cache_write_1h_tokens = details
            .cache_creation_details
            .as_ref()
            .map_or(0, |d| count(d.ephemeral_1h_tokens));
    }
    if let Some(details) = &usage.completion_tokens_details {
        tokens.reasoning_tokens = details.reasoning_tokens.and_then(|n| u64::try_from(n).ok());
    }
    Some(tokens)
}

/// The `error.type` of a failed call: the HTTP status when the provider answered with one.
pub(crate) fn error_type(error: &genai::Error) -> String {
    let status = match error {
        genai::Error::WebModelCall { webc_error, .. }
        | genai::Error::WebAdapterCall { webc_error, .. } => webc_error.status(),
        genai::Error::HttpError { status, .. } => Some(*status),
        _ => None,
    };
    match status {
        Some(status) => status.as_str().to_owned(),
        None => "genai".to_owned(),
    }
}
