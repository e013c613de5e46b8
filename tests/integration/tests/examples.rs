//! The OTLP, Jaeger and ClickHouse examples, run as a user would run them: `otlp` over gRPC,
//! HTTP/protobuf and HTTP/JSON with gzip and `jaeger` with its preset and an incoming W3C
//! `traceparent`, against the OTLP receiver; `clickhouse` against the ClickHouse engine (chdb
//! behind ClickHouse's HTTP interface). Each run must deliver the whole workflow: every span
//! with its parent, the GenAI attributes of the model calls, the events as logs in their
//! trace, the derived metrics; in ClickHouse, every span and event, read back.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use agentrace_clickhouse::ClickHouseStore;
use agentrace_clickhouse::testing::{ChdbServer, python};
use agentrace_core::{SpanKind, StatusCode};
use agentrace_integration::receiver::{OtlpReceiver, ReceivedSpan, Signal, Transport};
use agentrace_integration::{example_binary, require};
use agentrace_store::{EventFilter, EventQuery, SpanFilter, SpanQuery, TraceReader};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value::Value};

/// Generous: a bound on a hung process, not a performance figure.
const PATIENCE: Duration = Duration::from_secs(120);

fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn text<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attributes, key)? {
        Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attr(attributes, key)? {
        Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// Runs an example with the `OTEL_*` variables of this environment removed; returns stdout.
async fn run(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = tokio::process::Command::new(bin);
    command.args(args).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") || key.starts_with("AGENTRACE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the example finishes")
        .expect("the example starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed: {}\n{stdout}\n{}",
        bin.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every span's parent arrived too, in the same trace (roots excepted).
fn assert_parentage(spans: &[ReceivedSpan], roots_may_point_outside: bool) {
    let ids: HashSet<(&[u8], &[u8])> = spans
        .iter()
        .map(|s| (s.span.trace_id.as_slice(), s.span.span_id.as_slice()))
        .collect();
    for s in spans {
        if s.span.parent_span_id.is_empty() {
            continue;
        }
        let found = ids.contains(&(s.span.trace_id.as_slice(), s.span.parent_span_id.as_slice()));
        assert!(
            found || roots_may_point_outside,
            "span {:?} has a parent that never arrived",
            s.span.name
        );
    }
}

fn example(name: &str) -> Option<std::path::PathBuf> {
    let bin = example_binary(name);
    require(
        bin.is_some(),
        &format!("the `{name}` example (cargo build --examples --all-features)"),
    )
    .then_some(bin)
    .flatten()
}

#[tokio::test]
async fn otlp_example_delivers_the_workflow_over_each_protocol() {
    let Some(bin) = example("otlp") else { return };
    for (protocol, transport) in [
        ("grpc", Transport::Grpc),
        ("http/protobuf", Transport::HttpProtobuf),
        ("http/json", Transport::HttpJson),
    ] {
        let receiver = OtlpReceiver::start().await.expect("receiver starts");
        let endpoint = if transport == Transport::Grpc {
            receiver.grpc_endpoint()
        } else {
            receiver.http_endpoint()
        };
        let stdout = run(
            &bin,
            &["--endpoint", &endpoint, "--protocol", protocol, "--gzip"],
            &[],
        )
        .await;
        assert!(
            stdout.contains("failed 0, dropped 0"),
            "{protocol}: nothing lost: {stdout}"
        );

        let spans = receiver.spans();
        assert!(spans.iter().all(|s| s.transport == transport));
        assert!(
            spans
                .iter()
                .all(|s| text(&s.resource, "service.name") == Some("agent-workflow")),
            "{protocol}: service.name on every span"
        );
        let names: Vec<&str> = spans.iter().map(|s| s.span.name.as_str()).collect();
        for agent in ["planner", "researcher", "coder"] {
            assert!(
                names.contains(&format!("invoke_agent {agent}").as_str()),
                "{protocol}: agent {agent} in {names:?}"
            );
        }
        assert_eq!(
            names
                .iter()
                .filter(|n| n.starts_with("invoke_workflow"))
                .count(),
            2,
            "{protocol}: two sessions"
        );
        assert_parentage(&spans, false);

        // The researcher's gpt-4o call of session alpha: usage, cache, provider, cost, session.
        let gpt = spans
            .iter()
            .find(|s| text(&s.span.attributes, "gen_ai.request.model") == Some("gpt-4o"))
            .expect("the gpt-4o call");
        let a = &gpt.span.attributes;
        assert_eq!(text(a, "gen_ai.provider.name"), Some("openai"));
        assert_eq!(text(a, "gen_ai.response.model"), Some("gpt-4o-2024-08-06"));
        assert_eq!(int(a, "gen_ai.usage.input_tokens"), Some(5_200));
        assert_eq!(int(a, "gen_ai.usage.output_tokens"), Some(900));
        assert_eq!(int(a, "gen_ai.usage.cache_read.input_tokens"), Some(4_096));
        assert_eq!(text(a, "gen_ai.conversation.id"), Some("session-alpha"));
        assert_eq!(text(a, "gen_ai.agent.name"), Some("researcher"));
        assert!(
            matches!(attr(a, "gen_ai.usage.cost"), Some(Value::DoubleValue(c)) if *c > 0.0),
            "{protocol}: cost on the span: {a:?}"
        );
        // The failing tool call carries its error.
        assert!(spans.iter().any(|s| {
            s.span.name == "execute_tool run_tests"
                && s.span.status.as_ref().is_some_and(|st| st.code == 2)
        }));

        let span_ids: HashSet<&[u8]> = spans.iter().map(|s| s.span.span_id.as_slice()).collect();
        let logs = receiver.logs();
        assert!(!logs.is_empty(), "{protocol}: events arrive as logs");
        assert!(
            logs.iter()
                .filter(|l| !l.log.span_id.is_empty())
                .all(|l| span_ids.contains(l.log.span_id.as_slice())),
            "{protocol}: every log's span arrived"
        );
        let metrics: HashSet<String> = receiver
            .metrics()
            .into_iter()
            .map(|m| m.metric.name)
            .collect();
        for name in [
            "gen_ai.client.token.usage",
            "gen_ai.client.operation.duration",
            "agentrace.cost",
            "agentrace.agent.runs",
            "agentrace.tool.calls",
        ] {
            assert!(metrics.contains(name), "{protocol}: {name} in {metrics:?}");
        }
        let requests = receiver.requests();
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            assert!(requests.iter().any(|r| r.signal == signal));
        }
        assert!(requests.iter().all(|r| r.compressed), "{protocol}: gzip");
    }
}

#[tokio::test]
async fn jaeger_example_continues_the_incoming_trace() {
    let Some(bin) = example("jaeger") else { return };
    let receiver = OtlpReceiver::start().await.expect("receiver starts");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let incoming_parent = "00f067aa0ba902b7";
    let stdout = run(
        &bin,
        &[
            "--traceparent",
            &format!("00-{trace_id}-{incoming_parent}-01"),
        ],
        &[("AGENTRACE_JAEGER_ENDPOINT", &receiver.grpc_endpoint())],
    )
    .await;

    let spans = receiver.spans();
    assert!(!spans.is_empty());
    assert!(spans.iter().all(|s| s.transport == Transport::Grpc));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert!(
        spans.iter().all(|s| hex(&s.span.trace_id) == trace_id),
        "every span continues the incoming trace"
    );
    let request = spans
        .iter()
        .find(|s| s.span.name == "POST /runs")
        .expect("the request span");
    assert_eq!(hex(&request.span.parent_span_id), incoming_parent);
    assert!(
        stdout.contains(&format!(
            "traceparent for downstream calls: 00-{trace_id}-{}-01",
            hex(&request.span.span_id)
        )),
        "the downstream traceparent names the request span: {stdout}"
    );
    assert!(stdout.contains(&format!("/trace/{trace_id}")));
    assert_parentage(&spans, true);
    // The preset sends traces only.
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.signal == Signal::Traces)
    );
    assert!(receiver.logs().is_empty() && receiver.metrics().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_example_stores_the_workflow_through_a_pipeline() {
    let Some(bin) = example("clickhouse") else {
        return;
    };
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = ChdbServer::start(&python, dir.path());
    let stdout = run(
        &bin,
        &["--url", server.url(), "--database", "workflow"],
        &[],
    )
    .await;
    assert!(
        stdout.contains("failed 0, dropped 0"),
        "nothing lost: {stdout}"
    );

    let url = server.url().to_owned();
    let (spans, events) = tokio::task::spawn_blocking(move || {
        let store = ClickHouseStore::open_blocking(clickhouse::Client::default(), &url, "workflow")
            .expect("the store opens");
        let spans = TraceReader::spans(&store, &SpanQuery::new(SpanFilter::new()))
            .expect("the spans")
            .spans;
        let events = TraceReader::events(&store, &EventQuery::new(EventFilter::new()))
            .expect("the events")
            .events;
        (spans, events)
    })
    .await
    .expect("the read ends");
    let calls = spans.iter().filter(|s| s.kind == SpanKind::Llm).count();
    assert!(
        stdout.contains(&format!("{} spans, {calls} LLM calls", spans.len())),
        "the example read back what is stored: {stdout}"
    );
    let sessions: HashSet<&str> = spans
        .iter()
        .filter_map(|s| s.session_id.as_deref())
        .collect();
    assert_eq!(sessions.len(), 2, "two sessions: {sessions:?}");
    for agent in ["planner", "researcher", "coder"] {
        assert!(
            spans
                .iter()
                .any(|s| s.kind == SpanKind::Agent && s.agent_name.as_deref() == Some(agent)),
            "agent {agent}"
        );
    }
    let gpt = spans
        .iter()
        .find(|s| s.request_model.as_deref() == Some("gpt-4o"))
        .expect("the gpt-4o call");
    assert_eq!(gpt.usage.input_tokens, 5_200);
    assert_eq!(gpt.usage.output_tokens, 900);
    assert_eq!(gpt.usage.cache_read_tokens, 4_096);
    assert!(gpt.cost.is_some_and(|c| c.total.nanos() > 0), "{gpt:?}");
    assert!(
        spans
            .iter()
            .any(|s| s.name == "execute_tool run_tests" && s.status.code == StatusCode::Error)
    );
    let ids: HashSet<_> = spans.iter().map(|s| s.span_id).collect();
    assert!(
        spans
            .iter()
            .filter_map(|s| s.parent_span_id)
            .all(|p| ids.contains(&p)),
        "every parent stored"
    );
    assert!(!events.is_empty(), "the events");
    assert!(
        events
            .iter()
            .filter_map(|e| e.span_id)
            .all(|id| ids.contains(&id)),
        "every event's span stored"
    );
}
