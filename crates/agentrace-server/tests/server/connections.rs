//! Connection hygiene under hostile clients (issue #12): half-open and idle connections are
//! closed after the header timeout, connections beyond the cap are closed at once, stalled
//! bodies are cut off, requests beyond the in-flight cap are refused at once — and the app's
//! `/healthz` answers throughout.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Reads until the server closes the connection (or `within` passes: `None`).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(got)
}

#[tokio::test]
async fn half_open_and_idle_connections_are_closed_and_the_cap_holds() -> Result {
    let t = TestServer::start(|c| {
        c.limits.max_connections = 8;
        c.limits.header_timeout = Duration::from_secs(1);
    })
    .await?;
    let http = t.server.otlp_http_addr();
    let grpc = t.server.otlp_grpc_addr();

    // Eight clients take every slot of each ingest listener: half a request line over HTTP,
    // nothing at all over gRPC.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(http).await?;
        s.write_all(b"POST /v1/traces HTTP/1.1\r\nHost: loc")
            .await?;
        held.push(s);
        held.push(TcpStream::connect(grpc).await?);
    }
    // A ninth is closed at once, without an answer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for addr in [http, grpc] {
        let mut extra = TcpStream::connect(addr).await?;
        let _ = extra.write_all(b"GET /x HTTP/1.1\r\n\r\n").await;
        let answer = closed_within(&mut extra, Duration::from_millis(500)).await;
        assert_eq!(answer, Some(Vec::new()), "{addr}: closed, unanswered");
    }
    // The app is another listener: it answers while ingest is saturated.
    assert_eq!(get(&t.app_url("/healthz"), &[]).await?.status, 200);
    let stats = t.server.stats().listeners;
    assert!(stats.otlp_http.connections_refused >= 1, "{stats:?}");
    assert!(stats.otlp_grpc.connections_refused >= 1, "{stats:?}");

    // After the header timeout the server closes every held connection (the HTTP ones with a
    // 408), which frees the slots.
    for s in &mut held {
        assert!(
            closed_within(s, Duration::from_secs(5)).await.is_some(),
            "a held connection stays open"
        );
    }
    let answer = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        protobuf(&llm_traces(1, 1)),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());

    // An idle keep-alive connection is closed after the header timeout too.
    let mut idle = TcpStream::connect(t.server.app_addr()).await?;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let answer = closed_within(&mut idle, Duration::from_secs(5))
        .await
        .ok_or("the idle connection stays open")?;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    Ok(())
}

/// Sends headers announcing `length` bytes and `first` bytes of the body, then stalls.
async fn stalled_upload(t: &TestServer, length: usize, first: usize) -> Result<TcpStream> {
    let mut s = TcpStream::connect(t.server.otlp_http_addr()).await?;
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(&vec![0u8; first]).await?;
    Ok(s)
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_and_requests_beyond_the_in_flight_cap_are_refused() -> Result {
    let t = TestServer::start(|c| {
        c.limits.max_in_flight = 2;
        c.limits.header_timeout = Duration::from_secs(2);
        c.limits.body_min_rate = 64 << 10;
    })
    .await?;
    // Two uploads stall after 10 KiB of a megabyte: they hold both slots…
    let mut stalled = vec![
        stalled_upload(&t, 1 << 20, 10 << 10).await?,
        stalled_upload(&t, 1 << 20, 10 << 10).await?,
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    // …so a third request is refused at once, retryably, before its body is read.
    let url = t.http_url("/v1/traces");
    let answer = post(&url, PROTOBUF, &[], protobuf(&llm_traces(1, 1))).await?;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert!(t.server.stats().listeners.otlp_http.requests_shed >= 1);
    assert_eq!(get(&t.app_url("/healthz"), &[]).await?.status, 200);

    // Below 64 KiB/s once the 2 s grace has passed, each stalled upload is answered 408.
    for s in &mut stalled {
        let answer = closed_within(s, Duration::from_secs(10))
            .await
            .ok_or("a stalled upload stays open")?;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("body_min_rate"), "{text}");
    }
    // The slots are free again.
    let answer = post(&url, PROTOBUF, &[], protobuf(&llm_traces(2, 1))).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    Ok(())
}
