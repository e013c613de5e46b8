//! OTLP/HTTP (protobuf, JSON, gzip) and OTLP/gRPC ingest: stored, durable, idempotent, with
//! the OTLP answers for partial and total rejections and for bad bodies.

use agentrace_sqlite::{RecordKind, SpanFilter, SpanQuery};
use agentrace_store::TraceReader;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::CompressionEncoding;

use crate::common::*;

#[tokio::test]
async fn http_protobuf_is_stored_before_the_answer() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let answer = post(
        &t.http_url("/v1/traces"),
        PROTOBUF,
        &[],
        protobuf(&llm_traces(1, 3)),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some(PROTOBUF));
    let response = ExportTraceServiceResponse::decode(&answer.body[..])?;
    assert_eq!(response.partial_success, None, "nothing rejected");

    // A 200 means committed: a fresh open of the file sees the rows, with no waiting.
    let store = t.fresh_store()?;
    let spans = store.spans(&SpanQuery::new(SpanFilter::new()))?.spans;
    assert_eq!(spans.len(), 3);
    let span = &spans[0];
    assert_eq!(span.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(span.usage.input_tokens, 1_000);
    assert!(span.cost.is_some(), "priced by the price processor");
    assert_eq!(span.resource.service_name, "svc");
    Ok(())
}

#[tokio::test]
async fn http_json_and_gzip_are_stored() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let url = t.http_url("/v1/traces");
    let answer = post(&url, JSON, &[], json(&llm_traces(1, 2))?).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some(JSON));
    let gz = [("content-encoding", "gzip")];
    let answer = post(&url, PROTOBUF, &gz, gzip(&protobuf(&llm_traces(10, 2)))?).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = post(
        &url,
        "application/json; charset=utf-8",
        &gz,
        gzip(&json(&llm_traces(20, 2))?)?,
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(t.stored(RecordKind::Spans)?, 6);
    Ok(())
}

#[tokio::test]
async fn grpc_with_and_without_gzip_is_stored() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let mut client = t.grpc().await?;
    let response = client.export(llm_traces(1, 4)).await?.into_inner();
    assert_eq!(response.partial_success, None);
    let mut gzipped = t.grpc().await?.send_compressed(CompressionEncoding::Gzip);
    gzipped.export(llm_traces(100, 4)).await?;
    assert_eq!(t.stored(RecordKind::Spans)?, 8);
    Ok(())
}

#[tokio::test]
async fn logs_become_events() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let answer = post(
        &t.http_url("/v1/logs"),
        PROTOBUF,
        &[],
        protobuf(&logs(&["planner started", "researcher started"])),
    )
    .await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(t.stored(RecordKind::Events)?, 2);
    Ok(())
}

#[tokio::test]
async fn a_span_sent_twice_is_stored_once_and_counted() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let body = protobuf(&llm_traces(1, 5));
    for _ in 0..3 {
        let answer = post(&t.http_url("/v1/traces"), PROTOBUF, &[], body.clone()).await?;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert_eq!(t.stored(RecordKind::Spans)?, 5);
    let stats = t.server.stats();
    assert_eq!(stats.spans.stored, 5);
    assert_eq!(stats.spans.duplicates, 10);
    Ok(())
}

#[tokio::test]
async fn some_invalid_spans_are_a_partial_success() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let mut request = llm_traces(1, 3);
    let mut bad = llm_span(99, 99, now() - 1_000_000_000);
    bad.trace_id = vec![1, 2, 3]; // not 16 bytes
    request.resource_spans[0].scope_spans[0].spans.push(bad);

    let answer = post(&t.http_url("/v1/traces"), PROTOBUF, &[], protobuf(&request)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let partial = ExportTraceServiceResponse::decode(&answer.body[..])?
        .partial_success
        .ok_or("no partial success")?;
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("trace"),
        "{}",
        partial.error_message
    );
    assert_eq!(t.stored(RecordKind::Spans)?, 3);

    // gRPC says the same.
    let mut request = llm_traces(10, 1);
    let mut bad = llm_span(98, 98, now());
    bad.end_time_unix_nano = bad.start_time_unix_nano - 1; // ends before it starts
    request.resource_spans[0].scope_spans[0].spans.push(bad);
    let response = t.grpc().await?.export(request).await?.into_inner();
    assert_eq!(response.partial_success.map(|p| p.rejected_spans), Some(1));
    Ok(())
}

#[tokio::test]
async fn every_span_invalid_is_a_400_and_invalid_argument() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let mut bad = llm_span(1, 1, now());
    bad.span_id = vec![0; 8];
    let request = traces(vec![bad]);
    let answer = post(&t.http_url("/v1/traces"), JSON, &[], json(&request)?).await?;
    assert_eq!(answer.status, 400);
    let status: serde_json::Value = serde_json::from_slice(&answer.body)?;
    assert_eq!(status["code"], 3);
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|m| m.contains("span")),
        "{status}"
    );

    let err = t
        .grpc()
        .await?
        .export(request)
        .await
        .err()
        .ok_or("accepted")?;
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(t.stored(RecordKind::Spans)?, 0);
    Ok(())
}

#[tokio::test]
async fn undecodable_bodies_are_400_with_a_message() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let url = t.http_url("/v1/traces");
    let answer = post(&url, JSON, &[], b"{\"resourceSpans\": [".to_vec()).await?;
    assert_eq!(answer.status, 400);
    assert!(
        answer.text().contains("not valid OTLP/JSON"),
        "{}",
        answer.text()
    );

    let answer = post(&url, PROTOBUF, &[], vec![0xff; 64]).await?;
    assert_eq!(answer.status, 400);
    let status = tonic_types::pb::Status::decode(&answer.body[..])?;
    assert!(status.message.contains("protobuf"), "{}", status.message);

    let answer = post(
        &url,
        PROTOBUF,
        &[("content-encoding", "gzip")],
        b"plain, not gzip".to_vec(),
    )
    .await?;
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("gzip"));

    // The server keeps serving, and stores the next good request.
    let answer = post(&url, PROTOBUF, &[], protobuf(&llm_traces(1, 1))).await?;
    assert_eq!(answer.status, 200);
    assert_eq!(t.server.stats().requests.invalid, 3);
    Ok(())
}

#[tokio::test]
async fn a_wrong_content_type_is_415() -> Result {
    let t = TestServer::start(|_| {}).await?;
    let url = t.http_url("/v1/traces");
    let answer = post(&url, "text/plain", &[], b"hello".to_vec()).await?;
    assert_eq!(answer.status, 415);
    assert!(
        answer.text().contains("application/x-protobuf"),
        "{}",
        answer.text()
    );
    let answer = post(&url, PROTOBUF, &[("content-encoding", "br")], vec![1, 2, 3]).await?;
    assert_eq!(answer.status, 415);
    Ok(())
}

#[tokio::test]
async fn oversized_bodies_and_gzip_bombs_are_413() -> Result {
    let t = TestServer::start(|c| {
        c.limits.max_body_bytes = 64 * 1024;
        c.limits.max_decompressed_bytes = 1024 * 1024;
    })
    .await?;
    let url = t.http_url("/v1/traces");
    let answer = post(&url, PROTOBUF, &[], vec![0; 100 * 1024]).await?;
    assert_eq!(answer.status, 413);
    assert!(answer.text().contains("max_body"), "{}", answer.text());

    // 32 MiB of zeros gzip to about 32 KiB: under the body limit, far over the decompressed one.
    let bomb = gzip(&vec![0; 32 * 1024 * 1024])?;
    assert!(bomb.len() < 64 * 1024);
    let answer = post(&url, PROTOBUF, &[("content-encoding", "gzip")], bomb).await?;
    assert_eq!(answer.status, 413);
    assert!(answer.text().contains("decompressed"), "{}", answer.text());

    // gRPC: a message over the limit is refused for good (`OUT_OF_RANGE`, tonic's own answer,
    // is one OTLP exporters retry: they would send it forever).
    let big = llm_traces(1, 5_000);
    assert!(protobuf(&big).len() > 1024 * 1024);
    let err = t.grpc().await?.export(big).await.err().ok_or("accepted")?;
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    assert!(err.message().contains("too large"), "{err}");
    assert_eq!(t.stored(RecordKind::Spans)?, 0);

    // Bytes that are not protobuf: refused for good too, on each service.
    for path in [
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    ] {
        let status = t.grpc_raw(path, vec![0xff; 64]).await?;
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{path}: {status}"
        );
        assert!(
            status
                .message()
                .contains("not a valid OTLP protobuf message"),
            "{status}"
        );
    }
    let status = t
        .grpc_raw(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Nope",
            vec![],
        )
        .await?;
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status}");
    Ok(())
}

#[tokio::test]
async fn with_redaction_secrets_are_masked_and_content_dropped_before_storing() -> Result {
    let t = TestServer::start(|c| c.redact = true).await?;
    let mut request = llm_traces(1, 1);
    let span = &mut request.resource_spans[0].scope_spans[0].spans[0];
    span.attributes
        .push(text("note", "reach me at jane.doe@example.com"));
    span.attributes.push(text(
        "gen_ai.input.messages",
        r#"[{"role":"user","content":"hi"}]"#,
    ));
    let answer = post(&t.http_url("/v1/traces"), PROTOBUF, &[], protobuf(&request)).await?;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let spans = t
        .fresh_store()?
        .spans(&SpanQuery::new(SpanFilter::new()))?
        .spans;
    let attributes = &spans[0].attributes;
    assert_eq!(
        attributes.get("note").and_then(|v| v.as_str()),
        Some("reach me at [REDACTED:email]")
    );
    assert!(
        attributes.get("gen_ai.input.messages").is_none(),
        "content dropped"
    );
    assert!(spans[0].cost.is_some(), "still priced");
    let redaction = t.server.stats().redaction.ok_or("no redaction stats")?;
    assert_eq!(
        (redaction.values_redacted, redaction.content_removed),
        (1, 1)
    );
    Ok(())
}
