//! [`JsonlSink`]: the core sink traits over the writer, and its builder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agentrace_core::{
    Event, EventSink, ExportError, FlushError, ShutdownError, Sink, SpanRecord, SpanSink,
};
use async_trait::async_trait;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, DEFAULT_BUFFER_SIZE, DEFAULT_PREFIX, OpenError, Rotation};
use crate::naming::check_prefix;
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

/// Builds a [`JsonlSink`]; start with [`JsonlSink::builder`].
///
/// ```
/// use std::time::Duration;
/// use agentrace_file::{JsonlSink, Rotation};
///
/// # let dir = tempfile::tempdir()?;
/// let sink = JsonlSink::builder(dir.path().join("telemetry"))
///     .file_prefix("my-agent")
///     .rotation(Rotation::daily().with_max_bytes(64 << 20))
///     .max_files(30)
///     .max_age(Duration::from_secs(7 * 86_400))
///     .build()?;
/// let file = sink.current_file().ok_or("shut down")?;
/// assert!(file.starts_with(dir.path().join("telemetry")));
/// assert!(file.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("my-agent-")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct JsonlSinkBuilder {
    config: Config,
}

impl fmt::Debug for JsonlSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlSinkBuilder")
            .field("config", &self.config)
            .finish()
    }
}

impl JsonlSinkBuilder {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            config: Config {
                dir: dir.to_path_buf(),
                prefix: DEFAULT_PREFIX.to_owned(),
                rotation: Rotation::default(),
                max_files: None,
                max_age: None,
                buffer_size: DEFAULT_BUFFER_SIZE,
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// The start of every file name (default [`DEFAULT_PREFIX`]); no path separators.
    pub fn file_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// When to start a new file (default [`Rotation::default`]: daily and at 100 MiB).
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.config.rotation = rotation;
        self
    }

    /// Keeps at most `n` files of this prefix, the one being written included, deleting the
    /// oldest (default: no limit). Checked when the sink opens and at each rotation.
    pub fn max_files(mut self, n: usize) -> Self {
        self.config.max_files = Some(n);
        self
    }

    /// Deletes files last modified longer than `age` ago (default: no limit). The file being
    /// written is never deleted. Checked when the sink opens and at each rotation.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.config.max_age = Some(age);
        self
    }

    /// Bytes buffered in memory before they are written to the file (default 1 MiB).
    /// [`Sink::flush`](agentrace_core::Sink::flush) writes and syncs whatever is buffered.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.config.buffer_size = bytes;
        self
    }

    /// The clock that dates files and ages them (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// Creates the directory if needed, opens the file to append to (the newest file of the
    /// prefix when it is of today and below the size limit, else a new one) and applies
    /// retention.
    pub fn build(self) -> Result<JsonlSink, OpenError> {
        let c = &self.config;
        check_prefix(&c.prefix).map_err(OpenError::InvalidConfig)?;
        if c.max_files == Some(0) {
            return Err(OpenError::InvalidConfig(
                "max_files must be at least 1 (the file being written counts)".into(),
            ));
        }
        if c.rotation.max_bytes() == Some(0) {
            return Err(OpenError::InvalidConfig(
                "the rotation size must be at least 1 byte".into(),
            ));
        }
        JsonlSink::open(self.config)
    }
}
