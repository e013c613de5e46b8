//! The audit log's entries, made where they happen: every request of the API that changes
//! something (any method but `GET`), refused or not, and every sensitive read — an export
//! (`format=csv`), the report, the audit log itself, the people and the keys listed — by the
//! API's middleware ([`record`]); logins, failed logins and logouts by the login routes
//! ([`Audit::append`]). An entry says who (a person, a key, a token), when, from which address
//! ([`ClientAddress`]), what (the method and the route: `PUT /settings/{kind}`), on what (the
//! path), in which project (the request's, or the one a route of the organization names:
//! `/projects/{name}/keys` is that project's; the organization's other routes are in none),
//! and what the answer was; a change of configuration also what
//! was there before and after ([`AuditChange`], set by its handler).
//!
//! An entry is appended before the answer leaves, so that a change acknowledged is a change
//! recorded; if the store refuses it, the answer still goes (the change is made) and the
//! failure is counted (`audit.failed` in `/status`) and logged.

use std::sync::Arc;

use agentrace_store::{AuditEntry, ProjectId};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::http::scope::Scope;
use crate::ingest::listen::client::ClientAddress;
use crate::store::SharedOrganization;
use crate::store::directory::Directory;
use crate::telemetry::counters::add;
use crate::telemetry::stats::ServerStats;

/// What a change of configuration replaced: set by its handler on the response, read by
/// [`record`].
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditChange {
    /// The document (or role, or name) before; `None`: there was none.
    pub(crate) before: Option<String>,
    /// After; `None`: it was deleted.
    pub(crate) after: Option<String>,
}

/// Where entries are appended.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    organization: SharedOrganization,
    stats: Arc<ServerStats>,
}

impl Audit {
    /// Appending to `organization`'s audit log, failures counted in `stats`.
    pub(crate) fn new(organization: SharedOrganization, stats: Arc<ServerStats>) -> Self {
        Self {
            organization,
            stats,
        }
    }

    /// Appends `entry` (off the async threads); a failure is counted and logged, never
    /// returned: the action it records happened.
    pub(crate) async fn append(&self, entry: AuditEntry) {
        let organization = self.organization.clone();
        let action = entry.action.clone();
        let appended =
            tokio::task::spawn_blocking(move || organization.append_audit(&[entry])).await;
        let failure = match appended {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        add(&self.stats.audit_failed, 1);
        tracing::error!(%action, error = %failure, "an audit entry was not stored");
    }
}

/// The state of [`record`]: where entries go, and the projects a path may name.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    pub(crate) audit: Audit,
    pub(crate) directory: Arc<Directory>,
}

pub(crate) use crate::store::audit_entry as entry;

/// Whether a `GET` of `path` (under the API's prefix) with `query` reads what is recorded.
fn sensitive_read(path: &str, query: Option<&str>) -> bool {
    let route = path.trim_start_matches(crate::http::api_base::PREFIX);
    let exported = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("format=")));
    exported
        || matches!(route, "/report" | "/audit" | "/people" | "/keys")
        || route.starts_with("/people/")
        || (route.starts_with("/projects/") && route.ends_with("/keys"))
}

/// `router` with its requests recorded by [`record`] (the API's routes, and the routes of the
/// products agentrace speaks: Langfuse's scores are scores).
pub(crate) fn audited<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    recorder: Recorder,
) -> axum::Router<S> {
    router.layer(axum::middleware::from_fn_with_state(recorder, record))
}

/// axum middleware of the API (inside the credentials' check, so that the request's
/// [`Scope`] is known): appends an entry for each change and each sensitive read.
pub(crate) async fn record(
    State(recorder): State<Recorder>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let recorded = method != Method::GET && method != Method::HEAD && method != Method::OPTIONS
        || sensitive_read(&path, request.uri().query());
    if !recorded {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let route = route
        .trim_start_matches(crate::http::api_base::PREFIX)
        .to_owned();
    let scope = request.extensions().get::<Scope>().cloned();
    let address = request
        .extensions()
        .get::<ClientAddress>()
        .and_then(|a| a.text());
    // Read before the request runs: a project it deletes is still found.
    let named = project_in_path(&recorder.directory, &route, &path).await;
    let response = next.run(request).await;
    let Some(scope) = scope else {
        return response;
    };
    let mut e = entry(
        scope.principal.actor(),
        (&format!("{method} {route}"), &path),
        address,
        response.status().as_u16(),
    );
    if let Some(project) = named {
        e = e.in_project(project);
    } else if !of_the_organization(&route) {
        e = e.in_project(scope.project.id);
    }
    if let Some(change) = response.extensions().get::<AuditChange>() {
        e = e.changing(change.before.clone(), change.after.clone());
    }
    recorder.audit.append(e).await;
    response
}

/// The project a route of the organization names in its path (`/projects/{name}/keys`): its
/// keys and its name are that project's, whichever project the request is in.
async fn project_in_path(directory: &Directory, route: &str, path: &str) -> Option<ProjectId> {
    if route != "/projects/{name}" && !route.starts_with("/projects/{name}/") {
        return None;
    }
    let name = path
        .trim_start_matches(crate::http::api_base::PREFIX)
        .strip_prefix("/projects/")?
        .split('/')
        .next()?;
    let projects = directory.projects().await.ok()?;
    projects
        .iter()
        .find(|p| p.name.as_str() == name)
        .map(|p| p.id)
}

/// Whether `route` acts on the organization rather than on the request's project: its
/// projects, keys, people and audit log.
fn of_the_organization(route: &str) -> bool {
    ["/projects", "/keys", "/people", "/audit", "/auth"]
        .iter()
        .any(|prefix| route == *prefix || route.starts_with(&format!("{prefix}/")))
}
