//! Each project's settings in force on this node ([`ProjectRuntimes`]): read from the store
//! (`/api/v1/settings/{kind}`, the provisioning folder), over the server's configuration, and
//! built into what the walk and the jobs use — the project's processors (its masking, its
//! prices, its budgets), its budgets with their spend, its retention.
//!
//! - **Over the server's configuration.** A project without a setting of a kind runs on the
//!   server's: its price files, its retention, its masking. Budgets are a project's own; the
//!   budgets file (or the demo's) is the configured project's, and while it is configured that
//!   project's `budgets` setting is refused ([`ProjectRuntimes::provided_by_file`]).
//! - **Every node in step.** Every [`POLL`] a node reads the settings' versions (one small
//!   read) and the projects, and rebuilds each project whose settings changed; the node that
//!   wrote a setting rebuilds that project at once. So a change is in force on its node when
//!   its request is answered, and on every node of a fleet within [`POLL`] and a store round
//!   trip. A setting a node cannot read (written by a newer build) is reported in the log and
//!   the kind falls back to the server's.
//! - **Spend kept.** Budgets whose definition a change keeps keep their accounts; changed and
//!   new ones have their spend rebuilt from the project's store (as the budgets file's reload,
//!   `Budgets::reload`).
//! - **Evaluations of its own.** A project with an `evaluators` setting runs online
//!   evaluations of its own ([`Online`]): its rules judge its spans only, read from its store;
//!   its judges' calls and its scores are stored in it; its judges' budgets are its own. The
//!   configured project runs the evaluators file's (the demo's) unless it is given a setting.
//!   A project's scores are checked against its `scores` setting (the configured project: the
//!   score configurations file).
//! - **Alerting of its own.** A project with an `alerts` setting (the configured project: its
//!   alerts file, the demo's, or none) or with budgets runs an alerting of its own
//!   ([`Alerting`]): its rules read its store only, its budgets' thresholds go to it, its
//!   notifications are stored in its history and published on its live feed. A change of
//!   its alerts starts a new one (resuming every alert's state from the history) and stops
//!   the old; a project without either runs none (no thread, no timer).
//! - **Forwarding of its own.** A project with a `forwarding` setting sends its records, as
//!   stored, to its endpoint through a pipeline of its own ([`RunningForwarder`]): a slow or
//!   down endpoint drops and counts (the project's `/status`), never holding the walk or
//!   another project's forwarding. The configured project forwards through the server's
//!   `forward` when one is configured (it wins over the setting).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use agentrace_alerts::AlertsConfig;
use agentrace_core::budget::{AlertChannel, Budget, BudgetAlert, Budgets};
use agentrace_core::cost::{LayeredPriceBook, PriceBook};
use agentrace_core::redact::Redactor;
use agentrace_core::{
    Measurement, Pipeline, PipelineStats, ProcessorChain, Processors, ScoreConfigs,
};
use agentrace_evaluators::{Evaluators, EvaluatorsConfig};
use agentrace_otlp::OtlpSink;
use agentrace_prometheus::PrometheusSink;
use agentrace_store::{ProjectError, ProjectId, SettingVersion};
use tokio::sync::{broadcast, watch};

use crate::config::project::{Capture, Setting, SettingKind, judge_env};
use crate::config::{Forward, OutboundHosts, Retention, ServerConfig};
use crate::ingest::committed::{ProjectFeed, Published};
use crate::ingest::processors::ProjectChains;
use crate::ingest::receive::Receiver;
use crate::jobs::alerting::{Alerting, BudgetChannel, ProjectName};
use crate::jobs::online_evaluations::{Online, Parts};
use crate::store::SharedOrganization;
use crate::telemetry::membership::Membership;
use crate::telemetry::stats::{RedactionSnapshot, ServerStats};

/// How often a node reads the settings' versions: the longest a change made on another node
/// goes unseen here (and a project created there runs on the server's settings here).
pub(crate) const POLL: Duration = Duration::from_secs(5);

/// What the server's configuration gives every project that sets nothing of its own.
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings {
    /// The price files over the built-in table.
    pub(crate) prices: Arc<dyn PriceBook>,
    /// Retention.
    pub(crate) retention: Retention,
    /// Masking.
    pub(crate) capture: Capture,
    /// The redactor `capture` asks for (the one `/status` counts).
    pub(crate) redactor: Option<Arc<Redactor>>,
    /// Whether the server forwards (`forward`): the configured project's records, then.
    pub(crate) forwards: bool,
    /// Where a project's settings may send: a stored setting sending elsewhere is not applied.
    pub(crate) outbound: OutboundHosts,
}

/// The configured project's own: what the configuration's files (or the demo) give it. A
/// file wins over the project's setting of its kind; the demo's give way to one.
#[derive(Debug, Clone)]
pub(crate) struct ConfiguredProject {
    pub(crate) id: ProjectId,
    /// The budgets of the budgets file (or the demo's), if any, notifying through
    /// `budget_alerts` (their spend read back when the server started).
    pub(crate) budgets: Option<Arc<Budgets>>,
    /// Where the configured project's budgets notify: its alerting of the moment.
    pub(crate) budget_alerts: Arc<BudgetAlerts>,
    /// The budgets file, if one is configured.
    pub(crate) budgets_file: Option<PathBuf>,
    /// The rules of the alerts file (or the demo's), if any.
    pub(crate) alerts: Option<AlertsConfig>,
    /// The alerts file, if one is configured.
    pub(crate) alerts_file: Option<PathBuf>,
    /// Its online evaluations: the evaluators file's rules (the demo's), and those given
    /// through the API (run by the server's start, not by the runtimes).
    pub(crate) online: Option<Arc<Online>>,
    /// The evaluators file, if one is configured.
    pub(crate) evaluators_file: Option<PathBuf>,
    /// The score configurations file's.
    pub(crate) score_configs: Arc<ScoreConfigs>,
    /// The score configurations file, if one is configured.
    pub(crate) scores_file: Option<PathBuf>,
}

impl ConfiguredProject {
    /// The project `id`, given nothing by files.
    pub(crate) fn of(id: ProjectId) -> Self {
        Self {
            id,
            budgets: None,
            budget_alerts: Arc::default(),
            budgets_file: None,
            alerts: None,
            alerts_file: None,
            online: None,
            evaluators_file: None,
            score_configs: Arc::default(),
            scores_file: None,
        }
    }
}

/// What every project's alerting shares with the server.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) stats: Arc<ServerStats>,
    pub(crate) live: broadcast::Sender<Published>,
    pub(crate) membership: Arc<Membership>,
    /// Stops every project's alerting and evaluations with the server.
    pub(crate) stopped: watch::Receiver<bool>,
    /// The receiver the judges' calls are sent through, once the server made it: a
    /// project's evaluations start working then.
    pub(crate) receiver: Arc<OnceLock<Receiver>>,
}

/// Where a project's budgets notify their thresholds: its alerting of the moment (a budget
/// keeps its channel while the alerting behind it is replaced).
#[derive(Debug, Default)]
pub(crate) struct BudgetAlerts(RwLock<Option<BudgetChannel>>);

impl AlertChannel for BudgetAlerts {
    fn deliver(&self, alert: &BudgetAlert) {
        if let Some(channel) = &*self.0.read().unwrap_or_else(PoisonError::into_inner) {
            channel.deliver(alert);
        }
    }
}

/// A project's alerting, running until the last runtime holding it is dropped.
#[derive(Debug)]
struct RunningAlerting {
    alerting: Arc<Alerting>,
    config: AlertsConfig,
    stop: watch::Sender<bool>,
}

impl Drop for RunningAlerting {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A project's online evaluations, working (once the server's receiver is made) until the
/// last runtime holding them is dropped.
#[derive(Debug)]
struct RunningOnline {
    online: Arc<Online>,
    /// What they were made of: the setting (`None`: the configured project's own, run by the
    /// server's start) and the project's prices and score configurations.
    made_of: Option<(EvaluatorsConfig, Arc<ScoreConfigs>)>,
    stop: watch::Sender<bool>,
    working: std::sync::Once,
}

impl Drop for RunningOnline {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A project's forwarder: its records to its endpoint through a pipeline of their own, until
/// the last runtime holding it is dropped.
#[derive(Debug)]
struct RunningForwarder {
    forward: Forward,
    pipeline: Pipeline,
}

impl Drop for RunningForwarder {
    /// Shuts its pipeline down on a thread of its own: flushing to a slow or down endpoint
    /// waits up to the pipeline's shutdown timeout, and the last runtime holding it may be
    /// dropped by a request's task.
    fn drop(&mut self) {
        let pipeline = self.pipeline.clone();
        let spawned = std::thread::Builder::new()
            .name("agentrace-forward-stop".into())
            .spawn(move || {
                let _ = pipeline.shutdown();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "a project's old forwarder could not be stopped");
        }
    }
}

/// One project's settings in force, built.
#[derive(Debug)]
pub(crate) struct ProjectRuntime {
    /// The version of each setting it was built from.
    versions: BTreeMap<SettingKind, u64>,
    /// Its prices: its own over the server's.
    pub(crate) prices: Arc<dyn PriceBook>,
    /// Its budgets, if it has any.
    pub(crate) budgets: Option<Arc<Budgets>>,
    /// Its retention.
    pub(crate) retention: Retention,
    /// The processors its records run through.
    pub(crate) processors: Processors,
    /// Its alerting, if it runs one.
    alerting: Option<Arc<RunningAlerting>>,
    /// Its online evaluations, if it runs them.
    online: Option<Arc<RunningOnline>>,
    /// What its scores of each configured name must fit.
    pub(crate) score_configs: Arc<ScoreConfigs>,
    /// Where its budgets notify.
    budget_alerts: Arc<BudgetAlerts>,
    /// Its forwarder, if it forwards (but the configured project through the server's).
    forwarder: Option<Arc<RunningForwarder>>,
    /// Its own redaction, when its `capture` setting differs from the server's.
    own_redaction: Option<OwnRedaction>,
}

/// A project's own redactor, and the capture it was made for (kept while that stays).
#[derive(Debug, Clone)]
struct OwnRedaction {
    capture: Capture,
    redactor: Arc<Redactor>,
}

impl ProjectRuntime {
    /// What its own redaction masked and removed; `None` when it masks as the server does
    /// (the server's counts, the organization's to see).
    pub(crate) fn redaction(&self) -> Option<RedactionSnapshot> {
        self.own_redaction
            .as_ref()
            .map(|own| RedactionSnapshot::of(&own.redactor))
    }

    /// Its forwarder's counters: what was sent, dropped and failed.
    pub(crate) fn forwarding(&self) -> Option<PipelineStats> {
        self.forwarder.as_ref().map(|f| f.pipeline.stats())
    }

    /// Its alerting: rules, SLOs, channels, the alerts' states.
    pub(crate) fn alerting(&self) -> Option<&Arc<Alerting>> {
        self.alerting.as_ref().map(|r| &r.alerting)
    }

    /// Its online evaluations.
    pub(crate) fn online(&self) -> Option<&Arc<Online>> {
        self.online.as_ref().map(|r| &r.online)
    }
}

/// Every project's settings in force on this node (see the module's documentation).
#[derive(Debug)]
pub(crate) struct ProjectRuntimes {
    organization: SharedOrganization,
    server: ServerSettings,
    configured: ConfiguredProject,
    shared: Shared,
    runtimes: RwLock<HashMap<ProjectId, Arc<ProjectRuntime>>>,
    /// What a project not read yet runs on: the server's settings.
    fallback: Arc<ProjectRuntime>,
    /// The metrics of each project but the configured one (whose go to the server's
    /// pipeline), made at its first: what its `/metrics` shows.
    metrics: std::sync::Mutex<HashMap<ProjectId, PrometheusSink>>,
}

impl ProjectRuntimes {
    /// Every project on the server's settings until [`refresh`](Self::refresh) reads theirs.
    pub(crate) fn new(
        organization: SharedOrganization,
        config: &ServerConfig,
        (prices, redactor): (Arc<dyn PriceBook>, Option<Arc<Redactor>>),
        configured: ConfiguredProject,
        shared: Shared,
    ) -> Self {
        let server = ServerSettings {
            prices,
            retention: config.retention.clone(),
            capture: Capture::of(config),
            redactor,
            forwards: config.forward.is_some(),
            // Checked with the configuration.
            outbound: OutboundHosts::new(&config.outbound_hosts).unwrap_or_default(),
        };
        let fallback = Arc::new(ProjectRuntime {
            versions: BTreeMap::new(),
            prices: server.prices.clone(),
            budgets: None,
            retention: server.retention.clone(),
            processors: Processors::new(
                ProcessorChain::new()
                    .masking(server.redactor.clone())
                    .pricing(Some(server.prices.clone()))
                    .metrics(true)
                    .build(),
            ),
            alerting: None,
            online: None,
            score_configs: Arc::default(),
            budget_alerts: Arc::default(),
            forwarder: None,
            own_redaction: None,
        });
        Self {
            organization,
            server,
            configured,
            shared,
            runtimes: RwLock::new(HashMap::new()),
            fallback,
            metrics: std::sync::Mutex::default(),
        }
    }

    /// The metrics of `project` (not the configured one), if it has any yet.
    pub(crate) fn metrics_of(&self, project: ProjectId) -> Option<PrometheusSink> {
        self.metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project)
            .cloned()
    }

    /// The settings in force for `project` (the server's, for a project created since the
    /// last refresh).
    pub(crate) fn of(&self, project: ProjectId) -> Arc<ProjectRuntime> {
        self.runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project)
            .unwrap_or(&self.fallback)
            .clone()
    }

    /// The projects read at the last refresh.
    pub(crate) fn projects(&self) -> Vec<ProjectId> {
        self.runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect()
    }

    /// The configuration file that gives `project` its setting of `kind`, if one does (the
    /// API refuses to change it).
    pub(crate) fn provided_by_file(
        &self,
        project: ProjectId,
        kind: SettingKind,
    ) -> Option<PathBuf> {
        if project != self.configured.id {
            return None;
        }
        match kind {
            SettingKind::Budgets => self.configured.budgets_file.clone(),
            SettingKind::Alerts => self.configured.alerts_file.clone(),
            SettingKind::Evaluators => self.configured.evaluators_file.clone(),
            SettingKind::Scores => self.configured.scores_file.clone(),
            _ => None,
        }
    }

    /// Reads the versions of every project's settings and rebuilds the projects whose
    /// settings changed (and those new to this node); forgets deleted ones. Blocks.
    ///
    /// # Errors
    /// The store could not be read: the settings in force stay.
    pub(crate) fn refresh(&self) -> Result<(), ProjectError> {
        let projects = self.organization.projects()?;
        let versions = self.organization.setting_versions()?;
        let mut by_project: HashMap<ProjectId, Vec<SettingVersion>> = HashMap::new();
        for v in versions {
            by_project.entry(v.project).or_default().push(v);
        }
        let live: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
        for project in &live {
            let wanted = by_project.remove(project).unwrap_or_default();
            self.refresh_if_changed(*project, &wanted)?;
        }
        self.runtimes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p, _| live.contains(p));
        self.metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p, _| live.contains(p));
        Ok(())
    }

    /// Rebuilds `project` from the store now (after this node changed one of its settings).
    /// Blocks.
    ///
    /// # Errors
    /// The store could not be read.
    pub(crate) fn refresh_project(&self, project: ProjectId) -> Result<(), ProjectError> {
        let versions: Vec<SettingVersion> = self
            .organization
            .setting_versions()?
            .into_iter()
            .filter(|v| v.project == project)
            .collect();
        self.refresh_if_changed(project, &versions)
    }

    fn refresh_if_changed(
        &self,
        project: ProjectId,
        versions: &[SettingVersion],
    ) -> Result<(), ProjectError> {
        let wanted: BTreeMap<SettingKind, u64> = versions
            .iter()
            .filter_map(|v| SettingKind::parse(&v.kind).map(|k| (k, v.revision)))
            .collect();
        let previous = self
            .runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project)
            .cloned();
        if previous.as_ref().is_some_and(|p| p.versions == wanted) {
            return Ok(());
        }
        let mut settings = BTreeMap::new();
        for kind in wanted.keys() {
            if let Some(stored) = self.organization.setting(project, kind.as_str())? {
                let read = Setting::read_text(*kind, &stored.document)
                    .and_then(|s| self.server.outbound.admit(&s).map(|()| s));
                match read {
                    Ok(setting) => {
                        settings.insert(*kind, setting);
                    }
                    Err(e) => tracing::warn!(
                        %project, %kind, error = %e,
                        "a stored setting cannot be read; the server's applies"
                    ),
                }
            }
        }
        let mut runtime = self.build(project, &settings, previous.as_deref());
        runtime.versions = wanted;
        self.runtimes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(project, Arc::new(runtime));
        Ok(())
    }

    /// `project`'s runtime from `settings` over the server's, keeping `previous`'s budgets
    /// (and their spend) where they stay. Blocks when budgets' spend is rebuilt.
    fn build(
        &self,
        project: ProjectId,
        settings: &BTreeMap<SettingKind, Setting>,
        previous: Option<&ProjectRuntime>,
    ) -> ProjectRuntime {
        let server = &self.server;
        let mut prices = server.prices.clone();
        let mut retention = server.retention.clone();
        let mut capture = server.capture;
        let mut listed_budgets = None;
        let mut listed_alerts = None;
        let mut listed_evaluators = None;
        let mut listed_scores = None;
        let mut listed_forward = None;
        for setting in settings.values() {
            match setting {
                Setting::Prices(table) => {
                    let table: Arc<dyn PriceBook> = table.clone();
                    prices = Arc::new(
                        LayeredPriceBook::new()
                            .with(table)
                            .with(server.prices.clone()),
                    );
                }
                Setting::Retention(r) => retention = r.over(&server.retention),
                Setting::Capture(c) => capture = c.over(server.capture),
                Setting::Budgets(list) => listed_budgets = Some(list.clone()),
                Setting::Alerts(config) => listed_alerts = Some((**config).clone()),
                Setting::Evaluators(config) => listed_evaluators = Some((**config).clone()),
                Setting::Scores(configs) => listed_scores = Some(configs.clone()),
                Setting::Forwarding(forward) => listed_forward = Some(forward.clone()),
            }
        }
        // A project's own redactor is kept while its capture stays: its counts go on.
        let kept = previous
            .and_then(|p| p.own_redaction.clone())
            .filter(|own| own.capture == capture);
        let (redactor, own_redaction) = if capture == server.capture {
            (server.redactor.clone(), None)
        } else if let Some(kept) = kept {
            (Some(kept.redactor.clone()), Some(kept))
        } else {
            match capture.redactor() {
                Ok(redactor) => (
                    redactor.clone(),
                    redactor.map(|redactor| OwnRedaction { capture, redactor }),
                ),
                Err(e) => {
                    tracing::warn!(%project, error = %e, "a project's redaction rules do not compile; the server's apply");
                    (server.redactor.clone(), None)
                }
            }
        };
        let budget_alerts = if project == self.configured.id {
            self.configured.budget_alerts.clone()
        } else {
            previous.map_or_else(Arc::default, |p| p.budget_alerts.clone())
        };
        let budgets = self.budgets(project, listed_budgets, previous, &budget_alerts);
        let alerting = self.alerting(
            project,
            listed_alerts,
            budgets.is_some(),
            previous,
            &budget_alerts,
        );
        let configured = project == self.configured.id;
        let score_configs = match listed_scores {
            Some(configs) if !(configured && self.configured.scores_file.is_some()) => configs,
            _ if configured => self.configured.score_configs.clone(),
            _ => Arc::default(),
        };
        let online = self.online(
            project,
            listed_evaluators,
            (&prices, &score_configs),
            previous,
        );
        let processors = Processors::new(
            ProcessorChain::new()
                .masking(redactor)
                .pricing(Some(prices.clone()))
                .budgets(budgets.clone())
                .metrics(true)
                .build(),
        );
        ProjectRuntime {
            versions: BTreeMap::new(),
            prices,
            budgets,
            retention,
            processors,
            alerting,
            online,
            score_configs,
            budget_alerts,
            forwarder: self.forwarder(project, listed_forward, previous),
            own_redaction,
        }
    }

    /// `project`'s forwarder: `previous`'s while its setting stays, else a new one; none
    /// without a setting, or for the configured project when the server forwards.
    fn forwarder(
        &self,
        project: ProjectId,
        listed: Option<Forward>,
        previous: Option<&ProjectRuntime>,
    ) -> Option<Arc<RunningForwarder>> {
        let forward =
            listed.filter(|_| !(project == self.configured.id && self.server.forwards))?;
        if let Some(kept) = previous
            .and_then(|p| p.forwarder.clone())
            .filter(|f| f.forward == forward)
        {
            return Some(kept);
        }
        let built = OtlpSink::builder()
            .with_protocol(forward.protocol)
            .with_endpoint(&forward.endpoint)
            .with_name("forward")
            .build()
            .map_err(|e| e.to_string())
            .and_then(|sink| {
                Pipeline::builder()
                    .with_sink(sink)
                    .build()
                    .map_err(|e| e.to_string())
            });
        match built {
            Ok(pipeline) => Some(Arc::new(RunningForwarder { forward, pipeline })),
            Err(e) => {
                tracing::warn!(%project, error = %e, "a project's forwarding did not start");
                None
            }
        }
    }

    /// `project`'s online evaluations: the configured project's own unless a setting replaces
    /// them (an evaluators file is never replaced), else those of its setting — `previous`'s
    /// while the setting, prices and score configurations stay, else new ones with their
    /// judges' spend and API rules read from the store — else none. Blocks.
    fn online(
        &self,
        project: ProjectId,
        listed: Option<EvaluatorsConfig>,
        (prices, configs): (&Arc<dyn PriceBook>, &Arc<ScoreConfigs>),
        previous: Option<&ProjectRuntime>,
    ) -> Option<Arc<RunningOnline>> {
        let configured = project == self.configured.id;
        let previous = previous.and_then(|p| p.online.clone());
        let config = match listed {
            Some(config) if !(configured && self.configured.evaluators_file.is_some()) => config,
            _ if configured => {
                let online = self.configured.online.clone()?;
                if let Some(kept) = previous.filter(|p| p.made_of.is_none()) {
                    return Some(kept);
                }
                return Some(Arc::new(RunningOnline {
                    online,
                    made_of: None,
                    stop: watch::channel(false).0,
                    working: std::sync::Once::new(),
                }));
            }
            _ => return None,
        };
        let made_of = (config.clone(), configs.clone());
        if let Some(kept) = previous.filter(|p| p.made_of.as_ref() == Some(&made_of)) {
            return Some(kept);
        }
        let built = Evaluators::new(config, &judge_env)
            .and_then(|evaluators| Online::new(evaluators, prices.clone(), configs.clone()));
        let online = match built {
            Ok(online) => Arc::new(online),
            Err(e) => {
                tracing::warn!(%project, error = %e, "a project's online evaluations did not start");
                return None;
            }
        };
        match self.organization.store(project) {
            Ok(store) => {
                if let Err(e) = agentrace_store::restore_budgets(&*store, online.judge_budgets()) {
                    tracing::warn!(%project, error = %e, "a project's judges' spend could not be read back");
                }
                if let Err(e) = online.load_rules_now(&*store) {
                    tracing::warn!(%project, error = %e, "a project's evaluator rules could not be read");
                }
            }
            Err(e) => tracing::warn!(%project, error = %e, "a project's store could not be opened"),
        }
        let running = Arc::new(RunningOnline {
            online,
            made_of: Some(made_of),
            stop: watch::channel(false).0,
            working: std::sync::Once::new(),
        });
        self.set_working(project, &running);
        Some(running)
    }

    /// Starts the workers of `running` (a project's own evaluations), once, when the
    /// server's receiver is made.
    fn set_working(&self, project: ProjectId, running: &RunningOnline) {
        let Some(receiver) = self.shared.receiver.get() else {
            return;
        };
        if running.made_of.is_none() {
            return;
        }
        let store = match self.organization.store(project) {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(%project, error = %e, "a project's evaluations cannot work: its store is not open");
                return;
            }
        };
        let name = self
            .organization
            .projects()
            .ok()
            .and_then(|all| all.into_iter().find(|p| p.id == project))
            .map(|p| p.name.to_string());
        running.working.call_once(|| {
            let parts = Parts {
                store,
                receiver: receiver.clone(),
                project: name,
            };
            let mut server = self.shared.stopped.clone();
            let work = running.online.clone().run(parts, running.stop.subscribe());
            tokio::spawn(async move {
                tokio::select! {
                    () = work => {}
                    _ = server.wait_for(|s| *s) => {}
                }
            });
        });
    }

    /// Sets every project's evaluations working through `receiver`, now that the server made
    /// it. Blocks.
    pub(crate) fn work_through(&self, receiver: Receiver) {
        let _ = self.shared.receiver.set(receiver);
        let running: Vec<(ProjectId, Arc<ProjectRuntime>)> = self
            .runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(p, r)| (*p, r.clone()))
            .collect();
        for (project, runtime) in running {
            if let Some(online) = &runtime.online {
                self.set_working(project, online);
            }
        }
    }

    /// The alerts `project` runs on: the configured project's file, else its setting, else
    /// the configured project's demo rules or none, else none at all unless it has budgets
    /// (whose thresholds are then notified to the log and stored).
    fn alerts_config(
        &self,
        project: ProjectId,
        listed: Option<AlertsConfig>,
        has_budgets: bool,
    ) -> Option<AlertsConfig> {
        let configured = project == self.configured.id;
        if configured && self.configured.alerts_file.is_some() {
            return self.configured.alerts.clone();
        }
        listed
            .or_else(|| configured.then(|| self.configured.alerts.clone().unwrap_or_default()))
            .or_else(|| has_budgets.then(AlertsConfig::default))
    }

    /// `project`'s alerting: `previous`'s while its alerts stay the same, else a new one
    /// (its budgets' notifications pointed at it), else none.
    fn alerting(
        &self,
        project: ProjectId,
        listed: Option<AlertsConfig>,
        has_budgets: bool,
        previous: Option<&ProjectRuntime>,
        budget_alerts: &BudgetAlerts,
    ) -> Option<Arc<RunningAlerting>> {
        let config = self.alerts_config(project, listed, has_budgets);
        let previous = previous.and_then(|p| p.alerting.clone());
        match (config, previous) {
            (None, _) => {
                *budget_alerts
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                None
            }
            (Some(config), Some(previous)) if previous.config == config => Some(previous),
            (Some(config), _) => {
                let started = self
                    .organization
                    .store(project)
                    .map_err(|e| e.to_string())
                    .and_then(|store| {
                        Alerting::start(
                            config.clone(),
                            store,
                            self.shared.stats.clone(),
                            (
                                ProjectFeed {
                                    project,
                                    live: self.shared.live.clone(),
                                },
                                ProjectName {
                                    organization: self.organization.clone(),
                                },
                            ),
                            self.shared.membership.clone(),
                        )
                        .map_err(|e| e.to_string())
                    });
                let (alerting, channel, notifications) = match started {
                    Ok(started) => started,
                    Err(e) => {
                        tracing::warn!(%project, error = %e, "a project's alerting did not start");
                        return None;
                    }
                };
                *budget_alerts
                    .0
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(channel);
                let (stop, stopped) = watch::channel(false);
                let mut server = self.shared.stopped.clone();
                let run = alerting.clone().run(notifications, stopped);
                tokio::spawn(async move {
                    tokio::select! {
                        () = run => {}
                        _ = server.wait_for(|s| *s) => {}
                    }
                });
                Some(Arc::new(RunningAlerting {
                    alerting,
                    config,
                    stop,
                }))
            }
        }
    }

    /// `project`'s budgets: the configured project's from its file (the demo's give way to a
    /// setting), else those `listed`: the previous ones kept or reloaded, or new ones with
    /// their spend read from the store, notifying through `alerts`. Blocks.
    fn budgets(
        &self,
        project: ProjectId,
        listed: Option<Vec<Budget>>,
        previous: Option<&ProjectRuntime>,
        alerts: &Arc<BudgetAlerts>,
    ) -> Option<Arc<Budgets>> {
        let configured = project == self.configured.id;
        let from_configuration = configured
            && (self.configured.budgets_file.is_some() || listed.is_none())
            && self.configured.budgets.is_some();
        if from_configuration {
            // The budgets file's reload changes them in place (`budget_reload`).
            return self.configured.budgets.clone();
        }
        let list = listed?;
        let budgets = match previous.and_then(|p| p.budgets.clone()) {
            Some(budgets) if budgets.budgets() == list => return Some(budgets),
            Some(budgets) => {
                budgets.reload(list);
                Self::restore(project, &*self.organization, &budgets);
                return Some(budgets);
            }
            None => Budgets::new(list),
        };
        let alerts: Arc<dyn AlertChannel> = alerts.clone();
        let budgets = Arc::new(budgets.with_alert_channel(alerts));
        Self::restore(project, &*self.organization, &budgets);
        Some(budgets)
    }

    /// Reads the spend of `budgets` back from `project`'s store.
    fn restore(
        project: ProjectId,
        organization: &dyn agentrace_store::Organization,
        budgets: &Budgets,
    ) {
        let restored = organization
            .store(project)
            .map_err(|e| e.to_string())
            .and_then(|store| {
                agentrace_store::restore_budgets(&*store, budgets).map_err(|e| e.to_string())
            });
        if let Err(e) = restored {
            tracing::warn!(%project, error = %e, "a project's budget spend could not be read back; it counts from now");
        }
    }

    /// Refreshes every [`POLL`] until `stopped`.
    pub(crate) async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.refresh()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the projects' settings could not be read; those in force stay")
                }
                Err(e) => tracing::error!(error = %e, "reading the projects' settings failed"),
            }
        }
    }
}

impl ProjectChains for ProjectRuntimes {
    fn processors(&self, project: ProjectId) -> Processors {
        self.of(project).processors.clone()
    }

    fn budgets(&self, project: ProjectId) -> Option<Arc<Budgets>> {
        self.of(project).budgets.clone()
    }

    fn committed(&self, project: ProjectId, spans: &[agentrace_core::SpanRecord]) {
        if let Some(online) = self.of(project).online() {
            online.notice(spans);
        }
    }

    fn every_chain(&self) -> Vec<Processors> {
        self.runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|r| r.processors.clone())
            .collect()
    }

    fn forwarder(&self, project: ProjectId) -> Option<Pipeline> {
        self.of(project)
            .forwarder
            .as_ref()
            .map(|f| f.pipeline.clone())
    }

    fn record_metrics(&self, project: ProjectId, measurements: &[Measurement]) {
        if measurements.is_empty() {
            return;
        }
        let mut sinks = self.metrics.lock().unwrap_or_else(PoisonError::into_inner);
        let sink = match sinks.get(&project) {
            Some(sink) => sink.clone(),
            None => match PrometheusSink::builder().service_name("agentrace").build() {
                Ok(sink) => sinks.entry(project).or_insert(sink).clone(),
                Err(e) => {
                    tracing::warn!(%project, error = %e, "a project's metrics could not be kept");
                    return;
                }
            },
        };
        drop(sinks);
        sink.record(measurements);
    }
}
