//! The queue of evaluations to run: bounded, ordered by when each is due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use std::sync::Arc;

use agentrace_core::{SpanId, TraceId};
use tokio::sync::Notify;

use super::rules::ActiveRule;

/// Evaluations queued at most; past it a new one is dropped (counted).
pub(crate) const CAPACITY: usize = 10_000;

/// One evaluation to run: a rule on a span (or a trace, `span` its root), its attempt.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// The rule (retired if replaced or removed since).
    pub(crate) rule: Arc<ActiveRule>,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    /// Attempts made so far.
    pub(crate) attempt: u8,
    /// The re-run it belongs to, if any.
    pub(crate) run: Option<u64>,
}

/// A queued job, ordered by when it is due, then by when it was queued.
#[derive(Debug)]
struct Entry {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// Jobs by when they are due, the earliest first.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    jobs: Mutex<BinaryHeap<Reverse<Entry>>>,
    seq: std::sync::atomic::AtomicU64,
    ready: Notify,
}

/// What [`Queue::next`] found.
pub(crate) enum Next {
    /// A job due now.
    Due(Job),
    /// Nothing due before this.
    Wait(Instant),
    /// Nothing queued.
    Empty,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, BinaryHeap<Reverse<Entry>>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` due at `due`; `false` (not queued) when the queue is full.
    pub(crate) fn push(&self, job: Job, due: Instant) -> bool {
        {
            let mut jobs = self.lock();
            if jobs.len() >= CAPACITY {
                return false;
            }
            let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            jobs.push(Reverse(Entry { due, seq, job }));
        }
        self.ready.notify_one();
        true
    }

    /// The next job due by `now`, or when the next one is due.
    pub(crate) fn next(&self, now: Instant) -> Next {
        let mut jobs = self.lock();
        match jobs.peek() {
            None => Next::Empty,
            Some(Reverse(entry)) if entry.due > now => Next::Wait(entry.due),
            Some(_) => match jobs.pop() {
                Some(Reverse(entry)) => Next::Due(entry.job),
                None => Next::Empty,
            },
        }
    }

    /// Resolves when a job is queued.
    pub(crate) async fn queued(&self) {
        self.ready.notified().await;
    }

    /// Jobs queued now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use agentrace_evaluators::{Rule, RuleSpec};

    use super::super::rules::Origin;
    use super::*;

    /// A job told apart by its `attempt`.
    fn job(rule: &Arc<ActiveRule>, attempt: u8) -> Job {
        Job {
            rule: rule.clone(),
            trace_id: TraceId::from_bytes([1; 16]),
            span_id: SpanId::from_bytes([1; 8]),
            attempt,
            run: None,
        }
    }

    #[test]
    fn jobs_come_out_when_due_earliest_first_and_the_queue_is_bounded() {
        let spec: RuleSpec =
            serde_json::from_str(r#"{"name": "json", "check": {"type": "json_valid"}}"#)
                .expect("a rule");
        let rule = Rule::new(spec, &Default::default()).expect("a rule");
        let rule = Arc::new(ActiveRule::new(rule, Origin::File, Arc::default()));
        let q = Queue::default();
        let now = Instant::now();
        assert!(matches!(q.next(now), Next::Empty));
        assert!(q.push(job(&rule, 2), now + Duration::from_secs(5)));
        assert!(q.push(job(&rule, 1), now));
        assert!(matches!(q.next(now), Next::Due(j) if j.attempt == 1));
        assert!(matches!(q.next(now), Next::Wait(t) if t == now + Duration::from_secs(5)));
        assert!(matches!(q.next(now + Duration::from_secs(5)), Next::Due(j) if j.attempt == 2));
        for _ in 0..CAPACITY {
            assert!(q.push(job(&rule, 0), now));
        }
        assert!(!q.push(job(&rule, 0), now), "full");
        assert_eq!(q.len(), CAPACITY);
    }
}
