//! The smallest useful setup: spans of one agent run into a SQLite store.
//!
//! ```text
//! cargo run --example quickstart
//! cargo run -p agentrace-cli -- traces list --db agentrace-data/quickstart.db
//! ```

use agentrace::{TokenUsage, spans};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = agentrace::init()
        .service_name("quickstart")
        .sqlite("agentrace-data/quickstart.db")
        .install()?;

    let agent = spans::agent("assistant");
    spans::set_session(&agent, "quickstart-session");
    {
        let _agent = agent.enter();
        let llm = spans::llm("openai", "gpt-4o-mini");
        spans::record_usage(&llm, &TokenUsage::new(420, 96));
        drop(llm);
        let _tool = spans::tool("calculator").entered();
        tracing::info!(expression = "6 * 7", "computed 42");
    }
    drop(agent);

    guard.shutdown()?;
    println!("wrote agentrace-data/quickstart.db");
    Ok(())
}
