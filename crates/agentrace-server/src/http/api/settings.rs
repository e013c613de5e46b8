//! `/settings`: the project's settings (docs/projects.md) — its budgets, prices, retention
//! and capture, each a JSON document of its kind (`crate::config::project`), kept in the store
//! so that every node of a fleet runs on them.
//!
//! A document is checked before it is stored (400 saying what is wrong); once stored, it is
//! in force on this node when the answer is sent and on every other node within
//! `crate::jobs::projects::POLL`. Reading needs scope `read`; writing and deleting, `admin`.
//! A kind the configuration's files give the project (the budgets or alerts file, for the
//! configured project) is refused with 409 naming the file. The `alerts` document may hold
//! secrets (a channel's webhook URL): only scope `admin` reads it.

use agentrace_store::{KeyScope, ProjectSetting};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::params::Params;
use super::projects::{creator, organization};
use crate::config::OutboundHosts;
use crate::config::project::{MAX_SETTING_BYTES, Setting, SettingKind};
use crate::http::api_base::ApiError;
use crate::http::audit::AuditChange;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::store::provisioning::provisioned_from;
use std::path::Path;

/// A setting as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct SettingView {
    kind: &'static str,
    /// The document; `null`: the project has none of this kind (the server's applies).
    document: Option<serde_json::Value>,
    /// When it was written (Unix nanoseconds), which is also its version.
    revision: Option<u64>,
    /// Who wrote it.
    updated_by: Option<String>,
    /// The configuration file that gives the project this kind, if one does (the API cannot
    /// change it).
    provided_by_file: Option<String>,
}

impl SettingView {
    fn of(
        state: &AppState,
        scope: &Scope,
        kind: SettingKind,
        stored: Option<ProjectSetting>,
    ) -> Self {
        let configured = state.runtimes.provided_by_file(scope.project.id, kind);
        let provisioned = stored
            .as_ref()
            .and_then(|s| provisioned_from(&s.updated_by).map(Path::to_owned));
        let file = configured
            .as_ref()
            .or(provisioned.as_ref())
            .map(|p| p.display().to_string());
        let shown = !kind.holds_secrets() || scope.principal.scope == KeyScope::Admin;
        let (document, revision, updated_by) = match stored.filter(|_| configured.is_none()) {
            Some(s) => (
                serde_json::from_str(&s.document).ok().filter(|_| shown),
                Some(s.revision),
                Some(s.updated_by),
            ),
            None => (None, None, None),
        };
        Self {
            kind: kind.as_str(),
            document,
            revision,
            updated_by,
            provided_by_file: file,
        }
    }
}

/// `GET /settings`.
#[derive(Debug, Serialize)]
pub(super) struct SettingList {
    settings: Vec<SettingView>,
}

fn kind_of(name: &str) -> Result<SettingKind, ApiError> {
    SettingKind::parse(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no setting kind {name:?}: one of {}",
            SettingKind::names()
        ))
    })
}

/// Refuses (409) to change a kind a configuration file, or a file of the provisioning folder,
/// gives the project.
async fn not_from_file(state: &AppState, scope: &Scope, kind: SettingKind) -> Result<(), ApiError> {
    let project = scope.project.name.as_str();
    if let Some(file) = state.runtimes.provided_by_file(scope.project.id, kind) {
        return Err(ApiError::Conflict(format!(
            "the {kind} of project {project:?} are given by the file {}: change the file, or remove it from the configuration to manage them here",
            file.display()
        )));
    }
    let id = scope.project.id;
    let stored = organization(state, move |o| o.setting(id, kind.as_str())).await?;
    if let Some(file) = stored
        .as_ref()
        .and_then(|s| provisioned_from(&s.updated_by))
    {
        return Err(ApiError::Conflict(format!(
            "the {kind} of project {project:?} are provisioned from {}: change the file and restart, or take it out of the folder to manage them here",
            file.display()
        )));
    }
    Ok(())
}

/// Rebuilds the project's settings in force on this node from the store.
async fn apply(state: &AppState, scope: &Scope) -> Result<(), ApiError> {
    let (runtimes, project) = (state.runtimes.clone(), scope.project.id);
    tokio::task::spawn_blocking(move || runtimes.refresh_project(project))
        .await
        .map_err(|e| ApiError::Internal(format!("the settings' task failed: {e}")))??;
    Ok(())
}

/// `GET /settings`: every kind, set or not.
pub(super) async fn list(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
) -> Result<Json<SettingList>, ApiError> {
    p.finish()?;
    let project = scope.project.id;
    let stored = organization(&state, move |o| {
        SettingKind::ALL
            .iter()
            .map(|k| o.setting(project, k.as_str()))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(Json(SettingList {
        settings: SettingKind::ALL
            .into_iter()
            .zip(stored)
            .map(|(kind, s)| SettingView::of(&state, &scope, kind, s))
            .collect(),
    }))
}

/// `GET /settings/{kind}`.
pub(super) async fn one(
    State(state): State<AppState>,
    scope: Scope,
    UrlPath(kind): UrlPath<String>,
    p: Params,
) -> Result<Json<SettingView>, ApiError> {
    p.finish()?;
    let kind = kind_of(&kind)?;
    if kind.holds_secrets() && scope.principal.scope != KeyScope::Admin {
        return Err(ApiError::Forbidden(format!(
            "reading the {kind} setting needs scope `admin`: it may hold secrets (channels' URLs)"
        )));
    }
    let project = scope.project.id;
    let stored = organization(&state, move |o| o.setting(project, kind.as_str())).await?;
    Ok(Json(SettingView::of(&state, &scope, kind, stored)))
}

/// `PUT /settings/{kind}`: the body is the document.
pub(super) async fn put(
    State(state): State<AppState>,
    scope: Scope,
    UrlPath(kind): UrlPath<String>,
    p: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    p.finish()?;
    let kind = kind_of(&kind)?;
    not_from_file(&state, &scope, kind).await?;
    if body.len() > MAX_SETTING_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a setting's document is at most {MAX_SETTING_BYTES} bytes"
        )));
    }
    let document: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the {kind} document must be JSON: {e}")))?;
    let setting = Setting::read(kind, document.clone())
        .map_err(|e| ApiError::BadRequest(format!("the {kind} document is invalid: {e}")))?;
    let outbound = OutboundHosts::new(&state.config.outbound_hosts).and_then(|o| o.admit(&setting));
    let refused = match &setting {
        _ if outbound.is_err() => outbound.err(),
        Setting::Retention(r) => state.store_expiry.refuses(&r.over(&state.config.retention)),
        Setting::Alerts(config) => config
            .all_rules()
            .iter()
            .find_map(|rule| crate::jobs::alerting::source::check(rule).err()),
        _ => None,
    };
    if let Some(reason) = refused {
        return Err(ApiError::BadRequest(format!(
            "the {kind} document is invalid: {reason}"
        )));
    }
    let (project, by) = (scope.project.id, creator(&scope.principal));
    let text = document.to_string();
    let (stored, before) = organization(&state, move |o| {
        let before = o.setting(project, kind.as_str())?;
        let stored = o.put_setting(
            project,
            kind.as_str(),
            &text,
            &by,
            agentrace_core::now_unix_nano(),
        )?;
        Ok((stored, before))
    })
    .await?;
    apply(&state, &scope).await?;
    let change = AuditChange {
        before: before.map(|b| redacted(&b.document)),
        after: Some(redacted(&stored.document)),
    };
    let mut response = Json(SettingView::of(&state, &scope, kind, Some(stored))).into_response();
    response.extensions_mut().insert(change);
    Ok(response)
}

/// A document as the audit log keeps it: the values of keys that name secrets (`secret`,
/// `password`, `token`, `api_key`) replaced, so that the log holds no credential.
fn redacted(document: &str) -> String {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    let secret = ["secret", "password", "token", "api_key"]
                        .iter()
                        .any(|s| key.eq_ignore_ascii_case(s));
                    if secret && !v.is_null() {
                        *v = serde_json::Value::String("[redacted]".into());
                    } else {
                        walk(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(mut value) => {
            walk(&mut value);
            value.to_string()
        }
        Err(_) => document.to_owned(),
    }
}

/// `DELETE /settings/{kind}`: the project runs on the server's again.
pub(super) async fn remove(
    State(state): State<AppState>,
    scope: Scope,
    UrlPath(kind): UrlPath<String>,
    p: Params,
) -> Result<Response, ApiError> {
    p.finish()?;
    let kind = kind_of(&kind)?;
    not_from_file(&state, &scope, kind).await?;
    let project = scope.project.id;
    let before = organization(&state, move |o| {
        let before = o.setting(project, kind.as_str())?;
        o.delete_setting(project, kind.as_str())?;
        Ok(before)
    })
    .await?;
    let Some(before) = before else {
        return Err(ApiError::NotFound(format!(
            "project {:?} has no {kind} setting",
            scope.project.name.as_str()
        )));
    };
    apply(&state, &scope).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(AuditChange {
        before: Some(redacted(&before.document)),
        after: None,
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_never_reach_the_audit_log() {
        let document = r#"{"channels":[{"name":"ops","type":"webhook","url":"http://h","secret":"s3cr3t"}],"Token":"t"}"#;
        let kept = super::redacted(document);
        assert!(
            !kept.contains("s3cr3t") && !kept.contains("\"t\""),
            "{kept}"
        );
        assert!(kept.contains("\"url\":\"http://h\""), "{kept}");
    }
}
