//! # agentrace-ingest
//!
//! OTLP from any agent in any language, turned into agentrace records: the decoding half of
//! `agentrace serve`. The server receives OTLP over gRPC or HTTP, decodes the protobuf or JSON
//! body into the `opentelemetry-proto` request types itself, and hands the request to an
//! [`Ingestor`], which returns [`SpanRecord`]s, [`Event`]s and [`Measurement`]s for the
//! pipeline (redact → price → budget → derive metrics → sinks) and what it rejected, for the
//! OTLP partial-success response. It never panics on input.
//!
//! ## Its room
//!
//! It depends on `agentrace-core` (the records, the normalizer, the cost rules) and on
//! `opentelemetry-proto` (the messages), nothing else of ours; it does no I/O. The server
//! composes it with the store.
//!
//! | piece | what it does |
//! |---|---|
//! | [`Ingestor::traces`] | spans: ids, parent, times, status, scope, resource (one `Arc` per resource), every attribute value type, span events; normalized by dialect; fields inherited within the request; aggregates marked |
//! | [`Ingestor::logs`] | log records → events: severity → [`Level`](agentrace_core::Level), body → message, event name → kind, trace context, session/agent/framework |
//! | [`Ingestor::metrics`] | data points → measurements (gauges, sums as increments, histograms and summaries as `.count`/`.sum` counters; see the `metrics` table in `docs/ingest.md`) |
//! | [`Limits`] | the validation bounds; a record over one is rejected with its reason |
//! | [`orphans`] | the repair rule for spans whose parent is late, missing, or detached |
//! | [`billing`] | aggregates: spans repeating the usage or wrapping the calls reported beneath them |
//! | [`mcp_calls`] | an MCP call's client side completed from its server side (the server's name, a tool's failure) |
//! | [`wire`] | a protobuf request's records, key-value pairs and nesting counted from its bytes, before decoding |
//! | [`gzip`] | gzip bodies decompressed up to a limit |
//!
//! ## Normalization
//!
//! Every raw attribute is kept in [`SpanRecord::attributes`], including those lifted into the
//! typed fields. The typed fields come from core's
//! [`normalize`](agentrace_core::normalize) (the mapping table of docs/conventions.md, "Dialects" with its
//! precedence: current OTel GenAI, legacy OTel, OpenInference, Vercel AI SDK,
//! OpenLLMetry/Traceloop, Langfuse), then each dialect's particular rules, then
//! [`reconcile_usage`](agentrace_core::normalize::reconcile_usage) (input includes cache,
//! output includes reasoning, clamps): [`normalize_span`](agentrace_core::normalize::dialect::normalize_span),
//! the same steps the `tracing` layer takes. Then, across the spans of one request: session, user,
//! correlation, agent and framework are inherited from the nearest ancestor that has them (as
//! the `tracing` layer does), and a step (a span reporting usage, or a model call) with a step
//! beneath it is marked as an aggregate, its usage moved out of every total ([`billing`]); the
//! client side of an MCP call takes from its server side the server's name and a tool's
//! failure ([`mcp_calls`]). Provider names are canonical
//! (`az.ai.openai` → `azure.ai.openai`, `openai.chat` → `openai`) for the price book.
//!
//! Fields added by the ingest, beside the raw attributes: `otel.kind` (the OTLP span kind),
//! `otel.scope.version`, `agentrace.aggregate` with `agentrace.aggregate.*_tokens` (aggregates) and
//! `agentrace.ingest.truncated` (how many strings were cut).
//!
//! ## Orphan repair
//!
//! Async runs (LangGraph, LangChain) emit spans whose parent arrives late, never, or that lost
//! their context. [`orphans::plan`] is the rule the server applies to a trace's stored spans:
//! a late parent needs nothing (the tree links by id; an orphan mark is cleared); a span whose
//! parent is still missing after a grace period is marked as an orphan; a detached root is
//! re-attached to the span of the trace's primary tree that contains it in time, only when the
//! innermost such span is unique and every other one is its ancestor. It never invents a parent
//! when that is ambiguous.
//!
//! ## Validation
//!
//! Each span, log record and data point is accepted or rejected on its own; a rejection never
//! alters what was accepted. Rejected: trace or span ids of the wrong length or all zeros
//! (an all-zero or empty parent is a root; an empty or all-zero trace context on a log is
//! none), a missing start or end time, an end before the start, a time further than
//! [`Limits::max_past_ns`] before or [`Limits::max_future_ns`] after `now`, more than
//! [`Limits::max_attributes`] attributes on a span, event, log, data point or resource (a
//! resource's rejection rejects its records), more than [`Limits::max_events_per_span`],
//! values nested deeper than [`Limits::max_depth`], more than [`Limits::max_values`] values
//! in one record, keys longer than [`Limits::max_key_bytes`]. Strings (values, names, bodies)
//! longer than [`Limits::max_string_bytes`] are **truncated** on a character boundary, not
//! rejected, and counted in `agentrace.ingest.truncated`: a huge prompt should not cost the
//! whole span. Prost has already checked UTF-8; JSON strings are valid UTF-8 after serde and
//! are kept verbatim (control characters included).
//!
//! ## Example
//!
//! ```
//! use agentrace_core::SpanKind;
//! use agentrace_ingest::{Ingestor, Limits};
//! use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
//!
//! let json = r#"{"resourceSpans":[{
//!   "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"support-bot"}}]},
//!   "scopeSpans":[{"scope":{"name":"opentelemetry.instrumentation.anthropic"},"spans":[{
//!     "traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",
//!     "name":"chat claude-sonnet-4-5","kind":3,
//!     "startTimeUnixNano":"1760000000000000000","endTimeUnixNano":"1760000001500000000",
//!     "attributes":[
//!       {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
//!       {"key":"gen_ai.system","value":{"stringValue":"Anthropic"}},
//!       {"key":"gen_ai.request.model","value":{"stringValue":"claude-sonnet-4-5"}},
//!       {"key":"gen_ai.usage.input_tokens","value":{"intValue":"20"}},
//!       {"key":"gen_ai.usage.cache_read.input_tokens","value":{"intValue":"1000"}},
//!       {"key":"gen_ai.usage.output_tokens","value":{"intValue":"300"}}]}]}]}]}"#;
//! let request: ExportTraceServiceRequest = serde_json::from_str(json)?;
//!
//! let ingestor = Ingestor::new(Limits::default());
//! let decoded = ingestor.traces(request, 1_760_000_002_000_000_000);
//! assert_eq!((decoded.records.len(), decoded.rejected), (1, 0));
//! let span = &decoded.records[0];
//! assert_eq!(span.kind, SpanKind::Llm);
//! assert_eq!(span.resource.service_name, "support-bot");
//! assert_eq!(span.provider.as_deref(), Some("anthropic"));
//! // The emitter left the cache out of the input (20 < 1,000): agentrace's input includes it.
//! assert_eq!(span.usage.input_tokens, 1_020);
//! // The raw attributes stay.
//! assert_eq!(span.attributes.get("gen_ai.usage.input_tokens").and_then(|v| v.as_i64()), Some(20));
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod billing;
pub mod gzip;
mod logs;
pub mod mcp_calls;
mod mcp_side;
mod metrics;
pub mod orphans;
mod reject;
mod resource;
mod shape;
mod trace;
mod value;
pub mod wire;

use std::fmt;
use std::sync::Arc;

use agentrace_core::{Event, Measurement, SpanRecord};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

pub use resource::UNKNOWN_SERVICE;
pub use shape::SpanShape;

use reject::Rejection;

/// Bounds on what one record may carry. A record over a bound is rejected with a reason,
/// except over-long strings, which are truncated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Attributes on one span, span event, log record, data point or resource. Default 1,024.
    pub max_attributes: usize,
    /// Nesting depth of array and kvlist values (a scalar is depth 0). Default 16.
    pub max_depth: usize,
    /// Values (scalars, arrays, kvlists, at any depth) in all attribute values of one record
    /// (a span with its events, a log record with its body, a data point). Default 65,536.
    pub max_values: usize,
    /// Bytes of an attribute key. Default 256.
    pub max_key_bytes: usize,
    /// Bytes of a string value, a name or a body; longer ones are truncated on a character
    /// boundary. Default 256 KiB.
    pub max_string_bytes: usize,
    /// Events on one span. Default 1,024.
    pub max_events_per_span: usize,
    /// How far before `now` a timestamp may lie, nanoseconds. Default 366 days.
    pub max_past_ns: u64,
    /// How far after `now` a timestamp may lie, nanoseconds. Default 1 day.
    pub max_future_ns: u64,
    /// Reasons kept in [`Decoded::errors`]. Default 8.
    pub max_errors: usize,
    /// Cumulative metric series whose last point is remembered, to turn running totals into
    /// increments. Default 100,000.
    pub max_cumulative_series: usize,
}

impl Default for Limits {
    fn default() -> Self {
        const DAY: u64 = 86_400 * 1_000_000_000;
        Self {
            max_attributes: 1_024,
            max_depth: 16,
            max_values: 65_536,
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
    /// The first few reasons ([`Limits::max_errors`]), human readable, for OTLP's
    /// `partial_success.error_message`.
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

impl<T> Decoded<T> {
    /// One message for OTLP's `partial_success.error_message`: the count and the reasons kept,
    /// empty when nothing was rejected.
    pub fn error_message(&self) -> String {
        if self.rejected == 0 {
            return String::new();
        }
        format!("{} rejected: {}", self.rejected, self.errors.join("; "))
    }

    fn reject(&mut self, limits: &Limits, subject: impl fmt::Display, why: &Rejection) {
        self.reject_many(limits, 1, subject, why);
    }

    fn reject_many(
        &mut self,
        limits: &Limits,
        count: usize,
        subject: impl fmt::Display,
        why: &Rejection,
    ) {
        if count == 0 {
            return;
        }
        self.rejected = self
            .rejected
            .saturating_add(u64::try_from(count).unwrap_or(u64::MAX));
        if self.errors.len() < limits.max_errors {
            self.errors.push(format!("{subject}: {why}"));
        }
    }
}

/// Decodes, validates and normalizes OTLP requests. Cheap to clone: clones share the
/// cumulative-metric state. `Send + Sync`; every method takes `&self`.
#[derive(Debug, Clone)]
pub struct Ingestor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limits: Limits,
    series: metrics::Series,
}

impl Default for Ingestor {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Ingestor {
    /// An ingestor enforcing `limits`, started now (see [`with_start_time`](Self::with_start_time)).
    pub fn new(limits: Limits) -> Self {
        Self::with_start_time(limits, agentrace_core::now_unix_nano())
    }

    /// An ingestor that started at `started_unix_nano`: cumulative metric series that started
    /// after it are counted from their start, older ones from their first point received.
    pub fn with_start_time(limits: Limits, started_unix_nano: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                series: metrics::Series::new(started_unix_nano),
            }),
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The spans of a trace export request; `now_unix_nano` is the time of receipt, against
    /// which timestamps are checked.
    pub fn traces(
        &self,
        request: ExportTraceServiceRequest,
        now_unix_nano: u64,
    ) -> Decoded<SpanRecord> {
        trace::decode(&self.inner.limits, request, now_unix_nano)
    }

    /// The events of a logs export request; see [`traces`](Self::traces) for `now_unix_nano`.
    pub fn logs(&self, request: ExportLogsServiceRequest, now_unix_nano: u64) -> Decoded<Event> {
        logs::decode(&self.inner.limits, request, now_unix_nano)
    }

    /// The measurements of a metrics export request; see [`traces`](Self::traces) for
    /// `now_unix_nano`.
    pub fn metrics(
        &self,
        request: ExportMetricsServiceRequest,
        now_unix_nano: u64,
    ) -> Decoded<Measurement> {
        metrics::decode(
            &self.inner.limits,
            &self.inner.series,
            request,
            now_unix_nano,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingestor_is_shareable() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<Ingestor>();
        check::<Decoded<SpanRecord>>();
    }

    #[test]
    fn error_message() {
        let mut decoded = Decoded::<SpanRecord>::default();
        assert_eq!(decoded.error_message(), "");
        let limits = Limits {
            max_errors: 1,
            ..Limits::default()
        };
        decoded.reject(&limits, "span \"a\"", &Rejection::NoValue);
        decoded.reject_many(&limits, 2, "2 spans", &Rejection::NoValue);
        decoded.reject_many(&limits, 0, "nothing", &Rejection::NoValue);
        assert_eq!(decoded.rejected, 3);
        assert_eq!(decoded.error_message(), "3 rejected: span \"a\": no value");
    }
}
