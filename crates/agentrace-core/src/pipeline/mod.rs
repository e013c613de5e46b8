//! The pipeline: a bounded, non-blocking queue from producers to processors to sinks.
//!
//! ```text
//! producers ──try_send──▶ [ingress queue] ──▶ dispatcher thread ──▶ [queue per sink] ──▶ sink thread
//!  (never block;            bounded           processors, batches     bounded, dropped     retries with
//!   drops counted)                            by size and time        when full, counted   backoff, timeouts
//! ```
//!
//! - Producers never block and never fail: when the ingress queue is full the record is
//!   dropped and counted ([`PipelineStats::dropped_queue_full`]).
//! - Each sink has its own thread, queue and single-threaded runtime: one slow, failing,
//!   panicking or stuck sink drops only its own records ([`SinkStats::dropped`]), never another
//!   sink's, never the application's time.
//! - [`Pipeline::flush`] returns once every record accepted before the call was exported (or
//!   counted failed) and every sink flushed; [`Pipeline::shutdown`] does the same, then shuts the
//!   sinks down. Both block the calling thread up to their timeouts, and work from any thread,
//!   inside a tokio runtime or not: the pipeline owns its threads.

mod completion;
mod dispatcher;
mod health;
mod stats;
mod worker;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::processor::ProcessContext;
use crossbeam_channel::{Sender, TrySendError};

pub use stats::{PipelineStats, SinkStats};

use self::completion::Completion;
use self::dispatcher::Dispatcher;
use self::stats::{PipelineCounters, SinkCounters, add};
use self::worker::WorkerHandle;
use crate::model::{Event, Measurement, SpanRecord};
use crate::processor::{Processor, Processors};
use crate::sink::{FlushError, ShutdownError, Sink};

/// Retries of transient export failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time.
    pub initial_backoff: Duration,
    /// Upper bound of the wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Bounds and timings of a [`Pipeline`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// Records the ingress queue holds before dropping (default 65,536).
    pub queue_capacity: usize,
    /// Records per batch (default 1,024).
    pub max_batch_size: usize,
    /// A partial batch is sent after this long (default 200 ms).
    pub batch_timeout: Duration,
    /// Batches each sink's queue holds before dropping (default 64).
    pub sink_queue_batches: usize,
    /// Time allowed for one export attempt (default 30 s).
    pub export_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Time allowed for [`Pipeline::flush`] (default 30 s).
    pub flush_timeout: Duration,
    /// Time allowed for [`Pipeline::shutdown`] (default 30 s).
    pub shutdown_timeout: Duration,
    /// How often pipeline-health metrics go to the metric sinks, also on every flush (default
    /// `None`: off; [`Telemetry::with_metrics`](crate::TelemetryBuilder::with_metrics) sets
    /// 10 s). Health measurements count as records in the sinks' counters.
    pub health_interval: Option<Duration>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 65_536,
            max_batch_size: 1_024,
            batch_timeout: Duration::from_millis(200),
            sink_queue_batches: 64,
            export_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            flush_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            health_interval: None,
        }
    }
}

/// Starting the pipeline failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A thread or runtime could not be created.
    #[error("could not start the pipeline's threads: {0}")]
    Spawn(#[from] std::io::Error),
    /// A configuration value is out of range.
    #[error("invalid pipeline configuration: {0}")]
    Config(String),
}

/// What producers send.
pub(crate) enum Record {
    Span(Box<SpanRecord>),
    Event(Box<Event>),
    Measurement(Box<Measurement>),
}

pub(crate) enum Control {
    Flush(Arc<Completion<FlushError>>),
    Shutdown(Arc<Completion<ShutdownError>>),
}

/// Records on their way to the sinks; shared by all sink workers.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) spans: Vec<SpanRecord>,
    pub(crate) events: Vec<Event>,
    pub(crate) measurements: Vec<Measurement>,
}

impl Batch {
    fn len(&self) -> usize {
        self.spans.len() + self.events.len() + self.measurements.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Builds a [`Pipeline`].
#[derive(Debug, Default)]
pub struct PipelineBuilder {
    sinks: Vec<Arc<dyn Sink>>,
    processors: Vec<Arc<dyn Processor>>,
    config: PipelineConfig,
}

impl PipelineBuilder {
    /// Adds a sink; it receives the signals its [`Sink::as_span_sink`] & co. advertise.
    #[must_use]
    pub fn with_sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Arc::new(sink));
        self
    }

    /// Adds a shared sink (assembled at run time, e.g. from configuration).
    #[must_use]
    pub fn with_shared_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Appends a processor; processors run in the order added.
    #[must_use]
    pub fn with_processor(mut self, processor: impl Processor + 'static) -> Self {
        self.processors.push(Arc::new(processor));
        self
    }

    /// Appends a shared processor.
    #[must_use]
    pub fn with_shared_processor(mut self, processor: Arc<dyn Processor>) -> Self {
        self.processors.push(processor);
        self
    }

    /// Replaces the configuration.
    #[must_use]
    pub fn with_config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// Changes the configuration in place.
    #[must_use]
    pub fn configure(mut self, f: impl FnOnce(&mut PipelineConfig)) -> Self {
        f(&mut self.config);
        self
    }

    /// Starts the dispatcher and one thread per sink.
    pub fn build(self) -> Result<Pipeline, BuildError> {
        let config = self.config;
        if config.queue_capacity == 0 || config.max_batch_size == 0 {
            return Err(BuildError::Config(
                "queue_capacity and max_batch_size must be at least 1".into(),
            ));
        }
        let mut threads = Vec::with_capacity(self.sinks.len() + 1);
        let mut workers = Vec::with_capacity(self.sinks.len());
        let mut sink_counters = Vec::with_capacity(self.sinks.len());
        for sink in self.sinks {
            let (handle, thread) = WorkerHandle::spawn(sink, &config)?;
            sink_counters.push(handle.counters.clone());
            workers.push(handle);
            threads.push(thread);
        }
        let (ingress, ingress_rx) = crossbeam_channel::bounded(config.queue_capacity);
        let (control, control_rx) = crossbeam_channel::unbounded();
        let counters = Arc::new(PipelineCounters::default());
        let dispatcher = Dispatcher {
            cx: ProcessContext::new(),
            health: health::Health::new(config.health_interval),
            sink_counters: sink_counters.clone(),
            ingress: ingress_rx,
            control: control_rx,
            processors: Processors::new(self.processors),
            workers,
            counters: counters.clone(),
            config: config.clone(),
        };
        threads.push(
            std::thread::Builder::new()
                .name("agentrace-dispatch".into())
                .spawn(move || dispatcher.run())?,
        );
        Ok(Pipeline {
            inner: Arc::new(Inner {
                ingress,
                control,
                counters,
                sink_counters,
                config,
                shut_down: AtomicBool::new(false),
                threads: Mutex::new(threads),
            }),
        })
    }
}

/// A handle to a running pipeline. Cheap to clone; all clones feed the same queue.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    ingress: Sender<Record>,
    control: Sender<Control>,
    counters: Arc<PipelineCounters>,
    sink_counters: Vec<Arc<SinkCounters>>,
    config: PipelineConfig,
    shut_down: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "sinks",
                &self
                    .inner
                    .sink_counters
                    .iter()
                    .map(|s| &s.name)
                    .collect::<Vec<_>>(),
            )
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Starts building a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    fn submit(&self, record: Record) -> bool {
        let counters = &self.inner.counters;
        if self.inner.shut_down.load(Ordering::Relaxed) {
            add(&counters.dropped_after_shutdown, 1);
            return false;
        }
        match self.inner.ingress.try_send(record) {
            Ok(()) => {
                add(&counters.received, 1);
                true
            }
            Err(TrySendError::Full(_)) => {
                add(&counters.dropped_queue_full, 1);
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                add(&counters.dropped_after_shutdown, 1);
                false
            }
        }
    }

    /// Queues a span. Never blocks; returns `false` (and counts it) if it was dropped.
    pub fn submit_span(&self, span: SpanRecord) -> bool {
        self.submit(Record::Span(Box::new(span)))
    }

    /// Queues a span already on the heap (saves a move of the record).
    pub(crate) fn submit_boxed_span(&self, span: Box<SpanRecord>) -> bool {
        self.submit(Record::Span(span))
    }

    /// Queues an event. Never blocks; returns `false` (and counts it) if it was dropped.
    pub fn submit_event(&self, event: Event) -> bool {
        self.submit(Record::Event(Box::new(event)))
    }

    /// Queues a measurement. Never blocks; returns `false` (and counts it) if it was dropped.
    pub fn submit_measurement(&self, measurement: Measurement) -> bool {
        self.submit(Record::Measurement(Box::new(measurement)))
    }

    /// Waits until everything accepted before this call is exported and every sink flushed.
    pub fn flush(&self) -> Result<(), FlushError> {
        if self.inner.shut_down.load(Ordering::Relaxed) {
            return Err(FlushError::ShutDown);
        }
        let done = Arc::new(Completion::new(1));
        if self
            .inner
            .control
            .send(Control::Flush(done.clone()))
            .is_err()
        {
            return Err(FlushError::ShutDown);
        }
        let timeout = self.inner.config.flush_timeout;
        match done.wait(timeout) {
            None => Err(FlushError::Timeout(timeout)),
            Some(errors) if errors.is_empty() => Ok(()),
            Some(errors) => Err(FlushError::Sinks(errors)),
        }
    }

    /// Flushes, shuts every sink down and stops the threads. Records submitted afterwards are
    /// dropped and counted. A second call returns [`ShutdownError::AlreadyShutDown`].
    pub fn shutdown(&self) -> Result<(), ShutdownError> {
        if self.inner.shut_down.swap(true, Ordering::SeqCst) {
            return Err(ShutdownError::AlreadyShutDown);
        }
        let done = Arc::new(Completion::new(1));
        if self
            .inner
            .control
            .send(Control::Shutdown(done.clone()))
            .is_err()
        {
            return Err(ShutdownError::AlreadyShutDown);
        }
        let timeout = self.inner.config.shutdown_timeout;
        let result = match done.wait(timeout) {
            // A stuck sink keeps its thread; it is left detached rather than waited for.
            None => return Err(ShutdownError::Timeout(timeout)),
            Some(errors) if errors.is_empty() => Ok(()),
            Some(errors) => Err(ShutdownError::Sinks(errors)),
        };
        let threads = std::mem::take(
            &mut *self
                .inner
                .threads
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for t in threads {
            let _ = t.join();
        }
        result
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Relaxed)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PipelineStats {
        self.inner.counters.snapshot(
            self.inner.ingress.len(),
            self.inner.config.queue_capacity,
            &self.inner.sink_counters,
        )
    }
}
