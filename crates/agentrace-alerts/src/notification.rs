//! What an alert is at a moment ([`State`]) and what the channels carry ([`Notification`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The state of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Within thresholds (or too few requests to judge).
    Ok,
    /// Past the warning threshold.
    Warning,
    /// Past the critical threshold.
    Alert,
    /// No data in the window, for a measure undefined over nothing.
    NoData,
}

impl State {
    /// `OK`, `WARNING`, `ALERT`, `NO_DATA`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Alert => "ALERT",
            Self::NoData => "NO_DATA",
        }
    }

    /// Whether an alert in this state is firing (wants attention).
    pub const fn is_firing(self) -> bool {
        matches!(self, Self::Warning | Self::Alert | Self::NoData)
    }

    /// The severity label channels use: `critical`, `warning`, `info` (no data), `none`.
    pub const fn severity(self) -> &'static str {
        match self {
            Self::Alert => "critical",
            Self::Warning => "warning",
            Self::NoData => "info",
            Self::Ok => "none",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The state changed (recoveries included).
    Change,
    /// A firing alert, repeated after the re-notify interval.
    Reminder,
}

impl Reason {
    /// `change`, `reminder` (as in the JSON).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Reminder => "reminder",
        }
    }
}

/// The baseline an anomaly rule judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Where it comes from, in words ("the same time on the past 7 days").
    pub source: String,
    /// The mean of the baseline windows.
    pub mean: f64,
    /// Their standard deviation.
    pub stddev: f64,
    /// How many windows had data.
    pub points: usize,
    /// How many standard deviations the value is from the mean (signed).
    pub z: f64,
}

/// One notification: an alert's state, why it is sent, and the figures behind it. Its JSON
/// form is the webhook's body (docs/alerts.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// The alert: the rule's name, with the per-dimension value (`errors{model=gpt-4o}`).
    pub alert: String,
    /// The rule.
    pub rule: String,
    /// What the alert is about: the rule's scope and its per-dimension value.
    pub labels: BTreeMap<String, String>,
    /// The state now.
    pub state: State,
    /// The state before (for a reminder, the same as `state`).
    pub previous: State,
    /// Why it is sent.
    pub reason: Reason,
    /// The measure (a rule's measure, or `budget_spend`).
    pub measure: String,
    /// Its value over the window; `None` when there was no data.
    pub value: Option<f64>,
    /// The threshold crossed, or the nearest not crossed; for an anomaly rule, in standard
    /// deviations.
    pub threshold: Option<f64>,
    /// Requests in the window.
    pub requests: u64,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// The baseline, for an anomaly rule.
    pub baseline: Option<Baseline>,
    /// One line for people.
    pub summary: String,
    /// The rule's description.
    pub description: Option<String>,
    /// When the current state began (ns since the epoch).
    pub since_unix_nano: u64,
    /// When this was evaluated (ns since the epoch).
    pub time_unix_nano: u64,
    /// The channels it goes to; `None`: every channel. Not part of the JSON.
    #[serde(skip)]
    pub route: Option<Vec<String>>,
}

impl Notification {
    /// Whether it goes to the channel named `channel`.
    pub fn routed_to(&self, channel: &str) -> bool {
        self.route
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == channel))
    }
}
