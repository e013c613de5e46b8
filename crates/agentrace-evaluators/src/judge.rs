//! The LLM judge: a prompt template filled with the subject, sent to any OpenAI-compatible
//! chat completions endpoint, and its structured answer read as a verdict.
//!
//! The judge is told to answer one JSON object, `{"score": <number from min to max>,
//! "label": "<a word>", "explanation": "<why>"}` (and asked for JSON mode). An answer that is
//! not that object, or whose score is missing, not a number or out of range, or whose
//! explanation is missing, is [`EvaluateError::Malformed`]: an evaluation error, never a
//! made-up score. A timeout, a 429 or a 5xx is [`EvaluateError::Unavailable`] (retryable);
//! another refusal [`EvaluateError::Refused`]. Every call is reported, whatever came of it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentrace_core::{AnnotatorKind, ScoreKind, TokenUsage};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{EvaluateError, Evaluator, ModelCall, Outcome, PlannedCall, Subject, Verdict};

/// The variables a prompt may name, as `{{name}}`.
pub const VARIABLES: &[&str] = &["input", "output", "metadata", "name", "kind", "error"];

/// An OpenAI-compatible endpoint that judges (a `[[judge]]` of the evaluators file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JudgeSpec {
    /// Its name, for rules to name it.
    pub name: String,
    /// The API's base URL, e.g. `https://api.openai.com/v1` (`/chat/completions` is added).
    pub endpoint: String,
    /// The model to ask.
    pub model: String,
    /// The provider, for prices (default `openai`).
    #[serde(default = "default_provider")]
    pub provider: String,
    /// The environment variable holding its API key (the key itself never sits in the file).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// How long a call may take (default 30 s).
    #[serde(default = "default_timeout", with = "agentrace_core::serde_duration")]
    pub timeout: Duration,
    /// The output tokens an answer may take (default 400).
    #[serde(default = "default_max_tokens")]
    pub max_output_tokens: u64,
    /// Its own budget: spend at most this many US dollars a day (none: no limit).
    #[serde(default)]
    pub daily_budget_usd: Option<f64>,
}

fn default_provider() -> String {
    "openai".into()
}

const fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

const fn default_max_tokens() -> u64 {
    400
}

/// A judge's client: where and how it asks.
#[derive(Debug, Clone)]
pub struct JudgeClient {
    spec: JudgeSpec,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl JudgeClient {
    /// A client of `spec`, its key read from its variable with `env`.
    ///
    /// # Errors
    /// The variable named is not set, or the HTTP client cannot be built.
    pub fn new(spec: JudgeSpec, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let api_key =
            match &spec.api_key_env {
                Some(var) => Some(env(var).ok_or_else(|| {
                    format!("judge {:?}: the variable {var} is not set", spec.name)
                })?),
                None => None,
            };
        if spec
            .daily_budget_usd
            .is_some_and(|b| !b.is_finite() || b < 0.0)
        {
            return Err(format!(
                "judge {:?}: daily_budget_usd must be a finite, non-negative number",
                spec.name
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(spec.timeout)
            .build()
            .map_err(|e| format!("judge {:?}: {e}", spec.name))?;
        Ok(Self {
            spec,
            api_key,
            http,
        })
    }

    /// What it was configured with.
    pub fn spec(&self) -> &JudgeSpec {
        &self.spec
    }
}

/// A judge's check as configured (the `check` table of a rule, `type = "llm_judge"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JudgeCheckSpec {
    /// The judge to ask (a `[[judge]]` by name).
    pub judge: String,
    /// The instructions, naming the subject's parts as `{{input}}`, `{{output}}`,
    /// `{{metadata}}` (its model, agent, service, … as JSON), `{{name}}`, `{{kind}}`,
    /// `{{error}}`.
    pub prompt: String,
    /// The lowest score (default 0).
    #[serde(default)]
    pub min: f64,
    /// The highest score (default 1).
    #[serde(default = "one")]
    pub max: f64,
}

const fn one() -> f64 {
    1.0
}

/// A prompt template, checked: text and the variables between it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    parts: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable(String),
}

impl Template {
    fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            parts.push(Piece::Text(rest[..open].to_owned()));
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or("a `{{` without its `}}` in the prompt")?;
            let name = after[..close].trim();
            if !VARIABLES.contains(&name) {
                return Err(format!(
                    "the prompt names {{{{{name}}}}}; the variables are {}",
                    VARIABLES.join(", ")
                ));
            }
            parts.push(Piece::Variable(name.to_owned()));
            rest = &after[close + 2..];
        }
        parts.push(Piece::Text(rest.to_owned()));
        if !parts.iter().any(|p| matches!(p, Piece::Variable(_))) {
            return Err("the prompt names none of the subject's parts (e.g. {{output}})".into());
        }
        Ok(Self { parts })
    }

    /// The prompt for `subject`, or why it has not what the template names.
    fn render(&self, subject: &Subject) -> Result<String, EvaluateError> {
        let mut out = String::new();
        for piece in &self.parts {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Variable(name) => out.push_str(&value(subject, name)?),
            }
        }
        Ok(out)
    }
}

fn value(subject: &Subject, name: &str) -> Result<String, EvaluateError> {
    let missing = |what: &str| {
        EvaluateError::NotApplicable(format!(
            "the prompt needs the {what}, and none was captured"
        ))
    };
    Ok(match name {
        "input" => subject.input.clone().ok_or_else(|| missing("input"))?,
        "output" => subject.output.clone().ok_or_else(|| missing("output"))?,
        "metadata" => Value::Object(subject.metadata.clone()).to_string(),
        "name" => subject.name.clone(),
        "kind" => subject.kind.to_string(),
        _ => subject.error.clone().unwrap_or_default(),
    })
}

/// The LLM judge of one rule: its template, range, and client.
#[derive(Debug)]
pub struct LlmJudge {
    client: JudgeClient,
    template: Template,
    min: f64,
    max: f64,
}

impl LlmJudge {
    /// A judge asking `client` with `spec`'s prompt.
    ///
    /// # Errors
    /// A prompt naming what a subject has not, or an empty or inverted range.
    pub fn new(client: JudgeClient, spec: &JudgeCheckSpec) -> Result<Self, String> {
        if !(spec.min.is_finite() && spec.max.is_finite() && spec.min < spec.max) {
            return Err(format!(
                "the score's range [{}, {}] is not a range",
                spec.min, spec.max
            ));
        }
        Ok(Self {
            client,
            template: Template::parse(&spec.prompt)?,
            min: spec.min,
            max: spec.max,
        })
    }

    fn system(&self) -> String {
        format!(
            "You are an evaluator. Judge what the instructions describe. Answer with one JSON \
             object and nothing else: {{\"score\": a number from {} to {}, \"label\": a one-word \
             verdict, \"explanation\": one or two sentences saying why}}.",
            self.min, self.max
        )
    }

    fn messages(&self, prompt: &str) -> Value {
        json!([
            {"role": "system", "content": self.system()},
            {"role": "user", "content": prompt},
        ])
    }

    /// Reads a judge's answer as a verdict.
    fn verdict(&self, answer: &str) -> Result<Verdict, EvaluateError> {
        let malformed = |why: &str| EvaluateError::Malformed {
            why: why.to_owned(),
            answer: answer.chars().take(1_000).collect(),
        };
        let trimmed = answer.trim();
        let body = trimmed
            .strip_prefix("```json")
            .or_else(|| trimmed.strip_prefix("```"))
            .and_then(|b| b.strip_suffix("```"))
            .unwrap_or(trimmed);
        let object: Map<String, Value> = match serde_json::from_str(body.trim()) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(malformed("not a JSON object")),
            Err(_) => return Err(malformed("not JSON")),
        };
        let score = match object.get("score") {
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| malformed("score is not a number"))?,
            Some(_) => return Err(malformed("score is not a number")),
            None => return Err(malformed("no score")),
        };
        if !(score.is_finite() && score >= self.min && score <= self.max) {
            return Err(malformed(&format!(
                "score {score} is outside [{}, {}]",
                self.min, self.max
            )));
        }
        let explanation = match object.get("explanation") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => return Err(malformed("no explanation")),
        };
        let label = match object.get("label") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(malformed("label is not text")),
        };
        Ok(Verdict {
            kind: ScoreKind::Numeric,
            value: score,
            label,
            explanation,
        })
    }

    /// One call: the answer's text and the call as made, or why there is none.
    async fn call(&self, prompt: &str) -> (Result<String, EvaluateError>, ModelCall) {
        let spec = &self.client.spec;
        let started = now();
        let mut call = ModelCall {
            provider: spec.provider.clone(),
            request_model: spec.model.clone(),
            response_model: None,
            response_id: None,
            usage: TokenUsage::default(),
            start_unix_nano: started,
            end_unix_nano: started,
            error: None,
        };
        let body = json!({
            "model": spec.model,
            "temperature": 0,
            "max_tokens": spec.max_output_tokens,
            "response_format": {"type": "json_object"},
            "messages": self.messages(prompt),
        });
        let url = format!("{}/chat/completions", spec.endpoint.trim_end_matches('/'));
        let mut request = self.client.http.post(&url).json(&body);
        if let Some(key) = &self.client.api_key {
            request = request.bearer_auth(key);
        }
        let answer = match request.send().await {
            Err(e) => Err(EvaluateError::Unavailable(format!("{url}: {e}"))),
            Ok(response) => {
                let status = response.status();
                match response.text().await {
                    Err(e) => Err(EvaluateError::Unavailable(format!("{url}: {e}"))),
                    Ok(text) if status.is_success() => read_answer(&text, &mut call),
                    Ok(text) => {
                        let said: String = text.chars().take(300).collect();
                        let why = format!("{url} answered {status}: {said}");
                        if status.as_u16() == 429 || status.is_server_error() {
                            Err(EvaluateError::Unavailable(why))
                        } else {
                            Err(EvaluateError::Refused(why))
                        }
                    }
                }
            }
        };
        call.end_unix_nano = now();
        if let Err(e) = &answer {
            call.error = Some(e.to_string());
        }
        (answer, call)
    }
}

/// The text of a chat completion, its usage, model and id noted in `call`.
fn read_answer(text: &str, call: &mut ModelCall) -> Result<String, EvaluateError> {
    let body: Value = serde_json::from_str(text).map_err(|_| {
        EvaluateError::Unavailable("the endpoint answered something that is not JSON".into())
    })?;
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    let usage = &body["usage"];
    call.usage = TokenUsage::new(
        count(&usage["prompt_tokens"]),
        count(&usage["completion_tokens"]),
    );
    call.usage.cache_read_tokens = count(&usage["prompt_tokens_details"]["cached_tokens"]);
    call.response_model = body["model"].as_str().map(str::to_owned);
    call.response_id = body["id"].as_str().map(str::to_owned);
    body["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| EvaluateError::Malformed {
            why: "the completion has no text".into(),
            answer: text.chars().take(1_000).collect(),
        })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[async_trait::async_trait]
impl Evaluator for LlmJudge {
    fn annotator(&self) -> AnnotatorKind {
        AnnotatorKind::Llm
    }

    fn plan(&self, subject: &Subject) -> Option<PlannedCall> {
        let prompt = self.template.render(subject).ok()?;
        Some(PlannedCall {
            provider: self.client.spec.provider.clone(),
            model: self.client.spec.model.clone(),
            prompt: format!("{}\n{prompt}", self.system()),
            max_output_tokens: self.client.spec.max_output_tokens,
        })
    }

    async fn evaluate(&self, subject: &Subject) -> Outcome {
        let prompt = match self.template.render(subject) {
            Ok(prompt) => prompt,
            Err(e) => return Err(e).into(),
        };
        let (answer, call) = self.call(&prompt).await;
        Outcome {
            verdict: answer.and_then(|text| self.verdict(&text)),
            calls: vec![call],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(min: f64, max: f64) -> Result<LlmJudge, String> {
        let spec: JudgeSpec = toml::from_str(
            r#"name = "j"
endpoint = "http://127.0.0.1:9/v1"
model = "gpt-4o-mini""#,
        )
        .map_err(|e| e.to_string())?;
        let client = JudgeClient::new(spec, &|_| None)?;
        LlmJudge::new(
            client,
            &JudgeCheckSpec {
                judge: "j".into(),
                prompt: "Is this helpful? {{ input }} -> {{output}}".into(),
                min,
                max,
            },
        )
    }

    #[test]
    fn answers_are_verdicts_or_malformed() -> Result<(), String> {
        let j = judge(0.0, 1.0)?;
        let good = j
            .verdict(
                "```json\n{\"score\": 0.8, \"label\": \"good\", \"explanation\": \"helps\"}\n```",
            )
            .map_err(|e| e.to_string())?;
        assert_eq!(
            (good.value, good.label.as_deref(), good.explanation.as_str()),
            (0.8, Some("good"), "helps")
        );
        for (answer, why) in [
            ("I think it is fine", "not JSON"),
            ("[0.8]", "not a JSON object"),
            (r#"{"explanation": "x"}"#, "no score"),
            (
                r#"{"score": "high", "explanation": "x"}"#,
                "score is not a number",
            ),
            (
                r#"{"score": 1.5, "explanation": "x"}"#,
                "score 1.5 is outside [0, 1]",
            ),
            (r#"{"score": 0.5}"#, "no explanation"),
            (
                r#"{"score": 0.5, "explanation": "x", "label": 3}"#,
                "label is not text",
            ),
        ] {
            match j.verdict(answer) {
                Err(EvaluateError::Malformed { why: got, .. }) => assert_eq!(got, why, "{answer}"),
                other => return Err(format!("{answer}: {other:?}")),
            }
        }
        Ok(())
    }

    #[test]
    fn templates_name_only_what_a_subject_has() {
        assert!(Template::parse("{{output}} and {{ metadata }}").is_ok());
        assert!(Template::parse("no variables").is_err());
        assert!(Template::parse("{{secret}}").is_err_and(|e| e.contains("secret")));
        assert!(Template::parse("{{output").is_err());
        assert!(judge(1.0, 1.0).is_err(), "an empty range");
        let spec: JudgeSpec = toml::from_str(
            "name = \"j\"\nendpoint = \"http://x\"\nmodel = \"m\"\napi_key_env = \"NO_SUCH_KEY\"",
        )
        .expect("a judge");
        assert!(JudgeClient::new(spec, &|_| None).is_err_and(|e| e.contains("NO_SUCH_KEY")));
    }
}
