//! The project a request acts on: resolved from its credential (and the
//! `x-agentrace-project` header) before any handler runs (`crate::http::auth`), and the only
//! way a handler reaches a store — so a handler cannot read or change another project's data.

use agentrace_store::{Project, ProjectId};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::http::api_base::ApiError;
use crate::store::SharedStore;
use crate::store::directory::Principal;

/// The header a request of an organization credential names its project with.
pub const PROJECT_HEADER: &str = "x-agentrace-project";

/// The query parameter a browser names its project with, where it cannot send
/// [`PROJECT_HEADER`] (the live feed's WebSocket, a download link).
pub const PROJECT_PARAMETER: &str = "project";

/// Who is asking, the project they act on, and its store.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Who is asking, and what they may do.
    pub principal: Principal,
    /// The project.
    pub project: Project,
    /// The project's store.
    pub store: SharedStore,
}

impl Scope {
    /// Whether the project is `configured`, the one the configuration's files configure
    /// (budgets, alert rules, SLOs, evaluators, forwarding); other projects are configured by
    /// their settings (`crate::jobs::projects`).
    pub fn is(&self, configured: ProjectId) -> bool {
        self.project.id == configured
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("the request's project was not resolved".into()))
    }
}
