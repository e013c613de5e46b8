//! The adapter kit's conformance suite over real genai calls to the kit's fake provider:
//! plain, streamed with and without usage, tool calls, a 429, a budget stop that sends nothing,
//! settlement, many agents at once, and embeddings.

use std::sync::Arc;

use agentrace_adapter_kit::{Adapter, ChatCall, EmbedCall, Outcome, Streaming, conformance};
use agentrace_core::budget::Budgets;
use agentrace_genai::{Error, TracedClient};
use futures_util::StreamExt;
use genai::chat::{ChatMessage, ChatOptions, ChatRequest};
use genai::resolver::{AuthData, Endpoint, ServiceTargetResolver};
use genai::{Client, ServiceTarget};

#[derive(Debug)]
struct Genai;

impl Genai {
    fn client(base_url: &str, budgets: Option<Arc<Budgets>>) -> TracedClient {
        let endpoint = format!("{base_url}/");
        let resolver = ServiceTargetResolver::from_resolver_fn(
            move |target: ServiceTarget| -> Result<ServiceTarget, genai::resolver::Error> {
                Ok(ServiceTarget {
                    endpoint: Endpoint::from_owned(endpoint.clone()),
                    auth: AuthData::from_single("test-key"),
                    model: target.model,
                })
            },
        );
        let inner = Client::builder()
            .with_service_target_resolver(resolver)
            .build()
            .expect("the genai client builds");
        let client = TracedClient::new(inner);
        match budgets {
            Some(budgets) => client.budgets(budgets),
            None => client,
        }
    }

    async fn call(call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Result<(), Error> {
        let client = Self::client(&call.base_url, budgets);
        let request = ChatRequest::new(vec![ChatMessage::user(call.prompt.as_str())]);
        let options = ChatOptions::default().with_capture_usage(true);
        match call.streaming {
            Streaming::No => {
                client.exec_chat(&call.model, request, None).await?;
            }
            Streaming::WithUsage | Streaming::WithoutUsage => {
                let options = (call.streaming == Streaming::WithUsage).then_some(&options);
                let mut stream = client
                    .exec_chat_stream(&call.model, request, options)
                    .await?;
                while let Some(event) = stream.next().await {
                    event?;
                }
            }
        }
        Ok(())
    }
}

fn outcome<T>(result: Result<T, Error>) -> Outcome {
    match result {
        Ok(_) => Outcome::Answered,
        Err(Error::BudgetExceeded(refused)) => Outcome::Refused(refused),
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

#[async_trait::async_trait]
impl Adapter for Genai {
    /// genai deserializes a zero in `completion_tokens_details` as absent (`zero_as_none`).
    fn reports_zero_reasoning(&self) -> bool {
        false
    }

    async fn chat(&self, call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Outcome {
        outcome(Self::call(call, budgets).await)
    }

    async fn embed(&self, call: &EmbedCall, budgets: Option<Arc<Budgets>>) -> Option<Outcome> {
        let client = Self::client(&call.base_url, budgets);
        Some(outcome(
            client
                .embed_batch(&call.model, call.inputs.clone(), None)
                .await,
        ))
    }
}

#[tokio::test]
async fn genai_passes_the_adapter_kit() {
    conformance(&Genai).await;
}
