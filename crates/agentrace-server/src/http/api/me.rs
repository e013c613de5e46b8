//! The person signed in, about themselves: `GET /me/sessions` lists their sessions (the one of
//! this request marked), `DELETE /me/sessions/{id}` ends one, `POST /me/password` changes their
//! password (the current one checked) and ends their other sessions.

use agentrace_store::UserId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::params::Params;
use super::people::{SessionList, accounts, end_sessions, sessions_of};
use crate::http::api_base::ApiError;
use crate::http::auth::passwords;
use crate::http::auth::session_of_request;
use crate::http::scope::Scope;
use crate::http::state::AppState;

/// The person of the request, or why there is none.
fn person(scope: &Scope) -> Result<UserId, ApiError> {
    scope
        .principal
        .person
        .as_ref()
        .map(|p| p.id)
        .ok_or_else(|| {
            ApiError::Forbidden(
                "only a person signed in has sessions and a password (this is a token or key)"
                    .into(),
            )
        })
}

/// `GET /me/sessions`.
pub(super) async fn sessions(
    State(state): State<AppState>,
    scope: Scope,
    headers: HeaderMap,
    p: Params,
) -> Result<Json<SessionList>, ApiError> {
    p.finish()?;
    // A token or key has no sessions kept in the store.
    let Ok(user) = person(&scope) else {
        return Ok(Json(SessionList {
            sessions: Vec::new(),
        }));
    };
    Ok(Json(SessionList {
        sessions: sessions_of(&state, user, session_of_request(&headers)).await?,
    }))
}

/// `DELETE /me/sessions/{id}`.
pub(super) async fn end(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
) -> Result<StatusCode, ApiError> {
    p.finish()?;
    let user = person(&scope)?;
    if end_sessions(&state, user, Some(id.clone())).await? == 0 {
        return Err(ApiError::NotFound(format!("no session {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /me/password` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /me/password`: the current password checked; every other session ended.
pub(super) async fn password(
    State(state): State<AppState>,
    scope: Scope,
    headers: HeaderMap,
    p: Params,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    p.finish()?;
    let id = person(&scope)?;
    if !state.config.password_login {
        return Err(ApiError::Forbidden(
            "password login is off on this server: there is no password to change".into(),
        ));
    }
    let change: PasswordChange = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"current\": \"…\", \"new\": \"…\"}}: {e}"
        ))
    })?;
    let new = change.new.clone();
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&new))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::bad("new", e))?;
    let current = session_of_request(&headers);
    accounts(&state, move |o| {
        let Some(mut user) = o.user(id)? else {
            return Err(agentrace_store::AccountError::NoUser(id));
        };
        if !passwords::verify(user.password_hash.as_deref(), &change.current) {
            return Ok(false);
        }
        user.password_hash = Some(hash);
        o.update_user(&user)?;
        for s in o.sessions(id)? {
            if Some(s.hash) != current {
                o.delete_session(&s.hash)?;
            }
        }
        Ok(true)
    })
    .await?
    .then_some(())
    .ok_or_else(|| ApiError::Forbidden("the current password is wrong".into()))?;
    state.directory.forget();
    Ok(StatusCode::NO_CONTENT)
}
