//! The writer: one thread that owns every write of received records, with group commit.
//!
//! ```text
//! receivers ──reserve, send──▶ [bounded queue] ──▶ writer thread ──▶ store (commit) ──▶ answers
//!  decode, process, encode                        drains the queue                        │
//!  (full: retryable overload answer)                                                      ▼
//!                                     publisher thread: repairs' tracker, live feed, fan-out pipeline
//! ```
//!
//! A receiver decodes a request, runs the processors on its records and encodes its spans'
//! rows ([`crate::ingest::processors`]) on its own thread, hands the writer the result and
//! waits for its answer. The writer takes every request waiting (up to
//! [`MAX_GROUP_RECORDS`]), groups them by project, and for each project inserts the group's
//! spans in one transaction (in that project's store), its events in another
//! and its received metrics in a third, then the scores of the `gen_ai.evaluation.result`
//! events among them ([`crate::ingest::evaluation_results`]), and only then answers each
//! request. So an acknowledgement means committed: a crash right after it loses nothing. A
//! request is processed only once the queue has room for it
//! ([`WriterHandle::reserve`]): a request refused for overload has not been counted against a
//! budget when it comes back.
//!
//! Then the writer hands what was committed to the publisher thread
//! ([`crate::ingest::publish`]), which tells the commit's watchers, the live feed and the
//! fan-out pipeline, all off the writer's path.
//!
//! When a group fails for a reason that is not transient (a record the store cannot store),
//! its requests are written one by one, so one bad request does not fail the others.
//!
//! A store that cannot write (a full disk, an I/O error, a busy or read-only file) is loud:
//! the first failure and then at most one every [`LOG_EVERY`] are logged with how many came
//! between, every failure is counted (`/api/v1/status`, `/metrics`), `/readyz` fails from the
//! first failed commit until one succeeds again, and the recovery is logged.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agentrace_core::{Event, Measurement, Pipeline};
use agentrace_store::{EncodedSpans, InsertReport, ProjectId, SpanRows, WriteError};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::{broadcast, oneshot};

use crate::ingest::committed::Published;
use crate::ingest::evaluation_results::EvaluationResults;
use crate::ingest::late_attribution::Attributions;
use crate::ingest::processors::{Batch, Destination, ProjectChains};
use crate::ingest::publish::{CommitWatcher, Group, Publisher};
use crate::store::SharedStore;
use crate::telemetry::counters::{add, set_error};
use crate::telemetry::stats::ServerStats;

/// Records one group commit takes at most; the rest waits for the next.
pub(crate) const MAX_GROUP_RECORDS: usize = 32_768;

/// Committed groups waiting for the publisher before the writer waits for it.
const PUBLISH_QUEUE: usize = 64;

/// A failing store is logged at most this often.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// Why records were not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WriteFailure {
    /// May succeed if sent again (a busy database, a full disk, the server stopping).
    #[error("{0}")]
    Retryable(String),
    /// Will not succeed if sent again.
    #[error("{0}")]
    Permanent(String),
}

impl From<&WriteError> for WriteFailure {
    fn from(e: &WriteError) -> Self {
        let message = format!("storing failed: {e}");
        if e.is_retryable() || matches!(e, WriteError::ShutDown) {
            Self::Retryable(message)
        } else {
            Self::Permanent(message)
        }
    }
}

/// Why the writer did not take a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its queue is full: try again later.
    Overloaded,
    /// It has stopped (the server is shutting down).
    Closed,
}

type Reply = oneshot::Sender<Result<(), WriteFailure>>;

struct Request {
    batch: Batch,
    reply: Reply,
}

enum Message {
    Write(Request),
    Stop,
}

/// Submits requests to the writer. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct WriterHandle {
    tx: Sender<Message>,
    stats: Arc<ServerStats>,
    max_requests: usize,
    max_records: usize,
}

impl WriterHandle {
    /// Reserves room in the queue for a request of `records` records. Never blocks: a full
    /// queue is [`Refused::Overloaded`]. A request larger than the whole budget still gets
    /// room when nothing else waits.
    pub(crate) fn reserve(&self, records: usize) -> Result<Permit, Refused> {
        let stats = &self.stats;
        if !stats.writer_alive.load(Ordering::SeqCst) {
            return Err(Refused::Closed);
        }
        let requests = stats.queued_requests.fetch_add(1, Ordering::SeqCst);
        let before = stats.queued_records.fetch_add(records, Ordering::SeqCst);
        if requests >= self.max_requests || (before > 0 && before + records > self.max_records) {
            stats.queued_requests.fetch_sub(1, Ordering::SeqCst);
            stats.queued_records.fetch_sub(records, Ordering::SeqCst);
            return Err(Refused::Overloaded);
        }
        Ok(Permit {
            handle: self.clone(),
            records,
            sent: false,
        })
    }
}

/// Room in the writer's queue for one request; given back if dropped unsent.
#[derive(Debug)]
pub(crate) struct Permit {
    handle: WriterHandle,
    records: usize,
    sent: bool,
}

impl Permit {
    /// Queues `batch`; the receiver yields once it is committed (or failed).
    pub(crate) fn send(
        mut self,
        batch: Batch,
    ) -> Result<oneshot::Receiver<Result<(), WriteFailure>>, Refused> {
        // The queue counts what the writer will take (processing may have dropped records).
        let queued = &self.handle.stats.queued_records;
        let records = batch.records();
        if records < self.records {
            queued.fetch_sub(self.records - records, Ordering::SeqCst);
        } else {
            queued.fetch_add(records - self.records, Ordering::SeqCst);
        }
        self.records = records;
        let (reply, answer) = oneshot::channel();
        match self
            .handle
            .tx
            .try_send(Message::Write(Request { batch, reply }))
        {
            Ok(()) => {
                self.sent = true;
                Ok(answer)
            }
            Err(TrySendError::Full(_)) => Err(Refused::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(Refused::Closed),
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.sent {
            let stats = &self.handle.stats;
            stats.queued_requests.fetch_sub(1, Ordering::SeqCst);
            stats
                .queued_records
                .fetch_sub(self.records, Ordering::SeqCst);
        }
    }
}

/// Everything the writer and publisher threads need.
pub(crate) struct WriterParts {
    /// The configured project's store, whose write-ahead log and spans awaiting their parent
    /// `/status` reports.
    pub(crate) store: SharedStore,
    pub(crate) stats: Arc<ServerStats>,
    /// Makes the scores of the evaluation results among each group's records.
    pub(crate) evaluation_results: Arc<EvaluationResults>,
    pub(crate) live: broadcast::Sender<Published>,
    pub(crate) pipeline: Pipeline,
    /// Whether spans and events go to the pipeline (only a forwarder takes them).
    pub(crate) fan_out_records: bool,
    /// Budgets and live clients to tell when a late ancestor completes spans' attribution.
    pub(crate) attributions: Attributions,
    /// Each project's metrics, for the other projects' `/metrics`.
    pub(crate) chains: Arc<dyn ProjectChains>,
    /// Told of committed spans, in this order: the background repairs' tracker, the online
    /// evaluations.
    pub(crate) watchers: Vec<Arc<dyn CommitWatcher>>,
    pub(crate) queue_requests: usize,
    pub(crate) queue_records: usize,
}

/// The running writer and publisher threads.
#[derive(Debug)]
pub(crate) struct WriterThread {
    tx: Sender<Message>,
    writer: JoinHandle<()>,
    publisher: JoinHandle<()>,
}

impl WriterThread {
    /// Starts the threads.
    pub(crate) fn spawn(parts: WriterParts) -> std::io::Result<(WriterHandle, Self)> {
        // One slot more than the requests allowed, for the stop message.
        let (tx, rx) = crossbeam_channel::bounded(parts.queue_requests + 1);
        let (publish_tx, publish_rx) = crossbeam_channel::bounded(PUBLISH_QUEUE);
        let stats = parts.stats.clone();
        stats
            .queue_capacity_requests
            .store(parts.queue_requests, Ordering::Relaxed);
        stats
            .queue_capacity_records
            .store(parts.queue_records, Ordering::Relaxed);
        let handle = WriterHandle {
            tx: tx.clone(),
            stats: stats.clone(),
            max_requests: parts.queue_requests,
            max_records: parts.queue_records,
        };
        let publisher = Publisher {
            rx: publish_rx,
            live: parts.live,
            pipeline: parts.pipeline,
            fan_out_records: parts.fan_out_records,
            attributions: parts.attributions,
            chains: parts.chains,
            watchers: parts.watchers,
        };
        let publisher = std::thread::Builder::new()
            .name("agentrace-publish".into())
            .spawn(move || publisher.run())?;
        stats.writer_alive.store(true, Ordering::SeqCst);
        let writer = Writer {
            rx,
            store: parts.store,
            stats: parts.stats,
            evaluation_results: parts.evaluation_results,
            publish: publish_tx,
            log: FailureLog::new(),
        };
        let writer = std::thread::Builder::new()
            .name("agentrace-writer".into())
            .spawn(move || writer.run())
            .inspect_err(|_| stats.writer_alive.store(false, Ordering::SeqCst))?;
        Ok((
            handle,
            Self {
                tx,
                writer,
                publisher,
            },
        ))
    }

    /// Writes everything queued before this call, answers it, publishes it, and stops the
    /// threads. Blocks.
    pub(crate) fn stop(self) {
        // The queue may be full: this waits for room, which the writer makes.
        let _ = self.tx.send(Message::Stop);
        let _ = self.writer.join();
        // The writer's end of the publish queue is gone: the publisher drains it and ends.
        let _ = self.publisher.join();
    }
}

/// Marks the writer dead when its thread ends, however it ends.
struct Alive(Arc<ServerStats>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.writer_alive.store(false, Ordering::SeqCst);
    }
}

struct Writer {
    rx: Receiver<Message>,
    store: SharedStore,
    stats: Arc<ServerStats>,
    evaluation_results: Arc<EvaluationResults>,
    publish: Sender<Group>,
    log: FailureLog,
}

/// The writer's log of store failures: rate-limited, and through the subscriber of the thread
/// that started the writer (the writer's own thread is silenced, see
/// `agentrace_core::sink::silence_tracing_on_this_thread`).
struct FailureLog {
    dispatch: tracing::Dispatch,
    last: Cell<Option<Instant>>,
    /// Failures since the last message.
    unlogged: Cell<u64>,
    /// When a split group was last logged.
    last_split: Cell<Option<Instant>>,
}

impl FailureLog {
    /// Logs through the calling thread's subscriber.
    fn new() -> Self {
        Self {
            dispatch: tracing::dispatcher::get_default(Clone::clone),
            last: Cell::new(None),
            unlogged: Cell::new(0),
            last_split: Cell::new(None),
        }
    }

    fn failed(&self, e: &WriteError) {
        let due = self.last.get().is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if !due {
            self.unlogged.set(self.unlogged.get() + 1);
            return;
        }
        let unlogged = self.unlogged.replace(0);
        self.last.set(Some(Instant::now()));
        tracing::dispatcher::with_default(&self.dispatch, || {
            tracing::error!(
                error = %e,
                store_failure = e.is_store_failure(),
                failures_since_last_message = unlogged,
                "storing received records failed"
            );
        });
    }

    /// A group written one request at a time: a request the store cannot take, or a
    /// statement too large for it (which every request then passes alone).
    fn split(&self, e: &WriteError, requests: usize) {
        let due = self
            .last_split
            .get()
            .is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if !due {
            return;
        }
        self.last_split.set(Some(Instant::now()));
        tracing::dispatcher::with_default(&self.dispatch, || {
            tracing::warn!(
                error = %e,
                requests,
                "a group could not be written together; writing its requests one by one"
            );
        });
    }

    fn recovered(&self, failing_since_unix_nano: u64) {
        let unlogged = self.unlogged.replace(0);
        self.last.set(None);
        let seconds =
            agentrace_core::now_unix_nano().saturating_sub(failing_since_unix_nano) as f64 / 1e9;
        tracing::dispatcher::with_default(&self.dispatch, || {
            tracing::info!(
                failing_for_seconds = seconds,
                failures_since_last_message = unlogged,
                "storing received records works again"
            );
        });
    }
}

/// One request of a group: where its records sit in the group's.
struct Slot {
    reply: Reply,
    spans: usize,
    events: usize,
    metrics: usize,
}

/// What one group's (or request's) inserts stored.
struct Reports {
    spans: InsertReport,
    events: InsertReport,
    metrics: InsertReport,
}

/// The requests of one project the writer took for one group commit: where each one's
/// records sit in the group's, and the group's records end to end.
struct Pending {
    store: SharedStore,
    slots: Vec<Slot>,
    group: Group,
}

/// The groups of one commit, one per project, in the order their first request came.
#[derive(Default)]
struct Groups(Vec<Pending>);

impl Groups {
    fn push(&mut self, request: Request) {
        let project = request.batch.destination.project;
        match self.0.iter_mut().find(|p| p.group.project == project) {
            Some(pending) => pending.push(request),
            None => {
                let Destination {
                    project,
                    store,
                    configured,
                } = request.batch.destination.clone();
                let mut pending = Pending {
                    store,
                    slots: Vec::new(),
                    group: Group {
                        project,
                        configured,
                        spans: EncodedSpans::new(),
                        events: Vec::new(),
                        metrics: Vec::new(),
                        derived: Vec::new(),
                        attributed: Vec::new(),
                    },
                };
                pending.push(request);
                self.0.push(pending);
            }
        }
    }

    fn requests(&self) -> usize {
        self.0.iter().map(|p| p.slots.len()).sum()
    }
}

impl Pending {
    fn push(&mut self, request: Request) {
        let Request { mut batch, reply } = request;
        self.slots.push(Slot {
            reply,
            spans: batch.spans.len(),
            events: batch.events.len(),
            metrics: batch.metrics.len(),
        });
        let group = &mut self.group;
        group.spans.append(&mut batch.spans);
        group.events.append(&mut batch.events);
        group.metrics.append(&mut batch.metrics);
        group.derived.append(&mut batch.derived);
    }
}

impl Writer {
    fn run(self) {
        agentrace_core::sink::silence_tracing_on_this_thread();
        let _alive = Alive(self.stats.clone());
        let mut stopping = false;
        while !stopping {
            let mut pending = Groups::default();
            let mut records = match self.rx.recv() {
                Ok(Message::Write(request)) => {
                    let records = request.batch.records();
                    pending.push(request);
                    records
                }
                Ok(Message::Stop) | Err(_) => break,
            };
            while records < MAX_GROUP_RECORDS {
                match self.rx.try_recv() {
                    Ok(Message::Write(request)) => {
                        records += request.batch.records();
                        pending.push(request);
                    }
                    Ok(Message::Stop) => {
                        stopping = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.dequeued(pending.requests(), records);
            for group in pending.0 {
                self.write_group(group);
            }
        }
        // Requests that raced in behind the stop are answered too.
        while let Ok(message) = self.rx.try_recv() {
            if let Message::Write(request) = message {
                self.dequeued(1, request.batch.records());
                let mut pending = Groups::default();
                pending.push(request);
                for group in pending.0 {
                    self.write_group(group);
                }
            }
        }
    }

    fn dequeued(&self, requests: usize, records: usize) {
        let stats = &self.stats;
        stats.queued_requests.fetch_sub(requests, Ordering::SeqCst);
        stats.queued_records.fetch_sub(records, Ordering::SeqCst);
    }

    fn insert(
        &self,
        project: ProjectId,
        store: &SharedStore,
        spans: SpanRows<'_>,
        events: &[Event],
        metrics: &[Measurement],
    ) -> Result<Reports, WriteError> {
        let reports = Reports {
            spans: store.insert_spans(spans)?,
            events: store.insert_events(events)?,
            metrics: store.insert_measurements(metrics)?,
        };
        self.evaluation_results
            .store(project, &**store, spans.spans(), events)?;
        Ok(reports)
    }

    fn write_group(&self, pending: Pending) {
        let Pending {
            store,
            slots,
            mut group,
        } = pending;
        let project = group.project;
        match self.insert(
            project,
            &store,
            group.spans.rows(),
            &group.events,
            &group.metrics,
        ) {
            Ok(mut reports) => {
                self.count(&reports);
                group.attributed = std::mem::take(&mut reports.spans.attributed);
                for slot in slots {
                    let _ = slot.reply.send(Ok(()));
                }
            }
            Err(e) if slots.len() > 1 && !e.is_retryable() => {
                // Find the request that cannot be stored; store the others one by one.
                add(&self.stats.groups_split, 1);
                self.log.split(&e, slots.len());
                let spans = split(std::mem::take(&mut group.spans), &slots, |s| s.spans);
                let events = split(std::mem::take(&mut group.events), &slots, |s| s.events);
                let metrics = split(std::mem::take(&mut group.metrics), &slots, |s| s.metrics);
                let parts = spans.into_iter().zip(events).zip(metrics);
                for (slot, ((mut spans, mut events), mut metrics)) in slots.into_iter().zip(parts) {
                    let answer = match self.insert(project, &store, spans.rows(), &events, &metrics)
                    {
                        Ok(mut reports) => {
                            self.count(&reports);
                            group.attributed.append(&mut reports.spans.attributed);
                            group.spans.append(&mut spans);
                            group.events.append(&mut events);
                            group.metrics.append(&mut metrics);
                            Ok(())
                        }
                        Err(e) => Err(self.failed(&e)),
                    };
                    let _ = slot.reply.send(answer);
                }
            }
            Err(e) => {
                let failure = self.failed(&e);
                for slot in slots {
                    let _ = slot.reply.send(Err(failure.clone()));
                }
                group.spans = EncodedSpans::new();
                group.events.clear();
                group.metrics.clear();
                group.derived.clear();
            }
        }
        *self
            .stats
            .wal
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.store.wal();
        // Blocks only if the publisher is 64 groups behind (it does no I/O).
        let _ = self.publish.send(group);
    }

    fn count(&self, reports: &Reports) {
        let stats = &self.stats;
        for (counters, report) in [
            (&stats.spans, &reports.spans),
            (&stats.events, &reports.events),
            (&stats.measurements, &reports.metrics),
        ] {
            add(&counters.stored, report.inserted as u64);
            add(&counters.duplicates, report.duplicates as u64);
        }
        add(&stats.commits, 1);
        add(
            &stats.attributed_late,
            reports.spans.attributed.len() as u64,
        );
        stats
            .awaiting_parent
            .store(self.store.spans_awaiting_parent(), Ordering::Relaxed);
        stats
            .last_commit_unix_nano
            .store(agentrace_core::now_unix_nano(), Ordering::Relaxed);
        let since = stats
            .store_failing_since_unix_nano
            .swap(0, Ordering::SeqCst);
        if since != 0 {
            self.log.recovered(since);
        }
    }

    fn failed(&self, e: &WriteError) -> WriteFailure {
        add(&self.stats.write_errors, 1);
        set_error(&self.stats.last_write_error, Some(e.to_string()));
        if e.is_store_failure() {
            let _ = self.stats.store_failing_since_unix_nano.compare_exchange(
                0,
                agentrace_core::now_unix_nano(),
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
        self.log.failed(e);
        WriteFailure::from(e)
    }
}

/// Records end to end that can be cut back into the requests they came from.
trait SplitOff: Sized {
    fn len(&self) -> usize;
    fn split_off(&mut self, at: usize) -> Self;
}

impl<T> SplitOff for Vec<T> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn split_off(&mut self, at: usize) -> Self {
        Vec::split_off(self, at.min(Vec::len(self)))
    }
}

impl SplitOff for EncodedSpans {
    fn len(&self) -> usize {
        EncodedSpans::len(self)
    }

    fn split_off(&mut self, at: usize) -> Self {
        EncodedSpans::split_off(self, at)
    }
}

/// Cuts a group's records back into one part per request, in order.
fn split<T: SplitOff>(mut all: T, slots: &[Slot], len: fn(&Slot) -> usize) -> Vec<T> {
    let mut parts: Vec<T> = slots
        .iter()
        .rev()
        .map(|slot| {
            let at = all.len().saturating_sub(len(slot));
            all.split_off(at)
        })
        .collect();
    parts.reverse();
    parts
}
