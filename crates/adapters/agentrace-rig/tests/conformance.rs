//! The adapter kit's conformance suite over real rig calls to the kit's fake provider: plain,
//! streamed with and without usage, tool calls, a 429, a budget stop that sends nothing,
//! settlement, many agents at once, and embeddings.

use std::sync::Arc;

use agentrace_adapter_kit::{Adapter, ChatCall, EmbedCall, Outcome, Streaming, conformance};
use agentrace_core::budget::Budgets;
use agentrace_rig::{Refusal, WithBudgets, traced};
use futures_util::StreamExt;
use rig_core::completion::CompletionRequest;
use rig_core::error::ProviderError;
use rig_core::providers::openai::OpenAIConfig;

#[derive(Debug)]
struct Rig;

impl Rig {
    async fn call(call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Result<(), ProviderError> {
        let mut config = OpenAIConfig::new("test-key").with_base_url(call.base_url.as_str());
        if call.streaming == Streaming::WithoutUsage {
            config.dialect.quirks = config.dialect.quirks.without_stream_usage();
        }
        let model = traced(config.client().chat(call.model.as_str()));
        let model = match budgets {
            Some(budgets) => model.budgets(budgets),
            None => model,
        };
        let request = CompletionRequest::new(call.prompt.as_str());
        match call.streaming {
            Streaming::No => {
                model.call(request).await?;
            }
            Streaming::WithUsage | Streaming::WithoutUsage => {
                let mut stream = model.stream(request)?;
                while let Some(item) = stream.next().await {
                    item?;
                }
                // rig folds the reply, and records its usage, when the stream is finished.
                stream.finish().await?;
            }
        }
        Ok(())
    }
}

fn outcome<T>(result: Result<T, ProviderError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Answered,
        Err(error) => match error.budget_exceeded() {
            Some(refused) => Outcome::Refused(refused),
            None => Outcome::Failed(error.to_string()),
        },
    }
}

#[async_trait::async_trait]
impl Adapter for Rig {
    async fn chat(&self, call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Outcome {
        outcome(Self::call(call, budgets).await)
    }

    async fn embed(&self, call: &EmbedCall, budgets: Option<Arc<Budgets>>) -> Option<Outcome> {
        let config = OpenAIConfig::new("test-key").with_base_url(call.base_url.as_str());
        let model = traced(config.client().embedding(call.model.as_str(), None));
        let model = match budgets {
            Some(budgets) => model.budgets(budgets),
            None => model,
        };
        Some(outcome(model.call(call.inputs.clone()).await))
    }
}

#[tokio::test]
async fn rig_passes_the_adapter_kit() {
    conformance(&Rig).await;
}
