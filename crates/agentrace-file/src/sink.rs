//! [`JsonlSink`]: the core sink traits over the writer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use agentrace_core::{
    Event, EventSink, ExportError, FlushError, ShutdownError, Sink, SpanRecord, SpanSink,
};
use async_trait::async_trait;

use crate::config::{Config, JsonlSinkBuilder, OpenError, Rotation};
use crate::retention::{RetentionError, RetentionReport};
use crate::schema::{EVENT, SPAN};
use crate::writer::{BatchError, Writer};

/// Writes spans and events as JSON lines to rotating, retained files.
///
/// Build one with [`JsonlSink::builder`], then give it to a
/// [`Pipeline`](agentrace_core::Pipeline) (or the `agentrace` facade). Records are buffered
/// in memory; [`Sink::flush`] writes and `fsync`s them, and dropping the sink writes what is
/// still buffered. Clones share the same files.
///
/// One sink per directory and prefix: two writers (two sinks, two processes) on the same files
/// would interleave and rotate over each other.
///
/// Errors: I/O failures (a full disk, a removed directory) are [`ExportError::Transient`], so
/// the pipeline retries them; if part of a batch reached the file before the failure, the retry
/// may write those lines twice (at-least-once). After [`Sink::shutdown`], exports return
/// [`ExportError::ShutDown`].
#[derive(Clone)]
pub struct JsonlSink {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    writer: Mutex<Option<Writer>>,
}

impl fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlSink")
            .field("dir", &self.inner.config.dir)
            .field("prefix", &self.inner.config.prefix)
            .field("rotation", &self.inner.config.rotation)
            .finish_non_exhaustive()
    }
}

impl JsonlSink {
    /// Starts building a sink writing into `dir` (created if missing).
    pub fn builder(dir: impl AsRef<Path>) -> JsonlSinkBuilder {
        JsonlSinkBuilder::new(dir.as_ref())
    }

    pub(crate) fn open(config: Config) -> Result<Self, OpenError> {
        let config = Arc::new(config);
        let writer = Writer::open(config.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// The directory written to.
    pub fn dir(&self) -> &Path {
        &self.inner.config.dir
    }

    /// The file name prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.config.prefix
    }

    /// The rotation policy.
    pub fn rotation(&self) -> Rotation {
        self.inner.config.rotation
    }

    /// The file being written; `None` after shutdown.
    pub fn current_file(&self) -> Option<PathBuf> {
        self.lock()
            .as_ref()
            .map(|writer| writer.current_file().to_path_buf())
    }

    /// Applies `max_files` and `max_age` now (they are otherwise applied when the sink opens and
    /// at each rotation).
    pub fn enforce_retention(&self) -> Result<RetentionReport, RetentionError> {
        match &*self.lock() {
            Some(writer) => writer.enforce_retention(),
            None => Err(RetentionError::ShutDown),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Writer>> {
        self.inner.writer.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            if let Some(writer) = guard.as_mut() {
                writer.recover();
            }
            self.inner.writer.clear_poison();
            guard
        })
    }

    fn export<T: serde::Serialize>(
        &self,
        ty: &'static str,
        records: &[T],
    ) -> Result<(), ExportError> {
        let mut guard = self.lock();
        let writer = guard.as_mut().ok_or(ExportError::ShutDown)?;
        writer.write_batch(ty, records).map_err(|e| match e {
            BatchError::Io(e) => ExportError::transient(e),
            e @ BatchError::Serialize { .. } => ExportError::permanent(e),
        })
    }
}

#[async_trait]
impl Sink for JsonlSink {
    fn name(&self) -> &str {
        "jsonl"
    }

    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        Some(self)
    }

    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }

    /// Writes what is buffered and `fsync`s the file (and the directory when a file was created).
    async fn flush(&self) -> Result<(), FlushError> {
        let mut guard = self.lock();
        let writer = guard.as_mut().ok_or(FlushError::ShutDown)?;
        writer.flush().map_err(FlushError::failed)
    }

    /// Flushes and closes the file. A second call returns [`ShutdownError::AlreadyShutDown`].
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        let mut guard = self.lock();
        let mut writer = guard.take().ok_or(ShutdownError::AlreadyShutDown)?;
        let result = writer.flush();
        let lost = writer.buffered();
        drop(writer);
        result.map_err(|e| {
            ShutdownError::failed(format!(
                "{e}; {lost} buffered byte(s) may not have reached the file"
            ))
        })
    }
}

#[async_trait]
impl SpanSink for JsonlSink {
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        self.export(SPAN, spans)
    }
}

#[async_trait]
impl EventSink for JsonlSink {
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.export(EVENT, events)
    }
}
