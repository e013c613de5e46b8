//! A query judged on one span in memory: what filters spans as they arrive (evaluator rules)
//! use, where no store is asked. Scores are not known there: a query naming one is refused
//! first ([`Query::check_in_memory`]).

use super::{Comparison, Expr, Field, Query, QueryError, Term, Value};
use crate::{AttributeValue, Attributes, SpanRecord, StatusCode};

impl Query {
    /// Refuses what a span alone cannot answer: a score (`score.<name>`), given after the
    /// span arrives. `text` is the query as written, for the error's pointer.
    ///
    /// # Errors
    /// The first such term, and where it is.
    pub fn check_in_memory(&self, text: &str) -> Result<(), QueryError> {
        match self
            .terms()
            .into_iter()
            .find(|(t, _)| matches!(t, Term::Field(Field::Score(_), _)))
        {
            Some((_, at)) => Err(QueryError::new(
                text,
                at,
                "a span is judged as it arrives, before any score is given: score conditions are not taken here",
            )),
            None => Ok(()),
        }
    }

    /// Whether `span` matches (a score condition never does: see
    /// [`check_in_memory`](Self::check_in_memory)).
    pub fn matches(&self, span: &SpanRecord) -> bool {
        self.expr.matches(span)
    }
}

impl Expr {
    fn matches(&self, span: &SpanRecord) -> bool {
        match self {
            Self::All => true,
            Self::And(all) => all.iter().all(|e| e.matches(span)),
            Self::Or(any) => any.iter().any(|e| e.matches(span)),
            Self::Not(e) => !e.matches(span),
            Self::Term(t, _) => t.matches(span),
        }
    }
}

/// Case-insensitive: whether `haystack` holds `needle` (already lower-cased).
fn holds(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(needle)
}

impl Term {
    fn matches(&self, span: &SpanRecord) -> bool {
        match self {
            Self::Text(words) => {
                let needle = words.to_lowercase();
                holds(&span.name, &needle)
                    || span
                        .status
                        .message
                        .as_deref()
                        .is_some_and(|m| holds(m, &needle))
                    || texts(&span.attributes).any(|t| holds(&t, &needle))
                    || texts(&span.resource.attributes).any(|t| holds(&t, &needle))
                    || span.events.iter().any(|e| {
                        holds(&e.name, &needle) || texts(&e.attributes).any(|t| holds(&t, &needle))
                    })
            }
            Self::Field(field, c) => field_matches(span, field, c),
            Self::Attribute(key, c) => attribute(span, key).is_some_and(|v| value_matches(&v, c)),
            Self::HasAttribute(key) => attribute(span, key).is_some(),
        }
    }
}

/// Every text an attribute set holds (arrays' items one by one).
fn texts(attributes: &Attributes) -> impl Iterator<Item = String> + '_ {
    attributes.iter().flat_map(|(_, v)| match v {
        AttributeValue::Array(items) => items.iter().map(ToString::to_string).collect(),
        AttributeValue::String(s) => vec![s.to_string()],
        other => vec![other.to_string()],
    })
}

/// The span's attribute `key`, else its resource's, as text.
fn attribute(span: &SpanRecord, key: &str) -> Option<String> {
    span.attributes
        .get(key)
        .or_else(|| span.resource.attributes.get(key))
        .map(|v| match v {
            AttributeValue::String(s) => s.to_string(),
            other => other.to_string(),
        })
}

fn field_matches(span: &SpanRecord, field: &Field, c: &Comparison) -> bool {
    let text = |got: Option<&str>| got.is_some_and(|g| text_matches(g, c));
    match field {
        Field::Kind => text(Some(span.kind.as_str())),
        Field::Name => text(Some(&span.name)),
        Field::Model => text(span.response_model.as_deref()) || text(span.request_model.as_deref()),
        Field::Provider => text(span.provider.as_deref()),
        Field::Agent => text(span.agent_name.as_deref()),
        Field::Session => text(span.session_id.as_deref()),
        Field::User => text(span.user_id.as_deref()),
        Field::Service => text(Some(&span.resource.service_name)),
        Field::Tool => text(span.tool_name.as_deref()),
        Field::McpServer => text(attribute(span, crate::semconv::agentrace::MCP_SERVER).as_deref()),
        Field::Framework => text(span.framework.as_deref()),
        Field::Status => text(Some(match span.status.code {
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
            StatusCode::Unset => "unset",
        })),
        Field::Error => match (c, span.status.message.as_deref()) {
            (Comparison::Eq(Value::Text(words)), Some(message)) => {
                holds(message, &words.to_lowercase())
            }
            (Comparison::Prefix(_), Some(message)) => text_matches(message, c),
            _ => false,
        },
        Field::Trace => text(Some(&span.trace_id.to_string())),
        Field::Duration => compare(span.duration_ns() as f64, c, |v| match v {
            Value::Duration(d) => Some(d.as_nanos() as f64),
            _ => None,
        }),
        Field::Cost => span
            .cost
            .is_some_and(|cost| compare(cost.total.dollars(), c, number)),
        Field::InputTokens => compare(span.usage.input_tokens as f64, c, number),
        Field::OutputTokens => compare(span.usage.output_tokens as f64, c, number),
        Field::Score(_) => false,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// Text equal (case-insensitive) to, or starting with, the condition's.
fn text_matches(got: &str, c: &Comparison) -> bool {
    match c {
        Comparison::Eq(Value::Text(want)) => got.eq_ignore_ascii_case(want),
        Comparison::Prefix(prefix) => got.to_lowercase().starts_with(&prefix.to_lowercase()),
        _ => false,
    }
}

/// An attribute's text against a condition: text, or a number compared.
fn value_matches(got: &str, c: &Comparison) -> bool {
    match c {
        Comparison::Eq(Value::Text(_)) | Comparison::Prefix(_) => text_matches(got, c),
        _ => got
            .parse::<f64>()
            .ok()
            .is_some_and(|n| compare(n, c, number)),
    }
}

/// `got` against a comparison whose value `read` turns into a number.
fn compare(got: f64, c: &Comparison, read: impl Fn(&Value) -> Option<f64>) -> bool {
    let with = |v: &Value, ok: fn(f64, f64) -> bool| read(v).is_some_and(|w| ok(got, w));
    match c {
        Comparison::Eq(v) => with(v, |a, b| (a - b).abs() < f64::EPSILON * a.abs().max(1.0)),
        Comparison::Gt(v) => with(v, |a, b| a > b),
        Comparison::Ge(v) => with(v, |a, b| a >= b),
        Comparison::Lt(v) => with(v, |a, b| a < b),
        Comparison::Le(v) => with(v, |a, b| a <= b),
        Comparison::Prefix(_) => false,
    }
}
