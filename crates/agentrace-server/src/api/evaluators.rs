//! `/evaluators` and `/evaluations/runs`: the online evaluations (docs/scores.md) — the rules
//! and judges of the evaluators file with their figures and the judges' budgets; re-runs of a
//! rule on a past time range, and their progress.

use agentrace_core::budget::BudgetStatus;
use agentrace_evaluators::{CheckSpec, RuleSpec};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::params::{Params, parse_time};
use crate::online::OnlineStats;
use crate::online::runs::RunStatus;
use crate::state::AppState;
use agentrace_store::TimeRange;

/// A rule as `GET /evaluators` shows it.
#[derive(Debug, Serialize)]
pub(super) struct RuleView {
    #[serde(flatten)]
    spec: RuleSpec,
    /// The judge it asks, if any.
    judge: Option<String>,
}

/// A judge as `GET /evaluators` shows it (never its key).
#[derive(Debug, Serialize)]
pub(super) struct JudgeView {
    name: String,
    endpoint: String,
    provider: String,
    model: String,
    daily_budget_usd: Option<f64>,
}

/// `GET /evaluators`.
#[derive(Debug, Serialize)]
pub(super) struct EvaluatorsAnswer {
    /// Whether an evaluators file is configured.
    configured: bool,
    rules: Vec<RuleView>,
    judges: Vec<JudgeView>,
    /// The judges' budgets: spend in the current day.
    budgets: Vec<BudgetStatus>,
    stats: Option<OnlineStats>,
}

/// `GET /evaluators`.
pub(super) async fn list(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<EvaluatorsAnswer>, ApiError> {
    p.finish()?;
    let Some(online) = &state.online else {
        return Ok(Json(EvaluatorsAnswer {
            configured: false,
            rules: Vec::new(),
            judges: Vec::new(),
            budgets: Vec::new(),
            stats: None,
        }));
    };
    let mut judges: Vec<JudgeView> = online
        .judges()
        .map(|j| {
            let spec = j.spec();
            JudgeView {
                name: spec.name.clone(),
                endpoint: spec.endpoint.clone(),
                provider: spec.provider.clone(),
                model: spec.model.clone(),
                daily_budget_usd: spec.daily_budget_usd,
            }
        })
        .collect();
    judges.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(EvaluatorsAnswer {
        configured: true,
        rules: online
            .rules()
            .iter()
            .map(|r| RuleView {
                spec: redacted(&r.spec),
                judge: r.judge.clone(),
            })
            .collect(),
        judges,
        budgets: online.judge_budgets().status(),
        stats: Some(online.stats()),
    }))
}

/// A rule as shown: everything but a JSON Schema's body is short; the schema stays (it is
/// configuration, not a secret).
fn redacted(spec: &RuleSpec) -> RuleSpec {
    let mut spec = spec.clone();
    if let CheckSpec::LlmJudge(judge) = &mut spec.check {
        judge.prompt = judge.prompt.chars().take(2_000).collect();
    }
    spec
}

/// `POST /evaluations/runs`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// The rule to run again.
    evaluator: String,
    /// The spans started from (a time as the API's `from` takes it; default: an hour ago).
    #[serde(default)]
    from: Option<String>,
    /// … until (default: now).
    #[serde(default)]
    to: Option<String>,
}

/// What `POST /evaluations/runs` answers.
#[derive(Debug, Serialize)]
pub(super) struct RunStarted {
    id: u64,
}

/// `POST /evaluations/runs`: starts a re-run; 202 with its id, 404 for an evaluator that is not
/// there.
pub(super) async fn start_run(
    State(state): State<AppState>,
    p: Params,
    body: Bytes,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    p.finish()?;
    let request: RunRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a re-run: {e}")))?;
    let online = state.online.as_ref().ok_or_else(|| {
        ApiError::NotFound(format!(
            "no evaluator is named {:?}: none is configured (the evaluators key)",
            request.evaluator
        ))
    })?;
    let now = agentrace_core::now_unix_nano();
    let time = |name: &'static str, text: Option<&str>, default: u64| match text {
        None => Ok(default),
        Some(t) => parse_time(t, now).ok_or_else(|| ApiError::bad(name, "not a time")),
    };
    let from = time(
        "from",
        request.from.as_deref(),
        now.saturating_sub(3_600_000_000_000),
    )?;
    let to = time("to", request.to.as_deref(), now)?;
    if from >= to {
        return Err(ApiError::bad("to", "must be after `from`"));
    }
    let id = online
        .rerun(
            state.store.clone(),
            &request.evaluator,
            TimeRange::new(from, to),
        )
        .map_err(ApiError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(RunStarted { id })))
}

/// `GET /evaluations/runs`.
#[derive(Debug, Serialize)]
pub(super) struct RunList {
    runs: Vec<RunStatus>,
}

/// `GET /evaluations/runs`: every run remembered, newest first.
pub(super) async fn runs(
    State(state): State<AppState>,
    p: Params,
) -> Result<Json<RunList>, ApiError> {
    p.finish()?;
    Ok(Json(RunList {
        runs: state
            .online
            .as_ref()
            .map(|o| o.runs.list())
            .unwrap_or_default(),
    }))
}

/// `GET /evaluations/runs/{id}`.
pub(super) async fn run(
    State(state): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
    p: Params,
) -> Result<Json<RunStatus>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad("id", e.body_text()))?;
    p.finish()?;
    state
        .online
        .as_ref()
        .and_then(|o| o.runs.get(id))
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no re-run {id}")))
}
