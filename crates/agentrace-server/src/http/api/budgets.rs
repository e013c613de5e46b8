//! `GET /budgets`: every budget account (budget × scope value) with its spend in the current
//! period. `POST /budgets/check` is [`super::budget_check`].

use agentrace_core::budget::BudgetStatus;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::params::Params;
use crate::http::api_base::ApiError;
use crate::http::scope::Scope;
use crate::http::state::AppState;

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
    scope: Scope,
    p: Params,
) -> Result<Json<Budgets>, ApiError> {
    p.finish()?;
    Ok(Json(Budgets {
        configured: state.budgets_of(&scope).is_some(),
        budgets: state
            .budgets_of(&scope)
            .map(|b| b.status())
            .unwrap_or_default(),
    }))
}
