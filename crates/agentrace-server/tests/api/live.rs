//! `/live` over a real WebSocket.

use std::sync::Arc;
use std::time::Duration;

use agentrace_core::SpanRecord;
use agentrace_server::{Committed, LIVE_CAPACITY, Published};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{Api, Error, TestResult};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(api: &Api, query: &str) -> Result<Socket, Error> {
    let (socket, response) =
        tokio_tungstenite::connect_async(format!("{}/live{query}", api.ws)).await?;
    assert_eq!(response.status().as_u16(), 101);
    Ok(socket)
}

/// The next JSON message, within `wait`.
async fn next(socket: &mut Socket, wait: Duration) -> Result<Value, Error> {
    loop {
        let message = tokio::time::timeout(wait, socket.next())
            .await
            .map_err(|_| "no message in time")?
            .ok_or("the feed closed")??;
        match message {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Ping(_) | Message::Pong(_) => {}
            other => return Err(format!("unexpected {other:?}").into()),
        }
    }
}

/// Messages until one of type `kind` arrives; returns them all, that one last.
async fn until(socket: &mut Socket, kind: &str) -> Result<Vec<Value>, Error> {
    let mut seen = Vec::new();
    loop {
        let m = next(socket, Duration::from_secs(5)).await?;
        let done = m["type"] == kind;
        seen.push(m);
        if done {
            return Ok(seen);
        }
    }
}

#[tokio::test]
async fn spans_events_and_summaries_arrive_filtered() -> TestResult {
    let api = Api::start().await?;
    let mut socket = connect(&api, "?session=s-1").await?;
    let mut tools = connect(&api, "?kind=tool").await?;
    let (one, two) = (&api.runs[1], &api.runs[2]);
    let spans: Vec<SpanRecord> = one.spans.iter().chain(&two.spans).cloned().collect();
    // Another project's commit is never heard on this project's feed.
    api.state.live.send(Published::new(
        agentrace_store::ProjectId(api.state.configured_project.0 + 1),
        Committed::Spans(
            spans
                .iter()
                .cloned()
                .map(|mut s| {
                    s.name = "another project's".into();
                    s
                })
                .collect(),
        ),
    ))?;
    api.state.live.send(Published::new(
        api.state.configured_project,
        Committed::Spans(Arc::from(spans)),
    ))?;
    let events: Vec<_> = api
        .events
        .iter()
        .filter(|e| e.session_id.is_some())
        .take(20)
        .cloned()
        .collect();
    api.state.live.send(Published::new(
        api.state.configured_project,
        Committed::Events(Arc::from(events.clone())),
    ))?;

    let m = next(&mut socket, Duration::from_secs(5)).await?;
    assert_eq!(m["type"], "spans");
    let got = m["spans"].as_array().ok_or("spans")?;
    assert_eq!(got.len(), 3, "run 1's spans only (session s-1)");
    assert!(
        got.iter().all(|s| s["name"] != "another project's"),
        "{got:?}"
    );
    let llm = got.iter().find(|s| s["kind"] == "llm").ok_or("llm")?;
    assert_eq!(llm["trace_id"], one.trace_id.to_string());
    assert_eq!(llm["model"], one.model);
    assert_eq!(llm["provider"], "anthropic");
    assert_eq!(llm["agent"], one.agent);
    assert_eq!(llm["session"], "s-1");
    assert_eq!(llm["service"], "agents");
    assert_eq!(llm["status"], "unset");
    assert_eq!(llm["duration_ns"], 201_000_000);
    assert_eq!(llm["usage"]["input_tokens"], 1_001);
    assert_eq!(llm["cost"], 1_500.0 / 1e9);
    assert!(llm.get("attributes").is_none(), "compact: no attributes");

    let m = next(&mut socket, Duration::from_secs(5)).await?;
    assert_eq!(m["type"], "events");
    let want = events
        .iter()
        .filter(|e| e.session_id.as_deref() == Some("s-1"))
        .count();
    let got = m["events"].as_array().ok_or("events")?;
    assert_eq!(got.len(), want);
    assert!(
        got.iter()
            .all(|e| e["session"] == "s-1" && e["type"].is_string() && e["level"].is_string())
    );

    let summary = until(&mut socket, "summary")
        .await?
        .pop()
        .ok_or("summary")?;
    assert_eq!(summary["since_connected"]["spans"], 3);
    assert_eq!(summary["since_connected"]["events"], want);
    assert_eq!(summary["since_connected"]["cost"], 1_500.0 / 1e9);
    assert!(summary["spans_per_second"].as_f64() > Some(0.0));
    assert!(summary["interval_ms"].as_u64() >= Some(900));
    // The next summary's interval starts afresh; the totals stay.
    let later = until(&mut socket, "summary")
        .await?
        .pop()
        .ok_or("summary")?;
    assert_eq!(later["interval"]["spans"], 0);
    assert_eq!(later["since_connected"]["spans"], 3);

    // The tool client: the tool spans of both runs, and no events.
    let m = next(&mut tools, Duration::from_secs(5)).await?;
    assert_eq!(m["type"], "spans");
    let kinds: Vec<&Value> = m["spans"]
        .as_array()
        .ok_or("spans")?
        .iter()
        .map(|s| &s["kind"])
        .collect();
    assert_eq!(kinds, vec!["tool", "tool"]);
    let m = next(&mut tools, Duration::from_secs(5)).await?;
    assert_eq!(m["type"], "summary", "no events for a span-kind filter");
    Ok(())
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_how_much_it_missed() -> TestResult {
    let api = Api::start().await?;
    let project = api.state.configured_project;
    let mut socket = connect(&api, "").await?;
    // On this single-threaded runtime the feed cannot run while we publish: it falls behind
    // by everything beyond the broadcast's capacity. Publishing never waits for it.
    let extra = 100;
    for k in 0..LIVE_CAPACITY + extra {
        let span = api.runs[k % api.runs.len()].spans[0].clone();
        api.state.live.send(Published::new(
            project,
            Committed::Spans(Arc::from(vec![span])),
        ))?;
    }
    let m = next(&mut socket, Duration::from_secs(5)).await?;
    assert_eq!(m, serde_json::json!({"type": "lagged", "missed": extra}));
    // Then the batches still held, in order.
    let mut spans = 0;
    while spans < LIVE_CAPACITY {
        let m = next(&mut socket, Duration::from_secs(5)).await?;
        if m["type"] == "spans" {
            spans += m["spans"].as_array().map_or(0, Vec::len);
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_holds_up_nobody() -> TestResult {
    let api = Api::start().await?;
    let project = api.state.configured_project;
    let mut stalled = connect(&api, "").await?;
    let mut reader = connect(&api, "").await?;
    // Large batches, so that the stalled client's socket buffers fill and its feed blocks.
    let mut spans: Vec<SpanRecord> = api
        .runs
        .iter()
        .flat_map(|r| r.spans.clone())
        .take(50)
        .collect();
    let batch: Arc<[SpanRecord]> = Arc::from(spans.clone());
    spans[0].name = "the last batch".into();
    let last: Arc<[SpanRecord]> = Arc::from(spans);
    let batches = 3_000;
    let live = api.state.live.clone();
    let publisher = tokio::spawn(async move {
        for k in 0..batches {
            let spans = if k == batches - 1 {
                last.clone()
            } else {
                batch.clone()
            };
            // Publishing never blocks, whoever reads.
            let _ = live.send(Published::new(project, Committed::Spans(spans)));
            if k % 20 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    // The reading client gets through to the last batch (possibly told it lagged, if this
    // machine is busy), while the other reads nothing.
    loop {
        let m = next(&mut reader, Duration::from_secs(10)).await?;
        if m["type"] == "spans" && m["spans"][0]["name"] == "the last batch" {
            break;
        }
    }
    publisher.await?;
    // The stalled client, reading at last, learns it missed batches.
    let mut lagged = false;
    for _ in 0..batches + 10 {
        let m = next(&mut stalled, Duration::from_secs(5)).await?;
        if m["type"] == "lagged" {
            assert!(m["missed"].as_u64() > Some(0));
            lagged = true;
            break;
        }
    }
    assert!(lagged, "the stalled client was told it fell behind");
    Ok(())
}
