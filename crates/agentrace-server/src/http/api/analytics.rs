//! `/overview`, `/cost`, `/tools`: the dashboard's numbers, from the store's rollups.

use agentrace_core::civil::{Precision, rfc3339};
use agentrace_core::{TokenUsage, Usd};
use agentrace_store::{
    AggregateQuery, AggregateRow, AttributeKey, GroupBy, GroupKey, OverviewQuery, Percentiles,
    RollupSource, SeriesPoint, SpanFilter, Summary, TimeRange,
};
use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;
use crate::jobs::tool_health::{ToolsHealth, tools_with_health};

const MINUTE_NS: u64 = 60_000_000_000;

/// The dimensions `/cost` groups by, by name.
const DIMENSIONS: [(&str, GroupBy); 14] = [
    ("provider", GroupBy::Provider),
    ("model", GroupBy::Model),
    ("agent", GroupBy::Agent),
    ("framework", GroupBy::Framework),
    ("session", GroupBy::Session),
    ("user", GroupBy::User),
    ("kind", GroupBy::Kind),
    ("service", GroupBy::Service),
    ("tool", GroupBy::Tool),
    ("operation", GroupBy::Operation),
    ("mcp_server", GroupBy::McpServer),
    (
        "minute",
        GroupBy::TimeBucket {
            width_ns: MINUTE_NS,
        },
    ),
    (
        "hour",
        GroupBy::TimeBucket {
            width_ns: 60 * MINUTE_NS,
        },
    ),
    (
        "day",
        GroupBy::TimeBucket {
            width_ns: 24 * 60 * MINUTE_NS,
        },
    ),
];

/// The most groups an attribute dimension may give (`group_by=attr:<key>`): a key of more
/// values in the range is refused, so that an id-like attribute cannot turn one answer into
/// millions of rows.
pub(super) const MAX_ATTRIBUTE_GROUPS: usize = 1_000;

/// The prefix of an attribute dimension in `group_by`: `attr:customer.id`.
const ATTRIBUTE_PREFIX: &str = "attr:";

/// `group_by`: a comma-separated list of dimensions, each a named one or `attr:<key>` (a span
/// or resource attribute); their names as the answer shows them, and the dimensions.
fn group_by(p: &mut Params) -> Result<(Vec<String>, Vec<GroupBy>), ApiError> {
    let text = p.text("group_by")?.unwrap_or_else(|| "model".to_owned());
    let mut names: Vec<String> = Vec::new();
    let mut dims = Vec::new();
    for name in text.split(',').map(str::trim) {
        let dim = match name.strip_prefix(ATTRIBUTE_PREFIX) {
            Some(key) => GroupBy::Attribute(
                AttributeKey::new(key).map_err(|e| ApiError::bad("group_by", e))?,
            ),
            None => {
                let Some((_, g)) = DIMENSIONS.iter().find(|(n, _)| *n == name) else {
                    let all: Vec<_> = DIMENSIONS.iter().map(|(n, _)| *n).collect();
                    return Err(ApiError::bad(
                        "group_by",
                        format!(
                            "{name:?} is not a dimension; expected a comma-separated list of {}, or attr:<key> (a span or resource attribute)",
                            all.join(", ")
                        ),
                    ));
                };
                *g
            }
        };
        if names.iter().any(|n| n == name) {
            return Err(ApiError::bad(
                "group_by",
                format!("{name:?} is listed twice"),
            ));
        }
        names.push(name.to_owned());
        dims.push(dim);
    }
    Ok((names, dims))
}

/// Refuses an answer whose attribute dimensions give more than [`MAX_ATTRIBUTE_GROUPS`]
/// values.
fn bounded(names: &[String], dims: &[GroupBy], rows: &[AggregateRow]) -> Result<(), ApiError> {
    for (i, dim) in dims.iter().enumerate() {
        if !matches!(dim, GroupBy::Attribute(_)) {
            continue;
        }
        let values: std::collections::HashSet<&GroupKey> =
            rows.iter().filter_map(|r| r.keys.get(i)).collect();
        if values.len() > MAX_ATTRIBUTE_GROUPS {
            return Err(ApiError::bad(
                "group_by",
                format!(
                    "{} has {} values in this range, more than the {MAX_ATTRIBUTE_GROUPS} a grouping may give: narrow the range, filter, or group by another attribute",
                    names[i],
                    values.len()
                ),
            ));
        }
    }
    Ok(())
}

/// One group of `/cost`: billable calls (LLM and embedding calls, spans with tokens or a cost).
#[derive(Debug, Serialize)]
pub(super) struct CostRow {
    /// The group's value of each `group_by` dimension (`null`: spans without one; time
    /// buckets as RFC 3339 starts).
    keys: Map<String, Value>,
    calls: u64,
    errors: u64,
    latency: Percentiles,
    usage: TokenUsage,
    cost: Option<Usd>,
    priced: u64,
    unpriced: u64,
    unpriced_usage: TokenUsage,
}

impl CostRow {
    fn new(names: &[String], row: AggregateRow) -> Self {
        let keys = names
            .iter()
            .zip(row.keys)
            .map(|(name, key)| {
                let value = match key {
                    GroupKey::Value(v) => Value::String(v),
                    GroupKey::Bucket(t) => Value::String(rfc3339(t, Precision::Seconds)),
                    GroupKey::None => Value::Null,
                };
                (name.clone(), value)
            })
            .collect();
        Self {
            keys,
            calls: row.count,
            errors: row.errors,
            latency: row.duration,
            usage: row.usage,
            cost: row.cost,
            priced: row.priced,
            unpriced: row.unpriced,
            unpriced_usage: row.unpriced_usage,
        }
    }
}

/// `GET /cost` answer.
#[derive(Debug, Serialize)]
pub(super) struct Cost {
    range: TimeRange,
    group_by: Vec<String>,
    source: RollupSource,
    rows: Vec<CostRow>,
    total: CostRow,
}

/// The CSV of a `/cost` answer: a row per group (its keys first), then the total; money as
/// exact decimal dollars, durations in milliseconds.
fn cost_csv(answer: &Cost) -> Result<String, ApiError> {
    let internal = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = answer.group_by.iter().map(String::as_str).collect();
    header.extend([
        "calls",
        "errors",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "cost_usd",
        "priced",
        "unpriced",
    ]);
    out.write_record(&header).map_err(internal)?;
    let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
    for (row, is_total) in answer
        .rows
        .iter()
        .map(|r| (r, false))
        .chain([(&answer.total, true)])
    {
        let mut record: Vec<String> = answer
            .group_by
            .iter()
            .enumerate()
            .map(|(i, name)| match row.keys.get(name.as_str()) {
                _ if is_total => {
                    if i == 0 {
                        "(total)".to_owned()
                    } else {
                        String::new()
                    }
                }
                Some(Value::String(v)) => v.clone(),
                _ => String::new(),
            })
            .collect();
        record.extend([
            row.calls.to_string(),
            row.errors.to_string(),
            ms(row.latency.p50_ns),
            ms(row.latency.p95_ns),
            ms(row.latency.p99_ns),
            row.usage.input_tokens.to_string(),
            row.usage.output_tokens.to_string(),
            row.usage.cache_read_tokens.to_string(),
            row.usage.cache_write_tokens.to_string(),
            row.usage
                .reasoning_tokens
                .map(|n| n.to_string())
                .unwrap_or_default(),
            row.cost
                .map(|c| c.to_string().replacen('$', "", 1))
                .unwrap_or_default(),
            row.priced.to_string(),
            row.unpriced.to_string(),
        ]);
        out.write_record(&record).map_err(internal)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

/// `GET /cost`: billable calls grouped by dimensions, over a range widened to whole minutes;
/// JSON, or CSV with `format=csv`.
pub(super) async fn cost(scope: Scope, mut p: Params) -> Result<Response, ApiError> {
    let range = p.range()?;
    let (names, dims) = group_by(&mut p)?;
    let mut f = SpanFilter::new().range(range).billable(true);
    f.provider = p.text("provider")?;
    f.model = p.text("model")?;
    f.agent = p.text("agent")?;
    f.framework = p.text("framework")?;
    f.tool = p.text("tool")?;
    f.mcp_server = p.text("mcp_server")?;
    f.service = p.text("service")?;
    f.kind = p.parsed("kind")?;
    f.session = p.text("session")?;
    f.user = p.text("user")?;
    let csv = match p.text("format")?.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "format",
                format!("{other:?}: expected `json` or `csv`"),
            ));
        }
    };
    p.finish()?;
    let q = AggregateQuery::new(f, dims.clone());
    let answer = blocking(&scope.store, move |s| s.aggregate(&q)).await?;
    bounded(&names, &dims, &answer.rows)?;
    let answer = Cost {
        range: answer.range,
        source: answer.source,
        rows: answer
            .rows
            .into_iter()
            .map(|r| CostRow::new(&names, r))
            .collect(),
        total: CostRow::new(&[], answer.total),
        group_by: names,
    };
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"agentrace-cost.csv\"",
                ),
            ],
            cost_csv(&answer)?,
        )
            .into_response());
    }
    Ok(Json(answer).into_response())
}

/// A bucket width that must be a whole number of minutes.
pub(super) fn minutes(p: &mut Params, name: &'static str) -> Result<Option<u64>, ApiError> {
    match p.duration_ns(name)? {
        Some(b) if b == 0 || !b.is_multiple_of(MINUTE_NS) => Err(ApiError::bad(
            name,
            "must be a whole number of minutes (1m, 5m, 1h, 1d)",
        )),
        b => Ok(b),
    }
}

/// `GET /tools`: tool calls by tool with their health (`crate::jobs::tool_health`), and each
/// tool's trend when a `bucket` is given; with `group_by=attr:<key>`, each tool once per value
/// of that attribute (at most [`MAX_ATTRIBUTE_GROUPS`] values).
pub(super) async fn tools(scope: Scope, mut p: Params) -> Result<Json<ToolsHealth>, ApiError> {
    let range = p.range()?;
    let top = p.count("top", 5, 50)?;
    let bucket = minutes(&mut p, "bucket")?;
    let split = match p.text("group_by")? {
        None => None,
        Some(text) => Some(match text.strip_prefix(ATTRIBUTE_PREFIX) {
            Some(key) => AttributeKey::new(key).map_err(|e| ApiError::bad("group_by", e))?,
            None => {
                return Err(ApiError::bad(
                    "group_by",
                    format!(
                        "{text:?}: tools are always by tool; they split by attr:<key> only (a span or resource attribute)"
                    ),
                ));
            }
        }),
    };
    p.finish()?;
    let answer = blocking(&scope.store, move |s| {
        tools_with_health(s, range, top, bucket, split)
    })
    .await?;
    let values: std::collections::HashSet<_> = answer
        .tools
        .iter()
        .filter_map(|t| t.stats.attribute.as_ref().map(|a| &a.value))
        .collect();
    if values.len() > MAX_ATTRIBUTE_GROUPS {
        return Err(ApiError::bad(
            "group_by",
            format!(
                "{ATTRIBUTE_PREFIX}{} has {} values in this range, more than the {MAX_ATTRIBUTE_GROUPS} a grouping may give: narrow the range, or split by another attribute",
                split.map(|k| k.to_string()).unwrap_or_default(),
                values.len()
            ),
        ));
    }
    Ok(Json(answer))
}

/// `GET /overview` answer: [`Summary`]'s numbers (its top models and agents as `/cost` rows)
/// and the series.
#[derive(Debug, Serialize)]
pub(super) struct OverviewView {
    range: TimeRange,
    traces: u64,
    spans: u64,
    span_errors: u64,
    requests: u64,
    errors: u64,
    error_rate: f64,
    latency: Option<Percentiles>,
    usage: TokenUsage,
    cost: Option<Usd>,
    priced: u64,
    unpriced: u64,
    unpriced_usage: TokenUsage,
    by_model: Vec<CostRow>,
    by_agent: Vec<CostRow>,
    bucket_ns: u64,
    series: Vec<SeriesPoint>,
}

/// `GET /overview`: the dashboard's numbers over a range widened to whole minutes.
pub(super) async fn overview(scope: Scope, mut p: Params) -> Result<Json<OverviewView>, ApiError> {
    let range = p.range()?;
    let bucket = minutes(&mut p, "bucket")?;
    p.finish()?;
    let mut q = OverviewQuery::new(range);
    q.bucket_ns = bucket;
    let overview = blocking(&scope.store, move |s| s.overview(&q))
        .await
        .map_err(|e| match e {
            // The only invalid overview left: too many points.
            ApiError::BadRequest(message) => ApiError::bad("bucket", message),
            e => e,
        })?;
    let Summary {
        range,
        traces,
        spans,
        span_errors,
        requests,
        errors,
        error_rate,
        latency,
        usage,
        cost,
        priced,
        unpriced,
        unpriced_usage,
        by_model,
        by_agent,
    } = overview.summary;
    let rows = |name: &'static str, rows: Vec<AggregateRow>| -> Vec<CostRow> {
        rows.into_iter()
            .map(|r| CostRow::new(&[name.to_owned()], r))
            .collect()
    };
    Ok(Json(OverviewView {
        range,
        traces,
        spans,
        span_errors,
        requests,
        errors,
        error_rate,
        latency,
        usage,
        cost,
        priced,
        unpriced,
        unpriced_usage,
        by_model: rows("model", by_model),
        by_agent: rows("agent", by_agent),
        bucket_ns: overview.bucket_ns,
        series: overview.series,
    }))
}
