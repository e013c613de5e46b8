//! OTLP load for the suites: trace requests built with `opentelemetry-proto`, and the check
//! that what was acknowledged is stored.

use agentrace_core::TraceId;
use agentrace_sqlite::SqliteStore;
use agentrace_store::TraceReader;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A request of one trace of `spans` spans (a root and its children), each with an attribute
/// of `padding` bytes (none if 0); the trace id is `client`, `n`.
pub fn trace_request(client: u8, n: u32, spans: u8, padding: usize) -> (TraceId, Vec<u8>) {
    let mut trace = [0u8; 16];
    trace[0] = client + 1;
    trace[12..].copy_from_slice(&n.to_be_bytes());
    let now = now_ns();
    let spans = (1..=spans)
        .map(|i| Span {
            trace_id: trace.to_vec(),
            span_id: vec![i; 8],
            parent_span_id: if i == 1 { vec![] } else { vec![1; 8] },
            name: format!("step {i}"),
            start_time_unix_nano: now - 1_000_000,
            end_time_unix_nano: now,
            attributes: (padding > 0)
                .then(|| KeyValue {
                    key: "padding".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("p".repeat(padding))),
                    }),
                    ..KeyValue::default()
                })
                .into_iter()
                .collect(),
            ..Span::default()
        })
        .collect();
    (TraceId::from_bytes(trace), export(spans).encode_to_vec())
}

/// A request of `n` priced gpt-4o chat calls of agent "planner" (1,000 input and 200 output
/// tokens each) that just ended, ids from `first`; the first `failed` of them failed.
pub fn llm_calls(first: u64, n: u64, failed: u64) -> Vec<u8> {
    let spans = (first..first + n)
        .map(|i| {
            let mut trace = [0x6b; 16];
            trace[8..].copy_from_slice(&i.to_be_bytes());
            let trace = TraceId::from_bytes(trace);
            let span = agentrace_core::SpanId::from_bytes((i | 1 << 60).to_be_bytes());
            llm_call(
                (trace, span),
                None,
                "gpt-4o",
                (Some("planner"), None),
                i < first + failed,
            )
        })
        .collect();
    export(spans).encode_to_vec()
}

/// A call of agent `agent` in session `session`: a `model` chat span of 1,000 input and 200
/// output tokens, ended a second ago, failed if `failed`; under the span `parent` if any.
pub fn llm_call(
    ids: (TraceId, agentrace_core::SpanId),
    parent: Option<agentrace_core::SpanId>,
    model: &str,
    who: (Option<&str>, Option<&str>),
    failed: bool,
) -> Span {
    use any_value::Value::{IntValue, StringValue};
    let (agent, session) = who;
    let now = now_ns();
    let mut attributes = vec![
        attr("gen_ai.operation.name", StringValue("chat".into())),
        attr("gen_ai.provider.name", StringValue("openai".into())),
        attr("gen_ai.request.model", StringValue(model.into())),
        attr("gen_ai.usage.input_tokens", IntValue(1_000)),
        attr("gen_ai.usage.output_tokens", IntValue(200)),
    ];
    attributes.extend(agent.map(|a| attr("gen_ai.agent.name", StringValue(a.into()))));
    attributes.extend(session.map(|s| attr("gen_ai.conversation.id", StringValue(s.into()))));
    Span {
        trace_id: ids.0.to_bytes().to_vec(),
        span_id: ids.1.to_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_bytes().to_vec()).unwrap_or_default(),
        name: format!("chat {model}"),
        kind: 3,
        start_time_unix_nano: now - 2_000_000_000,
        end_time_unix_nano: now - 1_000_000_000,
        attributes,
        status: failed.then(|| Status {
            code: 2,
            message: "upstream 429".into(),
        }),
        ..Span::default()
    }
}

/// A trace of agent `agent` as it arrives when its calls end before it: `calls` gpt-4o-mini
/// calls that do not name their agent (the first request) and the agent's `invoke_agent` span,
/// their parent (the second). The trace id is `client`, `n`.
pub fn children_first(client: u8, n: u32, calls: u8, agent: &str) -> (TraceId, [Vec<u8>; 2]) {
    use any_value::Value::StringValue;
    let mut trace = [0u8; 16];
    trace[0] = 0xc0 | client;
    trace[12..].copy_from_slice(&n.to_be_bytes());
    let trace = TraceId::from_bytes(trace);
    let root = agentrace_core::SpanId::from_bytes([0xa0, client, 0, 0, 0, 0, 0, 1]);
    let children = (1..=calls)
        .map(|i| {
            let id = agentrace_core::SpanId::from_bytes([0xb0, client, 0, 0, 0, 0, 0, i]);
            llm_call((trace, id), Some(root), "gpt-4o-mini", (None, None), false)
        })
        .collect();
    let now = now_ns();
    let agent_span = Span {
        trace_id: trace.to_bytes().to_vec(),
        span_id: root.to_bytes().to_vec(),
        name: format!("invoke_agent {agent}"),
        kind: 1,
        start_time_unix_nano: now - 3_000_000_000,
        end_time_unix_nano: now,
        attributes: vec![
            attr("gen_ai.operation.name", StringValue("invoke_agent".into())),
            attr("gen_ai.agent.name", StringValue(agent.into())),
        ],
        ..Span::default()
    };
    (
        trace,
        [
            export(children).encode_to_vec(),
            export(vec![agent_span]).encode_to_vec(),
        ],
    )
}

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

/// POSTs an OTLP/HTTP protobuf `body` to `url` and requires a 200.
///
/// # Panics
/// If the server does not answer 200.
pub async fn post_traces(url: &str, body: Vec<u8>) {
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(answer.status(), 200, "ingest answers 200");
}

/// A request of `spans`, in one resource and scope.
pub fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// Every trace in `acknowledged` is in the store at `db`, whole (`spans` spans each).
///
/// # Panics
/// If one is missing or incomplete, or the store cannot be read.
pub fn assert_stored(db: &std::path::Path, acknowledged: &[TraceId], spans: usize) {
    let store = SqliteStore::open(db).expect("the store opens");
    for trace in acknowledged {
        let tree = store
            .trace(*trace)
            .expect("the store answers")
            .unwrap_or_else(|| panic!("acknowledged trace {trace} is stored"));
        assert_eq!(tree.nodes.len(), spans, "all of trace {trace}");
    }
}

/// The traces a [`send_children_first`] sender had acknowledged, each with its agent.
type Acknowledged = std::sync::Arc<std::sync::Mutex<Vec<(TraceId, String)>>>;

/// Children-first load through a balancer (the fleet tests'): senders alternately over
/// OTLP/HTTP and OTLP/gRPC, each retrying a request until it is acknowledged, as exporters do.
#[derive(Debug)]
pub struct FleetLoad {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acknowledged: Acknowledged,
    retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    senders: tokio::task::JoinSet<()>,
}

impl FleetLoad {
    /// `senders` senders of traces of `calls` calls to the balancer's `(OTLP/HTTP, OTLP/gRPC)`
    /// ports on loopback, with `token` if the nodes want one.
    pub fn start(senders: u8, (http, grpc): (u16, u16), token: Option<&str>, calls: u8) -> Self {
        let mut load = Self {
            stop: std::sync::Arc::default(),
            acknowledged: Acknowledged::default(),
            retries: std::sync::Arc::default(),
            senders: tokio::task::JoinSet::new(),
        };
        for sender in 0..senders {
            let over_grpc = sender % 2 == 1;
            let target = Target {
                port: if over_grpc { grpc } else { http },
                grpc: over_grpc,
                token: token.map(str::to_owned),
            };
            load.senders.spawn(send_children_first(
                sender,
                target,
                calls,
                load.stop.clone(),
                load.acknowledged.clone(),
                load.retries.clone(),
            ));
        }
        load
    }

    /// How many traces were acknowledged whole so far.
    pub fn acknowledged(&self) -> usize {
        self.acknowledged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Stops the senders between traces: every trace acknowledged, with its agent, and how
    /// many requests were retried.
    ///
    /// # Panics
    /// If a sender failed (a request never acknowledged).
    pub async fn stop(mut self) -> (Vec<(TraceId, String)>, u64) {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Release);
        while let Some(sent) = self.senders.join_next().await {
            sent.expect("a sender ends");
        }
        let acknowledged = self
            .acknowledged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        (acknowledged, self.retries.load(Ordering::Relaxed))
    }
}

/// Waits until every trace of `acknowledged` is stored whole (`calls` calls and their agent
/// span) with every span attributed to its agent, as `spans_of` reads a trace's spans (the
/// API's JSON).
///
/// # Panics
/// If some are not within [`PATIENCE`](crate::PATIENCE): the message has the first and
/// `logs()`.
pub async fn assert_attributed<F, Fut>(
    acknowledged: &[(TraceId, String)],
    calls: u8,
    spans_of: F,
    logs: impl Fn() -> String,
) where
    F: Fn(TraceId) -> Fut,
    Fut: std::future::Future<Output = Vec<serde_json::Value>>,
{
    let mut wrong = acknowledged.to_vec();
    let started = std::time::Instant::now();
    while !wrong.is_empty() {
        let mut still = Vec::new();
        for (trace, agent) in wrong {
            let spans = spans_of(trace).await;
            let whole = spans.len() == usize::from(calls) + 1;
            if !whole || spans.iter().any(|s| s["agent_name"] != agent.as_str()) {
                still.push((trace, agent, spans));
            }
        }
        assert!(
            still.is_empty() || started.elapsed() < crate::PATIENCE,
            "every acknowledged trace is stored whole, its calls attributed: {} are not, the \
             first {:#?}\n{}",
            still.len(),
            still.first(),
            logs()
        );
        wrong = still.into_iter().map(|(t, a, _)| (t, a)).collect();
        if !wrong.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

/// Where a sender sends: a port of loopback, over gRPC or HTTP, with the bearer token the
/// server wants, if any.
#[derive(Debug, Clone)]
struct Target {
    port: u16,
    grpc: bool,
    token: Option<String>,
}

/// How long a sender waits for an answer before it gives the request up and sends it again:
/// OTLP exporters' default (`OTEL_EXPORTER_OTLP_TIMEOUT`). A request under way on a balancer's
/// kept-alive connection to a node killed with its network gets no answer at all (the
/// balancer gives up on it after its own read timeout, a minute).
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends children-first traces of `calls` calls (agent `agent-<sender>`, [`children_first`])
/// to `target` until `stop`, retrying each request until it is acknowledged (as OTLP
/// exporters do: each request given up after [`EXPORT_TIMEOUT`], each retry counted in
/// `retries`), and adds each trace acknowledged whole to `acknowledged`.
///
/// # Panics
/// If a request is not acknowledged within a minute of retries.
async fn send_children_first(
    sender: u8,
    target: Target,
    calls: u8,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acknowledged: Acknowledged,
    retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    let client = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let url = format!("http://127.0.0.1:{}/v1/traces", target.port);
    let agent = format!("agent-{sender}");
    for n in 0.. {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let (trace, pieces) = children_first(sender, n, calls, &agent);
        for piece in pieces {
            let started = Instant::now();
            loop {
                let ok = if target.grpc {
                    let export = export_grpc(target.port, &piece, target.token.as_deref());
                    tokio::time::timeout(EXPORT_TIMEOUT, export).await == Ok(tonic::Code::Ok)
                } else {
                    let mut request = client
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(piece.clone());
                    if let Some(token) = &target.token {
                        request = request.bearer_auth(token);
                    }
                    request.send().await.is_ok_and(|r| r.status() == 200)
                };
                if ok {
                    break;
                }
                retries.fetch_add(1, Ordering::Relaxed);
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "a request of trace {trace} is acknowledged in the end"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        acknowledged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((trace, agent.clone()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Exports an OTLP protobuf `body` over gRPC to `port` of loopback, with `token` if given: its
/// status code (`UNAVAILABLE` when nothing answers).
pub async fn export_grpc(port: u16, body: &[u8], token: Option<&str>) -> tonic::Code {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return tonic::Code::InvalidArgument;
    };
    let Ok(mut client) = TraceServiceClient::connect(format!("http://127.0.0.1:{port}")).await
    else {
        return tonic::Code::Unavailable;
    };
    let mut request = tonic::Request::new(request);
    if let Some(value) = token.and_then(|t| format!("Bearer {t}").parse().ok()) {
        request.metadata_mut().insert("authorization", value);
    }
    match client.export(request).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}
