//! Embeddings through a traced rig model: rig's `embeddings` span, billed for its input
//! tokens, and a budget stop that sends nothing.

use std::sync::Arc;

use agentrace_adapter_kit::{FakeOpenAi, Recorder, Reply, expected_cost};
use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::{SpanKind, TokenUsage, Usd};
use agentrace_rig::{Refusal, WithBudgets, traced};
use rig_core::providers::openai::OpenAIConfig;

const MODEL: &str = "text-embedding-3-small";

fn config(fake: &FakeOpenAi) -> OpenAIConfig {
    OpenAIConfig::new("test-key").with_base_url(fake.base_url())
}

#[tokio::test]
async fn embeddings_are_an_embedding_span_billed_for_their_input() {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    fake.script([Reply::embedding(42)]);
    let model = traced(config(&fake).client().embedding(MODEL, None));
    let recorder = Recorder::new(None);
    let answer = recorder
        .run(model.call(vec!["Lisbon in May".to_owned(), "Porto in June".to_owned()]))
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
    let model = traced(config(&fake).client().embedding(MODEL, None)).budgets(budgets.clone());
    let recorder = Recorder::new(Some(budgets));
    let outcome = recorder
        .run(model.call(vec!["a long document about Lisbon ".repeat(200)]))
        .await;
    recorder.finish();
    let error = outcome.expect_err("refused");
    let refused = error
        .budget_exceeded()
        .unwrap_or_else(|| panic!("BudgetExceeded in {error:?}"));
    assert_eq!(refused.budget, "tiny");
    assert_eq!(fake.request_count(), 0, "no request was sent");
    fake.shutdown().await;
}
