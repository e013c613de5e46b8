//! A 200 means committed: `agentrace serve`, killed with SIGKILL while clients are sending,
//! has every span it acknowledged in its store when the file is opened again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrace_integration::load::{assert_stored, trace_request};
use agentrace_integration::process::{ServeProcess, serve_binary};

/// Spans in each request (one trace per request).
const SPANS: u8 = 10;
/// Acknowledged requests to wait for before the kill, while more are in flight.
const ACKNOWLEDGED_BEFORE_KILL: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_kill_9() {
    let Some(bin) = serve_binary() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut server = ServeProcess::start(&bin, dir.path(), &[], None).await;
    let http = server.otlp_http;
    let client = reqwest::Client::new();
    let started = Instant::now();

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut senders = tokio::task::JoinSet::new();
    for c in 0..8u8 {
        let (client, acknowledged) = (client.clone(), acknowledged.clone());
        let url = format!("http://127.0.0.1:{http}/v1/traces");
        senders.spawn(async move {
            for n in 0.. {
                let (trace, body) = trace_request(c, n, SPANS, 0);
                let answer = client
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().is_success() => {
                        acknowledged.lock().expect("not poisoned").push(trace);
                    }
                    Ok(r) => assert_eq!(r.status(), 503, "only overload may refuse"),
                    Err(_) => return, // the server is gone
                }
            }
        });
    }
    while acknowledged.lock().expect("not poisoned").len() < ACKNOWLEDGED_BEFORE_KILL {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "requests are acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
    while senders.join_next().await.is_some() {}

    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    assert_stored(&server.db_path(), &acknowledged, usize::from(SPANS));
    assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);
}
