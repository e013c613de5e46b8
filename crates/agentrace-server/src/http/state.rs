//! What every handler shares: the projects and their stores, the live feed, the counters,
//! budgets, prices and the configuration.

use std::sync::Arc;

use agentrace_core::budget::Budgets;
use agentrace_core::cost::{PriceBook, PriceTable};
use tokio::sync::{broadcast, watch};

use agentrace_store::{DEFAULT_PROJECT, ProjectError, ProjectId};

use crate::config::ServerConfig;
use crate::http::audit::Audit;
use crate::http::scope::Scope;
use crate::ingest::committed::{LIVE_CAPACITY, Published, Watching};
use crate::jobs::projects::{ConfiguredProject, ProjectRuntimes, Shared};
use crate::jobs::retention::StoreExpiry;
use crate::store::directory::Directory;
use crate::store::{SharedOrganization, SharedStore};
use crate::telemetry::membership::Membership;
use crate::telemetry::stats::ServerStats;

/// The state behind every route.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The projects, their keys and stores. A request reads and writes the store of its
    /// project only ([`crate::http::scope::Scope`]).
    pub organization: SharedOrganization,
    /// Keys and projects as requests are resolved against them (cached).
    pub directory: Arc<Directory>,
    /// The project the configuration's files configure (budgets, alert rules and SLOs,
    /// evaluators, forwarding): `default`, as before projects.
    pub configured_project: ProjectId,
    /// The configured project's store: what its jobs (alerts, SLOs, budgets, evaluations,
    /// reports) read.
    pub configured_store: SharedStore,
    /// Publishes what was committed; the live feed subscribes.
    pub live: broadcast::Sender<Published>,
    /// Which projects' live feeds are watched on this node.
    pub(crate) watching: Arc<Watching>,
    /// The ages the store expires records at itself (a project's retention cannot exceed
    /// them).
    pub(crate) store_expiry: StoreExpiry,
    /// Counters of the receivers, the writer, retention and the fan-out pipeline.
    pub stats: Arc<ServerStats>,
    /// Each project's settings in force: its processors, prices, budgets, retention and
    /// alerting.
    pub(crate) runtimes: Arc<ProjectRuntimes>,
    /// What the configuration's files give the configured project.
    pub(crate) configured_settings: ConfiguredProject,
    /// What every project's alerting shares with the server.
    pub(crate) shared: Shared,
    /// The server's price book (configured files over the built-in table), which projects
    /// without prices of their own price with, and the judges.
    pub prices: Arc<dyn PriceBook>,
    /// The configuration the server runs with.
    pub config: Arc<ServerConfig>,
    /// Where the audit log's entries are appended.
    pub(crate) audit: Audit,
    /// Whether the server has people (`crate::startup::people`): then every request needs a
    /// credential or a login.
    pub people: bool,
    /// Single sign-on, if configured.
    pub(crate) sso: Option<crate::http::auth::sso::SharedSso>,
}

impl AppState {
    /// What records the API's requests in the audit log.
    pub(crate) fn recorder(&self) -> crate::http::audit::Recorder {
        crate::http::audit::Recorder {
            audit: self.audit.clone(),
            directory: self.directory.clone(),
        }
    }

    /// A state over `organization` with a fresh live feed and counters, the built-in prices
    /// and no budgets (what a test of the API needs; [`Server::start`](crate::Server::start)
    /// builds the real one). Blocks: it opens the configured project's store.
    ///
    /// # Errors
    /// The projects cannot be read, or the configured project's store opened.
    pub fn new(
        organization: SharedOrganization,
        config: ServerConfig,
    ) -> Result<Self, ProjectError> {
        let (configured_project, configured_store) = configured(&organization)?;
        let prices: Arc<dyn PriceBook> = Arc::new(PriceTable::builtin());
        let live = broadcast::channel(LIVE_CAPACITY).0;
        let stats = Arc::new(ServerStats::new(None));
        let shared = Shared {
            stats: stats.clone(),
            live: live.clone(),
            membership: Arc::new(Membership::of(None)),
            stopped: watch::channel(false).1,
            receiver: Arc::default(),
        };
        let mut configured_settings = ConfiguredProject::of(configured_project);
        // Without an evaluators file, rules may still be given through the API.
        configured_settings.online = crate::jobs::online_evaluations::Online::new(
            agentrace_evaluators::Evaluators::default(),
            prices.clone(),
            configured_settings.score_configs.clone(),
        )
        .ok()
        .map(Arc::new);
        let runtimes = Arc::new(ProjectRuntimes::new(
            organization.clone(),
            &config,
            (prices.clone(), None),
            configured_settings.clone(),
            shared.clone(),
        ));
        runtimes.refresh()?;
        let (organization_for_audit, stats_for_audit) = (organization.clone(), stats.clone());
        Ok(Self {
            directory: Arc::new(Directory::new(organization.clone())),
            organization,
            configured_project,
            configured_store,
            live,
            watching: Arc::default(),
            store_expiry: StoreExpiry::default(),
            stats,
            runtimes,
            configured_settings,
            shared,
            prices,
            config: Arc::new(config),
            audit: Audit::new(organization_for_audit, stats_for_audit),
            people: false,
            sso: None,
        })
    }

    /// The configured project's budgets (the budgets file's), if it has any.
    pub fn configured_budgets(&self) -> Option<Arc<Budgets>> {
        self.runtimes.of(self.configured_project).budgets.clone()
    }

    /// Gives the configured project `budgets`, as the budgets file does, for a test of the
    /// API. Blocks: it reads the projects' settings again.
    ///
    /// # Errors
    /// The projects' settings cannot be read.
    pub fn set_configured_budgets(&mut self, budgets: Arc<Budgets>) -> Result<(), ProjectError> {
        self.configured_settings.budgets = Some(budgets);
        self.reconfigure()
    }

    /// Every project's settings read again over [`configured_settings`](Self::configured_settings).
    fn reconfigure(&mut self) -> Result<(), ProjectError> {
        let runtimes = Arc::new(ProjectRuntimes::new(
            self.organization.clone(),
            &self.config,
            (self.prices.clone(), None),
            self.configured_settings.clone(),
            self.shared.clone(),
        ));
        runtimes.refresh()?;
        self.runtimes = runtimes;
        Ok(())
    }

    /// The budgets of `scope`'s project, if it has any.
    pub fn budgets_of(&self, scope: &Scope) -> Option<Arc<Budgets>> {
        self.runtimes.of(scope.project.id).budgets.clone()
    }

    /// The prices of `scope`'s project: its own over the server's.
    pub fn prices_of(&self, scope: &Scope) -> Arc<dyn PriceBook> {
        self.runtimes.of(scope.project.id).prices.clone()
    }

    /// The alert rules, SLOs and channels of `scope`'s project, if it runs an alerting.
    pub fn alerts_of(&self, scope: &Scope) -> Option<Arc<crate::jobs::alerting::Alerting>> {
        self.runtimes.of(scope.project.id).alerting().cloned()
    }

    /// The online evaluations of `scope`'s project, if it runs them.
    pub(crate) fn online_of(
        &self,
        scope: &Scope,
    ) -> Option<Arc<crate::jobs::online_evaluations::Online>> {
        self.runtimes.of(scope.project.id).online().cloned()
    }

    /// What the scores of `scope`'s project must fit, by name.
    pub fn score_configs_of(&self, scope: &Scope) -> Arc<agentrace_core::ScoreConfigs> {
        self.runtimes.of(scope.project.id).score_configs.clone()
    }

    /// With the online evaluations of `evaluators` as the configured project's, for a test of
    /// their API: [`Server::start`](crate::Server::start) runs their workers, without which
    /// evaluations stay queued. Blocks: it reads the projects' settings again.
    ///
    /// # Errors
    /// A judge whose budget cannot be kept (its model has no price), or the projects'
    /// settings cannot be read.
    pub fn with_evaluators(
        mut self,
        evaluators: agentrace_evaluators::Evaluators,
    ) -> Result<Self, String> {
        let online = crate::jobs::online_evaluations::Online::new(
            evaluators,
            self.prices.clone(),
            self.configured_settings.score_configs.clone(),
        )?;
        self.configured_settings.online = Some(Arc::new(online));
        self.reconfigure().map_err(|e| e.to_string())?;
        Ok(self)
    }

    /// Gives the configured project the score configurations `configs`, as the score
    /// configurations file does, for a test of the API. Blocks.
    ///
    /// # Errors
    /// The projects' settings cannot be read.
    pub fn set_configured_score_configs(
        &mut self,
        configs: agentrace_core::ScoreConfigs,
    ) -> Result<(), ProjectError> {
        self.configured_settings.score_configs = Arc::new(configs);
        self.reconfigure()
    }

    /// With the rules, SLOs and channels of the alerts file at `path` as the configured
    /// project's, for a test of their API (evaluated every interval, as a server does).
    /// Blocks: it reads the projects' settings again.
    ///
    /// # Errors
    /// The file cannot be used, or the projects' settings read.
    pub fn with_alerts(
        mut self,
        path: &std::path::Path,
    ) -> Result<Self, crate::jobs::alerting::AlertsError> {
        let config = agentrace_alerts::load_alerts(path)
            .map_err(crate::jobs::alerting::AlertsError::from)?;
        self.configured_settings.alerts = Some(config);
        self.configured_settings.alerts_file = Some(path.to_owned());
        self.reconfigure()
            .map_err(|e| crate::jobs::alerting::AlertsError::Rule(e.to_string()))?;
        Ok(self)
    }
}

/// The project the configuration's files configure, and its store: `default`, or the first
/// project if `default` was deleted. Blocks.
///
/// # Errors
/// The projects cannot be read, or the project's store opened.
pub fn configured(
    organization: &SharedOrganization,
) -> Result<(ProjectId, SharedStore), ProjectError> {
    let projects = organization.projects()?;
    let project = projects
        .iter()
        .find(|p| p.name.as_str() == DEFAULT_PROJECT)
        .or_else(|| projects.first())
        .ok_or_else(|| ProjectError::Failed("the store holds no project".into()))?;
    Ok((project.id, organization.store(project.id)?))
}
