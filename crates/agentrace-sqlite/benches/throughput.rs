//! Insert throughput and query latency of the SQLite store, on a real file.
//!
//! ```text
//! cargo bench -p agentrace-sqlite --bench throughput
//! AGENTRACE_BENCH_SPANS=200000 AGENTRACE_BENCH_QUERIES=0 cargo bench -p agentrace-sqlite --bench throughput
//! # Re-query a kept file, then time the migration that computes its rollups:
//! AGENTRACE_BENCH_DIR=/tmp/b AGENTRACE_BENCH_SPANS=0 AGENTRACE_BENCH_BACKFILL=1 cargo bench -p agentrace-sqlite --bench throughput
//! ```
//!
//! Writes agent traces of 10 spans (an agent root, 6 LLM calls with usage, cost and
//! attributes, 3 tool calls) in batches of 1,024 (the pipeline's default batch size), timing
//! only the inserts, then times the dashboard's queries over what was stored. Prints figures;
//! asserts nothing about time. Run by `cargo test` (no `--bench` argument), it checks that every
//! step works on 2,000 spans instead of a million.

use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::SessionSort;
use agentrace_store::TraceReader;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_core::{
    Cost, Event, EventKind, Level, Resource, SpanEvent, SpanId, SpanKind, SpanRecord, SpanStatus,
    TokenUsage, TraceId, Usd,
};
use agentrace_sqlite::{
    AggregateQuery, GroupBy, Order, OverviewQuery, SpanFilter, SpanQuery, SqliteStore, TimeRange,
    TraceFilter,
};

const T0: u64 = 1_700_000_000_000_000_000;
const BATCH: usize = 1_024;

/// Trace `t` of 10 spans; trace starts 100 ms apart.
fn trace(t: u64, resource: &Arc<Resource>) -> Vec<SpanRecord> {
    let trace_id = TraceId::random();
    let start = T0 + t * 100_000_000;
    let root_id = SpanId::random();
    let mut root = SpanRecord::new(
        trace_id,
        root_id,
        "invoke_agent planner",
        start,
        start + 90_000_000,
        resource.clone(),
    );
    root.kind = SpanKind::Agent;
    root.agent_name = Some(format!("agent-{}", t % 8).into());
    root.session_id = Some(format!("session-{}", t / 20).into());
    root.user_id = Some(format!("user-{}", t % 50).into());
    root.framework = Some("rig".into());
    let mut spans = Vec::with_capacity(10);
    for i in 0..9u64 {
        let s_start = start + 1_000_000 + i * 9_000_000;
        let mut s = SpanRecord::new(
            trace_id,
            SpanId::random(),
            "",
            s_start,
            s_start + 1_000_000 + (t * 7 + i * 13) % 8_000_000,
            resource.clone(),
        );
        s.parent_span_id = Some(root_id);
        s.agent_name = root.agent_name.clone();
        s.session_id = root.session_id.clone();
        s.user_id = root.user_id.clone();
        s.framework = root.framework.clone();
        if i % 3 == 2 {
            s.kind = SpanKind::Tool;
            s.name = "execute_tool web_search".into();
            s.operation = Some("execute_tool".into());
            s.tool_name = Some("web_search".into());
            s.tool_call_id = Some(format!("call_{t}_{i}").into());
            if (t + i).is_multiple_of(17) {
                s.status = SpanStatus::error("timeout after 30s");
            }
        } else {
            let model = ["gpt-4o", "claude-sonnet-4", "gemini-2.5-pro"][((t + i) % 3) as usize];
            s.kind = SpanKind::Llm;
            s.name = format!("chat {model}").into();
            s.operation = Some("chat".into());
            s.provider = Some("openai".into());
            s.request_model = Some(model.into());
            s.response_model = Some(format!("{model}-2025-01-01").into());
            s.usage = TokenUsage {
                input_tokens: 1_200 + i,
                output_tokens: 300,
                cache_read_tokens: 1_000,
                cache_write_tokens: 0,
                cache_write_1h_tokens: 0,
                reasoning_tokens: Some(12),
            };
            s.cost = (model != "gemini-2.5-pro").then(|| {
                Cost::from_parts(
                    Usd::from_nanos(500_000),
                    Usd::from_nanos(125_000),
                    Usd::ZERO,
                    Usd::from_nanos(3_000_000),
                )
            });
            s.attributes.insert("gen_ai.request.temperature", 0.2);
            s.attributes.insert("gen_ai.request.max_tokens", 1024i64);
            s.attributes
                .insert("gen_ai.response.id", format!("chatcmpl-{t}-{i}"));
            if i == 0 {
                s.events.push(SpanEvent {
                    name: "gen_ai.choice".into(),
                    time_unix_nano: s_start + 500_000,
                    attributes: [("finish_reason", "stop")].into_iter().collect(),
                });
            }
        }
        spans.push(s);
    }
    // Children end first, so the pipeline delivers them before the root.
    spans.push(root);
    spans
}

/// Inserts `n` log events in batches, timing the inserts.
fn insert_events(
    store: &SqliteStore,
    resource: &Arc<Resource>,
    n: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut took = Duration::ZERO;
    let mut i = 0u64;
    while i < n {
        let batch: Vec<_> = (i..(i + BATCH as u64).min(n))
            .map(|j| {
                let mut e = Event::new(
                    T0 + j * 1_000_000,
                    Level::Info,
                    EventKind::ToolCall,
                    format!("calling web_search for step {j}"),
                    resource.clone(),
                );
                e.trace_id = Some(TraceId::random());
                e.span_id = Some(SpanId::random());
                e.session_id = Some(format!("session-{}", j / 200).into());
                e.agent_id = Some("agent-1".into());
                e.attributes.insert("gen_ai.tool.name", "web_search");
                e
            })
            .collect();
        let started = Instant::now();
        store.insert_events(&batch)?;
        took += started.elapsed();
        i += batch.len() as u64;
    }
    println!(
        "events: {n} in {:.2} s = {:.0} events/s (insert time only)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    Ok(())
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let started = Instant::now();
        out = Some(f());
        best = best.min(started.elapsed());
    }
    println!(
        "  {label:<48} {:>9.2} ms (best of {runs})",
        best.as_secs_f64() * 1e3
    );
    match out {
        Some(out) => out,
        None => f(),
    }
}

/// Whether this is a measuring run (`cargo bench` passes `--bench`; `cargo test` runs the
/// benches once to check them, as criterion does).
fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = std::env::var("AGENTRACE_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring() { 1_000_000 } else { 2_000 });
    let dir = tempfile::tempdir()?;
    // AGENTRACE_BENCH_DIR keeps the file for inspection (e.g. with sqlite3's dbstat).
    let dir_path = std::env::var_os("AGENTRACE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_owned());
    let db_path = dir_path.join("bench.db");
    let store = SqliteStore::open(&db_path)?;
    let mut resource = Resource::new("bench-agent");
    resource.attributes.insert("service.version", "1.2.3");
    resource
        .attributes
        .insert("telemetry.sdk.name", "agentrace");
    let resource = Arc::new(resource);

    println!(
        "inserting {total} spans in batches of {BATCH} into {}",
        db_path.display()
    );
    let mut pending: Vec<SpanRecord> = Vec::with_capacity(BATCH + 10);
    let mut inserted = 0usize;
    let mut insert_time = Duration::ZERO;
    let mut window = (0usize, Duration::ZERO);
    let mut t = 0u64;
    while inserted < total {
        while pending.len() < BATCH {
            pending.extend(trace(t, &resource));
            t += 1;
        }
        let batch: Vec<_> = pending.drain(..BATCH.min(total - inserted)).collect();
        let started = Instant::now();
        store.write_spans(&batch)?;
        let took = started.elapsed();
        insert_time += took;
        inserted += batch.len();
        window.0 += batch.len();
        window.1 += took;
        if window.0 >= 100_000 || inserted == total {
            println!(
                "  {inserted:>9} spans stored: last {} at {:>9.0} spans/s",
                window.0,
                window.0 as f64 / window.1.as_secs_f64()
            );
            window = (0, Duration::ZERO);
        }
    }
    if inserted > 0 {
        println!(
            "insert: {inserted} spans in {:.2} s = {:.0} spans/s (insert time only)",
            insert_time.as_secs_f64(),
            inserted as f64 / insert_time.as_secs_f64()
        );
    }
    let started = Instant::now();
    store.checkpoint()?;
    println!(
        "checkpoint: {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let size = std::fs::metadata(&db_path)?.len();
    println!(
        "file: {:.1} MB ({:.0} bytes/span)",
        size as f64 / 1e6,
        size as f64 / inserted as f64
    );

    if inserted > 0 {
        let events = if measuring() { 200_000 } else { 2_000 };
        insert_events(&store, &resource, events)?;
    }
    if std::env::var("AGENTRACE_BENCH_QUERIES").is_ok_and(|v| v == "0") {
        return Ok(());
    }
    println!("queries over {inserted} spans:");
    let all = TimeRange::ALL;
    // The last hour of data (AGENTRACE_BENCH_SPANS=0 with AGENTRACE_BENCH_DIR re-queries a kept
    // file without inserting).
    let newest = store
        .spans(
            &SpanQuery::new(SpanFilter::new())
                .order(Order::Desc)
                .limit(1),
        )?
        .spans
        .first()
        .map_or(T0, |s| s.start_time_unix_nano);
    let last_hour = TimeRange::since(newest.saturating_sub(3_600_000_000_000));
    println!("  from the rollups (what the server's API runs):");
    time("overview (all time)", 5, || {
        store.overview(&OverviewQuery::new(all))
    })?;
    time("overview (last hour)", 5, || {
        store.overview(&OverviewQuery::new(last_hour))
    })?;
    let cost = |group_by: Vec<GroupBy>, range| {
        AggregateQuery::new(SpanFilter::new().range(range).billable(true), group_by)
    };
    let day = GroupBy::TimeBucket {
        width_ns: 86_400_000_000_000,
    };
    for (label, q) in [
        ("cost by model (all time)", cost(vec![GroupBy::Model], all)),
        (
            "cost by model (last hour)",
            cost(vec![GroupBy::Model], last_hour),
        ),
        (
            "cost by model and day (all time)",
            cost(vec![GroupBy::Model, day], all),
        ),
        ("cost by agent (all time)", cost(vec![GroupBy::Agent], all)),
        (
            "cost by provider (all time)",
            cost(vec![GroupBy::Provider], all),
        ),
        (
            "cost by framework (all time)",
            cost(vec![GroupBy::Framework], all),
        ),
        ("cost by day (all time)", cost(vec![day], all)),
        (
            "cost by session (last hour; from the spans)",
            cost(vec![GroupBy::Session], last_hour),
        ),
        (
            "cost by user (last hour; from the spans)",
            cost(vec![GroupBy::User], last_hour),
        ),
    ] {
        let answer = time(label, 5, || store.aggregate(&q))?;
        println!(
            "    {} groups, from the {:?}",
            answer.rows.len(),
            answer.source
        );
    }
    time("tools (all time)", 5, || store.tools(all, 5, None))?;
    println!("  from the spans (exact):");
    time("summary (all time)", 3, || store.overview_exact(all))?;
    time("summary (last hour)", 3, || store.overview_exact(last_hour))?;
    time("aggregate by model, llm (all time)", 3, || {
        store.aggregate_exact(&AggregateQuery::new(
            SpanFilter::new().kind(SpanKind::Llm),
            [GroupBy::Model],
        ))
    })?;
    time("aggregate by 1-minute bucket (last hour)", 3, || {
        store.aggregate_exact(&AggregateQuery::new(
            SpanFilter::new().range(last_hour),
            [GroupBy::TimeBucket {
                width_ns: 60_000_000_000,
            }],
        ))
    })?;
    let page = time("list_traces first page of 50", 3, || {
        store.list_traces(&TraceFilter::new(), None, 50)
    })?;
    time("list_traces second page of 50", 3, || {
        store.list_traces(&TraceFilter::new(), page.next_cursor.as_ref(), 50)
    })?;
    time("list_traces session filter", 3, || {
        store.list_traces(&TraceFilter::new().session("session-42"), None, 50)
    })?;
    time("list_traces model filter", 3, || {
        store.list_traces(&TraceFilter::new().model("gemini-2.5-pro"), None, 50)
    })?;
    time("list_traces user filter (2% of traces)", 3, || {
        store.list_traces(&TraceFilter::new().user("user-7"), None, 50)
    })?;
    time("list_traces errors only", 3, || {
        store.list_traces(
            &TraceFilter::new().status(agentrace_sqlite::StatusFilter::Error),
            None,
            50,
        )
    })?;
    let id = page.traces.first().map(|t| t.trace_id).ok_or("no trace")?;
    time("trace tree", 3, || store.trace(id))?;
    time("sessions (last hour, 50)", 3, || {
        store.sessions_by(last_hour, SessionSort::Recent, 50)
    })?;
    if std::env::var("AGENTRACE_BENCH_BACKFILL").is_ok_and(|v| v == "1") {
        // Make the file a version-2 store (no rollups) and time the migration.
        drop(store);
        rusqlite::Connection::open(&db_path)?.execute_batch(
            "DROP TABLE rollups; DROP TABLE rollup_errors; DROP TABLE rollup_keys;
             PRAGMA user_version = 2;",
        )?;
        let started = Instant::now();
        let store = SqliteStore::open(&db_path)?;
        println!(
            "migration 2 -> 3 (rollups computed from the stored spans): {:.2} s",
            started.elapsed().as_secs_f64()
        );
        time("overview (all time), after the migration", 3, || {
            store.overview(&OverviewQuery::new(all))
        })?;
    }
    Ok(())
}
