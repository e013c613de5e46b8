//! Scores from the `gen_ai.evaluation.result` events the server receives (as log records and
//! as span events), made by `agentrace_store::store_evaluations` in the writer's group, so
//! that an acknowledged result is a stored score.
//!
//! A result that names the response it judges (`gen_ai.response.id`) but no span is matched
//! with the span that gave the response. Exporters send logs and spans apart, so the span
//! often comes seconds after its evaluation: a result whose response is not stored yet waits
//! here, looked up again every [`RETRY_EVERY`] for [`AWAIT`], at most [`MAX_AWAITING`] at
//! once; past that it is counted unmatched (its event stays stored). What waits is in this
//! node's memory: a restart forgets it (the event is stored; its score is not made). What
//! became of the results is counted in the server's counters (`/status`, `/metrics`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_core::{Event, SpanRecord};
use agentrace_store::{
    EvaluationReport, EvaluationResult, Judged, Store, WriteError, evaluation_results,
    store_evaluations,
};
use tokio::sync::watch;

use crate::store::SharedStore;
use crate::telemetry::counters::{add, set_error};
use crate::telemetry::stats::ServerStats;

/// How long a result waits for the span that gave its response.
pub(crate) const AWAIT: Duration = Duration::from_secs(600);

/// How often the waiting results are looked up again.
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Results that wait at most at once; more are counted unmatched at once.
pub(crate) const MAX_AWAITING: usize = 10_000;

/// What tells waiting results apart: the evaluation's name, its time and what it judges.
type Key = (String, u64, String);

fn key(result: &EvaluationResult) -> Key {
    let judged = match &result.judged {
        Judged::Response(id) => id.clone(),
        Judged::Target(target) => format!("{target:?}"),
    };
    (
        result.evaluation.name.clone(),
        result.time_unix_nano,
        judged,
    )
}

/// The evaluation results of received records, and those waiting for their response's span.
#[derive(Debug)]
pub(crate) struct EvaluationResults {
    awaiting: Mutex<VecDeque<(Instant, EvaluationResult)>>,
    /// Where what became of them is counted, and the scores they made (for `/metrics`).
    stats: Arc<ServerStats>,
}

impl EvaluationResults {
    /// Results counted in `stats`.
    pub(crate) fn new(stats: Arc<ServerStats>) -> Self {
        Self {
            awaiting: Mutex::default(),
            stats,
        }
    }

    /// Stores the scores of the evaluation results among a group's records, on the writer's
    /// thread, after the records (a failure fails the group: it is sent again).
    /// Results whose response is not stored yet wait for it when `wait` (the configured
    /// project's: the waiting list is looked up again in its store), else are dropped.
    pub(crate) fn store(
        &self,
        store: &dyn Store,
        spans: &[SpanRecord],
        events: &[Event],
        wait: bool,
    ) -> Result<(), WriteError> {
        let found = evaluation_results(spans, events);
        let counters = &self.stats.evaluation_results;
        if found.invalid > 0 {
            add(&counters.invalid, found.invalid as u64);
            set_error(&counters.last_invalid, found.last_invalid);
        }
        if found.results.is_empty() {
            return Ok(());
        }
        let report = store_evaluations(store, found.results)?;
        self.count(&report);
        if wait {
            let now = Instant::now();
            self.wait(report.unmatched.into_iter().map(|r| (now, r)));
        }
        Ok(())
    }

    /// Looks the waiting results up again every [`RETRY_EVERY`] until `stopped`.
    pub(crate) async fn run(
        self: Arc<Self>,
        store: SharedStore,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(RETRY_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            if self
                .stats
                .evaluation_results
                .awaiting
                .load(Ordering::Relaxed)
                == 0
            {
                continue;
            }
            let (results, store) = (self.clone(), store.clone());
            let _ =
                tokio::task::spawn_blocking(move || results.retry(&*store, Instant::now())).await;
        }
    }

    /// One look-up of the waiting results: those found scored, those waited for [`AWAIT`]
    /// counted unmatched, the others waiting still. A store that fails keeps them waiting.
    fn retry(&self, store: &dyn Store, now: Instant) {
        let waiting: Vec<(Instant, EvaluationResult)> = self.lock().drain(..).collect();
        let since: HashMap<Key, Instant> = waiting.iter().map(|(t, r)| (key(r), *t)).collect();
        let results: Vec<EvaluationResult> = waiting.iter().map(|(_, r)| r.clone()).collect();
        match store_evaluations(store, results) {
            Ok(report) => {
                self.count(&report);
                let mut back = Vec::new();
                for result in report.unmatched {
                    let t = since.get(&key(&result)).copied().unwrap_or(now);
                    if now.duration_since(t) >= AWAIT {
                        add(&self.stats.evaluation_results.unmatched, 1);
                    } else {
                        back.push((t, result));
                    }
                }
                self.wait(back);
            }
            Err(e) => {
                tracing::debug!("evaluation results waiting for their response: {e}");
                self.wait(waiting);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Instant, EvaluationResult)>> {
        self.awaiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds results to the waiting ones, up to [`MAX_AWAITING`] (the rest counted unmatched).
    fn wait(&self, results: impl IntoIterator<Item = (Instant, EvaluationResult)>) {
        let counters = &self.stats.evaluation_results;
        let mut awaiting = self.lock();
        for result in results {
            if awaiting.len() < MAX_AWAITING {
                awaiting.push_back(result);
            } else {
                add(&counters.unmatched, 1);
            }
        }
        counters.awaiting.store(awaiting.len(), Ordering::Relaxed);
    }

    fn count(&self, report: &EvaluationReport) {
        let c = &self.stats.evaluation_results;
        add(&c.scored, report.scored.len() as u64);
        self.stats.scores.record(&report.scored);
        add(&c.failed, report.failed as u64);
        if report.invalid > 0 {
            add(&c.invalid, report.invalid as u64);
            set_error(&c.last_invalid, report.last_invalid.clone());
        }
    }
}
