//! The OpenTelemetry GenAI event `gen_ai.evaluation.result`: an evaluation's outcome, sent
//! as a log record (its `event_name`) or as a span event, and the [`Score`] it makes.
//!
//! Its attributes: `gen_ai.evaluation.name` (required), `gen_ai.evaluation.score.value`,
//! `gen_ai.evaluation.score.label`, `gen_ai.evaluation.explanation`, `error.type` (the
//! evaluation failed: no score), and `gen_ai.response.id` (the response judged, naming the
//! span when the event has no parent). agentrace reads one more, `agentrace.evaluation.annotator_kind`
//! (`llm`, `code`, `human`; `code` when absent), since the convention does not say who judged.
//!
//! A score made from an event has a stable id ([`Evaluation::score`]): the same event sent
//! twice (an exporter's retry) is one score.
//!
//! ```
//! use agentrace_core::{Evaluation, ScoreTarget, SpanId, TraceId};
//!
//! let evaluation = Evaluation::new("relevance").value(0.9).explanation("on topic");
//! let target = ScoreTarget::Span {
//!     span_id: SpanId::random(),
//!     trace_id: Some(TraceId::random()),
//! };
//! let score = evaluation.score(target, 1_700_000_000_000_000_000, Some("my-evals"))?;
//! assert_eq!(score.value, Some(0.9));
//! // And back: the attributes of the event (what `agentrace::evaluation` records).
//! let attributes = evaluation.attributes();
//! assert_eq!(Evaluation::from_attributes(&attributes)?, evaluation);
//! # Ok::<(), agentrace_core::EvaluationError>(())
//! ```

use crate::model::{AttributeValue, Attributes};
use crate::semconv::{agentrace, gen_ai};

use super::{AnnotatorKind, InvalidScore, Score, ScoreSource, ScoreTarget, ScoreValue};

/// One `gen_ai.evaluation.result`: what was evaluated, and how it came out.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Evaluation {
    /// What was evaluated, e.g. `relevance` (`gen_ai.evaluation.name`).
    pub name: String,
    /// The score (`gen_ai.evaluation.score.value`).
    pub value: Option<f64>,
    /// Its label, e.g. `pass` (`gen_ai.evaluation.score.label`).
    pub label: Option<String>,
    /// Why (`gen_ai.evaluation.explanation`).
    pub explanation: Option<String>,
    /// The evaluation failed, and how (`error.type`): no score.
    pub error_type: Option<String>,
    /// The response judged (`gen_ai.response.id`).
    pub response_id: Option<String>,
    /// Who judged (`agentrace.evaluation.annotator_kind`).
    pub annotator: AnnotatorKind,
}

/// An evaluation result that makes no score.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluationError {
    /// Without `gen_ai.evaluation.name`.
    #[error("a gen_ai.evaluation.result needs gen_ai.evaluation.name")]
    NoName,
    /// The evaluation failed (`error.type`).
    #[error("the evaluation {name:?} failed: {error_type}")]
    Failed {
        /// The evaluation.
        name: String,
        /// How.
        error_type: String,
    },
    /// What it gives is not a score (no value or label, text too long, …).
    #[error("the evaluation {name:?}: {source}")]
    Invalid {
        /// The evaluation.
        name: String,
        /// Why.
        source: InvalidScore,
    },
    /// An attribute of another type than the convention's, e.g. a score value that is text.
    #[error("{0}: not of the convention's type")]
    WrongType(&'static str),
}

impl Evaluation {
    /// The event's name.
    pub const EVENT: &str = gen_ai::EVALUATION_RESULT;

    /// An evaluation named `name`, by code, with nothing else yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: None,
            label: None,
            explanation: None,
            error_type: None,
            response_id: None,
            annotator: AnnotatorKind::Code,
        }
    }

    /// With a score value.
    #[must_use]
    pub fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// With a label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// With an explanation.
    #[must_use]
    pub fn explanation(mut self, explanation: impl Into<String>) -> Self {
        self.explanation = Some(explanation.into());
        self
    }

    /// Failed, of `error_type`.
    #[must_use]
    pub fn failed(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = Some(error_type.into());
        self
    }

    /// Judging the response `id`.
    #[must_use]
    pub fn response_id(mut self, id: impl Into<String>) -> Self {
        self.response_id = Some(id.into());
        self
    }

    /// Judged by `annotator`.
    #[must_use]
    pub fn annotator(mut self, annotator: AnnotatorKind) -> Self {
        self.annotator = annotator;
        self
    }

    /// Reads an event's attributes.
    ///
    /// # Errors
    /// [`EvaluationError::NoName`] without a name, [`EvaluationError::WrongType`] for an
    /// attribute of another type (a number given as an integer is taken).
    pub fn from_attributes(attributes: &Attributes) -> Result<Self, EvaluationError> {
        let text = |key: &'static str| match attributes.get(key) {
            None => Ok(None),
            Some(AttributeValue::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(EvaluationError::WrongType(key)),
        };
        let name = text(gen_ai::EVALUATION_NAME)?.ok_or(EvaluationError::NoName)?;
        let value = match attributes.get(gen_ai::EVALUATION_SCORE_VALUE) {
            None => None,
            Some(v) => Some(
                v.as_f64()
                    .ok_or(EvaluationError::WrongType(gen_ai::EVALUATION_SCORE_VALUE))?,
            ),
        };
        let annotator = match text(agentrace::EVALUATION_ANNOTATOR_KIND)? {
            None => AnnotatorKind::Code,
            Some(kind) => kind
                .parse()
                .map_err(|_| EvaluationError::WrongType(agentrace::EVALUATION_ANNOTATOR_KIND))?,
        };
        Ok(Self {
            name,
            value,
            label: text(gen_ai::EVALUATION_SCORE_LABEL)?,
            explanation: text(gen_ai::EVALUATION_EXPLANATION)?,
            error_type: text(gen_ai::ERROR_TYPE)?,
            response_id: text(gen_ai::RESPONSE_ID)?,
            annotator,
        })
    }

    /// The event's attributes (the inverse of [`from_attributes`](Self::from_attributes)).
    pub fn attributes(&self) -> Attributes {
        let mut out = Attributes::new();
        out.insert(gen_ai::EVALUATION_NAME, self.name.as_str());
        if let Some(v) = self.value {
            out.insert(gen_ai::EVALUATION_SCORE_VALUE, v);
        }
        for (key, text) in [
            (gen_ai::EVALUATION_SCORE_LABEL, &self.label),
            (gen_ai::EVALUATION_EXPLANATION, &self.explanation),
            (gen_ai::ERROR_TYPE, &self.error_type),
            (gen_ai::RESPONSE_ID, &self.response_id),
        ] {
            if let Some(text) = text {
                out.insert(key, text.as_str());
            }
        }
        if self.annotator != AnnotatorKind::Code {
            out.insert(
                agentrace::EVALUATION_ANNOTATOR_KIND,
                self.annotator.as_str(),
            );
        }
        out
    }

    /// The score of `target` this evaluation gives, at `time_unix_nano`, by `author` (the
    /// evaluator's name: the instrumentation scope, if any). Its source is
    /// [`ScoreSource::Eval`]; its id is stable (a hash of the target, name and time), so the
    /// same event received twice is one score.
    ///
    /// # Errors
    /// [`EvaluationError::Failed`] for a failed evaluation, [`EvaluationError::Invalid`] when
    /// what it gives makes no score.
    pub fn score(
        &self,
        target: ScoreTarget,
        time_unix_nano: u64,
        author: Option<&str>,
    ) -> Result<Score, EvaluationError> {
        if let Some(error_type) = &self.error_type {
            return Err(EvaluationError::Failed {
                name: self.name.clone(),
                error_type: error_type.clone(),
            });
        }
        let invalid = |source| EvaluationError::Invalid {
            name: self.name.clone(),
            source,
        };
        let value = ScoreValue {
            kind: None,
            value: self.value,
            label: self.label.clone(),
        };
        let mut score = Score::new(target, self.name.clone(), value).map_err(invalid)?;
        score.explanation.clone_from(&self.explanation);
        score.source = ScoreSource::Eval;
        score.annotator = self.annotator;
        score.author = author.map(str::to_owned);
        score.time_unix_nano = time_unix_nano;
        if let Some(id) = &self.response_id {
            score
                .metadata
                .insert(gen_ai::RESPONSE_ID.to_owned(), id.clone().into());
        }
        score.id = Some(stable_id(&score));
        score.check().map_err(invalid)?;
        Ok(score)
    }
}

/// `eval-` and 16 hex digits ([`Score::stable_id`]) of the target, name and time.
fn stable_id(score: &Score) -> String {
    Score::stable_id(
        "eval",
        &[
            score.target.key().as_bytes(),
            score.name.as_bytes(),
            &score.time_unix_nano.to_le_bytes(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ScoreKind, SpanId, TraceId};

    fn span() -> ScoreTarget {
        ScoreTarget::Span {
            span_id: SpanId::from_bytes([1; 8]),
            trace_id: Some(TraceId::from_bytes([2; 16])),
        }
    }

    #[test]
    fn a_result_makes_a_score_of_its_target_by_an_evaluation() -> Result<(), EvaluationError> {
        let mut attributes = Attributes::new();
        attributes.insert(gen_ai::EVALUATION_NAME, "relevance");
        attributes.insert(gen_ai::EVALUATION_SCORE_VALUE, 1_i64);
        attributes.insert(gen_ai::EVALUATION_SCORE_LABEL, "pass");
        attributes.insert(gen_ai::EVALUATION_EXPLANATION, "on topic");
        attributes.insert(agentrace::EVALUATION_ANNOTATOR_KIND, "llm");
        let evaluation = Evaluation::from_attributes(&attributes)?;
        let score = evaluation.score(span(), 5, Some("deepeval"))?;
        assert_eq!(
            (score.kind, score.value, score.label.as_deref()),
            (ScoreKind::Numeric, Some(1.0), Some("pass"))
        );
        assert_eq!(score.explanation.as_deref(), Some("on topic"));
        assert_eq!(
            (score.source, score.annotator, score.author.as_deref()),
            (ScoreSource::Eval, AnnotatorKind::Llm, Some("deepeval"))
        );
        assert_eq!(score.time_unix_nano, 5);
        let again = evaluation.score(span(), 5, None)?;
        assert_eq!(again.id, score.id, "the same event is the same score");
        assert_eq!(score.id.as_deref(), Some(stable_id(&score).as_str()));
        let later = evaluation.score(span(), 6, None)?;
        assert_ne!(later.id, score.id);
        Ok(())
    }

    #[test]
    fn results_that_make_no_score_say_why() {
        let failed = Evaluation::new("faithfulness").failed("timeout");
        assert_eq!(
            failed.score(span(), 1, None).map_err(|e| e.to_string()),
            Err("the evaluation \"faithfulness\" failed: timeout".to_owned())
        );
        let empty = Evaluation::new("faithfulness");
        assert!(matches!(
            empty.score(span(), 1, None),
            Err(EvaluationError::Invalid {
                source: InvalidScore::NoValue,
                ..
            })
        ));
        assert_eq!(
            Evaluation::from_attributes(&Attributes::new()),
            Err(EvaluationError::NoName)
        );
        let mut text_value = Evaluation::new("x").attributes();
        text_value.insert(gen_ai::EVALUATION_SCORE_VALUE, "high");
        assert_eq!(
            Evaluation::from_attributes(&text_value),
            Err(EvaluationError::WrongType(gen_ai::EVALUATION_SCORE_VALUE))
        );
    }

    #[test]
    fn attributes_round_trip() -> Result<(), EvaluationError> {
        let full = Evaluation::new("tone")
            .label("polite")
            .explanation("says please")
            .response_id("chatcmpl-1")
            .annotator(AnnotatorKind::Human);
        assert_eq!(Evaluation::from_attributes(&full.attributes())?, full);
        let failed = Evaluation::new("tone").failed("judge_unreachable");
        assert_eq!(Evaluation::from_attributes(&failed.attributes())?, failed);
        Ok(())
    }
}
