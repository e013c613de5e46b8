//! OTLP/gRPC: the `TraceService`, `LogsService` and `MetricsService` of opentelemetry-proto
//! (served by [`ExportServer`]), gzip accepted, messages bounded, the sender (its key and the
//! project it names) resolved before a message is decoded (by a [`SenderCheck`]).

use tonic::transport::server::Router;

use super::grpc_service::ExportServer;
use super::{Logs, Metrics, Receiver, Traces};
use crate::config::ReceiveLimits;
use crate::ingest::listen::GrpcHygiene;
use crate::ingest::route::SenderCheck;

/// A tonic router serving the three OTLP services, each call admitted by `hygiene`, then its
/// sender resolved by `check` before its message is decoded.
pub(crate) fn router(
    receiver: Receiver,
    check: &std::sync::Arc<dyn SenderCheck>,
    limits: &ReceiveLimits,
    hygiene: &GrpcHygiene,
) -> Router {
    let max = limits.max_decompressed_bytes;
    let streams = u32::try_from(limits.max_in_flight).unwrap_or(u32::MAX);
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEP_ALIVE))
        .http2_keepalive_timeout(Some(KEEP_ALIVE))
        .max_concurrent_streams(streams)
        .add_service(ExportServer::<Traces>::new(
            receiver.clone(),
            check.clone(),
            max,
            hygiene.clone(),
        ))
        .add_service(ExportServer::<Logs>::new(
            receiver.clone(),
            check.clone(),
            max,
            hygiene.clone(),
        ))
        .add_service(ExportServer::<Metrics>::new(
            receiver,
            check.clone(),
            max,
            hygiene.clone(),
        ))
}

/// How often a connection is pinged, and how long the answer may take.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(30);
