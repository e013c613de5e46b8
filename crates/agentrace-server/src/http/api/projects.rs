//! `/projects` and `/keys`: the projects of the deployment and their keys (docs/projects.md).
//!
//! Projects are the organization's: listing shows a credential the projects it may act on;
//! creating, renaming and deleting one needs an organization credential of scope `admin`.
//! A project's keys are managed by an `admin` of that project (its key, or the
//! organization's); `/keys` are the organization's own, for automation. A secret is answered
//! once, when its key is created; the store keeps its SHA-256 only.

use agentrace_store::{KeyId, KeyOwner, KeyScope, NewKey, Project, ProjectName, StoredKey};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::params::Params;
use crate::http::api_base::ApiError;
use crate::http::audit::AuditChange;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::store::directory::{Principal, new_secret};

/// A project as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct ProjectView {
    id: u32,
    name: String,
    created_unix_nano: u64,
}

impl ProjectView {
    fn of(p: &Project) -> Self {
        Self {
            id: p.id.0,
            name: p.name.to_string(),
            created_unix_nano: p.created_unix_nano,
        }
    }
}

/// `GET /projects`.
#[derive(Debug, Serialize)]
pub(super) struct ProjectList {
    projects: Vec<ProjectView>,
}

/// A key as the API shows it (its secret only when it is created).
#[derive(Debug, Serialize)]
pub(super) struct KeyView {
    id: u64,
    /// Its project's name; `null`: a key of the organization.
    project: Option<String>,
    scope: &'static str,
    name: String,
    creator: String,
    created_unix_nano: u64,
    expires_unix_nano: Option<u64>,
    last_used_unix_nano: Option<u64>,
    /// The secret: present in the answer that created the key, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl KeyView {
    fn of(key: &StoredKey, project: Option<&Project>, secret: Option<String>) -> Self {
        Self {
            id: key.id.0,
            project: project.map(|p| p.name.to_string()),
            scope: key.scope.as_str(),
            name: key.name.clone(),
            creator: key.creator.clone(),
            created_unix_nano: key.created_unix_nano,
            expires_unix_nano: key.expires_unix_nano,
            last_used_unix_nano: key.last_used_unix_nano,
            secret,
        }
    }
}

/// `GET /projects/{name}/keys`, `GET /keys`.
#[derive(Debug, Serialize)]
pub(super) struct KeyList {
    keys: Vec<KeyView>,
}

/// `POST /projects` body; `PATCH /projects/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    name: String,
}

/// `POST /projects/{name}/keys` and `POST /keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRequest {
    scope: String,
    #[serde(default)]
    name: String,
    /// How long it works, in seconds (a whole number, `1.0` included), if not for ever.
    #[serde(default)]
    expires_in_seconds: Option<serde_json::Number>,
}

/// The longest life a key may be given: ten years.
const MAX_KEY_LIFE_S: u64 = 10 * 365 * 86_400;

/// The longest key name.
const MAX_KEY_NAME: usize = 200;

fn json<T: serde::de::DeserializeOwned>(body: &Bytes, example: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body must be JSON like {example}: {e}")))
}

/// Refuses (403) a credential that is not the organization's admin.
pub(super) fn organization_admin(scope: &Scope, what: &str) -> Result<(), ApiError> {
    if scope.principal.is_organization_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{what} needs the organization's admin: an owner or admin, or a credential of the organization with scope `admin` (api_token or an organization key)"
        )))
    }
}

/// Who created a key (or wrote a setting), as it is recorded.
pub(super) fn creator(principal: &Principal) -> String {
    match (&principal.person, principal.key) {
        (Some(person), _) => person.email.clone(),
        (None, Some(id)) => format!("key {id}"),
        (None, None) => "organization token".to_owned(),
    }
}

/// The project `name`, if `principal` may see it: 404 otherwise, whether it exists or not.
async fn visible(state: &AppState, principal: &Principal, name: &str) -> Result<Project, ApiError> {
    let projects = state.directory.projects().await?;
    projects
        .iter()
        .find(|p| p.name.as_str() == name && principal.may_see(p.id))
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no project named {name:?}")))
}

pub(super) async fn organization<T: Send + 'static>(
    state: &AppState,
    call: impl FnOnce(&dyn agentrace_store::Organization) -> Result<T, agentrace_store::ProjectError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let organization = state.organization.clone();
    let answer = tokio::task::spawn_blocking(move || call(&*organization))
        .await
        .map_err(|e| ApiError::Internal(format!("the store's task failed: {e}")))?;
    Ok(answer?)
}

/// `GET /projects`: those the credential may act on.
pub(super) async fn list(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
) -> Result<Json<ProjectList>, ApiError> {
    p.finish()?;
    let projects = state.directory.projects().await?;
    Ok(Json(ProjectList {
        projects: projects
            .iter()
            .filter(|p| scope.principal.may_see(p.id))
            .map(ProjectView::of)
            .collect(),
    }))
}

/// `POST /projects` `{"name": "alpha"}`.
pub(super) async fn create(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
    body: Bytes,
) -> Result<(StatusCode, Json<ProjectView>), ApiError> {
    p.finish()?;
    organization_admin(&scope, "creating a project")?;
    let named: Named = json(&body, r#"{"name": "alpha"}"#)?;
    let name = ProjectName::new(&named.name).map_err(|e| ApiError::bad("name", e))?;
    let project = organization(&state, move |o| o.create_project(&name)).await?;
    state.directory.forget();
    Ok((StatusCode::CREATED, Json(ProjectView::of(&project))))
}

/// `PATCH /projects/{name}` `{"name": "beta"}`.
pub(super) async fn rename(
    State(state): State<AppState>,
    scope: Scope,
    Path(name): Path<String>,
    p: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    p.finish()?;
    organization_admin(&scope, "renaming a project")?;
    let project = visible(&state, &scope.principal, &name).await?;
    let named: Named = json(&body, r#"{"name": "beta"}"#)?;
    let new = ProjectName::new(&named.name).map_err(|e| ApiError::bad("name", e))?;
    let renamed = organization(&state, move |o| o.rename_project(project.id, &new)).await?;
    state.directory.forget();
    let mut response = Json(ProjectView::of(&renamed)).into_response();
    response.extensions_mut().insert(AuditChange {
        before: Some(json!({ "name": project.name.as_str() }).to_string()),
        after: Some(json!({ "name": renamed.name.as_str() }).to_string()),
    });
    Ok(response)
}

/// `DELETE /projects/{name}`: its data, its keys, the project; any but the last (409). The
/// project the configuration's files configure may go too: the files' budgets, alerts and
/// evaluators then run on nothing until the next start, which gives them `default` (or the
/// first project), and the organization's credentials act on that one from now on.
pub(super) async fn remove(
    State(state): State<AppState>,
    scope: Scope,
    Path(name): Path<String>,
    p: Params,
) -> Result<Json<ProjectView>, ApiError> {
    p.finish()?;
    organization_admin(&scope, "deleting a project")?;
    let project = visible(&state, &scope.principal, &name).await?;
    if project.id == state.configured_project {
        tracing::warn!(
            project = %name,
            "deleting the project the configuration's files configure: their budgets, alerts \
             and evaluators apply to no project until the next start"
        );
    }
    let id = project.id;
    organization(&state, move |o| o.delete_project(id)).await?;
    state.directory.forget();
    Ok(Json(ProjectView::of(&project)))
}

/// The project `name` whose keys `scope`'s credential may manage: its own admin, or the
/// organization's.
async fn managed(state: &AppState, scope: &Scope, name: &str) -> Result<Project, ApiError> {
    let project = visible(state, &scope.principal, name).await?;
    // A person's scope there, which may differ from theirs in the request's project.
    let there = scope.principal.in_project(project.id).map(|p| p.scope);
    if there == Some(KeyScope::Admin) {
        Ok(project)
    } else {
        Err(ApiError::Forbidden(format!(
            "managing the keys of {name:?} needs scope `admin`"
        )))
    }
}

/// `GET /projects/{name}/keys`.
pub(super) async fn keys(
    State(state): State<AppState>,
    scope: Scope,
    Path(name): Path<String>,
    p: Params,
) -> Result<Json<KeyList>, ApiError> {
    p.finish()?;
    let project = managed(&state, &scope, &name).await?;
    let id = project.id;
    let keys = organization(&state, move |o| o.keys(KeyOwner::Project(id))).await?;
    Ok(Json(KeyList {
        keys: keys
            .iter()
            .map(|k| KeyView::of(k, Some(&project), None))
            .collect(),
    }))
}

/// Makes and stores a key of `project` (`None`: the organization's) as `body` asks.
async fn new_key(
    state: &AppState,
    scope: &Scope,
    project: Option<&Project>,
    body: &Bytes,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    let request: KeyRequest = json(body, r#"{"scope": "ingest", "name": "checkout-service"}"#)?;
    let key_scope = KeyScope::parse(&request.scope).ok_or_else(|| {
        ApiError::bad(
            "scope",
            format!(
                "{:?}: one of `ingest`, `read`, `write`, `admin`",
                request.scope
            ),
        )
    })?;
    if request.name.chars().count() > MAX_KEY_NAME {
        return Err(ApiError::bad(
            "name",
            format!("at most {MAX_KEY_NAME} characters"),
        ));
    }
    let now = agentrace_core::now_unix_nano();
    let life = request.expires_in_seconds.map(|n| {
        n.as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .filter(|s| (1..=MAX_KEY_LIFE_S).contains(s))
            .ok_or_else(|| {
                ApiError::bad(
                    "expires_in_seconds",
                    format!("{n}: a whole number of seconds, 1 to {MAX_KEY_LIFE_S} (ten years)"),
                )
            })
    });
    let expires = match life {
        None => None,
        Some(s) => Some(now.saturating_add(s?.saturating_mul(1_000_000_000))),
    };
    let (secret, hash) =
        new_secret().map_err(|e| ApiError::Internal(format!("no randomness for a key: {e}")))?;
    let mut key = NewKey::new(
        project.map(|p| p.id),
        key_scope,
        request.name,
        creator(&scope.principal),
        hash,
        now,
    );
    key.expires_unix_nano = expires;
    let stored = organization(state, move |o| o.insert_key(&key)).await?;
    Ok((
        StatusCode::CREATED,
        Json(KeyView::of(&stored, project, Some(secret))),
    ))
}

/// `POST /projects/{name}/keys` `{"scope": "ingest", "name": "…"}`: the key, with its secret
/// (this once).
pub(super) async fn create_key(
    State(state): State<AppState>,
    scope: Scope,
    Path(name): Path<String>,
    p: Params,
    body: Bytes,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    p.finish()?;
    let project = managed(&state, &scope, &name).await?;
    new_key(&state, &scope, Some(&project), &body).await
}

/// Revokes the key `id` if it is one of `owner`'s (404 otherwise).
async fn revoke(state: &AppState, owner: KeyOwner, id: &str) -> Result<StatusCode, ApiError> {
    let id = id
        .parse::<u64>()
        .map(KeyId)
        .map_err(|_| ApiError::bad("id", format!("{id:?}: a key id is a number")))?;
    let keys = organization(state, move |o| o.keys(owner)).await?;
    if !keys.iter().any(|k| k.id == id) {
        return Err(ApiError::NotFound(format!("no key {id}")));
    }
    organization(state, move |o| o.revoke_key(id)).await?;
    state.directory.forget();
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /projects/{name}/keys/{id}`.
pub(super) async fn revoke_key(
    State(state): State<AppState>,
    scope: Scope,
    Path((name, id)): Path<(String, String)>,
    p: Params,
) -> Result<StatusCode, ApiError> {
    p.finish()?;
    let project = managed(&state, &scope, &name).await?;
    revoke(&state, KeyOwner::Project(project.id), &id).await
}

/// `GET /keys`: the organization's keys.
pub(super) async fn organization_keys(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
) -> Result<Json<KeyList>, ApiError> {
    p.finish()?;
    organization_admin(&scope, "listing the organization's keys")?;
    let keys = organization(&state, |o| o.keys(KeyOwner::Organization)).await?;
    Ok(Json(KeyList {
        keys: keys.iter().map(|k| KeyView::of(k, None, None)).collect(),
    }))
}

/// `POST /keys`: a key of the organization, with its secret (this once).
pub(super) async fn create_organization_key(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
    body: Bytes,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    p.finish()?;
    organization_admin(&scope, "creating an organization key")?;
    new_key(&state, &scope, None, &body).await
}

/// `DELETE /keys/{id}`.
pub(super) async fn revoke_organization_key(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
) -> Result<StatusCode, ApiError> {
    p.finish()?;
    organization_admin(&scope, "revoking an organization key")?;
    revoke(&state, KeyOwner::Organization, &id).await
}
