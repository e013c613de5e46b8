//! Scores from the `gen_ai.evaluation.result` events the server receives (as log records and
//! as span events), made by `agentrace_store::store_evaluations` in the writer's group, so
//! that an acknowledged result is a stored score.
//!
//! A result that names the response it judges (`gen_ai.response.id`) but no span is matched
//! with the span that gave the response. Exporters send logs and spans apart, so the span
//! often comes seconds after its evaluation: a result whose response is not stored yet waits
//! here, looked up again every [`RETRY_EVERY`] for [`AWAIT`], at most [`MAX_AWAITING`] at
//! once; past that it is counted unmatched (its event stays stored). A result waits in its
//! project and is looked up in that project's store only (a project deleted meanwhile: its
//! results are counted unmatched). What waits is in this node's memory: a restart forgets it
//! (the event is stored; its score is not made). What became of the results is counted in the
//! server's counters (`/status`, `/metrics`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_core::{Event, SpanRecord};
use agentrace_store::{
    EvaluationReport, EvaluationResult, Judged, ProjectId, Store, WriteError, evaluation_results,
    store_evaluations,
};
use tokio::sync::watch;

use crate::store::SharedOrganization;
use crate::telemetry::counters::{add, set_error};
use crate::telemetry::stats::ServerStats;

/// How long a result waits for the span that gave its response.
pub(crate) const AWAIT: Duration = Duration::from_secs(600);

/// How often the waiting results are looked up again.
pub(crate) const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Results that wait at most at once; more are counted unmatched at once.
pub(crate) const MAX_AWAITING: usize = 10_000;

/// What tells waiting results of a project apart: the evaluation's name, its time and what it
/// judges.
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

/// A result waiting since an instant, in its project.
type Waiting = (Instant, ProjectId, EvaluationResult);

/// The evaluation results of received records, and those waiting for their response's span.
#[derive(Debug)]
pub(crate) struct EvaluationResults {
    awaiting: Mutex<VecDeque<Waiting>>,
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

    /// Stores the scores of the evaluation results among a group's records of `project`, in
    /// its `store`, on the writer's thread, after the records (a failure fails the group: it
    /// is sent again). Results whose response is not stored yet wait for it.
    pub(crate) fn store(
        &self,
        project: ProjectId,
        store: &dyn Store,
        spans: &[SpanRecord],
        events: &[Event],
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
        let now = Instant::now();
        self.wait(report.unmatched.into_iter().map(|r| (now, project, r)));
        Ok(())
    }

    /// Looks the waiting results up again every [`RETRY_EVERY`], each in its project's store
    /// found in `organization`, until `stopped`.
    pub(crate) async fn run(
        self: Arc<Self>,
        organization: SharedOrganization,
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
            let (results, organization) = (self.clone(), organization.clone());
            let retry = move || {
                let now = Instant::now();
                for (project, waiting) in results.take_by_project() {
                    match organization.store(project) {
                        Ok(store) => results.retry(&*store, project, waiting, now),
                        Err(e) => {
                            tracing::debug!("evaluation results of project {project}: {e}");
                            results.keep_or_give_up(waiting, now);
                        }
                    }
                }
            };
            let _ = tokio::task::spawn_blocking(retry).await;
        }
    }

    /// Every waiting result, taken off the list, by project.
    fn take_by_project(&self) -> HashMap<ProjectId, Vec<Waiting>> {
        let mut by_project: HashMap<ProjectId, Vec<Waiting>> = HashMap::new();
        for waiting in self.lock().drain(..) {
            by_project.entry(waiting.1).or_default().push(waiting);
        }
        by_project
    }

    /// One look-up of `project`'s waiting results in its `store`: those found scored, those
    /// waited for [`AWAIT`] counted unmatched, the others waiting still. A store that fails
    /// keeps them waiting until then.
    fn retry(&self, store: &dyn Store, project: ProjectId, waiting: Vec<Waiting>, now: Instant) {
        let since: HashMap<Key, Instant> = waiting.iter().map(|(t, _, r)| (key(r), *t)).collect();
        let results: Vec<EvaluationResult> = waiting.iter().map(|(_, _, r)| r.clone()).collect();
        match store_evaluations(store, results) {
            Ok(report) => {
                self.count(&report);
                let back = report.unmatched.into_iter().map(|result| {
                    let t = since.get(&key(&result)).copied().unwrap_or(now);
                    (t, project, result)
                });
                self.keep_or_give_up(back.collect(), now);
            }
            Err(e) => {
                tracing::debug!("evaluation results waiting for their response: {e}");
                self.keep_or_give_up(waiting, now);
            }
        }
    }

    /// Puts back the results waited for less than [`AWAIT`]; the others are counted unmatched.
    fn keep_or_give_up(&self, waiting: Vec<Waiting>, now: Instant) {
        let (keep, expired): (Vec<Waiting>, Vec<Waiting>) = waiting
            .into_iter()
            .partition(|(t, _, _)| now.duration_since(*t) < AWAIT);
        add(
            &self.stats.evaluation_results.unmatched,
            expired.len() as u64,
        );
        self.wait(keep);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Waiting>> {
        self.awaiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds results to the waiting ones, up to [`MAX_AWAITING`] (the rest counted unmatched).
    fn wait(&self, results: impl IntoIterator<Item = Waiting>) {
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
