//! The [`Evaluator`] trait: what every check and judge is, and what it gives back.

use std::fmt::Debug;

use agentrace_core::{AnnotatorKind, Score, ScoreKind, ScoreSource, ScoreValue, TokenUsage};

use crate::Subject;

/// How a subject came out: a score's value, label and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The kind of score it makes: boolean for a check (1: passed), numeric for a judge.
    pub kind: ScoreKind,
    /// The number.
    pub value: f64,
    /// A label, if the evaluator gives one (a boolean's is `true` or `false`).
    pub label: Option<String>,
    /// Why: what the check found, what the judge said.
    pub explanation: String,
}

impl Verdict {
    /// A check that passed (`true`) or failed, and why.
    pub fn check(passed: bool, explanation: impl Into<String>) -> Self {
        Self {
            kind: ScoreKind::Boolean,
            value: if passed { 1.0 } else { 0.0 },
            label: None,
            explanation: explanation.into(),
        }
    }

    /// Whether a check passed (a numeric verdict: whether its value is positive).
    pub fn passed(&self) -> bool {
        self.value > 0.0
    }

    /// The score of `subject` this verdict gives, named `name`, by the evaluator `author`
    /// (its annotator `annotator`), at `time_unix_nano`. Its id is made from the name and
    /// the target ([`Score::stable_id`]): judging the same subject again replaces it.
    ///
    /// # Errors
    /// What makes it no score (a name too long, …).
    pub fn score(
        &self,
        subject: &Subject,
        name: &str,
        author: &str,
        annotator: AnnotatorKind,
        time_unix_nano: u64,
    ) -> Result<Score, agentrace_core::InvalidScore> {
        let mut score = Score::new(
            subject.target.clone(),
            name,
            ScoreValue {
                kind: Some(self.kind),
                value: Some(self.value),
                label: self.label.clone(),
            },
        )?;
        score.explanation = Some(self.explanation.clone());
        score.source = ScoreSource::Eval;
        score.annotator = annotator;
        score.author = Some(author.to_owned());
        score.time_unix_nano = time_unix_nano;
        score.id = Some(Score::stable_id(
            "online",
            &[name.as_bytes(), subject.target.key().as_bytes()],
        ));
        score.check()?;
        Ok(score)
    }
}

/// A model call an evaluator made (an LLM judge's), whatever came of it: the caller traces
/// it, prices it and counts it against the judge's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall {
    /// The provider, e.g. `openai`.
    pub provider: String,
    /// The model asked for.
    pub request_model: String,
    /// The model that answered, if it said.
    pub response_model: Option<String>,
    /// The response's id, if it said.
    pub response_id: Option<String>,
    /// The tokens it used, as the answer reported them.
    pub usage: TokenUsage,
    /// When it started and ended.
    pub start_unix_nano: u64,
    /// When it ended.
    pub end_unix_nano: u64,
    /// Why it failed, if it did (no answer, an error status).
    pub error: Option<String>,
}

/// A model call an evaluator is about to make, for budgets to admit first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    /// The provider.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Everything it will send, for an estimate of its input tokens.
    pub prompt: String,
    /// The output tokens it allows itself at most.
    pub max_output_tokens: u64,
}

/// Why an evaluation gave no verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluateError {
    /// The subject lacks what the evaluator reads (no output captured, no cost): no score,
    /// and nothing went wrong.
    #[error("not applicable: {0}")]
    NotApplicable(String),
    /// The judge answered something that is not a verdict: an evaluation error, never a
    /// made-up score.
    #[error("malformed answer from the judge: {why} (answer: {answer:?})")]
    Malformed {
        /// Why it is no verdict.
        why: String,
        /// What it answered (cut to 1,000 characters).
        answer: String,
    },
    /// The judge could not be reached or refused for now (a timeout, 429, 5xx): trying
    /// again may succeed.
    #[error("the judge is unavailable: {0}")]
    Unavailable(String),
    /// The judge refused the request for good (401, 404, 400): trying again will not help.
    #[error("the judge refused: {0}")]
    Refused(String),
}

impl EvaluateError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The `error.type` an evaluation error is recorded with.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::NotApplicable(_) => "not_applicable",
            Self::Malformed { .. } => "malformed_answer",
            Self::Unavailable(_) => "judge_unavailable",
            Self::Refused(_) => "judge_refused",
        }
    }
}

/// What an evaluation came to: a verdict or why not, and the model calls it made on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The verdict, or why there is none.
    pub verdict: Result<Verdict, EvaluateError>,
    /// The model calls made (none for a code check).
    pub calls: Vec<ModelCall>,
}

impl From<Result<Verdict, EvaluateError>> for Outcome {
    fn from(verdict: Result<Verdict, EvaluateError>) -> Self {
        Self {
            verdict,
            calls: Vec::new(),
        }
    }
}

/// Something that judges a [`Subject`]: a code check, an LLM judge, your own.
///
/// A new evaluator implements [`evaluate`](Self::evaluate) (it must not panic on any
/// subject: telemetry is attacker-controlled text) and says who judges
/// ([`annotator`](Self::annotator)). One that calls a model says what it will call first
/// ([`plan`](Self::plan)), so that the caller can hold the call to a budget, and reports every
/// call it made in its [`Outcome`], failed ones too, so that its spend is traced and counted.
/// The caller retries an outcome whose error [is retryable](EvaluateError::is_retryable).
///
/// ```
/// use agentrace_core::AnnotatorKind;
/// use agentrace_evaluators::{EvaluateError, Evaluator, Outcome, Subject, Verdict};
///
/// /// Passes answers that mention a source.
/// #[derive(Debug)]
/// struct CitesASource;
///
/// #[agentrace_evaluators::async_trait]
/// impl Evaluator for CitesASource {
///     fn annotator(&self) -> AnnotatorKind {
///         AnnotatorKind::Code
///     }
///
///     async fn evaluate(&self, subject: &Subject) -> Outcome {
///         let Some(output) = &subject.output else {
///             return Err(EvaluateError::NotApplicable("no output captured".into())).into();
///         };
///         let cites = output.contains("http");
///         Ok(Verdict::check(cites, if cites { "links a source" } else { "no link" })).into()
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Evaluator: Send + Sync + Debug {
    /// Who gives its verdicts: `code` for a check, `llm` for a judge.
    fn annotator(&self) -> AnnotatorKind;

    /// The model call it will make for `subject`, if any.
    fn plan(&self, _subject: &Subject) -> Option<PlannedCall> {
        None
    }

    /// Judges `subject`.
    async fn evaluate(&self, subject: &Subject) -> Outcome;
}
