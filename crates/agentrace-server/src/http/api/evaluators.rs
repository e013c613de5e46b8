//! `/evaluators` and `/evaluations/runs`: the online evaluations (docs/scores.md) — the rules
//! (of the evaluators file, and those given here, `PUT` and `DELETE /evaluators/{name}`, kept
//! in the store for every node) and judges with their figures and the judges' budgets;
//! re-runs of a rule on a past time range, and their progress.

use agentrace_core::budget::BudgetStatus;
use agentrace_evaluators::{CheckSpec, RuleSpec};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::params::{Params, parse_time};
use crate::http::api_base::{ApiError, blocking_write};
use crate::http::audit::AuditChange;
use crate::http::scope::Scope;
use crate::http::state::AppState;
use crate::jobs::online_evaluations::rules::{ActiveRule, Origin, RuleError};
use crate::jobs::online_evaluations::runs::RunStatus;
use crate::telemetry::stats::OnlineStats;
use agentrace_store::{StoredRule, TimeRange};

/// A rule as `GET /evaluators` shows it.
#[derive(Debug, Serialize)]
pub(super) struct RuleView {
    #[serde(flatten)]
    spec: RuleSpec,
    /// The judge it asks, if any.
    judge: Option<String>,
    /// `file` or `api` (with `updated_unix_nano`).
    #[serde(flatten)]
    origin: Origin,
}

impl RuleView {
    fn of(active: &ActiveRule) -> Self {
        Self {
            spec: redacted(&active.rule.spec),
            judge: active.rule.judge.clone(),
            origin: active.origin,
        }
    }
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
    scope: Scope,
    p: Params,
) -> Result<Json<EvaluatorsAnswer>, ApiError> {
    p.finish()?;
    let Some(online) = state.online_of(&scope) else {
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
    let rules: Vec<RuleView> = online
        .rules
        .active()
        .iter()
        .map(|r| RuleView::of(r))
        .collect();
    Ok(Json(EvaluatorsAnswer {
        configured: !rules.is_empty() || !judges.is_empty(),
        rules,
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
    scope: Scope,
    p: Params,
    body: Bytes,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    p.finish()?;
    let request: RunRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a re-run: {e}")))?;
    let online = state.online_of(&scope).ok_or_else(|| {
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
            scope.store.clone(),
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
    scope: Scope,
    p: Params,
) -> Result<Json<RunList>, ApiError> {
    p.finish()?;
    Ok(Json(RunList {
        runs: state
            .online_of(&scope)
            .map(|o| o.runs.list())
            .unwrap_or_default(),
    }))
}

/// `GET /evaluations/runs/{id}`.
pub(super) async fn run(
    State(state): State<AppState>,
    scope: Scope,
    id: Result<Path<u64>, PathRejection>,
    p: Params,
) -> Result<Json<RunStatus>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::bad("id", e.body_text()))?;
    p.finish()?;
    state
        .online_of(&scope)
        .and_then(|o| o.runs.get(id))
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no re-run {id}")))
}

/// The online evaluations of `scope`'s project: the configured project runs them, another
/// when it has an `evaluators` setting.
fn online_of(
    state: &AppState,
    scope: &Scope,
) -> Result<std::sync::Arc<crate::jobs::online_evaluations::Online>, ApiError> {
    state.online_of(scope).ok_or_else(|| {
        ApiError::NotFound(format!(
            "online evaluations are not running in project {:?}: give it an `evaluators` setting (its judges and rules; `{{}}` for none) first",
            scope.project.name.as_str()
        ))
    })
}

/// The rule `{name}` of a path.
fn rule_name(name: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::bad("name", e.body_text()))?;
    Ok(name)
}

/// `GET /evaluators/{name}`: one rule.
pub(super) async fn one(
    State(state): State<AppState>,
    scope: Scope,
    name: Result<Path<String>, PathRejection>,
    p: Params,
) -> Result<Json<RuleView>, ApiError> {
    let name = rule_name(name)?;
    p.finish()?;
    online_of(&state, &scope)?
        .rules
        .find(&name)
        .map(|r| Json(RuleView::of(&r)))
        .ok_or_else(|| ApiError::NotFound(format!("no evaluator is named {name:?}")))
}

/// `PUT /evaluators/{name}`: a rule given through the API (docs/scores.md), the body a rule
/// as the evaluators file writes one (`name` may be left out; given, it is the path's). Checked
/// whole, stored for every node, run at once: 201 when new, 200 when it replaced one; 400 when
/// it does not make a rule, 409 for a rule of the evaluators file.
pub(super) async fn put(
    State(state): State<AppState>,
    scope: Scope,
    name: Result<Path<String>, PathRejection>,
    p: Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = rule_name(name)?;
    p.finish()?;
    let online = online_of(&state, &scope)?;
    let mut value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("the body is not a rule (a JSON object)".into()))?;
    match object.get("name") {
        None => {
            object.insert("name".into(), name.clone().into());
        }
        Some(given) if given.as_str() == Some(name.as_str()) => {}
        Some(given) => {
            return Err(ApiError::BadRequest(format!(
                "the body names the rule {given}, the path {name:?}"
            )));
        }
    }
    let spec: RuleSpec = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a rule: {e}")))?;
    let (rule, definition) = online.rules.prepare(spec).map_err(rule_error)?;
    let stored = StoredRule::new(name.clone(), definition, agentrace_core::now_unix_nano());
    let updated = stored.updated_unix_nano;
    let before = stored_definition(&scope, &name).await?;
    let after = stored.definition.clone();
    blocking_write(&scope.store, move |s| s.put_evaluator_rule(&stored)).await?;
    let replaced = online.rules.put(rule, updated);
    let view = online
        .rules
        .find(&name)
        .map(|r| RuleView::of(&r))
        .ok_or_else(|| ApiError::Internal(format!("the rule {name:?} just put is not running")))?;
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(view)).into_response();
    response.extensions_mut().insert(AuditChange {
        before,
        after: Some(after),
    });
    Ok(response)
}

/// The stored definition of the rule `name` of the request's project, if it has one (what a
/// change replaces, for the audit log).
async fn stored_definition(scope: &Scope, name: &str) -> Result<Option<String>, ApiError> {
    let name = name.to_owned();
    let rules = super::blocking(&scope.store, move |s| s.evaluator_rules()).await?;
    Ok(rules
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| r.definition))
}

/// `DELETE /evaluators/{name}`: stops a rule given through the API, on every node; 204, 404
/// when there is none, 409 for a rule of the evaluators file.
pub(super) async fn remove(
    State(state): State<AppState>,
    scope: Scope,
    name: Result<Path<String>, PathRejection>,
    p: Params,
) -> Result<Response, ApiError> {
    let name = rule_name(name)?;
    p.finish()?;
    let online = online_of(&state, &scope)?;
    if online
        .rules
        .find(&name)
        .is_some_and(|r| r.origin == Origin::File)
    {
        return Err(rule_error(RuleError::OfTheFile(name)));
    }
    let wanted = name.clone();
    let before = stored_definition(&scope, &name).await?;
    let stored = blocking_write(&scope.store, move |s| s.delete_evaluator_rule(&wanted)).await?;
    let running = online.rules.remove(&name).map_err(rule_error)?;
    if stored || running {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.extensions_mut().insert(AuditChange {
            before,
            after: None,
        });
        Ok(response)
    } else {
        Err(ApiError::NotFound(format!(
            "no evaluator is named {name:?}"
        )))
    }
}

fn rule_error(e: RuleError) -> ApiError {
    match e {
        RuleError::OfTheFile(_) => ApiError::Conflict(e.to_string()),
        RuleError::Invalid(_) => ApiError::BadRequest(e.to_string()),
    }
}
