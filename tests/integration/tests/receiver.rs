//! The test receiver itself: every transport and encoding decodes, and its failure modes behave
//! as the exporter tests assume (503 with Retry-After, UNAVAILABLE, refused connections, and the
//! same port serving again afterwards).

use std::io::Write;
use std::time::Duration;

use agentrace_integration::receiver::{Mode, OtlpReceiver, Signal, Transport};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

fn request(name: &str) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: name.into(),
                    attributes: vec![KeyValue {
                        key: "gen_ai.usage.input_tokens".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::IntValue(42)),
                        }),
                        ..KeyValue::default()
                    }],
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

async fn post(
    url: String,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .header("x-test", "yes")
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.send().await
}

#[tokio::test]
async fn decodes_grpc_http_protobuf_and_json_with_gzip() {
    let receiver = OtlpReceiver::start().await.expect("receiver starts");

    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("gRPC connects")
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    client.export(request("grpc")).await.expect("gRPC export");

    let traces = format!("{}/v1/traces", receiver.http_endpoint());
    let proto = post(
        traces.clone(),
        "application/x-protobuf",
        Some("gzip"),
        gzip(&request("proto").encode_to_vec()),
    )
    .await
    .expect("HTTP protobuf");
    assert_eq!(proto.status(), 200);
    let json = serde_json::to_vec(&request("json")).expect("serializes");
    assert!(String::from_utf8_lossy(&json).contains("\"traceId\":\"0101"));
    let json = post(traces, "application/json", None, json)
        .await
        .expect("HTTP JSON");
    assert_eq!(json.status(), 200);
    assert_eq!(json.headers()["content-type"], "application/json");

    let spans = receiver.spans();
    let got: Vec<_> = spans
        .iter()
        .map(|s| (s.span.name.as_str(), s.transport))
        .collect();
    assert_eq!(
        got,
        [
            ("grpc", Transport::Grpc),
            ("proto", Transport::HttpProtobuf),
            ("json", Transport::HttpJson)
        ]
    );
    for s in &spans {
        assert_eq!(s.span.trace_id, vec![1; 16]);
        assert_eq!(
            s.span.attributes,
            request("x").resource_spans[0].scope_spans[0].spans[0].attributes
        );
    }
    let requests = receiver.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.signal == Signal::Traces && r.items == 1)
    );
    assert!(requests[0].compressed && requests[1].compressed && !requests[2].compressed);
    assert_eq!(requests[1].header("x-test"), Some("yes"));
}

#[tokio::test]
async fn rejects_what_it_cannot_decode() {
    let receiver = OtlpReceiver::start().await.expect("receiver starts");
    let traces = format!("{}/v1/traces", receiver.http_endpoint());
    let wrong_type = post(traces.clone(), "text/plain", None, b"hi".to_vec())
        .await
        .expect("answers");
    assert_eq!(wrong_type.status(), 415);
    let garbage = post(
        traces.clone(),
        "application/x-protobuf",
        None,
        vec![0xff; 7],
    )
    .await
    .expect("answers");
    assert_eq!(garbage.status(), 400);
    let bad_gzip = post(
        traces,
        "application/json",
        Some("gzip"),
        b"not gzip".to_vec(),
    )
    .await
    .expect("answers");
    assert_eq!(bad_gzip.status(), 400);
    assert!(receiver.spans().is_empty());
}

#[tokio::test]
async fn unavailable_down_and_back() {
    let receiver = OtlpReceiver::start().await.expect("receiver starts");
    let traces = format!("{}/v1/traces", receiver.http_endpoint());
    let body = request("x").encode_to_vec();

    receiver.set_mode(Mode::Unavailable);
    let refused = post(traces.clone(), "application/x-protobuf", None, body.clone())
        .await
        .expect("answers");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let mut client = TraceServiceClient::connect(receiver.grpc_endpoint())
        .await
        .expect("gRPC connects");
    let status = client.export(request("x")).await.expect_err("unavailable");
    assert_eq!(status.code(), tonic::Code::Unavailable);

    // Down: the open gRPC connection is cut and new connections are reset, on both ports.
    receiver.set_mode(Mode::Down);
    let http = post(traces.clone(), "application/x-protobuf", None, body.clone()).await;
    assert!(http.is_err(), "HTTP to a down receiver fails: {http:?}");
    let mut cut = false;
    for _ in 0..100 {
        if client.export(request("x")).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cut, "the open gRPC connection is cut");
    let fresh = match TraceServiceClient::connect(receiver.grpc_endpoint()).await {
        Ok(mut fresh) => fresh.export(request("x")).await.is_err(),
        Err(_) => true,
    };
    assert!(fresh, "a new gRPC connection is refused");

    receiver.set_mode(Mode::Accept);
    let mut served = false;
    for _ in 0..100 {
        if let Ok(r) = post(traces.clone(), "application/x-protobuf", None, body.clone()).await {
            served = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the same port serves again");
    assert_eq!(
        receiver.spans().len(),
        1,
        "nothing was stored while unavailable or down"
    );
}
