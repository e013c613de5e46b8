//! An in-memory sink, and sinks that misbehave on purpose.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{Event, Measurement, SpanRecord};
use crate::sink::{EventSink, ExportError, FlushError, MetricSink, ShutdownError, Sink, SpanSink};

#[derive(Debug, Default)]
struct Stored {
    spans: Mutex<Vec<SpanRecord>>,
    events: Mutex<Vec<Event>>,
    measurements: Mutex<Vec<Measurement>>,
    flushes: AtomicUsize,
    shut_down: AtomicBool,
}

/// Keeps everything it receives, for tests. Clones share storage.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    stored: Arc<Stored>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spans received so far.
    pub fn spans(&self) -> Vec<SpanRecord> {
        lock(&self.stored.spans).clone()
    }

    /// Events received so far.
    pub fn events(&self) -> Vec<Event> {
        lock(&self.stored.events).clone()
    }

    /// Measurements received so far.
    pub fn measurements(&self) -> Vec<Measurement> {
        lock(&self.stored.measurements).clone()
    }

    /// Forgets everything received (benchmarks call it between samples).
    pub fn clear(&self) {
        lock(&self.stored.spans).clear();
        lock(&self.stored.events).clear();
        lock(&self.stored.measurements).clear();
    }

    /// How many times it was flushed.
    pub fn flush_count(&self) -> usize {
        self.stored.flushes.load(Ordering::SeqCst)
    }

    /// Whether it was shut down.
    pub fn is_shut_down(&self) -> bool {
        self.stored.shut_down.load(Ordering::SeqCst)
    }

    fn check_open(&self) -> Result<(), ExportError> {
        if self.is_shut_down() {
            Err(ExportError::ShutDown)
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Sink for MemorySink {
    fn name(&self) -> &str {
        "memory"
    }
    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        Some(self)
    }
    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }
    fn as_metric_sink(&self) -> Option<&dyn MetricSink> {
        Some(self)
    }
    async fn flush(&self) -> Result<(), FlushError> {
        self.stored.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        self.stored.shut_down.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl SpanSink for MemorySink {
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        self.check_open()?;
        lock(&self.stored.spans).extend_from_slice(spans);
        Ok(())
    }
}

#[async_trait]
impl EventSink for MemorySink {
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.check_open()?;
        lock(&self.stored.events).extend_from_slice(events);
        Ok(())
    }
}

#[async_trait]
impl MetricSink for MemorySink {
    async fn export_measurements(&self, measurements: &[Measurement]) -> Result<(), ExportError> {
        self.check_open()?;
        lock(&self.stored.measurements).extend_from_slice(measurements);
        Ok(())
    }
}

/// How a [`FaultySink`] misbehaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fault {
    /// The first `times` exports fail with a transient error; later ones succeed.
    Transient {
        /// Failures before success.
        times: usize,
    },
    /// Every export fails permanently.
    Permanent,
    /// Every export blocks its thread until [`FaultySink::release`] (a stuck sink).
    Block,
    /// Every export sleeps this long (a slow sink), blocking its thread.
    Delay(Duration),
    /// Every export panics.
    Panic,
}

#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

/// A sink that fails, blocks, stalls or panics, then stores like a [`MemorySink`].
#[derive(Debug, Clone)]
pub struct FaultySink {
    fault: Fault,
    attempts: Arc<AtomicUsize>,
    gate: Arc<Gate>,
    /// Where successful exports go.
    pub memory: MemorySink,
}

impl FaultySink {
    /// A sink with the given fault.
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            attempts: Arc::default(),
            gate: Arc::default(),
            memory: MemorySink::new(),
        }
    }

    /// Export attempts so far.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Unblocks a [`Fault::Block`] sink for good.
    pub fn release(&self) {
        *lock(&self.gate.open) = true;
        self.gate.opened.notify_all();
    }

    fn misbehave(&self) -> Result<(), ExportError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst);
        match &self.fault {
            Fault::Transient { times } if attempt < *times => Err(ExportError::transient(format!(
                "injected failure {}",
                attempt + 1
            ))),
            Fault::Transient { .. } => Ok(()),
            Fault::Permanent => Err(ExportError::permanent("injected permanent failure")),
            Fault::Block => {
                let mut open = lock(&self.gate.open);
                while !*open {
                    open = self
                        .gate
                        .opened
                        .wait(open)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Ok(())
            }
            Fault::Delay(d) => {
                std::thread::sleep(*d);
                Ok(())
            }
            Fault::Panic => panic!("injected panic in export"),
        }
    }
}

#[async_trait]
impl Sink for FaultySink {
    fn name(&self) -> &str {
        "faulty"
    }
    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        Some(self)
    }
    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }
    async fn flush(&self) -> Result<(), FlushError> {
        self.memory.flush().await
    }
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        self.memory.shutdown().await
    }
}

#[async_trait]
impl SpanSink for FaultySink {
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        self.misbehave()?;
        self.memory.export_spans(spans).await
    }
}

#[async_trait]
impl EventSink for FaultySink {
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.misbehave()?;
        self.memory.export_events(events).await
    }
}
