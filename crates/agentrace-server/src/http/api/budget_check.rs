//! `POST /budgets/check`: budgets for agents in other processes. An agent asks before a call
//! whether its estimate fits every budget it falls under, and may hold the estimate against
//! them until the call's span arrives — the same check-and-reserve, under the same lock, as
//! an in-process [`Budgets::check`](agentrace_core::budget::Budgets::check), so parallel
//! agents are admitted only while their estimates fit together (docs/budgets.md).

use agentrace_core::budget::{BudgetExceeded, BudgetStatus, CallContext};
use agentrace_core::cost::{CostEstimate, PriceBook, compute_cost, estimate_text_cost};
use agentrace_core::json_fields::{present, whole};
use agentrace_core::tokenize::TokenCount;
use agentrace_core::{SpanId, TokenUsage, Usd, now_unix_nano};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::params::Params;
use crate::http::api_base::ApiError;
use crate::http::scope::Scope;
use crate::http::state::AppState;

/// Output tokens assumed when the request does not say.
pub(crate) const DEFAULT_OUTPUT_TOKENS: u64 = 1_000;
/// The largest output allowance taken.
const MAX_OUTPUT_TOKENS: u64 = 10_000_000;
/// The largest input token count taken.
const MAX_INPUT_TOKENS: u64 = 1_000_000_000;

/// The request body. A field is present with a value or absent: `null` is refused, as the
/// document says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    #[serde(default, deserialize_with = "present")]
    session: Option<String>,
    #[serde(default, deserialize_with = "present")]
    agent: Option<String>,
    #[serde(default, deserialize_with = "present")]
    framework: Option<String>,
    #[serde(default, deserialize_with = "present")]
    model: Option<String>,
    #[serde(default, deserialize_with = "present")]
    user: Option<String>,
    #[serde(default, deserialize_with = "present")]
    provider: Option<String>,
    /// The call's cost, if the agent estimated it.
    #[serde(default, deserialize_with = "present")]
    estimate_usd: Option<f64>,
    /// Else: the prompt, counted with the model's tokenizer…
    #[serde(default, deserialize_with = "present")]
    prompt: Option<String>,
    /// …or its token count.
    #[serde(default, deserialize_with = "whole")]
    input_tokens: Option<u64>,
    /// The output allowance (default [`DEFAULT_OUTPUT_TOKENS`]).
    #[serde(default, deserialize_with = "whole")]
    max_output_tokens: Option<u64>,
    /// The call's span (16 hex digits): the estimate is held until it arrives.
    #[serde(default, deserialize_with = "present")]
    span_id: Option<String>,
}

/// How the estimate was made, when the server made it.
#[derive(Debug, Serialize)]
struct Estimated {
    input_tokens: u64,
    input_exact: bool,
    output_tokens: u64,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(super) struct CheckAnswer {
    /// Whether the call fits every budget (always, without budgets).
    allowed: bool,
    /// Whether budgets are configured.
    configured: bool,
    /// The estimate checked, in dollars.
    estimate_usd: f64,
    /// How the server estimated it (`null` when the request gave `estimate_usd`).
    estimate: Option<Estimated>,
    /// Whether the estimate is held until the span arrives (allowed, with a `span_id`).
    reserved: bool,
    /// The budget the call would exceed, when refused.
    exceeded: Option<BudgetExceeded>,
    /// Every account the call falls under, after the check, with what remains.
    budgets: Vec<Account>,
}

#[derive(Debug, Serialize)]
struct Account {
    #[serde(flatten)]
    status: BudgetStatus,
    /// `limit − spent − reserved`, at least 0.
    remaining: Usd,
}

/// `POST /budgets/check`.
pub(super) async fn check(
    State(state): State<AppState>,
    scope: Scope,
    p: Params,
    body: Bytes,
) -> Result<Json<CheckAnswer>, ApiError> {
    p.finish()?;
    let req: Check = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a budget check: {e}")))?;
    let span = req
        .span_id
        .as_deref()
        .map(|s| {
            s.parse::<SpanId>()
                .map_err(|e| ApiError::bad("span_id", format!("{s:?}: {e}")))
        })
        .transpose()?;
    let (estimate, estimated) = estimate(&*state.prices_of(&scope), &req)?;
    let cx = CallContext {
        session: req.session.as_deref(),
        agent: req.agent.as_deref(),
        framework: req.framework.as_deref(),
        model: req.model.as_deref(),
        user: req.user.as_deref(),
    };
    let Some(budgets) = state.budgets_of(&scope) else {
        return Ok(Json(CheckAnswer {
            allowed: true,
            configured: false,
            estimate_usd: estimate.dollars(),
            estimate: estimated,
            reserved: false,
            exceeded: None,
            budgets: Vec::new(),
        }));
    };
    let outcome = match span {
        Some(span) => budgets.reserve_for_span(&cx, estimate, span).map(|_| true),
        None => budgets.fits(&cx, estimate).map(|()| false),
    };
    let accounts = budgets
        .status_for(&cx)
        .into_iter()
        .map(|status| Account {
            remaining: Usd::from_nanos(
                (status.limit.nanos() - status.spent.nanos() - status.reserved.nanos()).max(0),
            ),
            status,
        })
        .collect();
    let (allowed, reserved, exceeded) = match outcome {
        Ok(reserved) => (true, reserved, None),
        Err(e) => (false, false, Some(e)),
    };
    Ok(Json(CheckAnswer {
        allowed,
        configured: true,
        estimate_usd: estimate.dollars(),
        estimate: estimated,
        reserved,
        exceeded,
        budgets: accounts,
    }))
}

/// The estimate: given, or priced from the prompt (or its token count) and the model.
fn estimate(prices: &dyn PriceBook, req: &Check) -> Result<(Usd, Option<Estimated>), ApiError> {
    if req.model.as_deref() == Some("") {
        return Err(ApiError::bad("model", "an empty model names nothing"));
    }
    if let Some(dollars) = req.estimate_usd {
        if !dollars.is_finite() || !(0.0..=1e9).contains(&dollars) {
            return Err(ApiError::bad(
                "estimate_usd",
                "a number of dollars, 0 to 1e9",
            ));
        }
        if req.prompt.is_some() || req.input_tokens.is_some() || req.max_output_tokens.is_some() {
            return Err(ApiError::BadRequest(
                "give estimate_usd, or prompt or input_tokens (and max_output_tokens) to estimate from, not both".into(),
            ));
        }
        return Ok((Usd::from_dollars(dollars), None));
    }
    let Some(model) = req.model.as_deref() else {
        return Err(ApiError::BadRequest(
            "give estimate_usd, or the model with prompt or input_tokens".into(),
        ));
    };
    let output = req.max_output_tokens.unwrap_or(DEFAULT_OUTPUT_TOKENS);
    if output > MAX_OUTPUT_TOKENS {
        return Err(ApiError::bad("max_output_tokens", "at most 10,000,000"));
    }
    if req.input_tokens.is_some_and(|n| n > MAX_INPUT_TOKENS) {
        return Err(ApiError::bad("input_tokens", "at most 1,000,000,000"));
    }
    let provider = req.provider.as_deref();
    let now = now_unix_nano();
    let priced: Option<CostEstimate> = match (&req.prompt, req.input_tokens) {
        (Some(prompt), None) => estimate_text_cost(prices, provider, model, prompt, output, now),
        (None, Some(tokens)) => prices.price(provider, model, now).map(|found| {
            // A count given is taken at the agent's word.
            CostEstimate {
                input: TokenCount::exact(tokens, "given"),
                output_tokens: output,
                cost: compute_cost(&TokenUsage::new(tokens, output), found.price),
            }
        }),
        _ => {
            return Err(ApiError::BadRequest(
                "give prompt or input_tokens (one of them) to estimate from".into(),
            ));
        }
    };
    let e = priced.ok_or_else(|| {
        ApiError::BadRequest(format!(
            "no price known for `model` {model:?}: give estimate_usd, or add the model to a price file"
        ))
    })?;
    Ok((
        e.cost.total,
        Some(Estimated {
            input_tokens: e.input.tokens,
            input_exact: e.input.accuracy.is_exact(),
            output_tokens: e.output_tokens,
        }),
    ))
}
