//! `/guardrails`: guardrail checks against violations over time, violations by rule, blocks
//! by type, and secrets and personal data masked by kind (docs/alerts.md, "Guardrails").
//!
//! Checks are guardrail spans (the OpenInference `GUARDRAIL` kind and the like): a failed one is
//! a violation, its `error.type` the kind of block. `safety.violation` events are violations
//! too, by their `rule`; an event recorded on a failed guardrail span is that same violation,
//! counted once, under the event's rule. Masked data comes from the metric
//! `agentrace.redactions` the server keeps each minute.

use std::collections::{BTreeMap, HashMap};

use agentrace_core::semconv::gen_ai;
use agentrace_core::{EventKind, SpanId, SpanKind, StatusCode, TraceId};
use agentrace_store::{
    AggregateQuery, EventFilter, EventQuery, GroupBy, GroupKey, MetricQuery, QueryError,
    SpanFilter, SpanQuery, Store, TimeRange,
};
use axum::Json;
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;
use crate::telemetry::redaction_series::METRIC;

const MINUTE_NS: u64 = 60_000_000_000;
/// Records read per page.
const PAGE: usize = 10_000;

/// One bucket of the series.
#[derive(Debug, Default, Serialize)]
struct Point {
    start_unix_nano: u64,
    /// Guardrail spans.
    checks: u64,
    /// Failed guardrail spans and `safety.violation` events.
    violations: u64,
    /// Values masked.
    detections: u64,
}

/// A name and how often.
#[derive(Debug, Serialize)]
struct Count {
    name: String,
    count: u64,
}

/// `GET /guardrails` answer.
#[derive(Debug, Serialize)]
pub(super) struct Guardrails {
    range: TimeRange,
    bucket_ns: u64,
    checks: u64,
    violations: u64,
    detections: u64,
    series: Vec<Point>,
    /// Violations by rule: a failed guardrail span's name, a `safety.violation` event's
    /// `rule`; most frequent first.
    violations_by_rule: Vec<Count>,
    /// Failed guardrail spans by `error.type`; most frequent first.
    blocks_by_type: Vec<Count>,
    /// Values masked by kind (`api_key`, `email`, …); most frequent first.
    detections_by_type: Vec<Count>,
}

fn ranked(counts: HashMap<String, u64>) -> Vec<Count> {
    let mut out: Vec<Count> = counts
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out
}

/// `GET /guardrails`.
pub(super) async fn guardrails(scope: Scope, mut p: Params) -> Result<Json<Guardrails>, ApiError> {
    let range = p.range()?;
    let bucket = super::analytics::minutes(&mut p, "bucket")?.unwrap_or(60 * MINUTE_NS);
    p.finish()?;
    let points = range
        .end_unix_nano
        .zip(range.start_unix_nano)
        .map(|(e, s)| e.saturating_sub(s) / bucket);
    if points.is_some_and(|n| n > 10_000) {
        return Err(ApiError::bad(
            "bucket",
            "too long (at most 10,000 points over the range)",
        ));
    }
    Ok(Json(
        blocking(&scope.store, move |s| collect(s, range, bucket)).await?,
    ))
}

/// The stretches of `range` made of the buckets (their starts, of `bucket` ns each) that
/// count violations, adjacent buckets joined.
fn stretches_with_violations(
    mut starts: Vec<u64>,
    bucket: u64,
    range: TimeRange,
) -> Vec<TimeRange> {
    starts.sort_unstable();
    let mut stretches: Vec<(u64, u64)> = Vec::new();
    for start in starts {
        let end = start.saturating_add(bucket);
        match stretches.last_mut() {
            Some(last) if last.1 >= start => last.1 = last.1.max(end),
            _ => stretches.push((start, end)),
        }
    }
    stretches
        .into_iter()
        .map(|(start, end)| TimeRange {
            start_unix_nano: Some(range.start_unix_nano.map_or(start, |s| s.max(start))),
            end_unix_nano: Some(range.end_unix_nano.map_or(end, |e| e.min(end))),
        })
        .collect()
}

/// Reads the failed checks `failed` selects, page by page: each check's name (its rule until an
/// event names one), and its `error.type` counted in `by_type`.
fn read_failed_checks(
    store: &dyn Store,
    failed: SpanFilter,
    failed_checks: &mut HashMap<(TraceId, SpanId), String>,
    by_type: &mut HashMap<String, u64>,
) -> Result<(), QueryError> {
    let mut failed = SpanQuery::new(failed).limit(PAGE);
    loop {
        let page = store.spans(&failed)?;
        for s in page
            .spans
            .iter()
            .filter(|s| s.status.code == StatusCode::Error)
        {
            failed_checks.insert((s.trace_id, s.span_id), s.name.to_string());
            let kind = s
                .attributes
                .get(gen_ai::ERROR_TYPE)
                .and_then(|v| v.as_str())
                .unwrap_or("(no error.type)");
            *by_type.entry(kind.to_owned()).or_default() += 1;
        }
        match page.next_cursor {
            Some(c) => failed = failed.cursor(Some(c)),
            None => break,
        }
    }
    Ok(())
}

fn collect(store: &dyn Store, range: TimeRange, bucket: u64) -> Result<Guardrails, QueryError> {
    let mut series: BTreeMap<u64, Point> = BTreeMap::new();
    let at = |t: u64| t - t % bucket;
    let guardrail = SpanFilter::new().range(range).kind(SpanKind::Guardrail);
    let per_bucket = store.aggregate(&AggregateQuery::new(
        guardrail.clone(),
        [GroupBy::TimeBucket { width_ns: bucket }],
    ))?;
    let mut violating = Vec::new();
    for row in &per_bucket.rows {
        if let Some(GroupKey::Bucket(t)) = row.keys.first() {
            let p = series.entry(*t).or_default();
            p.checks += row.count;
            p.violations += row.errors;
            if row.errors > 0 {
                violating.push(*t);
            }
        }
    }
    // Each failed check's rule: its name, unless an event on it names the rule.
    let mut failed_checks: HashMap<(TraceId, SpanId), String> = HashMap::new();
    let mut by_rule: HashMap<String, u64> = HashMap::new();
    let mut by_type: HashMap<String, u64> = HashMap::new();
    // The failed checks are read where the rollups counted some, not by a scan of every span
    // of the range for the few (often none) that are failed checks.
    for stretch in stretches_with_violations(violating, bucket, range) {
        let failed = SpanFilter::new()
            .range(stretch)
            .kind(SpanKind::Guardrail)
            .status(agentrace_sqlite::StatusFilter::Error);
        read_failed_checks(store, failed, &mut failed_checks, &mut by_type)?;
    }
    let mut events = EventQuery::new(
        EventFilter::new()
            .range(range)
            .kind(EventKind::SafetyViolation.as_str()),
    )
    .limit(PAGE);
    loop {
        let page = store.events(&events)?;
        for e in &page.events {
            let rule = e.attributes.get("rule").and_then(|v| v.as_str());
            let check = e.trace_id.zip(e.span_id);
            if let Some(name) = check.and_then(|k| failed_checks.get_mut(&k)) {
                if let Some(rule) = rule {
                    rule.clone_into(name);
                }
                continue;
            }
            series.entry(at(e.time_unix_nano)).or_default().violations += 1;
            *by_rule
                .entry(rule.unwrap_or("(no rule)").to_owned())
                .or_default() += 1;
        }
        match page.next_cursor {
            Some(c) => events = events.cursor(Some(c)),
            None => break,
        }
    }
    for rule in failed_checks.into_values() {
        *by_rule.entry(rule).or_default() += 1;
    }
    let mut detections: HashMap<String, u64> = HashMap::new();
    for s in store.metric(&MetricQuery::new(METRIC).range(range).step(bucket))? {
        let kind = s.labels.get("type").cloned().unwrap_or_default();
        for p in &s.points {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // whole counts
            let n = p.sum.max(0.0).round() as u64;
            series.entry(at(p.bucket_unix_nano)).or_default().detections += n;
            *detections.entry(kind.clone()).or_default() += n;
        }
    }
    let series: Vec<Point> = series
        .into_iter()
        .map(|(t, p)| Point {
            start_unix_nano: t,
            ..p
        })
        .collect();
    Ok(Guardrails {
        range: per_bucket.range,
        bucket_ns: bucket,
        checks: series.iter().map(|p| p.checks).sum(),
        violations: series.iter().map(|p| p.violations).sum(),
        detections: series.iter().map(|p| p.detections).sum(),
        series,
        violations_by_rule: ranked(by_rule),
        blocks_by_type: ranked(by_type),
        detections_by_type: ranked(detections),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_checks_are_read_over_the_buckets_that_count_some_joined_and_within_the_range() {
        let range = TimeRange::new(15, 95);
        assert_eq!(
            stretches_with_violations(vec![40, 10, 20, 70, 90], 10, range),
            [
                TimeRange::new(15, 30),
                TimeRange::new(40, 50),
                TimeRange::new(70, 80),
                TimeRange::new(90, 95),
            ]
        );
        assert_eq!(
            stretches_with_violations(vec![20, 30], 10, TimeRange::ALL),
            [TimeRange::new(20, 40)]
        );
        assert!(stretches_with_violations(Vec::new(), 10, range).is_empty());
    }
}
