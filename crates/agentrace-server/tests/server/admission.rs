//! Bounded memory by construction (issue #12): a request is counted from its bytes before it
//! is decoded — over `limits.max_records_per_request` it is refused for good, whatever its
//! compression — and takes a share of `limits.decode_budget` until it is answered; a request
//! that does not fit now is refused retryably, one that never could is refused for good.

use std::time::Duration;

use agentrace_sqlite::RecordKind;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::common::*;

/// `n` spans with nothing but their ids and times: the most spans per byte.
fn tiny_spans(n: u64) -> Vec<u8> {
    let start = now();
    protobuf(&traces(
        (0..n)
            .map(|i| Span {
                trace_id: trace_id(1),
                span_id: span_id(i + 1),
                start_time_unix_nano: start,
                end_time_unix_nano: start + 1,
                ..Span::default()
            })
            .collect(),
    ))
}

#[tokio::test]
async fn a_request_over_the_record_limit_is_refused_before_decoding_even_gzipped() -> Result {
    let t = TestServer::start(|c| c.limits.max_records_per_request = 1_000).await?;
    let url = t.http_url("/v1/traces");
    // 100,000 tiny spans gzip to a few hundred KiB: under every byte limit.
    let bomb = gzip(&tiny_spans(100_000))?;
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let answer = post(&url, PROTOBUF, &[("content-encoding", "gzip")], bomb).await?;
    assert_eq!(answer.status, 413, "{}", answer.text());
    let status = <tonic_types::pb::Status as prost::Message>::decode(&answer.body[..])?;
    assert!(
        status.message.contains("more than 1000 records")
            && status.message.contains("max_records_per_request"),
        "{}",
        status.message
    );
    let err = t
        .grpc()
        .await?
        .export(traces(vec![llm_span(1, 1, now()); 1_001]))
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    assert_eq!(t.stored(RecordKind::Spans)?, 0);

    // At the limit, it is taken.
    let answer = post(&url, PROTOBUF, &[], tiny_spans(1_000)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(t.stored(RecordKind::Spans)?, 1_000);
    Ok(())
}

#[tokio::test]
async fn requests_share_the_decode_budget_until_they_are_answered() -> Result {
    let t = TestServer::start(|c| c.limits.decode_budget = 30_000).await?;
    let url = t.http_url("/v1/traces");
    // More messages than the whole budget: never, refused for good.
    let answer = post(&url, PROTOBUF, &[], tiny_spans(40_000)).await?;
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert!(answer.text().contains("decode_budget"), "{}", answer.text());

    // A request of 20,000 spans waits for its commit (the store is locked), holding its share…
    let lock = WriteLock::take(&t)?;
    let first = tokio::spawn({
        let url = url.clone();
        let body = tiny_spans(20_000);
        async move { post(&url, PROTOBUF, &[], body).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // …so another of 20,000 does not fit now: retryable, over HTTP and gRPC.
    let answer = post(&url, PROTOBUF, &[], tiny_spans(20_000)).await?;
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert_eq!(answer.header("retry-after"), Some("1"));
    let status = <tonic_types::pb::Status as prost::Message>::decode(&answer.body[..])?;
    assert!(
        status.message.contains("decode_budget"),
        "{}",
        status.message
    );
    // (An LLM span with its six attributes decodes into thirteen messages.)
    let spans = (0..1_500).map(|i| llm_span(2, i + 1, now())).collect();
    let err = t
        .grpc()
        .await?
        .export(traces(spans))
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err}");
    assert!(err.message().contains("decode_budget"), "{err}");

    // Once the first is answered its share comes back.
    lock.release()?;
    assert_eq!(first.await??.status, 200);
    let answer = post(&url, PROTOBUF, &[], tiny_spans(20_000)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(t.server.stats().requests.overloaded >= 2);
    Ok(())
}
