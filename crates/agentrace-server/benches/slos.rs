//! What judging a quality or cost objective costs, on a store opened as `serve` opens it (a
//! real SQLite file, or a ClickHouse database): its 28-day window read whole (`slos::counts`)
//! against the same window from the settled hours kept (`SettledHours::counts`, warm), and a
//! one-hour window, for scale.
//!
//! ```text
//! cargo bench -p agentrace-server --bench slos
//! AGENTRACE_BENCH_TRACES=400000 cargo bench -p agentrace-server --bench slos
//! # On ClickHouse (its HTTP interface, e.g. the chdb fixture of tests/integration):
//! AGENTRACE_BENCH_CLICKHOUSE=127.0.0.1:8123 cargo bench -p agentrace-server --features clickhouse --bench slos
//! ```
//!
//! Writes `AGENTRACE_BENCH_TRACES` traces (default 100,000; 2,000 under `cargo test
//! --benches`) spread evenly over the 28 days before now, each an agent run, a priced LLM call
//! and a tool call, four consecutive traces a session, and a score for every fifth. Asserts
//! nothing about time; checks that the kept hours count what a whole read does.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use agentrace_alerts::slo::{CostUnit, Indicator, Slo};
use agentrace_core::{
    Cost, Resource, Score, ScoreTarget, ScoreValue, SpanId, SpanKind, SpanRecord, TraceId, Usd,
    now_unix_nano,
};
use agentrace_server::config::StoreLocation;
use agentrace_server::jobs::slos::{SettledHours, counts};
use agentrace_server::{ServerConfig, SharedStore};
use agentrace_store::{Store, with_score_ids};
use criterion::{Criterion, criterion_group, criterion_main};

const DAY: u64 = 86_400_000_000_000;

/// A run of an agent in `session`: its root, an LLM call of `cost` nano-dollars, a tool call.
fn run(start: u64, cost: i64, session: &str, resource: &Arc<Resource>) -> Vec<SpanRecord> {
    let trace_id = TraceId::random();
    let root_id = SpanId::random();
    let mut root = SpanRecord::new(
        trace_id,
        root_id,
        "invoke_agent support",
        start,
        start + 2_000_000_000,
        resource.clone(),
    );
    root.kind = SpanKind::Agent;
    root.agent_name = Some("support".into());
    root.session_id = Some(session.into());
    let mut llm = SpanRecord::new(
        trace_id,
        SpanId::random(),
        "chat gpt-4o",
        start + 1_000_000,
        start + 900_000_000,
        resource.clone(),
    );
    llm.parent_span_id = Some(root_id);
    llm.kind = SpanKind::Llm;
    llm.request_model = Some("gpt-4o".into());
    llm.cost = Some(Cost::from_parts(
        Usd::from_nanos(cost),
        Usd::ZERO,
        Usd::ZERO,
        Usd::ZERO,
    ));
    let mut tool = SpanRecord::new(
        trace_id,
        SpanId::random(),
        "execute_tool search",
        start + 1_000_000_000,
        start + 1_500_000_000,
        resource.clone(),
    );
    tool.parent_span_id = Some(root_id);
    tool.kind = SpanKind::Tool;
    tool.tool_name = Some("search".into());
    vec![root, llm, tool]
}

/// How many traces: `AGENTRACE_BENCH_TRACES`, else 100,000 measuring and 2,000 as a test.
fn traces() -> u64 {
    let measuring = std::env::args().any(|a| a == "--bench");
    std::env::var("AGENTRACE_BENCH_TRACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 100_000 } else { 2_000 })
}

/// A store of `n` runs over the 28 days before `now`, a score for every fifth: a database of
/// its own on the ClickHouse server of `AGENTRACE_BENCH_CLICKHOUSE` (`HOST:PORT`), else a
/// SQLite file in `dir`.
fn store(dir: &std::path::Path, n: u64, now: u64) -> SharedStore {
    let mut config = ServerConfig::new(dir);
    if let Ok(server) = std::env::var("AGENTRACE_BENCH_CLICKHOUSE") {
        let database = format!("bench_slos_{}", &TraceId::random().to_string()[..12]);
        config.store = StoreLocation::from_str(&format!("clickhouse://{server}/{database}"))
            .expect("a ClickHouse location");
    }
    let organization = agentrace_server::store::open(&config).expect("a store");
    let (_, store) =
        agentrace_server::http::state::configured(&organization).expect("the default project");
    let gap = 28 * DAY / n;
    let resource = Arc::new(Resource::new("bench"));
    let mut batch = Vec::new();
    let mut scores = Vec::new();
    for t in 0..n {
        let start = now - 28 * DAY + t * gap;
        let cost = i64::try_from(1_000_000 + (t * 7_919) % 9_000_000).expect("a cost");
        let spans = run(start, cost, &format!("s-{}", t / 4), &resource);
        if t % 5 == 0 {
            let mut score = Score::new(
                ScoreTarget::Trace(spans[0].trace_id),
                "groundedness",
                ScoreValue {
                    kind: None,
                    value: Some(((t * 31) % 100) as f64 / 100.0),
                    label: None,
                },
            )
            .expect("a valid score");
            score.time_unix_nano = start + 3_000_000_000;
            scores.push(score);
        }
        batch.extend(spans);
        if batch.len() >= 3_072 {
            store.write_spans(&batch).expect("the spans written");
            batch.clear();
        }
    }
    store.write_spans(&batch).expect("the spans written");
    store
        .write_scores(&with_score_ids(scores))
        .expect("the scores written");
    store
}

fn slos(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let now = now_unix_nano();
    let store = store(dir.path(), traces(), now);
    let store: &dyn Store = &*store;
    let window = Duration::from_secs(28 * 86_400);
    let objectives = [
        (
            "cost",
            Slo::new(
                "a run under half a cent",
                Indicator::Cost {
                    of: CostUnit::Traces,
                    max_usd: 0.005,
                },
                0.9,
                window,
            ),
        ),
        (
            "cost of sessions",
            Slo::new(
                "a conversation under two cents",
                Indicator::Cost {
                    of: CostUnit::Sessions,
                    max_usd: 0.02,
                },
                0.9,
                window,
            ),
        ),
        (
            "cost of agent runs",
            Slo::new(
                "an agent run under half a cent",
                Indicator::Cost {
                    of: CostUnit::AgentRuns,
                    max_usd: 0.005,
                },
                0.9,
                window,
            ),
        ),
        (
            "quality",
            Slo::new(
                "grounded",
                Indicator::Quality {
                    score: "groundedness".into(),
                    min: Some(0.7),
                    max: None,
                    labels: Vec::new(),
                },
                0.9,
                window,
            ),
        ),
    ];
    let mut group = c.benchmark_group("slos");
    group.sample_size(10);
    for (what, slo) in &objectives {
        let settled = SettledHours::default();
        let whole = counts(store, slo, window, now).expect("the window read");
        let kept = settled
            .counts(store, slo, window, now)
            .expect("the window from kept hours");
        assert_eq!(
            whole, kept,
            "{what}: the kept hours count what a whole read does"
        );
        assert!(whole.total > 0, "{what}: the window holds events");
        group.bench_function(format!("{what}/28 days, read whole"), |b| {
            b.iter(|| counts(store, slo, window, now).expect("the window read"));
        });
        group.bench_function(format!("{what}/28 days, settled hours kept"), |b| {
            b.iter(|| {
                settled
                    .counts(store, slo, window, now)
                    .expect("the window from kept hours")
            });
        });
        group.bench_function(format!("{what}/1 hour, read whole"), |b| {
            b.iter(|| counts(store, slo, Duration::from_secs(3_600), now).expect("the hour read"));
        });
    }
    group.finish();
}

criterion_group!(benches, slos);
criterion_main!(benches);
