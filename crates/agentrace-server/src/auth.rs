//! The API token: `Authorization: Bearer <token>` on ingest (HTTP and gRPC), the API and
//! `/metrics` whenever a token is configured. `/healthz` and `/readyz` stay open.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::{ServerStats, add};

/// A configured token and the counters to report refusals in.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    token: Arc<[u8]>,
    stats: Arc<ServerStats>,
}

/// What a refused request is told.
pub(crate) const UNAUTHORIZED: &str =
    "missing or wrong API token: send the header `Authorization: Bearer <token>`";

impl Auth {
    pub(crate) fn new(token: &str, stats: Arc<ServerStats>) -> Self {
        Self {
            token: token.as_bytes().into(),
            stats,
        }
    }

    /// Whether an `Authorization` header value carries the token. Counts a refusal.
    pub(crate) fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let presented = authorization.and_then(|value| {
            let (scheme, token) = value.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
        });
        let ok = presented.is_some_and(|p| constant_time_eq(p, &self.token));
        if !ok {
            add(&self.stats.requests_unauthorized, 1);
        }
        ok
    }
}

/// Compares without an early exit, so timing does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// axum middleware: 401 unless the request carries the token.
pub(crate) async fn require_token(
    State(auth): State<Auth>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if auth.allows(header) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({ "code": 16, "message": UNAUTHORIZED })),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"agentrace\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let auth = Auth::new("s3cret", Arc::new(ServerStats::new(None)));
        assert!(auth.allows(Some(b"Bearer s3cret")));
        assert!(auth.allows(Some(b"bearer s3cret")));
        assert!(!auth.allows(Some(b"Bearer s3cre")));
        assert!(!auth.allows(Some(b"Bearer s3cret2")));
        assert!(!auth.allows(Some(b"Basic s3cret")));
        assert!(!auth.allows(Some(b"s3cret")));
        assert!(!auth.allows(None));
        assert_eq!(auth.stats.snapshot().requests.unauthorized, 5);
    }
}
