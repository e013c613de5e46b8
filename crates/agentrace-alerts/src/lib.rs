//! # agentrace-alerts
//!
//! Alerts for agentrace: rules over what the store has counted, the state of every alert, and
//! the channels that carry changes to people and pagers. The server evaluates the rules of its
//! alerts file (docs/alerts.md) on its rollups; an application can use the [`Notifier`] alone
//! as the [`AlertChannel`](agentrace_core::budget::AlertChannel) of its budgets.
//!
//! | piece | what it is |
//! |---|---|
//! | [`Rule`] | a [`Measure`] (error rate, latency percentile, cost, tokens, requests, tool success rate, safety violations) of a [`Scope`] of spans over a window, with warning and critical thresholds — fixed, or in standard deviations from its own baseline ([`Anomaly`]) — optionally one alert per value of a [`Dimension`] |
//! | [`Engine`] | judges the rules against a [`Source`] every interval; keeps each alert's [`State`] (`OK`, `WARNING`, `ALERT`, `NO_DATA`); yields a [`Notification`] on every change (recoveries included) and on re-notify |
//! | [`Notifier`] | one thread delivering notifications to the channels ([`ChannelKind`]: log, signed webhook, Slack, Alertmanager v2) with retries and backoff; never blocks its caller; counts what it drops; marks failing channels |
//! | [`load_alerts`] | reads and checks the alerts file ([`AlertsConfig`]) |
//! | [`promql::prometheus_rules`] | the rules as a Prometheus rules file over agentrace's `/metrics` |
//! | [`openslo`] | SLOs in the OpenSLO v1 form, written and read, saying what cannot be honoured |
//! | [`slo::Slo`] | a service level objective: an indicator's share of good events over a rolling window, its error budget and burn rates, multi-window burn-rate alerts |
//!
//! ## Example
//!
//! ```
//! use std::time::Duration;
//! use agentrace_alerts::{Engine, Measure, Query, Reading, Rule, Source, State};
//!
//! /// A source that always measures a 30 % error rate over 200 calls.
//! struct Failing;
//! impl Source for Failing {
//!     type Error = std::convert::Infallible;
//!     fn read(&self, _: &Query<'_>) -> Result<Vec<Reading>, Self::Error> {
//!         Ok(vec![Reading { group: None, requests: 200, value: Some(0.3) }])
//!     }
//! }
//!
//! let rule = Rule::new("llm errors", Measure::ErrorRate, Duration::from_secs(300))
//!     .min_requests(20)
//!     .warning(0.05)
//!     .critical(0.2);
//! rule.validate()?;
//! let mut engine = Engine::new(vec![rule], None);
//! let evaluation = engine.evaluate(&Failing, 1_800_000_000_000_000_000);
//! let n = &evaluation.notifications[0];
//! assert_eq!((n.previous, n.state), (State::Ok, State::Alert));
//! assert!(n.summary.starts_with("llm errors is ALERT: error_rate 30.0 % over 5m"));
//! # Ok::<(), agentrace_alerts::RuleError>(())
//! ```

mod budget;
mod channel;
mod config;
mod engine;
mod notification;
mod notifier;
pub mod openslo;
pub mod promql;
mod report;
mod rule;
pub mod slo;

pub use budget::{MEASURE as BUDGET_MEASURE, notification as budget_notification};
pub use channel::{ChannelConfig, ChannelKind, DeliveryError};
pub use config::{
    AlertsConfig, DEFAULT_INTERVAL, LoadAlertsError, ReportSchedule, alerts_from_value, load_alerts,
};
pub use engine::{Engine, Evaluation, Query, Reading, RuleFailure, Source};
pub use notification::{Baseline, Notification, Reason, State};
pub use notifier::{ChannelStatus, FAILING_AFTER, Notifier, QUEUE, Retry, StartError};
pub use report::ReportMessage;
pub use rule::{
    Aggregate, Anomaly, Dimension, Direction, MIN_BASELINE_POINTS, Measure, NoData, Rule,
    RuleError, Scope,
};

/// Webhook signatures: how a receiver checks that a notification came from this server.
pub mod webhook {
    pub use crate::channel::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
}
