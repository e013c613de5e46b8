//! `GET /audit`: the audit log (`crate::http::audit`), newest first, for the organization's
//! admins: every entry, one project's (`project=<name>`), the organization's own
//! (`scope=organization`: projects created, people, organization keys), or a project's by its
//! id (`scope=project:<id>`, a deleted project's included); as JSON pages or as JSON lines
//! (`format=jsonl`, an export).

use std::collections::HashMap;

use agentrace_core::civil::{Precision, rfc3339};
use agentrace_store::{AuditEntry, AuditQuery, AuditScope, ProjectId};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::ApiError;
use crate::http::scope::{PROJECT_PARAMETER, Scope};
use crate::http::state::AppState;

/// Who, as an entry shows them.
#[derive(Debug, Serialize)]
struct ActorView {
    kind: String,
    id: Option<u64>,
    name: String,
}

/// One entry.
#[derive(Debug, Serialize)]
struct EntryView {
    id: String,
    at: String,
    at_unix_nano: u64,
    actor: ActorView,
    action: String,
    target: String,
    /// The project's name (its id if it was deleted since); `null`: the organization.
    project: Option<String>,
    address: Option<String>,
    status: u16,
    before: Option<String>,
    after: Option<String>,
}

impl EntryView {
    fn of(e: AuditEntry, names: &HashMap<ProjectId, String>) -> Self {
        Self {
            id: e.id.to_string(),
            at: rfc3339(e.at_unix_nano, Precision::Nanos),
            at_unix_nano: e.at_unix_nano,
            actor: ActorView {
                kind: e.actor.kind,
                id: e.actor.id,
                name: e.actor.name,
            },
            action: e.action,
            target: e.target,
            project: e
                .project
                .map(|p| names.get(&p).cloned().unwrap_or_else(|| format!("#{p}"))),
            address: e.address,
            status: e.status,
            before: e.before,
            after: e.after,
        }
    }
}

/// `GET /audit` answer.
#[derive(Debug, Serialize)]
pub(super) struct AuditPage {
    entries: Vec<EntryView>,
    /// The `before` of the next page; `null` at the end.
    next: Option<String>,
}

/// The cursor `<at_unix_nano>.<id>`.
fn cursor(text: &str) -> Result<(u64, u64), ApiError> {
    text.split_once('.')
        .and_then(|(at, id)| Some((at.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| ApiError::bad("before", "the `next` of a previous page"))
}

/// The entries `scope=` selects: `organization`, or `project:<id>`.
fn audit_scope(text: &str) -> Result<AuditScope, ApiError> {
    match text.split_once(':') {
        None if text == "organization" => Ok(AuditScope::Organization),
        Some(("project", id)) => id
            .parse()
            .map(|id| AuditScope::Project(ProjectId(id)))
            .map_err(|_| ApiError::bad("scope", "`project:` and a project's id (a number)")),
        _ => Err(ApiError::bad(
            "scope",
            format!("{text:?}: expected `organization` or `project:<id>`"),
        )),
    }
}

/// `GET /audit`.
pub(super) async fn list(
    State(state): State<AppState>,
    scope: Scope,
    RawQuery(query): RawQuery,
    mut p: Params,
) -> Result<Response, ApiError> {
    if !scope.principal.is_organization_admin() {
        return Err(ApiError::Forbidden(
            "the audit log is the organization's admins' (an owner or admin, or an organization credential of scope `admin`)".into(),
        ));
    }
    let range = p.range()?;
    let limit = p.limit(100, 1_000)?;
    let action = p.text("action")?;
    let before = p.text("before")?.map(|t| cursor(&t)).transpose()?;
    let format = p.text("format")?;
    let scoped = p.text("scope")?.map(|s| audit_scope(&s)).transpose()?;
    // `project` (taken before the handler, `crate::http::auth`) chose the request's project.
    let asked = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.starts_with(&format!("{PROJECT_PARAMETER}=")))
    });
    p.finish()?;
    let projects = state.directory.projects().await?;
    let audit_scope = match (scoped, asked) {
        (Some(_), true) => {
            return Err(ApiError::bad(
                "scope",
                "give `project` (a project's name) or `scope`, not both",
            ));
        }
        (Some(scoped), false) => scoped,
        // The request acts on the project named (`crate::http::auth`): it exists.
        (None, true) => AuditScope::Project(scope.project.id),
        (None, false) => AuditScope::All,
    };
    let export = match format.as_deref() {
        None | Some("json") => false,
        Some("jsonl") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "format",
                format!("{other:?}: expected json or jsonl"),
            ));
        }
    };
    let mut query = AuditQuery::new(audit_scope, if export { usize::MAX } else { limit });
    query.since_unix_nano = range.start_unix_nano;
    query.until_unix_nano = range.end_unix_nano;
    query.action_prefix = action;
    query.before = before;
    let organization = state.organization.clone();
    let entries = tokio::task::spawn_blocking(move || organization.audit(&query))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let names: HashMap<ProjectId, String> = projects
        .iter()
        .map(|p| (p.id, p.name.to_string()))
        .collect();
    let next = (!export && entries.len() == limit)
        .then(|| {
            entries
                .last()
                .map(|e| format!("{}.{}", e.at_unix_nano, e.id))
        })
        .flatten();
    let views: Vec<EntryView> = entries
        .into_iter()
        .map(|e| EntryView::of(e, &names))
        .collect();
    if export {
        let mut lines = String::new();
        for view in &views {
            lines.push_str(
                &serde_json::to_string(view).map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            lines.push('\n');
        }
        return Ok((
            [
                (header::CONTENT_TYPE, "application/x-ndjson"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"agentrace-audit.jsonl\"",
                ),
            ],
            lines,
        )
            .into_response());
    }
    Ok(Json(AuditPage {
        entries: views,
        next,
    })
    .into_response())
}
