//! Each OTLP service's `Export` method served with a codec of ours, so that a message is
//! counted and admitted to the decode budget before it is decoded (`receive::admission`), and
//! the status codes follow the OTLP specification: a message that does not decode as protobuf,
//! or one over the size limit, is `INVALID_ARGUMENT` — permanent. (tonic's generated servers
//! answer `INTERNAL` and `OUT_OF_RANGE`; exporters retry `OUT_OF_RANGE`, so they would send an
//! oversize message forever.)

use std::convert::Infallible;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use prost::bytes::Buf;
use tonic::body::Body;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::codegen::{BoxFuture, Service};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{Admitted, BodyFormat, ExportFailure, OtlpSignal, RETRY_AFTER, Receiver};
use crate::ingest::listen::GrpcHygiene;
use crate::ingest::route::{Sender, SenderCheck};

/// A signal served over gRPC: its service's name.
pub(crate) trait GrpcSignal: OtlpSignal {
    /// The fully qualified service name.
    const SERVICE: &'static str;
}

impl GrpcSignal for super::Traces {
    const SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl GrpcSignal for super::Logs {
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
}

impl GrpcSignal for super::Metrics {
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
}

/// The `Export` method of `S`'s service: gzip accepted and sent, messages up to `max` bytes
/// (decompressed), each call admitted by the listener's [`GrpcHygiene`].
pub(crate) struct ExportServer<S> {
    receiver: Receiver,
    check: std::sync::Arc<dyn SenderCheck>,
    max: usize,
    hygiene: GrpcHygiene,
    signal: PhantomData<fn() -> S>,
}

impl<S> Clone for ExportServer<S> {
    fn clone(&self) -> Self {
        Self {
            receiver: self.receiver.clone(),
            check: self.check.clone(),
            max: self.max,
            hygiene: self.hygiene.clone(),
            signal: PhantomData,
        }
    }
}

impl<S> ExportServer<S> {
    /// Served into `receiver`, each call's sender resolved by `check` before its message is
    /// decoded.
    pub(crate) fn new(
        receiver: Receiver,
        check: std::sync::Arc<dyn SenderCheck>,
        max: usize,
        hygiene: GrpcHygiene,
    ) -> Self {
        Self {
            receiver,
            check,
            max,
            hygiene,
            signal: PhantomData,
        }
    }
}

impl<S: GrpcSignal> NamedService for ExportServer<S> {
    const NAME: &'static str = S::SERVICE;
}

/// A decoded request and its share of the decode budget, held until it is answered.
struct AdmittedRequest<R> {
    request: R,
    admitted: Admitted,
}

/// The method itself, for tonic's unary handling.
struct Export<S>(Receiver, PhantomData<fn() -> S>);

impl<S: GrpcSignal> UnaryService<AdmittedRequest<S::Request>> for Export<S> {
    type Response = S::Response;
    type Future = BoxFuture<tonic::Response<S::Response>, Status>;

    fn call(&mut self, request: tonic::Request<AdmittedRequest<S::Request>>) -> Self::Future {
        let receiver = self.0.clone();
        let sender = request.extensions().get::<Sender>().cloned();
        let AdmittedRequest { request, admitted } = request.into_inner();
        Box::pin(async move {
            let Some(sender) = sender else {
                return Err(Status::internal("the call's sender was not resolved"));
            };
            let answer = receiver.export::<S>(&sender, request).await;
            drop(admitted);
            answer
                .map(tonic::Response::new)
                .map_err(|failure| status(&failure))
        })
    }
}

impl<S: GrpcSignal> Service<http::Request<Body>> for ExportServer<S> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if request.uri().path() != format!("/{}/Export", S::SERVICE) {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            let (_slot, mut request) = match this.hygiene.admit(request) {
                Ok(admitted) => admitted,
                Err(refused) => return Ok(refused.into_http()),
            };
            match this.check.sender(request.headers()).await {
                Ok(sender) => {
                    request.extensions_mut().insert(sender);
                }
                Err(status) => return Ok(status.into_http()),
            }
            let codec = ExportCodec::<S> {
                receiver: this.receiver.clone(),
                signal: PhantomData,
            };
            let mut grpc = Grpc::new(codec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(this.max);
            let response = grpc
                .unary(Export::<S>(this.receiver, PhantomData), request)
                .await;
            Ok(oversize_is_invalid(response))
        })
    }
}

/// tonic refuses a message over the limit with `OUT_OF_RANGE` (from its framing, before any
/// codec); our method never answers that code, so here it can only mean "too large".
fn oversize_is_invalid(mut response: http::Response<Body>) -> http::Response<Body> {
    let code = response
        .headers()
        .get(Status::GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    if code == Some(Code::OutOfRange as i32) {
        response.headers_mut().insert(
            Status::GRPC_STATUS,
            http::HeaderValue::from(Code::InvalidArgument as i32),
        );
    }
    response
}

/// `S`'s response encoded, its request counted, admitted and decoded; a message that does
/// not decode is `INVALID_ARGUMENT`.
struct ExportCodec<S> {
    receiver: Receiver,
    signal: PhantomData<fn() -> S>,
}

impl<S: GrpcSignal> Codec for ExportCodec<S> {
    type Encode = S::Response;
    type Decode = AdmittedRequest<S::Request>;
    type Encoder = ProtobufEncoder<S::Response>;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        ProtobufEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self {
            receiver: self.receiver.clone(),
            signal: PhantomData,
        }
    }
}

struct ProtobufEncoder<E>(PhantomData<fn() -> E>);

impl<E: prost::Message> Encoder for ProtobufEncoder<E> {
    type Item = E;
    type Error = Status;

    fn encode(&mut self, item: E, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        // The buffer grows as needed: encoding cannot run out of room.
        item.encode(buf)
            .map_err(|e| Status::internal(format!("encoding the response failed: {e}")))
    }
}

impl<S: GrpcSignal> Decoder for ExportCodec<S> {
    type Item = AdmittedRequest<S::Request>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        let admitted = self
            .receiver
            .admit::<S>(&bytes, BodyFormat::Protobuf)
            .map_err(|failure| status(&failure))?;
        let request = <S::Request as prost::Message>::decode(bytes)
            .map_err(|e| Status::invalid_argument(format!("the message does not decode: {e}")))?;
        Ok(Some(AdmittedRequest { request, admitted }))
    }
}

/// The status answering a failed export (see the table of `receive`).
fn status(failure: &ExportFailure) -> Status {
    match failure {
        ExportFailure::Invalid(m) | ExportFailure::TooLarge(m) => {
            Status::invalid_argument(m.clone())
        }
        ExportFailure::Overloaded(_) => retryable(Code::ResourceExhausted, failure.message()),
        ExportFailure::Unavailable(m) => retryable(Code::Unavailable, m.clone()),
        ExportFailure::Failed(m) => Status::internal(m.clone()),
    }
}

fn retryable(code: Code, message: String) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_retry_info(Some(RETRY_AFTER)),
    )
}
