//! `GET /api/v1/metrics` and `GET /api/v1/metrics/{name}`: the metrics received over OTLP, as
//! stored by series and minute (not the server's own `/metrics`, which
//! [`crate::telemetry::self_metrics`] renders).

use agentrace_store::{MetricInfo, MetricQuery, MetricSeries, TimeRange};
use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;

/// `GET /metrics` answer.
#[derive(Debug, Serialize)]
pub(super) struct MetricsView {
    range: TimeRange,
    metrics: Vec<MetricInfo>,
}

/// `GET /metrics`: the metrics with points in the range (by minute), by name.
pub(super) async fn list(scope: Scope, mut p: Params) -> Result<Json<MetricsView>, ApiError> {
    let range = p.range()?;
    p.finish()?;
    let metrics = blocking(&scope.store, move |s| s.metric_names(range)).await?;
    Ok(Json(MetricsView { range, metrics }))
}

/// `GET /metrics/{name}` answer.
#[derive(Debug, Serialize)]
pub(super) struct MetricView {
    name: String,
    range: TimeRange,
    series: Vec<MetricSeries>,
}

/// `GET /metrics/{name}`: one metric's series over a range, a point per step (none when no
/// point of it is stored in the range).
pub(super) async fn series(
    scope: Scope,
    name: Result<Path<String>, PathRejection>,
    mut p: Params,
) -> Result<Json<MetricView>, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::bad("name", e.body_text()))?;
    let range = p.range()?;
    let step = p.duration_ns("step")?;
    p.finish()?;
    let mut q = MetricQuery::new(name.clone()).range(range);
    if let Some(step) = step {
        q = q.step(step);
    }
    let series = blocking(&scope.store, move |s| s.metric(&q))
        .await
        .map_err(|e| match e {
            // The only invalid metric query: a step that is not whole minutes.
            ApiError::BadRequest(message) => ApiError::bad("step", message),
            e => e,
        })?;
    Ok(Json(MetricView {
        name,
        range,
        series,
    }))
}
