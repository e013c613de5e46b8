//! Hostile load against the real `agentrace serve` process, each bounded in time and on
//! loopback only: a flood against a tiny queue, slowloris clients, concurrent gzip
//! amplification, a full disk. (A `kill -9` with requests in flight is `crash.rs`.) Each checks
//! what a server left running for months must hold: answers that say when to retry, nothing
//! acknowledged lost, memory and the write-ahead log within their documented bounds, failures
//! loud, and recovery.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrace_integration::load::{assert_stored, export, now_ns, trace_request};
use agentrace_integration::process::{ServeProcess, serve_binary};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Posts a protobuf body; the status (0: no answer) and whether it said when to retry.
async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>, gzip: bool) -> (u16, bool) {
    let mut request = client
        .post(url)
        .header("content-type", "application/x-protobuf");
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    match request.body(body).send().await {
        Ok(r) => {
            let answer = (r.status().as_u16(), r.headers().contains_key("retry-after"));
            if !matches!(answer.0, 200 | 503) {
                eprintln!("{url}: {answer:?} {:?}", r.text().await);
            }
            answer
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            (0, false)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_against_a_tiny_queue_gets_retryable_answers_and_loses_nothing() {
    let Some(bin) = serve_binary() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ServeProcess::start(
        &bin,
        dir.path(),
        &[
            "--queue-requests",
            "2",
            "--queue-records",
            "100",
            "--wal-ceiling",
            "4MiB",
        ],
        None,
    )
    .await;
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let refusals = Arc::new(Mutex::new(Vec::new()));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..24u8 {
        let (client, acknowledged, refusals, url) = (
            client.clone(),
            acknowledged.clone(),
            refusals.clone(),
            server.traces_url(),
        );
        clients.spawn(async move {
            for n in 0..40 {
                let (trace, body) = trace_request(c, n, 10, 600);
                let started = Instant::now();
                loop {
                    match post(&client, &url, body.clone(), false).await {
                        (200, _) => break,
                        answer => refusals.lock().expect("not poisoned").push(answer),
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "accepted in time"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                acknowledged.lock().expect("not poisoned").push(trace);
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("a client ran");
    }
    let refusals = refusals.lock().expect("not poisoned").clone();
    assert!(!refusals.is_empty(), "the queue of 2 was flooded");
    assert!(
        refusals.iter().all(|&answer| answer == (503, true)),
        "every refusal is a 503 with Retry-After: {refusals:?}"
    );
    let status = server.status().await;
    let wal = &status["writer"]["wal"];
    let ceiling = wal["ceiling_bytes"].as_u64().unwrap_or(0);
    assert_eq!(ceiling, 4 << 20);
    assert!(wal["restarts"].as_u64() > Some(0), "{wal}");
    // Each group commit here is at most 100 records (~100 KiB of log).
    assert!(
        wal["peak_bytes"].as_u64() <= Some(ceiling + (1 << 20)),
        "{wal}"
    );
    assert_eq!(status["writer"]["failing_since_unix_nano"], Json::Null);
    let db = server.db_path();
    server.stop().await;
    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    assert_eq!(acknowledged.len(), 24 * 40);
    assert_stored(&db, &acknowledged, 10);
}

/// Opens a connection to `port` and sends `bytes`.
async fn connect(port: u16, bytes: &[u8]) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connects");
    stream.write_all(bytes).await.expect("writes");
    stream
}

/// Whether the server closed `stream` (reads to the end, answer or not) within `patience`.
async fn closed_within(stream: &mut tokio::net::TcpStream, patience: Duration) -> bool {
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout(patience, stream.read_to_end(&mut sink)).await,
        Ok(Ok(_) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_are_cut_off_while_health_and_others_are_served() {
    let Some(bin) = serve_binary() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ServeProcess::start(
        &bin,
        dir.path(),
        &[
            "--header-timeout",
            "1s",
            "--max-connections",
            "100",
            "--body-min-rate",
            "1KiB",
        ],
        None,
    )
    .await;
    let port = server.otlp_http;
    // 150 connections that never finish their headers (more than the listener takes), and 20
    // that announce a 1 MiB body and trickle it.
    let mut slow_headers = Vec::new();
    for _ in 0..150 {
        slow_headers.push(connect(port, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Slow: ").await);
    }
    let mut slow_bodies = Vec::new();
    for _ in 0..20 {
        slow_bodies.push(
            connect(
                port,
                b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1048576\r\n\r\n\x0a",
            )
            .await,
        );
    }
    // Meanwhile the app listener answers.
    assert_eq!(
        server.get("/healthz").await.0,
        200,
        "health while ingest is saturated"
    );
    assert_eq!(server.get("/api/v1/status").await.0, 200, "the API too");
    // Every slow client is cut off: the headers after the 1 s header timeout, the bodies
    // once they fall under 1 KiB a second past it.
    for stream in slow_headers.iter_mut().chain(slow_bodies.iter_mut()) {
        assert!(
            closed_within(stream, Duration::from_secs(10)).await,
            "a slow client is disconnected"
        );
    }
    // Then an honest client is served.
    let (trace, body) = trace_request(1, 1, 3, 10);
    let client = reqwest::Client::new();
    assert_eq!(
        post(&client, &server.traces_url(), body, false).await.0,
        200
    );
    let status = server.status().await;
    let refused = status["listeners"]["otlp_http"]["connections_refused"].as_u64();
    assert!(
        refused >= Some(50),
        "connections beyond the cap were refused: {status}"
    );
    let db = server.db_path();
    server.stop().await;
    assert_stored(&db, &[trace], 3);
}

/// A gzip request of `spans` spans with nothing but ids and times: the most spans per byte.
fn gzip_bomb(k: u32, spans: u32) -> Vec<u8> {
    let now = now_ns();
    let mut trace = [0u8; 16];
    trace[..4].copy_from_slice(&(k + 1).to_be_bytes());
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: trace.to_vec(),
            span_id: (u64::from(i) + (1 << 62)).to_be_bytes().to_vec(),
            start_time_unix_nano: now,
            end_time_unix_nano: now + 1,
            ..Span::default()
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&export(spans).encode_to_vec())
        .expect("compresses");
    gz.finish().expect("compresses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_gzip_amplification_stays_under_the_documented_memory_bound() {
    let Some(bin) = serve_binary() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    // docs/server.md: peak RSS ≤ 100 MiB + 2 × max_in_flight × (max_body +
    // max_decompressed_body) + decode_budget × 1.25 KiB.
    let (in_flight, max_body, max_decompressed, budget) =
        (8u64, 1u64 << 20, 4u64 << 20, 262_144u64);
    let bound = (100 << 20) + 2 * in_flight * (max_body + max_decompressed) + budget * 1280;
    let server = ServeProcess::start(
        &bin,
        dir.path(),
        &[
            "--max-in-flight",
            &in_flight.to_string(),
            "--max-body",
            &max_body.to_string(),
            "--max-decompressed-body",
            &max_decompressed.to_string(),
            "--decode-budget",
            &budget.to_string(),
            "--queue-records",
            "10000000",
        ],
        None,
    )
    .await;
    // 24 bodies of 65,536 spans (~3 MiB decompressed each, ~1.5 M spans in all), at once.
    let bodies: Vec<Vec<u8>> = (0..24).map(|k| gzip_bomb(k, 65_536)).collect();
    assert!(
        bodies[0].len() < (1 << 20),
        "{} bytes on the wire",
        bodies[0].len()
    );
    let client = reqwest::Client::new();
    let mut senders = tokio::task::JoinSet::new();
    for body in bodies {
        let (client, url) = (client.clone(), server.traces_url());
        senders.spawn(async move { post(&client, &url, body, true).await });
    }
    let mut answers = Vec::new();
    while let Some(answer) = senders.join_next().await {
        answers.push(answer.expect("a sender ran"));
    }
    assert!(
        answers.contains(&(200, false)),
        "some were taken: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|&a| a == (200, false) || a == (503, true)),
        "taken, or refused with a time to retry: {answers:?}"
    );
    let peak = server.peak_rss_bytes().expect("the server's /proc status");
    let taken = answers.iter().filter(|a| a.0 == 200).count();
    assert!(
        peak <= bound,
        "peak RSS {} MiB over the documented bound {} MiB ({taken} of 24 taken)",
        peak >> 20,
        bound >> 20
    );
    eprintln!(
        "gzip amplification: peak RSS {} MiB, bound {} MiB, {taken} of 24 taken",
        peak >> 20,
        bound >> 20
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_loud_refuses_retryably_and_recovers_without_loss() {
    let Some(bin) = serve_binary() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    // Files of at most 6 MiB: the store fills up after a few thousand spans.
    let server = ServeProcess::start(&bin, dir.path(), &[], Some(6 << 20)).await;
    let client = reqwest::Client::new();
    let url = server.traces_url();
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for n in 0..2_000 {
        let (trace, body) = trace_request(1, n, 10, 1_000);
        match post(&client, &url, body.clone(), false).await {
            (200, _) => acknowledged.push(trace),
            answer => {
                assert_eq!(answer, (503, true), "a full disk is worth retrying");
                refused = Some((trace, body));
                break;
            }
        }
    }
    let (trace, body) = refused.expect("the disk filled up");
    // Loud: not ready, in the status and /metrics, and in the log.
    let (ready, why) = server.get("/readyz").await;
    assert_eq!(ready, 503, "{why}");
    let status = server.status().await;
    assert!(
        status["writer"]["failing_since_unix_nano"].is_u64(),
        "{status}"
    );
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("agentrace_server_store_failing 1\n"),
        "{metrics}"
    );
    assert!(
        server
            .log_text()
            .contains("storing received records failed"),
        "{}",
        server.log_text()
    );

    // Space again: the refused request, sent again, is stored; the server is ready again.
    server.lift_file_size_limit();
    let started = Instant::now();
    loop {
        if post(&client, &url, body.clone(), false).await.0 == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "writes work again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    acknowledged.push(trace);
    assert_eq!(server.get("/readyz").await.0, 200);
    assert!(
        server
            .log_text()
            .contains("storing received records works again")
    );
    let db = server.db_path();
    server.stop().await;
    let unique: HashSet<_> = acknowledged.iter().collect();
    assert_eq!(unique.len(), acknowledged.len());
    assert_stored(&db, &acknowledged, 10);
}
