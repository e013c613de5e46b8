//! The demo's evaluators, and the judge they ask: a built-in OpenAI-compatible endpoint on a
//! free loopback port, so that `serve --demo` shows scores from a code check and an LLM judge
//! in its first minute, with no key and no network.
//!
//! The judge answers as a real one would be asked to (`{"score", "label", "explanation"}`),
//! deterministically: each model has a typical quality, each answer a little more or less by
//! a hash of its text; one answer in twenty-five is malformed, so that evaluation errors show
//! too. It reports usage like OpenAI (a token a four characters), so the judge's spend is
//! priced as `gpt-4o-mini`'s.

use std::net::SocketAddr;

use agentrace_core::Score;
use agentrace_evaluators::{Evaluators, EvaluatorsConfig};
use axum::Json;
use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Each demo model's typical helpfulness, from 0 to 1.
const QUALITY: [(&str, f64); 6] = [
    ("claude-sonnet-4", 0.88),
    ("gpt-4o-mini", 0.72),
    ("gpt-4o", 0.85),
    ("gemini-2.5-flash", 0.76),
    ("mistral-large-latest", 0.74),
    ("deepseek-chat", 0.69),
];

/// The demo's evaluators file, its judge at `endpoint`.
fn config(endpoint: &str) -> Result<EvaluatorsConfig, toml::de::Error> {
    toml::from_str(&format!(
        r#"
[[judge]]
name = "demo-judge"
endpoint = "{endpoint}"
model = "gpt-4o-mini"
daily_budget_usd = 1.0

[[evaluator]]
name = "concise"
filter = {{ kind = "llm" }}
check = {{ type = "length", max = 180 }}

[[evaluator]]
name = "no_tool_errors"
target = "trace"
delay = "5s"
check = {{ type = "tool_error" }}

[[evaluator]]
name = "helpfulness"
filter = {{ kind = "llm" }}
sample = 0.5
check = {{ type = "llm_judge", judge = "demo-judge", prompt = """
The user asked: {{{{input}}}}
The assistant answered: {{{{output}}}}
(The call: {{{{metadata}}}})
How helpful is the answer, from 0 (useless) to 1 (exactly what was needed)?""" }}
"#
    ))
}

/// The demo's evaluators, asking the judge at `endpoint`.
///
/// # Errors
/// Never for the file written here (a test holds it).
pub(crate) fn evaluators(endpoint: &str) -> Result<Evaluators, String> {
    let config = config(endpoint).map_err(|e| e.to_string())?;
    Evaluators::new(config, &|_| None)
}

/// Serves the judge on a free loopback port until `stop`; its base URL.
///
/// # Errors
/// No port could be bound.
pub(crate) async fn serve(mut stop: watch::Receiver<bool>) -> std::io::Result<String> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/v1/chat/completions", post(complete));
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await;
    });
    Ok(format!("http://{addr}/v1"))
}

/// `POST /v1/chat/completions`: a verdict on the prompt's answer.
async fn complete(Json(request): Json<Value>) -> Json<Value> {
    let prompt: String = request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let content = verdict(&prompt);
    let tokens = |text: &str| text.len().div_ceil(4) as u64;
    let (input, output) = (tokens(&prompt), tokens(&content));
    Json(json!({
        "id": format!("chatcmpl-demo-{}", &Score::stable_id("", &[prompt.as_bytes()])[1..]),
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": input, "completion_tokens": output,
                  "total_tokens": input + output},
    }))
}

/// The judge's answer to `prompt`: a JSON verdict, or (one in twenty-five) prose.
fn verdict(prompt: &str) -> String {
    let hash = Score::stable_id("", &[prompt.as_bytes()]);
    let bits = u64::from_str_radix(&hash[1..], 16).unwrap_or(0);
    if bits.is_multiple_of(25) {
        return "I would say this answer is quite helpful overall, maybe an 8 out of 10.".into();
    }
    let base = QUALITY
        .iter()
        .find(|(model, _)| prompt.contains(&format!("\"model\":\"{model}")))
        .map_or(0.7, |(_, q)| *q);
    let noise = ((bits >> 8) % 31) as f64 / 100.0 - 0.15;
    let score = ((base + noise).clamp(0.0, 1.0) * 100.0).round() / 100.0;
    let (label, explanation) = if score >= 0.8 {
        ("helpful", "Answers the question directly and completely.")
    } else if score >= 0.6 {
        (
            "partly",
            "Answers the question, but leaves out details the user needs.",
        )
    } else {
        ("unhelpful", "Misses what the user asked for.")
    };
    json!({"score": score, "label": label, "explanation": explanation}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_file_loads_and_the_judge_answers_verdicts_and_sometimes_prose() {
        let evaluators = evaluators("http://127.0.0.1:9/v1").expect("the demo's evaluators");
        assert_eq!(evaluators.rules.len(), 3);
        let answers: Vec<String> = (0..500)
            .map(|i| verdict(&format!("prompt {i} \"model\":\"gpt-4o\"")))
            .collect();
        let malformed = answers
            .iter()
            .filter(|a| serde_json::from_str::<Value>(a).is_err())
            .count();
        assert!((5..40).contains(&malformed), "{malformed} of 500");
        let scores: Vec<f64> = answers
            .iter()
            .filter_map(|a| serde_json::from_str::<Value>(a).ok()?["score"].as_f64())
            .collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        assert!(
            (0.8..0.9).contains(&mean),
            "gpt-4o's typical quality: {mean}"
        );
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    }
}
