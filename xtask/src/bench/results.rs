//! The rows of `docs/benchmarks.md` that a bench run measures, printed at its end: each target
//! with the figure just measured, the command, the date and commit, and whether it is met — the
//! row to paste. Read from what the benchmarks leave: criterion's `new/benchmark.json` and
//! `new/estimates.json` under `target/criterion/`, and the JSON report the last line of the load
//! generator and of the dashboard script prints.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::BenchStore;
use crate::{root, target_dir};

/// One row of the results table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) target: String,
    pub(crate) figure: String,
    pub(crate) command: String,
    pub(crate) met: bool,
}

/// Prints `rows` as the table's rows, dated and with the commit measured; a smoke run's are
/// marked, their figures meaning nothing.
pub(crate) fn print(rows: &[Row], smoke: bool) {
    if rows.is_empty() {
        return;
    }
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let date = output("date", &["-u", "+%Y-%m-%d"]);
    let commit = output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    println!(
        "\nThe rows of docs/benchmarks.md this run measured{}:\n",
        if smoke {
            " (a smoke run: the figures mean nothing)"
        } else {
            ""
        }
    );
    println!("| target | today's figure | command | date, commit | met? |\n|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | `{}` | {date}, {commit}{} | {} |",
            row.target,
            row.figure,
            row.command,
            if dirty { " (uncommitted changes)" } else { "" },
            if row.met { "yes" } else { "no" }
        );
    }
}

/// Runs `cmd` as [`crate::step`] does, its output passed through, and returns the JSON object
/// its last such line printed (the load generator's and the dashboard script's report).
pub(crate) fn step_with_report(name: &str, cmd: Command) -> Result<Value, String> {
    let mut report = None;
    crate::step_with(name, cmd, |cmd| {
        let mut child = cmd.stdout(Stdio::piped()).spawn()?;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("{line}");
                if line.starts_with('{')
                    && let Ok(value) = serde_json::from_str::<Value>(&line)
                {
                    report = Some(value);
                }
            }
        }
        child.wait()
    })?;
    report.ok_or_else(|| format!("{name} printed no JSON report"))
}

pub(super) fn number(report: &Value, path: &[&str]) -> Result<f64, String> {
    path.iter()
        .try_fold(report, |v, key| v.get(key))
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("the report has no number at {}", path.join(".")))
}

/// Thousands, one decimal: `115.4 k`.
pub(super) fn thousands(n: f64) -> String {
    format!("{:.1} k", n / 1_000.0)
}

/// The ingest targets from the load generator's reports of one store: traces whole, children
/// first, and (SQLite) the sustained run.
pub(crate) fn ingest(
    store: BenchStore,
    whole: &Value,
    children_first: &Value,
    sustained: Option<&Value>,
) -> Result<Vec<Row>, String> {
    let rate = |r: &Value| number(r, &["spans_per_second"]);
    let (w, c) = (rate(whole)?, rate(children_first)?);
    let change = (c / w - 1.0) * 100.0;
    let cpu = |r: &Value| number(r, &["server_cpu_us_per_span"]);
    let mut rows = Vec::new();
    match store {
        BenchStore::Sqlite => {
            rows.push(Row {
                target: "`agentrace serve`: OTLP ingest ≥ 100,000 spans/s, durable (issue #5)"
                    .into(),
                figure: format!(
                    "{} spans/s, {} spans, traces whole",
                    thousands(w),
                    number(whole, &["spans"])?
                ),
                command: "cargo xtask bench ingest".into(),
                met: w >= 100_000.0,
            });
            rows.push(Row {
                target: "children first (the agent span after its calls) as fast as whole traces, within 15 % (issue #11)".into(),
                figure: format!(
                    "{} spans/s against {} whole ({change:+.1} %); {:.1} µs of server CPU a span against {:.1}",
                    thousands(c),
                    thousands(w),
                    cpu(children_first)?,
                    cpu(whole)?
                ),
                command: "cargo xtask bench ingest".into(),
                met: change >= -15.0,
            });
            let (p99, rss) = (
                number(whole, &["visibility_ms", "p99"])?,
                number(whole, &["rss_mib", "peak"])?,
            );
            let (overview, cost) = (
                number(whole, &["queries_ms", "overview", "p99"])?,
                number(whole, &["queries_ms", "cost by model", "p99"])?,
            );
            rows.push(Row {
                target: "visibility p99 < 1 s, RSS < 150 MB, overview and cost queries < 100 ms at 1 M spans (issue #5)".into(),
                figure: format!(
                    "visibility p99 {p99:.0} ms; RSS peak {rss:.0} MiB; overview p99 {overview:.1} ms, cost p99 {cost:.1} ms"
                ),
                command: "cargo xtask bench ingest".into(),
                met: p99 < 1_000.0 && rss < 150.0 && overview < 100.0 && cost < 100.0,
            });
            if let Some(s) = sustained {
                let wal = number(s, &["wal", "peak_bytes"])? / f64::from(1 << 20);
                let rate = rate(s)?;
                rows.push(Row {
                    target: "sustained 5 minutes: WAL ≤ 256 MiB, ≥ 100,000 spans/s (issue #12)".into(),
                    figure: format!(
                        "{} spans/s over {:.0} s, WAL peak {wal:.1} MiB, RSS peak {:.0} MiB, {:.0} bytes a span",
                        thousands(rate),
                        number(s, &["seconds"])?,
                        number(s, &["rss_mib", "peak"])?,
                        number(s, &["database_bytes_per_span"])?
                    ),
                    command: "AGENTRACE_BENCH_SECONDS=300 cargo xtask bench ingest".into(),
                    met: rate >= 100_000.0 && wal <= 256.0,
                });
            }
        }
        BenchStore::ClickHouse { nodes } => rows.push(Row {
            target: "`agentrace serve` on ClickHouse (issue #32): bytes a span, children first within 15 % of whole traces".into(),
            figure: format!(
                "{nodes} node{}: {} spans/s whole, {} children first ({change:+.1} %), {:.0} bytes a span",
                if nodes == 1 { "" } else { "s" },
                thousands(w),
                thousands(c),
                number(whole, &["database_bytes_per_span"])?
            ),
            command: format!("cargo xtask bench ingest --store clickhouse --nodes {nodes}"),
            met: change >= -15.0,
        }),
    }
    Ok(rows)
}

/// The dashboard targets from the dashboard script's report.
pub(crate) fn dashboard(report: &Value) -> Result<Vec<Row>, String> {
    let results = report
        .get("results")
        .and_then(Value::as_array)
        .ok_or("the dashboard report has no results")?;
    let big = number(report, &["big_trace_spans"])?;
    let rendered = |view: &str| -> Result<f64, String> {
        results
            .iter()
            .find(|r| r.get("view").and_then(Value::as_str) == Some(view))
            .and_then(|r| r.get("rendered"))
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("the dashboard report has no view {view:?}"))
    };
    let trace_view = format!("trace of {big} spans");
    let (overview, traces, trace) = (
        rendered("overview (first visit, cold cache)")?,
        rendered("traces")?,
        rendered(&trace_view)?,
    );
    let renderer = number(report, &["renderer_mib"])?;
    let mut calls: Vec<(String, f64)> = results
        .iter()
        .flat_map(|r| r.get("api").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|c| Some((c.get("url")?.as_str()?.to_owned(), c.get("ms")?.as_f64()?)))
        .collect();
    calls.sort_by(|a, b| b.1.total_cmp(&a.1));
    let slow: Vec<String> = calls
        .iter()
        .filter(|(_, ms)| *ms >= 100.0)
        .map(|(url, ms)| format!("`{url}` {ms:.0} ms"))
        .collect();
    let slowest_fast = calls
        .iter()
        .find(|(_, ms)| *ms < 100.0)
        .map_or(0.0, |c| c.1);
    Ok(vec![
        Row {
            target: "dashboard at 1 M spans (issue #10): overview < 1 s, traces < 300 ms, a 10,000-span trace < 1 s, page memory < 300 MB".into(),
            figure: format!(
                "overview {overview:.0} ms (cold cache); traces {traces:.0} ms; the {big}-span trace {trace:.0} ms; renderer {renderer:.0} MiB"
            ),
            command: "cargo xtask bench dashboard".into(),
            met: overview < 1_000.0 && traces < 300.0 && trace < 1_000.0 && renderer < 300.0,
        },
        Row {
            target: "every API call a dashboard view makes < 100 ms at 1 M spans (issue #10)".into(),
            figure: if slow.is_empty() {
                format!("all ≤ {slowest_fast:.0} ms")
            } else {
                format!("all ≤ {slowest_fast:.0} ms but {}", slow.join(", "))
            },
            command: "cargo xtask bench dashboard".into(),
            met: slow.is_empty(),
        },
    ])
}

/// Criterion's latest estimate of each benchmark under `dir` (`target/criterion`): its full
/// id, the mean in nanoseconds, and the elements an iteration handles, if it says.
fn criterion_estimates(dir: &Path) -> BTreeMap<String, (f64, Option<f64>)> {
    let mut found = BTreeMap::new();
    let mut files = Vec::new();
    crate::files(dir, "benchmark.json", &mut files);
    for file in files
        .iter()
        .filter(|f| f.parent().is_some_and(|p| p.ends_with("new")))
    {
        let read = |path: &Path| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
        };
        let (Some(benchmark), Some(estimates)) =
            (read(file), read(&file.with_file_name("estimates.json")))
        else {
            continue;
        };
        let (Some(id), Some(mean)) = (
            benchmark.get("full_id").and_then(Value::as_str),
            number(&estimates, &["mean", "point_estimate"]).ok(),
        ) else {
            continue;
        };
        let elements = number(&benchmark, &["throughput", "Elements"]).ok();
        found.insert(id.to_owned(), (mean, elements));
    }
    found
}

/// The criterion targets among the benches `names` ran.
pub(crate) fn criterion(names: &[&str]) -> Result<Vec<Row>, String> {
    let estimates = criterion_estimates(&target_dir().join("criterion"));
    let mean = |id: &str| -> Result<f64, String> {
        estimates
            .get(id)
            .map(|e| e.0)
            .ok_or_else(|| format!("criterion has no estimate of {id}"))
    };
    let per_second = |id: &str| -> Result<f64, String> {
        match estimates.get(id) {
            Some((ns, Some(elements))) => Ok(elements / (ns / 1e9)),
            _ => Err(format!("criterion has no throughput of {id}")),
        }
    };
    let mut rows = Vec::new();
    for name in names {
        match *name {
            "layer" => {
                let ratio = mean("llm_span/agentrace_layer")?
                    / mean("llm_span/tracing_opentelemetry_simple_in_memory")?;
                rows.push(Row {
                    target: "agentrace layer ≤ 0.5× `tracing-opentelemetry` for the same LLM span"
                        .into(),
                    figure: format!("{ratio:.2}× wall-clock (criterion, the simple exporter)"),
                    command: "cargo xtask bench layer".into(),
                    met: ratio <= 0.5,
                });
            }
            "sinks" => {
                let (sink, piped) = (
                    per_second("jsonl_events/sink_export_batch")?,
                    per_second("jsonl_events/pipeline_submit_and_flush")?,
                );
                rows.push(Row {
                    target: "≥ 1,000,000 events/s into JSONL".into(),
                    figure: format!(
                        "{:.2} M/s at the sink; {:.2} M/s end to end",
                        sink / 1e6,
                        piped / 1e6
                    ),
                    command: "cargo xtask bench sinks".into(),
                    met: sink >= 1e6 && piped >= 1e6,
                });
                let (sink, piped) = (
                    per_second("sqlite_spans/sink_export_batch")?,
                    per_second("sqlite_spans/pipeline_submit_and_flush")?,
                );
                rows.push(Row {
                    target: "≥ 100,000 spans/s into SQLite, batched".into(),
                    figure: format!(
                        "{}/s at the sink; {}/s through the pipeline",
                        thousands(sink),
                        thousands(piped)
                    ),
                    command: "cargo xtask bench sinks".into(),
                    met: sink >= 1e5 && piped >= 1e5,
                });
            }
            "cost" => {
                let listed = mean("price_span/lookup_and_compute/exact_name")?;
                let processor = mean("price_span/price_processor")?;
                rows.push(Row {
                    target: "pricing one span < 100 ns (issue #3)".into(),
                    figure: format!(
                        "{listed:.0} ns for a listed name, {processor:.0} ns through the processor"
                    ),
                    command: "cargo xtask bench cost".into(),
                    met: listed < 100.0 && processor < 100.0,
                });
            }
            "metrics" => {
                let derive = mean("metric_update/derive/llm_span")?;
                rows.push(Row {
                    target: "a metric update from a span < 200 ns (issue #4)".into(),
                    figure: format!("{derive:.0} ns to derive a span's four measurements"),
                    command: "cargo xtask bench metrics".into(),
                    met: derive < 200.0,
                });
            }
            _ => {}
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(spans_per_second: f64, cpu: f64) -> Value {
        serde_json::json!({
            "spans": 1000, "seconds": 1.0, "spans_per_second": spans_per_second,
            "server_cpu_us_per_span": cpu, "database_bytes_per_span": 480.0,
            "visibility_ms": {"p50": 10.0, "p99": 90.0}, "rss_mib": {"now": 100.0, "peak": 120.0},
            "queries_ms": {"overview": {"p50": 1.0, "p99": 4.0}, "cost by model": {"p50": 0.2, "p99": 0.4}},
            "wal": {"peak_bytes": 100 << 20},
        })
    }

    #[test]
    fn ingest_rows_say_what_was_measured_and_whether_it_is_met() -> Result<(), String> {
        let rows = ingest(
            BenchStore::Sqlite,
            &report(115_400.0, 13.9),
            &report(67_600.0, 22.0),
            Some(&report(112_500.0, 14.0)),
        )?;
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].figure, "115.4 k spans/s, 1000 spans, traces whole");
        assert!(rows[0].met);
        assert!(
            rows[1]
                .figure
                .starts_with("67.6 k spans/s against 115.4 k whole (-41.4 %)")
        );
        assert!(!rows[1].met, "children first 41 % slower");
        assert!(rows[2].met && rows[3].met);
        let ch = ingest(
            BenchStore::ClickHouse { nodes: 2 },
            &report(21_700.0, 17.0),
            &report(19_000.0, 20.0),
            None,
        )?;
        assert_eq!(ch.len(), 1);
        assert!(ch[0].met, "within 15 %");
        assert!(
            ingest(
                BenchStore::Sqlite,
                &serde_json::json!({}),
                &report(1.0, 1.0),
                None
            )
            .is_err()
        );
        Ok(())
    }

    #[test]
    fn dashboard_rows_name_the_slow_calls() -> Result<(), String> {
        let view = |name: &str, ms: f64, calls: &[(&str, f64)]| {
            serde_json::json!({"view": name, "rendered": ms,
                "api": calls.iter().map(|(u, m)| serde_json::json!({"url": u, "ms": m})).collect::<Vec<_>>()})
        };
        let report = serde_json::json!({"big_trace_spans": 10000, "renderer_mib": 159.0, "results": [
            view("overview (first visit, cold cache)", 600.0, &[("/api/v1/overview", 20.0)]),
            view("traces", 180.0, &[("/api/v1/traces", 26.0), ("/api/v1/sessions", 250.0)]),
            view("trace of 10000 spans", 400.0, &[]),
        ]});
        let rows = dashboard(&report)?;
        assert!(rows[0].met);
        assert_eq!(rows[1].figure, "all ≤ 26 ms but `/api/v1/sessions` 250 ms");
        assert!(!rows[1].met);
        Ok(())
    }
}
