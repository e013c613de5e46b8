//! OTLP/gRPC: the `TraceService`, `LogsService` and `MetricsService` of opentelemetry-proto,
//! gzip accepted, messages bounded.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::Router;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{ExportFailure, Logs, Metrics, OtlpSignal, RETRY_AFTER, Receiver, Traces};
use crate::auth::{Auth, UNAUTHORIZED};
use crate::config::ReceiveLimits;

/// The three OTLP services.
#[derive(Debug, Clone)]
pub(crate) struct GrpcReceiver {
    receiver: Receiver,
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

/// A tonic router serving the three OTLP services.
pub(crate) fn router(receiver: Receiver, auth: Option<Auth>, limits: &ReceiveLimits) -> Router {
    let service = GrpcReceiver { receiver };
    let check = TokenCheck(auth);
    let max = limits.max_decompressed_bytes;
    tonic::transport::Server::builder()
        .add_service(InterceptedService::new(
            TraceServiceServer::new(service.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            LogsServiceServer::new(service.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            MetricsServiceServer::new(service)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max),
            check,
        ))
}

fn retryable(code: Code, message: String) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
    )
}

impl GrpcReceiver {
    async fn export<S: OtlpSignal>(
        &self,
        request: Request<S::Request>,
    ) -> Result<Response<S::Response>, Status> {
        match self.receiver.export::<S>(request.into_inner()).await {
            Ok(response) => Ok(Response::new(response)),
            Err(failure) => Err(match &failure {
                ExportFailure::Invalid(m) => Status::invalid_argument(m.clone()),
                ExportFailure::Overloaded => retryable(Code::ResourceExhausted, failure.message()),
                ExportFailure::Unavailable(m) => retryable(Code::Unavailable, m.clone()),
                ExportFailure::Failed(m) => Status::internal(m.clone()),
            }),
        }
    }
}

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        GrpcReceiver::export::<Traces>(self, request).await
    }
}

#[tonic::async_trait]
impl LogsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        GrpcReceiver::export::<Logs>(self, request).await
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        GrpcReceiver::export::<Metrics>(self, request).await
    }
}
