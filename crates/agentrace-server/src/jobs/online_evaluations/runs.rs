//! Re-runs: a rule run again on the spans (or traces) of a time range — past data, a changed
//! prompt — with its progress to follow. A re-run scans the range a page at a time, queues each
//! target the rule wants (waiting for room, never dropping), and is done when every queued
//! evaluation is.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_store::{SpanFilter, SpanQuery, TimeRange};
use serde::Serialize;

use super::Online;
use super::queue::Job;
use super::rules::ActiveRule;
use crate::store::SharedStore;

/// Runs remembered at most (the oldest finished ones are forgotten).
const KEPT: usize = 100;

/// Spans a scan reads a page.
const PAGE: usize = 5_000;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RunState {
    /// Reading the range and queueing.
    Scanning,
    /// Every target queued; evaluations running.
    Running,
    /// Every evaluation done.
    Done,
    /// The scan failed (the store did not answer).
    Failed,
}

/// A re-run and its progress (`GET /api/v1/evaluations/runs/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub(crate) struct RunStatus {
    /// Its id.
    pub id: u64,
    /// The rule.
    pub evaluator: String,
    /// The range of span start times.
    pub range: TimeRange,
    /// Where it is.
    pub state: RunState,
    /// Spans read.
    pub scanned: u64,
    /// Targets queued.
    pub queued: u64,
    /// Evaluations done: scored, not applicable, failed.
    pub done: u64,
    /// Scores given.
    pub scored: u64,
    /// Targets without what the evaluator reads.
    pub not_applicable: u64,
    /// Evaluation errors.
    pub failed: u64,
    /// Why the scan failed.
    pub error: Option<String>,
}

/// What came of one evaluation of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Scored,
    NotApplicable,
    Failed,
}

/// The runs of a server.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    next: AtomicU64,
    runs: Mutex<BTreeMap<u64, RunStatus>>,
}

impl Runs {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, RunStatus>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start(&self, evaluator: &str, range: TimeRange) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut runs = self.lock();
        while runs.len() >= KEPT {
            let oldest_done = runs
                .iter()
                .find(|(_, r)| matches!(r.state, RunState::Done | RunState::Failed))
                .map(|(id, _)| *id);
            match oldest_done.or_else(|| runs.keys().next().copied()) {
                Some(old) => runs.remove(&old),
                None => break,
            };
        }
        runs.insert(
            id,
            RunStatus {
                id,
                evaluator: evaluator.to_owned(),
                range,
                state: RunState::Scanning,
                scanned: 0,
                queued: 0,
                done: 0,
                scored: 0,
                not_applicable: 0,
                failed: 0,
                error: None,
            },
        );
        id
    }

    fn update(&self, id: u64, change: impl FnOnce(&mut RunStatus)) {
        if let Some(run) = self.lock().get_mut(&id) {
            change(run);
            if run.state == RunState::Running && run.done >= run.queued {
                run.state = RunState::Done;
            }
        }
    }

    /// One evaluation of run `run` (if any) is done.
    pub(crate) fn done(&self, run: Option<u64>, fate: Fate) {
        if let Some(id) = run {
            self.update(id, |r| {
                r.done += 1;
                match fate {
                    Fate::Scored => r.scored += 1,
                    Fate::NotApplicable => r.not_applicable += 1,
                    Fate::Failed => r.failed += 1,
                }
            });
        }
    }

    /// Run `id`.
    pub(crate) fn get(&self, id: u64) -> Option<RunStatus> {
        self.lock().get(&id).cloned()
    }

    /// Every run remembered, newest first.
    pub(crate) fn list(&self) -> Vec<RunStatus> {
        self.lock().values().rev().cloned().collect()
    }
}

impl Online {
    /// Starts a re-run of the rule `evaluator` on the spans started in `range`; its id.
    ///
    /// # Errors
    /// No rule has that name.
    pub(crate) fn rerun(
        self: &Arc<Self>,
        store: SharedStore,
        evaluator: &str,
        range: TimeRange,
    ) -> Result<u64, String> {
        let rule = self
            .rules
            .find(evaluator)
            .ok_or_else(|| format!("no evaluator is named {evaluator:?}"))?;
        let id = self.runs.start(evaluator, range);
        let online = self.clone();
        tokio::spawn(async move {
            let scanned = online.scan(store, rule, range, id).await;
            online.runs.update(id, |r| match scanned {
                Ok(()) => r.state = RunState::Running,
                Err(e) => {
                    r.state = RunState::Failed;
                    r.error = Some(e);
                }
            });
        });
        Ok(id)
    }

    /// Reads the spans of `range` a page at a time and queues those rule `rule` wants.
    async fn scan(
        &self,
        store: SharedStore,
        rule: Arc<ActiveRule>,
        range: TimeRange,
        run: u64,
    ) -> Result<(), String> {
        let filter = &rule.rule.spec.filter;
        let mut query = SpanQuery::new(SpanFilter {
            range,
            kind: filter.kind,
            agent: filter.agent.clone(),
            service: filter.service.clone(),
            ..SpanFilter::new()
        })
        .limit(PAGE);
        loop {
            let store = store.clone();
            let asked = query.clone();
            let page = tokio::task::spawn_blocking(move || store.spans(&asked))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let wanted: Vec<_> = page
                .spans
                .iter()
                .filter(|s| rule.rule.wants(s))
                .map(|s| (s.trace_id, s.span_id))
                .collect();
            self.runs
                .update(run, |r| r.scanned += page.spans.len() as u64);
            for (trace_id, span_id) in wanted {
                let job = Job {
                    rule: rule.clone(),
                    trace_id,
                    span_id,
                    attempt: 0,
                    run: Some(run),
                };
                // A re-run waits for room rather than dropping.
                while !self.queue_job_quietly(job.clone()) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                self.runs.update(run, |r| r.queued += 1);
            }
            match page.next_cursor {
                Some(cursor) => query = query.cursor(Some(cursor)),
                None => return Ok(()),
            }
        }
    }

    /// Queues a re-run's job now, counted queued; `false` when there is no room (not counted
    /// dropped: it is tried again).
    fn queue_job_quietly(&self, job: Job) -> bool {
        let counters = job.rule.counters.clone();
        let queued = self.queue.push(job, Instant::now());
        if queued {
            crate::telemetry::counters::add(&counters.queued, 1);
        }
        queued
    }
}
