//! What every handler shares: the store, the live feed, the counters, budgets, prices and the
//! configuration.

use std::sync::Arc;

use agentrace_core::budget::Budgets;
use agentrace_core::cost::{PriceBook, PriceTable};
use tokio::sync::broadcast;

use crate::config::ServerConfig;
use crate::ingest::committed::{Committed, LIVE_CAPACITY};
use crate::store::SharedStore;
use crate::telemetry::stats::ServerStats;

/// The state behind every route.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store: reads for the API, writes for the receivers.
    pub store: SharedStore,
    /// Publishes what was committed; the live feed subscribes.
    pub live: broadcast::Sender<Committed>,
    /// Counters of the receivers, the writer, retention and the fan-out pipeline.
    pub stats: Arc<ServerStats>,
    /// The budgets being enforced, if a budgets file is configured.
    pub budgets: Option<Arc<Budgets>>,
    /// The price book the server prices LLM spans with (configured files over the built-in
    /// table).
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
    /// A state over `store` with a fresh live feed and counters, the built-in prices and no
    /// budgets (what a test of the API needs; [`Server::start`](crate::Server::start) builds
    /// the real one).
    pub fn new(store: SharedStore, config: ServerConfig) -> Self {
        let prices: Arc<dyn PriceBook> = Arc::new(PriceTable::builtin());
        let score_configs: Arc<agentrace_core::ScoreConfigs> = Arc::default();
        // Without an evaluators file, rules may still be given through the API.
        let online = crate::jobs::online_evaluations::Online::new(
            agentrace_evaluators::Evaluators::default(),
            prices.clone(),
            score_configs.clone(),
        )
        .ok()
        .map(Arc::new);
        Self {
            store,
            live: broadcast::channel(LIVE_CAPACITY).0,
            stats: Arc::new(ServerStats::new(None)),
            budgets: None,
            prices,
            config: Arc::new(config),
            alerts: None,
            score_configs,
            online,
        }
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
            self.store.clone(),
            self.stats.clone(),
            self.live.clone(),
            Arc::new(crate::telemetry::membership::Membership::of(None)),
        )?;
        self.alerts = Some(alerting);
        Ok(self)
    }
}
