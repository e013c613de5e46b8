//! The code checks: each passes or fails a subject, and says why.

use std::time::Duration;

use agentrace_core::{AnnotatorKind, Usd};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::judge::JudgeCheckSpec;
use crate::{EvaluateError, Evaluator, Outcome, Subject, Verdict};

/// Which text of the subject a check reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// What went in (the last user text, a tool's arguments).
    Input,
    /// What came out (the answer, a tool's result).
    #[default]
    Output,
}

/// How a length is counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthUnit {
    /// Characters.
    #[default]
    Chars,
    /// Words (runs of non-space).
    Words,
}

/// The phrases of a refusal when none are configured (matched ignoring case).
pub const REFUSAL_PHRASES: &[&str] = &[
    "i can't help with",
    "i cannot help with",
    "i can't assist",
    "i cannot assist",
    "i'm not able to help",
    "i am not able to help",
    "i'm unable to",
    "i am unable to",
    "i won't be able to",
    "i'm sorry, but i can't",
    "i am sorry, but i cannot",
    "as an ai language model",
];

/// A rule's check as configured (its `check` table, by its `type`): a code check, or the LLM
/// judge ([`crate::LlmJudge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum CheckSpec {
    /// An LLM judge's verdict.
    LlmJudge(JudgeCheckSpec),
    /// The text is JSON.
    JsonValid {
        /// Which text.
        #[serde(default)]
        field: Field,
    },
    /// The text is JSON valid against a JSON Schema.
    JsonSchema {
        /// The schema (any draft the `jsonschema` crate knows, 2020-12 by default).
        schema: Value,
        /// Which text.
        #[serde(default)]
        field: Field,
    },
    /// The text matches a regular expression (Rust's `regex` syntax).
    Regex {
        /// The expression.
        pattern: String,
        /// Which text.
        #[serde(default)]
        field: Field,
    },
    /// The text contains a text.
    Contains {
        /// What it must contain.
        text: String,
        /// Whether case counts (by default it does not).
        #[serde(default)]
        case_sensitive: bool,
        /// Which text.
        #[serde(default)]
        field: Field,
    },
    /// The text does not contain a text.
    NotContains {
        /// What it must not contain.
        text: String,
        /// Whether case counts (by default it does not).
        #[serde(default)]
        case_sensitive: bool,
        /// Which text.
        #[serde(default)]
        field: Field,
    },
    /// The text's length is within bounds.
    Length {
        /// At least this long.
        #[serde(
            default,
            deserialize_with = "agentrace_core::json_fields::whole_or_null"
        )]
        min: Option<u64>,
        /// At most this long.
        #[serde(
            default,
            deserialize_with = "agentrace_core::json_fields::whole_or_null"
        )]
        max: Option<u64>,
        /// Counted in characters or words.
        #[serde(default)]
        unit: LengthUnit,
        /// Which text.
        #[serde(default)]
        field: Field,
    },
    /// The span (or trace) took at most this long.
    Latency {
        /// The ceiling, e.g. `5s`.
        #[serde(with = "agentrace_core::serde_duration")]
        max: Duration,
    },
    /// It cost at most this much (unpriced: no score).
    Cost {
        /// The ceiling in US dollars.
        max_usd: f64,
    },
    /// None of its tool calls failed. (A struct variant, though it has no fields, so that a
    /// field given to it is refused as unknown, as for every other check.)
    ToolError {},
    /// The answer is not a refusal.
    Refusal {
        /// The phrases of a refusal, matched ignoring case (default [`REFUSAL_PHRASES`]).
        #[serde(default)]
        phrases: Option<Vec<String>>,
        /// Which text.
        #[serde(default)]
        field: Field,
    },
}

/// A check ready to run: its expression or schema compiled.
#[derive(Debug)]
pub struct CodeCheck {
    check: Compiled,
}

#[derive(Debug)]
enum Compiled {
    JsonValid(Field),
    JsonSchema(Box<jsonschema::Validator>, Field),
    Regex(regex::Regex, Field),
    Contains {
        text: String,
        case_sensitive: bool,
        present: bool,
        field: Field,
    },
    Length {
        min: Option<u64>,
        max: Option<u64>,
        unit: LengthUnit,
        field: Field,
    },
    Latency(Duration),
    Cost(Usd),
    ToolError,
    Refusal(Vec<String>, Field),
}

impl CodeCheck {
    /// Compiles `spec`.
    ///
    /// # Errors
    /// What is wrong with it: an expression or schema that does not compile, bounds that
    /// cannot hold, a ceiling that is not a finite, non-negative number; a judge, which is no
    /// code check.
    pub fn new(spec: &CheckSpec) -> Result<Self, String> {
        let check = match spec.clone() {
            CheckSpec::LlmJudge(_) => return Err("an llm_judge is not a code check".into()),
            CheckSpec::JsonValid { field } => Compiled::JsonValid(field),
            CheckSpec::JsonSchema { schema, field } => Compiled::JsonSchema(
                Box::new(
                    jsonschema::validator_for(&schema)
                        .map_err(|e| format!("the JSON Schema is not valid: {e}"))?,
                ),
                field,
            ),
            CheckSpec::Regex { pattern, field } => Compiled::Regex(
                regex::Regex::new(&pattern).map_err(|e| format!("pattern: {e}"))?,
                field,
            ),
            CheckSpec::Contains {
                text,
                case_sensitive,
                field,
            } => contains(text, case_sensitive, true, field)?,
            CheckSpec::NotContains {
                text,
                case_sensitive,
                field,
            } => contains(text, case_sensitive, false, field)?,
            CheckSpec::Length {
                min,
                max,
                unit,
                field,
            } => {
                if min.is_none() && max.is_none() {
                    return Err("a length check needs min, max or both".into());
                }
                if min.zip(max).is_some_and(|(lo, hi)| lo > hi) {
                    return Err("min is above max".into());
                }
                Compiled::Length {
                    min,
                    max,
                    unit,
                    field,
                }
            }
            CheckSpec::Latency { max } => Compiled::Latency(max),
            CheckSpec::Cost { max_usd } => {
                if !max_usd.is_finite() || max_usd < 0.0 {
                    return Err(format!(
                        "max_usd {max_usd} is not a finite, non-negative number"
                    ));
                }
                Compiled::Cost(Usd::from_dollars(max_usd))
            }
            CheckSpec::ToolError {} => Compiled::ToolError,
            CheckSpec::Refusal { phrases, field } => {
                let phrases: Vec<String> = match phrases {
                    Some(p) => p.iter().map(|p| p.to_lowercase()).collect(),
                    None => REFUSAL_PHRASES.iter().map(|p| (*p).to_owned()).collect(),
                };
                if phrases.iter().any(String::is_empty) || phrases.is_empty() {
                    return Err("refusal phrases must not be empty".into());
                }
                Compiled::Refusal(phrases, field)
            }
        };
        Ok(Self { check })
    }

    fn judge(&self, subject: &Subject) -> Result<Verdict, EvaluateError> {
        Ok(match &self.check {
            Compiled::JsonValid(field) => {
                let text = text(subject, *field)?;
                match serde_json::from_str::<Value>(text.trim()) {
                    Ok(_) => Verdict::check(true, "valid JSON"),
                    Err(e) => Verdict::check(false, format!("not JSON: {e}")),
                }
            }
            Compiled::JsonSchema(validator, field) => {
                let text = text(subject, *field)?;
                match serde_json::from_str::<Value>(text.trim()) {
                    Err(e) => Verdict::check(false, format!("not JSON: {e}")),
                    Ok(value) => {
                        let errors: Vec<String> = validator
                            .iter_errors(&value)
                            .take(3)
                            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
                            .collect();
                        if errors.is_empty() {
                            Verdict::check(true, "valid against the schema")
                        } else {
                            Verdict::check(false, format!("not valid: {}", errors.join("; ")))
                        }
                    }
                }
            }
            Compiled::Regex(regex, field) => {
                let matched = regex.is_match(text(subject, *field)?);
                let how = if matched { "matches" } else { "does not match" };
                Verdict::check(matched, format!("{how} /{}/", regex.as_str()))
            }
            Compiled::Contains {
                text: wanted,
                case_sensitive,
                present,
                field,
            } => {
                let text = text(subject, *field)?;
                let found = if *case_sensitive {
                    text.contains(wanted.as_str())
                } else {
                    text.to_lowercase().contains(wanted.as_str())
                };
                let how = if found {
                    "contains"
                } else {
                    "does not contain"
                };
                Verdict::check(found == *present, format!("{how} {wanted:?}"))
            }
            Compiled::Length {
                min,
                max,
                unit,
                field,
            } => {
                let text = text(subject, *field)?;
                let (n, what) = match unit {
                    LengthUnit::Chars => (text.chars().count() as u64, "characters"),
                    LengthUnit::Words => (text.split_whitespace().count() as u64, "words"),
                };
                let bounds = match (min, max) {
                    (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
                    (Some(lo), None) => format!("at least {lo}"),
                    (None, Some(hi)) => format!("at most {hi}"),
                    (None, None) => String::new(),
                };
                let within = min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi);
                Verdict::check(within, format!("{n} {what}, {bounds}"))
            }
            Compiled::Latency(max) => {
                let took = Duration::from_nanos(subject.duration_ns);
                Verdict::check(
                    took <= *max,
                    format!("took {}, at most {}", seconds(took), seconds(*max)),
                )
            }
            Compiled::Cost(max) => {
                let cost = subject
                    .cost
                    .ok_or_else(|| EvaluateError::NotApplicable("it was not priced".into()))?;
                Verdict::check(cost <= *max, format!("cost {cost}, at most {max}"))
            }
            Compiled::ToolError => {
                let failed = &subject.tool_failures;
                if failed.is_empty() {
                    Verdict::check(true, "no tool call failed")
                } else {
                    let list: Vec<String> = failed
                        .iter()
                        .take(5)
                        .map(|f| format!("{} ({})", f.tool, f.error))
                        .collect();
                    Verdict::check(
                        false,
                        format!("{} tool call(s) failed: {}", failed.len(), list.join(", ")),
                    )
                }
            }
            Compiled::Refusal(phrases, field) => {
                let text = text(subject, *field)?.to_lowercase();
                match phrases.iter().find(|p| text.contains(p.as_str())) {
                    Some(phrase) => Verdict::check(false, format!("refuses: says {phrase:?}")),
                    None => Verdict::check(true, "answers (no refusal phrase)"),
                }
            }
        })
    }
}

fn contains(
    text: String,
    case_sensitive: bool,
    present: bool,
    field: Field,
) -> Result<Compiled, String> {
    if text.is_empty() {
        return Err("the text to look for is empty".into());
    }
    let text = if case_sensitive {
        text
    } else {
        text.to_lowercase()
    };
    Ok(Compiled::Contains {
        text,
        case_sensitive,
        present,
        field,
    })
}

/// The subject's text a check reads, or why it has none.
fn text(subject: &Subject, field: Field) -> Result<&str, EvaluateError> {
    let (text, what) = match field {
        Field::Input => (&subject.input, "input"),
        Field::Output => (&subject.output, "output"),
    };
    text.as_deref().ok_or_else(|| {
        EvaluateError::NotApplicable(format!(
            "no {what} captured (content capture is off, or the instrumentation records none)"
        ))
    })
}

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

#[async_trait::async_trait]
impl Evaluator for CodeCheck {
    fn annotator(&self) -> AnnotatorKind {
        AnnotatorKind::Code
    }

    async fn evaluate(&self, subject: &Subject) -> Outcome {
        self.judge(subject).into()
    }
}

#[cfg(test)]
mod tests {
    use agentrace_core::testing::fixtures::llm_span;
    use agentrace_core::{SpanRecord, TraceId};

    use super::*;
    use crate::ToolFailure;

    fn answering(output: &str) -> Subject {
        let mut span: SpanRecord = llm_span(TraceId::from_bytes([1; 16]), None, 0);
        span.events.clear();
        span.attributes.insert(
            "gen_ai.output.messages",
            serde_json::json!([{"role": "assistant", "parts": [{"type": "text", "content": output}]}])
                .to_string(),
        );
        Subject::of_span(&span)
    }

    fn run(spec: CheckSpec, subject: &Subject) -> Result<Verdict, EvaluateError> {
        CodeCheck::new(&spec)
            .map_err(EvaluateError::Refused)?
            .judge(subject)
    }

    fn passes(spec: CheckSpec, output: &str) -> bool {
        run(spec, &answering(output)).is_ok_and(|v| v.passed())
    }

    #[test]
    fn a_length_bound_is_a_whole_number_as_json_schema_counts_one() {
        let read = |json: &str| serde_json::from_str::<CheckSpec>(json);
        let bounds = |spec: CheckSpec| match spec {
            CheckSpec::Length { min, max, .. } => (min, max),
            other => panic!("not a length check: {other:?}"),
        };
        let whole = read(r#"{"type": "length", "min": 2.0, "max": 2000}"#).expect("a check");
        assert_eq!(bounds(whole), (Some(2), Some(2000)));
        let null = read(r#"{"type": "length", "min": null, "max": 10}"#).expect("a check");
        assert_eq!(bounds(null), (None, Some(10)));
        for wrong in ["1.5", "-1", "\"3\""] {
            let json = format!(r#"{{"type": "length", "max": {wrong}}}"#);
            assert!(read(&json).is_err(), "{json}");
        }
    }

    #[test]
    fn each_check_passes_and_fails_with_its_reason() {
        let field = Field::Output;
        assert!(passes(CheckSpec::JsonValid { field }, r#" {"a": 1} "#));
        let not = run(CheckSpec::JsonValid { field }, &answering("{a: 1}"));
        assert!(
            not.as_ref()
                .is_ok_and(|v| !v.passed() && v.explanation.starts_with("not JSON"))
        );
        let schema = serde_json::json!({"type": "object", "required": ["answer"],
            "properties": {"answer": {"type": "string"}}});
        let spec = |schema: &Value| CheckSpec::JsonSchema {
            schema: schema.clone(),
            field,
        };
        assert!(passes(spec(&schema), r#"{"answer": "Paris"}"#));
        let wrong = run(spec(&schema), &answering(r#"{"answer": 7}"#)).expect("a verdict");
        assert!(
            !wrong.passed() && wrong.explanation.contains("/answer"),
            "{wrong:?}"
        );
        let pattern = |p: &str| CheckSpec::Regex {
            pattern: p.into(),
            field,
        };
        assert!(passes(pattern(r"\bParis\b"), "It is Paris."));
        assert!(!passes(pattern(r"^\d+$"), "It is Paris."));
        let has = |t: &str, cs| CheckSpec::Contains {
            text: t.into(),
            case_sensitive: cs,
            field,
        };
        assert!(passes(has("PARIS", false), "paris"));
        assert!(!passes(has("PARIS", true), "paris"));
        let lacks = CheckSpec::NotContains {
            text: "password".into(),
            case_sensitive: false,
            field,
        };
        assert!(!passes(lacks.clone(), "your Password is"));
        assert!(passes(lacks, "no secrets here"));
        let words = CheckSpec::Length {
            min: Some(2),
            max: Some(3),
            unit: LengthUnit::Words,
            field,
        };
        assert!(passes(words.clone(), "two words"));
        let long = run(words, &answering("one two three four")).expect("a verdict");
        assert_eq!(
            (long.passed(), long.explanation.as_str()),
            (false, "4 words, 2 to 3")
        );
        let refusal = CheckSpec::Refusal {
            phrases: None,
            field,
        };
        let refused = run(
            refusal.clone(),
            &answering("I'm sorry, but I can't do that."),
        );
        assert!(
            refused.is_ok_and(|v| !v.passed() && v.explanation.contains("i'm sorry, but i can't"))
        );
        assert!(passes(refusal, "Paris."));
    }

    #[test]
    fn latency_cost_and_tools_are_read_from_the_subject() {
        let mut subject = answering("x");
        subject.duration_ns = 2_500_000_000;
        let latency = |s: u64| CheckSpec::Latency {
            max: Duration::from_secs(s),
        };
        let slow = run(latency(2), &subject).expect("a verdict");
        assert_eq!(
            (slow.passed(), slow.explanation.as_str()),
            (false, "took 2.500 s, at most 2.000 s")
        );
        assert!(run(latency(3), &subject).is_ok_and(|v| v.passed()));
        subject.cost = Some(Usd::from_dollars(0.02));
        assert!(run(CheckSpec::Cost { max_usd: 0.01 }, &subject).is_ok_and(|v| !v.passed()));
        subject.cost = None;
        assert!(matches!(
            run(CheckSpec::Cost { max_usd: 0.01 }, &subject),
            Err(EvaluateError::NotApplicable(_))
        ));
        assert!(run(CheckSpec::ToolError {}, &subject).is_ok_and(|v| v.passed()));
        subject.tool_failures.push(ToolFailure {
            tool: "search".into(),
            error: "timeout".into(),
        });
        let failed = run(CheckSpec::ToolError {}, &subject).expect("a verdict");
        assert_eq!(
            failed.explanation,
            "1 tool call(s) failed: search (timeout)"
        );
        // A field it does not take is refused, as for every check (Schemathesis sent `max`).
        let read = |json: &str| serde_json::from_str::<CheckSpec>(json);
        assert_eq!(
            read(r#"{"type": "tool_error"}"#).ok(),
            Some(CheckSpec::ToolError {})
        );
        assert!(
            read(r#"{"type": "tool_error", "max": 2000}"#)
                .is_err_and(|e| e.to_string().contains("unknown field `max`"))
        );
        assert_eq!(
            serde_json::to_string(&CheckSpec::ToolError {})
                .ok()
                .as_deref(),
            Some(r#"{"type":"tool_error"}"#)
        );
    }

    #[test]
    fn without_the_text_a_check_gives_no_score_and_bad_specs_are_refused() {
        let mut subject = answering("x");
        subject.output = None;
        assert!(matches!(
            run(
                CheckSpec::JsonValid {
                    field: Field::Output
                },
                &subject
            ),
            Err(EvaluateError::NotApplicable(_))
        ));
        for bad in [
            CheckSpec::Regex {
                pattern: "(".into(),
                field: Field::Output,
            },
            CheckSpec::JsonSchema {
                schema: serde_json::json!({"type": 7}),
                field: Field::Output,
            },
            CheckSpec::Length {
                min: None,
                max: None,
                unit: LengthUnit::Chars,
                field: Field::Output,
            },
            CheckSpec::Length {
                min: Some(3),
                max: Some(2),
                unit: LengthUnit::Chars,
                field: Field::Output,
            },
            CheckSpec::Cost { max_usd: f64::NAN },
            CheckSpec::Contains {
                text: String::new(),
                case_sensitive: false,
                field: Field::Output,
            },
        ] {
            assert!(CodeCheck::new(&bad).is_err(), "{bad:?}");
        }
    }
}
