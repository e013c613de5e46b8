//! `agentrace serve --demo`: a simulated multi-agent workload, so a first-time user sees data at
//! once.
//!
//! Three services — a LangGraph research assistant, a CrewAI support bot and an OpenAI Agents
//! coder — run agents that call LLMs across providers (OpenAI, Anthropic, Google, Mistral,
//! DeepSeek) with token usage and prompt caching, and tools that sometimes fail, for a handful
//! of users and their sessions. Some tools are on MCP servers (`web-tools-mcp`, `kb-mcp`,
//! `filesystem-mcp`): the agent's `tools/call` client span, and the server's own span in the
//! server's service under it, as the OTel GenAI MCP conventions give them. Each run is an OTLP
//! trace in the OTel GenAI conventions plus OTLP log records for its events (`agent.start`,
//! `tool.call`, `tool.result`, `agent.stop`), and goes through the same path as data from a
//! real agent: decoded and normalized by `agentrace-ingest`, priced, counted against budgets,
//! committed, fanned out.
//!
//! Runs capture their content (the question, the replies, tool arguments and results) as a
//! real instrumentation does with content capture on. On start, a day of history is
//! back-filled (the last hour as dense as the live workload, the rest one run every three
//! minutes); then a new run arrives every few seconds until the server stops. Without a
//! budgets file, the demo sets daily and hourly budgets; without an evaluators file, it judges
//! its runs with a code check and an LLM judge of its own ([`judge`]).
//!
//! Runs go to two projects, so that a newcomer sees projects at once: `default` takes three
//! runs in four, and [`SECOND_PROJECT`] (created if missing) the fourth.
//!
//! What the workload is made of is [`scenario`]; how one run of it unfolds, [`simulation`];
//! this module feeds the runs to the receiver.

use std::sync::Arc;
use std::time::Duration;

use agentrace_store::{ProjectError, ProjectName};
use tokio::sync::watch;

pub(crate) mod judge;
pub(crate) mod scenario;
mod simulation;

use simulation::{Rng, Runs, simulate};

use crate::ingest::receive::{Logs, Receiver, Traces};
use crate::ingest::route::Sender;
use crate::store::directory::Directory;

/// The demo's second project.
pub(crate) const SECOND_PROJECT: &str = "staging";

/// Which project run number `n` goes to: one in four to [`SECOND_PROJECT`].
fn sender_of(n: usize) -> Sender {
    Sender::server((n % 4 == 3).then_some(SECOND_PROJECT))
}

/// Creates [`SECOND_PROJECT`] unless it exists.
async fn second_project(directory: &Directory) -> Result<(), ProjectError> {
    let organization = directory.organization().clone();
    let created = tokio::task::spawn_blocking(move || {
        let name = ProjectName::new(SECOND_PROJECT)?;
        match organization.create_project(&name) {
            Ok(_) | Err(ProjectError::NameTaken(_)) => Ok(()),
            Err(e) => Err(e),
        }
    })
    .await
    .map_err(|e| ProjectError::Failed(Box::new(e)))?;
    directory.forget();
    created
}

/// History back-filled at start: the last hour as dense as the live workload, the rest of the
/// day one run every three minutes.
const BACKFILL: [(Duration, Duration); 2] = [
    (Duration::from_secs(24 * 3_600), Duration::from_secs(180)),
    (Duration::from_secs(3_600), Duration::from_secs(4)),
];
/// The pause between live runs, in milliseconds.
const LIVE_PAUSE_MS: (u64, u64) = (2_000, 6_000);

/// Stores `runs` as `sender`'s: their spans in one request, their events in another.
async fn send(receiver: &Receiver, sender: &Sender, runs: Runs) {
    let (traces, logs) = runs;
    if let Err(e) = receiver.export::<Traces>(sender, traces).await {
        tracing::debug!(error = e.message(), "demo: runs were not stored");
    }
    if let Err(e) = receiver.export::<Logs>(sender, logs).await {
        tracing::debug!(error = e.message(), "demo: runs' events were not stored");
    }
}

/// Back-filled runs sent together: the history is stored in a few dozen commits, so that it
/// is in within seconds on any store (a commit to ClickHouse is a round trip; one per run made
/// the day take minutes there).
const BACKFILL_BATCH: usize = 64;

/// Feeds runs until `stop` turns true.
pub(crate) async fn run(
    receiver: Receiver,
    directory: Arc<Directory>,
    mut stop: watch::Receiver<bool>,
) {
    if let Err(e) = second_project(&directory).await {
        tracing::warn!(error = %e, "demo: the second project could not be created");
    }
    let mut rng = Rng::seeded();
    let now = agentrace_core::now_unix_nano();
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let mut history: Vec<u64> = Vec::new();
    for (i, (since, spacing)) in BACKFILL.iter().enumerate() {
        // Each stretch ends where the next, denser one begins.
        let end = BACKFILL.get(i + 1).map_or(0, |(next, _)| nanos(*next));
        let mut ago = nanos(*since);
        while ago > end {
            history.push(now.saturating_sub(ago));
            ago = ago.saturating_sub(nanos(*spacing));
        }
    }
    for ends in history.chunks(BACKFILL_BATCH) {
        if *stop.borrow() {
            return;
        }
        let mut batches: [Runs; 2] = Default::default();
        for (n, &end) in ends.iter().enumerate() {
            let (traces, logs) = simulate(&mut rng, end);
            let batch = &mut batches[usize::from(n % 4 == 3)];
            batch.0.resource_spans.extend(traces.resource_spans);
            batch.1.resource_logs.extend(logs.resource_logs);
        }
        let [first, second] = batches;
        send(&receiver, &sender_of(0), first).await;
        send(&receiver, &sender_of(3), second).await;
    }
    for n in 0.. {
        let pause = Duration::from_millis(rng.between(LIVE_PAUSE_MS.0, LIVE_PAUSE_MS.1));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(pause) => {}
        }
        send(
            &receiver,
            &sender_of(n),
            simulate(&mut rng, agentrace_core::now_unix_nano()),
        )
        .await;
    }
}
