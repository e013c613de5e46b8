//! A score as JSON gives it: flat, the target as three optional ids.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{
    AnnotatorKind, InvalidScore, Score, ScoreKind, ScoreSource, ScoreTarget, ScoreValue, resolve,
};
use crate::json_fields::{present, whole_number};
use crate::model::{SpanId, TraceId};

/// [`Score`] as JSON gives it: flat, the target as three optional ids, the kind optional. A
/// field is given with a value or left out: `null` is refused.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScoreJson {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    trace_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    span_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    session_id: Option<String>,
    name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    data_type: Option<ScoreKind>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    value: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    label: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    explanation: Option<String>,
    #[serde(default)]
    source: ScoreSource,
    #[serde(default)]
    annotator_kind: AnnotatorKind,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    author: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    metadata: Option<Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    time_unix_nano: Option<serde_json::Number>,
}

impl TryFrom<ScoreJson> for Score {
    type Error = InvalidScore;

    fn try_from(j: ScoreJson) -> Result<Self, Self::Error> {
        let id = |field: &'static str, text: &str| InvalidScore::BadId {
            field,
            message: text.to_owned(),
        };
        let trace_id = j
            .trace_id
            .as_deref()
            .map(|t| TraceId::from_hex(t).map_err(|e| id("trace_id", &e.to_string())))
            .transpose()?;
        let span_id = j
            .span_id
            .as_deref()
            .map(|s| SpanId::from_hex(s).map_err(|e| id("span_id", &e.to_string())))
            .transpose()?;
        let target = match (j.session_id, span_id, trace_id) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return Err(InvalidScore::ManyTargets),
            (Some(session), None, None) => ScoreTarget::Session(session),
            (None, Some(span_id), trace_id) => ScoreTarget::Span { span_id, trace_id },
            (None, None, Some(trace)) => ScoreTarget::Trace(trace),
            (None, None, None) => return Err(InvalidScore::NoTarget),
        };
        let (value, boolean) = match j.value {
            None => (None, false),
            Some(Value::Bool(b)) => (Some(if b { 1.0 } else { 0.0 }), true),
            Some(Value::Number(n)) => (Some(n.as_f64().ok_or(InvalidScore::NotFinite)?), false),
            Some(_) => return Err(InvalidScore::ValueNotNumber),
        };
        let metadata = match j.metadata {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(InvalidScore::MetadataNotObject),
        };
        if boolean && j.data_type.is_some_and(|k| k != ScoreKind::Boolean) {
            return Err(InvalidScore::ValueNotNumber);
        }
        let kind = j.data_type.or(boolean.then_some(ScoreKind::Boolean));
        let (kind, value, label) = resolve(ScoreValue {
            kind,
            value,
            label: j.label,
        })?;
        let score = Self {
            id: j.id,
            target,
            name: j.name,
            kind,
            value,
            label,
            explanation: j.explanation,
            source: j.source,
            annotator: j.annotator_kind,
            author: j.author,
            metadata,
            time_unix_nano: match j.time_unix_nano {
                Some(n) => whole_number(&n).ok_or(InvalidScore::NotATime)?,
                None => crate::now_unix_nano(),
            },
        };
        score.check()?;
        Ok(score)
    }
}

impl From<Score> for ScoreJson {
    fn from(s: Score) -> Self {
        let (trace_id, span_id, session_id) = match s.target {
            ScoreTarget::Trace(t) => (Some(t.to_string()), None, None),
            ScoreTarget::Span { span_id, trace_id } => (
                trace_id.map(|t| t.to_string()),
                Some(span_id.to_string()),
                None,
            ),
            ScoreTarget::Session(session) => (None, None, Some(session)),
        };
        Self {
            id: s.id,
            trace_id,
            span_id,
            session_id,
            name: s.name,
            data_type: Some(s.kind),
            value: s
                .value
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            label: s.label,
            explanation: s.explanation,
            source: s.source,
            annotator_kind: s.annotator,
            author: s.author,
            metadata: (!s.metadata.is_empty()).then_some(Value::Object(s.metadata)),
            time_unix_nano: Some(s.time_unix_nano.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn parse(v: Value) -> Result<Score, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn the_target_is_exactly_one_trace_span_or_session() {
        let trace = TraceId::from_hex(TRACE).ok();
        let span = SpanId::from_hex(SPAN).ok();
        let cases = [
            (json!({"trace_id": TRACE}), trace.map(ScoreTarget::Trace)),
            (
                json!({"span_id": SPAN}),
                span.map(|span_id| ScoreTarget::Span {
                    span_id,
                    trace_id: None,
                }),
            ),
            (
                json!({"span_id": SPAN, "trace_id": TRACE}),
                span.map(|span_id| ScoreTarget::Span {
                    span_id,
                    trace_id: trace,
                }),
            ),
            (
                json!({"session_id": "s-1"}),
                Some(ScoreTarget::Session("s-1".into())),
            ),
        ];
        for (target, want) in cases {
            let mut v = json!({"name": "ok", "value": 1});
            v.as_object_mut().into_iter().for_each(|o| {
                o.extend(target.as_object().cloned().unwrap_or_default());
            });
            assert_eq!(parse(v).map(|s| s.target).ok(), want, "{target}");
        }
        for (v, why) in [
            (json!({"name": "ok", "value": 1}), "needs a target"),
            (
                json!({"name": "ok", "value": 1, "session_id": "s", "trace_id": TRACE}),
                "one thing",
            ),
            (
                json!({"name": "ok", "value": 1, "trace_id": "xyz"}),
                "trace_id: ",
            ),
            (
                json!({"name": "ok", "value": 1, "trace_id": "0".repeat(32)}),
                "all-zero",
            ),
            (
                json!({"name": "ok", "value": 1, "session_id": ""}),
                "needs a target",
            ),
        ] {
            let e = parse(v.clone()).err().unwrap_or_default();
            assert!(e.contains(why), "{v}: {e}");
        }
    }

    #[test]
    fn the_kind_is_said_or_taken_from_the_value() {
        let kind = |v: Value| parse(v).map(|s| (s.kind, s.value, s.label));
        let base = |extra: Value| {
            let mut v = json!({"trace_id": TRACE, "name": "n"});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            v
        };
        assert_eq!(
            kind(base(json!({"value": 0.5}))),
            Ok((ScoreKind::Numeric, Some(0.5), None))
        );
        assert_eq!(
            kind(base(json!({"label": "correct"}))),
            Ok((ScoreKind::Categorical, None, Some("correct".into())))
        );
        for v in [
            json!({"value": true}),
            json!({"data_type": "boolean", "label": "true"}),
            json!({"data_type": "boolean", "value": 1, "label": "true"}),
        ] {
            assert_eq!(
                kind(base(v.clone())),
                Ok((ScoreKind::Boolean, Some(1.0), Some("true".into()))),
                "{v}"
            );
        }
        for (v, why) in [
            (json!({}), "a value or a label"),
            (
                json!({"data_type": "numeric", "label": "x"}),
                "numeric score needs a value",
            ),
            (
                json!({"data_type": "text", "value": 1}),
                "text score needs a label",
            ),
            (json!({"data_type": "boolean", "value": 0.5}), "boolean"),
            (
                json!({"data_type": "boolean", "value": 1, "label": "false"}),
                "disagree",
            ),
            (json!({"value": "high"}), "value: a number"),
            (
                json!({"data_type": "categorical", "value": true, "label": "x"}),
                "for a boolean score",
            ),
            (json!({"value": 1, "label": null}), "invalid type: null"),
            (json!({"value": null, "label": "x"}), "value: a number"),
            (json!({"value": 1, "metadata": null}), "JSON object"),
            (json!({"value": 1, "time_unix_nano": 1.5}), "time_unix_nano"),
            (json!({"value": 1, "time_unix_nano": -1}), "time_unix_nano"),
            (json!({"value": 1, "id": ""}), "id: empty"),
            (json!({"value": 1, "name": " \t"}), "needs a name"),
            (json!({"value": 1, "metadata": [1]}), "JSON object"),
            (json!({"value": 1, "colour": "red"}), "unknown field"),
        ] {
            let e = kind(base(v.clone())).err().unwrap_or_default();
            assert!(e.contains(why), "{v}: {e}");
        }
    }

    #[test]
    fn text_is_bounded() {
        let long = |n: usize| "x".repeat(n);
        let ok = json!({"trace_id": TRACE, "name": long(Score::MAX_NAME_CHARS), "data_type": "text",
                        "label": long(Score::MAX_TEXT_CHARS), "explanation": long(Score::MAX_TEXT_CHARS)});
        assert!(parse(ok).is_ok());
        for (field, n) in [
            ("name", Score::MAX_NAME_CHARS + 1),
            ("explanation", Score::MAX_TEXT_CHARS + 1),
            ("author", Score::MAX_NAME_CHARS + 1),
        ] {
            let mut v = json!({"trace_id": TRACE, "name": "n", "value": 1});
            if let Some(o) = v.as_object_mut() {
                o.insert(field.into(), Value::String(long(n)));
            }
            let e = parse(v).err().unwrap_or_default();
            assert!(
                e.starts_with(&format!("{field}: longer than")),
                "{field}: {e}"
            );
        }
        let label =
            json!({"trace_id": TRACE, "name": "n", "label": long(Score::MAX_LABEL_CHARS + 1)});
        assert!(
            parse(label).is_err(),
            "a category's label is shorter than a text"
        );
        let big = json!({"trace_id": TRACE, "name": "n", "value": 1,
                         "metadata": {"k": long(Score::MAX_METADATA_BYTES)}});
        assert!(parse(big).err().unwrap_or_default().contains("metadata"));
        let blank = json!({"trace_id": TRACE, "name": "  ", "value": 1});
        assert!(
            parse(blank)
                .err()
                .unwrap_or_default()
                .contains("needs a name")
        );
    }

    #[test]
    fn a_score_round_trips_through_json() -> Result<(), Box<dyn std::error::Error>> {
        let v = json!({"id": "k-1", "span_id": SPAN, "trace_id": TRACE, "name": "correct",
                       "data_type": "categorical", "value": 2.0, "label": "yes",
                       "explanation": "matches", "source": "eval", "annotator_kind": "llm",
                       "author": "judge", "metadata": {"model": "gpt-4o"},
                       "time_unix_nano": 1_700_000_000_000_000_000_u64});
        let score: Score = serde_json::from_value(v.clone())?;
        assert_eq!(
            (score.source, score.annotator),
            (ScoreSource::Eval, AnnotatorKind::Llm)
        );
        assert_eq!(serde_json::to_value(&score)?, v);
        Ok(())
    }
}
