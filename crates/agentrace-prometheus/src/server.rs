//! `/metrics` over HTTP: an axum [`Router`] to mount, or a server on a thread of its own.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::sync::watch;

use crate::PrometheusSink;

/// Where [`PrometheusSink::serve`] is usually pointed: `127.0.0.1:9464`, the port OpenTelemetry
/// reserves for Prometheus exporters. Loopback only; listen on `0.0.0.0` to be scraped from
/// other hosts.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9464));

/// The path the metrics are served on.
pub const METRICS_PATH: &str = "/metrics";

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a stopping server waits for open scrapes to finish.
const GRACE: Duration = Duration::from_secs(2);

/// Starting or running the metrics server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address could not be listened on (in use, not local, no permission).
    #[error("cannot serve Prometheus metrics on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The server's thread or runtime could not be started.
    #[error("cannot start the Prometheus metrics server: {0}")]
    Start(#[source] io::Error),
    /// The server stopped with an I/O error.
    #[error("the Prometheus metrics server failed: {0}")]
    Io(#[source] io::Error),
    /// The server's thread panicked.
    #[error("the Prometheus metrics server thread panicked")]
    Panicked,
}

impl PrometheusSink {
    /// An axum router answering `GET /metrics` (and `HEAD`) with [`render`](Self::render), to
    /// mount in an application's own server.
    pub fn router(&self) -> Router {
        let sink = self.clone();
        Router::new().route(
            METRICS_PATH,
            get(move || {
                let sink = sink.clone();
                async move { ([(CONTENT_TYPE, CONTENT_TYPE_TEXT)], sink.render()) }
            }),
        )
    }

    /// Serves [`router`](Self::router) on `addr` (port 0 picks a free one), from a thread and
    /// a single-threaded runtime of its own, so it works with or without an application
    /// runtime and never blocks the caller. Binding happens before this returns, so a busy
    /// port is reported here. The server runs until the returned handle is stopped or dropped.
    pub fn serve(&self, addr: SocketAddr) -> Result<MetricsServer, ServeError> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(ServeError::Start)?;
        listener.set_nonblocking(true).map_err(ServeError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(ServeError::Start)?;
        let (stop, stopped) = watch::channel(false);
        let router = self.router();
        let thread = std::thread::Builder::new()
            .name("agentrace-prometheus".into())
            .spawn(move || {
                // Scrapes must not turn into records: hyper's events stay off this thread.
                agentrace_core::sink::silence_tracing_on_this_thread();
                runtime.block_on(run(listener, router, stopped))
            })
            .map_err(ServeError::Start)?;
        Ok(MetricsServer {
            addr: local_addr,
            stop,
            thread: Some(thread),
        })
    }
}

async fn run(
    listener: std::net::TcpListener,
    router: Router,
    stopped: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    // A dropped sender counts as a stop too (`wait_for` fails).
    let mut graceful = stopped.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    let mut deadline = stopped;
    tokio::select! {
        result = server.into_future() => result,
        () = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(GRACE).await;
        } => Ok(()),
    }
}

/// A running metrics server (see [`PrometheusSink::serve`]). Dropping it stops the server.
#[derive(Debug)]
#[must_use = "dropping the handle stops the server"]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl MetricsServer {
    /// The address listened on (with the actual port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the metrics, e.g. `http://127.0.0.1:9464/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}{METRICS_PATH}", self.addr)
    }

    /// Stops accepting scrapes, lets open ones finish (for up to two seconds), and waits for
    /// the server's thread; the port is free when this returns.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.join()
    }

    fn join(&mut self) -> Result<(), ServeError> {
        self.stop.send_replace(true);
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(ServeError::Io(e)),
            Some(Err(_)) => Err(ServeError::Panicked),
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        let _ = self.join();
    }
}
