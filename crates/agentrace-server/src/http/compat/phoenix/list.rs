//! `GET /v1/projects/{project}/spans`: a project's spans, newest first, a page at a time,
//! with Phoenix's filters (`client.spans.get_spans`).

use std::collections::HashSet;

use crate::http::state::AppState;
use agentrace_core::{SpanRecord, TraceId};
use agentrace_store::{SpanFilter, TimeRange};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Pairs;
use super::spans::{
    Resume, as_phoenix, attributes, project_name, span_kind, spans_of, status_code,
};
use crate::http::api::{ApiError, blocking, parse_time};
use crate::http::scope::Scope;

/// Spans a page holds unless asked, and at most (Phoenix's bounds).
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;

/// Phoenix's span kinds and status codes, as its filters take them.
const KINDS: [&str; 11] = [
    "TOOL",
    "CHAIN",
    "LLM",
    "PROMPT",
    "RETRIEVER",
    "EMBEDDING",
    "AGENT",
    "RERANKER",
    "EVALUATOR",
    "GUARDRAIL",
    "UNKNOWN",
];
const STATUSES: [&str; 3] = ["UNSET", "OK", "ERROR"];

/// A 422 with a plain-text reason, as Phoenix answers a filter it cannot use.
fn unprocessable(why: impl Into<String>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, why.into()).into_response()
}

/// What a span must match beyond the store's filter.
#[derive(Default)]
struct Matches {
    trace_ids: HashSet<String>,
    span_ids: HashSet<String>,
    /// `Some(None)`: roots only.
    parent: Option<Option<String>>,
    names: HashSet<String>,
    kinds: HashSet<String>,
    statuses: HashSet<String>,
    attributes: Vec<(String, Value)>,
}

impl Matches {
    fn keep(&self, span: &SpanRecord) -> bool {
        // Ids written out only when a filter names some: every span of a read passes here.
        let one_of = |set: &HashSet<String>, v: &str| set.is_empty() || set.contains(v);
        let id_of = |set: &HashSet<String>, id: &dyn std::fmt::Display| {
            set.is_empty() || set.contains(&id.to_string())
        };
        id_of(&self.trace_ids, &span.trace_id)
            && id_of(&self.span_ids, &span.span_id)
            && self.parent.as_ref().is_none_or(|p| {
                p.as_deref() == span.parent_span_id.map(|id| id.to_string()).as_deref()
            })
            && one_of(&self.names, span.name.as_str())
            && one_of(&self.kinds, span_kind(span.kind))
            && one_of(&self.statuses, status_code(span))
            && (self.attributes.is_empty() || {
                let shown = attributes(span, true);
                self.attributes
                    .iter()
                    .all(|(key, want)| shown.get(key).is_some_and(|got| same(got, want)))
            })
    }
}

/// Whether an attribute's value is the one a filter names (numbers by value).
fn same(got: &Value, want: &Value) -> bool {
    match (got.as_f64(), want.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => got == want,
    }
}

/// A `key:value` attribute filter: the value read as JSON when it is a scalar (Phoenix's
/// `json.loads`), else as text.
fn attribute_filter(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once(':')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("Invalid attribute filter {text:?}: give key:value"))?;
    let value = match serde_json::from_str::<Value>(value) {
        Ok(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => v,
        Ok(_) => return Err(format!("Invalid attribute filter {text:?}: a scalar value")),
        Err(_) => Value::String(value.to_owned()),
    };
    Ok((key.to_owned(), value))
}

/// Upper-cased `values`, each one of `known` (else the 422's text).
fn upper(values: Vec<&str>, known: &[&str], what: &str) -> Result<HashSet<String>, String> {
    let values: Vec<String> = values.into_iter().map(str::to_ascii_uppercase).collect();
    let bad: Vec<&String> = values
        .iter()
        .filter(|v| !known.contains(&v.as_str()))
        .collect();
    if bad.is_empty() {
        Ok(values.into_iter().collect())
    } else {
        Err(format!("Invalid {what} values: {bad:?}"))
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    scope: Scope,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = Pairs::of(query);
    let all = |key: &str| pairs.all(key);
    let one = |key: &str| pairs.one(key);
    let limit = match one("limit").map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"detail": [{"loc": ["query", "limit"], "msg": format!("limit: 1 to {MAX_LIMIT}")}]})),
            )
                .into_response());
        }
    };
    let now = agentrace_core::now_unix_nano();
    let mut times = [None, None];
    for (slot, key) in times.iter_mut().zip(["start_time", "end_time"]) {
        if let Some(text) = one(key) {
            match parse_time(text, now) {
                Some(t) => *slot = Some(t),
                None => {
                    return Ok(unprocessable(format!(
                        "Invalid {key}: {text:?} is not an ISO 8601 time"
                    )));
                }
            }
        }
    }
    let mut matches = Matches {
        trace_ids: all("trace_id")
            .into_iter()
            .map(str::to_ascii_lowercase)
            .collect(),
        span_ids: all("span_id")
            .into_iter()
            .map(str::to_ascii_lowercase)
            .collect(),
        parent: one("parent_id").map(|p| (p != "null").then(|| p.to_ascii_lowercase())),
        names: all("name").into_iter().map(str::to_owned).collect(),
        ..Matches::default()
    };
    let made = upper(all("span_kind"), &KINDS, "span_kind")
        .and_then(|kinds| Ok((kinds, upper(all("status_code"), &STATUSES, "status_code")?)))
        .and_then(|(kinds, statuses)| {
            let attributes = all("attribute")
                .into_iter()
                .map(attribute_filter)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((kinds, statuses, attributes))
        });
    match made {
        Ok((kinds, statuses, attributes)) => {
            matches.kinds = kinds;
            matches.statuses = statuses;
            matches.attributes = attributes;
        }
        Err(why) => return Ok(unprocessable(why)),
    }
    let resume = match one("cursor") {
        None => Resume::default(),
        Some(text) => match Resume::decode(text) {
            Some(resume) => resume,
            None => return Ok(unprocessable("Invalid cursor")),
        },
    };
    let (store, in_project) = spans_of(&state, &scope, &project_name(&project)).await?;
    let mut filter = SpanFilter::new().resource_attribute(in_project);
    filter.range = TimeRange {
        start_unix_nano: times[0],
        end_unix_nano: times[1],
    };
    // One trace is the store's to find.
    if let [only] = matches.trace_ids.iter().collect::<Vec<_>>()[..]
        && let Ok(trace) = only.parse::<TraceId>()
    {
        filter.trace_id = Some(trace);
    }
    let (spans, next) = blocking(&store, move |store| {
        super::spans::read(store, &filter, &|s| matches.keep(s), resume, limit)
    })
    .await?;
    let data: Vec<Value> = spans.iter().map(as_phoenix).collect();
    Ok(Json(json!({"data": data, "next_cursor": next.map(|n| n.encode())})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_filters_read_their_value_as_phoenix_does() {
        assert_eq!(
            attribute_filter("llm.provider:openai"),
            Ok(("llm.provider".into(), json!("openai")))
        );
        assert_eq!(attribute_filter("n:3"), Ok(("n".into(), json!(3))));
        assert_eq!(attribute_filter("b:true"), Ok(("b".into(), json!(true))));
        assert_eq!(
            attribute_filter(r#"user.id:"12345""#),
            Ok(("user.id".into(), json!("12345")))
        );
        assert_eq!(
            attribute_filter("url:http://x"),
            Ok(("url".into(), json!("http://x")))
        );
        assert!(attribute_filter("nokey").is_err());
        assert!(attribute_filter("k:[1]").is_err());
        assert!(same(&json!(3.0), &json!(3)));
        assert!(!same(&json!("3"), &json!(3)));
    }

    #[test]
    fn kinds_and_statuses_are_checked() {
        assert_eq!(
            upper(vec!["llm", "TOOL"], &KINDS, "span_kind").map(|s| s.len()),
            Ok(2)
        );
        assert_eq!(
            upper(vec!["FOO"], &KINDS, "span_kind"),
            Err(r#"Invalid span_kind values: ["FOO"]"#.to_owned())
        );
    }
}
