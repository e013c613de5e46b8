//! A started server ([`RunningServer`]) and its stop: the listeners drain, the jobs end, the
//! writer writes what is queued, the processors release what they hold, the fan-out pipeline
//! flushes and the store closes ([`RunningServer::shutdown`]), on [`shutdown_signal`] or when
//! the caller says.

use std::net::SocketAddr;
use std::time::Duration;

use agentrace_core::Pipeline;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::error::StopError;
use crate::http::state::AppState;
use crate::ingest::processors::Processing;
use crate::ingest::writer::WriterThread;
use crate::telemetry::stats::StatsSnapshot;

/// How long shutdown waits for open connections to finish their requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Server tasks that are told to stop, then awaited.
pub(super) type Tasks = Vec<JoinHandle<()>>;

/// Where the listeners listen (the ports they took, for port 0).
#[derive(Debug, Clone, Copy)]
pub(super) struct Addrs {
    pub(super) otlp_http: SocketAddr,
    pub(super) otlp_grpc: SocketAddr,
    pub(super) app: SocketAddr,
}

/// A running server. [`shutdown`](Self::shutdown) stops it gracefully; dropping it stops the
/// listeners too, without waiting.
#[derive(Debug)]
pub struct RunningServer {
    pub(super) addrs: Addrs,
    pub(super) state: AppState,
    pub(super) stop: watch::Sender<bool>,
    /// The listeners' servers, drained first.
    pub(super) servers: Tasks,
    /// The jobs, awaited once the listeners are done.
    pub(super) background: Tasks,
    pub(super) writer: Option<WriterThread>,
    pub(super) pipeline: Option<Pipeline>,
    /// For what the processors hold back at the end.
    pub(super) processing: Processing,
}

impl RunningServer {
    /// Where OTLP/HTTP listens (`/v1/traces`, `/v1/logs`, `/v1/metrics`).
    pub fn otlp_http_addr(&self) -> SocketAddr {
        self.addrs.otlp_http
    }

    /// Where OTLP/gRPC listens.
    pub fn otlp_grpc_addr(&self) -> SocketAddr {
        self.addrs.otlp_grpc
    }

    /// Where the app listens (`/api/v1`, `/metrics`, `/healthz`, `/readyz`).
    pub fn app_addr(&self) -> SocketAddr {
        self.addrs.app
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
        let store = self.state.configured_store.clone();
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
