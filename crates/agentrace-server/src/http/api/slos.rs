//! `/slos`: the service level objectives judged now; `/slos/{name}`: one of them with its
//! burn-down over its window and the runs that spent its budget.

use agentrace_alerts::slo::{BudgetPoint, SloStatus};
use agentrace_core::civil::{Precision, rfc3339};
use agentrace_core::now_unix_nano;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::jobs::slos::BadEvent;

/// `GET /slos` answer.
#[derive(Debug, Serialize)]
pub(super) struct Slos {
    /// When they were judged.
    at: String,
    /// Each SLO with its attainment, error budget and burn rates, as configured.
    slos: Vec<SloStatus>,
}

/// `GET /slos`: every service level objective judged now.
pub(super) async fn list(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
) -> Result<Json<Slos>, ApiError> {
    p.finish()?;
    let now = now_unix_nano();
    let judged = match state.alerts_of(&scope) {
        Some(alerts) => {
            blocking(&scope.store, move |s| {
                alerts.settled_hours().statuses(s, alerts.slos(), now)
            })
            .await?
        }
        None => Vec::new(),
    };
    Ok(Json(Slos {
        at: rfc3339(now, Precision::Seconds),
        slos: judged,
    }))
}

/// `GET /slos/{name}` answer.
#[derive(Debug, Serialize)]
pub(super) struct SloDetail {
    /// When it was judged.
    at: String,
    /// The SLO judged now.
    #[serde(flatten)]
    status: SloStatus,
    /// The budget of the window ending at each of `points + 1` times over the last window,
    /// oldest first.
    burn_down: Vec<BudgetPoint>,
    /// The newest runs or calls that spent budget (`limit`); `null` when the bad events of the
    /// indicator are not one filter (a ratio narrowed by scope).
    bad_events: Option<Vec<BadEvent>>,
}

/// `GET /slos/{name}`: one SLO, its burn-down (`points`, 1 to 200, default 48) and its
/// newest bad events (`limit`, 1 to 100, default 20).
pub(super) async fn one(
    State(state): State<AppState>,
    scope: Scope,
    name: Result<Path<String>, PathRejection>,
    mut p: Params,
) -> Result<Json<SloDetail>, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::bad("name", e.body_text()))?;
    let points = p.count("points", 48, 200)?;
    let limit = p.limit(20, 100)?;
    p.finish()?;
    let not_found = || ApiError::NotFound(format!("no SLO is named {name:?}"));
    let alerts = state.alerts_of(&scope).ok_or_else(not_found)?;
    let slo = alerts
        .slos()
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(not_found)?;
    let now = now_unix_nano();
    let points = u32::try_from(points).unwrap_or(u32::MAX);
    let (status, burn_down, bad_events) = blocking(&scope.store, move |s| {
        let status = alerts.settled_hours().status(s, &slo, now)?;
        let width = u64::try_from(slo.span().as_nanos()).unwrap_or(u64::MAX);
        let burn_down =
            alerts
                .settled_hours()
                .burn_down(s, &slo, (now.saturating_sub(width), now), points)?;
        let bad_events = crate::jobs::slos::bad_events(s, &slo, limit, now)?;
        Ok((status, burn_down, bad_events))
    })
    .await?;
    Ok(Json(SloDetail {
        at: rfc3339(now, Precision::Seconds),
        status,
        burn_down,
        bad_events,
    }))
}
