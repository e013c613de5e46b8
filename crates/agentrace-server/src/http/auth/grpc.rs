//! Who sends telemetry over OTLP/gRPC: the call's metadata (`authorization`,
//! `x-agentrace-project`) resolved before its message is decoded, by each OTLP service
//! ([`crate::ingest::receive::grpc`]); refusals as gRPC statuses.

use tonic::Status;

use super::{Refusal, UNAUTHORIZED};

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
