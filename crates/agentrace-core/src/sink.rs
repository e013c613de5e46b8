//! The sink traits: where records go. Every backend crate implements these.
//!
//! # Writing a backend
//!
//! A backend is a type that implements [`Sink`] plus one or more of the signal traits
//! [`SpanSink`], [`EventSink`] and [`MetricSink`], and says which through the `as_*` methods of
//! [`Sink`]. The pipeline hands it batches on a thread of its own, so:
//!
//! - **Exports may take their time, and may even block**: a slow sink only fills its own queue;
//!   the application and the other sinks never wait for it. Blocking I/O (a file, SQLite) may be
//!   done inline in the `async fn`; each sink runs on its own single-threaded runtime.
//! - **Batches are borrowed.** Copy what you keep.
//! - **Errors say whether to retry**: return [`ExportError::Transient`] for what may succeed on
//!   a second try (a connection refused, a busy database); the pipeline retries it with backoff.
//!   [`ExportError::Permanent`] is counted as failed and not retried.
//! - **`flush` makes everything exported so far durable** (fsync'd, committed, acknowledged).
//!   `shutdown` flushes and releases resources; later exports return [`ExportError::ShutDown`].
//!   Calling either again is safe: a repeated flush succeeds, a repeated shutdown returns `Ok`
//!   or [`ShutdownError::AlreadyShutDown`], a flush after shutdown returns `Ok` or
//!   [`FlushError::ShutDown`]; none panics or loses stored data.
//! - **Never panic on data**: the pipeline catches panics and counts the batch as failed, but a
//!   panic is a bug.
//! - **Threads of your own** (a client runtime, a server) call [`silence_tracing_on_this_thread`]
//!   first: the `tracing` events your libraries emit while exporting must not reach the
//!   application's agentrace layer and come back to your sink. The pipeline's worker threads are
//!   silenced already.
//!
//! Then run the conformance suite (`agentrace_core::testing::conformance`, feature `testing`)
//! from your crate's tests: it checks round-trip fidelity of every field, empty and large
//! batches, concurrency, flush and shutdown.
//!
//! ```
//! use agentrace_core::{async_trait, ExportError, Sink, SpanRecord, SpanSink};
//!
//! #[derive(Debug, Default)]
//! struct CountingSink(std::sync::atomic::AtomicUsize);
//!
//! #[async_trait]
//! impl Sink for CountingSink {
//!     fn name(&self) -> &str { "counting" }
//!     fn as_span_sink(&self) -> Option<&dyn SpanSink> { Some(self) }
//! }
//!
//! #[async_trait]
//! impl SpanSink for CountingSink {
//!     async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
//!         self.0.fetch_add(spans.len(), std::sync::atomic::Ordering::Relaxed);
//!         Ok(())
//!     }
//! }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{Event, Measurement, SpanRecord};

/// Makes the `tracing` events and spans of the current thread go nowhere, for the thread's life.
///
/// Exporting must not feed itself: HTTP and gRPC stacks (hyper, h2, tower, tonic, reqwest) emit
/// events while sending, which the application's global subscriber — with agentrace's layer —
/// would turn into records for the very sink that is sending, each export producing the next.
/// The pipeline calls this on every sink worker thread; a sink that starts threads of its own
/// calls it on each (e.g. in tokio's `Builder::on_thread_start`).
pub fn silence_tracing_on_this_thread() {
    // The guard restores the previous default when dropped; this thread keeps "none" for good.
    std::mem::forget(tracing::dispatcher::set_default(&tracing::Dispatch::none()));
}

/// A boxed error from a backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Exporting a batch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// May succeed if retried (network, busy database, full disk that may clear).
    #[error("export failed (retryable): {0}")]
    Transient(#[source] BoxError),
    /// Will not succeed if retried (invalid data, rejected by the receiver).
    #[error("export failed: {0}")]
    Permanent(#[source] BoxError),
    /// The sink was shut down.
    #[error("the sink is shut down")]
    ShutDown,
    /// The export did not finish within the pipeline's export timeout.
    #[error("export timed out after {0:?}")]
    Timeout(Duration),
}

impl ExportError {
    /// A retryable failure.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }

    /// A failure that retrying will not fix.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }

    /// Whether the pipeline should try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Timeout(_))
    }
}

/// Flushing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// The sink could not make its data durable.
    #[error("flush failed: {0}")]
    Failed(#[source] BoxError),
    /// Not done within the timeout.
    #[error("flush timed out after {0:?}")]
    Timeout(Duration),
    /// Already shut down.
    #[error("already shut down")]
    ShutDown,
    /// Several sinks failed to flush; each error names its sink.
    #[error("{} sink(s) failed to flush: {}", .0.len(), join(.0))]
    Sinks(Vec<(String, FlushError)>),
}

impl FlushError {
    /// A failure with a source.
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Self::Failed(error.into())
    }
}

/// Shutting down failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// The sink failed to release its resources or flush its data.
    #[error("shutdown failed: {0}")]
    Failed(#[source] BoxError),
    /// Not done within the timeout; the records still queued are lost and counted as dropped.
    #[error("shutdown timed out after {0:?}")]
    Timeout(Duration),
    /// Shut down before.
    #[error("already shut down")]
    AlreadyShutDown,
    /// Several sinks failed to shut down; each error names its sink.
    #[error("{} sink(s) failed to shut down: {}", .0.len(), join(.0))]
    Sinks(Vec<(String, ShutdownError)>),
}

impl ShutdownError {
    /// A failure with a source.
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Self::Failed(error.into())
    }
}

fn join<E: fmt::Display>(errors: &[(String, E)]) -> String {
    errors
        .iter()
        .map(|(sink, e)| format!("{sink}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What every sink is: a name, the signals it takes, flush and shutdown.
#[async_trait]
pub trait Sink: Send + Sync + fmt::Debug {
    /// A short name for stats and errors, e.g. `sqlite`, `jsonl`.
    fn name(&self) -> &str;

    /// `Some(self)` if this sink takes spans.
    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        None
    }

    /// `Some(self)` if this sink takes events.
    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        None
    }

    /// `Some(self)` if this sink takes metric measurements.
    fn as_metric_sink(&self) -> Option<&dyn MetricSink> {
        None
    }

    /// Makes everything exported so far durable. Safe to repeat.
    async fn flush(&self) -> Result<(), FlushError> {
        Ok(())
    }

    /// Flushes and releases resources; later exports fail with [`ExportError::ShutDown`].
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        Ok(())
    }
}

/// A sink of finished spans.
#[async_trait]
pub trait SpanSink: Sink {
    /// Exports one batch. Called from one task at a time by the pipeline, but must be safe to
    /// call concurrently.
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError>;
}

/// A sink of structured events.
#[async_trait]
pub trait EventSink: Sink {
    /// Exports one batch.
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError>;
}

/// A sink of metric measurements.
#[async_trait]
pub trait MetricSink: Sink {
    /// Exports one batch.
    async fn export_measurements(&self, measurements: &[Measurement]) -> Result<(), ExportError>;
}

#[async_trait]
impl<T: Sink + ?Sized> Sink for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        (**self).as_span_sink()
    }
    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        (**self).as_event_sink()
    }
    fn as_metric_sink(&self) -> Option<&dyn MetricSink> {
        (**self).as_metric_sink()
    }
    async fn flush(&self) -> Result<(), FlushError> {
        (**self).flush().await
    }
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        (**self).shutdown().await
    }
}
