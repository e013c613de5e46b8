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

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use agentrace_core::budget::{AlertChannel, Budgets};
use agentrace_core::cost::{LayeredPriceBook, PriceBook};
use agentrace_core::redact::Redactor;
use agentrace_core::{ProcessorChain, Processors};
use agentrace_store::{ProjectError, ProjectId, SettingVersion};
use tokio::sync::watch;

use crate::config::project::{Capture, Setting, SettingKind};
use crate::config::{Retention, ServerConfig};
use crate::ingest::processors::ProjectChains;
use crate::store::SharedOrganization;

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
}

/// The configured project's own: what the configuration's files give it.
#[derive(Debug, Clone)]
pub(crate) struct ConfiguredProject {
    pub(crate) id: ProjectId,
    /// The budgets of the budgets file (or the demo's), if configured.
    pub(crate) budgets: Option<Arc<Budgets>>,
    /// The budgets file, if one is configured.
    pub(crate) budgets_file: Option<PathBuf>,
    /// Where its budgets' thresholds are notified (its alerting).
    pub(crate) budget_alerts: Option<Arc<dyn AlertChannel>>,
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
}

/// Every project's settings in force on this node (see the module's documentation).
#[derive(Debug)]
pub(crate) struct ProjectRuntimes {
    organization: SharedOrganization,
    server: ServerSettings,
    configured: ConfiguredProject,
    runtimes: RwLock<HashMap<ProjectId, Arc<ProjectRuntime>>>,
}

impl ProjectRuntimes {
    /// Every project on the server's settings until [`refresh`](Self::refresh) reads theirs.
    pub(crate) fn new(
        organization: SharedOrganization,
        config: &ServerConfig,
        prices: Arc<dyn PriceBook>,
        redactor: Option<Arc<Redactor>>,
        configured: ConfiguredProject,
    ) -> Self {
        Self {
            organization,
            server: ServerSettings {
                prices,
                retention: config.retention.clone(),
                capture: Capture::of(config),
                redactor,
            },
            configured,
            runtimes: RwLock::new(HashMap::new()),
        }
    }

    /// The settings in force for `project` (the server's, for a project not read yet).
    pub(crate) fn of(&self, project: ProjectId) -> Arc<ProjectRuntime> {
        if let Some(runtime) = self
            .runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project)
        {
            return runtime.clone();
        }
        Arc::new(self.build(project, &BTreeMap::new(), None))
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
        match kind {
            SettingKind::Budgets if project == self.configured.id => {
                self.configured.budgets_file.clone()
            }
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
                match Setting::read_text(*kind, &stored.document) {
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
            }
        }
        let redactor = if capture == server.capture {
            server.redactor.clone()
        } else {
            capture.redactor().unwrap_or_else(|e| {
                tracing::warn!(%project, error = %e, "a project's redaction rules do not compile; the server's apply");
                server.redactor.clone()
            })
        };
        let budgets = self.budgets(project, listed_budgets, previous);
        let processors = Processors::new(
            ProcessorChain::new()
                .masking(redactor)
                .pricing(Some(prices.clone()))
                .budgets(budgets.clone())
                .metrics(project == self.configured.id)
                .build(),
        );
        ProjectRuntime {
            versions: BTreeMap::new(),
            prices,
            budgets,
            retention,
            processors,
        }
    }

    /// `project`'s budgets: the configured project's from its file, else those `listed` (the
    /// previous ones reloaded, or new ones with their spend read from the store).
    fn budgets(
        &self,
        project: ProjectId,
        listed: Option<Vec<agentrace_core::budget::Budget>>,
        previous: Option<&ProjectRuntime>,
    ) -> Option<Arc<Budgets>> {
        let configured = project == self.configured.id;
        if configured && self.configured.budgets.is_some() {
            return self.configured.budgets.clone();
        }
        let list = listed?;
        let budgets = match previous.and_then(|p| p.budgets.clone()) {
            Some(budgets) if budgets.budgets() == list => return Some(budgets),
            Some(budgets) => {
                budgets.reload(list);
                budgets
            }
            None => {
                let mut budgets = Budgets::new(list);
                if let Some(channel) = self.configured.budget_alerts.clone().filter(|_| configured)
                {
                    budgets = budgets.with_alert_channel(channel);
                }
                Arc::new(budgets)
            }
        };
        let restored = self
            .organization
            .store(project)
            .map_err(|e| e.to_string())
            .and_then(|store| {
                agentrace_store::restore_budgets(&*store, &budgets).map_err(|e| e.to_string())
            });
        if let Err(e) = restored {
            tracing::warn!(%project, error = %e, "a project's budget spend could not be read back; it counts from now");
        }
        Some(budgets)
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

    fn every_chain(&self) -> Vec<Processors> {
        self.runtimes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|r| r.processors.clone())
            .collect()
    }
}
