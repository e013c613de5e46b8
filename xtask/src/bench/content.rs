//! `cargo xtask bench content`: long agent runs with their content captured (issue #56), on one
//! store: the load generator's `--shape long-runs` (30 turns a run, each model call carrying
//! the conversation so far), once with whole histories and once with deltas
//! (`gen_ai.input.messages_delta`), each on a fresh release server of
//! `AGENTRACE_BENCH_CONTENT_SPANS` spans (default 100,000). It reports the content bytes a span
//! carried, the bytes a span took on the wire and in the store, the rate, and the latency of
//! searches over the load (one run's id, the same among tool calls, a word of every run, the
//! traces of one run's id) and of the dashboard's calls.

use serde_json::Value;

use super::results::{Row, number, thousands};
use super::{BenchServer, BenchStore, Sizes};

/// Turns of each run.
const TURNS: &str = "30";

/// The store's bytes a span may take, as a share of the content bytes a span carried
/// (whole histories): the target on SQLite.
const STORED_SHARE: f64 = 0.1;

/// A search's p99 target, in milliseconds.
const SEARCH_P99_MS: f64 = 1_000.0;

pub(crate) fn bench_content(store: BenchStore, sizes: &Sizes) -> Result<Vec<Row>, String> {
    let spans = if sizes.release {
        std::env::var("AGENTRACE_BENCH_CONTENT_SPANS").unwrap_or_else(|_| "100000".into())
    } else {
        "600".into()
    };
    let mut rows = Vec::new();
    let mut whole_stored = None;
    for history in ["whole", "delta"] {
        let name = format!("content-{history}");
        let server = BenchServer::start(&name, store, sizes, &[])?;
        let report = server.load(
            &name,
            "whole",
            &[
                "--spans",
                &spans,
                "--shape",
                "long-runs",
                "--turns",
                TURNS,
                "--history",
                history,
            ],
        );
        server.stop();
        let report = report?;
        rows.extend(content_rows(store, history, &report, whole_stored)?);
        whole_stored = Some(number(&report, &["database_bytes_per_span"])?);
    }
    Ok(rows)
}

/// The rows of one run's report (`whole_stored`: the bytes a span whole histories took, beside
/// which deltas are measured).
fn content_rows(
    store: BenchStore,
    history: &str,
    report: &Value,
    whole_stored: Option<f64>,
) -> Result<Vec<Row>, String> {
    let store_name = match store {
        BenchStore::Sqlite => "SQLite",
        BenchStore::ClickHouse { .. } => "ClickHouse",
    };
    let command = format!(
        "cargo xtask bench content{}",
        match store {
            BenchStore::Sqlite => "",
            BenchStore::ClickHouse { .. } => " --store clickhouse",
        }
    );
    let content = number(report, &["content_bytes_per_span"])?;
    let stored = number(report, &["database_bytes_per_span"])?;
    let sent = number(report, &["sent_bytes_per_span"])?;
    let rate = number(report, &["spans_per_second"])?;
    let figure = format!(
        "{stored:.0} B stored for {content:.0} B of content ({:.3}); {sent:.0} B sent; {} spans/s",
        stored / content.max(1.0),
        thousands(rate)
    );
    let mut rows = vec![match whole_stored {
        // Deltas: the same conversations sent in fewer bytes, stored in no more.
        Some(whole) => Row {
            target: format!(
                "{store_name}, 30-turn runs, delta histories: stored bytes a span ≤ whole histories' ({whole:.0} B)"
            ),
            figure,
            command: command.clone(),
            met: stored <= whole,
        },
        None => Row {
            target: format!(
                "{store_name}, 30-turn runs, {history} histories: stored bytes a span ≤ {STORED_SHARE} of the content bytes a span"
            ),
            figure,
            command: command.clone(),
            met: stored <= STORED_SHARE * content,
        },
    }];
    let queries = report
        .get("queries_ms")
        .and_then(Value::as_object)
        .ok_or("the report has no queries_ms")?;
    for (name, figures) in queries {
        let p99 = figures
            .get("p99")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN);
        let p50 = figures
            .get("p50")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN);
        let search = name.contains("search") || name.starts_with("traces of");
        rows.push(Row {
            target: format!(
                "{store_name}, 30-turn runs ({history}): {name} p99 ≤ {} ms",
                if search { SEARCH_P99_MS } else { 100.0 }
            ),
            figure: format!("p50 {p50:.1} ms, p99 {p99:.1} ms"),
            command: command.clone(),
            met: p99 <= if search { SEARCH_P99_MS } else { 100.0 },
        });
    }
    Ok(rows)
}
