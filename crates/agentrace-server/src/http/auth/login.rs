//! The dashboard's login. `POST /api/v1/auth/login` takes a person's e-mail address and
//! password (`{"email", "password"}`) or a token or key (`{"token"}`) and answers with the
//! session cookie: a new id each time, never one the browser brought (no session fixation).
//! `POST /api/v1/auth/logout` ends the session; `GET /api/v1/auth/session` tells the dashboard
//! who is signed in, or how to sign in. Without a configured token and without people there is
//! nothing to log in to: the session answer says so and login is refused.
//!
//! A person's failed logins are counted per account and per address
//! ([`LoginThrottle`](super::passwords::LoginThrottle)): five for an account in fifteen minutes
//! lock it out (429, saying until when), ten from one address in a minute refuse that address;
//! a token's, per address. Logins, failed logins and logouts go to the audit log.

use std::time::Duration;

use agentrace_store::{Actor, KeyScope, LoginSession, User};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::passwords::{self, Throttled};
use super::sessions::{SESSION_COOKIE, new_id, secret_hash, session_cookie};
use super::{Auth, Credential, PeopleLogin};
use crate::http::api_base::{ApiError, PREFIX};
use crate::http::audit::entry;
use crate::ingest::listen::client::ClientAddress;
use crate::store::directory::Principal;

/// The person signed in, as the session answer shows them.
#[derive(Debug, Serialize)]
struct PersonView {
    id: u64,
    email: String,
    role: &'static str,
}

/// `GET /auth/session` answer.
#[derive(Debug, Serialize)]
struct SessionState {
    /// Whether the server needs a credential (a token is configured, or it has people).
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
    /// The person signed in, if it is one.
    person: Option<PersonView>,
    /// Whether people may log in with a password here.
    password_login: bool,
    /// Single sign-on, if configured: the button's label and where it starts.
    sso: Option<SsoView>,
}

/// How the login page offers single sign-on.
#[derive(Debug, Serialize)]
struct SsoView {
    label: String,
    start: String,
}

pub(super) async fn session(
    State(auth): State<Auth>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credential = auth
        .credential(&headers)
        .await
        .map_err(|_| ApiError::Unavailable("the keys could not be read".into()))?;
    let principal = match credential {
        Credential::Bearer(p) | Credential::Session(p) => Some(p),
        Credential::None if !auth.is_required() => Some(Principal::organization(KeyScope::Admin)),
        Credential::None => None,
    };
    let state = SessionState {
        token_required: auth.is_required(),
        authenticated: principal.is_some(),
        can_write: principal
            .as_ref()
            .is_some_and(|p| p.scope.allows(KeyScope::Write)),
        scope: principal.as_ref().map(|p| p.scope.as_str()),
        project: principal.as_ref().and_then(|p| p.project.map(|id| id.0)),
        person: principal.and_then(|p| p.person).map(|person| PersonView {
            id: person.id.0,
            email: person.email.clone(),
            role: person.role.as_str(),
        }),
        password_login: auth.people().is_some_and(|p| p.passwords),
        sso: auth.sso().map(|s| SsoView {
            label: s.label().to_owned(),
            start: format!("{PREFIX}/auth/sso/start"),
        }),
    };
    Ok(no_store(axum::Json(state).into_response()))
}

/// `POST /auth/login` body: a token, or a person's e-mail address and password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    token: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// The refusal of a throttled login, as `account` (a token's: none).
fn throttled(t: &Throttled, account: Option<&str>) -> ApiError {
    match (t, account) {
        (Throttled::Account(wait), Some(account)) => ApiError::TooManyRequests {
            what: format!(
                "too many failed logins for {account}: the account is locked for {} more minutes",
                wait.as_secs().div_ceil(60).max(1)
            ),
            retry_after: *wait,
        },
        (Throttled::Account(wait) | Throttled::Address(wait), _) => ApiError::TooManyRequests {
            what: "too many failed logins from this address".into(),
            retry_after: *wait,
        },
    }
}

pub(super) async fn login(
    State(auth): State<Auth>,
    address: ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(sessions) = auth.sessions().filter(|_| auth.is_required()).cloned() else {
        return Err(ApiError::BadRequest(
            "this server has no API token and no people: the dashboard needs no login".into(),
        ));
    };
    let login: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"email\": \"…\", \"password\": \"…\"}} or {{\"token\": \"…\"}}: {e}"
        ))
    })?;
    let id = match login {
        Login {
            token: Some(token),
            email: None,
            password: None,
        } => {
            if let Some(t) = sessions.throttle.check(None, address.0) {
                return Err(throttled(&t, None));
            }
            let principal = auth
                .principal_of(token.as_bytes())
                .await
                .map_err(|_| ApiError::Unavailable("the keys could not be read".into()))?;
            let Some(principal) = principal.filter(|p| p.scope != KeyScope::Ingest) else {
                auth.count(&super::Refusal::Unauthenticated);
                sessions.throttle.failed(None, address.0);
                return Err(ApiError::Unauthorized(
                    "wrong token (an ingest key cannot log in: it reads nothing)".into(),
                ));
            };
            sessions
                .start(principal)
                .map_err(|e| ApiError::Internal(e.to_string()))?
        }
        Login {
            token: None,
            email: Some(email),
            password: Some(password),
        } => {
            let Some(people) = auth.people().cloned() else {
                return Err(ApiError::Unauthorized(
                    "this server has no people (no account to log in to): log in with its token"
                        .into(),
                ));
            };
            person_login(&auth, &people, (&email, &password), address, &headers).await?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "give either `token`, or `email` and `password`".into(),
            ));
        }
    };
    let cookie = set_cookie(&headers, &id, sessions.ttl());
    Ok(with_cookie(StatusCode::NO_CONTENT.into_response(), cookie))
}

/// An e-mail address as accounts are found by: trimmed, lowercase.
pub(crate) fn normalized_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A new session of `user` in the store, begun from `address` in the browser of `headers`:
/// its id (the cookie's value), a fresh one whatever the browser brought. The user's expired
/// sessions are deleted meanwhile: the store keeps no more of them than are live.
pub(crate) async fn start_session(
    auth: &Auth,
    user: &User,
    address: ClientAddress,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let sessions = auth
        .sessions()
        .ok_or_else(|| ApiError::Internal("no sessions on this listener".into()))?;
    let id = new_id().map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = agentrace_core::now_unix_nano();
    let ttl = u64::try_from(sessions.ttl().as_nanos()).unwrap_or(u64::MAX);
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let stored = LoginSession::new(
        secret_hash(&id),
        user.id,
        (now, now.saturating_add(ttl)),
        address.text().unwrap_or_default(),
        agent.chars().take(200).collect::<String>(),
    );
    let organization = auth.directory().organization().clone();
    tokio::task::spawn_blocking(move || {
        organization.insert_session(&stored)?;
        for expired in organization.sessions(stored.user)? {
            if !expired.is_live(now) {
                organization.delete_session(&expired.hash)?;
            }
        }
        Ok::<_, agentrace_store::AccountError>(())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Unavailable(format!("the session could not be stored: {e}")))?;
    Ok(id)
}

/// Logs a person in with their password: a new session in the store (its id returned), their
/// last login noted; refused (and counted) when throttled or wrong.
async fn person_login(
    auth: &Auth,
    people: &PeopleLogin,
    (email, password): (&str, &str),
    address: ClientAddress,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let email = normalized_email(email);
    let sessions = auth
        .sessions()
        .ok_or_else(|| ApiError::Internal("no sessions on this listener".into()))?;
    let refused = |reason: &str| {
        entry(
            Actor::new("user", None, email.clone()),
            ("login.failed", reason),
            address.text(),
            401,
        )
    };
    if !people.passwords {
        return Err(ApiError::Forbidden(
            "password login is off on this server: sign in with single sign-on".into(),
        ));
    }
    if let Some(t) = sessions.throttle.check(Some(&email), address.0) {
        people.audit.append(refused("throttled")).await;
        return Err(throttled(&t, Some(&email)));
    }
    let organization = auth.directory().organization().clone();
    let (found, password) = (email.clone(), password.to_owned());
    let user: Option<User> = tokio::task::spawn_blocking(move || {
        let user = organization.user_by_email(&found).ok().flatten();
        // The same work whether the account exists or not.
        let matches = passwords::verify(
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
            &password,
        );
        user.filter(|_| matches)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(mut user) = user else {
        sessions.throttle.failed(Some(&email), address.0);
        auth.count(&super::Refusal::Unauthenticated);
        people
            .audit
            .append(refused("wrong e-mail or password"))
            .await;
        return Err(ApiError::Unauthorized(
            "wrong e-mail address or password".into(),
        ));
    };
    let id = start_session(auth, &user, address, headers).await?;
    user.last_login_unix_nano = Some(agentrace_core::now_unix_nano());
    let (organization, logged) = (auth.directory().organization().clone(), user.clone());
    tokio::task::spawn_blocking(move || organization.update_user(&logged))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Unavailable(format!("the login could not be noted: {e}")))?;
    let e = entry(
        Actor::new("user", Some(user.id.0), user.email.clone()),
        ("login", "password"),
        address.text(),
        204,
    );
    people.audit.append(e).await;
    Ok(id)
}

/// `POST /auth/invitation` body: the link's token, and the new person's name and password
/// (none where password login is off: they sign in with single sign-on).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Accept {
    token: String,
    name: String,
    password: Option<String>,
}

/// `POST /auth/invitation`: the invitation taken (once), its person made with its roles and
/// signed in (201 and the session cookie).
pub(super) async fn accept(
    State(auth): State<Auth>,
    address: ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (Some(people), Some(sessions)) = (auth.people().cloned(), auth.sessions().cloned()) else {
        return Err(ApiError::NotFound(
            "this server has no people: there is no invitation to take".into(),
        ));
    };
    if let Some(t) = sessions.throttle.check(None, address.0) {
        return Err(throttled(&t, None));
    }
    let accept: Accept = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"token\": \"…\", \"name\": \"Dan\", \"password\": \"…\"}}: {e}"
        ))
    })?;
    let hash = match (people.passwords, accept.password.clone()) {
        (true, Some(password)) => Some(
            tokio::task::spawn_blocking(move || passwords::hash(&password))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(|e| ApiError::bad("password", e))?,
        ),
        (true, None) => {
            return Err(ApiError::BadRequest(
                "`password`: choose one (12 characters at least)".into(),
            ));
        }
        (false, None) => None,
        (false, Some(_)) => {
            return Err(ApiError::BadRequest(
                "`password`: password login is off on this server; join without one and sign in with single sign-on".into(),
            ));
        }
    };
    let digest = secret_hash(&accept.token);
    let organization = auth.directory().organization().clone();
    let now = agentrace_core::now_unix_nano();
    let name = accept.name.trim().to_owned();
    let made = tokio::task::spawn_blocking(move || {
        let Some(invitation) = organization.take_invitation(&digest, now)? else {
            return Ok(None);
        };
        let mut new = agentrace_store::NewUser::new(
            invitation.email.clone(),
            if name.is_empty() {
                invitation.email.clone()
            } else {
                name
            },
            invitation.role,
            now,
        );
        new.password_hash = hash;
        let user = organization.create_user(&new)?;
        for (project, role) in &invitation.grants {
            match organization.set_grant(user.id, *project, Some(*role)) {
                // A project deleted since the invitation: nothing to grant there.
                Err(agentrace_store::AccountError::NoProject(_)) => {}
                other => other?,
            }
        }
        Ok::<_, agentrace_store::AccountError>(Some(user))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| match e {
        agentrace_store::AccountError::EmailTaken(email) => {
            ApiError::Conflict(format!("{email} has an account already: log in instead"))
        }
        other => ApiError::Unavailable(other.to_string()),
    })?;
    let Some(user) = made else {
        sessions.throttle.failed(None, address.0);
        return Err(ApiError::NotFound(
            "this invitation link was used already, withdrawn, or has expired: ask for a new one"
                .into(),
        ));
    };
    let id = start_session(&auth, &user, address, &headers).await?;
    let e = entry(
        Actor::new("user", Some(user.id.0), user.email.clone()),
        ("invitation.accept", &user.email),
        address.text(),
        201,
    )
    .changing(
        None,
        Some(json!({ "role": user.role.as_str() }).to_string()),
    );
    people.audit.append(e).await;
    let cookie = set_cookie(&headers, &id, sessions.ttl());
    Ok(with_cookie(StatusCode::CREATED.into_response(), cookie))
}

pub(super) async fn logout(
    State(auth): State<Auth>,
    address: ClientAddress,
    headers: HeaderMap,
) -> Response {
    if let (Some(sessions), Some(id)) = (auth.sessions(), session_cookie(&headers)) {
        sessions.end(id);
        if let Some(people) = auth.people() {
            let hash = secret_hash(id);
            let organization = auth.directory().organization().clone();
            // The session's person, named in the audit log as at their login.
            let ended = tokio::task::spawn_blocking(move || {
                let session = organization.session(&hash).ok().flatten();
                organization.delete_session(&hash).ok();
                session.map(|s| {
                    let email = organization
                        .user(s.user)
                        .ok()
                        .flatten()
                        .map(|u| u.email)
                        .unwrap_or_default();
                    (s.user, email)
                })
            })
            .await
            .ok()
            .flatten();
            auth.directory().forget();
            if let Some((user, email)) = ended {
                let e = entry(
                    Actor::new("user", Some(user.0), email),
                    ("logout", "session"),
                    address.text(),
                    204,
                );
                people.audit.append(e).await;
            }
        }
    }
    with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        set_cookie(&headers, "", Duration::ZERO),
    )
}

/// The `Set-Cookie` value of the session `id` for `max_age` (0: remove the cookie).
pub(crate) fn set_cookie(headers: &HeaderMap, id: &str, max_age: Duration) -> String {
    super::sessions::set_cookie(headers, SESSION_COOKIE, id, max_age)
}

pub(crate) fn with_cookie(mut response: Response, cookie: String) -> Response {
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
