//! Aggregates, summary and sessions on hand-built data with known answers.

mod common;

use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::SessionSort;
use agentrace_store::TraceReader;
use std::collections::BTreeMap;

use agentrace_core::{SpanKind, SpanRecord, TokenUsage, Usd};
use agentrace_sqlite::{
    AggregateQuery, AggregateRow, GroupBy, GroupKey, Percentiles, QueryError, SpanFilter,
    SqliteStore, TimeRange,
};
use agentrace_store::series::DurationHistogram;
use common::{MS, SEC, T0, TestResult, failed, llm, sid, span, tid};

/// 100 priced `m-a` calls (i = 1..=100: duration i ms, cost i nano-dollars, agent alpha when i
/// is odd else beta, failed when i is a multiple of 10), 3 unpriced `m-b` calls (10, 20,
/// 30 ms), and 4 tool spans in one trace (1..=4 ms, one failed).
fn dataset() -> Vec<SpanRecord> {
    let mut spans = Vec::new();
    for i in 1..=100u64 {
        let mut s = llm(
            tid(i),
            sid(i),
            "m-a",
            T0 + i * SEC,
            i * MS,
            TokenUsage::new(10, 1),
            Some(i as i64),
        );
        s.agent_name = Some(if i % 2 == 1 { "alpha" } else { "beta" }.into());
        s.provider = Some("openai".into());
        spans.push(if i % 10 == 0 { failed(s) } else { s });
    }
    for j in 1..=3u64 {
        spans.push(llm(
            tid(200 + j),
            sid(200 + j),
            "m-b",
            T0 + j * SEC,
            j * 10 * MS,
            TokenUsage::default(),
            None,
        ));
    }
    for k in 1..=4u64 {
        let mut s = span(
            tid(300),
            sid(300 + k),
            None,
            "search",
            T0 + 500 * SEC + k * MS,
            k * MS,
        );
        s.kind = SpanKind::Tool;
        s.tool_name = Some("search".into());
        spans.push(if k == 2 { failed(s) } else { s });
    }
    spans
}

fn store_with_dataset() -> Result<(tempfile::TempDir, SqliteStore), Box<dyn std::error::Error>> {
    let (dir, store) = common::open()?;
    // In several batches, as the pipeline would send them.
    for chunk in dataset().chunks(16) {
        store.write_spans(chunk)?;
    }
    Ok((dir, store))
}

fn p(p50: u64, p95: u64, p99: u64) -> Percentiles {
    Percentiles {
        p50_ns: p50 * MS,
        p95_ns: p95 * MS,
        p99_ns: p99 * MS,
    }
}

fn key(v: &str) -> GroupKey {
    GroupKey::Value(v.into())
}

#[test]
fn group_by_model_with_percentiles_errors_tokens_and_cost() -> TestResult {
    let (_dir, store) = store_with_dataset()?;
    let rows = store.aggregate_exact(&AggregateQuery::new(
        SpanFilter::new().kind(SpanKind::Llm),
        [GroupBy::Model],
    ))?;
    assert_eq!(
        rows,
        vec![
            AggregateRow {
                keys: vec![key("m-a")],
                count: 100,
                errors: 10,
                duration: p(50, 95, 99),
                durations: DurationHistogram::from_durations((1..=100).map(|i| i * MS)),
                usage: TokenUsage::new(1_000, 100),
                cost: Some(Usd::from_nanos(5_050)),
                priced: 100,
                unpriced: 0,
                unpriced_usage: TokenUsage::default(),
            },
            AggregateRow {
                keys: vec![key("m-b")],
                count: 3,
                errors: 0,
                duration: p(20, 30, 30),
                durations: DurationHistogram::from_durations([10 * MS, 20 * MS, 30 * MS]),
                usage: TokenUsage::default(),
                cost: None, // unpriced stays unknown, never a silent zero
                priced: 0,
                unpriced: 3,
                unpriced_usage: TokenUsage::default(), // these calls reported no tokens
            },
        ]
    );
    Ok(())
}

#[test]
fn group_by_agent_puts_spans_without_agent_last() -> TestResult {
    let (_dir, store) = store_with_dataset()?;
    let rows = store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [GroupBy::Agent]))?;
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.keys[0].clone(),
                r.count,
                r.errors,
                r.duration,
                r.cost.map(Usd::nanos),
                r.unpriced,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            // Odd i: 1, 3, …, 99 ms. Nearest rank of 50 values: 25th, 48th, 50th.
            (key("alpha"), 50, 0, p(49, 95, 99), Some(2_500), 0),
            (key("beta"), 50, 10, p(50, 96, 100), Some(2_550), 0),
            // m-b (10, 20, 30) and tools (1..=4): 1 2 3 4 10 20 30 → 4th, 7th, 7th.
            (GroupKey::None, 7, 1, p(4, 30, 30), None, 3),
        ]
    );
    Ok(())
}

#[test]
fn group_by_kind_provider_and_tool() -> TestResult {
    let (_dir, store) = store_with_dataset()?;
    let counts = |g: GroupBy| -> Result<Vec<(GroupKey, u64, u64)>, QueryError> {
        Ok(store
            .aggregate_exact(&AggregateQuery::new(SpanFilter::new(), [g]))?
            .into_iter()
            .map(|r| (r.keys[0].clone(), r.count, r.errors))
            .collect())
    };
    assert_eq!(
        counts(GroupBy::Kind)?,
        vec![(key("llm"), 103, 10), (key("tool"), 4, 1)]
    );
    assert_eq!(
        counts(GroupBy::Provider)?,
        vec![(key("openai"), 100, 10), (GroupKey::None, 7, 1)]
    );
    assert_eq!(
        counts(GroupBy::Tool)?,
        vec![(key("search"), 4, 1), (GroupKey::None, 103, 10)]
    );
    // No dimension: one row for everything.
    let all = store.aggregate_exact(&AggregateQuery::new(SpanFilter::new(), []))?;
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].count, all[0].errors, all[0].priced, all[0].unpriced),
        (107, 11, 100, 3)
    );
    // Nothing matches: no rows.
    let none = store.aggregate_exact(&AggregateQuery::new(SpanFilter::new().model("nope"), []))?;
    assert!(none.is_empty());
    Ok(())
}

/// Nearest rank, computed the slow way.
fn nearest_rank(sorted: &[u64], p: u64) -> u64 {
    let rank = (p * sorted.len() as u64).div_ceil(100);
    sorted[rank as usize - 1]
}

#[test]
fn time_buckets_by_model_match_a_reference_computation() -> TestResult {
    let (_dir, store) = store_with_dataset()?;
    let width = 10 * SEC;
    let range = TimeRange::new(T0 + 5 * SEC, T0 + 95 * SEC);
    let rows = store.aggregate_exact(&AggregateQuery::new(
        SpanFilter::new().range(range).kind(SpanKind::Llm),
        [GroupBy::TimeBucket { width_ns: width }, GroupBy::Model],
    ))?;
    let mut expected: BTreeMap<(u64, String), Vec<&SpanRecord>> = BTreeMap::new();
    let data = dataset();
    for s in data
        .iter()
        .filter(|s| s.kind == SpanKind::Llm && range.contains(s.start_time_unix_nano))
    {
        let bucket = s.start_time_unix_nano / width * width;
        expected
            .entry((bucket, s.model().unwrap_or_default().to_owned()))
            .or_default()
            .push(s);
    }
    assert!(expected.len() > 5);
    assert_eq!(rows.len(), expected.len());
    for (row, ((bucket, model), spans)) in rows.iter().zip(&expected) {
        assert_eq!(row.keys, vec![GroupKey::Bucket(*bucket), key(model)]);
        let mut durations: Vec<u64> = spans.iter().map(|s| s.duration_ns()).collect();
        durations.sort_unstable();
        assert_eq!(row.count, spans.len() as u64);
        assert_eq!(
            row.errors,
            spans.iter().filter(|s| s.is_error()).count() as u64
        );
        assert_eq!(
            row.duration,
            Percentiles {
                p50_ns: nearest_rank(&durations, 50),
                p95_ns: nearest_rank(&durations, 95),
                p99_ns: nearest_rank(&durations, 99),
            }
        );
        let cost: Option<Usd> = spans
            .iter()
            .filter_map(|s| s.cost.map(|c| c.total))
            .reduce(|a, b| a + b);
        assert_eq!(row.cost, cost);
    }
    Ok(())
}

#[test]
fn a_zero_width_bucket_is_an_invalid_query() -> TestResult {
    let (_dir, store) = common::open()?;
    let err = store.aggregate_exact(&AggregateQuery::new(
        SpanFilter::new(),
        [GroupBy::TimeBucket { width_ns: 0 }],
    ));
    assert!(matches!(err, Err(QueryError::Invalid(_))), "{err:?}");
    Ok(())
}

#[test]
fn summary_of_the_dataset() -> TestResult {
    let (_dir, store) = store_with_dataset()?;
    let s = store.overview_exact(TimeRange::ALL)?;
    assert_eq!((s.traces, s.spans, s.span_errors), (104, 107, 11));
    assert_eq!((s.requests, s.errors), (103, 10));
    assert!((s.error_rate - 10.0 / 103.0).abs() < 1e-12);
    // 1..=100 ms and 10, 20, 30 ms: ranks 52, 98 and 102 of 103.
    assert_eq!(s.latency, Some(p(49, 95, 99)));
    assert_eq!(s.usage, TokenUsage::new(1_000, 100));
    assert_eq!(
        (s.cost, s.priced, s.unpriced),
        (Some(Usd::from_nanos(5_050)), 100, 3)
    );
    let by_model: Vec<_> = s
        .by_model
        .iter()
        .map(|r| (r.keys[0].clone(), r.cost))
        .collect();
    assert_eq!(
        by_model,
        vec![
            (key("m-a"), Some(Usd::from_nanos(5_050))),
            (key("m-b"), None)
        ]
    );
    let by_agent: Vec<_> = s
        .by_agent
        .iter()
        .map(|r| (r.keys[0].clone(), r.count, r.cost))
        .collect();
    assert_eq!(
        by_agent,
        vec![
            (key("beta"), 50, Some(Usd::from_nanos(2_550))),
            (key("alpha"), 50, Some(Usd::from_nanos(2_500))),
            (GroupKey::None, 3, None), // the unpriced m-b calls; tools are not billable
        ]
    );
    // A range with nothing in it.
    let empty = store.overview_exact(TimeRange::until(T0))?;
    assert_eq!(
        (empty.spans, empty.requests, empty.latency, empty.cost),
        (0, 0, None, None)
    );
    assert_eq!(empty.error_rate, 0.0);
    Ok(())
}

#[test]
fn sessions_with_counts_tokens_cost_and_times() -> TestResult {
    let (_dir, store) = common::open()?;
    let mut spans = Vec::new();
    for i in 0..6u64 {
        let mut s = llm(
            tid(i % 2),
            sid(i),
            "m",
            T0 + i * SEC,
            SEC / 2,
            TokenUsage::new(100, 10),
            (i != 5).then_some(1_000),
        );
        s.session_id = Some("chat-1".into());
        s.user_id = Some("ann".into());
        spans.push(if i == 3 { failed(s) } else { s });
    }
    let mut later = llm(
        tid(9),
        sid(9),
        "m",
        T0 + 100 * SEC,
        SEC,
        TokenUsage::new(1, 1),
        Some(5),
    );
    later.session_id = Some("chat-2".into());
    spans.push(later);
    spans.push(span(
        tid(10),
        sid(10),
        None,
        "no session",
        T0 + 200 * SEC,
        1,
    ));
    store.write_spans(&spans)?;

    let sessions = store.sessions_by(TimeRange::ALL, SessionSort::Recent, 10)?;
    assert_eq!(sessions.len(), 2);
    let (latest, first) = (&sessions[0], &sessions[1]);
    assert_eq!(latest.session_id, "chat-2");
    assert_eq!(first.session_id, "chat-1");
    assert_eq!((first.traces, first.spans, first.errors), (2, 6, 1));
    assert_eq!(first.usage, TokenUsage::new(600, 60));
    assert_eq!(
        (first.cost, first.unpriced),
        (Some(Usd::from_nanos(5_000)), 1)
    );
    assert_eq!(first.first_seen_unix_nano, T0);
    assert_eq!(first.last_seen_unix_nano, T0 + 5 * SEC + SEC / 2);
    assert_eq!(first.user_id.as_deref(), Some("ann"));
    assert_eq!(
        store
            .sessions_by(TimeRange::ALL, SessionSort::Recent, 1)?
            .len(),
        1
    );
    assert_eq!(
        store.sessions_by(TimeRange::since(T0 + 50 * SEC), SessionSort::Recent, 10)?[0].session_id,
        "chat-2"
    );
    // One session by id: the same row as in the list.
    assert_eq!(store.session("chat-1")?.as_ref(), Some(first));
    assert_eq!(store.session("nobody")?, None);
    Ok(())
}
