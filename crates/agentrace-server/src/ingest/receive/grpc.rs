//! OTLP/gRPC: the `TraceService`, `LogsService` and `MetricsService` of opentelemetry-proto
//! (served by [`ExportServer`]), gzip accepted, messages bounded, the API token checked before
//! a message is decoded (by the interceptor [`router`] is given: [`crate::http::auth::grpc`]).

use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::Router;

use super::grpc_service::ExportServer;
use super::{Logs, Metrics, Receiver, Traces};
use crate::config::ReceiveLimits;
use crate::ingest::listen::GrpcHygiene;

/// A tonic router serving the three OTLP services, each call admitted by `hygiene`, then by
/// `check` (the API token) before its message is decoded.
pub(crate) fn router(
    receiver: Receiver,
    check: impl Interceptor + Clone + Send + Sync + 'static,
    limits: &ReceiveLimits,
    hygiene: &GrpcHygiene,
) -> Router {
    let max = limits.max_decompressed_bytes;
    let streams = u32::try_from(limits.max_in_flight).unwrap_or(u32::MAX);
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEP_ALIVE))
        .http2_keepalive_timeout(Some(KEEP_ALIVE))
        .max_concurrent_streams(streams)
        .add_service(InterceptedService::new(
            ExportServer::<Traces>::new(receiver.clone(), max, hygiene.clone()),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            ExportServer::<Logs>::new(receiver.clone(), max, hygiene.clone()),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            ExportServer::<Metrics>::new(receiver, max, hygiene.clone()),
            check,
        ))
}

/// How often a connection is pinged, and how long the answer may take.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(30);
