//! The API tokens: `Authorization: Bearer <token>` on ingest (HTTP and gRPC), the API and
//! `/metrics` whenever a token is configured; on the app listener the dashboard's session
//! cookie too, set by a login with a token ([`login`]). `/healthz`, `/readyz` and the
//! dashboard's files stay open (they hold no data).
//!
//! Two kinds ([`Role`]): the API token (`api_token`) may do everything; the read-only token
//! (`read_token`) may read — the dashboard, the API's `GET`s, the live feed, `/metrics` — and
//! is refused (403 `forbidden`) on ingest and on every request that writes. A session has the
//! role of the token it logged in with.

pub(crate) mod grpc;
pub(crate) mod login;
mod sessions;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) use self::sessions::Sessions;
use crate::http::api_base::ApiError;
use crate::http::guard::Guard;
use crate::telemetry::counters::add;
use crate::telemetry::stats::ServerStats;

/// A configured token and the counters to report refusals in; on the app listener, the
/// login sessions and the guard that checks where a cookie-authenticated request comes from.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    token: Arc<[u8]>,
    read_token: Option<Arc<[u8]>>,
    stats: Arc<ServerStats>,
    browser: Option<(Arc<Sessions>, Guard)>,
}

/// What a refused request is told.
pub(crate) const UNAUTHORIZED: &str =
    "missing or wrong API token: send the header `Authorization: Bearer <token>`";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Everything: ingest, reads, writes.
    Admin,
    /// Reads only.
    Read,
}

/// How a request proved it may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A bearer token.
    Bearer(Role),
    /// A live session cookie.
    Session(Role),
    /// Neither.
    None,
}

/// Whether a request only reads.
fn reads_only(request: &Request) -> bool {
    matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    )
}

impl Auth {
    pub(crate) fn new(token: &str, stats: Arc<ServerStats>) -> Self {
        Self {
            token: token.as_bytes().into(),
            read_token: None,
            stats,
            browser: None,
        }
    }

    /// Also takes `read_token`, for reads only.
    #[must_use]
    pub(crate) fn with_read_token(mut self, read_token: Option<&str>) -> Self {
        self.read_token = read_token.map(|t| t.as_bytes().into());
        self
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

    /// Whether an `Authorization` header value carries the API token (ingest over gRPC: the
    /// read-only token does not send telemetry). Counts a refusal.
    pub(crate) fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let ok = self.bearer_role(authorization) == Some(Role::Admin);
        if !ok {
            self.refused();
        }
        ok
    }

    /// The role of the token `presented`, if it is one (compared in constant time).
    pub(crate) fn role_of(&self, presented: &[u8]) -> Option<Role> {
        let read = self
            .read_token
            .as_ref()
            .is_some_and(|t| constant_time_eq(presented, t));
        if constant_time_eq(presented, &self.token) {
            Some(Role::Admin)
        } else if read {
            Some(Role::Read)
        } else {
            None
        }
    }

    fn bearer_role(&self, authorization: Option<&[u8]>) -> Option<Role> {
        let presented = authorization.and_then(|value| {
            let (scheme, token) = value.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
        })?;
        self.role_of(presented)
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

    /// The 403 of a read-only credential on a request that writes: on the app listener the
    /// API's error body, on OTLP/HTTP an OTLP `Status` (code 7, PERMISSION_DENIED).
    fn read_only(&self) -> Response {
        const WHY: &str =
            "this token is read-only: use the API token to send telemetry or to change anything";
        match &self.browser {
            Some((_, guard)) => guard.forbid(WHY.into()),
            None => {
                add(&self.stats.requests_forbidden, 1);
                (
                    StatusCode::FORBIDDEN,
                    axum::Json(serde_json::json!({ "code": 7, "message": WHY })),
                )
                    .into_response()
            }
        }
    }

    /// Which credential `headers` carry (without counting anything).
    pub(crate) fn credential(&self, headers: &HeaderMap) -> Credential {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if let Some(role) = self.bearer_role(authorization) {
            return Credential::Bearer(role);
        }
        match (&self.browser, sessions::cookie(headers)) {
            (Some((sessions, _)), Some(id)) => sessions
                .role(id)
                .map_or(Credential::None, Credential::Session),
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
    let credential = auth.credential(request.headers());
    // Ingest (a listener without the dashboard) always writes.
    let writes = auth.browser.is_none() || !reads_only(&request);
    if matches!(
        credential,
        Credential::Bearer(Role::Read) | Credential::Session(Role::Read)
    ) && writes
    {
        return auth.read_only();
    }
    match credential {
        Credential::Bearer(_) => next.run(request).await,
        Credential::Session(_) => match &auth.browser {
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
    fn the_read_token_reads_and_the_api_token_does_everything() {
        let auth = Auth::new("admin-token", Arc::new(ServerStats::new(None)))
            .with_read_token(Some("read-token"));
        assert_eq!(auth.role_of(b"admin-token"), Some(Role::Admin));
        assert_eq!(auth.role_of(b"read-token"), Some(Role::Read));
        assert_eq!(auth.role_of(b"read-toke"), None);
        assert!(
            !auth.allows(Some(b"Bearer read-token")),
            "no ingest with the read token"
        );
        assert!(auth.allows(Some(b"Bearer admin-token")));
    }

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
