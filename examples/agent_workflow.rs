//! A simulated multi-agent run, with no network: a planner, a researcher and a coder, each
//! calling models and tools, across two sessions; one tool fails. Everything goes to a SQLite
//! store and to JSONL files.
//!
//! ```text
//! cargo run --example agent_workflow -- --data-dir agentrace-data
//! cargo run -p agentrace-cli -- summary --db agentrace-data/agentrace.db
//! ```

use std::path::PathBuf;

#[path = "support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(support::flag("data-dir").unwrap_or_else(|| "agentrace-data".into()));
    let guard = agentrace::init()
        .service_name("agent-workflow")
        .sqlite(dir.join("agentrace.db"))
        .jsonl(dir.join("jsonl"))
        .install()?;

    support::workflow::two_sessions().await?;

    let stats = guard.stats();
    guard.shutdown()?;
    println!(
        "recorded {} records ({} lost) into {}/agentrace.db and {}/jsonl/",
        stats.received,
        stats.total_lost(),
        dir.display(),
        dir.display()
    );
    Ok(())
}
