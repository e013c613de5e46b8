//! [`Server::start`], the server's table of contents: one step a function, called in the
//! order the parts need each other — the store, the configured catalogues (prices, score
//! configurations, evaluators, budgets), the fan-out pipeline, the counters, the alerting and
//! what the store remembers, the state the routes share, the write path (processors, writer,
//! receiver), the listeners, the background jobs.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentrace_alerts::{AlertsConfig, load_alerts};
use agentrace_core::budget::{Budget, Budgets, load_budgets};
use agentrace_core::cost::{LayeredPriceBook, PriceBook, load_price_files};
use agentrace_core::redact::Redactor;
use agentrace_core::{Pipeline, ScoreConfigs};
use agentrace_evaluators::Evaluators;
use agentrace_ingest::Ingestor;
use agentrace_otlp::OtlpSink;
use agentrace_prometheus::PrometheusSink;
use agentrace_store::QueryError;
use tokio::sync::{broadcast, watch};

use super::demo;
use super::error::StartError;
use super::listeners::Listeners;
use super::running::{Addrs, RunningServer, Tasks};
use crate::config::ServerConfig;
use crate::config::project::Capture;
use crate::http::state::AppState;
use crate::ingest::committed::LIVE_CAPACITY;
use crate::ingest::evaluation_results::EvaluationResults;
use crate::ingest::late_attribution::Attributions;
use crate::ingest::processors::Processing;
use crate::ingest::receive::{Receiver, ReceiverParts};
use crate::ingest::writer::{WriterHandle, WriterParts, WriterThread};
use crate::jobs::alerting::AlertsError;
use crate::jobs::fleet::Beat;
use crate::jobs::online_evaluations::{self, Online};
use crate::jobs::projects::{BudgetAlerts, ConfiguredProject, ProjectRuntimes, Shared};
use crate::jobs::repair::{Repairer, Tracker};
use crate::jobs::{budget_reload, retention};
use crate::store::directory::Directory;
use crate::store::{SharedOrganization, SharedStore};
use crate::telemetry::membership::Membership;
use crate::telemetry::redaction_series;
use crate::telemetry::stats::ServerStats;

/// How often the fan-out pipeline reports its own health to `/metrics`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(10);

/// Starts servers: see [`Server::start`].
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Opens the store, starts the writer, the fan-out pipeline, the three listeners (OTLP/HTTP,
    /// OTLP/gRPC, app — all on `config.bind`), retention and, with `config.demo`, the demo
    /// workload. Returns once every listener is bound. Must be called inside a tokio runtime.
    pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
        let config = Arc::new(config);
        let organization = open_store(&config).await?;
        provision(&organization, &config).await?;
        let (configured_project, store) = configured_store(&organization).await?;
        let store_expiry = retention::hand_ages(store.clone(), config.retention.clone()).await;
        let (stop, stopped) = watch::channel(false);
        let catalogues = Catalogues::load(&config, &stopped).await?;
        let (metrics, pipeline) = start_pipeline(&config)?;
        // From here a failed start stops what it started.
        let mut started = StartGuard::new(&pipeline);
        let redactor = redactor(&config)?;
        let membership = Arc::new(Membership::of(store.node().map(str::to_owned)));
        let online = catalogues.online;
        let stats = counters(&pipeline, &redactor, &membership, &online);
        let audit = crate::http::audit::Audit::new(organization.clone(), stats.clone());
        let people = super::people::bootstrap(&organization, &config, &audit).await?;
        let sso = super::people::single_sign_on(&config)?;
        let live = broadcast::channel(LIVE_CAPACITY).0;
        let mut configured_settings = ConfiguredProject::of(configured_project);
        configured_settings.budgets = restore_from_store(
            &store,
            catalogues.budgets,
            configured_settings.budget_alerts.clone(),
            &online,
        )
        .await?;
        configured_settings.budgets_file = config.budgets.clone();
        configured_settings.alerts = catalogues.alerts;
        configured_settings.alerts_file = config.alerts.clone();
        configured_settings.online = Some(online.clone());
        configured_settings.evaluators_file = config.evaluators.clone();
        configured_settings.score_configs = catalogues.score_configs.clone();
        configured_settings.scores_file = config.scores.clone();
        let shared = Shared {
            stats: stats.clone(),
            live: live.clone(),
            membership: membership.clone(),
            stopped: stopped.clone(),
            receiver: Arc::default(),
        };
        let runtimes = project_runtimes(
            &organization,
            &config,
            (&catalogues.prices, &redactor),
            configured_settings.clone(),
            shared.clone(),
        )
        .await?;
        let state = AppState {
            directory: Arc::new(Directory::new(organization.clone())),
            organization,
            configured_project,
            configured_store: store,
            live,
            watching: Arc::default(),
            store_expiry,
            stats,
            runtimes,
            configured_settings,
            shared,
            prices: catalogues.prices,
            audit,
            people,
            sso,
            config,
        };
        let processing = Processing::new(state.runtimes.clone(), state.stats.clone());
        let (writer, writer_thread, write_jobs) = start_writer(&state, &pipeline)?;
        started.writer = Some(writer_thread);
        let receiver = receiver(&state, processing.clone(), writer);
        let (runtimes, r) = (state.runtimes.clone(), receiver.clone());
        tokio::task::spawn_blocking(move || runtimes.work_through(r))
            .await
            .map_err(|e| StartError::Spawn(io::Error::other(e)))?;
        let listeners = Listeners::bind(&state.config).await?;
        let addrs = listeners.addrs(&state.config)?;
        let servers = listeners.serve(&state, &receiver, metrics, &stopped);
        let jobs = Jobs {
            membership,
            online,
            write: write_jobs,
            receiver,
        };
        let background = jobs.spawn(&state, &stopped);
        Ok(started.finish(addrs, state, stop, (servers, background), processing))
    }
}

/// Checks the configuration, creates the data directory and opens the store with its
/// projects (off the async threads: opening blocks).
async fn open_store(config: &Arc<ServerConfig>) -> Result<SharedOrganization, StartError> {
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let config = config.clone();
    tokio::task::spawn_blocking(move || crate::store::open(&config))
        .await
        .map_err(|e| StartError::Spawn(io::Error::other(e)))?
        .map_err(StartError::from)
}

/// Applies the provisioning folder, if one is configured (off the async threads).
async fn provision(
    organization: &SharedOrganization,
    config: &ServerConfig,
) -> Result<(), StartError> {
    let Some(dir) = config.provisioning.clone() else {
        return Ok(());
    };
    let organization = organization.clone();
    let done = tokio::task::spawn_blocking(move || {
        crate::store::provisioning::provision(&*organization, &dir)
    })
    .await
    .map_err(|e| StartError::Spawn(io::Error::other(e)))??;
    tracing::info!(
        created = ?done.created,
        written = ?done.written,
        deleted = ?done.deleted,
        "provisioning applied"
    );
    Ok(())
}

/// The project the configuration's files configure (`default`) and its store.
async fn configured_store(
    organization: &SharedOrganization,
) -> Result<(agentrace_store::ProjectId, SharedStore), StartError> {
    let organization = organization.clone();
    tokio::task::spawn_blocking(move || crate::http::state::configured(&organization))
        .await
        .map_err(|e| StartError::Spawn(io::Error::other(e)))?
        .map_err(StartError::Projects)
}

/// What the configured files give (the demo's own when it runs without them).
struct Catalogues {
    /// The price files over the built-in table.
    prices: Arc<dyn PriceBook>,
    score_configs: Arc<ScoreConfigs>,
    /// The online evaluations, with the evaluators file's rules (rules may also come through
    /// the API at any time).
    online: Arc<Online>,
    /// The budgets, not yet given their alert channel.
    budgets: Option<Vec<Budget>>,
    /// The alerts file's rules, SLOs and channels (the demo's without one).
    alerts: Option<AlertsConfig>,
}

impl Catalogues {
    /// Loads prices, score configurations, evaluators (with the demo: its judge, served until
    /// `stopped`) and budgets.
    async fn load(
        config: &ServerConfig,
        stopped: &watch::Receiver<bool>,
    ) -> Result<Self, StartError> {
        let prices: Arc<dyn PriceBook> = Arc::new(LayeredPriceBook::over_builtin(
            load_price_files(&config.prices)?,
        ));
        let score_configs = Arc::new(match &config.scores {
            Some(path) => ScoreConfigs::load(path)?,
            None => ScoreConfigs::default(),
        });
        let evaluators = match &config.evaluators {
            Some(path) => Evaluators::load(path, &agentrace_core::env::process)?,
            None if config.demo => {
                let judge = demo::judge::serve(stopped.clone())
                    .await
                    .map_err(StartError::Spawn)?;
                demo::judge::evaluators(&judge).map_err(StartError::Online)?
            }
            None => Evaluators::default(),
        };
        let online = Online::new(evaluators, prices.clone(), score_configs.clone())
            .map_err(StartError::Online)?;
        let budgets = match &config.budgets {
            Some(path) => Some(load_budgets(path)?),
            None if config.demo => Some(demo::scenario::budgets()),
            None => None,
        };
        let alerts = match config.alerts.as_deref() {
            Some(path) => Some(load_alerts(path).map_err(AlertsError::from)?),
            None if config.demo => Some(demo::scenario::alerts()),
            None => None,
        };
        Ok(Self {
            prices,
            score_configs,
            online: Arc::new(online),
            budgets,
            alerts,
        })
    }
}

/// The fan-out pipeline of what was committed: `/metrics`' Prometheus sink, and the forwarder
/// when one is configured.
fn start_pipeline(config: &ServerConfig) -> Result<(PrometheusSink, Pipeline), StartError> {
    let metrics = PrometheusSink::builder()
        .service_name("agentrace")
        .build()?;
    let mut pipeline = Pipeline::builder()
        .with_sink(metrics.clone())
        .configure(|c| c.health_interval = Some(HEALTH_INTERVAL));
    if let Some(forward) = &config.forward {
        let sink = OtlpSink::builder()
            .with_protocol(forward.protocol)
            .with_endpoint(&forward.endpoint)
            .with_name("forward")
            .build()?;
        pipeline = pipeline.with_sink(sink);
    }
    Ok((metrics, pipeline.build()?))
}

/// The redactor, when `redact` or `mask_secrets` is on. It runs first: no processor, store or
/// sink sees what it removes.
fn redactor(config: &ServerConfig) -> Result<Option<Arc<Redactor>>, StartError> {
    Ok(Capture::of(config).redactor()?)
}

/// The counters, showing the pipeline's, the redactor's, the fleet's and the online
/// evaluations' figures too.
fn counters(
    pipeline: &Pipeline,
    redactor: &Option<Arc<Redactor>>,
    membership: &Arc<Membership>,
    online: &Arc<Online>,
) -> Arc<ServerStats> {
    Arc::new(
        ServerStats::new(Some(pipeline.clone()))
            .with_redactor(redactor.clone())
            .with_fleet(membership.clone())
            .with_online(Some(online.clone())),
    )
}

/// What the store remembers from before this start: each budget's spend (the budgets then
/// notifying through `channel`), the judges' spend, the rules given through the API.
async fn restore_from_store(
    store: &SharedStore,
    budgets: Option<Vec<Budget>>,
    channel: Arc<BudgetAlerts>,
    online: &Arc<Online>,
) -> Result<Option<Arc<Budgets>>, StartError> {
    let budgets = budgets.map(|list| Arc::new(Budgets::new(list).with_alert_channel(channel)));
    if let Some(budgets) = &budgets {
        let (s, b) = (store.clone(), budgets.clone());
        restore_spend(move || agentrace_store::restore_budgets(&*s, &b)).await?;
    }
    let (s, o) = (store.clone(), online.clone());
    restore_spend(move || agentrace_store::restore_budgets(&*s, o.judge_budgets())).await?;
    online.load_rules(store).await.map_err(StartError::Online)?;
    Ok(budgets)
}

/// Every project's settings in force, read from the store (off the async threads).
async fn project_runtimes(
    organization: &SharedOrganization,
    config: &ServerConfig,
    (prices, redactor): (&Arc<dyn PriceBook>, &Option<Arc<Redactor>>),
    configured: ConfiguredProject,
    shared: Shared,
) -> Result<Arc<ProjectRuntimes>, StartError> {
    let runtimes = Arc::new(ProjectRuntimes::new(
        organization.clone(),
        config,
        (prices.clone(), redactor.clone()),
        configured,
        shared,
    ));
    let r = runtimes.clone();
    tokio::task::spawn_blocking(move || r.refresh())
        .await
        .map_err(|e| StartError::Spawn(io::Error::other(e)))?
        .map_err(StartError::Projects)?;
    Ok(runtimes)
}

/// Runs a restore of spend on a blocking thread.
async fn restore_spend(
    restore: impl FnOnce() -> Result<(), QueryError> + Send + 'static,
) -> Result<(), StartError> {
    tokio::task::spawn_blocking(restore)
        .await
        .map_err(|e| StartError::Spawn(io::Error::other(e)))?
        .map_err(StartError::RestoreBudgets)
}

/// What the jobs take from the write path: the repairs' record of committed traces (a
/// watcher of the commits), where what they attribute is made known, and the evaluation
/// results awaiting their response.
struct WriteJobs {
    tracker: Arc<Tracker>,
    attributions: Attributions,
    evaluation_results: Arc<EvaluationResults>,
}

/// Starts the writer and its publisher, whose commits the repairs' tracker watches (and
/// each project's online evaluations, through the runtimes).
fn start_writer(
    state: &AppState,
    pipeline: &Pipeline,
) -> Result<(WriterHandle, WriterThread, WriteJobs), StartError> {
    let (store, stats, config) = (&state.configured_store, &state.stats, &state.config);
    stats
        .awaiting_parent
        .store(store.spans_awaiting_parent(), Ordering::Relaxed);
    let attributions = Attributions::new(state.runtimes.clone(), state.live.clone());
    let tracker = Arc::new(Tracker::new(config.orphan_grace, stats.clone()));
    let evaluation_results = Arc::new(EvaluationResults::new(stats.clone()));
    let (handle, thread) = WriterThread::spawn(WriterParts {
        store: store.clone(),
        stats: stats.clone(),
        evaluation_results: evaluation_results.clone(),
        live: state.live.clone(),
        pipeline: pipeline.clone(),
        fan_out_records: config.forward.is_some(),
        attributions: attributions.clone(),
        chains: state.runtimes.clone(),
        watchers: vec![tracker.clone()],
        queue_requests: config.limits.queue_requests,
        queue_records: config.limits.queue_records,
    })
    .map_err(StartError::Spawn)?;
    let jobs = WriteJobs {
        tracker,
        attributions,
        evaluation_results,
    };
    Ok((handle, thread, jobs))
}

/// The OTLP receiver every listener (and the demo, and the judges' traces) hands requests to.
fn receiver(state: &AppState, processing: Processing, writer: WriterHandle) -> Receiver {
    Receiver::new(
        ReceiverParts {
            ingestor: Ingestor::new(agentrace_ingest::Limits::default()),
            processing,
            writer,
            directory: state.directory.clone(),
            configured: state.configured_project,
            stats: state.stats.clone(),
        },
        &state.config.limits,
    )
}

/// What the background jobs take besides the state.
struct Jobs {
    membership: Arc<Membership>,
    online: Arc<Online>,
    write: WriteJobs,
    receiver: Receiver,
}

impl Jobs {
    /// Spawns every job, each running until `stopped`: retention, repairs, evaluation results
    /// awaiting their response, alerting, redaction counts, the fleet's beat, the budgets
    /// file's reload, the online evaluations and the demo.
    fn spawn(self, state: &AppState, stopped: &watch::Receiver<bool>) -> Tasks {
        let (store, stats, config) = (&state.configured_store, &state.stats, &state.config);
        let repairer = Repairer {
            tracker: self.write.tracker,
            organization: state.organization.clone(),
            stats: stats.clone(),
            attributions: self.write.attributions,
            grace: config.orphan_grace,
        };
        let mut background: Tasks = vec![
            tokio::spawn(retention::run(
                state.organization.clone(),
                state.runtimes.clone(),
                (
                    state.store_expiry,
                    config.retention.interval,
                    config.audit_retention,
                ),
                stats.clone(),
                stopped.clone(),
            )),
            tokio::spawn(repairer.run(stopped.clone())),
            tokio::spawn(crate::jobs::key_uses::run(
                state.directory.clone(),
                stopped.clone(),
            )),
            tokio::spawn(
                self.write
                    .evaluation_results
                    .run(state.organization.clone(), stopped.clone()),
            ),
            tokio::spawn(redaction_series::run(
                stats.clone(),
                store.clone(),
                stopped.clone(),
            )),
            tokio::spawn(
                Beat {
                    organization: state.organization.clone(),
                    store: store.clone(),
                    membership: self.membership,
                    runtimes: state.runtimes.clone(),
                    live: state.live.clone(),
                    watching: state.watching.clone(),
                }
                .run(stopped.clone()),
            ),
            tokio::spawn(state.runtimes.clone().run(stopped.clone())),
        ];
        let file_budgets = state.runtimes.of(state.configured_project).budgets.clone();
        if let (Some(path), Some(budgets)) = (&config.budgets, &file_budgets) {
            background.push(tokio::spawn(budget_reload::run(
                path.clone(),
                budgets.clone(),
                (
                    state.organization.clone(),
                    state.configured_project,
                    store.clone(),
                ),
                stopped.clone(),
            )));
        }
        let parts = online_evaluations::Parts {
            store: store.clone(),
            receiver: self.receiver.clone(),
            project: None,
        };
        background.push(tokio::spawn(self.online.run(parts, stopped.clone())));
        if config.demo {
            background.push(tokio::spawn(demo::run(
                self.receiver,
                state.directory.clone(),
                stopped.clone(),
            )));
        }
        background
    }
}

/// Stops the writer and the pipeline when starting fails half-way.
struct StartGuard {
    writer: Option<WriterThread>,
    pipeline: Option<Pipeline>,
}

impl StartGuard {
    /// Guarding `pipeline`; the writer is added once it runs.
    fn new(pipeline: &Pipeline) -> Self {
        Self {
            writer: None,
            pipeline: Some(pipeline.clone()),
        }
    }

    /// Started: the server keeps what the guard held, with the listeners' and the jobs' tasks.
    fn finish(
        mut self,
        addrs: Addrs,
        state: AppState,
        stop: watch::Sender<bool>,
        (servers, background): (Tasks, Tasks),
        processing: Processing,
    ) -> RunningServer {
        tracing::info!(
            otlp_http_addr = %addrs.otlp_http,
            otlp_grpc_addr = %addrs.otlp_grpc,
            app_addr = %addrs.app,
            store = %state.configured_store.describe(),
            "agentrace server started"
        );
        RunningServer {
            addrs,
            state,
            stop,
            servers,
            background,
            writer: self.writer.take(),
            pipeline: self.pipeline.take(),
            processing,
        }
    }
}

impl Drop for StartGuard {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.stop();
        }
        if let Some(pipeline) = self.pipeline.take() {
            let _ = pipeline.shutdown();
        }
    }
}
