//! `/scores`: scores of traces, spans and sessions (issue #33, docs/api.md). `POST` takes one
//! score or `{"scores": [...]}`, each checked whole (and against the configuration of its
//! name, `scores` in the server's configuration) before any is stored; `GET` reads them
//! newest first by target, name, source, value and time; `DELETE /scores/{id}` deletes one
//! (writes need the API token, not the read-only one).

use agentrace_core::{Score, ScoreSource, SpanId, TraceId};
use agentrace_store::{
    Cursor, ScoreDimension, ScoreFilter, ScoreName, ScoreQuery, ScoreStats, ScoreStatsQuery,
    score_stats, with_score_ids,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::params::Params;
use crate::http::api_base::{ApiError, blocking, blocking_write};
use crate::http::scope::Scope;
use crate::http::state::AppState;

/// Scores a page holds by default and at most.
const PAGE: (usize, usize) = (100, 1_000);

/// Scores one request may write.
const MAX_WRITTEN: usize = 1_000;

/// A request's body: one score, or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Many(Many),
    One(serde_json::Value),
}

/// `{"scores": [...]}` and nothing else (else it is read as one score, and refused as one).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Many {
    scores: Vec<serde_json::Value>,
}

/// What `POST /scores` answers: the stored scores' ids, in the request's order.
#[derive(Debug, Serialize)]
pub(super) struct WrittenIds {
    ids: Vec<String>,
}

/// A page of scores.
#[derive(Debug, Serialize)]
pub(super) struct ScoresPage {
    scores: Vec<Score>,
    next_cursor: Option<Cursor>,
}

/// `POST /scores`.
pub(super) async fn write(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
    body: Bytes,
) -> Result<(StatusCode, Json<WrittenIds>), ApiError> {
    p.finish()?;
    let written: Written = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a score: {e}")))?;
    let values = match written {
        Written::Many(Many { scores }) => scores,
        Written::One(score) => vec![score],
    };
    if values.is_empty() || values.len() > MAX_WRITTEN {
        return Err(ApiError::BadRequest(format!(
            "a request writes 1 to {MAX_WRITTEN} scores, not {}",
            values.len()
        )));
    }
    let configs = state.score_configs_of(&scope);
    let scores = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let score = serde_json::from_value::<Score>(v).map_err(|e| e.to_string());
            score
                .and_then(|s| configs.check(&s).map(|()| s).map_err(|e| e.to_string()))
                .map_err(|e| ApiError::BadRequest(format!("score {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ids = store(&state, &scope, scores).await?;
    Ok((StatusCode::CREATED, Json(WrittenIds { ids })))
}

/// Gives `scores` ids (their own, else new ones), stores them all or none, and returns their
/// ids in order: every way scores come in (this API, Phoenix's and Langfuse's) ends here,
/// each having checked its scores against their configurations.
/// They are stored in `scope`'s project; `/metrics` counts the configured project's.
pub(crate) async fn store(
    state: &AppState,
    scope: &Scope,
    scores: Vec<Score>,
) -> Result<Vec<String>, ApiError> {
    let scores = with_score_ids(scores);
    let ids = scores.iter().filter_map(|s| s.id.clone()).collect();
    let scores = blocking_write(&scope.store, move |s| {
        s.write_scores(&scores).map(|()| scores)
    })
    .await?;
    if scope.is(state.configured_project) {
        state.stats.scores.record(&scores);
    }
    Ok(ids)
}

/// `GET /scores`.
pub(super) async fn list(scope: Scope, mut p: Params) -> Result<Json<ScoresPage>, ApiError> {
    let mut filter = ScoreFilter::new();
    filter.range = p.range()?;
    filter.trace_id = p.parsed::<TraceId>("trace_id")?;
    filter.span_id = p.parsed::<SpanId>("span_id")?;
    filter.session_id = p.text("session_id")?;
    filter.name = p.text("name")?;
    filter.source = p.parsed::<ScoreSource>("source")?;
    filter.min_value = p.finite("min_value")?;
    filter.max_value = p.finite("max_value")?;
    let limit = p.limit(PAGE.0, PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    let query = ScoreQuery::new(filter, limit).after(cursor);
    let page = blocking(&scope.store, move |s| s.scores(&query)).await?;
    Ok(Json(ScoresPage {
        scores: page.scores,
        next_cursor: page.next_cursor,
    }))
}

/// `DELETE /scores/{id}`.
pub(super) async fn delete(
    scope: Scope,
    id: Result<Path<String>, PathRejection>,
    p: Params,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad("id", e.body_text()))?;
    p.finish()?;
    let wanted = id.clone();
    if blocking_write(&scope.store, move |s| s.delete_score(&wanted)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no score {id:?}")))
    }
}

/// `GET /scores/names`.
#[derive(Debug, Serialize)]
pub(super) struct ScoreNames {
    names: Vec<ScoreName>,
}

/// `GET /scores/names`: the score names given in the range, their kinds and counts.
pub(super) async fn names(scope: Scope, mut p: Params) -> Result<Json<ScoreNames>, ApiError> {
    let range = p.range()?;
    p.finish()?;
    let names = blocking(&scope.store, move |s| s.score_names(range)).await?;
    Ok(Json(ScoreNames { names }))
}

/// Trend points a statistics may hold at most over its range.
const MAX_TREND_POINTS: u64 = 10_000;

/// `GET /scores/stats`: one score's statistics over the range, split by what it judged.
pub(super) async fn stats(scope: Scope, mut p: Params) -> Result<Json<ScoreStats>, ApiError> {
    let range = p.range()?;
    let name = p.text("name")?;
    let group_by = p.parsed::<ScoreDimension>("group_by")?.unwrap_or_default();
    let source = p.parsed::<ScoreSource>("source")?;
    let bucket = super::analytics::minutes(&mut p, "bucket")?.unwrap_or(3_600_000_000_000);
    p.finish()?;
    let name = name.ok_or_else(|| ApiError::bad("name", "is required: the score's name"))?;
    if let (Some(start), Some(end)) = (range.start_unix_nano, range.end_unix_nano)
        && (end.saturating_sub(start)) / bucket > MAX_TREND_POINTS
    {
        return Err(ApiError::bad(
            "bucket",
            "too long (at most 10,000 points over the range)",
        ));
    }
    let mut query = ScoreStatsQuery::new(name, range, bucket);
    query.group_by = group_by;
    query.source = source;
    let stats = blocking(&scope.store, move |s| score_stats(s, &query)).await?;
    // Refused, as `/cost` refuses it: an id-like attribute would give a group a score.
    let bound = super::analytics::MAX_ATTRIBUTE_GROUPS;
    if matches!(group_by, ScoreDimension::Attribute(_)) && stats.groups.len() > bound {
        return Err(ApiError::bad(
            "group_by",
            format!(
                "{group_by} has {} values among these scores, more than the {bound} a grouping may give: narrow the range, or group by another attribute",
                stats.groups.len()
            ),
        ));
    }
    Ok(Json(stats))
}
