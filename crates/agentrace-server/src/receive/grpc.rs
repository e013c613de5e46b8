//! OTLP/gRPC: the `TraceService`, `LogsService` and `MetricsService` of opentelemetry-proto
//! (served by [`ExportServer`]), gzip accepted, messages bounded, the API token checked before
//! a message is decoded.

use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::Router;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::grpc_service::{ExportServer, GrpcSignal};
use super::{ExportFailure, Logs, Metrics, RETRY_AFTER, Receiver, Traces};
use crate::auth::{Auth, UNAUTHORIZED};
use crate::config::ReceiveLimits;
use crate::listen::GrpcHygiene;

/// The three OTLP services.
#[derive(Debug, Clone)]
pub(crate) struct GrpcReceiver {
    pub(super) receiver: Receiver,
}

/// Checks the API token from the request's metadata, before its message is decoded.
#[derive(Debug, Clone)]
struct TokenCheck(Option<Auth>);

impl Interceptor for TokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        match &self.0 {
            Some(auth) => {
                let header = request
                    .metadata()
                    .get("authorization")
                    .map(|v| v.as_bytes());
                if auth.allows(header) {
                    Ok(request)
                } else {
                    Err(Status::unauthenticated(UNAUTHORIZED))
                }
            }
            None => Ok(request),
        }
    }
}

/// A tonic router serving the three OTLP services, each call admitted by `hygiene`.
pub(crate) fn router(
    receiver: Receiver,
    auth: Option<Auth>,
    limits: &ReceiveLimits,
    hygiene: &GrpcHygiene,
) -> Router {
    let service = GrpcReceiver { receiver };
    let check = TokenCheck(auth);
    let max = limits.max_decompressed_bytes;
    let streams = u32::try_from(limits.max_in_flight).unwrap_or(u32::MAX);
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEP_ALIVE))
        .http2_keepalive_timeout(Some(KEEP_ALIVE))
        .max_concurrent_streams(streams)
        .add_service(InterceptedService::new(
            ExportServer::<Traces>::new(service.clone(), max, hygiene.clone()),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            ExportServer::<Logs>::new(service.clone(), max, hygiene.clone()),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            ExportServer::<Metrics>::new(service, max, hygiene.clone()),
            check,
        ))
}

/// How often a connection is pinged, and how long the answer may take.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(30);

fn retryable(code: Code, message: String) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
    )
}

impl GrpcReceiver {
    pub(super) async fn export<S: GrpcSignal>(
        &self,
        request: Request<S::Request>,
    ) -> Result<Response<S::Response>, Status> {
        match self.receiver.export::<S>(request.into_inner()).await {
            Ok(response) => Ok(Response::new(response)),
            Err(failure) => Err(status(&failure)),
        }
    }
}

/// The status answering a failed export (see the table of `receive`).
pub(super) fn status(failure: &ExportFailure) -> Status {
    match failure {
        ExportFailure::Invalid(m) | ExportFailure::TooLarge(m) => {
            Status::invalid_argument(m.clone())
        }
        ExportFailure::Overloaded(_) => retryable(Code::ResourceExhausted, failure.message()),
        ExportFailure::Unavailable(m) => retryable(Code::Unavailable, m.clone()),
        ExportFailure::Failed(m) => Status::internal(m.clone()),
    }
}
