//! `agentrace tools`: each tool's calls (a tool on an MCP server as its server's), success rate,
//! latency and health — the score and
//! recommendations of `agentrace_server::jobs::tool_health`, the same as the API's and the
//! dashboard's.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::SystemTime;

use agentrace_server::jobs::tool_health::{ToolsHealth, tools_with_health};
use agentrace_store::TimeRange;

use crate::args::{StoreArgs, ToolsArgs};
use crate::error::CliError;
use crate::format::{Table, count, duration, terminal_text};
use crate::time::range;

/// The range when none is given: the last day.
const DEFAULT_SINCE_NS: u64 = 86_400 * 1_000_000_000;

pub(crate) fn run(store: &StoreArgs, args: &ToolsArgs) -> Result<(), CliError> {
    let db = super::open(store)?;
    let mut range = range(&args.range, SystemTime::now())?;
    if range.start_unix_nano.is_none() && range.end_unix_nano.is_none() {
        range = TimeRange::since(agentrace_core::now_unix_nano().saturating_sub(DEFAULT_SINCE_NS));
    }
    let report = tools_with_health(&*db, range, 3, None, args.by)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&report).as_bytes())?;
    }
    Ok(())
}

fn render(report: &ToolsHealth) -> String {
    if report.tools.is_empty() {
        return "no tool call in this range\n".to_owned();
    }
    // Split by an attribute: a column of its values, headed by its key.
    let split = report
        .tools
        .first()
        .and_then(|t| t.stats.attribute.as_ref())
        .map(|a| terminal_text(&a.key));
    let mut header = vec!["tool", "mcp server"];
    header.extend(split.as_deref());
    header.extend(["calls", "success", "health", "p50", "p95", "p99"]);
    let mut table = Table::new(&header);
    for t in &report.tools {
        let s = &t.stats;
        let mut row = vec![
            terminal_text(s.tool.as_deref().unwrap_or("(unnamed)")),
            terminal_text(s.mcp_server.as_deref().unwrap_or("local")),
        ];
        if let Some(a) = &s.attribute {
            row.push(terminal_text(a.value.as_deref().unwrap_or("(none)")));
        }
        row.extend([
            count(s.calls),
            format!("{:.1} %", s.success_rate * 100.0),
            format!("{} {:?}", t.health.score, t.health.grade).to_lowercase(),
            duration(s.duration.p50_ns),
            duration(s.duration.p95_ns),
            duration(s.duration.p99_ns),
        ]);
        table.row(row);
    }
    let mut out = table.render("");
    for t in report
        .tools
        .iter()
        .filter(|t| !t.health.recommendations.is_empty())
    {
        let mut tool = terminal_text(t.stats.tool.as_deref().unwrap_or("(unnamed)"));
        if let Some(a) = &t.stats.attribute {
            let value = a.value.as_deref().unwrap_or("(none)");
            let _ = write!(
                tool,
                " ({} {})",
                terminal_text(&a.key),
                terminal_text(value)
            );
        }
        let _ = match &t.stats.mcp_server {
            Some(server) => writeln!(out, "\n{tool} on {}:", terminal_text(server)),
            None => writeln!(out, "\n{tool}:"),
        };
        for r in &t.health.recommendations {
            let _ = writeln!(out, "  - {}", terminal_text(r));
        }
    }
    out
}
