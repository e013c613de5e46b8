//! Scores: how well a trace, a span or a session went — a user's thumbs, a reviewer's mark, a
//! code check, an LLM judge's verdict — and the configurations that say what a score named
//! so may be.
//!
//! A [`Score`] is checked whole when it is made (from JSON or by [`Score::new`]): exactly
//! one target, a value or label fitting its [`ScoreKind`], bounded text. A
//! [`ScoreConfig`] then checks the scores of its name ([`ScoreConfig::check`]): the kind, the
//! numeric range, the categories. Nothing is clamped or guessed: what does not fit is an
//! [`InvalidScore`] that says why.
//!
//! ```
//! use agentrace_core::{Score, ScoreConfig, ScoreKind};
//!
//! let score: Score = serde_json::from_str(
//!     r#"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "name": "helpfulness", "value": 0.8,
//!         "annotator_kind": "llm", "source": "eval", "explanation": "answers the question"}"#,
//! )?;
//! assert_eq!(score.kind, ScoreKind::Numeric);
//! let config = ScoreConfig::numeric("helpfulness", Some(0.0), Some(1.0))?;
//! config.check(&score)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SpanId, TraceId};

mod config;
mod evaluation;
mod json;

pub use config::{InvalidScoreConfig, LoadScoreConfigsError, ScoreConfig, ScoreConfigs};
pub use evaluation::{Evaluation, EvaluationError};

/// What a score is about: exactly one trace, span or session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScoreTarget {
    /// A whole trace.
    Trace(TraceId),
    /// One span, with its trace when the writer names it (Phoenix's span annotations name
    /// the span alone).
    Span {
        /// The span.
        span_id: SpanId,
        /// Its trace, if named.
        trace_id: Option<TraceId>,
    },
    /// A session: a conversation's traces.
    Session(String),
}

impl ScoreTarget {
    /// The target as text, the same on every machine and version (for ids made from it,
    /// [`Score::stable_id`]): `t` and the trace id, `s` and the span id (and its trace's
    /// when named), `c` and the session id.
    pub fn key(&self) -> String {
        match self {
            Self::Trace(t) => format!("t{t}"),
            Self::Span { span_id, trace_id } => {
                format!(
                    "s{span_id}{}",
                    trace_id.map(|t| t.to_string()).unwrap_or_default()
                )
            }
            Self::Session(s) => format!("c{s}"),
        }
    }
}

/// A field's value that names none of its kind, e.g. a `source` of `robot`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {given:?} is not one of {expected}")]
pub struct UnknownName {
    /// The field.
    pub field: &'static str,
    /// What was given.
    pub given: String,
    /// The names it takes.
    pub expected: &'static str,
}

/// An enum of a score's field with its names (snake case, as in JSON) both ways.
macro_rules! named {
    ($(#[$doc:meta])* $name:ident ($field:literal) $([$($derive:ident),*])? { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize $($(, $derive)*)?)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Its name, as in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownName {
                        field: $field,
                        given: text.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

named! {
    /// What a score's value is.
    ScoreKind ("data_type") {
        /// A number (`value`), e.g. 0.8 helpfulness; `label` may name it.
        Numeric = "numeric",
        /// One of a set of labels (`label`), e.g. `correct`; `value` may rank it.
        Categorical = "categorical",
        /// True or false: `value` 1 or 0, `label` `true` or `false` (either gives the other).
        Boolean = "boolean",
        /// Free text (`label`), e.g. a reviewer's correction.
        Text = "text",
    }
}

named! {
    /// How a score came in.
    ScoreSource ("source") [Default] {
        /// Written through the API or a client library (the default).
        #[default]
        Api = "api",
        /// A person annotated it in the dashboard (or Phoenix's annotation endpoints).
        Annotation = "annotation",
        /// An evaluation produced it: an online evaluator, or a `gen_ai.evaluation.result`
        /// event.
        Eval = "eval",
    }
}

named! {
    /// Who or what gave a score.
    AnnotatorKind ("annotator_kind") [Default] {
        /// A person (the default).
        #[default]
        Human = "human",
        /// An LLM judge.
        Llm = "llm",
        /// Code: a check, a heuristic.
        Code = "code",
    }
}

/// One score of a trace, span or session. Made whole by [`Score::new`] or from JSON (its
/// fields flat: `trace_id`, `span_id`, `session_id` for the target; `data_type` for the
/// kind, else taken from the value: a boolean, a number, or a label alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "json::ScoreJson", into = "json::ScoreJson")]
#[non_exhaustive]
pub struct Score {
    /// The idempotency key: a second score with the same key replaces the first.
    pub id: Option<String>,
    /// What is scored.
    pub target: ScoreTarget,
    /// What is measured, e.g. `helpfulness`.
    pub name: String,
    /// What the value is.
    pub kind: ScoreKind,
    /// The number (numeric; 1 or 0 for boolean; optional for categorical).
    pub value: Option<f64>,
    /// The label (categorical, boolean, the text of a text score; optional for numeric).
    pub label: Option<String>,
    /// Why: the judge's reasoning, the reviewer's comment.
    pub explanation: Option<String>,
    /// How it came in.
    pub source: ScoreSource,
    /// Who or what gave it.
    pub annotator: AnnotatorKind,
    /// Who, by name (a reviewer, an evaluator, a judge model).
    pub author: Option<String>,
    /// Anything else, a JSON object.
    pub metadata: Map<String, Value>,
    /// When it was given (on arrival if not said).
    pub time_unix_nano: u64,
}

/// What a score gives: a number, a label, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreValue {
    /// The kind, if said; else taken from what is given.
    pub kind: Option<ScoreKind>,
    /// The number.
    pub value: Option<f64>,
    /// The label or text.
    pub label: Option<String>,
}

impl Score {
    /// The longest name, author, idempotency key or session id, in characters.
    pub const MAX_NAME_CHARS: usize = 256;
    /// The longest label of a categorical or boolean score, in characters.
    pub const MAX_LABEL_CHARS: usize = 1_000;
    /// The longest text of a text score, or explanation, in characters.
    pub const MAX_TEXT_CHARS: usize = 10_000;
    /// The largest metadata, as JSON, in bytes.
    pub const MAX_METADATA_BYTES: usize = 16 << 10;

    /// A score of `target` named `name` giving `value`, from the API by a person, now; the
    /// other fields empty (set them, then [`check`](Self::check) again if they came from
    /// outside).
    ///
    /// # Errors
    /// [`InvalidScore`] when the name, target or value do not make a score.
    pub fn new(
        target: ScoreTarget,
        name: impl Into<String>,
        value: ScoreValue,
    ) -> Result<Self, InvalidScore> {
        let (kind, value, label) = resolve(value)?;
        let score = Self {
            id: None,
            target,
            name: name.into(),
            kind,
            value,
            label,
            explanation: None,
            source: ScoreSource::default(),
            annotator: AnnotatorKind::default(),
            author: None,
            metadata: Map::new(),
            time_unix_nano: crate::now_unix_nano(),
        };
        score.check()?;
        Ok(score)
    }

    /// An id made of `parts`, the same on every machine and version: `prefix`, `-` and 16
    /// hex digits (FNV-1a, 64 bits, of the parts, each ended by a 0xff byte). For scores whose
    /// sender's own identity (an event, an annotation's name, target and identifier) must give
    /// the same score when sent again.
    pub fn stable_id(prefix: &str, parts: &[&[u8]]) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for &byte in part.iter().chain(&[0xff]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("{prefix}-{hash:016x}")
    }

    /// Checks the whole score: a name, a target with valid ids, a value fitting its kind,
    /// text within bounds, metadata within [`Self::MAX_METADATA_BYTES`].
    ///
    /// # Errors
    /// The first [`InvalidScore`] found.
    pub fn check(&self) -> Result<(), InvalidScore> {
        // Blank: nothing but spaces, tabs and line breaks (as the API's document says).
        if self
            .name
            .chars()
            .all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            return Err(InvalidScore::EmptyName);
        }
        if self.id.as_deref() == Some("") {
            return Err(InvalidScore::EmptyId);
        }
        bounded("name", Some(&self.name), Score::MAX_NAME_CHARS)?;
        bounded("id", self.id.as_deref(), Score::MAX_NAME_CHARS)?;
        bounded("author", self.author.as_deref(), Score::MAX_NAME_CHARS)?;
        bounded(
            "explanation",
            self.explanation.as_deref(),
            Score::MAX_TEXT_CHARS,
        )?;
        let label_max = match self.kind {
            ScoreKind::Text => Score::MAX_TEXT_CHARS,
            _ => Score::MAX_LABEL_CHARS,
        };
        bounded("label", self.label.as_deref(), label_max)?;
        match &self.target {
            ScoreTarget::Trace(t)
            | ScoreTarget::Span {
                trace_id: Some(t), ..
            } if !t.is_valid() => {
                return Err(InvalidScore::ZeroId("trace_id"));
            }
            ScoreTarget::Span { span_id, .. } if !span_id.is_valid() => {
                return Err(InvalidScore::ZeroId("span_id"));
            }
            ScoreTarget::Session(s) if s.is_empty() => return Err(InvalidScore::NoTarget),
            ScoreTarget::Session(s) => bounded("session_id", Some(s), Score::MAX_NAME_CHARS)?,
            _ => {}
        }
        let (kind, value, label) = resolve(ScoreValue {
            kind: Some(self.kind),
            value: self.value,
            label: self.label.clone(),
        })?;
        if (kind, value, label.as_deref()) != (self.kind, self.value, self.label.as_deref()) {
            return Err(InvalidScore::Inconsistent);
        }
        let metadata = serde_json::to_string(&self.metadata).map_or(usize::MAX, |j| j.len());
        if metadata > Score::MAX_METADATA_BYTES {
            return Err(InvalidScore::TooLong {
                field: "metadata",
                max: Score::MAX_METADATA_BYTES,
                unit: "bytes",
            });
        }
        Ok(())
    }
}

/// The kind, value and label a [`ScoreValue`] makes: the kind said or taken from what is
/// given; a boolean's value and label each given by the other.
fn resolve(v: ScoreValue) -> Result<(ScoreKind, Option<f64>, Option<String>), InvalidScore> {
    if v.value.is_some_and(|x| !x.is_finite()) {
        return Err(InvalidScore::NotFinite);
    }
    let kind = match (v.kind, v.value, &v.label) {
        (Some(kind), ..) => kind,
        (None, Some(_), _) => ScoreKind::Numeric,
        (None, None, Some(_)) => ScoreKind::Categorical,
        (None, None, None) => return Err(InvalidScore::NoValue),
    };
    let missing = |field| InvalidScore::Missing { kind, field };
    match kind {
        ScoreKind::Numeric => v.value.ok_or(missing("value")).map(|_| ()),
        ScoreKind::Categorical | ScoreKind::Text => {
            v.label.as_ref().ok_or(missing("label")).map(|_| ())
        }
        ScoreKind::Boolean => {
            let from_value = match v.value {
                None => None,
                Some(0.0) => Some(false),
                Some(1.0) => Some(true),
                Some(x) => return Err(InvalidScore::NotBoolean(x.to_string())),
            };
            let from_label = match v.label.as_deref() {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(other) => return Err(InvalidScore::NotBoolean(format!("{other:?}"))),
            };
            let truth = match (from_value, from_label) {
                (Some(a), Some(b)) if a != b => return Err(InvalidScore::Inconsistent),
                (Some(a), _) | (None, Some(a)) => a,
                (None, None) => return Err(missing("value")),
            };
            return Ok((
                kind,
                Some(if truth { 1.0 } else { 0.0 }),
                Some(truth.to_string()),
            ));
        }
    }?;
    Ok((kind, v.value, v.label))
}

/// `text` (field `field`) within `max` characters.
fn bounded(field: &'static str, text: Option<&str>, max: usize) -> Result<(), InvalidScore> {
    match text {
        Some(t) if t.chars().count() > max => Err(InvalidScore::TooLong {
            field,
            max,
            unit: "characters",
        }),
        _ => Ok(()),
    }
}

/// A score is not one: what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidScore {
    /// No `trace_id`, `span_id` or `session_id`.
    #[error("a score needs a target: a trace_id, a span_id or a session_id")]
    NoTarget,
    /// A session and a trace or span at once.
    #[error(
        "a score targets one thing: a session_id with neither trace_id nor span_id, or a span_id (its trace_id optional), or a trace_id"
    )]
    ManyTargets,
    /// An id that is not one.
    #[error("{field}: {message}")]
    BadId {
        /// `trace_id` or `span_id`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An all-zero trace or span id.
    #[error("{0}: an all-zero id is invalid")]
    ZeroId(&'static str),
    /// An empty or blank name.
    #[error("a score needs a name")]
    EmptyName,
    /// An empty id (leave it out for one to be made).
    #[error("id: empty (leave it out for one to be made)")]
    EmptyId,
    /// Neither a value nor a label.
    #[error("a score needs a value or a label")]
    NoValue,
    /// What its kind needs is missing.
    #[error("a {kind} score needs a {field}")]
    Missing {
        /// The kind.
        kind: ScoreKind,
        /// `value` or `label`.
        field: &'static str,
    },
    /// Not a number, or infinite.
    #[error("value: not a finite number")]
    NotFinite,
    /// A boolean score's value not 0 or 1, or label not `true` or `false`.
    #[error(
        "a boolean score's value is 1 or 0 (or true or false), and its label true or false, not {0}"
    )]
    NotBoolean(String),
    /// A value and a label that disagree (a boolean's), or fields changed from what was checked.
    #[error("the value and the label disagree")]
    Inconsistent,
    /// Text over its bound.
    #[error("{field}: longer than {max} {unit}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The bound.
        max: usize,
        /// Characters or bytes.
        unit: &'static str,
    },
    /// `time_unix_nano` not a whole number of nanoseconds from 0 to 2⁶⁴ − 1.
    #[error("time_unix_nano: a whole number of nanoseconds since the Unix epoch")]
    NotATime,
    /// `metadata` not a JSON object.
    #[error("metadata: a JSON object")]
    MetadataNotObject,
    /// `value` neither a number nor a boolean, or a boolean for a score of another kind.
    #[error("value: a number (or a boolean, for a boolean score)")]
    ValueNotNumber,
    /// A score whose configuration says another kind.
    #[error("{name} is configured as a {configured} score, not {given}")]
    KindMismatch {
        /// The score's name.
        name: String,
        /// What its configuration says.
        configured: ScoreKind,
        /// What was given.
        given: ScoreKind,
    },
    /// A number outside its configured range.
    #[error("{name}: {value} is outside its configured range {range}")]
    OutOfRange {
        /// The score's name.
        name: String,
        /// The value given.
        value: f64,
        /// The range, e.g. `[0, 1]`.
        range: String,
    },
    /// A label not among its configured categories.
    #[error("{name}: {label:?} is not one of its configured categories {categories:?}")]
    UnknownCategory {
        /// The score's name.
        name: String,
        /// The label given.
        label: String,
        /// The categories.
        categories: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(kind: Option<ScoreKind>, value: Option<f64>, label: Option<&str>) -> ScoreValue {
        ScoreValue {
            kind,
            value,
            label: label.map(str::to_owned),
        }
    }

    #[test]
    fn a_score_made_in_code_is_checked_as_one_from_json() {
        let session = || ScoreTarget::Session("s-1".into());
        let thumbs = Score::new(
            session(),
            "thumbs",
            value(Some(ScoreKind::Boolean), None, Some("false")),
        );
        assert_eq!(
            thumbs.map(|s| (s.kind, s.value, s.label, s.source, s.annotator)),
            Ok((
                ScoreKind::Boolean,
                Some(0.0),
                Some("false".to_owned()),
                ScoreSource::Api,
                AnnotatorKind::Human
            ))
        );
        assert_eq!(
            Score::new(session(), "q", value(None, Some(f64::NAN), None)),
            Err(InvalidScore::NotFinite)
        );
        assert_eq!(
            Score::new(
                ScoreTarget::Trace(TraceId::INVALID),
                "q",
                value(None, Some(1.0), None)
            ),
            Err(InvalidScore::ZeroId("trace_id"))
        );
        let span = ScoreTarget::Span {
            span_id: SpanId::INVALID,
            trace_id: None,
        };
        assert_eq!(
            Score::new(span, "q", value(None, Some(1.0), None)),
            Err(InvalidScore::ZeroId("span_id"))
        );
        // A field changed after it was made is caught by `check`.
        let mut score = Score::new(session(), "q", value(None, Some(1.0), None))
            .unwrap_or_else(|e| panic!("{e}"));
        score.kind = ScoreKind::Boolean;
        score.value = Some(3.0);
        assert!(matches!(score.check(), Err(InvalidScore::NotBoolean(_))));
    }

    #[test]
    fn names_read_back_as_written() {
        for kind in [
            ScoreKind::Numeric,
            ScoreKind::Categorical,
            ScoreKind::Boolean,
            ScoreKind::Text,
        ] {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert_eq!("eval".parse(), Ok(ScoreSource::Eval));
        assert_eq!("llm".parse(), Ok(AnnotatorKind::Llm));
        let e = "robot"
            .parse::<AnnotatorKind>()
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("annotator_kind: \"robot\" is not one of human llm code ")
        );
    }
}
