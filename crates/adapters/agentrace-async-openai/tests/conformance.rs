//! The adapter kit's conformance suite over real async-openai calls to the kit's fake
//! provider: plain, streamed with and without usage, tool calls, a 429 after async-openai's
//! retries, a budget stop that sends nothing, settlement, many agents at once, embeddings.

use std::sync::Arc;

use agentrace_adapter_kit::{Adapter, ChatCall, EmbedCall, Outcome, Streaming, conformance};
use agentrace_core::budget::Budgets;
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, CreateChatCompletionRequest,
};
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use futures_util::StreamExt;

#[derive(Debug)]
struct AsyncOpenAi;

impl AsyncOpenAi {
    fn client(base_url: &str, budgets: Option<Arc<Budgets>>) -> Client<OpenAIConfig> {
        let mut http = agentrace_async_openai::traced(reqwest::Client::new());
        if let Some(budgets) = budgets {
            http = http.budgets(budgets);
        }
        let config = OpenAIConfig::new()
            .with_api_base(base_url)
            .with_api_key("test-key");
        Client::with_config(config).with_http_service(http)
    }

    async fn call(call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Result<(), OpenAIError> {
        let client = Self::client(&call.base_url, budgets);
        let mut request = CreateChatCompletionRequest {
            model: call.model.clone(),
            messages: vec![ChatCompletionRequestUserMessage::from(call.prompt.as_str()).into()],
            ..CreateChatCompletionRequest::default()
        };
        if call.streaming == Streaming::No {
            client.chat().create(request).await?;
            return Ok(());
        }
        if call.streaming == Streaming::WithUsage {
            request.stream_options = Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                ..ChatCompletionStreamOptions::default()
            });
        }
        let mut stream = client.chat().create_stream(request).await?;
        while let Some(chunk) = stream.next().await {
            chunk?;
        }
        Ok(())
    }

    async fn embed(call: &EmbedCall, budgets: Option<Arc<Budgets>>) -> Result<(), OpenAIError> {
        let request = CreateEmbeddingRequest {
            model: call.model.clone(),
            input: EmbeddingInput::StringArray(call.inputs.clone()),
            ..CreateEmbeddingRequest::default()
        };
        Self::client(&call.base_url, budgets)
            .embeddings()
            .create(request)
            .await?;
        Ok(())
    }
}

fn outcome(result: Result<(), OpenAIError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Answered,
        Err(error) => match agentrace_async_openai::budget_exceeded(&error) {
            Some(refused) => Outcome::Refused(refused.clone()),
            None => Outcome::Failed(error.to_string()),
        },
    }
}

#[async_trait::async_trait]
impl Adapter for AsyncOpenAi {
    async fn chat(&self, call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Outcome {
        outcome(Self::call(call, budgets).await)
    }

    async fn embed(&self, call: &EmbedCall, budgets: Option<Arc<Budgets>>) -> Option<Outcome> {
        Some(outcome(Self::embed(call, budgets).await))
    }
}

#[tokio::test]
async fn async_openai_passes_the_adapter_kit() {
    conformance(&AsyncOpenAi).await;
}
