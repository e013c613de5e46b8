//! The API token on OTLP/gRPC: read from a call's metadata and checked before its message is
//! decoded, as the interceptor of each OTLP service ([`crate::ingest::receive::grpc::router`] takes
//! it; OTLP/HTTP is checked by [`require_token`](super::require_token)).

use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::{Auth, UNAUTHORIZED};

/// Checks the API token from the request's metadata, before its message is decoded (without
/// a configured token, every call passes).
#[derive(Debug, Clone)]
pub(crate) struct TokenCheck(Option<Auth>);

impl TokenCheck {
    pub(crate) fn new(auth: Option<Auth>) -> Self {
        Self(auth)
    }
}

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
