//! What a store keeps besides the records, and how it is kept: alert history, retention by
//! age (spans, events, metrics), what an empty store answers, health.

use crate::{
    AggregateQuery, AlertRecord, EventFilter, EventQuery, GroupBy, GroupKey, MetricQuery,
    OverviewQuery, RecordKind, SessionSort, SpanFilter, Store, TimeRange, TraceFilter,
    TraceSummary,
};
use agentrace_core::{InstrumentKind, TokenUsage, Usd};

use super::fixtures::{
    MS, SEC, T0, five, five_events, five_traces, measurement, span_id, span_ids, trace_id,
    trace_ids,
};
use super::{CheckResult, all_spans, ensure, expect_eq, ids_of, key, keyed_counts, listed};

/// Notification `n` (its time T0 + n s) of `alert` (rule: the alert's name up to `{`).
fn alert(n: u64, alert: &str, state: &str, previous: &str, reason: &str) -> AlertRecord {
    let rule = alert.split('{').next().unwrap_or(alert);
    AlertRecord::new(
        T0 + n * SEC,
        alert,
        rule,
        state,
        previous,
        reason,
        format!(r#"{{"alert":"{alert}","state":"{state}","n":{n}}}"#),
    )
}

/// Five notifications of two alerts, stored in two calls: read newest first, by alert, before
/// a time (exclusive), a limit at a time; each alert's newest (the cost alert's 4th, the error
/// alert's 5th).
pub fn alert_history(store: &dyn Store) -> CheckResult {
    let cost = "cost{agent=support}";
    let a = [
        alert(1, cost, "firing", "ok", "change"),
        alert(2, "errors", "firing", "ok", "change"),
        alert(3, cost, "firing", "firing", "reminder"),
        alert(4, cost, "ok", "firing", "change"),
        alert(5, "errors", "ok", "firing", "change"),
    ];
    store.insert_alert_records(&a[..3])?;
    store.insert_alert_records(&[])?;
    store.insert_alert_records(&a[3..])?;
    let pick = |ns: &[usize]| {
        ns.iter()
            .filter_map(|&n| a.get(n - 1).cloned())
            .collect::<Vec<_>>()
    };
    // (alert, before, limit, expected)
    type Case<'a> = (Option<&'a str>, Option<u64>, usize, Vec<AlertRecord>);
    let cases: [Case<'_>; 7] = [
        (None, None, 10, pick(&[5, 4, 3, 2, 1])),
        (None, None, 2, pick(&[5, 4])),
        (Some(cost), None, 10, pick(&[4, 3, 1])),
        (None, Some(T0 + 4 * SEC), 10, pick(&[3, 2, 1])),
        (Some(cost), Some(T0 + 4 * SEC), 1, pick(&[3])),
        (Some("errors"), Some(T0 + 2 * SEC), 10, Vec::new()),
        (Some("unknown"), None, 10, Vec::new()),
    ];
    for (which, before, limit, expected) in cases {
        let got = store.alert_records(which, before, limit)?;
        expect_eq(
            format!("notifications of {which:?} before {before:?}, {limit} at most"),
            &expected,
            &got,
        )?;
    }
    let mut latest = store.latest_alert_records()?;
    latest.sort_by(|x, y| x.alert.cmp(&y.alert));
    expect_eq("each alert's newest notification", &pick(&[4, 5]), &latest)?;
    Ok(())
}

/// The alerts of [`alert_history`], then a notification of the errors alert evaluated at
/// T0 + 0.5 s but stored last (another node's, delayed): each alert's newest notification is
/// still the newest by time (the 4th and the 5th), as `alert_records` orders them.
pub fn latest_alert_is_newest_by_time(store: &dyn Store) -> CheckResult {
    let cost = "cost{agent=support}";
    let a = [
        alert(1, cost, "firing", "ok", "change"),
        alert(2, "errors", "firing", "ok", "change"),
        alert(4, cost, "ok", "firing", "change"),
        alert(5, "errors", "ok", "firing", "change"),
    ];
    store.insert_alert_records(&a)?;
    let pick = |ns: &[usize]| {
        ns.iter()
            .filter_map(|&n| a.get(n).cloned())
            .collect::<Vec<_>>()
    };
    let late = alert(0, "errors", "pending", "ok", "change");
    let late = AlertRecord::new(
        T0 + 500 * MS,
        late.alert,
        late.rule,
        late.state,
        late.previous,
        late.reason,
        late.body,
    );
    store.insert_alert_records(std::slice::from_ref(&late))?;
    let mut errors = pick(&[3, 1]);
    errors.push(late);
    expect_eq(
        "the errors alert's notifications, newest first",
        &errors,
        &store.alert_records(Some("errors"), None, 10)?,
    )?;
    let mut latest = store.latest_alert_records()?;
    latest.sort_by(|x, y| x.alert.cmp(&y.alert));
    expect_eq("each alert's newest notification", &pick(&[2, 3]), &latest)?;
    Ok(())
}

/// Counts and ranks for retention: nothing in an empty store; then the 15 spans (starts T0,
/// T0+1 s, T0+60 s, …, T0+247 s) and 5 events (T0+1 s … T0+185 s).
pub fn retention_counts_and_ranks(store: &dyn Store) -> CheckResult {
    expect_eq(
        "spans of an empty store",
        &0,
        &store.count(RecordKind::Spans)?,
    )?;
    expect_eq(
        "the oldest span of an empty store",
        &None,
        &store.nth_oldest(RecordKind::Spans, 0)?,
    )?;
    store.write_spans(&five_traces())?;
    store.insert_events(&five_events())?;
    expect_eq("spans", &15, &store.count(RecordKind::Spans)?)?;
    expect_eq("events", &5, &store.count(RecordKind::Events)?)?;
    let cases: [(RecordKind, u64, Option<u64>); 7] = [
        (RecordKind::Spans, 0, Some(T0)),
        (RecordKind::Spans, 2, Some(T0 + 60 * SEC)),
        (RecordKind::Spans, 14, Some(T0 + 247 * SEC)),
        (RecordKind::Spans, 15, None),
        (RecordKind::Events, 0, Some(T0 + SEC)),
        (RecordKind::Events, 4, Some(T0 + 185 * SEC)),
        (RecordKind::Events, 5, None),
    ];
    for (signal, n, expected) in cases {
        expect_eq(
            format!("the {n}-th oldest of {signal:?}"),
            &expected,
            &store.nth_oldest(signal, n)?,
        )?;
    }
    Ok(())
}

/// Retention by age: spans starting before T0+61 s (R1, L1, R2) deleted, trace 1 gone, trace
/// 2 recomputed from L2, X2 and M2 (no root: its head span L2, now orphans, 3 spans, 61–75 s)
/// and still in its place; events before T0+66 s (the first two) deleted.
pub fn retention_deletes_spans_and_events(store: &dyn Store) -> CheckResult {
    use five::*;
    store.write_spans(&five_traces())?;
    store.insert_events(&five_events())?;
    expect_eq(
        "spans deleted",
        &3,
        &store.delete_before(RecordKind::Spans, T0 + 61 * SEC)?,
    )?;
    expect_eq("spans left", &12, &store.count(RecordKind::Spans)?)?;
    let left = ids_of(&all_spans(store, SpanFilter::new())?);
    expect_eq("the spans left", &span_ids(&five::ALL[3..]), &left)?;
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    expect_eq("the traces left", &trace_ids(&[5, 4, 3, 2]), &listed(&page))?;
    expect_eq("trace 1", &None, &store.trace(trace_id(1))?)?;
    let expected = TraceSummary {
        trace_id: trace_id(2),
        root_span_id: span_id(L2),
        root_name: "chat claude-3-5-sonnet".to_owned(),
        has_root: false,
        service_name: "svc-a".to_owned(),
        start_unix_nano: T0 + 61 * SEC,
        end_unix_nano: T0 + 75 * SEC,
        duration_ns: 14 * SEC,
        span_count: 3,
        error_count: 1,
        usage: TokenUsage::new(600, 150),
        cost: Some(Usd::from_nanos(13_000)),
        unpriced_count: 0,
        session_id: Some("s-2".to_owned()),
        agent_name: Some("research".to_owned()),
        user_id: Some("u-2".to_owned()),
        score_mean: None,
    };
    expect_eq("trace 2 in the list", &Some(&expected), &page.traces.last())?;
    let tree = store.trace(trace_id(2))?.ok_or("trace 2 is missing")?;
    let nodes: Vec<_> = tree
        .nodes
        .iter()
        .map(|n| (n.span.span_id, n.depth, n.orphan))
        .collect();
    let want = vec![
        (span_id(L2), 0, true),
        (span_id(X2), 0, true),
        (span_id(M2), 0, true),
    ];
    expect_eq("trace 2's nodes (span, depth, orphan)", &want, &nodes)?;
    let by_agent =
        store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]))?;
    let want = vec![
        (vec![key("research")], 6),
        (vec![key("support")], 5),
        (vec![GroupKey::None], 1),
    ];
    expect_eq("spans left by agent", &want, &keyed_counts(&by_agent))?;
    expect_eq(
        "spans deleted again",
        &0,
        &store.delete_before(RecordKind::Spans, T0 + 61 * SEC)?,
    )?;

    expect_eq(
        "events deleted",
        &2,
        &store.delete_before(RecordKind::Events, T0 + 66 * SEC)?,
    )?;
    expect_eq("events left", &3, &store.count(RecordKind::Events)?)?;
    let events = store.events(&EventQuery::new(EventFilter::new()))?.events;
    expect_eq("the events left", &five_events()[2..].to_vec(), &events)?;
    Ok(())
}

/// Retention of metrics by the end of their minute: a point of T0 (ended T0+60 s) deleted
/// by a cutoff of T0+120 s, one of T0+2 min (ending T0+3 min) kept; the spans stay.
pub fn retention_deletes_metric_points(store: &dyn Store) -> CheckResult {
    store.write_spans(&five_traces())?;
    let g = InstrumentKind::Gauge;
    store.insert_measurements(&[
        measurement("m", g, None, &[], 1.0, T0 + 5 * SEC),
        measurement("m", g, None, &[], 2.0, T0 + 125 * SEC),
    ])?;
    let deleted = store.delete_before(RecordKind::Metrics, T0 + 120 * SEC)?;
    ensure(
        deleted >= 1,
        format!("{deleted} metric rows deleted, expected at least the old point"),
    )?;
    let series = store.metric(&MetricQuery::new("m"))?;
    let points: Vec<_> = series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| (p.bucket_unix_nano, p.count, p.last))
        })
        .collect();
    expect_eq(
        "the points left (minute, count, last)",
        &vec![(T0 + 120 * SEC, 1, 2.0)],
        &points,
    )?;
    expect_eq("spans left", &15, &store.count(RecordKind::Spans)?)?;
    Ok(())
}

/// A fresh store answers every query with nothing: no trace, span, event, session, user,
/// tool, metric or notification; zero counts; an unknown trace `None`.
pub fn empty_store(store: &dyn Store) -> CheckResult {
    let page = store.list_traces(&TraceFilter::new(), None, 10)?;
    expect_eq("traces", &(0, None), &(page.traces.len(), page.next_cursor))?;
    expect_eq("spans", &0, &all_spans(store, SpanFilter::new())?.len())?;
    expect_eq(
        "events",
        &0,
        &store
            .events(&EventQuery::new(EventFilter::new()))?
            .events
            .len(),
    )?;
    expect_eq("trace", &None, &store.trace(trace_id(1))?)?;
    expect_eq("turn spans", &0, &store.turn_spans(trace_id(1))?.len())?;
    expect_eq(
        "sessions",
        &0,
        &store
            .sessions_by(TimeRange::ALL, SessionSort::Recent, 10)?
            .len(),
    )?;
    expect_eq("session", &None, &store.session("s-1")?)?;
    expect_eq(
        "users",
        &0,
        &store.users(TimeRange::ALL, SessionSort::Recent, 10)?.len(),
    )?;
    expect_eq(
        "aggregate rows",
        &0,
        &store
            .aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?
            .len(),
    )?;
    let summary = store.overview_exact(TimeRange::ALL)?;
    expect_eq(
        "the summary's (traces, spans, requests, cost, latency, models)",
        &(0, 0, 0, None, None, 0),
        &(
            summary.traces,
            summary.spans,
            summary.requests,
            summary.cost,
            summary.latency,
            summary.by_model.len(),
        ),
    )?;
    let rollup = store.aggregate(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?;
    expect_eq(
        "the rollup's (rows, spans)",
        &(0, 0),
        &(rollup.rows.len(), rollup.total.count),
    )?;
    expect_eq(
        "the overview's spans",
        &0,
        &store
            .overview(&OverviewQuery::new(TimeRange::ALL))?
            .summary
            .spans,
    )?;
    expect_eq(
        "tools",
        &0,
        &store.tools(TimeRange::ALL, 5, None)?.tools.len(),
    )?;
    expect_eq("metrics", &0, &store.metric_names(TimeRange::ALL)?.len())?;
    expect_eq(
        "notifications",
        &0,
        &store.alert_records(None, None, 10)?.len(),
    )?;
    expect_eq(
        "latest notifications",
        &0,
        &store.latest_alert_records()?.len(),
    )?;
    expect_eq(
        "spans awaiting their parent",
        &0,
        &store.spans_awaiting_parent(),
    )?;
    expect_eq("stored events", &0, &store.count(RecordKind::Events)?)?;
    expect_eq(
        "the oldest event",
        &None,
        &store.nth_oldest(RecordKind::Events, 0)?,
    )?;
    Ok(())
}

/// What a store says of itself: a description, a schema version, its size on disk (all told
/// at least its data), bytes in use growing with spans written, not shut down.
pub fn health(store: &dyn Store) -> CheckResult {
    ensure(
        !store.describe().is_empty(),
        "the store describes itself as \"\"",
    )?;
    let fresh = store.health()?;
    let version = fresh.schema_version;
    ensure(
        version > 0,
        format!("schema version {version}, expected > 0"),
    )?;
    ensure(!fresh.shut_down, "a fresh store says it is shut down")?;
    store.write_spans(&five_traces())?;
    let written = store.health()?;
    let usage = written.disk;
    ensure(
        usage.total_bytes >= usage.data_bytes,
        format!(
            "{} bytes on disk all told, fewer than the data's {}",
            usage.total_bytes, usage.data_bytes
        ),
    )?;
    let spans = store.stored_bytes(Some(RecordKind::Spans))?;
    ensure(spans > 0, "no bytes in use by 15 spans")?;
    let all = store.stored_bytes(None)?;
    ensure(
        all >= spans,
        format!("{all} bytes in use by the store, fewer than its spans' {spans}"),
    )?;
    ensure(
        !written.shut_down,
        "the store says it is shut down after a write",
    )?;
    Ok(())
}

/// Closing makes what was written durable and keeps it: every span, one whose parent never
/// came (a store that holds such spans writes them at the close) with them.
pub fn closing_keeps_what_was_written(store: &dyn Store) -> CheckResult {
    let mut spans = five_traces();
    spans.push(
        super::fixtures::span(9, 2, "orphan", T0 + SEC, T0 + 2 * SEC)
            .parent(999)
            .build(),
    );
    store.write_spans(&spans)?;
    store.close()?;
    expect_eq(
        "spans stored after the close",
        &(spans.len() as u64),
        &store.count(RecordKind::Spans)?,
    )?;
    Ok(())
}

/// A store asked to expire records itself (or saying it cannot) keeps what is younger than
/// the age, and stops when asked to keep everything.
pub fn expiry_by_the_store_keeps_what_is_young(store: &dyn Store) -> CheckResult {
    let now = agentrace_core::now_unix_nano();
    let young: Vec<_> = (1..=3u16)
        .map(|n| super::fixtures::span(7, n, "young", now - u64::from(n) * SEC, now).build())
        .collect();
    store.write_spans(&young)?;
    let day = std::time::Duration::from_secs(86_400);
    for kind in [
        RecordKind::Spans,
        RecordKind::Events,
        RecordKind::Metrics,
        RecordKind::Scores,
    ] {
        store.expire_after(kind, Some(day))?;
    }
    expect_eq(
        "young spans after expiry by a day",
        &3,
        &store.count(RecordKind::Spans)?,
    )?;
    for kind in [RecordKind::Spans, RecordKind::Events] {
        store.expire_after(kind, None)?;
    }
    expect_eq(
        "spans after expiry is lifted",
        &3,
        &store.count(RecordKind::Spans)?,
    )?;
    Ok(())
}
