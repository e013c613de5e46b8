//! `agentrace audit`: a running server's audit log (docs/access.md), newest first — as a table,
//! or with `--jsonl` every entry of the range as JSON lines (an export, page after page).

use std::io::Write as _;
use std::time::SystemTime;

use serde_json::Value;

use crate::args::AuditArgs;
use crate::client::{ApiClient, encode};
use crate::error::CliError;
use crate::format::{Table, terminal_text};
use crate::time;

/// Entries a page asks for when exporting.
const PAGE: usize = 1_000;

pub(crate) fn run(args: &AuditArgs, project: Option<&str>) -> Result<(), CliError> {
    let range = time::range(&args.range, SystemTime::now())?;
    let mut query = Vec::new();
    if let Some(from) = range.start_unix_nano {
        query.push(format!("from={from}"));
    }
    if let Some(to) = range.end_unix_nano {
        query.push(format!("to={to}"));
    }
    if let Some(action) = &args.action {
        query.push(format!("action={}", encode(action)));
    }
    match (args.organization_only, args.project_id, project) {
        (true, ..) => query.push("scope=organization".to_owned()),
        (_, Some(id), _) => query.push(format!("scope=project:{id}")),
        (_, None, Some(project)) => query.push(format!("project={}", encode(project))),
        (_, None, None) => {}
    }
    let client = ApiClient::new(&args.server, project)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut out = std::io::stdout().lock();
    if !args.jsonl {
        query.push(format!("limit={}", args.limit));
        let page = runtime.block_on(client.get(&format!("/audit?{}", query.join("&"))))?;
        out.write_all(render(&page).as_bytes())?;
        return Ok(());
    }
    query.push(format!("limit={PAGE}"));
    let mut before: Option<String> = None;
    loop {
        let mut path = format!("/audit?{}", query.join("&"));
        if let Some(cursor) = &before {
            path.push_str(&format!("&before={cursor}"));
        }
        let page = runtime.block_on(client.get(&path))?;
        for entry in page["entries"].as_array().into_iter().flatten() {
            serde_json::to_writer(&mut out, entry)?;
            writeln!(out)?;
        }
        match page["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => return Ok(()),
        }
    }
}

fn render(page: &Value) -> String {
    let entries = page["entries"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        return "no audit entry in this range\n".to_owned();
    }
    let mut table = Table::new(&["at", "who", "action", "target", "project", "status", "from"]);
    let text = |v: &Value| terminal_text(v.as_str().unwrap_or("-"));
    for e in &entries {
        table.row(vec![
            text(&e["at"]).chars().take(19).collect(),
            format!(
                "{} {}",
                text(&e["actor"]["kind"]),
                text(&e["actor"]["name"])
            ),
            text(&e["action"]),
            text(&e["target"]),
            text(&e["project"]),
            e["status"].to_string(),
            text(&e["address"]),
        ]);
    }
    let mut out = table.render("");
    if page["next"].is_string() {
        out.push_str(
            "(more: narrow the range, raise --limit, or export everything with --jsonl)\n",
        );
    }
    out
}
