//! `POST /budgets/check`: remote agents asking before they spend.

use std::sync::Arc;

use agentrace_core::budget::{Budget, Budgets, Period, Scope};
use agentrace_core::{Cost, Resource, SpanId, SpanKind, SpanRecord, TraceId, Usd};
use serde_json::{Value, json};

use crate::support::{Api, T0, TestResult};

fn budgets() -> Arc<Budgets> {
    Arc::new(Budgets::new(vec![Budget::new(
        "per session",
        Scope::Session,
        Period::Total,
        Usd::from_dollars(1.0),
    )]))
}

async fn check(api: &Api, body: Value) -> Result<Value, Box<dyn std::error::Error>> {
    let (status, answer) = api.post("/budgets/check", &body).await?;
    assert_eq!(status, 200, "{body}: {answer}");
    api.check(&answer, "BudgetCheckAnswer")?;
    Ok(answer)
}

#[tokio::test]
async fn a_held_estimate_counts_until_its_span_settles_it() -> TestResult {
    let b = budgets();
    let api = Api::start_with(|s| {
        s.set_configured_budgets(b.clone())
            .expect("the projects' settings are read");
    })
    .await?;
    let span = SpanId::random();
    let held = check(
        &api,
        json!({"session": "s-9", "estimate_usd": 0.6, "span_id": span.to_string()}),
    )
    .await?;
    assert_eq!(held["allowed"], true);
    assert_eq!(held["reserved"], true);
    assert_eq!(held["budgets"][0]["reserved"], 0.6);
    assert!((held["budgets"][0]["remaining"].as_f64().unwrap_or(0.0) - 0.4).abs() < 1e-9);

    // A second agent of the same session: 0.6 held + 0.5 > 1.0.
    let refused = check(&api, json!({"session": "s-9", "estimate_usd": 0.5})).await?;
    assert_eq!(refused["allowed"], false);
    assert_eq!(refused["reserved"], false);
    assert_eq!(refused["exceeded"]["budget"], "per session");
    assert_eq!(refused["exceeded"]["reserved"], 0.6);
    // Another session is not held back.
    let other = check(&api, json!({"session": "s-10", "estimate_usd": 0.5})).await?;
    assert_eq!(other["allowed"], true);
    assert_eq!(other["reserved"], false, "no span: nothing held");

    // The call's span arrives priced at 0.25: the hold becomes the actual spend.
    let mut record = SpanRecord::new(
        TraceId::random(),
        span,
        "chat",
        T0,
        T0,
        Arc::new(Resource::new("agent")),
    );
    record.kind = SpanKind::Llm;
    record.session_id = Some("s-9".into());
    record.cost = Some(Cost::from_parts(
        Usd::from_dollars(0.25),
        Usd::ZERO,
        Usd::ZERO,
        Usd::ZERO,
    ));
    b.record_span(&record);
    let after = check(&api, json!({"session": "s-9", "estimate_usd": 0.5})).await?;
    assert_eq!(after["allowed"], true);
    assert_eq!(after["budgets"][0]["spent"], 0.25);
    assert_eq!(after["budgets"][0]["reserved"], 0.0);
    Ok(())
}

#[tokio::test]
async fn the_server_estimates_from_a_prompt_or_a_token_count() -> TestResult {
    let b = budgets();
    let api = Api::start_with(|s| {
        s.set_configured_budgets(b.clone())
            .expect("the projects' settings are read");
    })
    .await?;
    let from_prompt = check(
        &api,
        json!({"session": "s", "model": "gpt-4o", "prompt": "Hi there", "max_output_tokens": 100}),
    )
    .await?;
    // Counted as core counts (exactly when built with tiktoken, as the agentrace binary is).
    let counted = agentrace_core::tokenize::tokenizer_for_model("gpt-4o").count("Hi there");
    assert_eq!(from_prompt["estimate"]["input_tokens"], counted.tokens);
    assert_eq!(
        from_prompt["estimate"]["input_exact"],
        counted.accuracy.is_exact()
    );
    assert_eq!(from_prompt["estimate"]["output_tokens"], 100);
    let tokens = counted.tokens;
    // gpt-4o: $2.50 per million input tokens, $10 per million output tokens.
    let expected = (tokens as f64 * 2.5 + 100.0 * 10.0) / 1e6;
    assert!((from_prompt["estimate_usd"].as_f64().unwrap_or(0.0) - expected).abs() < 1e-12);
    let from_count = check(
        &api,
        json!({"model": "gpt-4o", "input_tokens": 1_000_000.0, "max_output_tokens": 0}),
    )
    .await?;
    assert_eq!(from_count["estimate_usd"], 2.5);
    assert_eq!(
        from_count["budgets"],
        json!([]),
        "no session: no session budget applies"
    );
    Ok(())
}

#[tokio::test]
async fn bad_checks_are_refused_with_the_reason_and_no_budgets_allow_all() -> TestResult {
    let api = Api::start_with(|s| {
        s.set_configured_budgets(budgets())
            .expect("the projects' settings are read");
    })
    .await?;
    for (body, mention) in [
        (json!({"session": "s"}), "estimate_usd"),
        (json!({"estimate_usd": -1.0}), "estimate_usd"),
        (json!({"estimate_usd": 1.0, "prompt": "x"}), "not both"),
        (
            json!({"model": "no-such-model", "prompt": "x"}),
            "no price known for `model`",
        ),
        (
            json!({"model": "gpt-4o", "prompt": "x", "input_tokens": 3}),
            "one of them",
        ),
        (
            json!({"estimate_usd": 1.0, "span_id": "0000000000000000"}),
            "span_id",
        ),
        (
            json!({"estimate_usd": 1.0, "sesion": "typo"}),
            "unknown field",
        ),
    ] {
        let (status, answer) = api.post("/budgets/check", &body).await?;
        assert_eq!(status, 400, "{body}: {answer}");
        api.check(&answer, "Error")?;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(mention), "{body}: {message}");
    }
    let (status, answer) = api.get("/budgets/check").await?;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (405, &json!("method_not_allowed"))
    );

    let open = Api::start().await?;
    let answer = check(&open, json!({"session": "s", "estimate_usd": 1e6})).await?;
    assert_eq!(
        (answer["allowed"].clone(), answer["configured"].clone()),
        (json!(true), json!(false))
    );
    Ok(())
}
