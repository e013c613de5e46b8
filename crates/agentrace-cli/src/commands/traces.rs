//! `agentrace traces list` and `agentrace traces show`.

use agentrace_core::civil::{Precision, rfc3339};
use std::io::Write;
use std::time::SystemTime;

use agentrace_core::{SpanKind, SpanRecord, StatusCode, TraceId};
use agentrace_store::{Cursor, StatusFilter, TraceFilter, TracePage, TraceTree};

use crate::args::{ListArgs, ShowArgs, StoreArgs};
use crate::error::CliError;
use crate::format::{Table, cost, count, duration, terminal_text};
use crate::time::{parse_duration, range};

pub(crate) fn list(store: &StoreArgs, args: &ListArgs) -> Result<(), CliError> {
    let db = super::open(store)?;
    let mut filter = TraceFilter::new().range(range(&args.range, SystemTime::now())?);
    if let Some(kind) = &args.kind {
        filter = filter.kind(
            kind.parse::<SpanKind>()
                .map_err(|e| CliError::Usage(e.to_string()))?,
        );
    }
    if let Some(d) = &args.min_duration {
        filter = filter
            .min_duration_ns(u64::try_from(parse_duration(d)?.as_nanos()).unwrap_or(u64::MAX));
    }
    if args.errors {
        filter = filter.status(StatusFilter::Error);
    }
    filter.model.clone_from(&args.model);
    filter.agent.clone_from(&args.agent);
    filter.session.clone_from(&args.session);
    filter.user.clone_from(&args.user);
    filter.name_contains.clone_from(&args.name);
    let cursor = args.cursor.clone().map(Cursor::from);
    let page = db.list_traces(&filter, cursor.as_ref(), args.limit.max(1))?;
    print_page(&page, args.json, "agentrace traces list")
}

/// A page of traces as a table (or JSON), and how to ask for the next (`more`: the command
/// so far, which `--cursor` continues).
pub(crate) fn print_page(page: &TracePage, json: bool, more: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, page)?;
        writeln!(out)?;
        return Ok(());
    }
    if page.traces.is_empty() {
        writeln!(out, "no traces match")?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "trace", "start", "duration", "spans", "errors", "tokens", "cost", "root", "session",
        "agent",
    ]);
    for t in &page.traces {
        table.row(vec![
            t.trace_id.to_string(),
            rfc3339(t.start_unix_nano, Precision::Seconds),
            duration(t.duration_ns),
            count(t.span_count),
            count(t.error_count),
            count(t.usage.total_tokens()),
            cost(t.cost),
            terminal_text(&t.root_name),
            terminal_text(t.session_id.as_deref().unwrap_or_default()),
            terminal_text(t.agent_name.as_deref().unwrap_or_default()),
        ]);
    }
    out.write_all(table.render("").as_bytes())?;
    if let Some(next) = &page.next_cursor {
        writeln!(out, "\nmore: {more} --cursor {next}")?;
    }
    Ok(())
}

pub(crate) fn show(store: &StoreArgs, args: &ShowArgs) -> Result<(), CliError> {
    let trace_id: TraceId = args
        .trace_id
        .trim()
        .parse()
        .map_err(|e| CliError::Usage(format!("invalid trace id {:?}: {e}", args.trace_id)))?;
    let db = super::open(store)?;
    let Some(tree) = db.trace(trace_id)? else {
        return Err(CliError::Usage(format!(
            "no trace {trace_id} in the {}",
            db.describe()
        )));
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &tree)?;
        writeln!(out)?;
    } else {
        out.write_all(render(&tree).as_bytes())?;
    }
    Ok(())
}

/// One line describing a span: name, kind, model, duration, usage, cost, error.
fn describe(span: &SpanRecord, trace_start: u64) -> String {
    let mut line = format!("{}  [{}", span.name, span.kind);
    if let Some(model) = span.model() {
        line.push(' ');
        if let Some(provider) = &span.provider {
            line.push_str(provider);
            line.push('/');
        }
        line.push_str(model);
    }
    if let Some(tool) = span
        .tool_name
        .as_deref()
        .filter(|_| span.kind != SpanKind::Tool)
    {
        line.push_str(&format!(" tool {tool}"));
    }
    line.push_str(&format!(
        "]  {}  at +{}",
        duration(span.duration_ns()),
        duration(span.start_time_unix_nano.saturating_sub(trace_start))
    ));
    if !span.usage.is_empty() {
        line.push_str(&format!(
            "  tokens {} in / {} out",
            count(span.usage.input_tokens),
            count(span.usage.output_tokens)
        ));
    }
    if span.kind == SpanKind::Llm {
        line.push_str(&format!("  {}", cost(span.cost.map(|c| c.total))));
    }
    if span.status.code == StatusCode::Error {
        line.push_str(&format!(
            "  ERROR: {}",
            span.status.message.as_deref().unwrap_or("(no message)")
        ));
    }
    line
}

/// The tree with box-drawing guides, roots and siblings by start time.
pub(crate) fn render(tree: &TraceTree) -> String {
    let s = &tree.summary;
    let mut text = format!(
        "trace {}  service {}  {} spans, {} failed  {}  tokens {}  cost {}\n",
        s.trace_id,
        s.service_name,
        count(s.span_count),
        count(s.error_count),
        duration(s.duration_ns),
        count(s.usage.total_tokens()),
        cost(s.cost)
    );
    // Iterative depth-first walk: (node index, prefix for its children, its own connector).
    let mut stack: Vec<(usize, String, String)> = Vec::new();
    for &root in tree.roots.iter().rev() {
        stack.push((root, String::new(), String::new()));
    }
    while let Some((index, prefix, connector)) = stack.pop() {
        let Some(node) = tree.nodes.get(index) else {
            continue;
        };
        let orphan = if node.orphan {
            format!(
                "  (orphan: parent {} not recorded)",
                node.span
                    .parent_span_id
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{connector}{}{orphan}\n",
            describe(&node.span, s.start_unix_nano)
        ));
        let children = &node.children;
        for (i, &child) in children.iter().enumerate().rev() {
            let last = i + 1 == children.len();
            let child_connector = format!("{prefix}{}", if last { "└─ " } else { "├─ " });
            let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
            stack.push((child, child_prefix, child_connector));
        }
    }
    text
}
