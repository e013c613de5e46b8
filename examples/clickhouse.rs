//! The simulated multi-agent workflow stored in ClickHouse through a pipeline, as an
//! application instrumented with agentrace would store it, then read back.
//!
//! ```text
//! cargo run --example clickhouse --features clickhouse -- --url http://localhost:8123 --database agentrace
//! ```
//!
//! Flags: `--url` (ClickHouse's HTTP interface, default `http://localhost:8123`), `--database`
//! (default `agentrace`, created if missing). At the end it prints what the sink exported,
//! failed and dropped, and what ClickHouse holds: spans, LLM calls, their tokens and cost.

use agentrace::clickhouse::ClickHouseStore;
use agentrace::store::{SpanFilter, SpanQuery, TraceReader};
use agentrace::{SpanKind, TokenUsage, Usd};

#[path = "support/mod.rs"]
mod support;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = support::flag("url").unwrap_or_else(|| "http://localhost:8123".to_owned());
    let database = support::flag("database").unwrap_or_else(|| "agentrace".to_owned());
    let store = ClickHouseStore::open(&url, &database).await?;
    let guard = agentrace::init()
        .service_name("agent-workflow")
        .sink(store.clone())
        .install()?;

    support::workflow::two_sessions().await?;

    support::finish(guard);

    // The store's queries block (on its own runtime): run them off the async threads.
    let spans = tokio::task::spawn_blocking(move || {
        TraceReader::spans(&store, &SpanQuery::new(SpanFilter::new())).map(|page| page.spans)
    })
    .await??;
    let calls: Vec<_> = spans.iter().filter(|s| s.kind == SpanKind::Llm).collect();
    let mut usage = TokenUsage::default();
    let mut cost = Usd::ZERO;
    for call in &calls {
        usage += call.usage;
        cost += call.cost.map_or(Usd::ZERO, |c| c.total);
    }
    println!(
        "stored in {database}: {} spans, {} LLM calls, {} tokens in, {} out, {cost}",
        spans.len(),
        calls.len(),
        usage.input_tokens,
        usage.output_tokens,
    );
    Ok(())
}
