//! The OTLP receivers: HTTP ([`http`]: protobuf and JSON, gzip) and gRPC ([`grpc`]), and the
//! path they share ([`Receiver::export`]): decode and normalize with `agentrace-ingest`, split
//! the records by project ([`crate::ingest::route`]), run the processors and encode
//! ([`crate::ingest::processors`]), hand the result to the writer, wait until it is
//! committed, answer.
//!
//! Answers follow the OTLP specification:
//!
//! | outcome | OTLP/HTTP | OTLP/gRPC |
//! |---|---|---|
//! | every record stored | 200, empty `partial_success` | `OK` |
//! | some records invalid or naming a project the sender may not write to, the others stored | 200, `partial_success` with the count and reasons | `OK`, `partial_success` |
//! | every record invalid, or an undecodable body | 400, a `Status` naming the problem | `INVALID_ARGUMENT` |
//! | body over `limits.max_body`, or over `limits.max_decompressed_body` once un-gzipped | 413 | `INVALID_ARGUMENT` |
//! | body slower than `limits.body_min_rate` | 408 | the call fails |
//! | content type not `application/x-protobuf` or `application/json`, unknown content encoding | 415 | — |
//! | missing or wrong API token | 401 | `UNAUTHENTICATED` |
//! | a key that may not send telemetry, or the header names another project than the key's | 403 | `PERMISSION_DENIED` |
//! | the header names a project that does not exist | 404 | `NOT_FOUND` |
//! | more than `limits.max_in_flight` requests being handled | 503 with `Retry-After` | `UNAVAILABLE` |
//! | the writer's queue is full (overload) | 503 with `Retry-After` | `RESOURCE_EXHAUSTED` with `RetryInfo` |
//! | storing failed for a reason that may pass, or the server is stopping | 503 with `Retry-After` | `UNAVAILABLE` with `RetryInfo` |
//! | storing failed for good | 500 | `INTERNAL` |
//!
//! Error bodies over HTTP are a `google.rpc.Status` in the request's encoding (protobuf, or
//! JSON `{"code": 3, "message": "…"}`; JSON when the content type was not understood).

mod admission;
pub(crate) mod grpc;
mod grpc_service;
pub(crate) mod http;

use std::sync::Arc;
use std::time::Duration;

use agentrace_ingest::wire::{self, Counted, WireError, WireLimits};
use agentrace_ingest::{Decoded, Ingestor};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use admission::{Admitted, BodyFormat};

use crate::ingest::processors::{Destination, Processing, Records};
use crate::ingest::route::{Part, Sender, route};
use crate::ingest::writer::{Refused, WriteFailure, WriterHandle};
use crate::store::directory::Directory;
use crate::telemetry::counters::add;
use crate::telemetry::stats::{ServerStats, SignalCounters};

/// How long a client is asked to wait before retrying after a retryable refusal.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One OTLP signal: its request and response types, and how its records are decoded.
pub(crate) trait OtlpSignal: Send + Sync + 'static {
    /// The export request.
    type Request: prost::Message + DeserializeOwned + Default + Send + 'static;
    /// The export response.
    type Response: prost::Message + Serialize + Default + Send + 'static;
    /// What its items are called in messages.
    const ITEMS: &'static str;
    /// Counts a protobuf request from its bytes, before decoding.
    fn count(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError>;
    /// Decodes and normalizes a request.
    fn decode(
        ingestor: &Ingestor,
        request: Self::Request,
        now_unix_nano: u64,
    ) -> (Records, u64, String);
    /// Its counters.
    fn counters(stats: &ServerStats) -> &SignalCounters;
    /// A success response, with a partial success when some items were rejected.
    fn response(rejected: u64, error_message: String) -> Self::Response;
}

/// The records, how many items were rejected, and why (for `partial_success.error_message`).
fn split<T>(decoded: Decoded<T>, wrap: fn(Vec<T>) -> Records) -> (Records, u64, String) {
    let message = decoded.error_message();
    (wrap(decoded.records), decoded.rejected, message)
}

/// `/v1/traces`, `TraceService/Export`.
pub(crate) struct Traces;

impl OtlpSignal for Traces {
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    const ITEMS: &'static str = "spans";

    fn count(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError> {
        wire::count_traces(bytes, limits)
    }

    fn decode(ingestor: &Ingestor, request: Self::Request, now: u64) -> (Records, u64, String) {
        split(ingestor.traces(request, now), Records::Spans)
    }

    fn counters(stats: &ServerStats) -> &SignalCounters {
        &stats.spans
    }

    fn response(rejected: u64, error_message: String) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message,
            }),
        }
    }
}

/// `/v1/logs`, `LogsService/Export`.
pub(crate) struct Logs;

impl OtlpSignal for Logs {
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    const ITEMS: &'static str = "log records";

    fn count(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError> {
        wire::count_logs(bytes, limits)
    }

    fn decode(ingestor: &Ingestor, request: Self::Request, now: u64) -> (Records, u64, String) {
        split(ingestor.logs(request, now), Records::Events)
    }

    fn counters(stats: &ServerStats) -> &SignalCounters {
        &stats.events
    }

    fn response(rejected: u64, error_message: String) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message,
            }),
        }
    }
}

/// `/v1/metrics`, `MetricsService/Export`.
pub(crate) struct Metrics;

impl OtlpSignal for Metrics {
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    const ITEMS: &'static str = "data points";

    fn count(bytes: &[u8], limits: &WireLimits) -> Result<Counted, WireError> {
        wire::count_metrics(bytes, limits)
    }

    fn decode(ingestor: &Ingestor, request: Self::Request, now: u64) -> (Records, u64, String) {
        split(ingestor.metrics(request, now), Records::Measurements)
    }

    fn counters(stats: &ServerStats) -> &SignalCounters {
        &stats.measurements
    }

    fn response(rejected: u64, error_message: String) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
                error_message,
            }),
        }
    }
}

/// Why an export was not (wholly) accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExportFailure {
    /// The request or every record in it is invalid: do not retry.
    Invalid(String),
    /// The request is larger than the server takes: do not retry.
    TooLarge(String),
    /// The writer's queue, or the decode budget, is full (which one): retry later.
    Overloaded(&'static str),
    /// Storing may succeed later (busy or full disk, the server stopping): retry later.
    Unavailable(String),
    /// Storing failed for good.
    Failed(String),
}

impl ExportFailure {
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Invalid(m) | Self::TooLarge(m) | Self::Unavailable(m) | Self::Failed(m) => {
                m.clone()
            }
            Self::Overloaded(what) => format!(
                "the server is overloaded: {what}; retry after {} s",
                RETRY_AFTER.as_secs()
            ),
        }
    }
}

/// The path every transport shares (and the demo workload uses).
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    ingestor: Ingestor,
    admission: admission::Admission,
    processing: Processing,
    writer: WriterHandle,
    directory: Arc<Directory>,
    /// The project the configuration's files configure.
    configured: agentrace_store::ProjectId,
    pub(crate) stats: Arc<ServerStats>,
}

/// What a receiver is made of.
pub(crate) struct ReceiverParts {
    pub(crate) ingestor: Ingestor,
    pub(crate) processing: Processing,
    pub(crate) writer: WriterHandle,
    pub(crate) directory: Arc<Directory>,
    pub(crate) configured: agentrace_store::ProjectId,
    pub(crate) stats: Arc<ServerStats>,
}

impl Receiver {
    pub(crate) fn new(parts: ReceiverParts, limits: &crate::config::ReceiveLimits) -> Self {
        Self {
            ingestor: parts.ingestor,
            admission: admission::Admission::new(limits),
            processing: parts.processing,
            writer: parts.writer,
            directory: parts.directory,
            configured: parts.configured,
            stats: parts.stats,
        }
    }

    /// Counts a request refused before decoding (bad body, type, size).
    pub(crate) fn refused_invalid(&self) {
        add(&self.stats.requests, 1);
        add(&self.stats.requests_invalid, 1);
    }

    /// Counts a body (an `S` request, decompressed) and takes its share of the decode budget,
    /// to hold until it is answered; a refusal is counted.
    pub(crate) fn admit<S: OtlpSignal>(
        &self,
        bytes: &[u8],
        format: BodyFormat,
    ) -> Result<Admitted, ExportFailure> {
        self.admission
            .admit::<S>(bytes, format)
            .inspect_err(|failure| {
                add(&self.stats.requests, 1);
                match failure {
                    ExportFailure::Overloaded(_) => add(&self.stats.requests_overloaded, 1),
                    _ => add(&self.stats.requests_invalid, 1),
                }
            })
    }

    /// Decodes, stores and answers one export request of `sender`. Returns once its records
    /// are committed.
    pub(crate) async fn export<S: OtlpSignal>(
        &self,
        sender: &Sender,
        request: S::Request,
    ) -> Result<S::Response, ExportFailure> {
        let stats = &self.stats;
        add(&stats.requests, 1);
        let (records, mut rejected, mut message) =
            S::decode(&self.ingestor, request, agentrace_core::now_unix_nano());
        let counters = S::counters(stats);
        if records.len() == 0 {
            add(&counters.rejected, rejected);
            if rejected > 0 {
                add(&stats.requests_invalid, 1);
                return Err(ExportFailure::Invalid(format!(
                    "every one of the {} was invalid: {message}",
                    S::ITEMS
                )));
            }
            return Ok(S::Response::default());
        }
        let routed = route(&self.directory, sender, records)
            .await
            .map_err(ExportFailure::Unavailable)?;
        rejected += routed.refused;
        add(&counters.rejected, rejected);
        if routed.refused > 0 {
            if !message.is_empty() {
                message.push_str("; ");
            }
            message.push_str(&routed.message);
        }
        if routed.parts.is_empty() {
            add(&stats.requests_invalid, 1);
            return Err(ExportFailure::Invalid(format!(
                "every one of the {} was refused: {message}",
                S::ITEMS
            )));
        }
        for part in routed.parts {
            self.store(part, counters).await?;
        }
        Ok(S::response(rejected, message))
    }

    /// Stores records the server made itself (an LLM judge's calls, an evaluation's failure,
    /// the demo's workload) in the project `sender` acts on, as if received: processed
    /// (priced, counted against budgets) and committed before it returns. Not counted as a
    /// request.
    pub(crate) async fn submit(
        &self,
        sender: &Sender,
        records: Records,
    ) -> Result<(), ExportFailure> {
        let counters = match &records {
            Records::Spans(_) => &self.stats.spans,
            Records::Events(_) => &self.stats.events,
            Records::Measurements(_) => &self.stats.measurements,
        };
        if records.len() == 0 {
            return Ok(());
        }
        let routed = route(&self.directory, sender, records)
            .await
            .map_err(ExportFailure::Unavailable)?;
        if routed.refused > 0 {
            return Err(ExportFailure::Invalid(routed.message));
        }
        for part in routed.parts {
            self.store(part, counters).await?;
        }
        Ok(())
    }

    /// Processes one project's records, hands them to the writer and waits for their commit.
    async fn store(&self, part: Part, counters: &SignalCounters) -> Result<(), ExportFailure> {
        let Part {
            project,
            store,
            records,
        } = part;
        let destination = Destination {
            project: project.id,
            store,
            configured: project.id == self.configured,
        };
        let stats = &self.stats;
        let n = records.len();
        // Room first: a request refused for overload is not processed (a budget does not
        // count it twice when it comes back).
        let permit = match self.writer.reserve(n) {
            Ok(permit) => permit,
            Err(refused) => return Err(self.refused(refused)),
        };
        let batch = match self.processing.run(destination, records) {
            Ok(batch) => batch,
            Err(e) => {
                add(&stats.requests_failed, 1);
                add(&stats.write_errors, 1);
                return Err(ExportFailure::Failed(format!("storing failed: {e}")));
            }
        };
        let answer = match permit.send(batch) {
            Ok(answer) => answer,
            Err(refused) => return Err(self.refused(refused)),
        };
        add(&counters.accepted, n as u64);
        let failure = match answer.await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(WriteFailure::Retryable(m))) => ExportFailure::Unavailable(m),
            Ok(Err(WriteFailure::Permanent(m))) => ExportFailure::Failed(m),
            Err(_) => ExportFailure::Unavailable("the server is shutting down".into()),
        };
        add(&stats.requests_failed, 1);
        Err(failure)
    }

    /// Counts a request the writer did not take.
    fn refused(&self, refused: Refused) -> ExportFailure {
        match refused {
            Refused::Overloaded => {
                add(&self.stats.requests_overloaded, 1);
                ExportFailure::Overloaded("its write queue is full")
            }
            Refused::Closed => {
                add(&self.stats.requests_failed, 1);
                ExportFailure::Unavailable("the server is shutting down".into())
            }
        }
    }
}
