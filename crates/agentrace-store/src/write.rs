//! Writing what the receivers decoded.

use agentrace_core::{Event, Measurement, SpanRecord};

use crate::encoded::{EncodedSpans, SpanRows};
use crate::error::WriteError;
use crate::model::InsertReport;

/// Writes batches of records.
///
/// # Contract (checked by the conformance suite)
/// - **Whole or nothing.** A call stores every record it was given or fails; when it
///   returns `Ok`, the records are durable (a crash of the process does not lose them), so
///   the server may acknowledge them.
/// - **Idempotent.** A span is identified by its trace and span id, an event by its content:
///   a record delivered again (a client's retry, two nodes receiving the same request) is
///   stored once and counted in [`InsertReport::duplicates`]. The first version stored wins.
/// - **Attribution whatever the order.** A span stored before its ancestors takes their
///   session, user, correlation id, agent and framework once they arrive (the rule is
///   `agentrace_core::Attribution`); spans completed that way are reported in
///   [`InsertReport::attributed`] when the store learns of them at the write.
/// - **Classified failures.** A store that cannot write now says
///   [`WriteError::Unavailable`] (the server answers the retryable OTLP status and keeps
///   nothing it did not store), one that is broken says [`WriteError::Failed`].
///
/// Calls block until the write is done; the server makes them from one writer thread.
pub trait RecordWriter {
    /// Stores spans (encoded off the writer's thread: [`EncodedSpans`](crate::EncodedSpans)).
    fn insert_spans(&self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError>;

    /// Stores events; an identical event (same time, kind, level, message, ids and
    /// attributes) already stored is a duplicate.
    fn insert_events(&self, events: &[Event]) -> Result<InsertReport, WriteError>;

    /// [`insert_spans`](Self::insert_spans) of spans encoded here, on the caller's thread (an
    /// import, a test).
    fn write_spans(&self, spans: &[SpanRecord]) -> Result<InsertReport, WriteError> {
        let mut encoded = EncodedSpans::with_capacity(spans.len());
        for span in spans {
            encoded.push(span.clone())?;
        }
        self.insert_spans(encoded.rows())
    }

    /// Stores metric measurements (received OTLP metrics, and the measures derived from
    /// spans): each is added into its series' point of its minute.
    fn insert_measurements(&self, measurements: &[Measurement])
    -> Result<InsertReport, WriteError>;
}
