//! Helpers: a server on free ports in a temporary directory, OTLP requests, HTTP and gRPC
//! clients, and a fresh look at the store.

use agentrace_store::{Retention, Store};
use std::io::Write;
use std::time::{Duration, Instant};

use agentrace_server::{RunningServer, Server, ServerConfig};
use agentrace_sqlite::{RecordKind, SqliteStore};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use tonic::transport::Channel;

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub(crate) const PROTOBUF: &str = "application/x-protobuf";
pub(crate) const JSON: &str = "application/json";

/// A running server and the directory it stores in (removed when dropped).
pub(crate) struct TestServer {
    pub(crate) server: RunningServer,
    pub(crate) dir: tempfile::TempDir,
}

impl TestServer {
    /// A server on free loopback ports, `configure` applied to its configuration.
    pub(crate) async fn start(configure: impl FnOnce(&mut ServerConfig)) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
        configure(&mut config);
        let server = Server::start(config).await?;
        Ok(Self { server, dir })
    }

    /// The same server stopped and started again over its data, `configure` applied to a
    /// fresh configuration (a restarted process).
    pub(crate) async fn restart(self, configure: impl FnOnce(&mut ServerConfig)) -> Result<Self> {
        let Self { server, dir } = self;
        server.shutdown().await?;
        let mut config = ServerConfig::new(dir.path()).with_any_free_ports();
        configure(&mut config);
        let server = Server::start(config).await?;
        Ok(Self { server, dir })
    }

    pub(crate) fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.otlp_http_addr())
    }

    pub(crate) fn app_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.app_addr())
    }

    pub(crate) fn grpc_url(&self) -> String {
        format!("http://{}", self.server.otlp_grpc_addr())
    }

    pub(crate) async fn grpc(&self) -> Result<TraceServiceClient<Channel>> {
        Ok(TraceServiceClient::connect(self.grpc_url()).await?)
    }

    /// Sends `message` as it is (framed as one gRPC message, not encoded) to the method at
    /// `path` of the gRPC listener; its status.
    pub(crate) async fn grpc_raw(
        &self,
        path: &'static str,
        message: Vec<u8>,
    ) -> Result<tonic::Status> {
        let channel = Channel::from_shared(self.grpc_url())?.connect().await?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
        match grpc
            .unary(tonic::Request::new(message), path, RawCodec)
            .await
        {
            Ok(_) => Err("accepted".into()),
            Err(status) => Ok(status),
        }
    }

    /// Sends `request` over OTLP/HTTP (protobuf) and requires a 200.
    pub(crate) async fn export(&self, request: &ExportTraceServiceRequest) -> Result {
        let answer = post(
            &self.http_url("/v1/traces"),
            PROTOBUF,
            &[],
            protobuf(request),
        )
        .await?;
        assert_eq!(answer.status, 200, "{}", answer.text());
        Ok(())
    }

    /// Sends `request` over OTLP/HTTP (protobuf) to `path` (`/v1/traces`, `/v1/logs`) for
    /// `project` (`x-agentrace-project`), and requires a 200.
    pub(crate) async fn send_to(
        &self,
        path: &str,
        project: &str,
        request: &impl prost::Message,
    ) -> Result {
        let headers = [("x-agentrace-project", project)];
        let answer = post(&self.http_url(path), PROTOBUF, &headers, protobuf(request)).await?;
        assert_eq!(answer.status, 200, "{project}: {}", answer.text());
        Ok(())
    }

    /// The store of the project `name`, as the running server has it.
    pub(crate) fn project_store(&self, name: &str) -> Result<std::sync::Arc<dyn Store>> {
        let organization = &self.server.state().organization;
        let project = organization
            .projects()?
            .into_iter()
            .find(|p| p.name.as_str() == name)
            .ok_or_else(|| format!("no project {name}"))?;
        Ok(organization.store(project.id)?)
    }

    /// The store, opened afresh from its file (what a restarted process would see).
    pub(crate) fn fresh_store(&self) -> Result<SqliteStore> {
        Ok(SqliteStore::open(self.dir.path().join("agentrace.db"))?)
    }

    pub(crate) fn stored(&self, signal: RecordKind) -> Result<u64> {
        Ok(self.fresh_store()?.count(signal)?)
    }
}

/// Now, nanoseconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    agentrace_core::now_unix_nano()
}

pub(crate) fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..KeyValue::default()
    }
}

pub(crate) fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..KeyValue::default()
    }
}

/// Distinct ids from a counter (never all zero).
pub(crate) fn trace_id(n: u64) -> Vec<u8> {
    let mut id = vec![0xab; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

pub(crate) fn span_id(n: u64) -> Vec<u8> {
    (n | 1 << 62).to_be_bytes().to_vec()
}

/// An OTel GenAI chat span with usage, started `start` and lasting a second.
pub(crate) fn llm_span(trace: u64, span: u64, start: u64) -> Span {
    Span {
        trace_id: trace_id(trace),
        span_id: span_id(span),
        name: "chat gpt-4o".into(),
        kind: 3,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 1_000_000_000,
        attributes: vec![
            text("gen_ai.operation.name", "chat"),
            text("gen_ai.provider.name", "openai"),
            text("gen_ai.request.model", "gpt-4o"),
            int("gen_ai.usage.input_tokens", 1_000),
            int("gen_ai.usage.output_tokens", 200),
            text("gen_ai.conversation.id", "session-1"),
        ],
        ..Span::default()
    }
}

/// A trace export request of `spans` from service `svc`.
pub(crate) fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", "svc")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// `n` LLM spans, one trace each, ids starting at `first`, started a minute ago.
pub(crate) fn llm_traces(first: u64, n: u64) -> ExportTraceServiceRequest {
    let start = now() - 60_000_000_000;
    traces(
        (first..first + n)
            .map(|i| llm_span(i, i, start + i))
            .collect(),
    )
}

/// A logs export request with one log record per message.
pub(crate) fn logs(messages: &[&str]) -> ExportLogsServiceRequest {
    let t = now() - 1_000_000_000;
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![text("service.name", "svc")],
                ..Resource::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| LogRecord {
                        time_unix_nano: t + i as u64,
                        severity_number: 9,
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue((*m).into())),
                        }),
                        event_name: "agent.start".into(),
                        ..LogRecord::default()
                    })
                    .collect(),
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    }
}

pub(crate) fn protobuf(message: &impl prost::Message) -> Vec<u8> {
    message.encode_to_vec()
}

pub(crate) fn json(message: &impl serde::Serialize) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(message)?)
}

pub(crate) fn gzip(body: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(body)?;
    Ok(gz.finish()?)
}

/// An HTTP answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// A request: method, URL, headers, body.
pub(crate) async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer> {
    // Answers as sent: another crate of the workspace (genai) turns on reqwest's gzip
    // feature, which would otherwise decompress them and drop `Content-Encoding`.
    let client = reqwest::Client::builder().no_gzip().build()?;
    let mut request = client.request(method, url).body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    Ok(Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await?.to_vec(),
    })
}

/// POSTs an OTLP body.
pub(crate) async fn post(
    url: &str,
    content_type: &str,
    extra: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer> {
    let mut headers = vec![("content-type", content_type)];
    headers.extend_from_slice(extra);
    send(reqwest::Method::POST, url, &headers, body).await
}

pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> Result<Answer> {
    send(reqwest::Method::GET, url, headers, Vec::new()).await
}

/// Polls `condition` every 25 ms until it holds or `timeout` passes; `Ok(false)` on timeout.
pub(crate) async fn eventually(
    timeout: Duration,
    mut condition: impl FnMut() -> Result<bool>,
) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if condition()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Holds SQLite's write lock on the store (as another process could), so the writer waits.
pub(crate) struct WriteLock(rusqlite::Connection);

impl WriteLock {
    pub(crate) fn take(server: &TestServer) -> Result<Self> {
        let conn = rusqlite::Connection::open(server.dir.path().join("agentrace.db"))?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Self(conn))
    }

    pub(crate) fn release(self) -> Result {
        self.0.execute_batch("ROLLBACK")?;
        Ok(())
    }
}

/// Bytes sent as they are; answers ignored.
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        buf: &mut tonic::codec::EncodeBuf<'_>,
    ) -> std::result::Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(buf, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = ();
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buf: &mut tonic::codec::DecodeBuf<'_>,
    ) -> std::result::Result<Option<()>, tonic::Status> {
        let n = prost::bytes::Buf::remaining(buf);
        prost::bytes::Buf::advance(buf, n);
        Ok(Some(()))
    }
}

/// Creates the project `name` through the API of the app at `app` (its status must be 201).
pub(crate) async fn create_project(app: &str, name: &str) -> Result<()> {
    let (status, created) = api_in(
        app,
        reqwest::Method::POST,
        "/projects",
        "default",
        Some(&serde_json::json!({ "name": name })),
    )
    .await?;
    assert_eq!(status, 201, "creating {name}: {created}");
    Ok(())
}

/// `method` on the API's `path` of the app at `app` (`http://host:port`) acting on `project`
/// (`x-agentrace-project`), with a JSON `body`: the status and the answer as JSON (`null` for
/// none).
pub(crate) async fn api_in(
    app: &str,
    method: reqwest::Method,
    path: &str,
    project: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value)> {
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let answer = send(
        method,
        &format!("{app}/api/v1{path}"),
        &[("x-agentrace-project", project), ("content-type", JSON)],
        body,
    )
    .await?;
    let value = if answer.body.is_empty() {
        serde_json::Value::Null
    } else {
        answer.json()?
    };
    Ok((answer.status, value))
}
