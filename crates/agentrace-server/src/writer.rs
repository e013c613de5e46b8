//! The writer: one thread that owns every write of received records, with group commit.
//!
//! ```text
//! receivers ──try_send──▶ [bounded queue] ──▶ writer thread ──▶ SQLite (commit) ──▶ answers
//!  (full: retryable                            drains the queue,                    then the live feed,
//!   overload answer)                           runs the processors                  then the fan-out pipeline
//! ```
//!
//! A receiver hands the writer a request's records and waits for its answer; the writer takes
//! every request waiting (up to [`MAX_GROUP_RECORDS`]), runs the processors on them in order
//! (redact when on → price → budget → derive metrics: the same as in-process records),
//! inserts the group's spans in one transaction and its events in another, and only then
//! answers each request.
//! So an acknowledgement means committed: a crash right after it loses nothing. Then it
//! notes the committed traces for the background repairs ([`crate::repair`]),
//! publishes what was committed to the live feed and hands the records and measurements to
//! the fan-out pipeline, which never blocks it (a slow or down sink drops and counts).
//!
//! When a group fails for a reason that is not transient (a record the store cannot encode),
//! its requests are written one by one, so one bad request does not fail the others.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use agentrace_core::{
    Event, Measurement, Pipeline, ProcessContext, Processor, SpanRecord, Verdict,
};
use agentrace_sqlite::{InsertReport, SqliteStore, WriteError};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::{broadcast, oneshot};

use crate::repair::Tracker;
use crate::state::{Committed, ServerStats, add, set_error};

/// Records one group commit takes at most; the rest waits for the next.
pub(crate) const MAX_GROUP_RECORDS: usize = 32_768;

/// The records of one export request.
#[derive(Debug)]
pub(crate) enum Records {
    Spans(Vec<SpanRecord>),
    Events(Vec<Event>),
    Measurements(Vec<Measurement>),
}

impl Records {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Spans(r) => r.len(),
            Self::Events(r) => r.len(),
            Self::Measurements(r) => r.len(),
        }
    }
}

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
    records: Records,
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
    max_records: usize,
}

impl WriterHandle {
    /// Queues `records`; the receiver yields once they are committed (or failed). Never
    /// blocks: a full queue is [`Refused::Overloaded`].
    pub(crate) fn submit(
        &self,
        records: Records,
    ) -> Result<oneshot::Receiver<Result<(), WriteFailure>>, Refused> {
        let n = records.len();
        let queued = &self.stats.queued_records;
        // A request larger than the whole budget still goes in when nothing else waits.
        let before = queued.fetch_add(n, Ordering::SeqCst);
        if before > 0 && before + n > self.max_records {
            queued.fetch_sub(n, Ordering::SeqCst);
            return Err(Refused::Overloaded);
        }
        let (reply, answer) = oneshot::channel();
        // Counted before the writer can take it, so that its count never goes below zero.
        self.stats.queued_requests.fetch_add(1, Ordering::SeqCst);
        match self.tx.try_send(Message::Write(Request { records, reply })) {
            Ok(()) => Ok(answer),
            Err(e) => {
                self.stats.queued_requests.fetch_sub(1, Ordering::SeqCst);
                queued.fetch_sub(n, Ordering::SeqCst);
                Err(match e {
                    TrySendError::Full(_) => Refused::Overloaded,
                    TrySendError::Disconnected(_) => Refused::Closed,
                })
            }
        }
    }
}

/// Everything the writer thread needs.
pub(crate) struct WriterParts {
    pub(crate) store: SqliteStore,
    pub(crate) processors: Vec<Arc<dyn Processor>>,
    pub(crate) stats: Arc<ServerStats>,
    pub(crate) live: broadcast::Sender<Committed>,
    pub(crate) pipeline: Pipeline,
    /// Whether spans and events go to the pipeline (only a forwarder takes them).
    pub(crate) fan_out_records: bool,
    /// Notes committed traces for the background repairs.
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) queue_requests: usize,
    pub(crate) queue_records: usize,
}

/// The running writer thread.
#[derive(Debug)]
pub(crate) struct WriterThread {
    tx: Sender<Message>,
    thread: JoinHandle<()>,
}

impl WriterThread {
    /// Starts the thread.
    pub(crate) fn spawn(parts: WriterParts) -> std::io::Result<(WriterHandle, Self)> {
        let (tx, rx) = crossbeam_channel::bounded(parts.queue_requests);
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
            max_records: parts.queue_records,
        };
        stats.writer_alive.store(true, Ordering::SeqCst);
        let writer = Writer {
            rx,
            store: parts.store,
            processors: parts.processors,
            stats: parts.stats,
            live: parts.live,
            pipeline: parts.pipeline,
            fan_out_records: parts.fan_out_records,
            tracker: parts.tracker,
            cx: ProcessContext::new(),
        };
        let thread = std::thread::Builder::new()
            .name("agentrace-writer".into())
            .spawn(move || writer.run())
            .inspect_err(|_| stats.writer_alive.store(false, Ordering::SeqCst))?;
        Ok((handle, Self { tx, thread }))
    }

    /// Writes everything queued before this call, answers it, and stops the thread. Blocks.
    pub(crate) fn stop(self) {
        // The queue may be full: this waits for room, which the writer makes.
        let _ = self.tx.send(Message::Stop);
        let _ = self.thread.join();
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
    store: SqliteStore,
    processors: Vec<Arc<dyn Processor>>,
    stats: Arc<ServerStats>,
    live: broadcast::Sender<Committed>,
    pipeline: Pipeline,
    fan_out_records: bool,
    tracker: Arc<Tracker>,
    cx: ProcessContext,
}

/// One request of a group, after processing: where its records sit in the group's vectors.
struct Slot {
    reply: Reply,
    spans: std::ops::Range<usize>,
    events: std::ops::Range<usize>,
}

#[derive(Default)]
struct Group {
    slots: Vec<Slot>,
    spans: Vec<SpanRecord>,
    events: Vec<Event>,
    /// Received metric data points.
    metrics: Vec<Measurement>,
    /// Measurements the processors derived from the group's spans.
    derived: Vec<Measurement>,
}

impl Writer {
    fn run(mut self) {
        agentrace_core::sink::silence_tracing_on_this_thread();
        let _alive = Alive(self.stats.clone());
        let mut stopping = false;
        while !stopping {
            let first = match self.rx.recv() {
                Ok(Message::Write(request)) => request,
                Ok(Message::Stop) | Err(_) => break,
            };
            let mut requests = vec![first];
            let mut records = requests[0].records.len();
            while records < MAX_GROUP_RECORDS {
                match self.rx.try_recv() {
                    Ok(Message::Write(request)) => {
                        records += request.records.len();
                        requests.push(request);
                    }
                    Ok(Message::Stop) => {
                        stopping = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.stats
                .queued_requests
                .fetch_sub(requests.len(), Ordering::SeqCst);
            self.stats
                .queued_records
                .fetch_sub(records, Ordering::SeqCst);
            self.write_group(requests);
        }
        // Requests that raced in behind the stop are answered too.
        while let Ok(message) = self.rx.try_recv() {
            if let Message::Write(request) = message {
                self.stats.queued_requests.fetch_sub(1, Ordering::SeqCst);
                self.stats
                    .queued_records
                    .fetch_sub(request.records.len(), Ordering::SeqCst);
                self.write_group(vec![request]);
            }
        }
    }

    /// Runs the processors on one record; `false` if it is dropped.
    fn keep<T>(
        processors: &[Arc<dyn Processor>],
        stats: &ServerStats,
        cx: &mut ProcessContext,
        record: &mut T,
        process: impl Fn(&dyn Processor, &mut T, &mut ProcessContext) -> Verdict,
    ) -> bool {
        for p in processors {
            match catch_unwind(AssertUnwindSafe(|| process(&**p, record, cx))) {
                Ok(Verdict::Keep) => {}
                Ok(Verdict::Drop) => return false,
                Err(_) => {
                    add(&stats.processor_panics, 1);
                    return false;
                }
            }
        }
        true
    }

    fn process(&mut self, requests: Vec<Request>) -> Group {
        let mut group = Group::default();
        for request in requests {
            let spans_start = group.spans.len();
            let events_start = group.events.len();
            match request.records {
                Records::Spans(spans) => {
                    let before = spans.len();
                    for mut span in spans {
                        if Self::keep(
                            &self.processors,
                            &self.stats,
                            &mut self.cx,
                            &mut span,
                            |p, s, cx| p.process_span(s, cx),
                        ) {
                            group.spans.push(span);
                        }
                    }
                    let kept = group.spans.len() - spans_start;
                    add(&self.stats.spans.dropped, (before - kept) as u64);
                }
                Records::Events(events) => {
                    let before = events.len();
                    for mut event in events {
                        if Self::keep(
                            &self.processors,
                            &self.stats,
                            &mut self.cx,
                            &mut event,
                            |p, e, cx| p.process_event(e, cx),
                        ) {
                            group.events.push(event);
                        }
                    }
                    let kept = group.events.len() - events_start;
                    add(&self.stats.events.dropped, (before - kept) as u64);
                }
                Records::Measurements(measurements) => group.metrics.extend(measurements),
            }
            group.slots.push(Slot {
                reply: request.reply,
                spans: spans_start..group.spans.len(),
                events: events_start..group.events.len(),
            });
        }
        self.cx.drain_into(&mut group.derived);
        group
    }

    fn insert(
        &self,
        spans: &[SpanRecord],
        events: &[Event],
    ) -> Result<(InsertReport, InsertReport), WriteError> {
        let spans = self.store.insert_spans(spans)?;
        let events = self.store.insert_events(events)?;
        Ok((spans, events))
    }

    fn write_group(&mut self, requests: Vec<Request>) {
        let mut group = self.process(requests);
        let slots = std::mem::take(&mut group.slots);
        match self.insert(&group.spans, &group.events) {
            Ok(reports) => {
                self.count(reports);
                for slot in slots {
                    let _ = slot.reply.send(Ok(()));
                }
            }
            Err(e) if slots.len() > 1 && !e.is_retryable() => {
                // Find the request that cannot be stored; store the others one by one.
                let (mut spans, mut events) = (Vec::new(), Vec::new());
                for slot in slots {
                    let (s, ev) = (&group.spans[slot.spans], &group.events[slot.events]);
                    let answer = match self.insert(s, ev) {
                        Ok(reports) => {
                            self.count(reports);
                            spans.extend_from_slice(s);
                            events.extend_from_slice(ev);
                            Ok(())
                        }
                        Err(e) => Err(self.failed(&e)),
                    };
                    let _ = slot.reply.send(answer);
                }
                group.spans = spans;
                group.events = events;
            }
            Err(e) => {
                let failure = self.failed(&e);
                for slot in slots {
                    // A request without spans or events (metrics) had nothing to store.
                    let answer = if slot.spans.is_empty() && slot.events.is_empty() {
                        Ok(())
                    } else {
                        Err(failure.clone())
                    };
                    let _ = slot.reply.send(answer);
                }
                group.spans.clear();
                group.events.clear();
                group.derived.clear();
            }
        }
        self.publish(group);
    }

    fn count(&self, (spans, events): (InsertReport, InsertReport)) {
        let stats = &self.stats;
        add(&stats.spans.stored, spans.inserted as u64);
        add(&stats.spans.duplicates, spans.duplicates as u64);
        add(&stats.events.stored, events.inserted as u64);
        add(&stats.events.duplicates, events.duplicates as u64);
        add(&stats.commits, 1);
        stats
            .last_commit_unix_nano
            .store(agentrace_core::now_unix_nano(), Ordering::Relaxed);
    }

    fn failed(&self, e: &WriteError) -> WriteFailure {
        add(&self.stats.write_errors, 1);
        set_error(&self.stats.last_write_error, Some(e.to_string()));
        tracing::warn!(error = %e, "storing received records failed");
        WriteFailure::from(e)
    }

    /// After the answers: the live feed, then the fan-out pipeline (never blocks).
    fn publish(&self, group: Group) {
        self.tracker
            .note(&group.spans, agentrace_core::now_unix_nano());
        let spans: Arc<[SpanRecord]> = group.spans.into();
        let events: Arc<[Event]> = group.events.into();
        if !spans.is_empty() {
            let _ = self.live.send(Committed::Spans(spans.clone()));
        }
        if !events.is_empty() {
            let _ = self.live.send(Committed::Events(events.clone()));
        }
        if self.fan_out_records {
            for span in spans.iter() {
                self.pipeline.submit_span(span.clone());
            }
            for event in events.iter() {
                self.pipeline.submit_event(event.clone());
            }
        }
        for m in group.metrics.into_iter().chain(group.derived) {
            self.pipeline.submit_measurement(m);
        }
    }
}
