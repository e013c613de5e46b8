//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` with `application/x-protobuf` or
//! `application/json` bodies, optionally gzip-compressed.

use agentrace_ingest::gzip::GunzipError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;

use super::{BodyFormat, ExportFailure, Logs, Metrics, OtlpSignal, RETRY_AFTER, Receiver, Traces};
use crate::config::ReceiveLimits;
use crate::ingest::route::Sender;

/// gRPC status codes used in HTTP error bodies (`google.rpc.Status.code`).
mod code {
    pub(super) const INVALID_ARGUMENT: i32 = 3;
    pub(super) const RESOURCE_EXHAUSTED: i32 = 8;
    pub(super) const INTERNAL: i32 = 13;
    pub(super) const UNAVAILABLE: i32 = 14;
}

#[derive(Debug, Clone)]
struct HttpState {
    receiver: Receiver,
    max_body: usize,
    max_decompressed: usize,
}

/// The OTLP/HTTP routes. Each request's [`Sender`] must be resolved before (the layer
/// `crate::http::auth::ingesting` puts on them).
pub(crate) fn router(receiver: Receiver, limits: &ReceiveLimits) -> Router {
    let state = HttpState {
        receiver,
        max_body: limits.max_body_bytes,
        max_decompressed: limits.max_decompressed_bytes,
    };
    Router::new()
        .route("/v1/traces", post(export::<Traces>))
        .route("/v1/logs", post(export::<Logs>))
        .route("/v1/metrics", post(export::<Metrics>))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state)
}

/// A body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn of(headers: &HeaderMap) -> Result<Self, String> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Self::Protobuf),
            "application/json" => Ok(Self::Json),
            "" => {
                Err("missing Content-Type: send application/x-protobuf or application/json".into())
            }
            _ => Err(format!(
                "unsupported Content-Type {content_type:?}: send application/x-protobuf or application/json"
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }

    /// A message in this encoding.
    fn encode<M: prost::Message + Serialize>(self, message: &M) -> Response {
        let body = match self {
            Self::Protobuf => message.encode_to_vec(),
            Self::Json => match serde_json::to_vec(message) {
                Ok(body) => body,
                Err(e) => {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("encoding the response failed: {e}"),
                    )
                        .into_response();
                }
            },
        };
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type()),
            )],
            body,
        )
            .into_response()
    }

    /// An error: a `google.rpc.Status` in this encoding, as the OTLP specification asks.
    fn error(self, status: StatusCode, code: i32, message: String) -> Response {
        let mut response = match self {
            Self::Protobuf => {
                let body = prost::Message::encode_to_vec(&tonic_types::pb::Status {
                    code,
                    message,
                    details: Vec::new(),
                });
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(self.content_type()),
                    )],
                    body,
                )
                    .into_response()
            }
            Self::Json => {
                axum::Json(serde_json::json!({ "code": code, "message": message })).into_response()
            }
        };
        *response.status_mut() = status;
        if matches!(
            status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        ) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER.as_secs()),
            );
        }
        response
    }
}

/// Whether the body is gzip-compressed.
fn gzipped(headers: &HeaderMap) -> Result<bool, String> {
    match headers.get(header::CONTENT_ENCODING) {
        None => Ok(false),
        Some(value) => {
            let text = value
                .to_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            match text.as_str() {
                "" | "identity" => Ok(false),
                "gzip" | "x-gzip" => Ok(true),
                _ => Err(format!(
                    "unsupported Content-Encoding {value:?}: send gzip or an uncompressed body"
                )),
            }
        }
    }
}

/// Un-gzips at most `limit` bytes (see [`agentrace_ingest::gzip`]), or the answer refusing it.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, (StatusCode, i32, String)> {
    agentrace_ingest::gzip::gunzip(body, limit).map_err(|e| match e {
        GunzipError::TooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            code::INVALID_ARGUMENT,
            format!("{e} (limits.max_decompressed_body)"),
        ),
        e => (
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            e.to_string(),
        ),
    })
}

async fn export<S: OtlpSignal>(
    State(state): State<HttpState>,
    Extension(sender): Extension<Sender>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let receiver = &state.receiver;
    let encoding = match Encoding::of(&headers) {
        Ok(encoding) => encoding,
        Err(message) => {
            receiver.refused_invalid();
            return Encoding::Json.error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_ARGUMENT,
                message,
            );
        }
    };
    let refuse = |status, code, message| {
        receiver.refused_invalid();
        encoding.error(status, code, message)
    };
    let gzip = match gzipped(&headers) {
        Ok(gzip) => gzip,
        Err(message) => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_ARGUMENT,
                message,
            );
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::INVALID_ARGUMENT,
                format!(
                    "the body is larger than {} bytes (limits.max_body)",
                    state.max_body
                ),
            );
        }
        Err(rejection) if crate::ingest::listen::body::is_too_slow(&rejection) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                code::INVALID_ARGUMENT,
                format!("the body could not be read: {}", rejection.body_text()),
            );
        }
        Err(rejection) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                code::INVALID_ARGUMENT,
                format!("the body could not be read: {}", rejection.body_text()),
            );
        }
    };
    let body = if gzip {
        match gunzip(&body, state.max_decompressed) {
            Ok(plain) => Bytes::from(plain),
            Err((status, code, message)) => return refuse(status, code, message),
        }
    } else {
        body
    };
    // Counted and given its share of the decode budget before it is decoded; held until
    // answered.
    let format = match encoding {
        Encoding::Protobuf => BodyFormat::Protobuf,
        Encoding::Json => BodyFormat::Json,
    };
    let _admitted = match receiver.admit::<S>(&body, format) {
        Ok(admitted) => admitted,
        Err(failure) => return failure_response(encoding, &failure),
    };
    let request = match encoding {
        Encoding::Protobuf => <S::Request as prost::Message>::decode(body)
            .map_err(|e| format!("the body is not a valid OTLP protobuf message: {e}")),
        Encoding::Json => serde_json::from_slice::<S::Request>(&body)
            .map_err(|e| format!("the body is not valid OTLP/JSON: {e}")),
    };
    let request = match request {
        Ok(request) => request,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, code::INVALID_ARGUMENT, message),
    };
    match receiver.export::<S>(&sender, request).await {
        Ok(response) => encoding.encode(&response),
        Err(failure) => failure_response(encoding, &failure),
    }
}

/// The answer to a request that failed (see the table in the module above).
fn failure_response(encoding: Encoding, failure: &ExportFailure) -> Response {
    let (status, code) = match failure {
        ExportFailure::Invalid(_) => (StatusCode::BAD_REQUEST, code::INVALID_ARGUMENT),
        ExportFailure::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, code::INVALID_ARGUMENT),
        ExportFailure::Overloaded(_) => (StatusCode::SERVICE_UNAVAILABLE, code::RESOURCE_EXHAUSTED),
        ExportFailure::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, code::UNAVAILABLE),
        ExportFailure::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL),
    };
    encoding.error(status, code, failure.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_and_encodings() {
        let mut h = HeaderMap::new();
        assert!(Encoding::of(&h).is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert_eq!(Encoding::of(&h), Ok(Encoding::Json));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-Protobuf"),
        );
        assert_eq!(Encoding::of(&h), Ok(Encoding::Protobuf));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(Encoding::of(&h).is_err_and(|m| m.contains("text/plain")));
        assert_eq!(gzipped(&h), Ok(false));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(gzipped(&h), Ok(true));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        assert!(gzipped(&h).is_err());
    }
}
