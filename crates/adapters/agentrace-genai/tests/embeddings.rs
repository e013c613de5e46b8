//! Embeddings through the traced genai client: an embedding span billed for its input tokens,
//! and a budget stop that sends nothing.

use std::sync::Arc;

use agentrace_adapter_kit::{FakeOpenAi, Recorder, Reply, expected_cost};
use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::{SpanKind, TokenUsage, Usd};
use agentrace_genai::{Error, TracedClient};
use genai::resolver::{AuthData, Endpoint, ServiceTargetResolver};
use genai::{Client, ServiceTarget};

const MODEL: &str = "text-embedding-3-small";

fn client(fake: &FakeOpenAi, budgets: Option<Arc<Budgets>>) -> TracedClient {
    let endpoint = format!("{}/", fake.base_url());
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

#[tokio::test]
async fn embeddings_are_an_embedding_span_billed_for_their_input() {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    fake.script([Reply::embedding(42)]);
    let recorder = Recorder::new(None);
    let inputs = vec!["Lisbon in May".to_owned(), "Porto in June".to_owned()];
    let answer = recorder
        .run(client(&fake, None).embed_batch(MODEL, inputs, None))
        .await
        .expect("the embeddings answer");
    let spans = recorder.finish().spans;
    assert_eq!(answer.embeddings.len(), 2);
    assert_eq!(spans.len(), 1, "one span: {spans:#?}");
    let span = &spans[0];
    assert_eq!(span.kind, SpanKind::Embedding);
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
    let input = "a long document about Lisbon ".repeat(200);
    let outcome = recorder
        .run(client(&fake, Some(budgets)).embed(MODEL, input, None))
        .await;
    let spans = recorder.finish().spans;
    let Err(Error::BudgetExceeded(refused)) = outcome else {
        panic!("refused with BudgetExceeded, got {outcome:?}");
    };
    assert_eq!(refused.budget, "tiny");
    assert_eq!(fake.request_count(), 0, "no request was sent");
    assert!(spans.is_empty(), "no span for a call not made: {spans:#?}");
    fake.shutdown().await;
}
