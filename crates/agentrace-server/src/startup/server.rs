//! Starting and stopping the server: [`Server::start`] → [`RunningServer`] →
//! [`RunningServer::shutdown`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentrace_alerts::{AlertsConfig, load_alerts};
use agentrace_core::budget::{Budgets, LoadBudgetsError, load_budgets};
use agentrace_core::cost::{LayeredPriceBook, LoadPricesError, PriceBook, load_price_files};
use agentrace_core::redact::Redactor;
use agentrace_core::{Pipeline, ProcessorChain, Processors};
use agentrace_ingest::Ingestor;
use agentrace_otlp::OtlpSink;
use agentrace_prometheus::PrometheusSink;
use agentrace_store::{QueryError, WriteError};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::{ConfigError, ServerConfig};
use crate::http::app;
use crate::http::auth::grpc::TokenCheck;
use crate::http::auth::{Auth, Sessions};
use crate::http::dashboard::Assets;
use crate::http::guard::Guard;
use crate::http::state::AppState;
use crate::ingest::committed::LIVE_CAPACITY;
use crate::ingest::evaluation_results::EvaluationResults;
use crate::ingest::listen;
use crate::ingest::processors::Processing;
use crate::ingest::receive::{Receiver, grpc, http};
use crate::ingest::writer::{WriterParts, WriterThread};
use crate::jobs::alerting::Alerting;
use crate::jobs::online_evaluations::Online;
use crate::jobs::repair::{Repairer, Tracker};
use crate::telemetry::membership::Membership;
use crate::telemetry::stats::{ServerStats, StatsSnapshot};

/// How long shutdown waits for open connections to finish their requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the fan-out pipeline reports its own health to `/metrics`.
const HEALTH_INTERVAL: Duration = Duration::from_secs(10);

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be created.
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::OpenStoreError),
    /// A price file could not be loaded.
    #[error(transparent)]
    Prices(#[from] LoadPricesError),
    /// The budgets file could not be loaded.
    #[error(transparent)]
    Budgets(#[from] LoadBudgetsError),
    /// The score configurations file could not be loaded.
    #[error(transparent)]
    ScoreConfigs(#[from] agentrace_core::LoadScoreConfigsError),
    /// The evaluators file cannot be used.
    #[error(transparent)]
    Evaluators(#[from] agentrace_evaluators::LoadEvaluatorsError),
    /// An evaluator cannot run as configured (a judge's budget without a price).
    #[error("evaluators: {0}")]
    Online(String),
    /// Budget spend could not be restored from the store.
    #[error("cannot restore budget spend from the store: {0}")]
    RestoreBudgets(#[source] QueryError),
    /// The alerts file or its channels cannot be used.
    #[error(transparent)]
    Alerts(#[from] crate::jobs::alerting::AlertsError),
    /// The Prometheus sink could not be built.
    #[error("cannot set up /metrics: {0}")]
    Metrics(#[from] agentrace_prometheus::BuildError),
    /// The forwarder could not be built.
    #[error("cannot set up forwarding: {0}")]
    Forward(#[from] agentrace_otlp::BuildError),
    /// The redaction rules could not be compiled.
    #[error("cannot set up redaction: {0}")]
    Redaction(#[from] agentrace_core::redact::RuleError),
    /// The fan-out pipeline could not start.
    #[error("cannot start the fan-out pipeline: {0}")]
    Pipeline(#[from] agentrace_core::BuildError),
    /// A listener could not bind its address.
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Spawn(#[source] io::Error),
}

/// Stopping the server left something undone (what was acknowledged is stored regardless).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    /// The fan-out pipeline did not flush (a sink was down or slow); stored data is unaffected.
    #[error("flushing the fan-out pipeline failed: {0}")]
    Pipeline(#[from] agentrace_core::ShutdownError),
    /// Closing the store failed (SQLite: its final checkpoint; committed data is in its
    /// write-ahead log).
    #[error("closing the store failed: {0}")]
    Close(#[from] WriteError),
    /// A task of the server panicked.
    #[error("a server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Starts servers: see [`Server::start`].
#[derive(Debug)]
pub struct Server;

/// Server tasks that are told to stop, then awaited.
type Tasks = Vec<JoinHandle<()>>;

impl Server {
    /// Opens the store, starts the writer, the fan-out pipeline, the three listeners (OTLP/HTTP,
    /// OTLP/gRPC, app — all on `config.bind`), retention and, with `config.demo`, the demo
    /// workload. Returns once every listener is bound. Must be called inside a tokio runtime.
    pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let store = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || crate::store::open(&config))
                .await
                .map_err(|e| StartError::Spawn(io::Error::other(e)))??
        };

        let prices: Arc<dyn PriceBook> = Arc::new(LayeredPriceBook::over_builtin(
            load_price_files(&config.prices)?,
        ));
        let score_configs = match &config.scores {
            Some(path) => agentrace_core::ScoreConfigs::load(path)?,
            None => agentrace_core::ScoreConfigs::default(),
        };
        let score_configs = Arc::new(score_configs);
        let (stop, stopped) = watch::channel(false);
        let evaluators = match &config.evaluators {
            Some(path) => Some(agentrace_evaluators::Evaluators::load(
                path,
                &agentrace_core::env::process,
            )?),
            None if config.demo => {
                let judge = crate::startup::demo::judge::serve(stopped.clone())
                    .await
                    .map_err(StartError::Spawn)?;
                Some(crate::startup::demo::judge::evaluators(&judge).map_err(StartError::Online)?)
            }
            None => None,
        };
        // Always: rules may be given through the API at any time.
        let online = Arc::new(
            Online::new(
                evaluators.unwrap_or_default(),
                prices.clone(),
                score_configs.clone(),
            )
            .map_err(StartError::Online)?,
        );
        let budget_list = match &config.budgets {
            Some(path) => Some(load_budgets(path)?),
            None if config.demo => Some(crate::startup::demo::budgets()),
            None => None,
        };
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
        let pipeline = pipeline.build()?;
        // From here a failed start stops what it started.
        let mut guard = StartGuard {
            writer: None,
            pipeline: Some(pipeline.clone()),
        };

        // Redaction first: no processor, store or sink sees what it removes.
        let redactor = if config.redact {
            Some(Arc::new(
                Redactor::builder()
                    .capture_content(config.capture_content)
                    .build()?,
            ))
        } else {
            config
                .mask_secrets
                .then(|| Arc::new(Redactor::secrets_only()))
        };
        let membership = Arc::new(Membership::of(store.node().map(str::to_owned)));
        let stats = Arc::new(
            ServerStats::new(Some(pipeline.clone()))
                .with_redactor(redactor.clone())
                .with_fleet(membership.clone())
                .with_online(Some(online.clone())),
        );
        let live = broadcast::channel(LIVE_CAPACITY).0;
        // Without an alerts file, the demo has rules of its own.
        let alerts = match config.alerts.as_deref() {
            Some(path) => load_alerts(path).map_err(crate::jobs::alerting::AlertsError::from)?,
            None if config.demo => crate::startup::demo::alerts(),
            None => AlertsConfig::default(),
        };
        let (alerting, budget_channel, budget_alerts) = Alerting::start(
            alerts,
            store.clone(),
            stats.clone(),
            live.clone(),
            membership.clone(),
        )?;
        let budgets = match budget_list {
            Some(list) => {
                let budgets =
                    Arc::new(Budgets::new(list).with_alert_channel(Arc::new(budget_channel)));
                let (s, b) = (store.clone(), budgets.clone());
                tokio::task::spawn_blocking(move || agentrace_store::restore_budgets(&*s, &b))
                    .await
                    .map_err(|e| StartError::Spawn(io::Error::other(e)))?
                    .map_err(StartError::RestoreBudgets)?;
                Some(budgets)
            }
            None => None,
        };
        {
            let (s, o) = (store.clone(), online.clone());
            tokio::task::spawn_blocking(move || {
                agentrace_store::restore_budgets(&*s, o.judge_budgets())
            })
            .await
            .map_err(|e| StartError::Spawn(io::Error::other(e)))?
            .map_err(StartError::RestoreBudgets)?;
        }
        online
            .load_rules(&store)
            .await
            .map_err(StartError::Online)?;

        let processing = Processing::new(
            Processors::new(
                ProcessorChain::new()
                    .masking(redactor.clone())
                    .pricing(Some(prices.clone()))
                    .budgets(budgets.clone())
                    .metrics(true)
                    .build(),
            ),
            stats.clone(),
            store.clone(),
        );

        stats
            .awaiting_parent
            .store(store.spans_awaiting_parent(), Ordering::Relaxed);
        let attributions =
            crate::ingest::late_attribution::Attributions::new(budgets.clone(), live.clone());
        let tracker = Arc::new(Tracker::new(config.orphan_grace, stats.clone()));
        let evaluation_results = Arc::new(EvaluationResults::new(stats.clone()));
        let (writer, writer_thread) = WriterThread::spawn(WriterParts {
            store: store.clone(),
            stats: stats.clone(),
            evaluation_results: evaluation_results.clone(),
            live: live.clone(),
            pipeline: pipeline.clone(),
            fan_out_records: config.forward.is_some(),
            attributions: attributions.clone(),
            watchers: vec![tracker.clone(), online.clone()],
            queue_requests: config.limits.queue_requests,
            queue_records: config.limits.queue_records,
        })
        .map_err(StartError::Spawn)?;
        guard.writer = Some(writer_thread);

        let receiver = Receiver::new(
            Ingestor::new(agentrace_ingest::Limits::default()),
            &config.limits,
            processing.clone(),
            writer,
            stats.clone(),
        );
        let auth = config.api_token.as_deref().map(|token| {
            Auth::new(token, stats.clone()).with_read_token(config.read_token.as_deref())
        });
        let config = Arc::new(config);
        let state = AppState {
            store: store.clone(),
            live,
            stats: stats.clone(),
            budgets,
            prices,
            config: config.clone(),
            alerts: Some(alerting.clone()),
            score_configs,
            online: Some(online.clone()),
        };

        let http_listener = bind("OTLP/HTTP", &config, config.otlp_http_port).await?;
        let grpc_listener = bind("OTLP/gRPC", &config, config.otlp_grpc_port).await?;
        let app_listener = bind("the app", &config, config.app_port).await?;
        let addr = |l: &TcpListener, what| {
            l.local_addr().map_err(|source| StartError::Bind {
                what,
                addr: std::net::SocketAddr::new(config.bind, 0),
                source,
            })
        };
        let otlp_http_addr = addr(&http_listener, "OTLP/HTTP")?;
        let otlp_grpc_addr = addr(&grpc_listener, "OTLP/gRPC")?;
        let app_addr = addr(&app_listener, "the app")?;

        let signal = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let hosts = Guard::new(&config, stats.clone());
        let otlp_http = app::with_host_check(
            app::with_cors(
                app::with_auth(http::router(receiver.clone(), &config.limits), auth.clone()),
                &config.cors_origins,
            ),
            hosts.clone(),
        );
        let assets = Arc::new(match &config.dashboard_dir {
            Some(dir) => Assets::folder(dir.clone()),
            None => Assets::embedded(),
        });
        let app_auth = auth
            .clone()
            .map(|a| a.with_sessions(Arc::new(Sessions::new()), hosts.clone()));
        let app_router = app::with_host_check(
            app::with_cors(
                app::router(
                    state.clone(),
                    app::metrics(
                        metrics.clone(),
                        stats.clone(),
                        state.store.clone(),
                        alerting.clone(),
                    ),
                    crate::http::compat::router(
                        state.clone(),
                        receiver.clone(),
                        &config.limits,
                        app_auth.clone(),
                    ),
                    app_auth,
                    hosts.clone(),
                    assets,
                ),
                &config.cors_origins,
            ),
            hosts,
        );
        let limits = &config.limits;
        let [http_stats, grpc_stats, app_stats] = stats.listeners.clone();
        let grpc_hygiene = listen::GrpcHygiene::new(limits, grpc_stats.clone());
        let grpc_router = grpc::router(
            receiver.clone(),
            TokenCheck::new(auth),
            limits,
            &grpc_hygiene,
        );
        // Outermost: a refused request costs no more than its headers.
        let otlp_http =
            listen::InFlight::new(limits, http_stats.clone(), listen::busy).around(otlp_http);
        let app_router =
            listen::InFlight::new(limits, app_stats.clone(), listen::busy).around(app_router);
        let mut servers: Tasks = Vec::new();
        for (what, listener, router, listener_stats) in [
            ("OTLP/HTTP", http_listener, otlp_http, http_stats),
            ("the app", app_listener, app_router, app_stats),
        ] {
            let gate = listen::Gate::new(listener, limits.max_connections, listener_stats);
            let limits = limits.clone();
            let stopped = signal(stopped.clone());
            servers.push(spawn_logged(what, async move {
                listen::serve_http(gate, router, &limits, stopped).await
            }));
        }
        let gate = listen::Gate::new(grpc_listener, limits.max_connections, grpc_stats);
        servers.push(spawn_logged(
            "OTLP/gRPC",
            grpc_router.serve_with_incoming_shutdown(
                listen::incoming(gate, limits.header_timeout),
                signal(stopped.clone()),
            ),
        ));

        let repairer = Repairer {
            tracker,
            store: store.clone(),
            stats: stats.clone(),
            attributions,
            grace: config.orphan_grace,
        };
        let mut background: Tasks = vec![
            tokio::spawn(crate::jobs::retention::run(
                store.clone(),
                config.retention.clone(),
                stats.clone(),
                stopped.clone(),
            )),
            tokio::spawn(repairer.run(stopped.clone())),
            tokio::spawn(evaluation_results.run(store.clone(), stopped.clone())),
            tokio::spawn(alerting.clone().run(budget_alerts, stopped.clone())),
            tokio::spawn(crate::telemetry::redaction_series::run(
                stats.clone(),
                store.clone(),
                stopped.clone(),
            )),
            tokio::spawn(
                crate::jobs::fleet::Beat {
                    store: store.clone(),
                    membership,
                    budgets: state.budgets.clone(),
                    live: state.live.clone(),
                }
                .run(stopped.clone()),
            ),
        ];
        if let (Some(path), Some(budgets)) = (&config.budgets, &state.budgets) {
            background.push(tokio::spawn(crate::jobs::budget_reload::run(
                path.clone(),
                budgets.clone(),
                store.clone(),
                stopped.clone(),
            )));
        }
        let parts = crate::jobs::online_evaluations::Parts {
            store: store.clone(),
            receiver: receiver.clone(),
        };
        background.push(tokio::spawn(online.clone().run(parts, stopped.clone())));
        if config.demo {
            background.push(tokio::spawn(crate::startup::demo::run(
                receiver,
                stopped.clone(),
            )));
        }

        tracing::info!(
            %otlp_http_addr, %otlp_grpc_addr, %app_addr,
            store = %store.describe(),
            "agentrace server started"
        );
        Ok(RunningServer {
            otlp_http_addr,
            otlp_grpc_addr,
            app_addr,
            state,
            stop,
            servers,
            background,
            writer: guard.writer.take(),
            pipeline: guard.pipeline.take(),
            processing,
        })
    }
}

/// Stops the writer and the pipeline when starting fails half-way.
struct StartGuard {
    writer: Option<WriterThread>,
    pipeline: Option<Pipeline>,
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

async fn bind(
    what: &'static str,
    config: &ServerConfig,
    port: u16,
) -> Result<TcpListener, StartError> {
    let addr = SocketAddr::new(config.bind, port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { what, addr, source })
}

fn spawn_logged<E: std::fmt::Display>(
    what: &'static str,
    server: impl Future<Output = Result<(), E>> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the {what} server stopped");
        }
    })
}

/// A running server. [`shutdown`](Self::shutdown) stops it gracefully; dropping it stops the
/// listeners too, without waiting.
#[derive(Debug)]
pub struct RunningServer {
    otlp_http_addr: SocketAddr,
    otlp_grpc_addr: SocketAddr,
    app_addr: SocketAddr,
    state: AppState,
    stop: watch::Sender<bool>,
    servers: Tasks,
    background: Tasks,
    writer: Option<WriterThread>,
    pipeline: Option<Pipeline>,
    /// For what the processors hold back at the end.
    processing: Processing,
}

impl RunningServer {
    /// Where OTLP/HTTP listens (`/v1/traces`, `/v1/logs`, `/v1/metrics`).
    pub fn otlp_http_addr(&self) -> SocketAddr {
        self.otlp_http_addr
    }

    /// Where OTLP/gRPC listens.
    pub fn otlp_grpc_addr(&self) -> SocketAddr {
        self.otlp_grpc_addr
    }

    /// Where the app listens (`/api/v1`, `/metrics`, `/healthz`, `/readyz`).
    pub fn app_addr(&self) -> SocketAddr {
        self.app_addr
    }

    /// The state the routes share (store, live feed, counters, …).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats.snapshot()
    }

    /// Stops gracefully: the listeners stop accepting and finish the requests in flight (each
    /// still answered after its commit), the demo and retention stop, the writer writes what
    /// is queued, the processors release what they hold back, the fan-out pipeline flushes (`/metrics`, the forwarder), the store is
    /// checkpointed. Returns the final counters.
    pub async fn shutdown(mut self) -> Result<StatsSnapshot, StopError> {
        self.stop.send_replace(true);
        let servers = std::mem::take(&mut self.servers);
        for server in servers {
            let abort = server.abort_handle();
            if tokio::time::timeout(DRAIN_TIMEOUT, server).await.is_err() {
                tracing::warn!("a connection was still open after {DRAIN_TIMEOUT:?}; closing it");
                abort.abort();
            }
        }
        for task in std::mem::take(&mut self.background) {
            task.await?;
        }
        let writer = self.writer.take();
        let pipeline = self.pipeline.take();
        let processing = self.processing.clone();
        let store = self.state.store.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StopError> {
            if let Some(writer) = writer {
                writer.stop();
            }
            let released = processing.shutdown();
            if let Some(pipeline) = pipeline {
                for m in released {
                    pipeline.submit_measurement(m);
                }
                pipeline.shutdown()?;
            }
            store.close()?;
            Ok(())
        })
        .await??;
        tracing::info!("agentrace server stopped");
        Ok(self.state.stats.snapshot())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: await it, then call
/// [`RunningServer::shutdown`].
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
