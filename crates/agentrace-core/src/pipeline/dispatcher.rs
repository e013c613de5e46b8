//! The dispatcher thread: drains the ingress queue, runs processors, batches by size and time,
//! and offers each batch to every sink worker without waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use super::health::Health;
use super::stats::{PipelineCounters, SinkCounters, add};
use super::worker::WorkerHandle;
use super::{Batch, Control, PipelineConfig, Record};
use crate::processor::{Outcome, ProcessContext, Processors};

pub(crate) struct Dispatcher {
    pub(crate) health: Health,
    pub(crate) sink_counters: Vec<Arc<SinkCounters>>,
    pub(crate) ingress: Receiver<Record>,
    pub(crate) control: Receiver<Control>,
    pub(crate) processors: Processors,
    pub(crate) workers: Vec<WorkerHandle>,
    pub(crate) counters: Arc<PipelineCounters>,
    pub(crate) config: PipelineConfig,
    /// What the processors emit, drained into each batch as it goes out; reused, so emitting
    /// allocates nothing per record.
    pub(crate) cx: ProcessContext,
}

impl Dispatcher {
    pub(crate) fn run(mut self) {
        let mut pending = Batch::default();
        let mut deadline: Option<Instant> = None;
        loop {
            let wake = match (deadline, self.health.next()) {
                (Some(d), Some(h)) => Some(d.min(h)),
                (d, h) => d.or(h),
            };
            let wait = wake.map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(Instant::now())
            });
            select! {
                recv(self.ingress) -> msg => match msg {
                    Ok(record) => {
                        self.accept(record, &mut pending);
                        if pending.len() >= self.config.max_batch_size {
                            self.dispatch(&mut pending);
                            deadline = None;
                        } else if deadline.is_none()
                            && (!pending.is_empty() || !self.cx.is_empty())
                        {
                            deadline = Some(Instant::now() + self.config.batch_timeout);
                        }
                    }
                    Err(_) => {
                        // Every handle is gone without a shutdown: export what is left and stop.
                        self.flush_processors(&mut pending, true);
                        self.dispatch(&mut pending);
                        return;
                    }
                },
                recv(self.control) -> msg => match msg {
                    Ok(Control::Flush(done)) => {
                        self.drain_present(&mut pending);
                        self.flush_processors(&mut pending, false);
                        self.report_health(&mut pending);
                        self.dispatch(&mut pending);
                        deadline = None;
                        done.add(self.workers.len());
                        for w in &self.workers {
                            w.flush(done.clone());
                        }
                        done.complete("dispatcher", Ok(()));
                    }
                    Ok(Control::Shutdown(done)) => {
                        self.drain_present(&mut pending);
                        self.flush_processors(&mut pending, true);
                        self.dispatch(&mut pending);
                        done.add(self.workers.len());
                        for w in &self.workers {
                            w.shutdown(done.clone());
                        }
                        done.complete("dispatcher", Ok(()));
                        return;
                    }
                    Err(_) => {
                        // Every handle is gone: take what is still queued, then stop.
                        while let Ok(record) = self.ingress.try_recv() {
                            self.accept(record, &mut pending);
                        }
                        self.flush_processors(&mut pending, true);
                        self.dispatch(&mut pending);
                        return;
                    }
                },
                default(wait) => {
                    if self.health.due() {
                        self.report_health(&mut pending);
                    }
                    // A partial batch waits for its deadline; health alone goes out at once.
                    if deadline.is_none_or(|d| Instant::now() >= d) {
                        self.dispatch(&mut pending);
                        deadline = None;
                    }
                }
            }
        }
    }

    /// Takes what is queued now (not what arrives meanwhile), so a flush covers everything
    /// accepted before it was asked for and still ends under a steady stream.
    fn drain_present(&mut self, pending: &mut Batch) {
        for _ in 0..self.ingress.len() {
            match self.ingress.try_recv() {
                Ok(record) => {
                    self.accept(record, pending);
                    if pending.len() >= self.config.max_batch_size {
                        self.dispatch(pending);
                    }
                }
                Err(_) => break,
            }
        }
    }

    fn accept(&mut self, record: Record, pending: &mut Batch) {
        let outcome = match record {
            Record::Span(mut span) => {
                let outcome = self.processors.span(&mut span, &mut self.cx);
                if outcome.is_kept() {
                    pending.spans.push(*span);
                }
                outcome
            }
            Record::Event(mut event) => {
                let outcome = self.processors.event(&mut event, &mut self.cx);
                if outcome.is_kept() {
                    pending.events.push(*event);
                }
                outcome
            }
            Record::Measurement(m) => {
                pending.measurements.push(*m);
                Outcome::Kept
            }
        };
        match outcome {
            Outcome::Kept => {}
            Outcome::Dropped => add(&self.counters.filtered, 1),
            Outcome::Panicked => add(&self.counters.processor_panics, 1),
        }
    }

    /// Lets every processor emit what it holds back: `flush`, or `shutdown` at the end.
    fn flush_processors(&mut self, pending: &mut Batch, shutting_down: bool) {
        let panics = if shutting_down {
            self.processors.shutdown(&mut self.cx)
        } else {
            self.processors.flush(&mut self.cx)
        };
        add(&self.counters.processor_panics, panics);
        self.cx.drain_into(&mut pending.measurements);
    }

    /// Adds the pipeline-health measurements, if any sink takes measurements.
    fn report_health(&mut self, pending: &mut Batch) {
        if self.health.enabled() && self.workers.iter().any(WorkerHandle::takes_measurements) {
            let depth = self.ingress.len();
            pending.measurements.extend(self.health.report(
                &self.counters,
                &self.sink_counters,
                depth,
            ));
        }
    }

    fn dispatch(&mut self, pending: &mut Batch) {
        self.cx.drain_into(&mut pending.measurements);
        if self.health.due() {
            self.report_health(pending);
        }
        if pending.is_empty() {
            return;
        }
        let batch = Arc::new(std::mem::take(pending));
        for w in &mut self.workers {
            w.offer(&batch);
        }
    }
}
