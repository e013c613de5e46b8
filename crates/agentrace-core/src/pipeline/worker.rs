//! One thread per sink: its own queue, its own single-threaded runtime, retries with backoff.
//! A sink that is slow, failing, panicking or stuck only ever affects its own queue.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError, never, select};

use super::completion::Completion;
use super::stats::{SinkCounters, add};
use super::{Batch, PipelineConfig};
use crate::sink::{ExportError, FlushError, ShutdownError, Sink};

pub(crate) type SharedSink = Arc<dyn Sink>;

/// Control messages take effect once every batch enqueued before them was exported.
pub(crate) enum WorkerControl {
    Flush {
        upto: u64,
        done: Arc<Completion<FlushError>>,
    },
    Shutdown {
        upto: u64,
        done: Arc<Completion<ShutdownError>>,
    },
}

/// The dispatcher's end of a sink worker.
pub(crate) struct WorkerHandle {
    pub(crate) counters: Arc<SinkCounters>,
    takes_spans: bool,
    takes_events: bool,
    takes_measurements: bool,
    batches: Sender<(u64, Arc<Batch>)>,
    control: Sender<WorkerControl>,
    enqueued: u64,
}

impl WorkerHandle {
    /// Spawns the worker thread for `sink`.
    pub(crate) fn spawn(
        sink: SharedSink,
        config: &PipelineConfig,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let counters = Arc::new(SinkCounters::new(sink.name()));
        let (batches, batch_rx) = crossbeam_channel::bounded(config.sink_queue_batches.max(1));
        let (control, control_rx) = crossbeam_channel::unbounded();
        let handle = Self {
            counters: counters.clone(),
            takes_spans: sink.as_span_sink().is_some(),
            takes_events: sink.as_event_sink().is_some(),
            takes_measurements: sink.as_metric_sink().is_some(),
            batches,
            control,
            enqueued: 0,
        };
        let worker = Worker {
            sink: sink.clone(),
            counters,
            config: config.clone(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        };
        let thread = std::thread::Builder::new()
            .name(format!("agentrace-sink-{}", sink.name()))
            .spawn(move || {
                crate::sink::silence_tracing_on_this_thread();
                worker.run(batch_rx, control_rx);
            })?;
        Ok((handle, thread))
    }

    /// Whether this sink takes measurements.
    pub(crate) fn takes_measurements(&self) -> bool {
        self.takes_measurements
    }

    fn records_for(&self, batch: &Batch) -> usize {
        usize::from(self.takes_spans) * batch.spans.len()
            + usize::from(self.takes_events) * batch.events.len()
            + usize::from(self.takes_measurements) * batch.measurements.len()
    }

    /// Offers a batch without waiting; a full queue drops it, counted.
    pub(crate) fn offer(&mut self, batch: &Arc<Batch>) {
        let n = self.records_for(batch);
        if n == 0 {
            return;
        }
        match self.batches.try_send((self.enqueued + 1, batch.clone())) {
            Ok(()) => {
                self.enqueued += 1;
                add(&self.counters.accepted, n);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                add(&self.counters.dropped, n)
            }
        }
    }

    pub(crate) fn flush(&self, done: Arc<Completion<FlushError>>) {
        let upto = self.enqueued;
        if let Err(e) = self.control.send(WorkerControl::Flush { upto, done })
            && let WorkerControl::Flush { done, .. } = e.into_inner()
        {
            done.complete(&self.counters.name, Err(FlushError::ShutDown));
        }
    }

    pub(crate) fn shutdown(&self, done: Arc<Completion<ShutdownError>>) {
        let upto = self.enqueued;
        if let Err(e) = self.control.send(WorkerControl::Shutdown { upto, done })
            && let WorkerControl::Shutdown { done, .. } = e.into_inner()
        {
            done.complete(&self.counters.name, Err(ShutdownError::AlreadyShutDown));
        }
    }
}

struct Worker {
    sink: SharedSink,
    counters: Arc<SinkCounters>,
    config: PipelineConfig,
    runtime: tokio::runtime::Runtime,
}

impl Worker {
    fn run(self, batches: Receiver<(u64, Arc<Batch>)>, control: Receiver<WorkerControl>) {
        let mut batches = batches;
        let mut control = control;
        let mut exported_upto = 0u64;
        let mut waiting: Vec<WorkerControl> = Vec::new();
        loop {
            select! {
                recv(batches) -> msg => match msg {
                    Ok((seq, batch)) => {
                        self.export(&batch);
                        exported_upto = seq;
                    }
                    Err(_) => {
                        // The dispatcher is gone: everything queued was exported.
                        batches = never();
                        exported_upto = u64::MAX;
                    }
                },
                recv(control) -> msg => match msg {
                    Ok(c) => waiting.push(c),
                    Err(_) => control = never(),
                },
            }
            let mut exit = false;
            waiting.retain(|c| {
                let upto = match c {
                    WorkerControl::Flush { upto, .. } | WorkerControl::Shutdown { upto, .. } => {
                        *upto
                    }
                };
                if upto > exported_upto {
                    return true;
                }
                match c {
                    WorkerControl::Flush { done, .. } => {
                        done.complete(&self.counters.name, self.flush_sink())
                    }
                    WorkerControl::Shutdown { done, .. } => {
                        exit = true;
                        done.complete(&self.counters.name, self.shutdown_sink());
                    }
                }
                false
            });
            if exit {
                return;
            }
            if exported_upto == u64::MAX
                && waiting.is_empty()
                && batches.is_empty()
                && control.is_empty()
            {
                // Orphaned (pipeline dropped without shutdown): release the sink.
                let _ = self.shutdown_sink();
                return;
            }
        }
    }

    fn export(&self, batch: &Batch) {
        let sink = &*self.sink;
        if let Some(s) = sink.as_span_sink() {
            self.export_part(batch.spans.len(), || s.export_spans(&batch.spans));
        }
        if let Some(s) = sink.as_event_sink() {
            self.export_part(batch.events.len(), || s.export_events(&batch.events));
        }
        if let Some(s) = sink.as_metric_sink() {
            self.export_part(batch.measurements.len(), || {
                s.export_measurements(&batch.measurements)
            });
        }
    }

    /// Exports one signal of a batch, retrying transient failures with exponential backoff.
    fn export_part<'a, F>(&self, n: usize, export: impl Fn() -> F)
    where
        F: std::future::Future<Output = Result<(), ExportError>> + 'a,
    {
        if n == 0 {
            return;
        }
        let retry = &self.config.retry;
        let timeout = self.config.export_timeout;
        let mut attempt = 0u32;
        loop {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                self.runtime.block_on(async {
                    tokio::time::timeout(timeout, export())
                        .await
                        .unwrap_or(Err(ExportError::Timeout(timeout)))
                })
            }));
            let error = match outcome {
                Ok(Ok(())) => {
                    add(&self.counters.exported, n);
                    return;
                }
                Ok(Err(e)) => e,
                Err(_) => ExportError::permanent("the sink panicked during export"),
            };
            if error.is_retryable() && attempt < retry.max_retries {
                add(&self.counters.retries, 1);
                std::thread::sleep(retry.backoff(attempt));
                attempt += 1;
                continue;
            }
            self.counters.set_error(error.to_string());
            add(&self.counters.failed, n);
            return;
        }
    }

    fn flush_sink(&self) -> Result<(), FlushError> {
        let timeout = self.config.flush_timeout;
        catch_unwind(AssertUnwindSafe(|| {
            self.runtime
                .block_on(async { tokio::time::timeout(timeout, self.sink.flush()).await })
                .unwrap_or(Err(FlushError::Timeout(timeout)))
        }))
        .unwrap_or_else(|_| Err(FlushError::failed("the sink panicked during flush")))
    }

    fn shutdown_sink(&self) -> Result<(), ShutdownError> {
        let timeout = self.config.shutdown_timeout;
        catch_unwind(AssertUnwindSafe(|| {
            self.runtime
                .block_on(async { tokio::time::timeout(timeout, self.sink.shutdown()).await })
                .unwrap_or(Err(ShutdownError::Timeout(timeout)))
        }))
        .unwrap_or_else(|_| Err(ShutdownError::failed("the sink panicked during shutdown")))
    }
}

impl super::RetryPolicy {
    /// The wait before retry number `attempt + 1`: exponential, capped, with ±25 % jitter.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let jitter = (crate::model::SpanId::random().to_bytes()[0] as f64 / 255.0 - 0.5) * 0.5;
        base.mul_f64(1.0 + jitter)
    }
}
