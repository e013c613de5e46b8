//! The API token: `Authorization: Bearer <token>` on ingest (HTTP and gRPC), the API and
//! `/metrics` whenever a token is configured; on the app listener the dashboard's session
//! cookie too, set by a login with the token ([`login`]). `/healthz`, `/readyz` and the
//! dashboard's files stay open (they hold no data).

pub(crate) mod login;
mod sessions;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) use self::sessions::Sessions;
use crate::api::ApiError;
use crate::guard::Guard;
use crate::state::{ServerStats, add};

/// A configured token and the counters to report refusals in; on the app listener, the
/// login sessions and the guard that checks where a cookie-authenticated request comes from.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    token: Arc<[u8]>,
    stats: Arc<ServerStats>,
    browser: Option<(Arc<Sessions>, Guard)>,
}

/// What a refused request is told.
pub(crate) const UNAUTHORIZED: &str =
    "missing or wrong API token: send the header `Authorization: Bearer <token>`";

/// How a request proved it may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The bearer token.
    Bearer,
    /// A live session cookie.
    Session,
    /// Neither.
    None,
}

impl Auth {
    pub(crate) fn new(token: &str, stats: Arc<ServerStats>) -> Self {
        Self {
            token: token.as_bytes().into(),
            stats,
            browser: None,
        }
    }

    /// The same token, also taking the dashboard's session cookie (the app listener).
    #[must_use]
    pub(crate) fn with_sessions(mut self, sessions: Arc<Sessions>, guard: Guard) -> Self {
        self.browser = Some((sessions, guard));
        self
    }

    /// The login sessions, when this listener takes them.
    pub(crate) fn sessions(&self) -> Option<&Arc<Sessions>> {
        self.browser.as_ref().map(|(s, _)| s)
    }

    /// Whether an `Authorization` header value carries the token. Counts a refusal.
    pub(crate) fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let ok = self.bearer_matches(authorization);
        if !ok {
            self.refused();
        }
        ok
    }

    /// Whether `presented` is the token (compared in constant time).
    pub(crate) fn token_matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(presented, &self.token)
    }

    fn bearer_matches(&self, authorization: Option<&[u8]>) -> bool {
        let presented = authorization.and_then(|value| {
            let (scheme, token) = value.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
        });
        presented.is_some_and(|p| self.token_matches(p))
    }

    /// Counts a refused request.
    pub(crate) fn refused(&self) {
        add(&self.stats.requests_unauthorized, 1);
    }

    /// The 401 answer, with the `WWW-Authenticate` challenge: on the app listener the API's
    /// error body (`unauthorized`), on OTLP/HTTP an OTLP `Status` (code 16, UNAUTHENTICATED).
    fn unauthorized(&self) -> Response {
        let mut response = if self.browser.is_some() {
            ApiError::Unauthorized(UNAUTHORIZED.to_owned()).into_response()
        } else {
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({ "code": 16, "message": UNAUTHORIZED })),
            )
                .into_response()
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"agentrace\""),
        );
        response
    }

    /// Which credential `headers` carry (without counting anything).
    pub(crate) fn credential(&self, headers: &HeaderMap) -> Credential {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if self.bearer_matches(authorization) {
            return Credential::Bearer;
        }
        match (&self.browser, sessions::cookie(headers)) {
            (Some((sessions, _)), Some(id)) if sessions.is_live(id) => Credential::Session,
            _ => Credential::None,
        }
    }
}

/// Compares without an early exit, so timing does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// axum middleware: 401 unless the request carries the token (or, on the app listener, a live
/// session cookie from a page of this server's own origin).
pub(crate) async fn require_token(
    State(auth): State<Auth>,
    request: Request,
    next: Next,
) -> Response {
    match auth.credential(request.headers()) {
        Credential::Bearer => next.run(request).await,
        Credential::Session => match &auth.browser {
            Some((_, guard))
                if guard.is_other_origin(request.headers())
                    || Guard::cross_origin_fetch(request.headers()) =>
            {
                guard.forbid(
                    "the session cookie is only accepted from the dashboard's own pages".into(),
                )
            }
            _ => next.run(request).await,
        },
        Credential::None => {
            auth.refused();
            auth.unauthorized()
        }
    }
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
