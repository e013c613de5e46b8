//! `POST /v1/spans` (and its older `GET`): a project's spans as a pandas DataFrame, what
//! `client.spans.get_spans_dataframe` reads: a `multipart/mixed` body, one part a query, each
//! pandas' table-schema JSON with Phoenix's positional column prefixes, indexed by
//! `context.span_id` (also a column, as in Phoenix).
//!
//! The columns are Phoenix's: `name`, `span_kind`, `parent_id`, `start_time`, `end_time`,
//! `status_code`, `status_message`, `events`, `context.span_id`, `context.trace_id`, then
//! `attributes.<key>` for every attribute key of the rows ([`super::spans`] says which), each
//! a column of its own (Phoenix nests a list of messages into one column; here each message
//! field is one). A query's `select` names the columns instead.
//!
//! A query's `filter.condition` is Phoenix's Python expression, of which agentrace reads
//! comparisons (`==`, `!=`) of a column or attribute with a quoted text or a number, and
//! `parent_id is None` / `is not None`, joined by `and`; any other condition is refused (422),
//! never ignored. `root_spans_only` keeps the spans without a parent; `start_time` (inclusive)
//! and `end_time` (exclusive) bound their start.

use crate::http::state::AppState;
use agentrace_core::SpanRecord;
use agentrace_store::{SpanFilter, TimeRange};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Pairs;
use super::spans::{DEFAULT_PROJECT, Resume, attributes, events, span_kind, status_code, time};
use crate::http::api::{ApiError, blocking, parse_time};
use crate::http::scope::Scope;

/// Rows a frame holds unless asked (Phoenix's default), and at most (Phoenix sets none; a
/// frame is built whole in memory, so a larger read is made in windows of time).
const DEFAULT_LIMIT: usize = 1_000;
const MAX_LIMIT: usize = 10_000;

/// The columns every frame has, in Phoenix's order.
const BASE: [&str; 10] = [
    "name",
    "span_kind",
    "parent_id",
    "start_time",
    "end_time",
    "status_code",
    "status_message",
    "events",
    "context.span_id",
    "context.trace_id",
];

fn unprocessable(why: impl Into<String>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, why.into()).into_response()
}

/// One comparison of a condition.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    Equal(String, Value),
    NotEqual(String, Value),
    IsNone(String),
    IsNotNone(String),
}

/// A condition's text split at `and` outside quotes.
fn conjuncts(condition: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quote) = (0, None);
    let bytes = condition.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, q @ (b'\'' | b'"')) => quote = Some(q),
            (Some(q), b) if b == q => quote = None,
            (None, _) if condition[i..].starts_with(" and ") => {
                parts.push(condition[start..i].trim());
                start = i + 5;
                i += 4;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(condition[start..].trim());
    parts
}

/// A literal: a quoted text or a number.
fn literal(text: &str) -> Option<Value> {
    let text = text.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return (!inner.contains(q)).then(|| Value::String(inner.to_owned()));
        }
    }
    serde_json::from_str::<serde_json::Number>(text)
        .ok()
        .map(Value::Number)
}

/// A column or attribute name.
fn column(text: &str) -> Option<String> {
    let text = text.trim();
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_'));
    ok.then(|| text.to_owned())
}

/// The tests of a condition; why it cannot be read, else.
fn parse_condition(condition: &str) -> Result<Vec<Test>, String> {
    let refuse = |part: &str| {
        format!(
            "Invalid query: agentrace reads comparisons (==, !=) of a column with a quoted text \
             or a number, and `is None` / `is not None`, joined by `and`; not {part:?}"
        )
    };
    if condition.trim().is_empty() {
        return Ok(Vec::new());
    }
    conjuncts(condition)
        .into_iter()
        .map(|part| {
            let test = if let Some(name) = part.strip_suffix(" is not None") {
                column(name).map(Test::IsNotNone)
            } else if let Some(name) = part.strip_suffix(" is None") {
                column(name).map(Test::IsNone)
            } else if let Some((name, value)) = part.split_once("==") {
                column(name)
                    .zip(literal(value))
                    .map(|(n, v)| Test::Equal(n, v))
            } else if let Some((name, value)) = part.split_once("!=") {
                column(name)
                    .zip(literal(value))
                    .map(|(n, v)| Test::NotEqual(n, v))
            } else {
                None
            };
            test.ok_or_else(|| refuse(part))
        })
        .collect()
}

/// The row of `span`: every column Phoenix gives, attributes under `attributes.`.
fn row(span: &SpanRecord) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("name".into(), span.name.as_str().into());
    row.insert("span_kind".into(), span_kind(span.kind).into());
    row.insert(
        "parent_id".into(),
        span.parent_span_id.map(|p| p.to_string()).into(),
    );
    row.insert("start_time".into(), time(span.start_time_unix_nano).into());
    row.insert("end_time".into(), time(span.end_time_unix_nano).into());
    row.insert("status_code".into(), status_code(span).into());
    row.insert(
        "status_message".into(),
        span.status.message.clone().unwrap_or_default().into(),
    );
    row.insert("events".into(), Value::Array(events(span)));
    row.insert("context.span_id".into(), span.span_id.to_string().into());
    row.insert("context.trace_id".into(), span.trace_id.to_string().into());
    for (key, value) in attributes(span, true) {
        row.insert(format!("attributes.{key}"), value);
    }
    row
}

/// The value of `name` in `row`: a column (`span_id` and `trace_id` those of the context),
/// else an attribute; `None` for a null.
fn lookup<'a>(row: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let name = match name {
        "span_id" => "context.span_id",
        "trace_id" => "context.trace_id",
        other => other,
    };
    row.get(name)
        .or_else(|| row.get(&format!("attributes.{name}")))
        .filter(|v| !v.is_null())
}

/// Whether `row` passes every test (numbers compared by value).
fn passes(row: &Map<String, Value>, tests: &[Test]) -> bool {
    let equal = |got: Option<&Value>, want: &Value| {
        got.is_some_and(|got| match (got.as_f64(), want.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => got == want,
        })
    };
    tests.iter().all(|t| match t {
        Test::Equal(name, want) => equal(lookup(row, name), want),
        Test::NotEqual(name, want) => !equal(lookup(row, name), want),
        Test::IsNone(name) => lookup(row, name).is_none(),
        Test::IsNotNone(name) => lookup(row, name).is_some(),
    })
}

/// One query of the request: its condition's tests and its `select` (column → source).
struct Query {
    tests: Vec<Test>,
    select: Option<Vec<(String, String)>>,
}

fn parse_query(q: &Value) -> Result<Query, String> {
    let condition = q
        .pointer("/filter/condition")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tests = parse_condition(condition)?;
    for refused in ["explode", "concat"] {
        if q.get(refused).is_some_and(|v| !v.is_null()) {
            return Err(format!(
                "Invalid query: `{refused}` is not read by agentrace"
            ));
        }
    }
    let select = match q.get("select") {
        None | Some(Value::Null) => None,
        Some(Value::Object(select)) => Some(
            select
                .iter()
                .map(|(name, source)| {
                    let key = source.get("key").and_then(Value::as_str).unwrap_or(name);
                    (name.clone(), key.to_owned())
                })
                .collect(),
        ),
        Some(_) => return Err("Invalid query: `select` is an object".into()),
    };
    Ok(Query { tests, select })
}

/// pandas' table-schema JSON of `rows` in `columns`, with Phoenix's positional prefixes; the
/// index is `context.span_id`.
fn table(rows: &[Map<String, Value>], columns: &[String], index: &[String]) -> Value {
    let names: Vec<String> = index
        .iter()
        .chain(columns)
        .enumerate()
        .map(|(i, c)| format!("{i}_{c}"))
        .collect();
    let sources: Vec<&String> = index.iter().chain(columns).collect();
    let fields: Vec<Value> = names
        .iter()
        .zip(&sources)
        .map(|(name, source)| {
            let values = rows.iter().filter_map(|r| lookup(r, source));
            if matches!(source.as_str(), "start_time" | "end_time") {
                json!({"name": name, "type": "datetime", "tz": "UTC"})
            } else if rows.iter().any(|r| lookup(r, source).is_some())
                && values.clone().all(Value::is_number)
            {
                json!({"name": name, "type": "number"})
            } else {
                json!({"name": name, "type": "string"})
            }
        })
        .collect();
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            Value::Object(
                names
                    .iter()
                    .zip(&sources)
                    .map(|(name, source)| {
                        (
                            name.clone(),
                            lookup(r, source).cloned().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    json!({
        "schema": {"fields": fields, "primaryKey": [names[0].clone()], "pandas_version": "1.4.0"},
        "data": data,
    })
}

/// The frame of `rows` as `query` shapes it.
fn frame(rows: &[Map<String, Value>], query: &Query) -> Value {
    let index = vec!["context.span_id".to_owned()];
    match &query.select {
        Some(select) => {
            let renamed: Vec<Map<String, Value>> = rows
                .iter()
                .map(|r| {
                    let mut out: Map<String, Value> = select
                        .iter()
                        .filter_map(|(name, key)| Some((name.clone(), lookup(r, key)?.clone())))
                        .collect();
                    if let Some(id) = r.get("context.span_id") {
                        out.entry("context.span_id").or_insert_with(|| id.clone());
                    }
                    out
                })
                .collect();
            let columns: Vec<String> = select.iter().map(|(name, _)| name.clone()).collect();
            table(&renamed, &columns, &index)
        }
        None => {
            let mut columns: Vec<String> = BASE.iter().map(|c| (*c).to_owned()).collect();
            let mut extra: Vec<&String> = rows
                .iter()
                .flat_map(|r| r.keys())
                .filter(|k| k.starts_with("attributes."))
                .collect();
            extra.sort_unstable();
            extra.dedup();
            columns.extend(extra.into_iter().cloned());
            table(rows, &columns, &index)
        }
    }
}

/// The project a request names: `project_name` or `project-name` in the query or as a
/// header, `project_name` in the body, else `default` (Phoenix's order).
fn project_of(pairs: &Pairs, headers: &HeaderMap, body: &Value) -> String {
    pairs
        .one("project_name")
        .or_else(|| pairs.one("project-name"))
        .map(str::to_owned)
        .or_else(|| {
            headers
                .get("project-name")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .or_else(|| body["project_name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_PROJECT.to_owned())
}

pub(super) async fn query(
    State(state): State<AppState>,
    scope: Scope,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?
    };
    let project = project_of(&Pairs::of(raw), &headers, &body);
    let queries = match body.get("queries") {
        None | Some(Value::Null) => vec![Value::Object(Map::new())],
        Some(Value::Array(q)) if q.is_empty() => {
            return Ok((StatusCode::NOT_FOUND, "No queries given").into_response());
        }
        Some(Value::Array(q)) => q.clone(),
        Some(_) => return Ok(unprocessable("Invalid query: `queries` is a list")),
    };
    let queries = match queries
        .iter()
        .map(parse_query)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(q) => q,
        Err(why) => return Ok(unprocessable(why)),
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Ok(unprocessable(format!("Invalid limit: 1 to {MAX_LIMIT}"))),
        },
    };
    let now = agentrace_core::now_unix_nano();
    let mut range = TimeRange::default();
    for (slot, key) in [
        (&mut range.start_unix_nano, "start_time"),
        (&mut range.end_unix_nano, "end_time"),
    ] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => match parse_time(text, now) {
                Some(t) => *slot = Some(t),
                None => return Ok(unprocessable(format!("Invalid {key}: {text:?}"))),
            },
            Some(_) => return Ok(unprocessable(format!("Invalid {key}: an ISO 8601 time"))),
        }
    }
    let roots_only = body["root_spans_only"].as_bool().unwrap_or(false);
    let (store, in_project) =
        super::spans::spans_of(&state, &scope, &super::spans::project_name(&project)).await?;
    let mut filter = SpanFilter::new().resource_attribute(in_project);
    filter.range = range;
    let mut parts = Vec::with_capacity(queries.len());
    for query in queries {
        let filter = filter.clone();
        let tests = query.tests.clone();
        let (spans, _) = blocking(&store, move |store| {
            let keep = |s: &SpanRecord| {
                (!roots_only || s.parent_span_id.is_none())
                    && (tests.is_empty() || passes(&row(s), &tests))
            };
            super::spans::read(store, &filter, &keep, Resume::default(), limit)
        })
        .await?;
        let rows: Vec<Map<String, Value>> = spans.iter().map(row).collect();
        parts.push(frame(&rows, &query));
    }
    Ok(multipart(&parts))
}

/// `parts` as Phoenix sends frames: `multipart/mixed`, each part JSON, between boundaries of
/// random bytes that no part holds (spans' text is the sender's).
fn multipart(parts: &[Value]) -> Response {
    let parts: Vec<String> = parts.iter().map(Value::to_string).collect();
    let boundary = loop {
        let mut bytes = [0u8; 16];
        // Without the system's randomness, the time: still checked against every part below.
        let random = match getrandom::fill(&mut bytes) {
            Ok(()) => u128::from_le_bytes(bytes),
            Err(_) => u128::from(agentrace_core::now_unix_nano()),
        };
        let boundary = format!("agentrace{random:032x}");
        if !parts.iter().any(|p| p.contains(&boundary)) {
            break boundary;
        }
    };
    let mut body = String::new();
    for part in &parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/json\r\n\r\n{part}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}")) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_read_or_refused() {
        assert_eq!(
            parse_condition("span_kind == 'LLM' and name != \"a and b\""),
            Ok(vec![
                Test::Equal("span_kind".into(), json!("LLM")),
                Test::NotEqual("name".into(), json!("a and b")),
            ])
        );
        assert_eq!(
            parse_condition("parent_id is None and llm.token_count.total == 12"),
            Ok(vec![
                Test::IsNone("parent_id".into()),
                Test::Equal("llm.token_count.total".into(), json!(12)),
            ])
        );
        assert_eq!(parse_condition(""), Ok(vec![]));
        for refused in [
            "span_kind == 'LLM' or span_kind == 'TOOL'",
            "'x' in input.value",
            "latency_ms > 100",
            "evals['q'].score == 1",
        ] {
            assert!(parse_condition(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn frames_carry_phoenix_prefixes_and_index() {
        let mut a = Map::new();
        a.insert("context.span_id".into(), json!("a1b2c3d4e5f6a7b8"));
        a.insert("start_time".into(), json!("2026-11-27T10:00:00+00:00"));
        a.insert("attributes.llm.token_count.prompt".into(), json!(100));
        a.insert("attributes.input.value".into(), json!("hi"));
        let columns = vec![
            "start_time".to_owned(),
            "attributes.llm.token_count.prompt".to_owned(),
            "attributes.input.value".to_owned(),
            "attributes.missing".to_owned(),
        ];
        let t = table(&[a], &columns, &["context.span_id".to_owned()]);
        assert_eq!(t["schema"]["primaryKey"], json!(["0_context.span_id"]));
        let types: Vec<&str> = t["schema"]["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["type"].as_str())
            .collect();
        assert_eq!(types, ["string", "datetime", "number", "string", "string"]);
        assert_eq!(t["data"][0]["2_attributes.llm.token_count.prompt"], 100);
        assert_eq!(t["data"][0]["4_attributes.missing"], Value::Null);
    }
}
