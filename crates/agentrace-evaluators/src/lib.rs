//! # agentrace-evaluators
//!
//! Evaluators give a span or a trace a score with its reason: code checks (valid JSON, a JSON
//! Schema, a regular expression, contains / does not contain, length, latency and cost
//! ceilings, failed tool calls, refusal phrases) and an LLM judge on any OpenAI-compatible
//! endpoint (a prompt template filled with the subject, a structured answer read as a score
//! and an explanation; a malformed answer an evaluation error, never a made-up score). The
//! evaluators file ([`Evaluators::load`]) names the judges and the rules that say what each
//! evaluator judges: which spans or traces, a deterministic sample, a delay.
//!
//! This crate judges; it stores nothing and queues nothing. `agentrace serve` runs the rules
//! on what it receives (a bounded queue, retries, the judge's calls traced, priced and held to
//! its budget, scores stored: docs/scores.md); an agent can run an evaluator on its own spans.
//! It depends on `agentrace-core` only.
//!
//! | piece | what |
//! |---|---|
//! | [`Subject`] | what is judged: a span, or a trace (its root's content, its totals) |
//! | [`Evaluator`] | the trait every check and judge implements; [`Outcome`], [`Verdict`], [`EvaluateError`] |
//! | [`CodeCheck`], [`CheckSpec`] | the code checks, as configured and compiled |
//! | [`LlmJudge`], [`JudgeSpec`], [`JudgeClient`] | the judge and its endpoint |
//! | [`Evaluators`], [`Rule`], [`RuleSpec`] | the evaluators file: judges and rules |
//!
//! ## Example
//!
//! ```
//! use agentrace_core::testing::fixtures::llm_span;
//! use agentrace_core::TraceId;
//! use agentrace_evaluators::{CheckSpec, CodeCheck, Evaluator, Field, Subject};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut span = llm_span(TraceId::random(), None, 0);
//! span.attributes.insert(
//!     "gen_ai.output.messages",
//!     r#"[{"role": "assistant", "parts": [{"type": "text", "content": "{\"city\": \"Paris\"}"}]}]"#,
//! );
//! let check = CodeCheck::new(&CheckSpec::JsonValid { field: Field::Output })?;
//! let subject = Subject::of_span(&span);
//! let verdict = check.evaluate(&subject).await.verdict?;
//! assert!(verdict.passed());
//! let score = verdict.score(&subject, "answer_is_json", "answer_is_json",
//!     check.annotator(), 1_700_000_000_000_000_000)?;
//! assert_eq!(score.value, Some(1.0));
//! # Ok(())
//! # }
//! ```

mod code;
mod evaluator;
mod judge;
mod rules;
mod subject;

pub use async_trait::async_trait;
pub use code::{CheckSpec, CodeCheck, Field, LengthUnit, REFUSAL_PHRASES};
pub use evaluator::{EvaluateError, Evaluator, ModelCall, Outcome, PlannedCall, Verdict};
pub use judge::{JudgeCheckSpec, JudgeClient, JudgeSpec, LlmJudge, VARIABLES};
pub use rules::{
    Evaluators, EvaluatorsConfig, JUDGE_SERVICE, LoadEvaluatorsError, Rule, RuleSpec, SpanMatch,
    TargetKind, sampled,
};
pub use subject::{Subject, ToolFailure};
