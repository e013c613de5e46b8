//! The three listeners — OTLP/HTTP, OTLP/gRPC and the app, all on `config.bind` — bound, and
//! served behind their guards: the limits of their connections and of the requests in flight
//! ([`crate::ingest::listen`]), the `Host` check, CORS and the API token.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use agentrace_prometheus::PrometheusSink;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::StartError;
use super::running::{Addrs, Tasks};
use crate::config::ServerConfig;
use crate::http::app;
use crate::http::auth::{Auth, Sessions};
use crate::http::compat;
use crate::http::dashboard::Assets;
use crate::http::guard::Guard;
use crate::http::state::AppState;
use crate::ingest::listen;
use crate::ingest::receive::{Receiver, grpc, http};

/// The listeners, bound and not yet served.
pub(super) struct Listeners {
    otlp_http: TcpListener,
    otlp_grpc: TcpListener,
    app: TcpListener,
}

impl Listeners {
    /// Binds OTLP/HTTP, OTLP/gRPC and the app, in this order.
    pub(super) async fn bind(config: &ServerConfig) -> Result<Self, StartError> {
        Ok(Self {
            otlp_http: bind("OTLP/HTTP", config, config.otlp_http_port).await?,
            otlp_grpc: bind("OTLP/gRPC", config, config.otlp_grpc_port).await?,
            app: bind("the app", config, config.app_port).await?,
        })
    }

    /// Where OTLP/HTTP, OTLP/gRPC and the app listen.
    pub(super) fn addrs(&self, config: &ServerConfig) -> Result<Addrs, StartError> {
        let addr = |l: &TcpListener, what| {
            l.local_addr().map_err(|source| StartError::Bind {
                what,
                addr: SocketAddr::new(config.bind, 0),
                source,
            })
        };
        Ok(Addrs {
            otlp_http: addr(&self.otlp_http, "OTLP/HTTP")?,
            otlp_grpc: addr(&self.otlp_grpc, "OTLP/gRPC")?,
            app: addr(&self.app, "the app")?,
        })
    }

    /// Serves each listener until `stopped`: OTLP into `receiver`, and the app's routes over
    /// `state` (`/metrics` from the span metrics of `metrics` and each project's alerting).
    pub(super) fn serve(
        self,
        state: &AppState,
        receiver: &Receiver,
        metrics: PrometheusSink,
        stopped: &watch::Receiver<bool>,
    ) -> Tasks {
        let config = &state.config;
        let limits = &config.limits;
        let tokens = config
            .api_token
            .as_deref()
            .map(|admin| (admin, config.read_token.as_deref()));
        let mut auth = Auth::new(tokens, state.directory.clone(), state.stats.clone());
        if state.people {
            auth = auth.with_people(crate::http::auth::PeopleLogin {
                passwords: config.password_login,
                audit: state.audit.clone(),
                sso: state.sso.clone(),
            });
        }
        let hosts = Guard::new(config, state.stats.clone());
        let proxies = crate::ingest::listen::client::TrustedProxies::new(&config.trusted_proxies);
        let otlp_http = app::with_host_check(
            app::with_cors(
                crate::http::auth::ingesting(http::router(receiver.clone(), limits), auth.clone()),
                &config.cors_origins,
            ),
            hosts.clone(),
        );
        let app_router = app_router(state, receiver, auth.clone(), hosts, metrics);
        let [http_stats, grpc_stats, app_stats] = state.stats.listeners.clone();
        let grpc_hygiene = listen::GrpcHygiene::new(limits, grpc_stats.clone());
        let check: Arc<dyn crate::ingest::route::SenderCheck> = Arc::new(auth.clone());
        let grpc_router = grpc::router(receiver.clone(), &check, limits, &grpc_hygiene);
        // Outermost: a refused request costs no more than its headers.
        let otlp_http =
            listen::InFlight::new(limits, http_stats.clone(), listen::busy).around(otlp_http);
        let app_router =
            listen::InFlight::new(limits, app_stats.clone(), listen::busy).around(app_router);
        let signal = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut servers: Tasks = Vec::new();
        for (what, listener, router, listener_stats) in [
            ("OTLP/HTTP", self.otlp_http, otlp_http, http_stats),
            ("the app", self.app, app_router, app_stats),
        ] {
            let gate = listen::Gate::new(listener, limits.max_connections, listener_stats);
            let (limits, proxies) = (limits.clone(), proxies.clone());
            let stopped = signal(stopped.clone());
            servers.push(spawn_logged(what, async move {
                listen::serve_http(gate, router, (&limits, &proxies), stopped).await
            }));
        }
        let gate = listen::Gate::new(self.otlp_grpc, limits.max_connections, grpc_stats);
        servers.push(spawn_logged(
            "OTLP/gRPC",
            grpc_router.serve_with_incoming_shutdown(
                listen::incoming(gate, limits.header_timeout),
                signal(stopped.clone()),
            ),
        ));
        servers
    }
}

/// The app port's router: the API, `/metrics`, the compat APIs and the dashboard, behind the
/// token (with the dashboard's sessions), CORS and the `Host` check.
fn app_router(
    state: &AppState,
    receiver: &Receiver,
    auth: Auth,
    hosts: Guard,
    metrics: PrometheusSink,
) -> Router {
    let config = &state.config;
    let assets = Arc::new(match &config.dashboard_dir {
        Some(dir) => Assets::folder(dir.clone()),
        None => Assets::embedded(),
    });
    let auth = auth.with_sessions(Arc::new(Sessions::new()), hosts.clone());
    app::with_host_check(
        app::with_cors(
            app::router(
                state.clone(),
                app::metrics(metrics, state),
                compat::router(
                    state.clone(),
                    receiver.clone(),
                    &config.limits,
                    auth.clone(),
                ),
                auth,
                hosts.clone(),
                assets,
            ),
            &config.cors_origins,
        ),
        hosts,
    )
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
