//! The embedding checks: an embeddings call is one embedding span billed for its input, and
//! one over a budget is refused before it is sent.

use std::sync::Arc;

use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::{SpanKind, TokenUsage, Usd};

use crate::{Adapter, FakeOpenAi, Outcome, Recorder, Reply, assert_refused_spans, expected_cost};

/// The embedding model the checks ask.
const MODEL: &str = "text-embedding-3-small";

/// An embeddings call for the adapter to make through its framework.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmbedCall {
    /// The provider's base URL (the fake's, ending in `/v1`).
    pub base_url: String,
    /// The model to ask.
    pub model: String,
    /// The texts to embed, one vector each.
    pub inputs: Vec<String>,
}

async fn provider(replies: Vec<Reply>, inputs: Vec<String>) -> (FakeOpenAi, EmbedCall) {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    fake.script(replies);
    let call = EmbedCall {
        base_url: fake.base_url(),
        model: MODEL.to_owned(),
        inputs,
    };
    (fake, call)
}

/// Two texts embedded: one embedding span, its input tokens, the exact cost.
pub async fn embeddings_call(adapter: &dyn Adapter) {
    let inputs = vec!["Lisbon in May".to_owned(), "Porto in June".to_owned()];
    let (fake, call) = provider(vec![Reply::embedding(42)], inputs).await;
    let recorder = Recorder::new(None);
    let Some(outcome) = recorder.run(adapter.embed(&call, None)).await else {
        fake.shutdown().await;
        return;
    };
    let spans = recorder.finish().spans;
    assert_eq!(outcome, Outcome::Answered, "embeddings");
    assert_eq!(spans.len(), 1, "embeddings: one span, got {spans:#?}");
    let span = &spans[0];
    let usage = TokenUsage::new(42, 0);
    assert_eq!(span.kind, SpanKind::Embedding, "embeddings: kind");
    assert_eq!(
        span.provider.as_deref(),
        Some(adapter.provider()),
        "embeddings: provider"
    );
    assert_eq!(
        span.request_model.as_deref(),
        Some(MODEL),
        "embeddings: model"
    );
    assert_eq!(span.usage, usage, "embeddings: input tokens");
    assert_eq!(
        span.cost.map(|c| c.total),
        Some(expected_cost(adapter.provider(), MODEL, &usage)),
        "embeddings: exact cost"
    );
    assert_eq!(fake.request_count(), 1);
    fake.shutdown().await;
}

/// Embeddings whose input alone would cross a budget: refused, nothing sent, nothing billed.
pub async fn embeddings_budget_stop(adapter: &dyn Adapter) {
    let budgets = Arc::new(Budgets::new(vec![Budget::new(
        "tiny",
        Scope::Global,
        Period::Day,
        Usd::from_dollars(0.000_000_1),
    )]));
    let inputs = vec!["a long document about Lisbon ".repeat(200)];
    let (fake, call) = provider(Vec::new(), inputs).await;
    let recorder = Recorder::new(Some(budgets.clone()));
    let Some(outcome) = recorder
        .run(adapter.embed(&call, Some(budgets.clone())))
        .await
    else {
        fake.shutdown().await;
        return;
    };
    let spans = recorder.finish().spans;
    let Outcome::Refused(refused) = outcome else {
        panic!("embeddings budget stop: refused with BudgetExceeded, got {outcome:?}");
    };
    assert_eq!(refused.budget, "tiny", "embeddings budget stop: the budget");
    assert_eq!(
        fake.request_count(),
        0,
        "embeddings budget stop: no request was sent"
    );
    assert_refused_spans(&spans, "embeddings budget stop");
    let status = budgets.status();
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (Usd::ZERO, Usd::ZERO),
        "embeddings budget stop: nothing spent or held"
    );
    fake.shutdown().await;
}
