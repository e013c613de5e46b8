//! A budget refusal as rig carries it. rig relays a model's failure inside an agent run over
//! its bus as an [`ErrorReport`] — serializable data, not the error value — so the refusal is a
//! report from the start, the same for a direct model call and an agent run: kind `denied`,
//! code [`BUDGET_EXCEEDED`], a refusal, not retryable, its message the refusal's text and its
//! source the refusal as JSON, which [`Refusal::budget_exceeded`] reads back.

use agentrace_core::budget::BudgetExceeded;
use agentrace_core::model_call::BUDGET_EXCEEDED;
use rig_agent::completion::PromptError;
use rig_core::error::{ErrorKind, ErrorReport, ProviderError};

/// The error a refused call fails with.
pub(crate) fn refused(refusal: &BudgetExceeded) -> ProviderError {
    let mut report = ErrorReport::new(ErrorKind::Denied, refusal.to_string())
        .with_code(BUDGET_EXCEEDED)
        .with_retryable(false)
        .refused();
    report.source_chain = serde_json::to_string(refusal).into_iter().collect();
    ProviderError::Relayed(Box::new(report))
}

/// An error of rig's that may be a budget refusal.
pub trait Refusal {
    /// The [`BudgetExceeded`] the call or run was refused with, if it was.
    fn budget_exceeded(&self) -> Option<BudgetExceeded>;
}

impl Refusal for ErrorReport {
    fn budget_exceeded(&self) -> Option<BudgetExceeded> {
        if self.kind != ErrorKind::Denied || self.code.as_deref() != Some(BUDGET_EXCEEDED) {
            return None;
        }
        self.source_chain
            .iter()
            .find_map(|source| serde_json::from_str(source).ok())
    }
}

impl Refusal for ProviderError {
    fn budget_exceeded(&self) -> Option<BudgetExceeded> {
        match self {
            ProviderError::Relayed(report) => report.budget_exceeded(),
            _ => None,
        }
    }
}

impl Refusal for PromptError {
    fn budget_exceeded(&self) -> Option<BudgetExceeded> {
        match self {
            PromptError::Provider(error) => error.budget_exceeded(),
            PromptError::Report(report) => report.budget_exceeded(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrace_core::Usd;
    use agentrace_core::budget::{Budget, Budgets, CallContext, Period, Scope};

    fn a_refusal() -> BudgetExceeded {
        let budgets = Budgets::new(vec![Budget::new(
            "daily",
            Scope::Global,
            Period::Day,
            Usd::from_dollars(0.01),
        )]);
        budgets
            .reserve(&CallContext::default(), Usd::from_dollars(1.0))
            .expect_err("over the limit")
    }

    #[test]
    fn a_refusal_survives_rigs_relay_of_reports() {
        let refusal = a_refusal();
        let error = refused(&refusal);
        assert_eq!(error.to_string(), refusal.to_string());
        assert!(!error.is_retryable());
        assert_eq!(error.budget_exceeded(), Some(refusal.clone()));
        // What an agent run returns: the report relayed over the bus.
        let run = PromptError::from(ErrorReport::from(&error));
        assert_eq!(run.budget_exceeded(), Some(refusal));
    }

    #[test]
    fn other_failures_are_no_refusal() {
        let limited = ProviderError::from_http_response(
            rig_core::http_client::StatusCode::TOO_MANY_REQUESTS,
            "slow down",
        );
        assert_eq!(limited.budget_exceeded(), None);
        let denied = ErrorReport::new(ErrorKind::Denied, "policy").with_code(BUDGET_EXCEEDED);
        assert_eq!(denied.budget_exceeded(), None, "no refusal to read back");
    }
}
