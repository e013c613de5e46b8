//! The dashboard's login: `POST /api/v1/auth/login` takes a token or key once and answers
//! with the session cookie (the session is whoever the secret is: its scope, its project); `POST /api/v1/auth/logout` ends the session; `GET /api/v1/auth/session`
//! tells the dashboard whether it must ask for the token. Without a configured token there is
//! nothing to log in to: the session answer says so and login is refused.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::sessions::{COOKIE, cookie};
use agentrace_store::KeyScope;

use super::{Auth, Credential};
use crate::http::api_base::{ApiError, PREFIX};

/// The login routes' paths under the API's prefix, and their methods.
pub(crate) const ROUTES: [(&str, &str); 3] = [
    ("/auth/session", "get"),
    ("/auth/login", "post"),
    ("/auth/logout", "post"),
];

/// The login routes ([`ROUTES`], under `/api/v1`; open: they are how a browser gets in).
pub(crate) fn router(auth: Auth) -> Router {
    let [(session_path, _), (login_path, _), (logout_path, _)] = ROUTES;
    Router::new()
        .route(&format!("{PREFIX}{session_path}"), get(session))
        .route(&format!("{PREFIX}{login_path}"), post(login))
        .route(&format!("{PREFIX}{logout_path}"), post(logout))
        .with_state(auth)
}

/// `GET /auth/session` answer.
#[derive(Debug, Serialize)]
struct SessionState {
    /// Whether the server has an API token (then the API needs it or a session).
    token_required: bool,
    /// Whether this request may use the API (always, without a token).
    authenticated: bool,
    /// Whether it may also write (annotate, delete): a scope of `write` or `admin` (always,
    /// without a token).
    can_write: bool,
    /// What it may do: `ingest`, `read`, `write` or `admin`.
    scope: Option<&'static str>,
    /// The one project it may act on (a project's key); `null`: any of the organization's.
    project: Option<u32>,
}

async fn session(State(auth): State<Auth>, headers: HeaderMap) -> Result<Response, ApiError> {
    let credential = auth
        .credential(&headers)
        .await
        .map_err(|_| ApiError::Unavailable("the keys could not be read".into()))?;
    let principal = match credential {
        Credential::Bearer(p) | Credential::Session(p) => Some(p),
        Credential::None if !auth.is_required() => {
            Some(super::Principal::organization(KeyScope::Admin))
        }
        Credential::None => None,
    };
    let state = SessionState {
        token_required: auth.is_required(),
        authenticated: principal.is_some(),
        can_write: principal
            .as_ref()
            .is_some_and(|p| p.scope.allows(KeyScope::Write)),
        scope: principal.as_ref().map(|p| p.scope.as_str()),
        project: principal.and_then(|p| p.project.map(|id| id.0)),
    };
    Ok(no_store(axum::Json(state).into_response()))
}

/// `POST /auth/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: String,
}

async fn login(
    State(auth): State<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(sessions) = auth.sessions().filter(|_| auth.is_required()) else {
        return Err(ApiError::BadRequest(
            "this server has no API token: the dashboard needs no login".into(),
        ));
    };
    if let Some(wait) = sessions.throttled() {
        return Err(ApiError::TooManyRequests { retry_after: wait });
    }
    let login: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"token\": \"…\"}}: {e}"
        ))
    })?;
    let principal = auth
        .principal_of(login.token.as_bytes())
        .await
        .map_err(|_| ApiError::Unavailable("the keys could not be read".into()))?;
    let Some(principal) = principal.filter(|p| p.scope != KeyScope::Ingest) else {
        auth.count(&super::Refusal::Unauthenticated);
        sessions.failed();
        return Err(ApiError::Unauthorized(
            "wrong token (an ingest key cannot log in: it reads nothing)".into(),
        ));
    };
    let id = sessions
        .start(principal)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let cookie = set_cookie(&headers, &id, sessions.ttl());
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), cookie))
}

async fn logout(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    if let (Some(sessions), Some(id)) = (auth.sessions(), cookie(&headers)) {
        sessions.end(id);
    }
    with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        set_cookie(&headers, "", Duration::ZERO),
    )
}

/// The `Set-Cookie` value: the session id for `max_age` (0: remove the cookie). `Secure` when
/// a proxy in front says the browser came over HTTPS.
fn set_cookie(headers: &HeaderMap, id: &str, max_age: Duration) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

fn with_cookie(mut response: Response, cookie: String) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
