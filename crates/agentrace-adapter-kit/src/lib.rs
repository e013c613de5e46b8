//! # agentrace-adapter-kit
//!
//! The test kit every agentrace framework adapter runs, as every sink runs the sink conformance
//! suite: a local fake OpenAI-compatible provider ([`FakeOpenAi`], which counts the requests it
//! gets) and [`conformance`], one suite of checks over real calls made through the adapter's
//! framework. An adapter implements [`Adapter`] — "make this chat call through your
//! framework" — and the suite checks what agentrace recorded:
//!
//! | check | what must hold |
//! |---|---|
//! | [`plain_call`] | one LLM span: provider, requested and responding model, usage by type (cache reads, reasoning), finish reason, exact cost |
//! | [`streamed_call`] | a stream's usage taken from its final chunk, its time to first chunk recorded |
//! | [`stream_without_usage`] | a stream that reports no usage has unknown usage and cost, never a made-up figure |
//! | [`tool_call`] | a reply asking for a tool finishes with `tool_calls` |
//! | [`rate_limited`] | a 429 (after the framework's retries) is an error span of type `429` |
//! | [`budget_stop`] | a call over a budget is refused with [`BudgetExceeded`], sends **no** request and leaves no billed LLM span (none, or the framework's own span marked `error.type=budget_exceeded`; a `budget.exceeded` event) |
//! | [`budget_settled`] | an admitted call's reservation is settled at its exact cost |
//! | [`concurrent_agents`] | calls of many agents at once each land under their own agent |
//! | [`embeddings_call`] | embeddings are one embedding span: provider, model, input tokens, exact cost (for an adapter whose framework embeds) |
//! | [`embeddings_budget_stop`] | embeddings over a budget are refused before any request, nothing billed |
//!
//! ```no_run
//! use agentrace_adapter_kit::{Adapter, ChatCall, Outcome};
//! use agentrace_core::budget::Budgets;
//! use std::sync::Arc;
//!
//! #[derive(Debug)]
//! struct MyFramework;
//!
//! #[async_trait::async_trait]
//! impl Adapter for MyFramework {
//!     async fn chat(&self, call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Outcome {
//!         // Build the framework's client against `call.base_url` with the adapter (and the
//!         // budgets) turned on, send `call.prompt` to `call.model`, and map the result.
//!         Outcome::Answered
//!     }
//! }
//!
//! #[tokio::test]
//! async fn my_adapter_conforms() {
//!     agentrace_adapter_kit::conformance(&MyFramework).await;
//! }
//! ```
//!
//! docs/writing-an-adapter.md walks through an adapter and this kit.

mod embeddings;
mod recorder;

use std::sync::Arc;

use agentrace_core::budget::{Budget, BudgetExceeded, Budgets, Period, Scope};
use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::model_call::BUDGET_EXCEEDED;
use agentrace_core::{SpanKind, SpanRecord, StatusCode, TokenUsage, Usd, now_unix_nano, spans};
use tracing::Instrument;

pub use agentrace_fake_openai::{FakeOpenAi, Reply, ToolCall, Usage};
pub use embeddings::{EmbedCall, embeddings_budget_stop, embeddings_call};
pub use recorder::{Recorded, Recorder};

/// How a call streams its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    /// One whole reply.
    No,
    /// Server-sent chunks, asking for the usage in a final chunk
    /// (`stream_options.include_usage`).
    WithUsage,
    /// Server-sent chunks without usage.
    WithoutUsage,
}

/// A chat call for the adapter to make through its framework.
#[derive(Debug, Clone)]
pub struct ChatCall {
    /// The provider's base URL (the fake's, ending in `/v1`).
    pub base_url: String,
    /// The model to ask.
    pub model: String,
    /// The user's message.
    pub prompt: String,
    /// Whether and how the reply streams.
    pub streaming: Streaming,
}

/// What became of a call, in the kit's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The model answered (the reply was read to its end).
    Answered,
    /// The adapter refused the call for a budget: the framework's error carried this.
    Refused(BudgetExceeded),
    /// The call failed otherwise; the framework's error, as text.
    Failed(String),
}

/// An adapter under test: makes chat calls through its framework.
#[async_trait::async_trait]
pub trait Adapter: Send + Sync + std::fmt::Debug {
    /// The provider the adapter records for the fake (an OpenAI-compatible API).
    fn provider(&self) -> &str {
        "openai"
    }

    /// Whether the framework passes a reported reasoning count of zero on as zero (the
    /// default). genai reads zeros in a provider's usage details as absent, so its calls that
    /// spent no reasoning tokens are stored with the count unknown, as they must be.
    fn reports_zero_reasoning(&self) -> bool {
        true
    }

    /// Makes `call` through the framework with the adapter on, enforcing `budgets` when given,
    /// and reads the reply to its end.
    async fn chat(&self, call: &ChatCall, budgets: Option<Arc<Budgets>>) -> Outcome;

    /// Makes the embeddings `call` through the framework with the adapter on, enforcing
    /// `budgets` when given; `None` for a framework without embeddings (the default), whose
    /// embedding checks are then skipped.
    async fn embed(&self, call: &EmbedCall, budgets: Option<Arc<Budgets>>) -> Option<Outcome> {
        let _ = (call, budgets);
        None
    }
}

/// Runs every check of the kit against `adapter`; panics with what failed.
pub async fn conformance(adapter: &dyn Adapter) {
    plain_call(adapter).await;
    streamed_call(adapter).await;
    stream_without_usage(adapter).await;
    tool_call(adapter).await;
    rate_limited(adapter).await;
    budget_stop(adapter).await;
    budget_settled(adapter).await;
    concurrent_agents(adapter).await;
    embeddings_call(adapter).await;
    embeddings_budget_stop(adapter).await;
}

const MODEL: &str = "gpt-4o-mini";

/// A fake provider with `replies` scripted, and a call of [`MODEL`] to it.
async fn provider(replies: Vec<Reply>, streaming: Streaming) -> (FakeOpenAi, ChatCall) {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    fake.script(replies);
    let call = ChatCall {
        base_url: fake.base_url(),
        model: MODEL.to_owned(),
        prompt: "Which three things should I pack for Lisbon in May?".to_owned(),
        streaming,
    };
    (fake, call)
}

/// Makes one call under a [`Recorder`]; returns its outcome and the LLM spans recorded.
async fn recorded_call(
    adapter: &dyn Adapter,
    call: &ChatCall,
    budgets: Option<Arc<Budgets>>,
) -> (Outcome, Vec<SpanRecord>) {
    let recorder = Recorder::new(budgets.clone());
    let outcome = recorder.run(adapter.chat(call, budgets)).await;
    let spans = recorder.finish().spans;
    (outcome, llm_spans(spans))
}

fn llm_spans(spans: Vec<SpanRecord>) -> Vec<SpanRecord> {
    spans
        .into_iter()
        .filter(|s| s.kind == SpanKind::Llm)
        .collect()
}

fn only(spans: &[SpanRecord], check: &str) -> SpanRecord {
    assert_eq!(
        spans.len(),
        1,
        "{check}: exactly one LLM span, got {spans:#?}"
    );
    spans[0].clone()
}

/// The usage agentrace must record for what the fake reported.
pub fn expected_usage(usage: Usage) -> TokenUsage {
    let mut expected = TokenUsage::new(usage.input, usage.output);
    expected.cache_read_tokens = usage.cache_read;
    // The fake, as OpenAI, always reports a reasoning count (zero for other models).
    expected.reasoning_tokens = Some(usage.reasoning);
    expected
}

/// The exact cost of `usage` of `model` at the built-in prices now.
pub fn expected_cost(provider: &str, model: &str, usage: &TokenUsage) -> Usd {
    let price = PriceTable::builtin()
        .price(Some(provider), model, now_unix_nano())
        .unwrap_or_else(|| panic!("{model} has a built-in price"));
    compute_cost(usage, price.price).total
}

/// The responding model a check expects.
#[derive(Debug, Clone, Copy)]
pub enum Responding<'a> {
    /// This model, reported.
    Exactly(&'a str),
    /// This model if the framework reports one (genai reports none for streams).
    IfReported(&'a str),
}

/// Asserts what every answered LLM span of `adapter` carries.
pub fn assert_answered(
    span: &SpanRecord,
    adapter: &dyn Adapter,
    responding: Responding<'_>,
    usage: Usage,
    finish_reason: &str,
    check: &str,
) {
    let provider = adapter.provider();
    let mut usage = expected_usage(usage);
    if usage.reasoning_tokens == Some(0) && !adapter.reports_zero_reasoning() {
        usage.reasoning_tokens = None;
    }
    assert_eq!(span.kind, SpanKind::Llm, "{check}: kind");
    assert_eq!(
        span.provider.as_deref(),
        Some(provider),
        "{check}: provider"
    );
    assert_eq!(
        span.request_model.as_deref(),
        Some(MODEL),
        "{check}: requested model"
    );
    let response_model = match responding {
        Responding::Exactly(model) => {
            assert_eq!(
                span.response_model.as_deref(),
                Some(model),
                "{check}: responding model"
            );
            model
        }
        Responding::IfReported(model) => {
            if let Some(reported) = span.response_model.as_deref() {
                assert_eq!(reported, model, "{check}: responding model");
            }
            model
        }
    };
    assert_eq!(span.usage, usage, "{check}: usage by type");
    assert_eq!(
        span.cost.map(|c| c.total),
        Some(expected_cost(provider, response_model, &usage)),
        "{check}: exact cost"
    );
    assert_ne!(span.status.code, StatusCode::Error, "{check}: status");
    let reasons = span
        .attributes
        .get("gen_ai.response.finish_reasons")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    assert!(
        reasons.contains(finish_reason),
        "{check}: finish reason {finish_reason:?} in {reasons:?}"
    );
}

/// Asserts that `spans` of a refused call say so. An adapter that opens its own span refuses
/// before it: no span. One whose framework opened the call's span first (rig) marks it
/// refused: failed with `error.type` `budget_exceeded`, unbilled.
fn assert_refused_spans(spans: &[SpanRecord], check: &str) {
    for span in spans {
        assert_eq!(
            (
                span.status.code,
                span.attributes.get("error.type").and_then(|v| v.as_str()),
                span.cost,
            ),
            (StatusCode::Error, Some(BUDGET_EXCEEDED), None),
            "{check}: the span of a call that was not made says it was refused"
        );
    }
}

fn time_to_first_chunk(span: &SpanRecord) -> Option<f64> {
    span.attributes
        .get("gen_ai.response.time_to_first_chunk")
        .and_then(|v| v.as_f64())
}

/// A whole reply with cached and reasoning tokens.
pub async fn plain_call(adapter: &dyn Adapter) {
    let usage = Usage::new(1_200, 300)
        .with_cache_read(1_024)
        .with_reasoning(128);
    let reply = Reply::text("A light jacket, sunscreen, comfortable shoes.", usage)
        .responding_as("gpt-4o-mini-2024-07-18");
    let (fake, call) = provider(vec![reply], Streaming::No).await;
    let (outcome, spans) = recorded_call(adapter, &call, None).await;
    assert_eq!(outcome, Outcome::Answered, "plain call");
    let span = only(&spans, "plain call");
    assert_answered(
        &span,
        adapter,
        Responding::Exactly("gpt-4o-mini-2024-07-18"),
        usage,
        "stop",
        "plain call",
    );
    assert_eq!(
        time_to_first_chunk(&span),
        None,
        "plain call: no stream, no first chunk"
    );
    assert_eq!(fake.request_count(), 1);
    fake.shutdown().await;
}

/// A stream with its usage in the final chunk.
pub async fn streamed_call(adapter: &dyn Adapter) {
    let usage = Usage::new(40, 12);
    let (fake, call) = provider(
        vec![Reply::text("Sunglasses, a hat and a scarf.", usage)],
        Streaming::WithUsage,
    )
    .await;
    let (outcome, spans) = recorded_call(adapter, &call, None).await;
    assert_eq!(outcome, Outcome::Answered, "streamed call");
    let span = only(&spans, "streamed call");
    assert_answered(
        &span,
        adapter,
        Responding::IfReported(MODEL),
        usage,
        "stop",
        "streamed call",
    );
    let first = time_to_first_chunk(&span).expect("streamed call: time to first chunk");
    let duration = span.duration_ns() as f64 / 1e9;
    assert!(
        first > 0.0 && first <= duration,
        "streamed call: first chunk after {first} s of {duration} s"
    );
    fake.shutdown().await;
}

/// A stream without usage: unknown, never guessed.
pub async fn stream_without_usage(adapter: &dyn Adapter) {
    let (fake, call) = provider(
        vec![Reply::text("Sunglasses.", Usage::new(31, 3))],
        Streaming::WithoutUsage,
    )
    .await;
    let (outcome, spans) = recorded_call(adapter, &call, None).await;
    assert_eq!(outcome, Outcome::Answered, "stream without usage");
    let span = only(&spans, "stream without usage");
    assert_eq!(
        span.usage,
        TokenUsage::default(),
        "stream without usage: no tokens"
    );
    assert_eq!(span.cost, None, "stream without usage: cost unknown");
    assert!(time_to_first_chunk(&span).is_some());
    fake.shutdown().await;
}

/// A reply that asks for a tool.
pub async fn tool_call(adapter: &dyn Adapter) {
    let usage = Usage::new(80, 16);
    let reply = Reply::tool_call("call_1", "get_weather", r#"{"city":"Lisbon"}"#, usage);
    let (fake, call) = provider(vec![reply], Streaming::No).await;
    let (outcome, spans) = recorded_call(adapter, &call, None).await;
    assert_eq!(outcome, Outcome::Answered, "tool call");
    let span = only(&spans, "tool call");
    assert_answered(
        &span,
        adapter,
        Responding::Exactly(MODEL),
        usage,
        "tool_calls",
        "tool call",
    );
    fake.shutdown().await;
}

/// Rate limited on every attempt: one error span of type `429`, whatever the retries.
pub async fn rate_limited(adapter: &dyn Adapter) {
    let (fake, call) = provider(
        std::iter::repeat_with(Reply::rate_limited)
            .take(8)
            .collect(),
        Streaming::No,
    )
    .await;
    let (outcome, spans) = recorded_call(adapter, &call, None).await;
    assert!(
        matches!(outcome, Outcome::Failed(_)),
        "rate limited: {outcome:?}"
    );
    let span = only(&spans, "rate limited");
    assert_eq!(span.status.code, StatusCode::Error, "rate limited: status");
    assert_eq!(
        span.attributes.get("error.type").and_then(|v| v.as_str()),
        Some("429"),
        "rate limited: error.type"
    );
    assert_eq!(span.cost, None, "rate limited: nothing billed");
    assert!(fake.request_count() >= 1);
    fake.shutdown().await;
}

/// Runs `call` inside an `invoke_agent` span of `name`, made when the future first runs (so
/// under the recorder that runs it).
async fn in_agent<T>(name: impl AsRef<str>, call: impl std::future::Future<Output = T>) -> T {
    call.instrument(spans::agent(name.as_ref())).await
}

fn per_agent(dollars: f64) -> Arc<Budgets> {
    Arc::new(Budgets::new(vec![Budget::new(
        "per-agent",
        Scope::Agent,
        Period::Day,
        Usd::from_dollars(dollars),
    )]))
}

/// A call over its agent's budget: refused with `BudgetExceeded`, no request sent.
pub async fn budget_stop(adapter: &dyn Adapter) {
    let budgets = per_agent(0.000_001);
    let (fake, call) = provider(Vec::new(), Streaming::No).await;
    let recorder = Recorder::new(Some(budgets.clone()));
    let outcome = recorder
        .run(in_agent(
            "spender",
            adapter.chat(&call, Some(budgets.clone())),
        ))
        .await;
    let recorded = recorder.finish();
    let Outcome::Refused(refused) = outcome else {
        panic!("budget stop: refused with BudgetExceeded, got {outcome:?}");
    };
    assert_eq!(
        (refused.budget.as_str(), refused.scope.as_str()),
        ("per-agent", "spender"),
        "budget stop: the agent's budget"
    );
    assert_eq!(fake.request_count(), 0, "budget stop: no request was sent");
    assert_refused_spans(&llm_spans(recorded.spans.clone()), "budget stop");
    assert!(
        recorded
            .events
            .iter()
            .any(|e| e.kind.as_str() == "budget.exceeded"),
        "budget stop: a budget.exceeded event"
    );
    let status = budgets.status();
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (Usd::ZERO, Usd::ZERO),
        "budget stop: nothing spent or held"
    );
    fake.shutdown().await;
}

/// An admitted call: its estimate reserved, then settled at its exact cost.
pub async fn budget_settled(adapter: &dyn Adapter) {
    let budgets = per_agent(5.0);
    let usage = Usage::new(900, 120);
    let (fake, call) = provider(vec![Reply::text("Done.", usage)], Streaming::No).await;
    let recorder = Recorder::new(Some(budgets.clone()));
    let outcome = recorder
        .run(in_agent(
            "planner",
            adapter.chat(&call, Some(budgets.clone())),
        ))
        .await;
    recorder.finish();
    assert_eq!(outcome, Outcome::Answered, "budget settled");
    let status = budgets.status();
    let expected = expected_cost(adapter.provider(), MODEL, &expected_usage(usage));
    assert_eq!(
        (
            status[0].scope.as_str(),
            status[0].spent,
            status[0].reserved
        ),
        ("planner", expected, Usd::ZERO),
        "budget settled: the exact cost, nothing left reserved"
    );
    fake.shutdown().await;
}

/// Eight agents calling at once: each call lands under its own agent.
pub async fn concurrent_agents(adapter: &dyn Adapter) {
    const AGENTS: usize = 8;
    let (fake, call) = provider(Vec::new(), Streaming::No).await;
    let recorder = Recorder::new(None);
    let calls = (0..AGENTS).map(|i| in_agent(format!("agent-{i}"), adapter.chat(&call, None)));
    let outcomes = recorder.run(futures_util::future::join_all(calls)).await;
    let recorded = recorder.finish().spans;
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Answered),
        "concurrent agents: {outcomes:?}"
    );
    let llm = llm_spans(recorded.clone());
    assert_eq!(llm.len(), AGENTS, "concurrent agents: one LLM span each");
    for span in &llm {
        let parent = recorded
            .iter()
            .find(|s| Some(s.span_id) == span.parent_span_id)
            .expect("concurrent agents: the LLM span's parent is recorded");
        assert_eq!(
            parent.kind,
            SpanKind::Agent,
            "concurrent agents: parent kind"
        );
        assert_eq!(
            span.agent_name, parent.agent_name,
            "concurrent agents: the call's agent is its parent's"
        );
        assert_eq!(span.trace_id, parent.trace_id);
    }
    fake.shutdown().await;
}
