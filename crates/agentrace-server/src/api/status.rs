//! `/budgets`, `/status`, `/openapi.json`.

use agentrace_core::budget::BudgetStatus;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;

use super::error::{ApiError, blocking};
use super::params::Params;
use crate::state::{AppState, StatsSnapshot};

/// The OpenAPI 3.1 document of the API.
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// `GET /budgets` answer.
#[derive(Debug, Serialize)]
pub(super) struct Budgets {
    /// Whether budgets are configured.
    configured: bool,
    /// Every account (budget × scope value) with spend in its current period.
    budgets: Vec<BudgetStatus>,
}

/// `GET /budgets`: the state of every budget account.
pub(super) async fn budgets(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<Budgets>, ApiError> {
    p.finish()?;
    Ok(Json(Budgets {
        configured: state.budgets.is_some(),
        budgets: state
            .budgets
            .as_ref()
            .map(|b| b.status())
            .unwrap_or_default(),
    }))
}

/// The store, in `/status`.
#[derive(Debug, Serialize)]
pub(super) struct StoreStatus {
    schema_version: i64,
    /// Bytes of the database file.
    database_bytes: u64,
    /// Bytes on disk: the database file and its write-ahead log.
    file_bytes: u64,
}

/// `GET /status` answer.
#[derive(Debug, Serialize)]
pub(super) struct Status {
    #[serde(flatten)]
    stats: StatsSnapshot,
    store: StoreStatus,
}

/// `GET /status`: the pipeline's counters and the store.
pub(super) async fn status(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<Status>, ApiError> {
    p.finish()?;
    let store = blocking(&state.store, |s| {
        let disk = s.disk_usage()?;
        Ok(StoreStatus {
            schema_version: s.schema_version()?,
            database_bytes: disk.data_bytes,
            file_bytes: disk.total_bytes,
        })
    })
    .await?;
    Ok(Json(Status {
        stats: state.stats.snapshot(),
        store,
    }))
}

/// `GET /openapi.json`.
pub(super) async fn openapi(p: Params) -> Result<impl IntoResponse, ApiError> {
    p.finish()?;
    Ok(([(header::CONTENT_TYPE, "application/json")], OPENAPI))
}
