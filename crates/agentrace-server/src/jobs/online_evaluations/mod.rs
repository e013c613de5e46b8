//! Online evaluations: the rules of the evaluators file (`agentrace_evaluators`) run on what
//! the server stores, off the ingest path.
//!
//! ```text
//! publisher (after each commit) ──notice──▶ [queue: bounded, by due time] ──▶ workers (4)
//!   each rule's filter and sample, its delay                 │ read the span / trace from the store
//!   (full: dropped, counted)                                 │ judge's budget ─▶ evaluate ─▶ retries with backoff
//!                                                            ▼
//!                        score (stored)  ·  the judge's calls as a trace (priced)  ·  a failure as an event
//! ```
//!
//! - Ingest never waits: the publisher only queues (a full queue drops and counts).
//! - A trace rule is queued when the trace's root arrives, and judged after its delay, from
//!   what the store holds then.
//! - An evaluation the judge could not give now (a timeout, a 429, a 5xx) is tried again,
//!   after 1 s, 2 s, 4 s ([`MAX_ATTEMPTS`] in all); one that failed for good (a malformed
//!   answer, a refusal, the judge's budget spent) is recorded as a `gen_ai.evaluation.result`
//!   event with its `error.type` on the target, never as a score.
//! - A score's id is made from the rule and the target: judging again (a retry, a re-run)
//!   replaces it. It is dated by the end of what it judged, so that quality lines up with
//!   the traffic. A judge's score links its trace (`metadata.judge_trace_id`).
//! - Re-runs ([`runs`]) queue a rule's targets among the spans of a time range.
//! - Rules come from the evaluators file and from the API, kept in the store for every node
//!   ([`rules`]).
//! - `/status` (`evaluators`) and `/metrics` show each rule's figures and the backlog.

mod judges;
mod queue;
pub(crate) mod rules;
pub(crate) mod runs;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentrace_core::semconv::{agentrace as agentrace_keys, gen_ai};
use agentrace_core::{
    Event, EventKind, Level, Resource, ScoreConfigs, SpanRecord, Usd, now_unix_nano,
};
use agentrace_evaluators::{EvaluateError, Evaluators, JUDGE_SERVICE, Subject, TargetKind};
use tokio::sync::watch;

use judges::JudgeBudgets;
use queue::{Job, Next, Queue};
use rules::{RuleSet, SYNC_INTERVAL};

use crate::ingest::processors::Records;
use crate::ingest::receive::Receiver;
use crate::ingest::route::Sender;
use crate::store::SharedStore;
use crate::telemetry::counters::{add, get, read_error, set_error};
use crate::telemetry::stats::{EvaluatorFigures, OnlineStats, RuleStats};

/// Attempts at one evaluation at most.
pub(crate) const MAX_ATTEMPTS: u8 = 4;

/// Evaluations run at once.
const WORKERS: usize = 4;

/// The figures of one rule.
#[derive(Debug, Default)]
pub(crate) struct RuleCounters {
    queued: AtomicU64,
    dropped: AtomicU64,
    scored: AtomicU64,
    passed: AtomicU64,
    not_applicable: AtomicU64,
    retries: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// The online evaluations of one project.
#[derive(Debug)]
pub(crate) struct Online {
    pub(crate) rules: RuleSet,
    queue: Queue,
    judges: JudgeBudgets,
    configs: Arc<ScoreConfigs>,
    judge_spend_nanos: AtomicU64,
    judge_calls: AtomicU64,
    judge_call_errors: AtomicU64,
    pub(crate) runs: runs::Runs,
}

/// What the workers need besides [`Online`].
#[derive(Clone)]
pub(crate) struct Parts {
    /// The project's store: what the rules read, where their scores go.
    pub(crate) store: SharedStore,
    pub(crate) receiver: Receiver,
    /// The project the judges' calls and the evaluation errors are sent to (`None`: the
    /// configured one, `default`).
    pub(crate) project: Option<String>,
}

impl Online {
    /// The evaluations of `evaluators`, judges priced with `prices`, scores checked against
    /// `configs`.
    ///
    /// # Errors
    /// A judge with a budget whose model has no price (its budget could not be kept).
    pub(crate) fn new(
        evaluators: Evaluators,
        prices: Arc<dyn agentrace_core::cost::PriceBook>,
        configs: Arc<ScoreConfigs>,
    ) -> Result<Self, String> {
        let judges = JudgeBudgets::new(evaluators.judges.values(), prices);
        for judge in evaluators.judges.values() {
            let spec = judge.spec();
            if spec.daily_budget_usd.is_some() && !judges.priced(&spec.provider, &spec.model) {
                return Err(format!(
                    "judge {:?}: {} has no price, so its daily budget cannot be kept (add it to a price file)",
                    spec.name, spec.model
                ));
            }
        }
        Ok(Self {
            rules: RuleSet::new(evaluators.judges, evaluators.rules),
            queue: Queue::default(),
            judges,
            configs,
            judge_spend_nanos: AtomicU64::new(0),
            judge_calls: AtomicU64::new(0),
            judge_call_errors: AtomicU64::new(0),
            runs: runs::Runs::default(),
        })
    }

    /// The judges.
    pub(crate) fn judges(&self) -> impl Iterator<Item = &agentrace_evaluators::JudgeClient> {
        self.rules.judges().values()
    }

    /// The judges' budgets (their spend is restored from the store at start).
    pub(crate) fn judge_budgets(&self) -> &agentrace_core::budget::Budgets {
        self.judges.budgets()
    }

    /// Queues what the rules want among `spans`, just committed (on the publisher's thread:
    /// it only queues).
    pub(crate) fn notice(&self, spans: &[SpanRecord]) {
        let now = Instant::now();
        let rules = self.rules.active();
        for span in spans {
            for active in rules.iter() {
                if active.rule.wants(span) {
                    let job = Job {
                        rule: active.clone(),
                        trace_id: span.trace_id,
                        span_id: span.span_id,
                        attempt: 0,
                        run: None,
                    };
                    self.queue_job(job, now + active.rule.delay());
                }
            }
        }
    }

    /// Queues `job` due at `due`; counted queued, or dropped when the queue is full.
    fn queue_job(&self, job: Job, due: Instant) -> bool {
        let c = job.rule.counters.clone();
        if self.queue.push(job, due) {
            add(&c.queued, 1);
            true
        } else {
            add(&c.dropped, 1);
            false
        }
    }

    /// Runs the workers, and reads the rules given through the API from the store every
    /// [`SYNC_INTERVAL`], until `stopped`.
    pub(crate) async fn run(self: Arc<Self>, parts: Parts, stopped: watch::Receiver<bool>) {
        let mut tasks: Vec<_> = (0..WORKERS)
            .map(|_| tokio::spawn(self.clone().work(parts.clone(), stopped.clone())))
            .collect();
        tasks.push(tokio::spawn(
            self.clone().sync_rules(parts.store.clone(), stopped),
        ));
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Reads the rules given through the API from `store` and runs them, blocking (what
    /// [`load_rules`](Self::load_rules) does off the async threads).
    ///
    /// # Errors
    /// The store could not be read.
    pub(crate) fn load_rules_now(&self, store: &dyn agentrace_store::Store) -> Result<(), String> {
        let stored = store
            .evaluator_rules()
            .map_err(|e| format!("reading the evaluator rules: {e}"))?;
        self.rules.sync(&stored);
        Ok(())
    }

    /// Reads the rules given through the API from the store and runs them
    /// ([`RuleSet::sync`]).
    ///
    /// # Errors
    /// The store could not be read (the rules run stay as they were).
    pub(crate) async fn load_rules(&self, store: &SharedStore) -> Result<(), String> {
        let store = store.clone();
        let stored = tokio::task::spawn_blocking(move || store.evaluator_rules())
            .await
            .map_err(|e| format!("reading the evaluator rules: {e}"))?
            .map_err(|e| format!("reading the evaluator rules: {e}"))?;
        self.rules.sync(&stored);
        Ok(())
    }

    async fn sync_rules(self: Arc<Self>, store: SharedStore, mut stopped: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(SYNC_INTERVAL) => {}
            }
            if let Err(e) = self.load_rules(&store).await {
                tracing::warn!("{e}; the rules run stay as they were");
            }
        }
    }

    async fn work(self: Arc<Self>, parts: Parts, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                return;
            }
            let wait = match self.queue.next(Instant::now()) {
                Next::Due(job) => {
                    self.evaluate(&parts, job).await;
                    continue;
                }
                Next::Wait(until) => until.saturating_duration_since(Instant::now()),
                Next::Empty => Duration::from_secs(3_600),
            };
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = self.queue.queued() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One evaluation: read its subject, hold a judge to its budget, evaluate, store what
    /// came of it.
    async fn evaluate(&self, parts: &Parts, job: Job) {
        let active = job.rule.clone();
        if active.is_retired() {
            // Replaced or removed since it was queued.
            self.runs.done(job.run, runs::Fate::Failed);
            return;
        }
        let (rule, c) = (&active.rule, &*active.counters);
        let subject = match self.subject(parts, rule, &job).await {
            Ok(subject) => subject,
            Err(why) => {
                self.failed(c, job.run, why);
                return;
            }
        };
        let plan = rule.evaluator.plan(&subject);
        let reservation = match (&rule.judge, &plan) {
            (Some(judge), Some(call)) => match self.judges.admit(judge, call) {
                Ok(reservation) => Some(reservation),
                Err(exceeded) => {
                    let why = format!("the judge's budget is spent: {exceeded}");
                    self.record_error(parts, rule, &subject, "judge_budget_exceeded", &why)
                        .await;
                    self.failed(c, job.run, why);
                    return;
                }
            },
            _ => None,
        };
        let outcome = rule.evaluator.evaluate(&subject).await;
        let judge_trace = match (&rule.judge, outcome.calls.is_empty()) {
            (Some(judge), false) => {
                let (spans, cost) =
                    self.judges
                        .trace(judge, &rule.spec.name, &subject, &outcome.calls);
                add(&self.judge_calls, outcome.calls.len() as u64);
                add(
                    &self.judge_call_errors,
                    outcome.calls.iter().filter(|c| c.error.is_some()).count() as u64,
                );
                self.judge_spend_nanos
                    .fetch_add(u64::try_from(cost.nanos()).unwrap_or(0), Ordering::Relaxed);
                if let Some(reservation) = reservation {
                    self.judges.settle(reservation, cost);
                }
                let trace_id = spans.first().map(|s| s.trace_id);
                if let Err(e) = parts
                    .receiver
                    .submit(
                        &Sender::server(parts.project.as_deref()),
                        Records::Spans(spans),
                    )
                    .await
                {
                    tracing::warn!(rule = %rule.spec.name, "a judge's calls were not stored: {}", e.message());
                }
                trace_id
            }
            _ => {
                if let Some(reservation) = reservation {
                    self.judges.settle(reservation, Usd::ZERO);
                }
                None
            }
        };
        match outcome.verdict {
            Ok(verdict) => {
                let made = verdict
                    .score(
                        &subject,
                        &rule.spec.name,
                        &rule.spec.name,
                        rule.evaluator.annotator(),
                        // Dated by what it judged, so that quality lines up with the traffic.
                        subject.end_unix_nano,
                    )
                    .map_err(|e| e.to_string())
                    .and_then(|mut score| {
                        if let Some(trace) = judge_trace {
                            score
                                .metadata
                                .insert("judge_trace_id".into(), trace.to_string().into());
                        }
                        self.configs.check(&score).map_err(|e| e.to_string())?;
                        Ok(score)
                    });
                let score = match made {
                    Ok(score) => score,
                    Err(why) => {
                        self.record_error(parts, rule, &subject, "invalid_score", &why)
                            .await;
                        self.failed(c, job.run, why);
                        return;
                    }
                };
                let store = parts.store.clone();
                let written = tokio::task::spawn_blocking(move || {
                    store
                        .write_scores(std::slice::from_ref(&score))
                        .map(|()| score)
                })
                .await;
                match written {
                    Ok(Ok(score)) => {
                        parts.receiver.stats.scores.record(&[score]);
                        add(&c.scored, 1);
                        if verdict.kind == agentrace_core::ScoreKind::Boolean && verdict.passed() {
                            add(&c.passed, 1);
                        }
                        self.runs.done(job.run, runs::Fate::Scored);
                    }
                    Ok(Err(e)) if e.is_retryable() => self.retry(c, job, e.to_string()),
                    Ok(Err(e)) => self.failed(c, job.run, format!("storing the score: {e}")),
                    Err(e) => self.failed(c, job.run, format!("storing the score: {e}")),
                }
            }
            Err(EvaluateError::NotApplicable(_)) => {
                add(&c.not_applicable, 1);
                self.runs.done(job.run, runs::Fate::NotApplicable);
            }
            Err(e) if e.is_retryable() && job.attempt + 1 < MAX_ATTEMPTS => {
                self.retry(c, job, e.to_string());
            }
            Err(e) => {
                self.record_error(parts, rule, &subject, e.error_type(), &e.to_string())
                    .await;
                self.failed(c, job.run, e.to_string());
            }
        }
    }

    /// The subject of `job`, read from the store.
    async fn subject(
        &self,
        parts: &Parts,
        rule: &agentrace_evaluators::Rule,
        job: &Job,
    ) -> Result<Subject, String> {
        let store = parts.store.clone();
        let (trace, span, target) = (job.trace_id, job.span_id, rule.spec.target);
        let read = tokio::task::spawn_blocking(move || match target {
            TargetKind::Span => store
                .span(trace, span)
                .map(|s| s.map(|s| Subject::of_span(&s))),
            TargetKind::Trace => store.trace(trace).map(|tree| {
                tree.and_then(|tree| {
                    let spans: Vec<SpanRecord> = tree.nodes.into_iter().map(|n| n.span).collect();
                    Subject::of_trace(&spans)
                })
            }),
        })
        .await
        .map_err(|e| format!("reading the target: {e}"))?;
        match read {
            Ok(Some(subject)) => Ok(subject),
            Ok(None) => Err(format!(
                "{} {trace} is no longer stored",
                match target {
                    TargetKind::Span => "the span of trace",
                    TargetKind::Trace => "trace",
                }
            )),
            Err(e) => Err(format!("reading the target: {e}")),
        }
    }

    /// Queues `job` again after its backoff (1 s, 2 s, 4 s).
    fn retry(&self, c: &RuleCounters, mut job: Job, why: String) {
        add(&c.retries, 1);
        set_error(&c.last_error, Some(why.clone()));
        let backoff = Duration::from_secs(1 << job.attempt.min(6));
        job.attempt += 1;
        let run = job.run;
        if !self.queue.push(job, Instant::now() + backoff) {
            self.failed(c, run, format!("{why}; no room to try again"));
        }
    }

    /// An evaluation (of the re-run `run`, if any) that failed for good.
    fn failed(&self, c: &RuleCounters, run: Option<u64>, why: String) {
        add(&c.errors, 1);
        set_error(&c.last_error, Some(why));
        self.runs.done(run, runs::Fate::Failed);
    }

    /// Stores an evaluation error as a `gen_ai.evaluation.result` event on its target, with
    /// its `error.type`: seen in the events, counted by the evaluation results.
    async fn record_error(
        &self,
        parts: &Parts,
        rule: &agentrace_evaluators::Rule,
        subject: &Subject,
        error_type: &str,
        why: &str,
    ) {
        let mut event = Event::new(
            now_unix_nano(),
            Level::Warning,
            EventKind::from_name(gen_ai::EVALUATION_RESULT),
            why.chars().take(2_000).collect::<String>(),
            Arc::new(Resource::new(JUDGE_SERVICE)),
        );
        match &subject.target {
            agentrace_core::ScoreTarget::Span { span_id, trace_id } => {
                event.trace_id = *trace_id;
                event.span_id = Some(*span_id);
            }
            agentrace_core::ScoreTarget::Trace(trace) => event.trace_id = Some(*trace),
            agentrace_core::ScoreTarget::Session(session) => {
                event.session_id = Some(session.as_str().into());
            }
        }
        event.scope = Some("agentrace.evaluators".into());
        event
            .attributes
            .insert(gen_ai::EVALUATION_NAME, rule.spec.name.as_str());
        event.attributes.insert(gen_ai::ERROR_TYPE, error_type);
        event
            .attributes
            .insert(agentrace_keys::EVALUATION_RULE, rule.spec.name.as_str());
        if let Err(e) = parts
            .receiver
            .submit(
                &Sender::server(parts.project.as_deref()),
                Records::Events(vec![event]),
            )
            .await
        {
            tracing::warn!(rule = %rule.spec.name, "an evaluation error was not stored: {}", e.message());
        }
    }

    /// The figures now.
    pub(crate) fn stats(&self) -> OnlineStats {
        OnlineStats {
            backlog: self.queue.len(),
            capacity: queue::CAPACITY,
            rules: self
                .rules
                .active()
                .iter()
                .map(|active| (active, &*active.counters))
                .map(|(active, c)| RuleStats {
                    name: active.name().to_owned(),
                    origin: match active.origin {
                        rules::Origin::File => "file",
                        rules::Origin::Api { .. } => "api",
                    },
                    queued: get(&c.queued),
                    dropped: get(&c.dropped),
                    scored: get(&c.scored),
                    passed: get(&c.passed),
                    not_applicable: get(&c.not_applicable),
                    retries: get(&c.retries),
                    errors: get(&c.errors),
                    last_error: read_error(&c.last_error),
                })
                .collect(),
            judge_spend: Usd::from_nanos(
                i64::try_from(get(&self.judge_spend_nanos)).unwrap_or(i64::MAX),
            ),
            judge_calls: get(&self.judge_calls),
            judge_call_errors: get(&self.judge_call_errors),
            not_loaded: self.rules.not_loaded(),
        }
    }
}

impl EvaluatorFigures for Online {
    fn figures(&self) -> OnlineStats {
        self.stats()
    }
}
