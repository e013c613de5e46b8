//! Embeddings through the traced client: an embedding span billed for its input tokens, and a
//! budget stop that sends nothing.

use std::sync::Arc;

use agentrace_adapter_kit::{FakeOpenAi, Recorder, Reply, expected_cost};
use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::{SpanKind, TokenUsage, Usd};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};

const MODEL: &str = "text-embedding-3-small";

fn client(fake: &FakeOpenAi, budgets: Option<Arc<Budgets>>) -> Client<OpenAIConfig> {
    let mut http = agentrace_async_openai::traced(reqwest::Client::new());
    if let Some(budgets) = budgets {
        http = http.budgets(budgets);
    }
    let config = OpenAIConfig::new()
        .with_api_base(fake.base_url())
        .with_api_key("test-key");
    Client::with_config(config).with_http_service(http)
}

fn request(inputs: Vec<String>) -> CreateEmbeddingRequest {
    CreateEmbeddingRequest {
        model: MODEL.to_owned(),
        input: EmbeddingInput::StringArray(inputs),
        ..CreateEmbeddingRequest::default()
    }
}

#[tokio::test]
async fn embeddings_are_an_embedding_span_billed_for_their_input() {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    fake.script([Reply::embedding(42)]);
    let recorder = Recorder::new(None);
    let inputs = vec!["Lisbon in May".to_owned(), "Porto in June".to_owned()];
    let answer = recorder
        .run(client(&fake, None).embeddings().create(request(inputs)))
        .await
        .expect("the embeddings answer");
    let spans = recorder.finish().spans;
    assert_eq!(answer.data.len(), 2);
    assert_eq!(spans.len(), 1, "one span: {spans:#?}");
    let span = &spans[0];
    assert_eq!(span.kind, SpanKind::Embedding);
    assert_eq!(span.name, format!("embeddings {MODEL}"));
    assert_eq!(span.provider.as_deref(), Some("openai"));
    assert_eq!(span.usage, TokenUsage::new(42, 0));
    assert_eq!(
        span.cost.map(|c| c.total),
        Some(expected_cost("openai", MODEL, &TokenUsage::new(42, 0)))
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn embeddings_over_a_budget_are_refused_before_sending() {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    let budgets = Arc::new(Budgets::new(vec![Budget::new(
        "tiny",
        Scope::Global,
        Period::Day,
        Usd::from_dollars(0.000_000_1),
    )]));
    let recorder = Recorder::new(Some(budgets.clone()));
    let inputs = vec!["a long document about Lisbon ".repeat(200)];
    let outcome = recorder
        .run(
            client(&fake, Some(budgets))
                .embeddings()
                .create(request(inputs)),
        )
        .await;
    let spans = recorder.finish().spans;
    let error = outcome.expect_err("refused");
    let refused = agentrace_async_openai::budget_exceeded(&error)
        .unwrap_or_else(|| panic!("BudgetExceeded in {error:?}"));
    assert_eq!(refused.budget, "tiny");
    assert_eq!(fake.request_count(), 0, "no request was sent");
    assert!(spans.is_empty(), "no span for a call not made: {spans:#?}");
    fake.shutdown().await;
}
