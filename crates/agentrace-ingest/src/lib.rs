//! # agentrace-ingest
//!
//! OTLP requests from any agent in any language, turned into agentrace records (being written:
//! the API below is final, the decoding behind it is not yet).

use agentrace_core::{Event, Measurement, SpanRecord};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// Bounds on what one record may carry; a record over a bound is rejected with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Attributes per span, span event, log record, data point or resource.
    pub max_attributes: usize,
    /// Nesting depth of array and kvlist attribute values (a scalar is depth 0).
    pub max_depth: usize,
    /// Elements of one array or kvlist value.
    pub max_array_len: usize,
    /// Bytes of an attribute key.
    pub max_key_bytes: usize,
    /// Bytes of a string value or name; longer ones are truncated on a character boundary.
    pub max_string_bytes: usize,
    /// Events per span.
    pub max_events_per_span: usize,
    /// How far before `now` a timestamp may lie, nanoseconds.
    pub max_past_ns: u64,
    /// How far after `now` a timestamp may lie, nanoseconds.
    pub max_future_ns: u64,
    /// Reasons kept in [`Decoded::errors`].
    pub max_errors: usize,
    /// Cumulative metric series remembered to turn running totals into increments.
    pub max_cumulative_series: usize,
}

impl Default for Limits {
    fn default() -> Self {
        const DAY: u64 = 86_400 * 1_000_000_000;
        Self {
            max_attributes: 1_024,
            max_depth: 16,
            max_array_len: 4_096,
            max_key_bytes: 256,
            max_string_bytes: 256 * 1024,
            max_events_per_span: 1_024,
            max_past_ns: 366 * DAY,
            max_future_ns: DAY,
            max_errors: 8,
            max_cumulative_series: 100_000,
        }
    }
}

/// The records decoded from one request, and what was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The accepted records.
    pub records: Vec<T>,
    /// How many items (spans, log records, data points) were rejected.
    pub rejected: u64,
    /// The first few reasons, human readable (for OTLP `partial_success.error_message`).
    pub errors: Vec<String>,
}

impl<T> Default for Decoded<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            rejected: 0,
            errors: Vec::new(),
        }
    }
}

/// Decodes and normalizes OTLP requests. Cheap to clone; clones share state.
#[derive(Debug, Clone, Default)]
pub struct Ingestor {
    limits: Limits,
}

impl Ingestor {
    /// An ingestor enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The spans of a trace export request.
    pub fn traces(
        &self,
        request: ExportTraceServiceRequest,
        now_unix_nano: u64,
    ) -> Decoded<SpanRecord> {
        let _ = (request, now_unix_nano);
        Decoded::default()
    }

    /// The events of a logs export request.
    pub fn logs(&self, request: ExportLogsServiceRequest, now_unix_nano: u64) -> Decoded<Event> {
        let _ = (request, now_unix_nano);
        Decoded::default()
    }

    /// The measurements of a metrics export request.
    pub fn metrics(
        &self,
        request: ExportMetricsServiceRequest,
        now_unix_nano: u64,
    ) -> Decoded<Measurement> {
        let _ = (request, now_unix_nano);
        Decoded::default()
    }
}
