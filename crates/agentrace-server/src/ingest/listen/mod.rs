//! Connection hygiene on every listener (OTLP/HTTP, OTLP/gRPC, the app), so that idle, stalled
//! or too many connections cannot exhaust the server — and each listener has its own limits,
//! so `/healthz` and the dashboard stay reachable while the ingest listeners are saturated:
//!
//! - **a connection cap** ([`Gate`]): beyond `limits.max_connections` open connections a new
//!   one is accepted and closed at once (counted), before anything is read from it;
//! - **a header timeout**: a request's headers must arrive within `limits.header_timeout`
//!   (HTTP/1.1: from the moment the connection waits for a request, so an idle keep-alive
//!   connection is closed after it too; gRPC: the first bytes of a new connection);
//! - **a minimum body rate** ([`body::MinRate`]): a body slower than `limits.body_min_rate`
//!   bytes per second, once a header timeout has passed, is cut off (HTTP 408; a gRPC call
//!   fails);
//! - **a cap on requests in flight** ([`InFlight`]): beyond `limits.max_in_flight` requests
//!   being handled, new ones are refused at once with a retryable answer, their body read
//!   (at most 4 MiB, within a second) and dropped rather than kept — which bounds the memory
//!   bodies can take (docs/server.md has the formula) — so that the client reads the answer
//!   instead of a reset connection.
//!
//! All of it happens before the API token is checked, so it holds for unauthenticated clients.

pub(crate) mod body;
pub(crate) mod client;
mod grpc;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

use client::{ClientAddress, TrustedProxies};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) use grpc::{GrpcHygiene, incoming};

use crate::config::ReceiveLimits;
use crate::telemetry::stats::ListenerStats;

/// How often an HTTP/2 connection is pinged, and how long the answer may take.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(30);

/// Accepts connections while fewer than its limit are open.
pub(crate) struct Gate {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    stats: Arc<ListenerStats>,
}

impl Gate {
    pub(crate) fn new(
        listener: TcpListener,
        max_connections: usize,
        stats: Arc<ListenerStats>,
    ) -> Self {
        Self {
            listener,
            slots: Arc::new(Semaphore::new(max_connections)),
            stats,
        }
    }

    /// The next connection with its slot (freed when the permit is dropped). Connections over
    /// the limit are closed and counted; errors accepting (e.g. out of file descriptors) are
    /// waited out briefly rather than spinning.
    pub(crate) async fn accept(&self) -> (TcpStream, OwnedSemaphorePermit) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => match self.slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let _ = stream.set_nodelay(true);
                        return (stream, permit);
                    }
                    Err(_) => {
                        self.stats
                            .connections_refused
                            .fetch_add(1, Ordering::Relaxed);
                        drop(stream);
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Serves `router` (HTTP/1.1, and HTTP/2 for clients that ask for it) on the connections
/// `gate` lets in, with `limits`' header timeout, until `shutdown` resolves; then waits for the
/// open connections to finish their requests.
pub(crate) async fn serve_http(
    gate: Gate,
    router: Router,
    (limits, proxies): (&ReceiveLimits, &TrustedProxies),
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_KEEP_ALIVE)
        .keep_alive_timeout(H2_KEEP_ALIVE)
        .max_concurrent_streams(u32::try_from(limits.max_in_flight).unwrap_or(u32::MAX));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, permit) = tokio::select! {
            accepted = gate.accept() => accepted,
            () = &mut shutdown => break,
        };
        // Each request learns where it came from (`crate::ingest::listen::client`).
        let (peer, proxies) = (stream.peer_addr().ok().map(|a| a.ip()), proxies.clone());
        let service = tower::util::MapRequest::new(
            router.clone(),
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                let client = peer.map(|peer| proxies.client(peer, request.headers()));
                request.extensions_mut().insert(ClientAddress(client));
                request
            },
        );
        let service = TowerToHyperService::new(service);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection cut by a timeout or the peer is the client's affair.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(gate);
    graceful.shutdown().await;
    Ok(())
}

/// Refuses requests beyond a number in flight at once, and makes bodies keep a minimum rate.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    slots: Arc<Semaphore>,
    stats: Arc<ListenerStats>,
    body_min_rate: u64,
    grace: Duration,
    /// The answer to a refused request.
    refuse: fn() -> Response,
}

impl InFlight {
    pub(crate) fn new(
        limits: &ReceiveLimits,
        stats: Arc<ListenerStats>,
        refuse: fn() -> Response,
    ) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_in_flight)),
            stats,
            body_min_rate: limits.body_min_rate,
            grace: limits.header_timeout,
            refuse,
        }
    }

    /// `router` behind this limit (the outermost layer but the host check).
    pub(crate) fn around(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let this = self.clone();
                async move { this.handle(request, next).await }
            },
        ))
    }

    async fn handle(&self, request: Request, next: Next) -> Response {
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            self.stats.requests_shed.fetch_add(1, Ordering::Relaxed);
            drain(request.into_body()).await;
            return (self.refuse)();
        };
        let (min_rate, grace) = (self.body_min_rate, self.grace);
        let request =
            request.map(|b| axum::body::Body::new(body::MinRate::new(b, min_rate, grace)));
        next.run(request).await
    }
}

/// What of a refused request's body is read and dropped before the answer: closing a
/// connection with unread data resets it, and the client then sees an error instead of the
/// 503 that tells it to retry. Bounded, and nothing is kept.
const DRAIN_BYTES: usize = 4 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(1);

async fn drain(body: axum::body::Body) {
    let mut chunks = body.into_data_stream();
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0;
        while let Some(Ok(chunk)) = chunks.next().await {
            read += chunk.len();
            if read > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

/// The app's answer to a request refused for too many in flight.
pub(crate) fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "1")],
        "too many requests in flight (limits.max_in_flight); try again\n",
    )
        .into_response()
}
