//! `agentrace summary`: the text dashboard.

use agentrace_core::civil::{Precision, rfc3339};
use std::io::Write;
use std::time::SystemTime;

use agentrace_store::{AggregateRow, Summary};

use crate::args::{StoreArgs, SummaryArgs};
use crate::error::CliError;
use crate::format::{Table, cost, count, duration};
use crate::time::range;

pub(crate) fn run(store: &StoreArgs, args: &SummaryArgs) -> Result<(), CliError> {
    let db = super::open(store)?;
    let summary = db.overview_exact(range(&args.range, SystemTime::now())?)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&summary, &db.describe()).as_bytes())?;
    }
    Ok(())
}

fn breakdown(title: &str, rows: &[AggregateRow]) -> Table {
    let mut table = Table::new(&[
        title,
        "calls",
        "errors",
        "p50",
        "p95",
        "p99",
        "input tok",
        "output tok",
        "cost",
    ]);
    for row in rows {
        let key = row
            .keys
            .first()
            .map_or_else(|| "(all)".to_owned(), ToString::to_string);
        table.row(vec![
            key,
            count(row.count),
            count(row.errors),
            duration(row.duration.p50_ns),
            duration(row.duration.p95_ns),
            duration(row.duration.p99_ns),
            count(row.usage.input_tokens),
            count(row.usage.output_tokens),
            if row.unpriced > 0 && row.cost.is_some() {
                format!("{} (+{} unpriced)", cost(row.cost), row.unpriced)
            } else {
                cost(row.cost)
            },
        ]);
    }
    table
}

/// The dashboard as text.
pub(crate) fn render(s: &Summary, db: &str) -> String {
    let from = s.range.start_unix_nano.map_or_else(
        || "the beginning".to_owned(),
        |t| rfc3339(t, Precision::Seconds),
    );
    let to = s
        .range
        .end_unix_nano
        .map_or_else(|| "now".to_owned(), |t| rfc3339(t, Precision::Seconds));
    let mut text = format!("agentrace summary: {from} to {to} ({db})\n\n");
    let u = &s.usage;
    let headline = [
        ("traces", count(s.traces)),
        (
            "spans",
            format!("{} ({} failed)", count(s.spans), count(s.span_errors)),
        ),
        ("LLM requests", count(s.requests)),
        (
            "LLM errors",
            format!("{} ({:.1} %)", count(s.errors), s.error_rate * 100.0),
        ),
        (
            "LLM latency",
            s.latency.map_or_else(
                || "no LLM calls".to_owned(),
                |p| {
                    format!(
                        "p50 {}  p95 {}  p99 {}",
                        duration(p.p50_ns),
                        duration(p.p95_ns),
                        duration(p.p99_ns)
                    )
                },
            ),
        ),
        (
            "tokens",
            format!(
                "{} in ({} cache read, {} cache write), {} out ({} reasoning), {} total",
                count(u.input_tokens),
                count(u.cache_read_tokens),
                count(u.cache_write_tokens),
                count(u.output_tokens),
                u.reasoning_tokens
                    .map_or_else(|| "unknown".to_owned(), count),
                count(u.total_tokens())
            ),
        ),
        (
            "cost",
            format!(
                "{} ({} priced, {} unpriced: cost unknown, not zero)",
                cost(s.cost),
                count(s.priced),
                count(s.unpriced)
            ),
        ),
    ];
    for (label, value) in headline {
        text.push_str(&format!("  {label:<14}{value}\n"));
    }
    for (title, rows) in [("by model", &s.by_model), ("by agent", &s.by_agent)] {
        let table = breakdown(title, rows);
        if !table.is_empty() {
            text.push('\n');
            text.push_str(&table.render("  "));
        }
    }
    text
}
