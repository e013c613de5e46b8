//! A 200 means committed: `agentrace serve`, killed with SIGKILL while clients are sending,
//! has every span it acknowledged in its store when the file is opened again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrace_core::TraceId;
use agentrace_integration::{agentrace_binary, require};
use agentrace_sqlite::SqliteStore;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

/// Spans in each request (one trace per request).
const SPANS: u8 = 10;
/// Acknowledged requests to wait for before the kill, while more are in flight.
const ACKNOWLEDGED_BEFORE_KILL: usize = 200;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn trace_request(client: u8, n: u32) -> (TraceId, Vec<u8>) {
    let mut trace = [0u8; 16];
    trace[0] = client + 1;
    trace[12..].copy_from_slice(&n.to_be_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let spans = (1..=SPANS)
        .map(|i| Span {
            trace_id: trace.to_vec(),
            span_id: vec![i; 8],
            parent_span_id: if i == 1 { vec![] } else { vec![1; 8] },
            name: format!("step {i}"),
            start_time_unix_nano: now - 1_000_000,
            end_time_unix_nano: now,
            ..Span::default()
        })
        .collect();
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    };
    (TraceId::from_bytes(trace), request.encode_to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_kill_9() {
    let bin = agentrace_binary();
    if !require(
        bin.is_some(),
        "the agentrace binary (cargo build -p agentrace-cli)",
    ) {
        return;
    }
    let Some(bin) = bin else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let (http, app) = (free_port(), free_port());
    let mut server = tokio::process::Command::new(&bin)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--otlp-http-port", &http.to_string()])
        .args(["--otlp-grpc-port", "0", "--app-port", &app.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts");
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{app}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server gets ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut senders = tokio::task::JoinSet::new();
    for c in 0..4u8 {
        let (client, acknowledged) = (client.clone(), acknowledged.clone());
        let url = format!("http://127.0.0.1:{http}/v1/traces");
        senders.spawn(async move {
            for n in 0.. {
                let (trace, body) = trace_request(c, n);
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
    server.start_kill().expect("SIGKILL");
    let _ = server.wait().await;
    while senders.join_next().await.is_some() {}

    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    let store = SqliteStore::open(dir.path().join("agentrace.db")).expect("the store opens");
    for trace in &acknowledged {
        let tree = store
            .trace(*trace)
            .expect("the store answers")
            .unwrap_or_else(|| panic!("acknowledged trace {trace} is stored"));
        assert_eq!(tree.nodes.len(), usize::from(SPANS), "all of trace {trace}");
    }
    assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);
}
