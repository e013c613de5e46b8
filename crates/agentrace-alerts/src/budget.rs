//! Budget alerts through the same channels: the notifier is a core
//! [`AlertChannel`](agentrace_core::budget::AlertChannel).
//!
//! A budget's threshold becomes a notification of the alert `budget:<name>{scope=<value>}`:
//! `WARNING` below 100 %, `ALERT` at 100 % and above, measure `budget_spend` in dollars
//! against the threshold's amount.

use std::collections::BTreeMap;

use agentrace_core::budget::{AlertChannel, BudgetAlert};

use crate::notification::{Notification, Reason, State};
use crate::notifier::Notifier;

/// The measure of a budget's notifications.
pub const MEASURE: &str = "budget_spend";

/// The notification of a budget alert.
pub fn notification(a: &BudgetAlert) -> Notification {
    let state = if a.threshold_percent >= 100 {
        State::Alert
    } else {
        State::Warning
    };
    let rule = format!("budget:{}", a.budget);
    let mut labels = BTreeMap::new();
    labels.insert("budget".to_owned(), a.budget.clone());
    labels.insert("scope".to_owned(), a.scope.clone());
    let threshold = a.limit.dollars() * f64::from(a.threshold_percent) / 100.0;
    Notification {
        alert: format!("{rule}{{scope={}}}", a.scope),
        rule,
        labels,
        state,
        previous: State::Ok,
        reason: Reason::Change,
        measure: MEASURE.to_owned(),
        value: Some(a.spent.dollars()),
        threshold: Some(threshold),
        requests: 0,
        window_seconds: 0,
        baseline: None,
        summary: format!(
            "budget {} for {} reached {} % ({} of {})",
            a.budget, a.scope, a.threshold_percent, a.spent, a.limit
        ),
        description: None,
        since_unix_nano: a.time_unix_nano,
        time_unix_nano: a.time_unix_nano,
        route: None,
    }
}

impl AlertChannel for Notifier {
    fn deliver(&self, alert: &BudgetAlert) {
        self.notify(&notification(alert));
    }
}
