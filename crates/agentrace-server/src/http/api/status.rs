//! `GET /status`: the pipeline's counters (`crate::telemetry::stats`) and the store's figures.

use agentrace_core::PipelineStats;
use agentrace_store::{HeldStatus, RecordKind};
use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::ApiError;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::telemetry::stats::{RedactionSnapshot, StatsSnapshot};

/// The store, in `/status`: its figures, or why it did not give them.
#[derive(Debug, Serialize)]
pub(super) struct StoreStatus {
    /// What and where it is (a SQLite file, a ClickHouse database and its server).
    location: String,
    schema_version: Option<i64>,
    /// Bytes of its data (compressed, on ClickHouse).
    database_bytes: Option<u64>,
    /// Bytes on disk: the data and, for SQLite, its write-ahead log.
    file_bytes: Option<u64>,
    /// Scores stored.
    scores: Option<u64>,
    /// Why the figures are missing: the store did not answer.
    error: Option<String>,
    /// The spans this node holds for their parent (ClickHouse; `None` for a store that holds
    /// none).
    held: Option<HeldStatus>,
}

/// `GET /status` answer.
#[derive(Debug, Serialize)]
pub(super) struct Status {
    /// The server's own counters (every project's traffic): for a caller that speaks for the
    /// whole organization only, as on `/metrics`.
    #[serde(flatten)]
    stats: Option<StatsSnapshot>,
    store: StoreStatus,
    /// The project's own forwarder (its `forwarding` setting): what it sent, dropped and
    /// failed; `null` when it forwards through the server's (`pipeline`) or not at all.
    forwarding: Option<PipelineStats>,
    /// What the project's own redaction (its `capture` setting) masked and removed; `null`
    /// when it masks as the server does (`redaction`, the server's counts).
    capture: Option<RedactionSnapshot>,
}

/// `GET /status`: the pipeline's counters and the store. Answered when the store is not (a
/// store down is what an operator opens it for): its part then says why. A caller that does not
/// speak for the whole organization (a project's key, a person below the organization's
/// admin) gets the project's part — its store, its forwarder — and not the server's counters,
/// which count every project's traffic.
pub(super) async fn status(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
) -> Result<Json<Status>, ApiError> {
    p.finish()?;
    let location = scope.store.describe();
    let held = scope.store.held();
    let store = std::sync::Arc::clone(&scope.store);
    let figures = tokio::task::spawn_blocking(move || {
        let health = store.health()?;
        let scores = store.count(RecordKind::Scores)?;
        Ok::<_, agentrace_store::QueryError>((health.schema_version, health.disk, scores))
    })
    .await
    .unwrap_or_else(|e| Err(agentrace_store::QueryError::Failed(e.into())));
    let store = match figures {
        Ok((schema_version, disk, scores)) => StoreStatus {
            location,
            schema_version: Some(schema_version),
            database_bytes: Some(disk.data_bytes),
            file_bytes: Some(disk.total_bytes),
            scores: Some(scores),
            error: None,
            held,
        },
        Err(e) => StoreStatus {
            location,
            schema_version: None,
            database_bytes: None,
            file_bytes: None,
            scores: None,
            error: Some(e.to_string()),
            held,
        },
    };
    let runtime = state.runtimes.of(scope.project.id);
    Ok(Json(Status {
        stats: scope
            .principal
            .is_organization_wide()
            .then(|| state.stats.snapshot().with_held(held)),
        store,
        forwarding: runtime.forwarding(),
        capture: runtime.redaction(),
    }))
}
