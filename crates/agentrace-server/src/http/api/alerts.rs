//! `/alerts`: the rules, every alert's state, the channels, and the history.

use agentrace_alerts::{ChannelStatus, Notification, Rule};
use agentrace_core::now_unix_nano;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;
use crate::http::state::AppState;

/// `GET /alerts` answer.
#[derive(Debug, Serialize)]
pub(super) struct Alerts {
    /// Seconds between evaluations.
    interval_seconds: u64,
    /// The configured rules.
    rules: Vec<Rule>,
    /// Every alert's latest judgement, firing first.
    alerts: Vec<Notification>,
    /// The channels and their figures.
    channels: Vec<ChannelStatus>,
    /// Notifications, newest first (a page: `limit`, `before`, `alert`).
    history: Vec<Notification>,
}

/// `GET /alerts`.
pub(super) async fn alerts(
    State(state): State<AppState>,
    scope: Scope,
    mut p: Params,
) -> Result<Json<Alerts>, ApiError> {
    let limit = p.limit(100, 1_000)?;
    let before = p.time("before", now_unix_nano())?;
    let alert = p.text("alert")?;
    p.finish()?;
    let history = blocking(&scope.store, move |s| {
        s.alert_records(alert.as_deref(), before, limit)
    })
    .await?
    .iter()
    .filter_map(|r| serde_json::from_str(&r.body).ok())
    .collect();
    let alerting = state.alerts_of(&scope);
    Ok(Json(Alerts {
        interval_seconds: alerting.as_ref().map_or(0, |a| a.interval().as_secs()),
        rules: alerting
            .as_ref()
            .map(|a| a.rules().to_vec())
            .unwrap_or_default(),
        alerts: alerting.as_ref().map(|a| a.current()).unwrap_or_default(),
        channels: alerting.as_ref().map(|a| a.channels()).unwrap_or_default(),
        history,
    }))
}
