//! An OTLP receiver for tests: gRPC (tonic) and HTTP (axum; protobuf and JSON; gzip), built on
//! `opentelemetry-proto`, that keeps everything it receives and every request's transport,
//! compression and headers.
//!
//! It can play the failures an exporter must survive ([`Mode`]): slow (each request waits),
//! unavailable (gRPC `UNAVAILABLE`, HTTP 503 with `Retry-After`), and down (connections reset:
//! each listener sits behind a small TCP gate that cuts its open connections and resets new ones
//! at once, keeping its port so that no other listener can take it meanwhile).
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::time::Duration;
//! use agentrace_integration::receiver::OtlpReceiver;
//!
//! let receiver = OtlpReceiver::start().await?;
//! println!("point OTLP/gRPC at {}", receiver.grpc_endpoint());
//! let arrived = receiver.wait_until(|r| !r.spans().is_empty(), Duration::from_secs(5)).await;
//! # let _ = arrived;
//! # Ok(()) }
//! ```

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;

/// Largest request body accepted (after decompression), as a collector would cap it.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies.
    HttpJson,
}

/// Which OTLP signal a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// `/v1/traces`, `TraceService/Export`.
    Traces,
    /// `/v1/logs`, `LogsService/Export`.
    Logs,
    /// `/v1/metrics`, `MetricsService/Export`.
    Metrics,
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Store and answer success.
    Accept,
    /// Wait this long, then store and answer success (a slow receiver).
    Delay(Duration),
    /// Store nothing; answer gRPC `UNAVAILABLE` / HTTP 503 with `Retry-After: 1`.
    Unavailable,
    /// Refuse connections: open connections are cut and new ones reset until the mode changes.
    Down,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Transport and encoding.
    pub transport: Transport,
    /// Signal.
    pub signal: Signal,
    /// Whether the body was gzip-compressed.
    pub compressed: bool,
    /// Request headers (gRPC metadata for gRPC), lower-case names.
    pub headers: Vec<(String, String)>,
    /// Spans, log records or metrics in the request.
    pub items: usize,
}

impl RequestInfo {
    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A span with the resource and scope it came with.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// Resource attributes.
    pub resource: Vec<KeyValue>,
    /// Instrumentation scope.
    pub scope: Option<InstrumentationScope>,
    /// The span.
    pub span: Span,
    /// How it arrived.
    pub transport: Transport,
}

/// A log record with the resource and scope it came with.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    /// Resource attributes.
    pub resource: Vec<KeyValue>,
    /// Instrumentation scope.
    pub scope: Option<InstrumentationScope>,
    /// The log record.
    pub log: LogRecord,
    /// How it arrived.
    pub transport: Transport,
}

/// A metric with the resource and scope it came with.
#[derive(Debug, Clone)]
pub struct ReceivedMetric {
    /// Resource attributes.
    pub resource: Vec<KeyValue>,
    /// Instrumentation scope.
    pub scope: Option<InstrumentationScope>,
    /// The metric with its data points.
    pub metric: Metric,
    /// How it arrived.
    pub transport: Transport,
}

#[derive(Debug, Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    logs: Vec<ReceivedLog>,
    metrics: Vec<ReceivedMetric>,
    requests: Vec<RequestInfo>,
}

#[derive(Debug)]
struct Shared {
    received: Mutex<Received>,
    mode: Mutex<Mode>,
}

impl Shared {
    fn received(&self) -> MutexGuard<'_, Received> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn mode(&self) -> Mode {
        *self
            .mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An OTLP export request this receiver understands.
trait ExportRequest: prost::Message + DeserializeOwned + Default + Send + 'static {
    const SIGNAL: Signal;
    type Response: prost::Message + Serialize + Default;
    /// Stores the request's items; returns how many there were.
    fn store(self, transport: Transport, into: &mut Received) -> usize;
}

impl ExportRequest for ExportTraceServiceRequest {
    const SIGNAL: Signal = Signal::Traces;
    type Response = ExportTraceServiceResponse;

    fn store(self, transport: Transport, into: &mut Received) -> usize {
        let before = into.spans.len();
        for rs in self.resource_spans {
            let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    into.spans.push(ReceivedSpan {
                        resource: resource.clone(),
                        scope: ss.scope.clone(),
                        span,
                        transport,
                    });
                }
            }
        }
        into.spans.len() - before
    }
}

impl ExportRequest for ExportLogsServiceRequest {
    const SIGNAL: Signal = Signal::Logs;
    type Response = ExportLogsServiceResponse;

    fn store(self, transport: Transport, into: &mut Received) -> usize {
        let before = into.logs.len();
        for rl in self.resource_logs {
            let resource = rl.resource.map(|r| r.attributes).unwrap_or_default();
            for sl in rl.scope_logs {
                for log in sl.log_records {
                    into.logs.push(ReceivedLog {
                        resource: resource.clone(),
                        scope: sl.scope.clone(),
                        log,
                        transport,
                    });
                }
            }
        }
        into.logs.len() - before
    }
}

impl ExportRequest for ExportMetricsServiceRequest {
    const SIGNAL: Signal = Signal::Metrics;
    type Response = ExportMetricsServiceResponse;

    fn store(self, transport: Transport, into: &mut Received) -> usize {
        let before = into.metrics.len();
        for rm in self.resource_metrics {
            let resource = rm.resource.map(|r| r.attributes).unwrap_or_default();
            for sm in rm.scope_metrics {
                for metric in sm.metrics {
                    into.metrics.push(ReceivedMetric {
                        resource: resource.clone(),
                        scope: sm.scope.clone(),
                        metric,
                        transport,
                    });
                }
            }
        }
        into.metrics.len() - before
    }
}

/// What the mode says to do with a request, after waiting if it is slow.
enum Verdict {
    Store,
    Unavailable,
}

async fn verdict(shared: &Shared) -> Verdict {
    match shared.mode() {
        Mode::Accept | Mode::Down => Verdict::Store,
        Mode::Delay(delay) => {
            tokio::time::sleep(delay).await;
            Verdict::Store
        }
        Mode::Unavailable => Verdict::Unavailable,
    }
}

fn record<R: ExportRequest>(
    shared: &Shared,
    request: R,
    transport: Transport,
    compressed: bool,
    headers: Vec<(String, String)>,
) {
    let mut received = shared.received();
    let items = request.store(transport, &mut received);
    received.requests.push(RequestInfo {
        transport,
        signal: R::SIGNAL,
        compressed,
        headers,
        items,
    });
}

/// A listening OTLP receiver. Dropping it stops it.
#[derive(Debug)]
pub struct OtlpReceiver {
    shared: Arc<Shared>,
    grpc: Gate,
    http: Gate,
    servers: Vec<JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Starts gRPC and HTTP listeners on free loopback ports.
    ///
    /// # Errors
    /// When a port cannot be bound.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            received: Mutex::default(),
            mode: Mutex::new(Mode::Accept),
        });

        let grpc_backend = TcpListener::bind("127.0.0.1:0").await?;
        let grpc_backend_addr = grpc_backend.local_addr()?;
        let service = GrpcService(shared.clone());
        let grpc_server = tonic::transport::Server::builder()
            .add_service(
                TraceServiceServer::new(service.clone())
                    .accept_compressed(CompressionEncoding::Gzip)
                    .max_decoding_message_size(MAX_BODY),
            )
            .add_service(
                LogsServiceServer::new(service.clone())
                    .accept_compressed(CompressionEncoding::Gzip)
                    .max_decoding_message_size(MAX_BODY),
            )
            .add_service(
                MetricsServiceServer::new(service)
                    .accept_compressed(CompressionEncoding::Gzip)
                    .max_decoding_message_size(MAX_BODY),
            )
            .serve_with_incoming(TcpIncoming::from(grpc_backend));

        let http_backend = TcpListener::bind("127.0.0.1:0").await?;
        let http_backend_addr = http_backend.local_addr()?;
        let router = Router::new()
            .route("/v1/traces", post(http_export::<ExportTraceServiceRequest>))
            .route("/v1/logs", post(http_export::<ExportLogsServiceRequest>))
            .route(
                "/v1/metrics",
                post(http_export::<ExportMetricsServiceRequest>),
            )
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());

        let servers = vec![
            tokio::spawn(async move {
                if let Err(e) = grpc_server.await {
                    eprintln!("otlp receiver: gRPC server stopped: {e}");
                }
            }),
            tokio::spawn(async move {
                if let Err(e) = axum::serve(http_backend, router).await {
                    eprintln!("otlp receiver: HTTP server stopped: {e}");
                }
            }),
        ];

        Ok(Self {
            grpc: Gate::open(grpc_backend_addr).await?,
            http: Gate::open(http_backend_addr).await?,
            shared,
            servers,
        })
    }

    /// The gRPC endpoint, `http://127.0.0.1:PORT`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc.addr)
    }

    /// The HTTP base endpoint, `http://127.0.0.1:PORT`; the signals are at `/v1/traces`,
    /// `/v1/logs` and `/v1/metrics`.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http.addr)
    }

    /// Changes how the receiver answers from now on: a connection made after this returns is
    /// refused when down; connections already open are cut by the gates a moment later.
    pub fn set_mode(&self, mode: Mode) {
        *self
            .shared
            .mode
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = mode;
        let down = mode == Mode::Down;
        self.grpc.down.send_replace(down);
        self.http.down.send_replace(down);
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.received().spans.clone()
    }

    /// Every log record received so far, in arrival order.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.shared.received().logs.clone()
    }

    /// Every metric received so far (one entry per metric per request), in arrival order.
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.shared.received().metrics.clone()
    }

    /// Every request stored so far (requests refused while unavailable or down are not).
    pub fn requests(&self) -> Vec<RequestInfo> {
        self.shared.received().requests.clone()
    }

    /// Waits until `condition` holds, checking every 20 ms; `false` if `timeout` passes first.
    pub async fn wait_until(
        &self,
        condition: impl Fn(&OtlpReceiver) -> bool,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

#[derive(Debug, Clone)]
struct GrpcService(Arc<Shared>);

impl GrpcService {
    async fn export<R: ExportRequest>(
        &self,
        request: tonic::Request<R>,
    ) -> Result<tonic::Response<R::Response>, tonic::Status> {
        let headers: Vec<(String, String)> = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), header_text(v)))
            .collect();
        let compressed = headers
            .iter()
            .any(|(k, v)| k == "grpc-encoding" && v != "identity");
        match verdict(&self.0).await {
            Verdict::Unavailable => Err(tonic::Status::unavailable(
                "receiver set to unavailable by the test",
            )),
            Verdict::Store => {
                record(
                    &self.0,
                    request.into_inner(),
                    Transport::Grpc,
                    compressed,
                    headers,
                );
                Ok(tonic::Response::new(R::Response::default()))
            }
        }
    }
}

#[tonic::async_trait]
impl TraceService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        GrpcService::export(self, request).await
    }
}

#[tonic::async_trait]
impl LogsService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        GrpcService::export(self, request).await
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        GrpcService::export(self, request).await
    }
}

fn header_text(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

fn http_error(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

async fn http_export<R: ExportRequest>(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(header_text)
        .unwrap_or_default();
    let json = if content_type.starts_with("application/json") {
        true
    } else if content_type.starts_with("application/x-protobuf") {
        false
    } else {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content type {content_type:?}"),
        );
    };
    let compressed = match headers.get(header::CONTENT_ENCODING).map(header_text) {
        None => false,
        Some(e) if e == "identity" => false,
        Some(e) if e == "gzip" => true,
        Some(other) => {
            return http_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content encoding {other:?}"),
            );
        }
    };
    let body = if compressed {
        let mut plain = Vec::new();
        let limit = u64::try_from(MAX_BODY).unwrap_or(u64::MAX) + 1;
        if let Err(e) = flate2::read::GzDecoder::new(&body[..])
            .take(limit)
            .read_to_end(&mut plain)
        {
            return http_error(StatusCode::BAD_REQUEST, format!("bad gzip body: {e}"));
        }
        if plain.len() > MAX_BODY {
            return http_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large".into());
        }
        Bytes::from(plain)
    } else {
        body
    };
    let request = if json {
        serde_json::from_slice::<R>(&body).map_err(|e| e.to_string())
    } else {
        R::decode(body).map_err(|e| e.to_string())
    };
    let request = match request {
        Ok(request) => request,
        Err(e) => return http_error(StatusCode::BAD_REQUEST, format!("bad OTLP body: {e}")),
    };

    if let Verdict::Unavailable = verdict(&shared).await {
        let mut response = http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "receiver set to unavailable by the test".into(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let transport = if json {
        Transport::HttpJson
    } else {
        Transport::HttpProtobuf
    };
    let header_list = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), header_text(v)))
        .collect();
    record(&shared, request, transport, compressed, header_list);

    let response = R::Response::default();
    if json {
        match serde_json::to_vec(&response) {
            Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => http_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            prost::Message::encode_to_vec(&response),
        )
            .into_response()
    }
}

/// A TCP gate in front of a server: forwards connections while up; while down, cuts every open
/// connection and resets every new one at once. It keeps its port throughout: a port given
/// back could be taken by another test's listener, which would then receive this one's traffic.
#[derive(Debug)]
struct Gate {
    addr: SocketAddr,
    down: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Gate {
    async fn open(backend: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (down, down_rx) = watch::channel(false);
        let task = tokio::spawn(run_gate(listener, backend, down_rx));
        Ok(Self { addr, down, task })
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run_gate(listener: TcpListener, backend: SocketAddr, mut down: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let is_down = *down.borrow_and_update();
        if is_down {
            connections.abort_all();
        }
        tokio::select! {
            changed = down.changed() => if changed.is_err() { return },
            accepted = listener.accept() => if let Ok((inbound, _)) = accepted {
                // The flag as it is now, not as the loop last saw it: a connection made after
                // `set_mode(Down)` returned is refused, however the tasks were scheduled.
                if *down.borrow() {
                    refuse(inbound);
                } else {
                    connections.spawn(forward(inbound, backend));
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Resets a connection at once (`SO_LINGER` 0): the client sees it refused mid-handshake. The
/// port stays bound, so no other process's listener can take it while the receiver is down.
fn refuse(inbound: TcpStream) {
    let _ = inbound.set_zero_linger();
    drop(inbound);
}

async fn forward(mut inbound: TcpStream, backend: SocketAddr) {
    if let Ok(mut outbound) = TcpStream::connect(backend).await {
        let _ = inbound.set_nodelay(true);
        let _ = outbound.set_nodelay(true);
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}
