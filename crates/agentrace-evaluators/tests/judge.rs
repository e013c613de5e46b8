//! The LLM judge against a real HTTP endpoint (the fake OpenAI-compatible server): a good
//! answer is a verdict, a malformed one an evaluation error, a 429 retryable, a 401 not; every
//! call reported with its usage.

use agentrace_core::TraceId;
use agentrace_core::testing::fixtures::llm_span;
use agentrace_evaluators::{
    EvaluateError, Evaluator, Evaluators, EvaluatorsConfig, Outcome, Subject,
};
use agentrace_fake_openai::{FakeOpenAi, Reply, Usage};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn judge(fake: &FakeOpenAi) -> Result<std::sync::Arc<dyn Evaluator>, Box<dyn std::error::Error>> {
    let file = format!(
        r#"
[[judge]]
name = "mini"
endpoint = "{}"
model = "gpt-4o-mini"
api_key_env = "JUDGE_KEY"

[[evaluator]]
name = "helpfulness"
check = {{ type = "llm_judge", judge = "mini", prompt = "Question: {{{{input}}}}\nAnswer: {{{{output}}}}\nHow helpful?" }}
"#,
        fake.base_url()
    );
    let config: EvaluatorsConfig = toml::from_str(&file)?;
    let evaluators = Evaluators::new(config, &|var| {
        (var == "JUDGE_KEY").then(|| "sk-judge".into())
    })?;
    Ok(evaluators.rules[0].evaluator.clone())
}

fn subject() -> Subject {
    let mut span = llm_span(TraceId::from_bytes([4; 16]), None, 0);
    span.attributes.insert(
        "gen_ai.input.messages",
        r#"[{"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}]"#,
    );
    span.attributes.insert(
        "gen_ai.output.messages",
        r#"[{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}]}]"#,
    );
    Subject::of_span(&span)
}

#[tokio::test]
async fn the_judge_asks_and_reads_its_answer() -> TestResult {
    let fake = FakeOpenAi::start().await?;
    let judge = judge(&fake)?;
    fake.script([
        Reply::text(
            r#"{"score": 0.9, "label": "helpful", "explanation": "answers the question"}"#,
            Usage::new(120, 20),
        ),
        Reply::text("It is quite helpful, 9/10.", Usage::new(120, 9)),
        Reply::rate_limited(),
        Reply::error(401, "invalid_api_key", "bad key"),
    ]);
    let subject = subject();
    let planned = judge.plan(&subject).ok_or("a judge plans its call")?;
    assert!(planned.prompt.contains("Capital of France?") && planned.prompt.contains("Paris."));

    let Outcome { verdict, calls } = judge.evaluate(&subject).await;
    let verdict = verdict?;
    assert_eq!(
        (
            verdict.value,
            verdict.label.as_deref(),
            verdict.explanation.as_str()
        ),
        (0.9, Some("helpful"), "answers the question")
    );
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].usage.input_tokens, calls[0].usage.output_tokens),
        (120, 20)
    );
    assert_eq!(calls[0].request_model, "gpt-4o-mini");
    assert!(calls[0].error.is_none());
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    let body = &sent.body;
    assert_eq!(body["response_format"]["type"], "json_object");
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .is_some_and(|p| p.contains("Answer: Paris."))
    );

    let malformed = judge.evaluate(&subject).await;
    assert!(
        matches!(malformed.verdict, Err(EvaluateError::Malformed { .. })),
        "{malformed:?}"
    );
    assert_eq!(
        malformed.calls[0].usage.output_tokens, 9,
        "a malformed answer still cost"
    );
    let limited = judge.evaluate(&subject).await;
    assert!(
        limited
            .verdict
            .as_ref()
            .is_err_and(EvaluateError::is_retryable),
        "{limited:?}"
    );
    assert!(limited.calls[0].error.is_some());
    let refused = judge.evaluate(&subject).await;
    assert!(
        matches!(refused.verdict, Err(EvaluateError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(fake.request_count(), 4);

    // Without the text its prompt names, it asks nothing.
    let mut empty = subject.clone();
    empty.output = None;
    let outcome = judge.evaluate(&empty).await;
    assert!(matches!(
        outcome.verdict,
        Err(EvaluateError::NotApplicable(_))
    ));
    assert!(outcome.calls.is_empty() && judge.plan(&empty).is_none());
    assert_eq!(fake.request_count(), 4);
    fake.shutdown().await;
    Ok(())
}
