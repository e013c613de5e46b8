//! How many events per second the JSONL sink writes.
//!
//! ```text
//! cargo run --release -p agentrace-file --example throughput [EVENTS] [sink|pipeline]
//! ```
//!
//! Measures the sink alone (batches of 1,024 events, as the pipeline hands them over, then a
//! flush with `fsync`), then the same through a core `Pipeline` (submit, batch, export, flush).
//! `BUF=<bytes>` sets the sink's buffer size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentrace_core::{
    Event, EventKind, EventSink, Level, Pipeline, Resource, Sink, SpanId, TraceId,
};
use agentrace_file::JsonlSink;

const BATCH: usize = 1_024;

/// A typical event: a tool call inside a span, with a few attributes.
fn batch(resource: &Arc<Resource>) -> Vec<Event> {
    let trace = TraceId::random();
    (0..BATCH)
        .map(|i| {
            let mut e = Event::new(
                1_795_219_200_000_000_000 + i as u64 * 1_000,
                Level::Info,
                EventKind::ToolCall,
                format!("calling web_search for step {i}"),
                resource.clone(),
            );
            e.trace_id = Some(trace);
            e.span_id = Some(SpanId::random());
            e.session_id = Some("session-42".into());
            e.agent_id = Some("researcher".into());
            e.framework = Some("rig".into());
            e.attributes.insert("gen_ai.tool.name", "web_search");
            e.attributes.insert("gen_ai.tool.call.id", "call_8f2a");
            e.attributes.insert("attempt", 1i64);
            e
        })
        .collect()
}

fn rate(events: usize, elapsed: Duration) -> String {
    format!(
        "{events} events in {:.3} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 2_000_000,
    };
    let only = std::env::args().nth(2);
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
    let mut resource = Resource::new("throughput");
    resource.attributes.insert("service.version", "1.0.0");
    let resource = Arc::new(resource);
    let events = batch(&resource);

    if run("sink") {
        sink_alone(&events, total).await?;
    }
    if run("pipeline") {
        through_pipeline(&events, total)?;
    }
    Ok(())
}

/// Batches straight into the sink.
async fn sink_alone(events: &[Event], total: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut builder = JsonlSink::builder(dir.path());
    if let Some(size) = std::env::var("BUF").ok().and_then(|b| b.parse().ok()) {
        builder = builder.buffer_size(size);
    }
    let sink = builder.build()?;
    let start = Instant::now();
    let mut written = 0;
    while written < total {
        sink.export_events(events).await?;
        written += events.len();
    }
    sink.flush().await?;
    let elapsed = start.elapsed();
    let bytes: u64 = std::fs::read_dir(dir.path())?
        .map(|e| e.and_then(|e| e.metadata()).map(|m| m.len()))
        .sum::<Result<_, _>>()?;
    println!(
        "sink:     {} ({:.0} MB/s, {} bytes/line)",
        rate(written, elapsed),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        bytes / written as u64
    );

    Ok(())
}

/// Through the pipeline; flushing every 32k events keeps the queue from overflowing.
fn through_pipeline(events: &[Event], total: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let sink = JsonlSink::builder(dir.path()).build()?;
    let pipeline = Pipeline::builder().with_sink(sink).build()?;
    let start = Instant::now();
    let mut submitted = 0;
    while submitted < total {
        for e in events {
            pipeline.submit_event(e.clone());
        }
        submitted += events.len();
        if submitted % (32 * BATCH) == 0 {
            pipeline.flush()?;
        }
    }
    pipeline.flush()?;
    let elapsed = start.elapsed();
    let stats = pipeline.stats();
    println!(
        "pipeline: {} (lost {})",
        rate(submitted, elapsed),
        stats.total_lost()
    );
    pipeline.shutdown()?;
    Ok(())
}
