//! People (docs/access.md), for the organization's admins: `GET /people` lists them with their
//! roles and the invitations not yet taken; `POST /people/invitations` invites someone (the link
//! shown once, valid for [`INVITATION_TTL`]); `PATCH /people/{id}` changes a role (the
//! organization's, or in projects) or a name; `DELETE /people/{id}` removes a person, whose
//! sessions end on every node within the directory's cache time; `GET` and `DELETE
//! /people/{id}/sessions` list and end a person's sessions.
//!
//! Owners are an owner's to make, change and remove (the configured `api_token` counts as one;
//! an organization key of scope `admin` as an admin), and the last owner stays: demoting or
//! removing them is refused (409).

use std::collections::BTreeMap;
use std::time::Duration;

use agentrace_core::civil::{Precision, rfc3339};
use agentrace_store::{
    AccountError, Invitation, LoginSession, OrgRole, ProjectId, ProjectRole, SecretHash, User,
    UserId,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::params::Params;
use super::projects::organization_admin;
use crate::http::api_base::ApiError;
use crate::http::audit::AuditChange;
use crate::http::auth::login::normalized_email;
use crate::http::auth::sessions::{hex, over_https, secret_hash};
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::store::principal::Principal;

/// How long an invitation's link works.
pub(crate) const INVITATION_TTL: Duration = Duration::from_secs(72 * 3_600);

/// A person as listed.
#[derive(Debug, Serialize)]
pub(super) struct PersonView {
    id: u64,
    email: String,
    name: String,
    role: &'static str,
    /// Their roles in projects, by project name.
    projects: BTreeMap<String, &'static str>,
    /// How they log in: `password`, `sso`, or both.
    login: Vec<&'static str>,
    created_at: String,
    last_login_at: Option<String>,
}

/// An invitation as listed (its link is shown once, when it is made).
#[derive(Debug, Serialize)]
pub(super) struct InvitationView {
    id: String,
    email: String,
    role: &'static str,
    projects: BTreeMap<String, &'static str>,
    created_by: String,
    expires_at: String,
    expired: bool,
}

/// `GET /people` answer.
#[derive(Debug, Serialize)]
pub(super) struct PeopleList {
    people: Vec<PersonView>,
    invitations: Vec<InvitationView>,
}

/// A store call of people, off the async threads.
pub(super) async fn accounts<T: Send + 'static>(
    state: &AppState,
    call: impl FnOnce(&dyn agentrace_store::Organization) -> Result<T, AccountError> + Send + 'static,
) -> Result<T, ApiError> {
    let organization = state.organization.clone();
    tokio::task::spawn_blocking(move || call(&*organization))
        .await
        .map_err(|e| ApiError::Internal(format!("the store's task failed: {e}")))?
        .map_err(|e| match e {
            AccountError::EmailTaken(email) => {
                ApiError::Conflict(format!("a person with the e-mail address {email} exists"))
            }
            AccountError::SubjectTaken(_) => {
                ApiError::Conflict("a person signed on with that identity exists".into())
            }
            AccountError::NoUser(id) => ApiError::NotFound(format!("no person {id}")),
            AccountError::NoProject(id) => ApiError::NotFound(format!("no project {id}")),
            AccountError::Unavailable(e) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        })
}

/// The names of the live projects, by id.
async fn project_names(state: &AppState) -> Result<BTreeMap<ProjectId, String>, ApiError> {
    Ok(state
        .directory
        .projects()
        .await?
        .iter()
        .map(|p| (p.id, p.name.to_string()))
        .collect())
}

fn roles_by_name(
    grants: impl IntoIterator<Item = (ProjectId, ProjectRole)>,
    names: &BTreeMap<ProjectId, String>,
) -> BTreeMap<String, &'static str> {
    grants
        .into_iter()
        .filter_map(|(p, r)| Some((names.get(&p)?.clone(), r.as_str())))
        .collect()
}

/// The id an invitation is known by: its digest in hex (not its secret).
fn invitation_id(hash: &SecretHash) -> String {
    hex(&hash.0)
}

/// Whether `principal` counts as an owner (an owner, or the configured `api_token`).
fn is_owner(principal: &Principal) -> bool {
    match &principal.person {
        Some(person) => person.role == OrgRole::Owner,
        None => principal.key.is_none() && principal.project.is_none(),
    }
}

/// `GET /people`.
pub(super) async fn list(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
) -> Result<Json<PeopleList>, ApiError> {
    p.finish()?;
    organization_admin(&scope, "listing people")?;
    let names = project_names(&state).await?;
    let (users, grants, invitations) = accounts(&state, |o| {
        let users = o.users()?;
        let grants = users
            .iter()
            .map(|u| o.grants(u.id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((users, grants, o.invitations()?))
    })
    .await?;
    let now = agentrace_core::now_unix_nano();
    Ok(Json(PeopleList {
        people: users
            .iter()
            .zip(grants)
            .map(|(u, g)| person_view(u, g.iter().map(|g| (g.project, g.role)), &names))
            .collect(),
        invitations: invitations
            .iter()
            .map(|i| InvitationView {
                id: invitation_id(&i.hash),
                email: i.email.clone(),
                role: i.role.as_str(),
                projects: roles_by_name(i.grants.iter().copied(), &names),
                created_by: i.created_by.clone(),
                expires_at: rfc3339(i.expires_unix_nano, Precision::Seconds),
                expired: now >= i.expires_unix_nano,
            })
            .collect(),
    }))
}

fn person_view(
    u: &User,
    grants: impl IntoIterator<Item = (ProjectId, ProjectRole)>,
    names: &BTreeMap<ProjectId, String>,
) -> PersonView {
    let mut login = Vec::new();
    if u.password_hash.is_some() {
        login.push("password");
    }
    if u.subject.is_some() {
        login.push("sso");
    }
    PersonView {
        id: u.id.0,
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role.as_str(),
        projects: roles_by_name(grants, names),
        login,
        created_at: rfc3339(u.created_unix_nano, Precision::Seconds),
        last_login_at: u
            .last_login_unix_nano
            .map(|t| rfc3339(t, Precision::Seconds)),
    }
}

/// Roles in projects as a request names them: `{"alpha": "admin", "beta": null}`.
type ProjectRoles = BTreeMap<String, Option<String>>;

/// `roles` resolved against the live projects: each project's id and role (`None`: remove).
async fn resolve_roles(
    state: &AppState,
    roles: &ProjectRoles,
) -> Result<Vec<(ProjectId, Option<ProjectRole>)>, ApiError> {
    let names = project_names(state).await?;
    roles
        .iter()
        .map(|(name, role)| {
            let id = names
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(id, _)| *id)
                .ok_or_else(|| ApiError::NotFound(format!("no project named {name:?}")))?;
            let role = role
                .as_deref()
                .map(|r| {
                    ProjectRole::parse(r).ok_or_else(|| {
                        ApiError::bad(
                            "projects",
                            format!("{r:?} is not a project role: admin, member, viewer or none"),
                        )
                    })
                })
                .transpose()?;
            Ok((id, role))
        })
        .collect()
}

fn org_role(name: &str) -> Result<OrgRole, ApiError> {
    OrgRole::parse(name).ok_or_else(|| {
        ApiError::bad(
            "role",
            format!("{name:?} is not a role: owner, admin, member or viewer"),
        )
    })
}

/// `POST /people/invitations` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteIn {
    email: String,
    role: String,
    #[serde(default)]
    projects: ProjectRoles,
}

/// `POST /people/invitations` answer: the link, shown this once.
#[derive(Debug, Serialize)]
struct Invited {
    id: String,
    email: String,
    role: &'static str,
    /// The secret of the link: whoever holds it becomes this person, once.
    token: String,
    /// The dashboard's page that takes it.
    url: String,
    expires_at: String,
}

/// The dashboard's address as the request reached it.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if over_https(headers) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// `POST /people/invitations`.
pub(super) async fn invite(
    State(state): State<AppState>,
    scope: Scope,
    headers: HeaderMap,
    p: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    p.finish()?;
    organization_admin(&scope, "inviting people")?;
    let asked: InviteIn = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"email\": \"dan@example.com\", \"role\": \"viewer\", \"projects\": {{\"alpha\": \"member\"}}}}: {e}"
        ))
    })?;
    let email = normalized_email(&asked.email);
    if !email.contains('@') || email.len() > 254 {
        return Err(ApiError::bad(
            "email",
            format!("{email:?} is not an e-mail address"),
        ));
    }
    let role = org_role(&asked.role)?;
    if role == OrgRole::Owner && !is_owner(&scope.principal) {
        return Err(ApiError::Forbidden(
            "only an owner may invite an owner".into(),
        ));
    }
    let grants = resolve_roles(&state, &asked.projects).await?;
    let (token, _) =
        crate::store::directory::new_secret().map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = agentrace_core::now_unix_nano();
    let ttl = u64::try_from(INVITATION_TTL.as_nanos()).unwrap_or(u64::MAX);
    let mut invitation = Invitation::new(
        secret_hash(&token),
        email.clone(),
        role,
        scope.principal.actor().name,
        (now, now + ttl),
    );
    for (project, role) in grants {
        if let Some(role) = role {
            invitation = invitation.granting(project, role);
        }
    }
    let id = invitation_id(&invitation.hash);
    let stored = invitation.clone();
    let taken = email.clone();
    accounts(&state, move |o| {
        if o.user_by_email(&taken)?.is_some() {
            return Err(AccountError::EmailTaken(taken));
        }
        o.insert_invitation(&stored)
    })
    .await?;
    let answer = Invited {
        id,
        email: email.clone(),
        role: role.as_str(),
        url: format!("{}/invitation#token={token}", origin(&headers)),
        token,
        expires_at: rfc3339(invitation.expires_unix_nano, Precision::Seconds),
    };
    let mut response = (StatusCode::CREATED, Json(answer)).into_response();
    response.extensions_mut().insert(AuditChange {
        before: None,
        after: Some(json!({ "email": email, "role": role.as_str() }).to_string()),
    });
    Ok(response)
}

/// `DELETE /people/invitations/{id}`.
pub(super) async fn withdraw(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
) -> Result<StatusCode, ApiError> {
    p.finish()?;
    organization_admin(&scope, "withdrawing invitations")?;
    let invitations = accounts(&state, |o| o.invitations()).await?;
    let Some(found) = invitations
        .into_iter()
        .find(|i| invitation_id(&i.hash) == id)
    else {
        return Err(ApiError::NotFound(format!("no invitation {id}")));
    };
    accounts(&state, move |o| o.delete_invitation(&found.hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /people/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonChange {
    name: Option<String>,
    role: Option<String>,
    #[serde(default)]
    projects: ProjectRoles,
}

fn user_id(id: &str) -> Result<UserId, ApiError> {
    id.parse()
        .map(UserId)
        .map_err(|_| ApiError::NotFound(format!("no person {id}")))
}

/// Refuses what `principal` may not do to `target` becoming `role`: an owner is an owner's
/// to change, and the last owner stays one.
async fn check_owners(
    state: &AppState,
    principal: &Principal,
    target: &User,
    role: Option<OrgRole>,
) -> Result<(), ApiError> {
    let touches_owner = target.role == OrgRole::Owner || role == Some(OrgRole::Owner);
    if touches_owner && !is_owner(principal) {
        return Err(ApiError::Forbidden(
            "only an owner may make, change or remove an owner".into(),
        ));
    }
    let stays_owner = role.is_some_and(|r| r == OrgRole::Owner);
    if target.role == OrgRole::Owner && !stays_owner {
        let owners = accounts(state, |o| o.users())
            .await?
            .iter()
            .filter(|u| u.role == OrgRole::Owner)
            .count();
        if owners <= 1 {
            return Err(ApiError::Conflict(format!(
                "{} is the last owner: make another owner first",
                target.email
            )));
        }
    }
    Ok(())
}

/// `PATCH /people/{id}`.
pub(super) async fn change(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    p.finish()?;
    organization_admin(&scope, "changing people")?;
    let id = user_id(&id)?;
    let asked: PersonChange = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be JSON like {{\"role\": \"member\", \"projects\": {{\"alpha\": \"admin\", \"beta\": null}}}}: {e}"
        ))
    })?;
    let role = asked.role.as_deref().map(org_role).transpose()?;
    let Some(user) = accounts(&state, move |o| o.user(id)).await? else {
        return Err(ApiError::NotFound(format!("no person {id}")));
    };
    if role.is_some() {
        check_owners(&state, &scope.principal, &user, role).await?;
    } else if user.role == OrgRole::Owner && !is_owner(&scope.principal) {
        return Err(ApiError::Forbidden(
            "only an owner may change an owner".into(),
        ));
    }
    let grants = resolve_roles(&state, &asked.projects).await?;
    let names = project_names(&state).await?;
    let mut changed = user.clone();
    if let Some(role) = role {
        changed.role = role;
    }
    if let Some(name) = asked.name {
        changed.name = name;
    }
    let (before_user, after_user) = (user.clone(), changed.clone());
    let (before_grants, after_grants) = accounts(&state, move |o| {
        let before = o.grants(id)?;
        o.update_user(&changed)?;
        for (project, role) in grants {
            o.set_grant(id, project, role)?;
        }
        Ok((before, o.grants(id)?))
    })
    .await?;
    state.directory.forget();
    let describe = |u: &User, g: &[agentrace_store::Grant]| {
        json!({
            "role": u.role.as_str(),
            "name": u.name,
            "projects": roles_by_name(g.iter().map(|g| (g.project, g.role)), &names),
        })
        .to_string()
    };
    let view = person_view(
        &after_user,
        after_grants.iter().map(|g| (g.project, g.role)),
        &names,
    );
    let mut response = Json(view).into_response();
    response.extensions_mut().insert(AuditChange {
        before: Some(describe(&before_user, &before_grants)),
        after: Some(describe(&after_user, &after_grants)),
    });
    Ok(response)
}

/// `DELETE /people/{id}`: the person, their roles and their sessions.
pub(super) async fn remove(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    p.finish()?;
    organization_admin(&scope, "removing people")?;
    let id = user_id(&id)?;
    let Some(user) = accounts(&state, move |o| o.user(id)).await? else {
        return Err(ApiError::NotFound(format!("no person {id}")));
    };
    check_owners(&state, &scope.principal, &user, None).await?;
    accounts(&state, move |o| o.delete_user(id)).await?;
    state.directory.forget();
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(AuditChange {
        before: Some(json!({ "email": user.email, "role": user.role.as_str() }).to_string()),
        after: None,
    });
    Ok(response)
}

/// A session as listed: never its secret.
#[derive(Debug, Serialize)]
pub(crate) struct SessionView {
    /// What it is ended by: the first 16 hex digits of its digest.
    id: String,
    created_at: String,
    expires_at: String,
    address: String,
    user_agent: String,
    /// Whether it is the one of this request.
    current: bool,
}

/// The id a session is listed and ended by.
pub(crate) fn session_id(hash: &SecretHash) -> String {
    hex(&hash.0[..8])
}

/// The live sessions of `user`, as listed (`current`: the digest of this request's session).
pub(crate) async fn sessions_of(
    state: &AppState,
    user: UserId,
    current: Option<SecretHash>,
) -> Result<Vec<SessionView>, ApiError> {
    let now = agentrace_core::now_unix_nano();
    let sessions: Vec<LoginSession> = accounts(state, move |o| o.sessions(user)).await?;
    Ok(sessions
        .into_iter()
        .filter(|s| s.is_live(now))
        .map(|s| SessionView {
            id: session_id(&s.hash),
            created_at: rfc3339(s.created_unix_nano, Precision::Seconds),
            expires_at: rfc3339(s.expires_unix_nano, Precision::Seconds),
            current: current == Some(s.hash),
            address: s.address,
            user_agent: s.user_agent,
        })
        .collect())
}

/// Ends `user`'s session listed as `id` (`None`: every one); how many ended.
pub(crate) async fn end_sessions(
    state: &AppState,
    user: UserId,
    id: Option<String>,
) -> Result<usize, ApiError> {
    let ended = accounts(state, move |o| {
        let mut ended = 0;
        for s in o.sessions(user)? {
            if id.as_deref().is_none_or(|id| session_id(&s.hash) == id)
                && o.delete_session(&s.hash)?
            {
                ended += 1;
            }
        }
        Ok(ended)
    })
    .await?;
    state.directory.forget();
    Ok(ended)
}

/// `GET /people/{id}/sessions` answer.
#[derive(Debug, Serialize)]
pub(crate) struct SessionList {
    pub(crate) sessions: Vec<SessionView>,
}

/// `GET /people/{id}/sessions`.
pub(super) async fn sessions(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
) -> Result<Json<SessionList>, ApiError> {
    p.finish()?;
    organization_admin(&scope, "listing a person's sessions")?;
    let id = user_id(&id)?;
    Ok(Json(SessionList {
        sessions: sessions_of(&state, id, None).await?,
    }))
}

/// `DELETE /people/{id}/sessions`: ends every session of the person.
pub(super) async fn end_all(
    State(state): State<AppState>,
    scope: Scope,
    Path(id): Path<String>,
    p: Params,
) -> Result<StatusCode, ApiError> {
    p.finish()?;
    organization_admin(&scope, "ending a person's sessions")?;
    end_sessions(&state, user_id(&id)?, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
