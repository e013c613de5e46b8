//! The rollups against a recomputation from the spans: after inserts (in several batches, out
//! of order, with duplicates), repricing and retention; the overview, tool analytics, and the
//! migration that computes rollups for a store written before them.

mod common;

use agentrace_core::normalize::mark_aggregate;
use agentrace_core::semconv::agentrace::MCP_SERVER;
use agentrace_core::{Cost, SpanKind, SpanRecord, SpanStatus, TokenUsage, Usd};
use agentrace_sqlite::{
    AggregateQuery, AggregateRow, CostUpdate, GroupBy, GroupKey, OverviewQuery, Percentiles,
    RecordKind, RollupSource, SpanFilter, SqliteStore, StatusFilter, TimeRange, TraceFilter,
};
use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::Repairs;
use agentrace_store::Retention;
use agentrace_store::TraceReader;
use common::{MS, SEC, T0, TestResult, sid, span, tid};

const MINUTE: u64 = 60 * SEC;
const HOUR: u64 = 60 * MINUTE;
/// A whole hour, so that hour buckets start on it.
const H0: u64 = T0 - T0 % HOUR;

/// A deterministic pseudo-random sequence (a 64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) % n
    }
}

/// `n` spans over three hours: every kind, several models (requested and responding), agents
/// (or none), providers, frameworks, tools with failures of several types and messages,
/// priced and unpriced calls, durations from 1 µs to 20 s.
fn dataset(n: u64) -> Vec<SpanRecord> {
    let mut rng = Lcg(7);
    (0..n)
        .map(|i| {
            let start = H0 + 10 * MINUTE + rng.next(3 * HOUR);
            let duration = [1_000, 250_000, 3 * MS, 80 * MS, 900 * MS, 20 * SEC]
                [rng.next(6) as usize]
                + rng.next(1_000_000);
            let mut s = span(tid(i / 5), sid(i), None, "step", start, duration);
            s.kind = [
                SpanKind::Llm,
                SpanKind::Llm,
                SpanKind::Tool,
                SpanKind::Agent,
                SpanKind::Other,
            ][rng.next(5) as usize];
            s.agent_name =
                [Some("planner"), Some("coder"), None][rng.next(3) as usize].map(Into::into);
            s.framework = [Some("rig"), None][rng.next(2) as usize].map(Into::into);
            s.session_id = Some(format!("session-{}", i % 7).into());
            s.user_id = Some(format!("user-{}", i % 3).into());
            match s.kind {
                SpanKind::Llm => {
                    let model = ["gpt-4o", "claude-sonnet-4", "local-llama"][rng.next(3) as usize];
                    s.name = format!("chat {model}").into();
                    s.provider = Some(if model == "gpt-4o" { "openai" } else { "other" }.into());
                    s.operation = Some("chat".into());
                    s.request_model = Some(model.into());
                    if rng.next(2) == 0 {
                        s.response_model = Some(format!("{model}-2025").into());
                    }
                    s.usage = TokenUsage {
                        input_tokens: 100 + rng.next(5_000),
                        output_tokens: rng.next(800),
                        cache_read_tokens: rng.next(100),
                        cache_write_tokens: rng.next(50),
                        cache_write_1h_tokens: rng.next(10),
                        reasoning_tokens: (rng.next(4) > 0).then(|| rng.next(30)),
                    };
                    if model != "local-llama" {
                        let c = rng.next(10_000) as i64;
                        s.cost = Some(Cost::from_parts(
                            Usd::from_nanos(c),
                            Usd::from_nanos(c / 10),
                            Usd::ZERO,
                            Usd::from_nanos(2 * c),
                        ));
                    }
                    if rng.next(10) == 0 {
                        s.status =
                            SpanStatus::error(format!("rate limited, retry in {}s", rng.next(60)));
                        s.attributes.insert("error.type", "429");
                    }
                }
                SpanKind::Tool => {
                    let tool = ["web_search", "calculator"][rng.next(2) as usize];
                    s.tool_name = Some(tool.into());
                    s.operation = Some("execute_tool".into());
                    // A third on MCP servers (chosen without the generator: the other spans
                    // stay as they were).
                    if i % 3 == 0 {
                        s.attributes
                            .insert(MCP_SERVER, ["docs", "web"][(i / 3 % 2) as usize]);
                    }
                    match rng.next(6) {
                        0 => {
                            s.status =
                                SpanStatus::error(format!("timeout after {}s", 30 + rng.next(5)));
                            s.attributes.insert("error.type", "timeout");
                        }
                        1 => s.status = SpanStatus::error("upstream returned 502"),
                        _ => {}
                    }
                }
                SpanKind::Other if rng.next(3) == 0 => {
                    // A non-LLM span with tokens and no price: billable, unpriced.
                    s.usage = TokenUsage::new(rng.next(100) + 1, 0);
                }
                _ => {}
            }
            if s.kind == SpanKind::Llm && rng.next(8) == 0 {
                // A call that repeats the usage of calls below it: billable neither priced
                // nor unpriced.
                mark_aggregate(&mut s);
            }
            s
        })
        .collect()
}

/// A store holding `spans`, written in batches of 64 in reverse order, each batch twice.
fn store_with(
    spans: &[SpanRecord],
) -> Result<(tempfile::TempDir, SqliteStore), Box<dyn std::error::Error>> {
    let (dir, store) = common::open()?;
    for chunk in spans.rchunks(64) {
        store.write_spans(chunk)?;
        let again = store.write_spans(chunk)?;
        assert_eq!(again.inserted, 0, "a resent batch adds nothing");
    }
    Ok((dir, store))
}

fn close(rollup: u64, exact: u64) -> bool {
    rollup.abs_diff(exact) as f64 <= exact as f64 / 32.0 + 1.0
}

fn assert_close(r: &Percentiles, e: &Percentiles, what: &str) {
    for (a, b) in [
        (r.p50_ns, e.p50_ns),
        (r.p95_ns, e.p95_ns),
        (r.p99_ns, e.p99_ns),
    ] {
        assert!(
            close(a, b),
            "{what}: percentile {a} vs exact {b} ({r:?} vs {e:?})"
        );
    }
}

/// Rows from the rollups equal exact rows: counts, tokens and costs exactly, percentiles
/// within 1/32.
fn assert_same(rollup: &[AggregateRow], exact: &[AggregateRow], what: &str) {
    assert_eq!(
        rollup.iter().map(|r| &r.keys).collect::<Vec<_>>(),
        exact.iter().map(|r| &r.keys).collect::<Vec<_>>(),
        "{what}: groups"
    );
    for (r, e) in rollup.iter().zip(exact) {
        let strip = |row: &AggregateRow| AggregateRow {
            duration: Percentiles::default(),
            ..row.clone()
        };
        assert_eq!(strip(r), strip(e), "{what}: {:?}", r.keys);
        assert_close(&r.duration, &e.duration, what);
    }
}

/// Rows sorted by key (costliest-first lists tie in any order).
fn by_key(rows: &[AggregateRow]) -> Vec<AggregateRow> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    rows
}

/// Every covered query: rollup answers equal `aggregate` over the widened range.
fn assert_rollups_match_spans(store: &SqliteStore) -> TestResult {
    let day = GroupBy::TimeBucket {
        width_ns: 24 * HOUR,
    };
    let ranges = [
        TimeRange::ALL,
        TimeRange::new(H0 + 37 * MINUTE + 5, H0 + 2 * HOUR + 3 * MINUTE + 1),
        TimeRange::since(H0 + HOUR + 30 * SEC),
        TimeRange::until(H0 + 2 * HOUR),
    ];
    let groupings: Vec<Vec<GroupBy>> = vec![
        vec![],
        vec![GroupBy::Model],
        vec![GroupBy::Provider, GroupBy::Model],
        vec![GroupBy::Agent],
        vec![GroupBy::Framework],
        vec![GroupBy::Kind],
        vec![GroupBy::Service, GroupBy::Operation],
        vec![GroupBy::Tool],
        vec![GroupBy::McpServer, GroupBy::Tool],
        vec![day, GroupBy::Model],
        vec![GroupBy::TimeBucket { width_ns: HOUR }],
        vec![GroupBy::TimeBucket {
            width_ns: 5 * MINUTE,
        }],
    ];
    let filters = [
        SpanFilter::new(),
        SpanFilter::new().billable(true),
        SpanFilter::new().billable(false),
        SpanFilter::new().kind(SpanKind::Llm).model("gpt-4o"),
        SpanFilter::new().model("claude-sonnet-4-2025"),
        SpanFilter::new().agent("planner").framework("rig"),
        SpanFilter::new()
            .tool("web_search")
            .service("svc")
            .provider("nobody"),
    ];
    for range in ranges {
        for group_by in &groupings {
            for filter in &filters {
                let q = AggregateQuery::new(filter.clone().range(range), group_by.clone());
                let answer = store.aggregate(&q)?;
                assert_eq!(answer.source, RollupSource::Rollups);
                let widened = filter.clone().range(answer.range);
                let exact = store
                    .aggregate_exact(&AggregateQuery::new(widened.clone(), group_by.clone()))?;
                let what = format!("{range:?} {group_by:?} {filter:?}");
                assert_same(&answer.rows, &exact, &what);
                let total = store.aggregate_exact(&AggregateQuery::new(widened, []))?;
                match total.first() {
                    Some(t) => assert_same(
                        std::slice::from_ref(&answer.total),
                        std::slice::from_ref(t),
                        &what,
                    ),
                    None => assert_eq!(answer.total.count, 0, "{what}"),
                }
            }
        }
    }
    Ok(())
}

#[test]
fn rollups_equal_a_recomputation_from_the_spans() -> TestResult {
    let spans = dataset(3_000);
    let (_dir, store) = store_with(&spans)?;
    // The data spans hours and many keys.
    let by_hour = store.aggregate(&AggregateQuery::new(
        SpanFilter::new(),
        [GroupBy::TimeBucket { width_ns: HOUR }, GroupBy::Model],
    ))?;
    assert!(by_hour.rows.len() >= 4 * 6, "{} rows", by_hour.rows.len());
    assert_rollups_match_spans(&store)
}

#[test]
fn the_range_widens_to_whole_minutes() -> TestResult {
    let (_dir, store) = store_with(&dataset(200))?;
    let range = TimeRange::new(H0 + 90 * MINUTE + 1, H0 + 95 * MINUTE + 59 * SEC);
    let answer = store.aggregate(&AggregateQuery::new(SpanFilter::new().range(range), []))?;
    assert_eq!(
        answer.range,
        TimeRange::new(H0 + 90 * MINUTE, H0 + 96 * MINUTE)
    );
    Ok(())
}

#[test]
fn repricing_moves_contributions_between_rows() -> TestResult {
    let spans = dataset(1_500);
    let (_dir, store) = store_with(&spans)?;
    let cost = |n: i64| {
        Some(Cost::from_parts(
            Usd::from_nanos(n),
            Usd::ZERO,
            Usd::ZERO,
            Usd::ZERO,
        ))
    };
    let mut updates = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let new = match (i % 4, s.kind) {
            // Priced → unpriced, and unpriced → priced.
            (0, SpanKind::Llm) => {
                if s.cost.is_some() {
                    None
                } else {
                    cost(77)
                }
            }
            // A new price.
            (1, SpanKind::Llm) => cost(i as i64),
            // An agent span gets a price: it becomes billable (another rollup key).
            (2, SpanKind::Agent) => cost(5),
            _ => continue,
        };
        updates.push(CostUpdate {
            trace_id: s.trace_id,
            span_id: s.span_id,
            cost: new,
        });
    }
    assert!(store.update_costs(&updates)? > 100);
    assert_rollups_match_spans(&store)?;
    // And back: a span made billable, then not again.
    let undo: Vec<_> = updates
        .iter()
        .filter(|u| u.cost == cost(5))
        .map(|u| CostUpdate { cost: None, ..*u })
        .collect();
    store.update_costs(&undo)?;
    assert_rollups_match_spans(&store)
}

#[test]
fn metrics_outlive_the_spans_until_their_own_retention() -> TestResult {
    let spans = dataset(2_000);
    let (dir, store) = store_with(&spans)?;
    let by_model = || {
        store.aggregate(&AggregateQuery::new(
            SpanFilter::new(),
            [GroupBy::Model, GroupBy::Kind],
        ))
    };
    let before = by_model()?;
    store.delete_before(RecordKind::Spans, u64::MAX)?;
    assert_eq!(store.count(RecordKind::Spans)?, 0);
    assert_eq!(by_model()?, before, "the metrics of deleted spans stay");
    let rows = store.count(RecordKind::Metrics)?;
    assert!(rows > 0);
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let count =
        |sql: &str| -> Result<i64, rusqlite::Error> { raw.query_row(sql, [], |r| r.get(0)) };
    // Mid-hour: the minute rows that ended by then go, and the hour rows that ended by then;
    // the hour under way stays whole.
    let cutoff = H0 + HOUR + 17 * MINUTE + 29 * SEC;
    let oldest = store
        .nth_oldest(RecordKind::Metrics, 0)?
        .ok_or("no metrics")?;
    let deleted = store.delete_before(RecordKind::Metrics, cutoff)?;
    assert!(
        deleted > 0 && (deleted as u64) < rows,
        "{deleted} of {rows}"
    );
    assert_eq!(store.count(RecordKind::Metrics)?, rows - deleted as u64);
    let ended = format!(
        "SELECT count(*) FROM rollups WHERE bucket_ns + tier * 1000000000 <= {}",
        i64::try_from(cutoff)?
    );
    assert_eq!(count(&ended)?, 0);
    assert_eq!(
        count(&ended.replace("rollups", "rollup_errors"))?,
        0,
        "error rows go with their buckets"
    );
    assert!(
        store
            .nth_oldest(RecordKind::Metrics, 0)?
            .is_some_and(|t| t > oldest)
    );
    store.delete_before(RecordKind::Metrics, u64::MAX)?;
    assert_eq!(
        count("SELECT (SELECT count(*) FROM rollups) + (SELECT count(*) FROM rollup_errors)")?,
        0
    );
    Ok(())
}

#[test]
fn uncovered_queries_are_answered_exactly_from_the_spans() -> TestResult {
    let spans = dataset(500);
    let (_dir, store) = store_with(&spans)?;
    for (filter, group_by) in [
        (SpanFilter::new(), vec![GroupBy::Session]),
        (SpanFilter::new(), vec![GroupBy::User, GroupBy::Model]),
        (
            SpanFilter::new().status(StatusFilter::Error),
            vec![GroupBy::Tool],
        ),
        (SpanFilter::new().session("session-3"), vec![]),
        (
            SpanFilter::new(),
            vec![GroupBy::TimeBucket { width_ns: 90 * SEC }],
        ),
    ] {
        let answer = store.aggregate(&AggregateQuery::new(filter.clone(), group_by.clone()))?;
        assert_eq!(
            answer.source,
            RollupSource::Spans,
            "{filter:?} {group_by:?}"
        );
        let exact =
            store.aggregate_exact(&AggregateQuery::new(filter.range(answer.range), group_by))?;
        assert_eq!(answer.rows, exact);
    }
    let zero = store.aggregate(&AggregateQuery::new(
        SpanFilter::new(),
        [GroupBy::TimeBucket { width_ns: 0 }],
    ));
    assert!(zero.is_err(), "a zero-width bucket is refused");
    Ok(())
}

#[test]
fn the_overview_matches_the_exact_summary_and_its_series_adds_up() -> TestResult {
    let spans = dataset(2_500);
    let (_dir, store) = store_with(&spans)?;
    for (range, bucket) in [
        (TimeRange::ALL, None),
        (
            TimeRange::new(H0 + 20 * MINUTE, H0 + 2 * HOUR + 20 * MINUTE),
            Some(10 * MINUTE),
        ),
        (TimeRange::since(H0), Some(HOUR)),
    ] {
        let mut q = OverviewQuery::new(range);
        q.bucket_ns = bucket;
        let o = store.overview(&q)?;
        let exact = store.overview_exact(o.summary.range)?;
        let (fast, slow) = (&o.summary, &exact);
        assert!(
            fast.spans > 500 && fast.priced > 100,
            "{range:?}: a meaningful sample"
        );
        assert_eq!(
            (
                fast.traces,
                fast.spans,
                fast.span_errors,
                fast.requests,
                fast.errors
            ),
            (
                slow.traces,
                slow.spans,
                slow.span_errors,
                slow.requests,
                slow.errors
            )
        );
        assert_eq!(
            (fast.usage, fast.cost, fast.priced, fast.unpriced),
            (slow.usage, slow.cost, slow.priced, slow.unpriced)
        );
        assert_eq!(fast.unpriced_usage, slow.unpriced_usage);
        assert_eq!(fast.error_rate, slow.error_rate);
        match (&fast.latency, &slow.latency) {
            (Some(f), Some(s)) => assert_close(f, s, "latency"),
            (f, s) => assert_eq!(f.is_some(), s.is_some()),
        }
        assert_same(&by_key(&fast.by_model), &by_key(&slow.by_model), "by model");
        assert_same(&by_key(&fast.by_agent), &by_key(&slow.by_agent), "by agent");
        // The series: consecutive buckets covering the range, adding up to the totals.
        let width = o.bucket_ns;
        assert!(o.series.len() <= 60 || bucket.is_some());
        for pair in o.series.windows(2) {
            assert_eq!(pair[1].start_unix_nano - pair[0].start_unix_nano, width);
        }
        if let Some(start) = range.start_unix_nano {
            assert_eq!(o.series[0].start_unix_nano, start - start % width);
        }
        assert_eq!(o.series.iter().map(|p| p.spans).sum::<u64>(), fast.spans);
        assert_eq!(
            o.series.iter().map(|p| p.requests).sum::<u64>(),
            fast.requests
        );
        assert_eq!(o.series.iter().map(|p| p.errors).sum::<u64>(), fast.errors);
        let cost: i64 = o.series.iter().filter_map(|p| p.cost).map(Usd::nanos).sum();
        assert_eq!(
            Some(Usd::from_nanos(cost)),
            fast.cost,
            "{range:?} priced {} spans {}",
            fast.priced,
            fast.spans
        );
        // Each point against the exact summary of its bucket.
        for p in o.series.iter().filter(|p| p.requests > 0).take(3) {
            let r = o.summary.range;
            let bucket = TimeRange::new(
                p.start_unix_nano.max(r.start_unix_nano.unwrap_or(0)),
                (p.start_unix_nano + width).min(r.end_unix_nano.unwrap_or(u64::MAX)),
            );
            let exact = store.overview_exact(bucket)?;
            assert_eq!(
                (p.spans, p.requests, p.errors, p.cost),
                (exact.spans, exact.requests, exact.errors, exact.cost)
            );
            assert_close(
                &p.latency.unwrap_or_default(),
                &exact.latency.unwrap_or_default(),
                "point latency",
            );
        }
    }
    let empty = store.overview(&OverviewQuery::new(TimeRange::since(H0 + 100 * HOUR)))?;
    assert_eq!((empty.summary.spans, empty.series.len()), (0, 0));
    assert!(
        store
            .overview(&OverviewQuery::new(TimeRange::ALL).bucket_ns(90 * SEC))
            .is_err()
    );
    assert!(
        store
            .overview(&OverviewQuery::new(TimeRange::new(0, H0)).bucket_ns(MINUTE))
            .is_err(),
        "millions of points are refused"
    );
    Ok(())
}

#[test]
fn tools_count_calls_failures_and_error_patterns() -> TestResult {
    let spans = dataset(2_000);
    let (_dir, store) = store_with(&spans)?;
    let answer = store.tools(TimeRange::ALL, 3, None)?;
    assert_eq!(
        answer.tools.len(),
        6,
        "two tools, local and on two MCP servers"
    );
    let server_of = |s: &SpanRecord| {
        s.attributes
            .get(MCP_SERVER)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    for t in &answer.tools {
        let name = t.tool.as_deref().ok_or("a tool without name")?;
        let mine: Vec<_> = spans
            .iter()
            .filter(|s| {
                s.kind == SpanKind::Tool
                    && s.tool_name.as_deref() == Some(name)
                    && server_of(s) == t.mcp_server
            })
            .collect();
        let failed: Vec<_> = mine.iter().filter(|s| s.status.message.is_some()).collect();
        assert_eq!(
            (t.calls, t.errors),
            (mine.len() as u64, failed.len() as u64)
        );
        assert!((t.success_rate - (1.0 - failed.len() as f64 / mine.len() as f64)).abs() < 1e-12);
        let timeouts = failed
            .iter()
            .filter(|s| s.attributes.get("error.type").is_some())
            .count() as u64;
        let mut types: Vec<_> = t
            .error_types
            .iter()
            .map(|e| (e.error_type.as_deref(), e.count))
            .collect();
        types.sort();
        assert_eq!(
            types,
            vec![
                (None, failed.len() as u64 - timeouts),
                (Some("timeout"), timeouts)
            ]
        );
        assert!(
            t.error_types.windows(2).all(|w| w[0].count >= w[1].count),
            "most frequent first"
        );
        // Messages differing only in numbers share a pattern.
        let patterns: Vec<_> = t
            .top_errors
            .iter()
            .map(|e| (e.pattern.as_deref(), e.count))
            .collect();
        assert!(
            patterns.contains(&(Some("timeout after <n>s"), timeouts)),
            "{patterns:?}"
        );
        assert!(patterns.contains(&(
            Some("upstream returned <n>"),
            failed.len() as u64 - timeouts
        )));
        let mut on = SpanFilter::new().kind(SpanKind::Tool).tool(name);
        on.mcp_server.clone_from(&t.mcp_server);
        let exact = store.aggregate_exact(&AggregateQuery::new(on, [GroupBy::McpServer]))?;
        let exact: Vec<_> = exact
            .into_iter()
            .filter(|r| r.keys[0].as_str() == t.mcp_server.as_deref())
            .collect();
        assert_close(&t.duration, &exact[0].duration, "tool duration");
    }
    assert!(
        answer.tools.windows(2).all(|w| w[0].calls >= w[1].calls),
        "most called first"
    );
    Ok(())
}

#[test]
fn a_store_written_before_rollups_gets_them_when_opened() -> TestResult {
    let spans = dataset(1_000);
    let (dir, store) = store_with(&spans)?;
    let before = store.aggregate(&AggregateQuery::new(
        SpanFilter::new(),
        [GroupBy::Model, GroupBy::Kind],
    ))?;
    drop(store);
    // Make it a version-2 file: no rollup tables, the trace indexes of then.
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch(
            "DROP TABLE rollups; DROP TABLE rollup_errors; DROP TABLE rollup_keys;
             DROP TABLE metric_points; DROP TABLE metric_series; DROP TABLE alert_notifications;
             DROP TABLE scores; DROP TABLE evaluator_rules; DROP TABLE past_changes;
             DROP TABLE content_nodes; DROP TABLE content_pieces; DROP TABLE content_refs;
             DROP TABLE span_words; DROP TABLE piece_words;
             ALTER TABLE spans DROP COLUMN content;
             DROP INDEX spans_awaiting_parent; ALTER TABLE spans DROP COLUMN awaiting_parent_since;
             ALTER TABLE spans DROP COLUMN aggregate; ALTER TABLE spans DROP COLUMN reasoning_reported;
             DROP TRIGGER traces_forget; DROP TRIGGER traces_session_moved;
             DROP TABLE trace_ids; DROP TABLE trace_ids_recent;
             DROP TABLE trace_sessions; DROP TABLE pending_traces;
             ALTER TABLE traces DROP COLUMN indexed;
             CREATE UNIQUE INDEX traces_id_v3 ON traces (trace_id);
             CREATE INDEX traces_session ON traces (session_id, start_ns)
                 WHERE session_id IS NOT NULL;
             PRAGMA user_version = 2;",
        )?;
    }
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.schema_version()?, agentrace_sqlite::SCHEMA_VERSION);
    let after = store.aggregate(&AggregateQuery::new(
        SpanFilter::new(),
        [GroupBy::Model, GroupBy::Kind],
    ))?;
    assert_eq!(after, before);
    assert_rollups_match_spans(&store)?;
    assert_eq!(
        store.tools(TimeRange::ALL, 5, None)?.tools.len(),
        6,
        "two tools, each local and on two MCP servers"
    );
    // Its traces are found by id (their ids moved into the levels of `trace_ids`).
    for t in store.list_traces(&TraceFilter::new(), None, 50)?.traces {
        assert!(store.trace(t.trace_id)?.is_some(), "{:?}", t.trace_id);
    }
    Ok(())
}

#[test]
fn a_version_12_store_moves_its_mcp_tool_calls_to_their_servers_when_opened() -> TestResult {
    // Version 12 kept the MCP server among a span's attributes, not in its rollup key: store
    // the spans without it, then give them the attribute behind the rollups' back.
    let mut spans = dataset(600);
    let mut on_servers = 0;
    for s in &mut spans {
        if s.attributes.remove(MCP_SERVER).is_some() {
            on_servers += 1;
        }
    }
    assert!(on_servers > 20, "{on_servers} spans on MCP servers");
    let (dir, store) = store_with(&spans)?;
    drop(store);
    let path = dir.path().join("store.db");
    {
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute_batch(common::BACK_TO_VERSION_15)?;
        raw.execute_batch(&format!(
            "UPDATE spans SET attributes = json_set(coalesce(attributes, '{{}}'), \
                 '$.\"{MCP_SERVER}\"', CASE WHEN rowid % 2 = 0 THEN 'docs' ELSE 'web' END)
                 WHERE kind = 'tool' AND rowid % 3 = 0;
             ALTER TABLE rollup_keys DROP COLUMN mcp_server; DROP TABLE past_changes;
             DROP TABLE content_nodes; DROP TABLE content_pieces; DROP TABLE content_refs;
             DROP TABLE span_words; DROP TABLE piece_words;
             ALTER TABLE spans DROP COLUMN content;
             PRAGMA user_version = 12;"
        ))?;
    }
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.schema_version()?, agentrace_sqlite::SCHEMA_VERSION);
    assert_rollups_match_spans(&store)?;
    let servers: Vec<_> = store
        .tools(TimeRange::ALL, 5, None)?
        .tools
        .into_iter()
        .filter_map(|t| t.mcp_server)
        .collect();
    assert_eq!(servers.len(), 4, "both tools on both servers: {servers:?}");
    Ok(())
}

#[test]
fn group_keys_name_models_by_the_responding_model_first() -> TestResult {
    let (_dir, store) = store_with(&dataset(300))?;
    let answer = store.aggregate(&AggregateQuery::new(
        SpanFilter::new().kind(SpanKind::Llm),
        [GroupBy::Model],
    ))?;
    let keys: Vec<_> = answer.rows.iter().flat_map(|r| r.keys.clone()).collect();
    assert!(keys.contains(&GroupKey::Value("gpt-4o-2025".into())));
    assert!(keys.contains(&GroupKey::Value("gpt-4o".into())));
    Ok(())
}
