//! What the API shares with the parts of the server beneath it (authentication, the request
//! guard): where it is mounted ([`PREFIX`]), its errors, answered as JSON
//! (`{"error": {"code": "...", "message": "..."}}`), and how a handler runs a store call
//! ([`blocking`]).

use std::sync::Arc;

use agentrace_store::{QueryError, Store, WriteError};

use crate::store::SharedStore;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Where the API is mounted; the API's routes include it.
pub const PREFIX: &str = "/api/v1";

/// Why a request failed. Every variant is answered with its status and a JSON body naming a
/// stable `code` and a message for people; internal details go to the server log only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A query or path parameter has a value that cannot be used (400 `bad_parameter`).
    #[error("invalid parameter `{name}`: {message}")]
    BadParameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong, with an example of what is expected.
        message: String,
    },
    /// A query parameter the endpoint does not take (400 `unknown_parameter`).
    #[error("unknown parameter `{name}`; this endpoint takes {expected}")]
    UnknownParameter {
        /// The parameter.
        name: String,
        /// The parameters it takes.
        expected: String,
    },
    /// The request cannot be answered as asked (400 `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// A WebSocket endpoint was called without the WebSocket upgrade (426 `upgrade_required`).
    #[error("this endpoint is a WebSocket: connect with a WebSocket client (Upgrade: websocket)")]
    UpgradeRequired,
    /// A wrong token at the dashboard's login (401 `unauthorized`).
    #[error("{0}")]
    Unauthorized(String),
    /// Too many failed logins lately; retry after the delay (429 `too_many_requests`, with
    /// `Retry-After`).
    #[error("{what}; try again in {} s", retry_after.as_secs().max(1))]
    TooManyRequests {
        /// What failed too often (an account locked out, logins from an address).
        what: String,
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// The credential may not do this: its scope is too narrow, or its project another
    /// (403 `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// No such trace, session or route (404 `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is configured, e.g. a change to a rule of a file
    /// (409 `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// The route exists but not for this method (405 `method_not_allowed`).
    #[error("method not allowed: see the OpenAPI document for the methods of each route")]
    MethodNotAllowed,
    /// The store stayed locked by another writer; retrying may succeed (503 `unavailable`).
    #[error("the store is busy; try again")]
    Busy,
    /// A part the request needs does not answer now, and why (503 `unavailable`).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500 `internal`); the cause is logged, not sent.
    #[error("internal error; see the server log")]
    Internal(String),
}

impl ApiError {
    /// An invalid parameter.
    pub(crate) fn bad(name: &'static str, message: impl ToString) -> Self {
        Self::BadParameter {
            name,
            message: message.to_string(),
        }
    }

    /// The stable code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadParameter { .. } => "bad_parameter",
            Self::UnknownParameter { .. } => "unknown_parameter",
            Self::BadRequest(_) => "bad_request",
            Self::UpgradeRequired => "upgrade_required",
            Self::Unauthorized(_) => "unauthorized",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Busy | Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadParameter { .. } | Self::UnknownParameter { .. } | Self::BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Busy | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::InvalidCursor(_) => Self::bad("cursor", e),
            QueryError::Invalid(message) => Self::BadRequest(message),
            QueryError::Unavailable(_) => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<agentrace_store::ProjectError> for ApiError {
    fn from(e: agentrace_store::ProjectError) -> Self {
        use agentrace_store::ProjectError;
        match e {
            ProjectError::InvalidName(e) => Self::bad("name", e),
            ProjectError::NameTaken(_) | ProjectError::LastProject(_) => {
                Self::Conflict(e.to_string())
            }
            ProjectError::NoProject(_) | ProjectError::NoKey(_) => Self::NotFound(e.to_string()),
            ProjectError::Unavailable(_) => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<WriteError> for ApiError {
    /// A write the store refused for what it was given is the request's fault (400); one it
    /// could not do now may be retried (503).
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Rejected(cause) => Self::BadRequest(cause.to_string()),
            WriteError::Unavailable(_) => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "API request failed");
        }
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.to_string() }
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::TooManyRequests { retry_after, .. } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        response
    }
}

/// Runs a query on the store on a blocking thread (store calls block: on file I/O, or on
/// their server).
pub(crate) async fn blocking<T: Send + 'static>(
    store: &SharedStore,
    query: impl FnOnce(&dyn Store) -> Result<T, QueryError> + Send + 'static,
) -> Result<T, ApiError> {
    on_blocking_thread(store, query).await
}

/// [`blocking`] for a write.
pub(crate) async fn blocking_write<T: Send + 'static>(
    store: &SharedStore,
    write: impl FnOnce(&dyn Store) -> Result<T, WriteError> + Send + 'static,
) -> Result<T, ApiError> {
    on_blocking_thread(store, write).await
}

async fn on_blocking_thread<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    store: &SharedStore,
    call: impl FnOnce(&dyn Store) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || call(&*store))
        .await
        .map_err(|e| ApiError::Internal(format!("the store's task failed: {e}")))?
        .map_err(Into::into)
}
