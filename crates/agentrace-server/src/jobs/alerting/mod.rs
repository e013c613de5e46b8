//! Alerts in the server: the rules of the alerts file evaluated on the store every interval,
//! budget thresholds, and what follows each notification — stored (`alert_notifications`),
//! sent to the channels, published on the live feed.
//!
//! Evaluation runs on a blocking thread and reads the rollups only, so it never holds up
//! ingest; sending is the notifier's thread's job, so a dead receiver holds up nothing. After
//! a restart each alert resumes from its newest stored notification: nothing is notified
//! twice.

pub(crate) mod source;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agentrace_alerts::{
    AlertsConfig, ChannelStatus, Engine, LoadAlertsError, Notification, Notifier, Retry, Rule,
    StartError as NotifierStartError, budget_notification,
};
use agentrace_core::budget::{AlertChannel, BudgetAlert};
use agentrace_core::now_unix_nano;
use agentrace_store::AlertRecord;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::ingest::committed::{Committed, ProjectFeed};
use crate::store::{SharedOrganization, SharedStore};
use crate::telemetry::membership::Membership;
use crate::telemetry::stats::ServerStats;

/// Budget notifications waiting to be stored and sent at most.
const BUDGET_QUEUE: usize = 1_024;

/// Alerts could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertsError {
    /// The alerts file cannot be used.
    #[error(transparent)]
    Load(#[from] LoadAlertsError),
    /// A rule asks for something this server cannot measure.
    #[error("{0}")]
    Rule(String),
    /// The notifier did not start.
    #[error(transparent)]
    Notifier(#[from] NotifierStartError),
}

/// The project an alerting judges, named as it is when a report is sent (a project renamed
/// since is named anew).
#[derive(Clone)]
pub(crate) struct ProjectName {
    pub(crate) organization: SharedOrganization,
}

impl std::fmt::Debug for ProjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectName")
    }
}

impl ProjectName {
    /// The name of `feed`'s project now, if it can be read.
    fn of(&self, feed: &ProjectFeed) -> Option<String> {
        let projects = self.organization.projects().ok()?;
        projects
            .into_iter()
            .find(|p| p.id == feed.project)
            .map(|p| p.name.to_string())
    }
}

/// The server's alerts: the engine, the notifier, and where notifications go.
#[derive(Debug)]
pub struct Alerting {
    config: AlertsConfig,
    /// The rules evaluated: the file's, then its SLOs' burn-rate rules.
    rules: Vec<Rule>,
    engine: Mutex<Engine>,
    source: source::StoreSource,
    notifier: Notifier,
    store: SharedStore,
    live: ProjectFeed,
    /// Its project's name, for the report.
    name: ProjectName,
    membership: Arc<Membership>,
    /// The end of the last period reported, as this node knows it (at first, when it
    /// started: a server reports the periods that end while it runs).
    reported_until: Mutex<u64>,
    /// Whether this node led at its last evaluation: one that takes the lead over from
    /// another resumes the states the other stored before it evaluates.
    led: AtomicBool,
}

/// The budgets' alert channel: hands each threshold to the alerting task without waiting.
#[derive(Debug, Clone)]
pub(crate) struct BudgetChannel(mpsc::Sender<Notification>);

impl AlertChannel for BudgetChannel {
    fn deliver(&self, alert: &BudgetAlert) {
        if self.0.try_send(budget_notification(alert)).is_err() {
            tracing::warn!(budget = %alert.budget, "budget alert dropped: the alert queue is full");
        }
    }
}

impl Alerting {
    /// Checks the rules of `config` (an alerts file's, the demo's, or none), starts the
    /// notifier and resumes the stored states. Returns the alerting, the budgets' channel into
    /// it, and what [`run`](Self::run) reads that channel from.
    pub(crate) fn start(
        config: AlertsConfig,
        store: SharedStore,
        stats: Arc<ServerStats>,
        (live, name): (ProjectFeed, ProjectName),
        membership: Arc<Membership>,
    ) -> Result<(Arc<Self>, BudgetChannel, mpsc::Receiver<Notification>), AlertsError> {
        let rules = config.all_rules();
        for rule in &rules {
            source::check(rule).map_err(AlertsError::Rule)?;
        }
        let notifier = Notifier::start(config.channels_or_log(), Retry::default())?;
        // What no node observed (before this start) is not judged as an outage.
        let engine = Engine::new(rules.clone(), config.renotify).observing_since(now_unix_nano());
        let source = source::StoreSource::new(store.clone(), stats, config.slos.clone());
        let (tx, rx) = mpsc::channel(BUDGET_QUEUE);
        // A period that ended while no node ran is reported now; without a report sent yet,
        // the first is of the period that ends after this start.
        let reported_until = match &config.report {
            Some(_) => crate::jobs::report::schedule::last_sent(&*store)
                .ok()
                .flatten()
                .unwrap_or_else(now_unix_nano),
            None => now_unix_nano(),
        };
        let alerting = Arc::new(Self {
            rules,
            config,
            engine: Mutex::new(engine),
            source,
            notifier,
            store,
            live,
            name,
            membership,
            reported_until: Mutex::new(reported_until),
            led: AtomicBool::new(true),
        });
        alerting.resume();
        Ok((alerting, BudgetChannel(tx), rx))
    }

    /// Evaluates every interval and passes budget notifications on, until `stopped`.
    pub(crate) async fn run(
        self: Arc<Self>,
        mut budgets: mpsc::Receiver<Notification>,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let me = Arc::clone(&self);
            let work: Box<dyn FnOnce() + Send> = tokio::select! {
                _ = tick.tick() => Box::new(move || me.evaluate()),
                // Every node's budgets see the fleet's spend; the leader speaks for them.
                Some(n) = budgets.recv() => {
                    if !self.membership.is_leader() {
                        continue;
                    }
                    Box::new(move || me.publish(vec![n]))
                }
                _ = stopped.wait_for(|s| *s) => break,
            };
            if let Err(e) = tokio::task::spawn_blocking(work).await {
                tracing::error!(error = %e, "alert evaluation failed");
            }
        }
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resumes every alert's state from the stored history (at start, and when this node
    /// takes over the fleet's alerts from another).
    fn resume(&self) {
        match self.store.latest_alert_records() {
            Ok(records) => self.engine().restore(
                records
                    .iter()
                    .filter_map(|r| serde_json::from_str::<Notification>(&r.body).ok()),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "alert states could not be read back; alerts start from OK")
            }
        }
    }

    /// Evaluates the rules, if this node leads its fleet (the others stay silent); a node that
    /// has just taken the lead first resumes the states its predecessor stored.
    fn evaluate(&self) {
        if !self.membership.is_leader() {
            self.led.store(false, Ordering::Relaxed);
            self.source.forget_slo_counts();
            return;
        }
        if !self.led.swap(true, Ordering::Relaxed) {
            self.resume();
        }
        let evaluation = self.engine().evaluate(&self.source, now_unix_nano());
        for f in &evaluation.failures {
            tracing::warn!(rule = %f.rule, error = %f.message, "alert rule not evaluated");
        }
        self.publish(evaluation.notifications);
        self.notifier.firing(&evaluation.firing);
        self.report(now_unix_nano());
    }

    /// Sends the report of the period that ended, if one did since the last sent (the
    /// history decides, so that a period is sent once by the fleet).
    fn report(&self, now: u64) {
        use crate::jobs::report::schedule;
        let Some(plan) = &self.config.report else {
            return;
        };
        let mut until = self
            .reported_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(period) = schedule::due(plan.every, now, *until) else {
            return;
        };
        match schedule::last_sent(&*self.store) {
            Ok(Some(end)) if end >= period.1 => {
                *until = end;
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the report history could not be read; the report waits");
                return;
            }
        }
        let project = self
            .name
            .of(&self.live)
            .unwrap_or_else(|| self.live.project.to_string());
        match schedule::message(
            &*self.store,
            (&self.config.slos, plan),
            &project,
            period,
            now,
        ) {
            Ok(message) => {
                self.notifier.report(&message);
                if let Err(e) = self
                    .store
                    .insert_alert_records(&[schedule::record(period, now)])
                {
                    tracing::warn!(error = %e, "the report was sent but not recorded");
                }
                *until = period.1;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the report could not be gathered; it is tried again")
            }
        }
    }

    /// Stores, sends and publishes notifications.
    fn publish(&self, notifications: Vec<Notification>) {
        if notifications.is_empty() {
            return;
        }
        let records: Vec<AlertRecord> = notifications
            .iter()
            .filter_map(|n| {
                let body = serde_json::to_string(n).ok()?;
                Some(AlertRecord::new(
                    n.time_unix_nano,
                    n.alert.clone(),
                    n.rule.clone(),
                    n.state.name(),
                    n.previous.name(),
                    n.reason.name(),
                    body,
                ))
            })
            .collect();
        if let Err(e) = self.store.insert_alert_records(&records) {
            tracing::warn!(error = %e, "alert history not stored");
        }
        for n in &notifications {
            self.notifier.notify(n);
        }
        self.live.send(Committed::Alerts(notifications.into()));
    }

    /// The rules: the alerts file's, then its SLOs' burn-rate rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The service level objectives.
    pub fn slos(&self) -> &[agentrace_alerts::slo::Slo] {
        &self.config.slos
    }

    /// The settled hours of the quality and cost objectives, shared by the evaluation and
    /// the API.
    pub(crate) const fn settled_hours(&self) -> &crate::jobs::slos::SettledHours {
        self.source.settled_hours()
    }

    /// How often rules are evaluated.
    pub fn interval(&self) -> std::time::Duration {
        self.config.interval
    }

    /// Every alert's latest state, firing first.
    pub fn current(&self) -> Vec<Notification> {
        self.engine().current()
    }

    /// The channels' figures.
    pub fn channels(&self) -> Vec<ChannelStatus> {
        self.notifier.status()
    }

    /// Each SLO's good and total events over each window its burn-rate alerts last read (on
    /// the node that evaluates them): (name, window in seconds, counts).
    pub(crate) fn slo_counts(&self) -> Vec<(String, u64, agentrace_alerts::slo::Counts)> {
        self.source.slo_counts()
    }
}
