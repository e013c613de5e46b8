//! `agentrace serve` with real clients: the OpenTelemetry Python SDK's OTLP exporters (gRPC and
//! HTTP) sending one agent run per dialect, the Rust `opentelemetry-otlp` exporter (through the
//! `otlp` example) over gRPC, HTTP/protobuf and HTTP/JSON, and bad input of every kind. Every
//! check reads back through the REST API, as a user would.

use std::io::Write;
use std::path::Path;

use agentrace_core::cost::{PriceBook, PriceTable, compute_cost};
use agentrace_core::{SpanKind, SpanRecord, StatusCode};
use agentrace_integration::serve::{
    PATIENCE, api, assert_attributed, get_json, installed, python_endpoints, run_python, start,
    trace_spans,
};
use agentrace_integration::{example_binary, python_client, require};
use agentrace_server::RunningServer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, KeyValueList, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value as Json;

fn one_of_kind(spans: &[SpanRecord], kind: SpanKind) -> &SpanRecord {
    let found: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} span in {spans:?}");
    found[0]
}

/// The base venv's Python with the OpenTelemetry clients.
fn python() -> Option<std::path::PathBuf> {
    installed(
        python_client(),
        "the OpenTelemetry Python clients (scripts/install-test-deps.sh)",
    )
}

/// Runs an OpenTelemetry client script sending to `endpoint` over `protocol`.
async fn run_client(
    python: &Path,
    script: &str,
    protocol: &str,
    endpoint: &str,
    args: &[&str],
) -> Json {
    let mut all = vec!["--endpoint", endpoint, "--protocol", protocol];
    all.extend_from_slice(args);
    run_python(python, script, &all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_clients_in_every_dialect_are_normalized_and_priced() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let prices = PriceTable::builtin();
    for (protocol, endpoint) in python_endpoints(&server) {
        let sent = run_client(&python, "send_dialects.py", protocol, &endpoint, &[]).await;
        let dialects = sent.as_object().expect("one entry per dialect");
        assert_eq!(dialects.len(), 4);
        for (dialect, want) in dialects {
            let what = format!("{protocol} {dialect}");
            let trace_id = want["trace_id"].as_str().expect("trace id");
            let spans = trace_spans(&server, trace_id).await;
            assert_eq!(spans.len(), 3, "{what}: {spans:?}");

            let llm = one_of_kind(&spans, SpanKind::Llm);
            assert_eq!(llm.provider.as_deref(), want["provider"].as_str(), "{what}");
            assert_eq!(
                llm.request_model.as_deref(),
                want["model"].as_str(),
                "{what}"
            );
            let tokens = |k: &str| want[k].as_u64().expect("a count");
            assert_eq!(llm.usage.input_tokens, tokens("input_tokens"), "{what}");
            assert_eq!(llm.usage.output_tokens, tokens("output_tokens"), "{what}");
            assert_eq!(
                llm.usage.cache_read_tokens,
                tokens("cache_read_tokens"),
                "{what}"
            );
            assert_eq!(
                llm.session_id.as_deref(),
                want["session"].as_str(),
                "{what}"
            );
            if let Some(user) = want["user"].as_str() {
                assert_eq!(llm.user_id.as_deref(), Some(user), "{what}");
            }
            // Priced by the server with the built-in table, to the nano-dollar.
            let price = prices
                .price(
                    llm.provider.as_deref(),
                    llm.model().unwrap_or_default(),
                    llm.end_time_unix_nano,
                )
                .unwrap_or_else(|| panic!("{what}: the test's model has a price"));
            assert_eq!(
                llm.cost,
                Some(compute_cost(&llm.usage, price.price)),
                "{what}"
            );
            // The raw attributes are kept alongside.
            assert!(!llm.attributes.is_empty(), "{what}: raw attributes kept");

            let agent = one_of_kind(&spans, SpanKind::Agent);
            assert_eq!(
                agent.agent_name.as_deref(),
                want["agent"].as_str(),
                "{what}"
            );
            let tool = one_of_kind(&spans, SpanKind::Tool);
            assert_eq!(tool.tool_name.as_deref(), want["tool"].as_str(), "{what}");
            let failed = want["tool_failed"].as_bool().expect("a flag");
            assert_eq!(tool.status.code == StatusCode::Error, failed, "{what}");
            for child in [llm, tool] {
                assert_eq!(
                    child.parent_span_id,
                    Some(agent.span_id),
                    "{what}: parentage"
                );
            }
        }
    }
    server.shutdown().await.expect("a clean shutdown");
}

/// The OTel Python SDK's default `BatchSpanProcessor` exports an agent's calls before the agent
/// span (they end first): every call is still attributed to its agent, session and user, and
/// `/cost?group_by=agent` has no spend without an agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_agent_runs_exported_children_first_are_attributed_to_their_agents() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    for (protocol, endpoint) in python_endpoints(&server) {
        let service = format!("agents-{}", protocol.replace('/', "-"));
        let sent = run_client(
            &python,
            "send_agent_runs.py",
            protocol,
            &endpoint,
            &["--service", &service],
        )
        .await;
        let calls = sent["calls"].as_array().expect("calls");
        assert_eq!(calls.len(), 15, "{protocol}: three runs of five calls");
        let mut expected_calls: std::collections::BTreeMap<String, u64> = Default::default();
        for call in calls {
            let what = format!("{protocol} {}", call["name"]);
            let spans = trace_spans(&server, call["trace_id"].as_str().expect("trace id")).await;
            let span_id = call["span_id"].as_str().expect("span id");
            let span = spans
                .iter()
                .find(|s| s.span_id.to_string() == span_id)
                .unwrap_or_else(|| panic!("{what}: stored"));
            assert_attributed(span, call, &what);
            if span.kind == SpanKind::Llm {
                *expected_calls
                    .entry(call["agent"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        let (status, cost) = get_json(&api(
            &server,
            &format!("/cost?group_by=agent&service={service}"),
        ))
        .await;
        assert_eq!(status, 200, "{cost}");
        let by_agent: std::collections::BTreeMap<String, u64> = cost["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                let agent = r["keys"]["agent"].as_str();
                assert!(agent.is_some(), "{protocol}: spend without an agent: {r}");
                (
                    agent.unwrap_or_default().to_owned(),
                    r["calls"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(by_agent, expected_calls, "{protocol}");
    }
    // The calls did arrive before their agents: the late path was taken.
    let (_, status) = get_json(&api(&server, "/status")).await;
    let late = status["repairs"]["attributed_late"].as_u64().unwrap_or(0);
    assert!(late > 0, "no span was attributed late: {status}");
    assert_eq!(status["repairs"]["awaiting_parent"], 0);
    server.shutdown().await.expect("a clean shutdown");
}

/// The series of a metric through the API: labels (as `k=v,…`, the resource's `service.name`
/// and `service.instance.id` left out) → (sum, count) over all time.
async fn metric_series(
    server: &RunningServer,
    name: &str,
    service: &str,
) -> Vec<(String, f64, u64)> {
    let (status, body) = get_json(&api(server, &format!("/metrics/{name}?step=1d"))).await;
    assert_eq!(status, 200, "{name}: {body}");
    let mut out = Vec::new();
    for series in body["series"].as_array().into_iter().flatten() {
        let labels = series["labels"].as_object().expect("labels");
        if labels.get("service.name").and_then(Json::as_str) != Some(service) {
            continue;
        }
        let mut key: Vec<String> = labels
            .iter()
            .filter(|(k, _)| !k.starts_with("service."))
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        key.sort();
        let points = series["points"].as_array().expect("points");
        let sum = points.iter().filter_map(|p| p["sum"].as_f64()).sum();
        let count = points.iter().filter_map(|p| p["count"].as_u64()).sum();
        out.push((key.join(","), sum, count));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_metrics_are_stored_as_the_sdk_recorded_them() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    for (protocol, endpoint) in python_endpoints(&server) {
        let service = format!("python-metrics-{}", protocol.replace('/', "-"));
        let args = ["--service", service.as_str()];
        let want = run_client(&python, "send_metrics.py", protocol, &endpoint, &args).await;
        // The histogram as its `.sum` and `.count` counters, per model and token type; the
        // cumulative points of the shutdown's export add nothing.
        let sums = metric_series(&server, "gen_ai.client.token.usage.sum", &service).await;
        let counts = metric_series(&server, "gen_ai.client.token.usage.count", &service).await;
        let mut expected_sums: Vec<(String, f64, u64)> = want["token_sum"]
            .as_object()
            .expect("token sums")
            .iter()
            .map(|(key, n)| {
                let (model, token_type) = key.split_once('/').expect("model/type");
                let labels = format!("gen_ai.request.model={model},gen_ai.token.type={token_type}");
                (labels, n.as_f64().expect("a sum"), 0)
            })
            .collect();
        expected_sums.sort_by(|a, b| a.0.cmp(&b.0));
        let got_sums: Vec<_> = sums.iter().map(|(k, s, _)| (k.clone(), *s, 0)).collect();
        assert_eq!(got_sums, expected_sums, "{protocol}: token sums");
        let got_counts: Vec<_> = counts.iter().map(|(k, s, _)| (k.clone(), *s)).collect();
        let expected_counts: Vec<_> = expected_sums
            .iter()
            .map(|(k, _, _)| {
                let key = k
                    .replace("gen_ai.request.model=", "")
                    .replace(",gen_ai.token.type=", "/");
                (
                    k.clone(),
                    want["token_count"][&key].as_f64().expect("a count"),
                )
            })
            .collect();
        assert_eq!(got_counts, expected_counts, "{protocol}: observations");
        let calls = metric_series(&server, "agent.tool.calls", &service).await;
        let got_calls: Vec<_> = calls.iter().map(|(k, s, _)| (k.clone(), *s)).collect();
        assert_eq!(
            got_calls,
            [
                (
                    "gen_ai.tool.name=calculator".to_owned(),
                    want["tool_calls"]["calculator"].as_f64().expect("n")
                ),
                (
                    "gen_ai.tool.name=web_search".to_owned(),
                    want["tool_calls"]["web_search"].as_f64().expect("n")
                ),
            ],
            "{protocol}: counter"
        );
        let active = metric_series(&server, "agent.runs.active", &service).await;
        assert_eq!(active.len(), 1, "{protocol}: {active:?}");
        assert_eq!(
            active[0].1,
            want["runs_active"].as_f64().expect("n"),
            "{protocol}: up-down"
        );
    }
    server.shutdown().await.expect("a clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_otlp_exporter_talks_to_the_server_over_every_protocol() {
    let bin = example_binary("otlp");
    if !require(
        bin.is_some(),
        "the `otlp` example (cargo build --examples --all-features)",
    ) {
        return;
    }
    let Some(bin) = bin else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    for (round, (protocol, endpoint)) in [
        ("grpc", format!("http://{}", server.otlp_grpc_addr())),
        (
            "http/protobuf",
            format!("http://{}", server.otlp_http_addr()),
        ),
        ("http/json", format!("http://{}", server.otlp_http_addr())),
    ]
    .into_iter()
    .enumerate()
    {
        let output = tokio::time::timeout(
            PATIENCE,
            tokio::process::Command::new(&bin)
                .args(["--endpoint", &endpoint, "--protocol", protocol, "--gzip"])
                .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
                .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
                .output(),
        )
        .await
        .expect("the example finishes")
        .expect("the example starts");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("failed 0, dropped 0"),
            "{protocol}: {stdout}"
        );

        // Two sessions per run, each its own trace, all of them listed.
        let (status, page) =
            get_json(&api(&server, "/traces?service=agent-workflow&limit=100")).await;
        assert_eq!(status, 200, "{page}");
        let traces = page["traces"].as_array().expect("traces");
        assert_eq!(traces.len(), 2 * (round + 1), "{protocol}: {page}");
        let trace_id = traces[0]["trace_id"].as_str().expect("an id").to_owned();
        let spans = trace_spans(&server, &trace_id).await;
        assert!(
            spans
                .iter()
                .any(|s| s.kind == SpanKind::Llm && s.cost.is_some()),
            "{protocol}: a priced LLM call in {spans:?}"
        );
        assert!(spans.iter().any(|s| s.kind == SpanKind::Agent));
    }
    server.shutdown().await.expect("a clean shutdown");
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn request_with(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn span(trace: u8, span: u8, attributes: Vec<KeyValue>) -> Span {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![span; 8],
        name: "chat gpt-4o".into(),
        start_time_unix_nano: now - 1_000_000_000,
        end_time_unix_nano: now,
        attributes,
        ..Span::default()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

async fn post(
    server: &RunningServer,
    content_type: &str,
    gzip: bool,
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/v1/traces", server.otlp_http_addr()))
        .header("content-type", content_type)
        .body(body);
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// What is wrong, content type, gzip-encoded, the body, the statuses that answer it well.
type BadInput<'a> = (&'a str, &'a str, bool, Vec<u8>, &'a [u16]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = start(dir.path()).await;
    let protobuf = "application/x-protobuf";

    // Something good first: it must survive everything below.
    let good = request_with(vec![span(
        1,
        1,
        vec![
            kv("gen_ai.provider.name", Value::StringValue("openai".into())),
            kv("gen_ai.request.model", Value::StringValue("gpt-4o".into())),
            kv("gen_ai.usage.input_tokens", Value::IntValue(100)),
        ],
    )]);
    assert_eq!(
        post(&server, protobuf, false, good.encode_to_vec()).await.0,
        200
    );

    let mut invalid_utf8 = request_with(vec![span(2, 1, vec![])]).encode_to_vec();
    let name = invalid_utf8
        .windows(11)
        .position(|w| w == b"chat gpt-4o")
        .expect("the name is in the encoding");
    invalid_utf8[name] = 0xff;
    let deep = (0..200).fold(Value::StringValue("bottom".into()), |inner, _| {
        Value::KvlistValue(KeyValueList {
            values: vec![kv("nested", inner)],
        })
    });
    let many: Vec<KeyValue> = (0..10_000)
        .map(|i| kv(&format!("attr.{i}"), Value::IntValue(i)))
        .collect();
    let mut absurd = span(5, 1, vec![]);
    absurd.start_time_unix_nano = 0;
    absurd.end_time_unix_nano = u64::MAX;
    let zeros = vec![0u8; 32 << 20];

    let cases: Vec<BadInput<'_>> = vec![
        (
            "malformed protobuf",
            protobuf,
            false,
            vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01],
            &[400],
        ),
        (
            "malformed JSON",
            "application/json",
            false,
            b"{\"resourceSpans\": [".to_vec(),
            &[400],
        ),
        (
            "wrong content type",
            "text/plain",
            false,
            b"hello".to_vec(),
            &[415],
        ),
        ("oversize body", protobuf, false, vec![0u8; 2 << 20], &[413]),
        ("gzip bomb", protobuf, true, gzip(&zeros), &[413, 400]),
        ("not gzip", protobuf, true, b"plain".to_vec(), &[400]),
        ("invalid UTF-8", protobuf, false, invalid_utf8, &[400]),
        (
            "absurd timestamps",
            protobuf,
            false,
            request_with(vec![absurd]).encode_to_vec(),
            &[400],
        ),
        (
            "10,000 attributes",
            protobuf,
            false,
            request_with(vec![span(3, 1, many)]).encode_to_vec(),
            &[400],
        ),
        (
            "deep nesting",
            protobuf,
            false,
            request_with(vec![span(4, 1, vec![kv("deep", deep)])]).encode_to_vec(),
            &[400],
        ),
    ];
    for (what, content_type, gzipped, body, expected) in cases {
        let (status, message) = post(&server, content_type, gzipped, body).await;
        assert!(expected.contains(&status), "{what}: {status} {message}");
        assert!(!message.trim().is_empty(), "{what}: the answer says why");
    }

    // Still serving; what was stored before is all there; nothing bad was stored.
    assert_eq!(
        post(
            &server,
            protobuf,
            false,
            request_with(vec![span(6, 1, vec![])]).encode_to_vec()
        )
        .await
        .0,
        200
    );
    let ok = reqwest::get(format!("http://{}/healthz", server.app_addr()))
        .await
        .expect("healthz answers");
    assert_eq!(ok.status().as_u16(), 200);
    let spans = trace_spans(&server, &"01".repeat(16)).await;
    assert_eq!(spans[0].usage.input_tokens, 100);
    for bad in [2u8, 3, 4, 5] {
        let (status, _) = get_json(&api(
            &server,
            &format!("/traces/{}", format!("{bad:02x}").repeat(16)),
        ))
        .await;
        assert_eq!(status, 404, "trace {bad} was not stored");
    }
    server.shutdown().await.expect("a clean shutdown");
}
