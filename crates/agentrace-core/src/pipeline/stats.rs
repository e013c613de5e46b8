//! Counters of what the pipeline received, dropped, exported and failed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// A snapshot of the pipeline's counters. Counts are of records (spans, events and measurements
/// together).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PipelineStats {
    /// Records accepted into the queue.
    pub received: u64,
    /// Records dropped because the queue was full (the application never waits).
    pub dropped_queue_full: u64,
    /// Records submitted after shutdown.
    pub dropped_after_shutdown: u64,
    /// Records dropped by a processor (filters, sampling).
    pub filtered: u64,
    /// Records dropped because a processor panicked on them.
    pub processor_panics: u64,
    /// Records in the queue now.
    pub queue_depth: usize,
    /// The queue's bound.
    pub queue_capacity: usize,
    /// Per-sink counters.
    pub sinks: Vec<SinkStats>,
}

impl PipelineStats {
    /// Everything lost on the way: queue full, after shutdown, processor panics, and every
    /// sink's drops and failures.
    pub fn total_lost(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_after_shutdown
            + self.processor_panics
            + self.sinks.iter().map(|s| s.dropped + s.failed).sum::<u64>()
    }
}

/// One sink's counters. After a flush, `accepted == exported + failed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SinkStats {
    /// The sink's name.
    pub name: String,
    /// Records that entered the sink's queue.
    pub accepted: u64,
    /// Records the sink exported successfully.
    pub exported: u64,
    /// Records dropped because the sink's queue was full (it is slow or stuck).
    pub dropped: u64,
    /// Records whose export failed after all retries (or panicked).
    pub failed: u64,
    /// Export attempts retried.
    pub retries: u64,
    /// The last export error, if any.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct PipelineCounters {
    pub(crate) received: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_after_shutdown: AtomicU64,
    pub(crate) filtered: AtomicU64,
    pub(crate) processor_panics: AtomicU64,
}

#[derive(Debug, Default)]
pub(crate) struct SinkCounters {
    pub(crate) name: String,
    pub(crate) accepted: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

pub(crate) fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl SinkCounters {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    pub(crate) fn set_error(&self, error: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    pub(crate) fn snapshot(&self) -> SinkStats {
        SinkStats {
            name: self.name.clone(),
            accepted: get(&self.accepted),
            exported: get(&self.exported),
            dropped: get(&self.dropped),
            failed: get(&self.failed),
            retries: get(&self.retries),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }
}

impl PipelineCounters {
    pub(crate) fn snapshot(
        &self,
        queue_depth: usize,
        queue_capacity: usize,
        sinks: &[std::sync::Arc<SinkCounters>],
    ) -> PipelineStats {
        PipelineStats {
            received: get(&self.received),
            dropped_queue_full: get(&self.dropped_queue_full),
            dropped_after_shutdown: get(&self.dropped_after_shutdown),
            filtered: get(&self.filtered),
            processor_panics: get(&self.processor_panics),
            queue_depth,
            queue_capacity,
            sinks: sinks.iter().map(|s| s.snapshot()).collect(),
        }
    }
}
