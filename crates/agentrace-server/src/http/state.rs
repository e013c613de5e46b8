//! What every handler shares: the projects and their stores, the live feed, the counters,
//! budgets, prices and the configuration.

use std::sync::Arc;

use agentrace_core::budget::Budgets;
use agentrace_core::cost::{PriceBook, PriceTable};
use tokio::sync::broadcast;

use agentrace_store::{DEFAULT_PROJECT, ProjectError, ProjectId};

use crate::config::ServerConfig;
use crate::http::scope::Scope;
use crate::ingest::committed::{LIVE_CAPACITY, ProjectFeed, Published, Watching};
use crate::jobs::projects::{ConfiguredProject, ProjectRuntimes};
use crate::jobs::retention::StoreExpiry;
use crate::store::directory::Directory;
use crate::store::{SharedOrganization, SharedStore};
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
    /// Each project's settings in force: its processors, prices, budgets and retention.
    pub(crate) runtimes: Arc<ProjectRuntimes>,
    /// The server's price book (configured files over the built-in table), which projects
    /// without prices of their own price with, and the judges.
    pub prices: Arc<dyn PriceBook>,
    /// The configuration the server runs with.
    pub config: Arc<ServerConfig>,
    /// The alert rules, their states and channels (`None` in a state built for API tests).
    pub alerts: Option<Arc<crate::jobs::alerting::Alerting>>,
    /// What a score of each configured name must fit (none configured: any score is taken).
    pub score_configs: Arc<agentrace_core::ScoreConfigs>,
    /// The online evaluations (`None` only in a state a test built without them).
    pub(crate) online: Option<Arc<crate::jobs::online_evaluations::Online>>,
}

impl AppState {
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
        let runtimes = Arc::new(ProjectRuntimes::new(
            organization.clone(),
            &config,
            prices.clone(),
            None,
            ConfiguredProject {
                id: configured_project,
                budgets: None,
                budgets_file: None,
                budget_alerts: None,
            },
        ));
        runtimes.refresh()?;
        let score_configs: Arc<agentrace_core::ScoreConfigs> = Arc::default();
        // Without an evaluators file, rules may still be given through the API.
        let online = crate::jobs::online_evaluations::Online::new(
            agentrace_evaluators::Evaluators::default(),
            prices.clone(),
            score_configs.clone(),
        )
        .ok()
        .map(Arc::new);
        Ok(Self {
            directory: Arc::new(Directory::new(organization.clone())),
            organization,
            configured_project,
            configured_store,
            live: broadcast::channel(LIVE_CAPACITY).0,
            watching: Arc::default(),
            store_expiry: StoreExpiry::default(),
            stats: Arc::new(ServerStats::new(None)),
            runtimes,
            prices,
            config: Arc::new(config),
            alerts: None,
            score_configs,
            online,
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
        let runtimes = Arc::new(ProjectRuntimes::new(
            self.organization.clone(),
            &self.config,
            self.prices.clone(),
            None,
            ConfiguredProject {
                id: self.configured_project,
                budgets: Some(budgets),
                budgets_file: None,
                budget_alerts: None,
            },
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

    /// The alert rules and SLOs of `scope`'s project: the configured project's (from the
    /// alerts file); other projects have none yet.
    pub fn alerts_of(&self, scope: &Scope) -> Option<&Arc<crate::jobs::alerting::Alerting>> {
        self.alerts
            .as_ref()
            .filter(|_| scope.is(self.configured_project))
    }

    /// The online evaluations of `scope`'s project: the configured project's; other projects
    /// have none yet.
    pub(crate) fn online_of(
        &self,
        scope: &Scope,
    ) -> Option<&Arc<crate::jobs::online_evaluations::Online>> {
        self.online
            .as_ref()
            .filter(|_| scope.is(self.configured_project))
    }

    /// With the online evaluations of `evaluators` over this state's store, for a test of
    /// their API: [`Server::start`](crate::Server::start) runs their workers, without which
    /// evaluations stay queued.
    ///
    /// # Errors
    /// A judge whose budget cannot be kept (its model has no price).
    pub fn with_evaluators(
        mut self,
        evaluators: agentrace_evaluators::Evaluators,
    ) -> Result<Self, String> {
        let online = crate::jobs::online_evaluations::Online::new(
            evaluators,
            self.prices.clone(),
            self.score_configs.clone(),
        )?;
        self.online = Some(Arc::new(online));
        Ok(self)
    }

    /// With the rules, SLOs and channels of the alerts file at `path`, for a test of their API:
    /// [`Server::start`](crate::Server::start) also evaluates them every interval.
    ///
    /// # Errors
    /// The file cannot be used, or the notifier did not start.
    pub fn with_alerts(
        mut self,
        path: &std::path::Path,
    ) -> Result<Self, crate::jobs::alerting::AlertsError> {
        let config = agentrace_alerts::load_alerts(path)
            .map_err(crate::jobs::alerting::AlertsError::from)?;
        let (alerting, _, _) = crate::jobs::alerting::Alerting::start(
            config,
            self.configured_store.clone(),
            self.stats.clone(),
            ProjectFeed {
                project: self.configured_project,
                live: self.live.clone(),
            },
            Arc::new(crate::telemetry::membership::Membership::of(None)),
        )?;
        self.alerts = Some(alerting);
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
