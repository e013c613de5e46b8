//! Budget alerts and where they go.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::Usd;

/// A budget crossed one of its thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAlert {
    /// The budget's name.
    pub budget: String,
    /// The scope value (a session id, an agent name, …; `*` for a global budget).
    pub scope: String,
    /// The threshold crossed, in percent of the limit.
    pub threshold_percent: u32,
    /// Spend in the period, reservations included.
    pub spent: Usd,
    /// The limit.
    pub limit: Usd,
    /// Start of the period, nanoseconds since the epoch (0 for totals and rolling windows).
    pub period_start_unix_nano: u64,
    /// When it was crossed.
    pub time_unix_nano: u64,
}

/// Delivers budget alerts.
///
/// # Implementing a channel
/// `deliver` is called on the thread that recorded the spend (the application's, for a
/// `check`, or the pipeline's), outside any lock, once per threshold and period. Return
/// quickly: a channel that does I/O (a webhook, a pager) queues the alert and sends it from a
/// thread of its own, as the sinks do.
pub trait AlertChannel: Send + Sync + fmt::Debug {
    /// Delivers one alert.
    fn deliver(&self, alert: &BudgetAlert);
}

/// Emits alerts as `tracing` warnings (`agentrace.event = "budget.threshold"`), so they reach
/// every sink as events.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogAlertChannel;

impl AlertChannel for LogAlertChannel {
    fn deliver(&self, a: &BudgetAlert) {
        tracing::warn!(
            agentrace.event = "budget.threshold",
            budget = %a.budget,
            scope = %a.scope,
            threshold_percent = a.threshold_percent,
            spent_usd = a.spent.dollars(),
            limit_usd = a.limit.dollars(),
            "budget {} for {} reached {}% ({} of {})",
            a.budget,
            a.scope,
            a.threshold_percent,
            a.spent,
            a.limit
        );
    }
}

/// Calls a function with each alert.
#[derive(Clone)]
pub struct CallbackAlertChannel(Arc<dyn Fn(&BudgetAlert) + Send + Sync>);

impl CallbackAlertChannel {
    /// A channel calling `f`.
    pub fn new(f: impl Fn(&BudgetAlert) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl fmt::Debug for CallbackAlertChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackAlertChannel")
    }
}

impl AlertChannel for CallbackAlertChannel {
    fn deliver(&self, alert: &BudgetAlert) {
        (self.0)(alert);
    }
}
