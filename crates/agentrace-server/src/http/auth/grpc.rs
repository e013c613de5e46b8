//! Who sends telemetry over OTLP/gRPC: the call's metadata (`authorization`,
//! `x-agentrace-project`) resolved before its message is decoded, by each OTLP service
//! ([`crate::ingest::receive::grpc`]); refusals as gRPC statuses.

use std::future::Future;
use std::pin::Pin;

use axum::http::HeaderMap;
use tonic::Status;

use super::{Auth, Refusal, UNAUTHORIZED};
use crate::ingest::route::{Sender, SenderCheck};

impl SenderCheck for Auth {
    fn sender<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> Pin<Box<dyn Future<Output = Result<Sender, Status>> + Send + 'a>> {
        Box::pin(async move {
            self.ingest_sender(headers).await.map_err(|refusal| {
                self.count(&refusal);
                status(refusal)
            })
        })
    }
}

/// The gRPC status of a refusal: `UNAUTHENTICATED`, `PERMISSION_DENIED`, `NOT_FOUND` or
/// `UNAVAILABLE`.
pub(crate) fn status(refusal: Refusal) -> Status {
    match refusal {
        Refusal::Unauthenticated => Status::unauthenticated(UNAUTHORIZED),
        Refusal::Forbidden(why) => Status::permission_denied(why),
        Refusal::NoProject(why) => Status::not_found(why),
        Refusal::Unavailable(why) => Status::unavailable(why),
    }
}
