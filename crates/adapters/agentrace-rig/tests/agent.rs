//! A rig agent on a traced model, against the kit's fake provider: its run, its model calls
//! and its tool call land as agent, LLM and tool spans of one tree, priced; over its budget,
//! the run stops before its first request.

use std::convert::Infallible;
use std::sync::Arc;

use agentrace_adapter_kit::{FakeOpenAi, Recorder, Reply, Usage, expected_cost, expected_usage};
use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::{SpanKind, SpanRecord, StatusCode, Usd};
use agentrace_rig::{Refusal, WithBudgets, traced};
use rig_agent::AgentBuilder;
use rig_agent::tool::{Tool, ToolContext};
use rig_core::providers::openai::OpenAIConfig;
use serde::Deserialize;

const MODEL: &str = "gpt-4o-mini";

#[derive(Deserialize)]
struct WeatherArgs {
    city: String,
}

#[derive(Clone)]
struct Weather;

impl Tool for Weather {
    const NAME: &'static str = "get_weather";
    type Args = WeatherArgs;
    type Output = String;
    type Error = Infallible;

    fn description(&self) -> String {
        "Today's weather in a city".to_owned()
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        })
    }

    async fn call(&self, _: &mut ToolContext, args: WeatherArgs) -> Result<String, Infallible> {
        Ok(format!("Sunny in {}, 24 °C", args.city))
    }
}

fn agent(fake: &FakeOpenAi, budgets: Option<Arc<Budgets>>) -> rig_agent::Agent {
    let model = traced(
        OpenAIConfig::new("test-key")
            .with_base_url(fake.base_url())
            .client()
            .chat(MODEL),
    );
    let model = match budgets {
        Some(budgets) => model.budgets(budgets),
        None => model,
    };
    AgentBuilder::new(model)
        .name("planner")
        .preamble("Plan a day out.")
        .tool(Weather)
        .build()
}

fn of_kind(spans: &[SpanRecord], kind: SpanKind) -> Vec<&SpanRecord> {
    spans.iter().filter(|s| s.kind == kind).collect()
}

#[tokio::test]
async fn an_agent_run_is_one_tree_of_agent_llm_and_tool_spans() {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    let asking = Usage::new(120, 20);
    let answering = Usage::new(180, 30);
    fake.script(vec![
        Reply::tool_call("call_1", "get_weather", r#"{"city":"Lisbon"}"#, asking),
        Reply::text("Sunny: walk along the river.", answering),
    ]);
    let recorder = Recorder::new(None);
    let answer = recorder
        .run(async {
            agent(&fake, None)
                .prompt("What should I do in Lisbon today?")
                .max_turns(3)
                .await
        })
        .await
        .expect("the agent answers");
    let spans = recorder.finish().spans;
    assert!(
        answer.output().contains("river"),
        "the agent's answer: {answer:?}"
    );

    let agents = of_kind(&spans, SpanKind::Agent);
    assert_eq!(agents.len(), 1, "one agent span: {spans:#?}");
    let run = agents[0];
    assert_eq!(run.agent_name.as_deref(), Some("planner"));

    let calls = of_kind(&spans, SpanKind::Llm);
    assert_eq!(calls.len(), 2, "two model calls: {calls:#?}");
    for (call, usage, reason) in [
        (calls[0], asking, "tool_calls"),
        (calls[1], answering, "stop"),
    ] {
        assert_eq!(call.trace_id, run.trace_id);
        assert_eq!(call.agent_name.as_deref(), Some("planner"));
        assert_eq!(call.provider.as_deref(), Some("openai"));
        assert_eq!(call.usage, expected_usage(usage));
        assert_eq!(
            call.cost.map(|c| c.total),
            Some(expected_cost("openai", MODEL, &expected_usage(usage)))
        );
        let reasons = call
            .attributes
            .get("gen_ai.response.finish_reasons")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        assert!(reasons.contains(reason), "{reason} in {reasons}");
    }

    let tools = of_kind(&spans, SpanKind::Tool);
    assert_eq!(tools.len(), 1, "one tool call: {tools:#?}");
    assert_eq!(tools[0].tool_name.as_deref(), Some("get_weather"));
    assert_eq!(tools[0].agent_name.as_deref(), Some("planner"));
    assert_eq!(tools[0].trace_id, run.trace_id);
    assert_eq!(fake.request_count(), 2);
    fake.shutdown().await;
}

#[tokio::test]
async fn an_agent_over_its_budget_stops_before_its_first_request() {
    let fake = FakeOpenAi::start().await.expect("the fake provider starts");
    let budgets = Arc::new(Budgets::new(vec![Budget::new(
        "planner-daily",
        Scope::Agent,
        Period::Day,
        Usd::from_dollars(0.000_001),
    )]));
    let recorder = Recorder::new(Some(budgets.clone()));
    let outcome = recorder
        .run(async {
            agent(&fake, Some(budgets.clone()))
                .prompt("What should I do in Lisbon today?")
                .await
        })
        .await;
    let spans = recorder.finish().spans;
    let error = outcome.expect_err("the run is refused");
    let refused = error
        .budget_exceeded()
        .unwrap_or_else(|| panic!("BudgetExceeded in {error:?}"));
    assert_eq!(
        (refused.budget.as_str(), refused.scope.as_str()),
        ("planner-daily", "planner")
    );
    assert_eq!(fake.request_count(), 0, "no request was sent");
    for call in of_kind(&spans, SpanKind::Llm) {
        assert_eq!(call.status.code, StatusCode::Error);
        assert_eq!(call.cost, None);
    }
    let status = budgets.status();
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (Usd::ZERO, Usd::ZERO)
    );
    fake.shutdown().await;
}
