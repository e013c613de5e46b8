//! `model_call`, what every framework adapter records through: a refused call sends nothing and
//! says why; an admitted call's estimate is reconciled with its actual cost (by the priced span
//! under an agentrace layer, by hand without one); a failed call releases its reservation; the
//! budget check sees the agent and session of the spans around the call; a call recorded onto a
//! framework's own span (`adopt`) is one record, settled by the usage the framework put there.

use std::sync::Arc;

use agentrace_core::budget::{Budget, BudgetProcessor, Budgets, Period, Scope};
use agentrace_core::cost::{PriceProcessor, PriceTable};
use agentrace_core::model_call::{BudgetGate, ModelCall, ModelRequest, ModelResponse};
use agentrace_core::testing::MemorySink;
use agentrace_core::tokenize::ChatMessage;
use agentrace_core::{
    AgentraceLayer, Pipeline, Resource, SpanKind, StatusCode, TokenUsage, Usd, spans,
};
use tracing_subscriber::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROMPT: [ChatMessage<'static>; 1] = [ChatMessage::new("user", "Plan a three-day trip.")];

fn per_agent(limit: f64) -> Arc<Budgets> {
    Arc::new(Budgets::new(vec![Budget::new(
        "per-agent",
        Scope::Agent,
        Period::Day,
        Usd::from_dollars(limit),
    )]))
}

/// A pipeline that prices spans and settles budgets, recording into memory.
fn recorded(budgets: &Arc<Budgets>) -> Result<(Pipeline, MemorySink), Box<dyn std::error::Error>> {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_processor(PriceProcessor::new(Arc::new(PriceTable::builtin())))
        .with_processor(BudgetProcessor(budgets.clone()))
        .with_sink(memory.clone())
        .build()?;
    Ok((pipeline, memory))
}

#[test]
fn an_admitted_call_is_settled_at_its_priced_cost_under_the_layer() -> TestResult {
    let budgets = per_agent(1.0);
    let gate = BudgetGate::new(budgets.clone());
    let (pipeline, memory) = recorded(&budgets)?;
    let subscriber = tracing_subscriber::registry()
        .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t")));
    let reserved = tracing::subscriber::with_default(
        subscriber,
        || -> Result<Usd, Box<dyn std::error::Error>> {
            let agent = spans::agent("planner");
            let _in_agent = agent.enter();
            let request =
                ModelRequest::chat("openai", "gpt-4o", &PROMPT).max_output_tokens(Some(500));
            let call = ModelCall::start(&request, Some(&gate))?;
            // Reserved under the agent the call inherits, at the estimate.
            let status = budgets.status();
            assert_eq!(status[0].scope, "planner");
            let reserved = status[0].reserved;
            call.finish(&ModelResponse {
                model: Some("gpt-4o-2024-08-06"),
                usage: Some(TokenUsage::new(1_000, 100)),
                finish_reasons: vec!["stop"],
                ..ModelResponse::default()
            });
            Ok(reserved)
        },
    )?;
    pipeline.flush()?;
    let after = budgets.status();
    pipeline.shutdown()?;
    // 500 output tokens at $10/M alone: the estimate is larger than the actual cost.
    assert!(reserved > Usd::from_nanos(5_000_000), "{reserved}");
    // 1,000 × $2.50/M + 100 × $10/M = $0.0035, the estimate released.
    assert_eq!(
        (after[0].spent, after[0].reserved),
        (Usd::from_nanos(3_500_000), Usd::ZERO)
    );
    let llm = memory
        .spans()
        .into_iter()
        .find(|s| s.kind == SpanKind::Llm)
        .ok_or("an LLM span")?;
    assert_eq!(llm.agent_name.as_deref(), Some("planner"));
    assert_eq!(llm.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(llm.usage, TokenUsage::new(1_000, 100));
    Ok(())
}

#[test]
fn a_call_over_the_budget_is_refused_before_it_starts() -> TestResult {
    let budgets = per_agent(0.000_1);
    let gate = BudgetGate::new(budgets.clone());
    let (pipeline, memory) = recorded(&budgets)?;
    let subscriber = tracing_subscriber::registry()
        .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t")));
    let refused = tracing::subscriber::with_default(subscriber, || {
        let agent = spans::agent("spender");
        let _in_agent = agent.enter();
        ModelCall::start(
            &ModelRequest::chat("openai", "gpt-4o", &PROMPT),
            Some(&gate),
        )
        .err()
    })
    .ok_or("the call is refused")?;
    pipeline.flush()?;
    let status = budgets.status();
    pipeline.shutdown()?;
    assert_eq!(
        (refused.budget.as_str(), refused.scope.as_str()),
        ("per-agent", "spender")
    );
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (Usd::ZERO, Usd::ZERO)
    );
    let event = memory
        .events()
        .into_iter()
        .find(|e| e.kind.as_str() == "budget.exceeded")
        .ok_or("a budget.exceeded event")?;
    assert!(event.message.contains("per-agent"), "{}", event.message);
    Ok(())
}

#[test]
fn without_a_layer_the_call_settles_by_hand_and_a_failure_releases() -> TestResult {
    let budgets = per_agent(1.0);
    let gate = BudgetGate::new(budgets.clone());
    let request = ModelRequest::chat("openai", "gpt-4o", &PROMPT);
    // Model scope only (no layer to inherit an agent from): the budget is per agent, so the
    // call belongs to no account of it; a model budget shows the settlement.
    let by_model = Arc::new(Budgets::new(vec![Budget::new(
        "per-model",
        Scope::Model,
        Period::Day,
        Usd::from_dollars(1.0),
    )]));
    let model_gate = BudgetGate::new(by_model.clone());
    let call = ModelCall::start(&request, Some(&model_gate))?;
    assert!(by_model.status()[0].reserved > Usd::ZERO);
    call.finish(&ModelResponse {
        usage: Some(TokenUsage::new(1_000, 100)),
        ..ModelResponse::default()
    });
    assert_eq!(
        (by_model.status()[0].spent, by_model.status()[0].reserved),
        (Usd::from_nanos(3_500_000), Usd::ZERO)
    );
    let failed = ModelCall::start(&request, Some(&model_gate))?;
    failed.fail("429", "rate limited");
    assert_eq!(
        (by_model.status()[0].spent, by_model.status()[0].reserved),
        (Usd::from_nanos(3_500_000), Usd::ZERO)
    );
    // Unknown usage settles at the estimate; a dropped call releases.
    let estimate = model_gate.estimate(&request).ok_or("gpt-4o is priced")?;
    ModelCall::start(&request, Some(&model_gate))?.finish(&ModelResponse::default());
    drop(ModelCall::start(&request, Some(&model_gate))?);
    assert_eq!(
        (by_model.status()[0].spent, by_model.status()[0].reserved),
        (Usd::from_nanos(3_500_000) + estimate, Usd::ZERO)
    );
    assert!(budgets.status().is_empty());
    drop(gate);
    Ok(())
}

#[test]
fn a_failed_call_is_an_error_span_with_its_type() -> TestResult {
    let budgets = per_agent(1.0);
    let (pipeline, memory) = recorded(&budgets)?;
    let subscriber = tracing_subscriber::registry()
        .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t")));
    tracing::subscriber::with_default(subscriber, || -> TestResult {
        let mut call = ModelCall::start(&ModelRequest::chat("openai", "gpt-4o", &PROMPT), None)?;
        call.chunk_received();
        call.fail("500", "the provider failed");
        Ok(())
    })?;
    pipeline.shutdown()?;
    let span = memory.spans().into_iter().next().ok_or("a span")?;
    assert_eq!(span.status.code, StatusCode::Error);
    assert_eq!(
        span.attributes.get("error.type").and_then(|v| v.as_str()),
        Some("500")
    );
    assert!(
        span.attributes
            .get("gen_ai.response.time_to_first_chunk")
            .is_some()
    );
    Ok(())
}

/// A framework's own call span, declared as rig declares its `chat` span (usage fields only).
fn framework_span() -> tracing::Span {
    tracing::info_span!(
        target: "rig::completions",
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "openai",
        gen_ai.request.model = "gpt-4o",
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
    )
}

#[test]
fn an_adopted_span_is_the_one_record_of_the_call_and_its_usage_settles_it() -> TestResult {
    let budgets = per_agent(1.0);
    let gate = BudgetGate::new(budgets.clone());
    let (pipeline, memory) = recorded(&budgets)?;
    let subscriber = tracing_subscriber::registry()
        .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t")));
    tracing::subscriber::with_default(subscriber, || -> TestResult {
        let agent = spans::agent("planner");
        let _in_agent = agent.enter();
        let span = framework_span();
        let request = ModelRequest::chat("openai", "gpt-4o", &PROMPT).max_output_tokens(Some(500));
        let mut call = ModelCall::adopt(span.clone(), &request, Some(&gate))?;
        assert!(budgets.status()[0].reserved > Usd::ZERO);
        call.chunk_received();
        // The framework records the usage on its own span; the adapter the rest.
        span.record("gen_ai.usage.input_tokens", 1_000);
        span.record("gen_ai.usage.output_tokens", 100);
        call.finish(&ModelResponse {
            finish_reasons: vec!["stop"],
            ..ModelResponse::default()
        });
        Ok(())
    })?;
    pipeline.flush()?;
    let status = budgets.status();
    pipeline.shutdown()?;
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (Usd::from_nanos(3_500_000), Usd::ZERO)
    );
    let calls: Vec<_> = memory
        .spans()
        .into_iter()
        .filter(|s| s.kind == SpanKind::Llm)
        .collect();
    assert_eq!(calls.len(), 1, "one record of the call: {calls:#?}");
    let call = &calls[0];
    assert_eq!(call.agent_name.as_deref(), Some("planner"));
    assert!(
        call.attributes
            .get("gen_ai.response.time_to_first_chunk")
            .is_some()
    );
    assert_eq!(
        call.attributes
            .get("gen_ai.response.finish_reasons")
            .and_then(|v| v.as_str()),
        Some(r#"["stop"]"#)
    );
    Ok(())
}

#[test]
fn a_refused_adopted_span_says_so_and_bills_nothing() -> TestResult {
    let budgets = per_agent(0.000_1);
    let gate = BudgetGate::new(budgets.clone());
    let (pipeline, memory) = recorded(&budgets)?;
    let subscriber = tracing_subscriber::registry()
        .with(AgentraceLayer::new(pipeline.clone(), Resource::new("t")));
    let refused = tracing::subscriber::with_default(subscriber, || {
        let agent = spans::agent("spender");
        let _in_agent = agent.enter();
        let request = ModelRequest::chat("openai", "gpt-4o", &PROMPT);
        ModelCall::adopt(framework_span(), &request, Some(&gate)).err()
    })
    .ok_or("the call is refused")?;
    pipeline.flush()?;
    let status = budgets.status();
    pipeline.shutdown()?;
    assert_eq!(refused.scope, "spender");
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (Usd::ZERO, Usd::ZERO)
    );
    let span = memory
        .spans()
        .into_iter()
        .find(|s| s.kind == SpanKind::Llm)
        .ok_or("the framework's span")?;
    assert_eq!(span.status.code, StatusCode::Error);
    assert_eq!(
        span.attributes.get("error.type").and_then(|v| v.as_str()),
        Some("budget_exceeded")
    );
    assert_eq!(span.cost, None);
    Ok(())
}

#[test]
fn without_a_layer_an_adopted_call_of_unknown_usage_settles_at_its_estimate() -> TestResult {
    let by_model = Arc::new(Budgets::new(vec![Budget::new(
        "per-model",
        Scope::Model,
        Period::Day,
        Usd::from_dollars(1.0),
    )]));
    let gate = BudgetGate::new(by_model.clone());
    let request = ModelRequest::chat("openai", "gpt-4o", &PROMPT);
    let estimate = gate.estimate(&request).ok_or("gpt-4o is priced")?;
    ModelCall::adopt(framework_span(), &request, Some(&gate))?.finish(&ModelResponse::default());
    assert_eq!(
        (by_model.status()[0].spent, by_model.status()[0].reserved),
        (estimate, Usd::ZERO)
    );
    Ok(())
}
