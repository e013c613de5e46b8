//! Retention in the background, by age and by size.

use agentrace_store::Analytics;
use agentrace_store::Retention;
use agentrace_store::TraceReader;
use std::time::Duration;

use agentrace_sqlite::{AggregateQuery, GroupBy, RecordKind, SpanFilter, SpanQuery};

use crate::common::*;

const DAY: u64 = 86_400 * 1_000_000_000;

#[tokio::test]
async fn spans_and_events_older_than_max_age_are_deleted() -> Result {
    let t = TestServer::start(|c| {
        c.retention.spans.max_age = Some(Duration::from_secs(30 * 86_400));
        c.retention.events.max_age = Some(Duration::from_secs(60));
        c.retention.interval = Duration::from_millis(100);
    })
    .await?;
    let old = now() - 40 * DAY;
    let recent = now() - DAY;
    let spans = traces(vec![
        llm_span(1, 1, old),
        llm_span(2, 2, old + 1),
        llm_span(3, 3, recent),
    ]);
    let answer = post(&t.http_url("/v1/traces"), PROTOBUF, &[], protobuf(&spans)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let mut old_logs = logs(&["an old event"]);
    old_logs.resource_logs[0].scope_logs[0].log_records[0].time_unix_nano =
        now() - 3_600_000_000_000;
    let answer = post(&t.http_url("/v1/logs"), PROTOBUF, &[], protobuf(&old_logs)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());

    let gone = eventually(Duration::from_secs(10), || {
        Ok(t.stored(RecordKind::Spans)? == 1 && t.stored(RecordKind::Events)? == 0)
    })
    .await?;
    assert!(
        gone,
        "spans {:?}, events {:?}",
        t.stored(RecordKind::Spans),
        t.stored(RecordKind::Events)
    );
    let left = t
        .fresh_store()?
        .spans(&SpanQuery::new(SpanFilter::new()))?
        .spans;
    assert_eq!(left[0].start_time_unix_nano, recent);
    let stats = t.server.stats().retention;
    assert_eq!((stats.spans_deleted, stats.events_deleted), (2, 1));
    assert_eq!(stats.last_error, None);
    Ok(())
}

#[tokio::test]
async fn span_metrics_outlive_their_spans_until_their_own_max_age() -> Result {
    let t = TestServer::start(|c| {
        c.retention.spans.max_age = Some(Duration::from_secs(2 * 86_400));
        c.retention.metrics.max_age = Some(Duration::from_secs(30 * 86_400));
        c.retention.interval = Duration::from_millis(100);
    })
    .await?;
    // Spans of 40 days ago (their metrics too old as well), and of 10 days ago (spans too old,
    // metrics kept).
    let spans = traces(vec![
        llm_span(1, 1, now() - 40 * DAY),
        llm_span(2, 2, now() - 10 * DAY),
    ]);
    let answer = post(&t.http_url("/v1/traces"), PROTOBUF, &[], protobuf(&spans)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let done = eventually(Duration::from_secs(10), || {
        let stats = t.server.stats().retention;
        Ok(stats.spans_deleted == 2 && stats.metrics_deleted > 0)
    })
    .await?;
    assert!(done, "{:?}", t.server.stats().retention);
    assert_eq!(t.stored(RecordKind::Spans)?, 0);
    // What is left: the minute and hour of the span of 10 days ago, which the cost view reads.
    let store = t.fresh_store()?;
    assert_eq!(store.count(RecordKind::Metrics)?, 2);
    let cost = store.aggregate(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Model]))?;
    assert_eq!(cost.total.count, 1, "{cost:?}");
    Ok(())
}

#[tokio::test]
async fn the_oldest_spans_go_when_spans_take_more_than_max_size() -> Result {
    const MAX: u64 = 512 * 1024;
    let t = TestServer::start(|c| {
        c.retention.spans.max_bytes = Some(MAX);
        c.retention.interval = Duration::from_millis(100);
    })
    .await?;
    let start = now() - 3_600_000_000_000;
    let padding = "x".repeat(1_000);
    for batch in 0..10u64 {
        let spans = (0..200u64)
            .map(|i| {
                let n = batch * 200 + i;
                let mut span = llm_span(n, n, start + n * 1_000_000);
                span.attributes.push(text("padding", &padding));
                span
            })
            .collect();
        t.export(&traces(spans)).await?;
    }
    let under = eventually(Duration::from_secs(20), || {
        Ok(t.fresh_store()?.stored_bytes(Some(RecordKind::Spans))? <= MAX)
    })
    .await?;
    assert!(
        under,
        "spans still take {:?} bytes",
        t.fresh_store()?.stored_bytes(Some(RecordKind::Spans))
    );
    let store = t.fresh_store()?;
    let left = store.count(RecordKind::Spans)?;
    assert!(left > 0 && left < 2_000, "{left} spans left");
    // The oldest went first: what is left is the newest.
    let oldest_left = store.nth_oldest(RecordKind::Spans, 0)?.ok_or("empty")?;
    assert_eq!(oldest_left, start + (2_000 - left) * 1_000_000);
    assert_eq!(t.server.stats().retention.spans_deleted, 2_000 - left);
    Ok(())
}
