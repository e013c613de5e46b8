//! Service level objectives for agents: an objective on the share of good events over a
//! rolling window, its error budget, and how fast the budget burns (docs/slos.md).
//!
//! An SLO names what it measures (its [`Indicator`]) of a [`Scope`] of spans, the share of good
//! events it promises (`objective`, e.g. 0.95) and the window it is judged over. From the good
//! and total events of the window ([`Counts`], read by the caller from its rollups) follow the
//! attainment, the **error budget** (the share of events allowed to be bad, `1 − objective`),
//! the share of it left, and the **burn rate**: how many times faster than the window allows
//! the budget is being spent (1 spends it exactly by the window's end). A burn rate is read over
//! the windows of the [`BurnAlert`]s — by default the SRE workbook's multi-window,
//! multi-burn-rate pairs: 14.4× over 1 h and 5 m (critical), 6× over 6 h and 30 m (critical),
//! 1× over 3 d and 6 h (warning) — and an alert fires when both of its windows burn at least at
//! its factor: the long window for significance, the short one so that it stops soon after the
//! burning does.
//!
//! ```
//! use std::time::Duration;
//! use agentrace_alerts::slo::{Counts, Indicator, Slo, Target};
//!
//! let slo = Slo::new(
//!     "support runs succeed",
//!     Indicator::Success { of: Target::AgentRuns },
//!     0.95,
//!     Duration::from_secs(28 * 86_400),
//! );
//! slo.validate()?;
//! // 1,000 runs in the window, 30 failed: 3 % of the allowed 5 % spent.
//! let status = slo.status(0, |_window| Counts { good: 970, total: 1_000 });
//! assert_eq!(status.attainment, Some(0.97));
//! assert!((status.budget_remaining.unwrap() - 0.4).abs() < 1e-9);
//! assert!((status.burn_rate.unwrap() - 0.6).abs() < 1e-9);
//! # Ok::<(), agentrace_alerts::RuleError>(())
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use agentrace_core::budget::Period;
pub use agentrace_core::cost::CostUnit;

use crate::rule::{Measure, NoData, Rule, RuleError, Scope};

/// What the good events are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Target {
    /// Agent runs (spans of kind `agent`).
    AgentRuns,
    /// LLM calls (spans of kind `llm`).
    LlmCalls,
    /// Tool calls (spans of kind `tool`).
    ToolCalls,
}

impl Target {
    /// The span kind counted (`agent`, `llm`, `tool`).
    pub const fn kind(self) -> &'static str {
        match self {
            Self::AgentRuns => "agent",
            Self::LlmCalls => "llm",
            Self::ToolCalls => "tool",
        }
    }
}

/// What an SLO measures: which events are good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Indicator {
    /// The share of `of` that did not fail.
    Success {
        /// Runs or calls.
        of: Target,
    },
    /// The share of `total` that `good` counts: any ratio of two counts the rollups keep (LLM
    /// calls served by the small model among all LLM calls; tool calls of one MCP server that
    /// did not fail among all its calls). `good` narrows `total`: the same target, its scope
    /// and status and maybe more.
    Ratio {
        /// The good events.
        good: Box<Count>,
        /// All events.
        total: Box<Count>,
    },
    /// The share of `of` that took at most `threshold`, failed or not. Read from the rollups'
    /// duration buckets: a run up to 1/16 longer than the threshold, in its bucket, counts as
    /// fast (docs/slos.md).
    Latency {
        /// Runs or calls.
        of: Target,
        /// The longest a good run or call takes (`60s`, `800ms`).
        #[serde(with = "agentrace_core::serde_duration")]
        threshold: Duration,
    },
    /// The share of the scores named `score` given in the window that pass: a value from
    /// `min` to `max` (both included, either left out), or a label among `labels`
    /// (docs/scores.md). Read from the store's scores, not from the rollups: every score of
    /// the name counts, whatever it judged, so an SLO per agent names the score its
    /// evaluator gives (no `scope`).
    Quality {
        /// The score's name (`groundedness`, an evaluator's).
        score: String,
        /// The lowest passing value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// The highest passing value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// The passing labels (`["correct"]`; a boolean score's `true` passes with `min = 1`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<String>,
    },
    /// The share of `of` (traces, sessions or agent runs) starting in the window that cost at
    /// most `max_usd`. Traces and sessions are read from the store's per-trace summaries, an
    /// agent run (an agent span, everything beneath it included) from its trace's spans; one
    /// with an unpriced call has no known cost and is left out of both counts. Its scope may
    /// name the trace head's (an agent run's own) `service`, `agent` and `user`
    /// (docs/slos.md).
    Cost {
        /// Traces, sessions or agent runs.
        of: CostUnit,
        /// The most a good one costs, in US dollars (included).
        max_usd: f64,
    },
}

/// A count of a ratio indicator: runs or calls of a scope (within the SLO's), of a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Count {
    /// Runs or calls.
    pub of: Target,
    /// Which of them, within the SLO's scope (no `kind`: it is `of`'s).
    #[serde(default)]
    pub scope: Scope,
    /// Only those that failed (`error`) or did not (`ok`); unset: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

impl Count {
    /// Every event of `of`.
    pub fn of(of: Target) -> Self {
        Self {
            of,
            scope: Scope::default(),
            status: None,
        }
    }
}

/// A count's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Did not fail.
    Ok,
    /// Failed.
    Error,
}

/// What a window holds of an indicator's target, as the caller's rollups count it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Runs or calls.
    pub events: u64,
    /// Those that failed.
    pub failed: u64,
    /// Those that took at most the indicator's [`threshold`](Indicator::threshold) (0 when it
    /// has none).
    pub within: u64,
    /// For a ratio: the events `good` counts, and `events` those `total` does. For quality:
    /// the scores that passed, and `events` the scores given. For cost: the traces or
    /// sessions at most the threshold, and `events` those of known cost.
    pub selected: u64,
}

/// Two windows' tallies as one: the tally of a window from those of its parts.
impl std::ops::Add for Tally {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            events: self.events + other.events,
            failed: self.failed + other.failed,
            within: self.within + other.within,
            selected: self.selected + other.selected,
        }
    }
}

impl std::iter::Sum for Tally {
    fn sum<I: Iterator<Item = Self>>(parts: I) -> Self {
        parts.fold(Self::default(), std::ops::Add::add)
    }
}

impl Indicator {
    /// The spans counted; `None` for a quality indicator (it counts scores) and a cost one
    /// (traces or sessions).
    pub const fn target(&self) -> Option<Target> {
        match self {
            Self::Success { of } | Self::Latency { of, .. } => Some(*of),
            Self::Ratio { total, .. } => Some(total.of),
            Self::Quality { .. } | Self::Cost { .. } => None,
        }
    }

    /// A latency indicator's threshold: the caller counts the events within it.
    pub const fn threshold(&self) -> Option<Duration> {
        match self {
            Self::Latency { threshold, .. } => Some(*threshold),
            Self::Success { .. }
            | Self::Ratio { .. }
            | Self::Quality { .. }
            | Self::Cost { .. } => None,
        }
    }

    /// The good and total events of a window.
    pub const fn counts(&self, tally: Tally) -> Counts {
        let good = match self {
            Self::Success { .. } => tally.events.saturating_sub(tally.failed),
            Self::Latency { .. } => tally.within,
            Self::Ratio { .. } | Self::Quality { .. } | Self::Cost { .. } => tally.selected,
        };
        Counts {
            good: if good < tally.events {
                good
            } else {
                tally.events
            },
            total: tally.events,
        }
    }
}

/// How bad a burning budget is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A ticket: the budget will run out, not soon.
    Warning,
    /// A page: the budget runs out within days at this rate.
    Critical,
}

/// A multi-window burn-rate alert: it fires when the budget burns at least `factor` times the
/// sustainable rate over both `long` and `short`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnAlert {
    /// The long window (significance).
    #[serde(with = "agentrace_core::serde_duration")]
    pub long: Duration,
    /// The short window (it stops firing soon after the burning does).
    #[serde(with = "agentrace_core::serde_duration")]
    pub short: Duration,
    /// The burn rate both windows must reach.
    pub factor: f64,
    /// How bad it is.
    pub severity: Severity,
}

impl BurnAlert {
    /// The SRE workbook's three pairs (for a 30-day window): 14.4× over 1 h and 5 m and 6×
    /// over 6 h and 30 m (critical: 2 % and 5 % of the budget gone), 1× over 3 d and 6 h
    /// (warning: 10 %).
    pub fn workbook() -> Vec<Self> {
        let h = |n: u64| Duration::from_secs(n * 3_600);
        let m = |n: u64| Duration::from_secs(n * 60);
        vec![
            Self {
                long: h(1),
                short: m(5),
                factor: 14.4,
                severity: Severity::Critical,
            },
            Self {
                long: h(6),
                short: m(30),
                factor: 6.0,
                severity: Severity::Critical,
            },
            Self {
                long: h(72),
                short: h(6),
                factor: 1.0,
                severity: Severity::Warning,
            },
        ]
    }
}

/// A service level objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Slo {
    /// Unique; names it everywhere.
    pub name: String,
    /// A line for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which spans (service, agent, model, …); its `kind` is the indicator's.
    #[serde(default)]
    pub scope: Scope,
    /// What is measured.
    pub indicator: Indicator,
    /// The share of good events promised, above 0 and below 1 (0.95: 95 %).
    pub objective: f64,
    /// The rolling window it is judged over (whole minutes); zero with a `calendar`.
    #[serde(
        default,
        with = "agentrace_core::serde_duration",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub window: Duration,
    /// Judged over the calendar `day`, `week` (from Monday) or `month` it is in, UTC, instead
    /// of a rolling window: the budget starts afresh with each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Period>,
    /// The burn-rate alerts; default: [`BurnAlert::workbook`].
    #[serde(default = "BurnAlert::workbook")]
    pub burn_alerts: Vec<BurnAlert>,
}

/// Good and total events over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Good events.
    pub good: u64,
    /// All events.
    pub total: u64,
}

impl Counts {
    /// The share of bad events; `None` without events.
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    pub fn bad_share(self) -> Option<f64> {
        (self.total > 0).then(|| self.total.saturating_sub(self.good) as f64 / self.total as f64)
    }
}

/// The burn rate over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnReading {
    /// The window, ending now.
    #[serde(with = "agentrace_core::serde_duration")]
    pub window: Duration,
    /// Its events.
    pub counts: Counts,
    /// Bad share ÷ error budget; `None` without events.
    pub burn_rate: Option<f64>,
}

/// A burn-rate alert, judged now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnAlertState {
    /// The alert.
    #[serde(flatten)]
    pub alert: BurnAlert,
    /// Both windows burn at least at its factor.
    pub firing: bool,
}

/// The error budget of the window ending at one time: a point of an SLO's burn-down.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetPoint {
    /// The end of the window.
    pub time_unix_nano: u64,
    /// The window's events.
    pub counts: Counts,
    /// Good ÷ total; `None` without events.
    pub attainment: Option<f64>,
    /// The share of the budget left then; `None` without events.
    pub budget_remaining: Option<f64>,
}

/// An SLO judged now: attainment, budget and burn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloStatus {
    /// The SLO.
    pub slo: Slo,
    /// When the window it was judged over starts (ns since the epoch).
    pub since_unix_nano: u64,
    /// The window's events.
    pub counts: Counts,
    /// Good ÷ total over the window; `None` without events.
    pub attainment: Option<f64>,
    /// The error budget: the share of events allowed to be bad (`1 − objective`).
    pub error_budget: f64,
    /// The share of the budget left (1: untouched, 0: spent, below 0: overspent); `None`
    /// without events.
    pub budget_remaining: Option<f64>,
    /// The burn rate over the whole window.
    pub burn_rate: Option<f64>,
    /// The burn rate over each alert window, shortest first.
    pub burn_rates: Vec<BurnReading>,
    /// How long until the budget is spent at the burn rate of the shortest long window (the
    /// last hour, by default); `None` when it is not burning or is spent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "agentrace_core::serde_duration::option"
    )]
    pub exhausted_in: Option<Duration>,
    /// The burn-rate alerts.
    pub alerts: Vec<BurnAlertState>,
}

impl Slo {
    /// An SLO of every span the indicator counts, with the workbook's burn-rate alerts.
    pub fn new(
        name: impl Into<String>,
        indicator: Indicator,
        objective: f64,
        window: Duration,
    ) -> Self {
        Self {
            name: name.into(),
            description: None,
            scope: Scope::default(),
            indicator,
            objective,
            window,
            calendar: None,
            burn_alerts: BurnAlert::workbook(),
        }
    }

    /// The same SLO judged over the calendar `period` it is in (UTC) instead of a rolling
    /// window.
    pub fn calendar(mut self, period: Period) -> Self {
        self.window = Duration::ZERO;
        self.calendar = Some(period);
        self
    }

    /// How long its window is: the rolling window, or the calendar period's nominal length
    /// (a month: 30 days). The burn rates and the alerts' share of the budget are of it.
    pub fn span(&self) -> Duration {
        match self.calendar.and_then(Period::length_ns) {
            Some(ns) => Duration::from_nanos(ns),
            None => self.window,
        }
    }

    /// When its window ending at `now_unix_nano` starts: `window` before, or the start of the
    /// calendar period.
    pub fn window_start(&self, now_unix_nano: u64) -> u64 {
        match self.calendar {
            Some(period) => period.calendar_start(now_unix_nano),
            None => now_unix_nano
                .saturating_sub(u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX)),
        }
    }

    /// How much of its window has passed at `now_unix_nano`: the whole rolling window, or the
    /// calendar period so far.
    pub fn elapsed(&self, now_unix_nano: u64) -> Duration {
        match self.calendar {
            Some(_) => {
                Duration::from_nanos(now_unix_nano.saturating_sub(self.window_start(now_unix_nano)))
            }
            None => self.window,
        }
    }

    /// The share of events allowed to be bad.
    pub fn error_budget(&self) -> f64 {
        1.0 - self.objective
    }

    /// Checks the objective, the windows and the scope.
    pub fn validate(&self) -> Result<(), RuleError> {
        let fail = |reason: String| RuleError {
            rule: self.name.clone(),
            reason,
        };
        let minutes = |d: Duration| {
            d.as_secs() > 0 && d.as_secs().is_multiple_of(60) && d.subsec_nanos() == 0
        };
        if self.name.trim().is_empty() {
            return Err(fail("the SLO's name is empty".into()));
        }
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(fail(format!(
                "`objective` {} is not a share between 0 and 1 (0.95 for 95 %)",
                self.objective
            )));
        }
        match self.calendar {
            Some(Period::Day | Period::Week | Period::Month) if self.window.is_zero() => {}
            Some(Period::Day | Period::Week | Period::Month) => {
                return Err(fail(
                    "a `calendar` SLO has no `window`: leave one of them out".into(),
                ));
            }
            Some(other) => {
                return Err(fail(format!(
                    "`calendar` {other:?} is not a calendar window: `day`, `week` or `month`"
                )));
            }
            None if !minutes(self.window) => {
                return Err(fail(
                    "`window` is not a whole number of minutes (or give a `calendar`)".into(),
                ));
            }
            None => {}
        }
        if self.indicator.threshold().is_some_and(|t| t.is_zero()) {
            return Err(fail("a latency indicator's `threshold` is above 0".into()));
        }
        match &self.indicator {
            Indicator::Ratio { good, total } => {
                ratio_narrows(&self.scope, good, total).map_err(fail)?;
            }
            Indicator::Quality {
                score,
                min,
                max,
                labels,
            } => quality_passes(&self.scope, score, *min, *max, labels).map_err(fail)?,
            Indicator::Cost { max_usd, .. } => cost_bounds(&self.scope, *max_usd).map_err(fail)?,
            Indicator::Success { .. } | Indicator::Latency { .. } => {}
        }
        if self.scope.kind.is_some() {
            return Err(fail(
                "`scope.kind` is the indicator's (`of`): leave it out".into(),
            ));
        }
        for a in &self.burn_alerts {
            if !(minutes(a.long) && minutes(a.short)) || a.short >= a.long {
                return Err(fail(
                    "a burn alert's `short` and `long` are whole minutes, `short` the shorter"
                        .into(),
                ));
            }
            if a.long > self.span() {
                return Err(fail(format!(
                    "a burn alert's `long` window ({} min) is longer than the SLO's (the default \
                     alerts are the SRE workbook's, up to 3 days: give `burn_alerts` for a \
                     shorter window)",
                    a.long.as_secs() / 60
                )));
            }
            if !(a.factor.is_finite() && a.factor > 0.0) {
                return Err(fail("a burn alert's `factor` is a number above 0".into()));
            }
        }
        Ok(())
    }

    /// Its burn-rate alerts as rules of the alert engine (`measure = "burn_rate"`, named
    /// `"<slo> burn rate <long>/<short>"`), so that they have states, history and channels as
    /// every alert does. A window without events burns nothing: `OK`, not `NO_DATA`.
    pub fn burn_rules(&self) -> Vec<Rule> {
        let minutes = agentrace_core::serde_duration::text;
        self.burn_alerts
            .iter()
            .map(|a| {
                let spent = a.factor * a.long.as_secs_f64() / self.span().as_secs_f64();
                let rule = Rule::new(
                    format!(
                        "{} burn rate {}/{}",
                        self.name,
                        minutes(a.long),
                        minutes(a.short)
                    ),
                    Measure::BurnRate,
                    a.long,
                )
                .slo(self.name.clone(), a.short)
                .no_data(NoData::Ok);
                let mut rule = match a.severity {
                    Severity::Critical => rule.critical(a.factor),
                    Severity::Warning => rule.warning(a.factor),
                };
                rule.description = Some(format!(
                    "SLO {:?} burns its error budget at {}× or more over {} and {}: {:.1} % of it gone in {}",
                    self.name,
                    a.factor,
                    minutes(a.long),
                    minutes(a.short),
                    spent * 100.0,
                    minutes(a.long)
                ));
                rule
            })
            .collect()
    }

    /// The budget of the window ending at `time_unix_nano`, from its `counts`.
    pub fn budget_at(&self, time_unix_nano: u64, counts: Counts) -> BudgetPoint {
        BudgetPoint {
            time_unix_nano,
            counts,
            attainment: attainment(counts),
            budget_remaining: self.burn_rate(counts).map(|spent| 1.0 - spent),
        }
    }

    /// The burn rate of `counts`: their bad share ÷ the error budget.
    pub fn burn_rate(&self, counts: Counts) -> Option<f64> {
        Some(counts.bad_share()? / self.error_budget())
    }

    /// The burn rate a [`BurnAlert`] is judged on, from the counts of its `long` and `short`
    /// windows: the lower of their rates, which reaches its factor only when both do; `None`
    /// when either window has no events (nothing burns).
    pub fn alert_burn_rate(&self, long: Counts, short: Counts) -> Option<f64> {
        both(self.burn_rate(long), self.burn_rate(short))
    }

    /// The SLO judged at `now_unix_nano`, from `counts(window)`: the good and total events of
    /// the last `window` (called for the SLO's window so far and each alert window).
    pub fn status(
        &self,
        now_unix_nano: u64,
        mut counts: impl FnMut(Duration) -> Counts,
    ) -> SloStatus {
        let elapsed = self.elapsed(now_unix_nano);
        let whole = counts(elapsed);
        let mut windows: Vec<Duration> = self
            .burn_alerts
            .iter()
            .flat_map(|a| [a.short, a.long])
            .collect();
        windows.sort_unstable();
        windows.dedup();
        let burn_rates: Vec<BurnReading> = windows
            .into_iter()
            .map(|window| {
                let c = if window == elapsed {
                    whole
                } else {
                    counts(window)
                };
                BurnReading {
                    window,
                    counts: c,
                    burn_rate: self.burn_rate(c),
                }
            })
            .collect();
        let rate_over = |w: Duration| {
            burn_rates
                .iter()
                .find(|r| r.window == w)
                .and_then(|r| r.burn_rate)
        };
        let alerts = self
            .burn_alerts
            .iter()
            .map(|a| BurnAlertState {
                alert: a.clone(),
                firing: both(rate_over(a.long), rate_over(a.short)).is_some_and(|r| r >= a.factor),
            })
            .collect();
        let now = self.budget_at(0, whole);
        let now_rate = self
            .burn_alerts
            .iter()
            .map(|a| a.long)
            .min()
            .and_then(rate_over);
        let exhausted_in = match (now.budget_remaining, now_rate) {
            // To the minute: a budget's end is not known closer than its rollups'.
            (Some(left), Some(rate)) if left > 0.0 && rate > 0.0 => {
                let seconds = self.span().mul_f64(left / rate).as_secs();
                Some(Duration::from_secs(seconds / 60 * 60))
            }
            _ => None,
        };
        SloStatus {
            slo: self.clone(),
            since_unix_nano: self.window_start(now_unix_nano),
            counts: whole,
            attainment: now.attainment,
            error_budget: self.error_budget(),
            budget_remaining: now.budget_remaining,
            burn_rate: self.burn_rate(whole),
            burn_rates,
            exhausted_in,
            alerts,
        }
    }
}

/// Why a ratio's `good` does not narrow its `total` within `scope`, if it does not.
/// Checks that a quality indicator names its score and says what passes, within bounds that
/// leave something passing, and that its SLO has no scope (scores are counted by name).
fn quality_passes(
    scope: &Scope,
    score: &str,
    min: Option<f64>,
    max: Option<f64>,
    labels: &[String],
) -> Result<(), String> {
    if score.trim().is_empty() {
        return Err("a quality indicator names its `score`".into());
    }
    if min.is_none() && max.is_none() && labels.is_empty() {
        return Err(format!(
            "a quality indicator says which scores of {score:?} pass: `min`, `max` or `labels`"
        ));
    }
    if [min, max].into_iter().flatten().any(|b| !b.is_finite()) {
        return Err("a quality indicator's `min` and `max` are numbers".into());
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(format!(
            "`min` {min} is above `max` {max}: no value would pass"
        ));
    }
    if *scope != Scope::default() {
        return Err(format!(
            "a quality SLO counts every score named {score:?}, whatever it judged: leave \
             `scope` out (for one agent, give its evaluator a score name of its own)"
        ));
    }
    Ok(())
}

/// Checks that a cost indicator's threshold is an amount of dollars and that its SLO's scope
/// names only what a trace head (or an agent run's span) carries.
fn cost_bounds(scope: &Scope, max_usd: f64) -> Result<(), String> {
    if !(max_usd.is_finite() && max_usd >= 0.0) {
        return Err(format!(
            "a cost indicator's `max_usd` {max_usd} is not an amount of dollars (0.40 for 40 cents)"
        ));
    }
    let head = Scope {
        service: scope.service.clone(),
        agent: scope.agent.clone(),
        user: scope.user.clone(),
        ..Scope::default()
    };
    if *scope != head {
        return Err(
            "a cost SLO counts traces or sessions by their head span, agent runs by their \
             own: its scope names only `service`, `agent` and `user`"
                .into(),
        );
    }
    Ok(())
}

fn ratio_narrows(scope: &Scope, good: &Count, total: &Count) -> Result<(), String> {
    if good.scope.kind.is_some() || total.scope.kind.is_some() {
        return Err("a count's `scope.kind` is its `of`: leave it out".into());
    }
    if good.of != total.of {
        return Err("a ratio's `good` and `total` count the same `of`".into());
    }
    let (Some(good_scope), Some(total_scope)) = (scope.and(&good.scope), scope.and(&total.scope))
    else {
        return Err("a count's scope names another value than the SLO's".into());
    };
    if good_scope.and(&total_scope).as_ref() != Some(&good_scope)
        || (total.status.is_some() && good.status != total.status)
    {
        return Err(
            "a ratio's `good` narrows its `total`: its scope and status, and maybe more".into(),
        );
    }
    Ok(())
}

/// Good ÷ total; `None` without events.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn attainment(counts: Counts) -> Option<f64> {
    (counts.total > 0).then(|| counts.good as f64 / counts.total as f64)
}

/// The lower of two windows' burn rates, if both have one.
fn both(long: Option<f64>, short: Option<f64>) -> Option<f64> {
    Some(long?.min(short?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_calendar_month_judges_the_month_so_far_and_burns_against_thirty_days() {
        let month = slo().calendar(Period::Month);
        assert_eq!(month.validate(), Ok(()));
        // 2026-11-26 12:00 UTC: the month so far is 25.5 days.
        let now = 1_795_651_200_000_000_000 + 12 * 3_600_000_000_000;
        let start = month.window_start(now);
        assert_eq!(start, 1_793_491_200_000_000_000, "2026-11-01 00:00 UTC");
        assert_eq!(
            month.elapsed(now),
            Duration::from_secs(25 * 86_400 + 12 * 3_600)
        );
        assert_eq!(month.span(), Duration::from_secs(30 * 86_400));
        let mut asked = Vec::new();
        let status = month.status(now, |w| {
            asked.push(w);
            Counts {
                good: 999,
                total: 1_000,
            }
        });
        assert_eq!(asked[0], month.elapsed(now), "the month so far first");
        assert_eq!(status.since_unix_nano, start);
        let left = status.budget_remaining.unwrap_or_default();
        assert!(left.abs() < 1e-9, "0.1 % failed of 0.1 % allowed: {left}");
        // A window and a calendar at once, or an hour's calendar, are refused.
        let mut both = month.clone();
        both.window = DAY;
        assert!(
            both.validate()
                .is_err_and(|e| e.reason.contains("leave one"))
        );
        assert!(slo().calendar(Period::Hour).validate().is_err());
        // As the alerts file writes it: `calendar = "month"`, no window.
        let written = toml::to_string(&month).unwrap_or_default();
        assert!(
            written.contains("calendar = \"month\"") && !written.contains("window"),
            "{written}"
        );
    }

    fn slo() -> Slo {
        Slo::new(
            "runs",
            Indicator::Success {
                of: Target::AgentRuns,
            },
            0.999,
            Duration::from_secs(30 * 86_400),
        )
    }

    #[test]
    fn the_workbooks_worked_example_pages_when_an_hour_burns_two_percent_of_the_budget() {
        // 99.9 % over 30 days: 0.1 % may fail. Over the last hour and 5 minutes 1.5 % fail
        // (15× the budget's pace): the 14.4× pair fires, 2 % of the month's budget is gone
        // in that hour; the 6 h pair burns at 6× too if the failures started 6 h ago.
        let s = slo();
        let status = s.status(0, |w| {
            let per_hour = 10_000;
            let hours = (w.as_secs() / 3_600).max(1);
            let total = per_hour * hours;
            let bad = match w.as_secs() {
                t if t <= 3_600 => total * 15 / 1_000,
                t if t <= 6 * 3_600 => total * 7 / 1_000,
                _ => total / 2_000,
            };
            Counts {
                good: total - bad,
                total,
            }
        });
        let firing: Vec<(f64, Severity)> = status
            .alerts
            .iter()
            .filter(|a| a.firing)
            .map(|a| (a.alert.factor, a.alert.severity))
            .collect();
        assert_eq!(
            firing,
            vec![(14.4, Severity::Critical), (6.0, Severity::Critical)]
        );
        let hour = status
            .burn_rates
            .iter()
            .find(|r| r.window == Duration::from_secs(3_600))
            .and_then(|r| r.burn_rate)
            .unwrap_or_default();
        assert!((hour - 15.0).abs() < 1e-9, "{hour}");
        // Half the month's budget spent (0.05 % of 0.1 %), at 15× the pace: gone in a day.
        let left = status.budget_remaining.unwrap_or_default();
        assert!((left - 0.5).abs() < 1e-9, "{left}");
        let exhausted = status.exhausted_in.map(|d| d.as_secs_f64() / 3_600.0);
        assert!(
            exhausted.is_some_and(|h| (h - 24.0).abs() < 1e-6),
            "{exhausted:?}"
        );
    }

    #[test]
    fn the_burn_alerts_are_rules_the_engine_judges_on_both_windows() {
        use crate::{Engine, Query, Reading, Source, State};

        let s = slo();
        let rules = s.burn_rules();
        let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "runs burn rate 1h/5m",
                "runs burn rate 6h/30m",
                "runs burn rate 3d/6h"
            ]
        );
        for rule in &rules {
            assert_eq!(rule.validate(), Ok(()), "{}", rule.name);
        }
        assert_eq!(
            (rules[0].critical, rules[2].warning),
            (Some(14.4), Some(1.0))
        );
        assert!(
            rules[0]
                .description
                .as_deref()
                .is_some_and(|d| d.contains("2.0 % of it gone in 1h")),
            "{:?}",
            rules[0].description
        );

        /// 1.5 % of the last 5 minutes fail, and of the last hour; 0.5 % before.
        struct Failing(Slo);
        impl Source for Failing {
            type Error = std::convert::Infallible;
            fn read(&self, q: &Query<'_>) -> Result<Vec<Reading>, Self::Error> {
                let counts = |window: Duration| {
                    let bad_per_mille = if window <= Duration::from_secs(3_600) {
                        15
                    } else {
                        5
                    };
                    Counts {
                        good: 1_000 - bad_per_mille,
                        total: 1_000,
                    }
                };
                let long = Duration::from_nanos(q.end_unix_nano - q.start_unix_nano);
                let short = q.rule.short_window.unwrap_or(long);
                Ok(vec![Reading {
                    group: None,
                    requests: 1_000,
                    value: self.0.alert_burn_rate(counts(long), counts(short)),
                }])
            }
        }
        let mut engine = Engine::new(rules, None);
        let evaluation = engine.evaluate(&Failing(s), 1_800_000_000_000_000_000);
        let fired: Vec<(&str, State)> = evaluation
            .notifications
            .iter()
            .map(|n| (n.rule.as_str(), n.state))
            .collect();
        // 15× over 1 h and 5 m pages; 6 h burns at 5×: below 6×; 3 days at 5× warn.
        assert_eq!(
            fired,
            [
                ("runs burn rate 1h/5m", State::Alert),
                ("runs burn rate 3d/6h", State::Warning)
            ]
        );
        assert!(
            evaluation.notifications[0]
                .summary
                .contains("burn_rate 15.0× over 1h and 5m"),
            "{}",
            evaluation.notifications[0].summary
        );
    }

    #[test]
    fn a_latency_objective_counts_the_runs_within_its_threshold() {
        let s: Slo = toml::from_str(
            r#"
            name = "research runs are fast"
            objective = 0.95
            window = "7d"
            indicator = { type = "latency", of = "agent_runs", threshold = "60s" }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.indicator.threshold(), Some(Duration::from_secs(60)));
        assert_eq!(s.indicator.target(), Some(Target::AgentRuns));
        // 200 runs, 10 of them failed, 188 within a minute: failures do not make a run slow.
        let tally = Tally {
            events: 200,
            failed: 10,
            within: 188,
            ..Tally::default()
        };
        assert_eq!(
            s.indicator.counts(tally),
            Counts {
                good: 188,
                total: 200
            }
        );
        let mut zero = s.clone();
        zero.indicator = Indicator::Latency {
            of: Target::AgentRuns,
            threshold: Duration::ZERO,
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn a_ratio_counts_what_good_selects_among_total() {
        let s: Slo = toml::from_str(
            r#"
            name = "small model serves most calls"
            objective = 0.8
            window = "28d"
            scope = { service = "support-bot" }
            indicator = { type = "ratio", good = { of = "llm_calls", scope = { model = "gpt-4o-mini" } }, total = { of = "llm_calls" } }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.indicator.target(), Some(Target::LlmCalls));
        let tally = Tally {
            events: 50,
            selected: 42,
            ..Tally::default()
        };
        assert_eq!(
            s.indicator.counts(tally),
            Counts {
                good: 42,
                total: 50
            }
        );
        let ratio = |good: Count, total: Count| {
            let mut r = s.clone();
            r.indicator = Indicator::Ratio {
                good: Box::new(good),
                total: Box::new(total),
            };
            r.validate().err().map(|e| e.reason).unwrap_or_default()
        };
        let mut wider = Count::of(Target::LlmCalls);
        wider.scope.model = Some("gpt-4o".into());
        let mut small = Count::of(Target::LlmCalls);
        small.scope.model = Some("gpt-4o-mini".into());
        assert!(ratio(Count::of(Target::LlmCalls), wider.clone()).contains("narrows"));
        assert!(ratio(small.clone(), wider).contains("narrows"));
        assert!(ratio(small, Count::of(Target::ToolCalls)).contains("same `of`"));
        let mut elsewhere = Count::of(Target::LlmCalls);
        elsewhere.scope.service = Some("other".into());
        assert!(ratio(elsewhere, Count::of(Target::LlmCalls)).contains("another value"));
        let mut ok = Count::of(Target::LlmCalls);
        ok.status = Some(Status::Ok);
        assert_eq!(ratio(ok.clone(), Count::of(Target::LlmCalls)), "");
        assert!(ratio(Count::of(Target::LlmCalls), ok).contains("narrows"));
    }

    #[test]
    fn a_quality_objective_counts_the_scores_that_pass() {
        let s: Slo = toml::from_str(
            r#"
            name = "answers are grounded"
            objective = 0.9
            window = "7d"
            indicator = { type = "quality", score = "groundedness", min = 0.7 }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.indicator.target(), None);
        let tally = Tally {
            events: 40,
            selected: 38,
            ..Tally::default()
        };
        assert_eq!(
            s.indicator.counts(tally),
            Counts {
                good: 38,
                total: 40
            }
        );
        let refused = |edit: &dyn Fn(&mut Slo)| {
            let mut q = s.clone();
            edit(&mut q);
            q.validate().err().map(|e| e.reason).unwrap_or_default()
        };
        let pass = |q: &mut Slo, min: Option<f64>, max: Option<f64>, labels: Vec<String>| {
            q.indicator = Indicator::Quality {
                score: "groundedness".into(),
                min,
                max,
                labels,
            };
        };
        assert!(refused(&|q| pass(q, None, None, Vec::new())).contains("`min`, `max` or `labels`"));
        assert!(refused(&|q| pass(q, Some(0.9), Some(0.1), Vec::new())).contains("no value"));
        assert!(refused(&|q| pass(q, Some(f64::NAN), None, Vec::new())).contains("numbers"));
        assert!(refused(&|q| q.scope.agent = Some("researcher".into())).contains("leave"));
        assert_eq!(
            refused(&|q| pass(q, None, None, vec!["correct".into()])),
            ""
        );
        let unknown: Result<Slo, _> = toml::from_str(
            r#"
            name = "q"
            objective = 0.9
            window = "7d"
            indicator = { type = "quality", score = "g", threshold = 0.7 }
            "#,
        );
        assert!(unknown.is_err(), "an unknown field is refused");
    }

    #[test]
    fn a_cost_objective_counts_the_cheap_traces_of_known_cost() {
        let s: Slo = toml::from_str(
            r#"
            name = "a ticket costs under 40 cents"
            objective = 0.95
            window = "28d"
            scope = { service = "support-bot" }
            indicator = { type = "cost", of = "traces", max_usd = 0.40 }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.indicator.target(), None);
        let tally = Tally {
            events: 200,
            selected: 190,
            ..Tally::default()
        };
        assert_eq!(
            s.indicator.counts(tally),
            Counts {
                good: 190,
                total: 200
            }
        );
        let refused = |edit: &dyn Fn(&mut Slo)| {
            let mut c = s.clone();
            edit(&mut c);
            c.validate().err().map(|e| e.reason).unwrap_or_default()
        };
        let max = |c: &mut Slo, max_usd: f64| {
            c.indicator = Indicator::Cost {
                of: CostUnit::Sessions,
                max_usd,
            };
        };
        assert!(refused(&|c| max(c, -1.0)).contains("amount of dollars"));
        assert!(refused(&|c| max(c, f64::INFINITY)).contains("amount of dollars"));
        assert_eq!(refused(&|c| max(c, 0.0)), "");
        assert!(refused(&|c| c.scope.model = Some("gpt-4o".into())).contains("head span"));
        assert_eq!(refused(&|c| c.scope.user = Some("u-1".into())), "");
    }

    #[test]
    fn a_cost_objective_of_agent_runs_is_configured_as_docs_slos_md_shows() {
        let s: Slo = toml::from_str(
            r#"
            name = "a research run costs under 10 cents"
            objective = 0.9
            window = "28d"
            indicator = { type = "cost", of = "agent_runs", max_usd = 0.10 }
            scope = { agent = "researcher" }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(
            s.indicator,
            Indicator::Cost {
                of: CostUnit::AgentRuns,
                max_usd: 0.10
            }
        );
        let mut tool = s.clone();
        tool.scope.tool = Some("search".into());
        assert!(
            tool.validate()
                .err()
                .is_some_and(|e| e.reason.contains("agent runs by their own"))
        );
    }

    #[test]
    fn a_quiet_window_has_no_rate_and_fires_nothing() {
        let status = slo().status(0, |_| Counts::default());
        assert_eq!(status.attainment, None);
        assert_eq!(status.budget_remaining, None);
        assert!(status.alerts.iter().all(|a| !a.firing));
        assert_eq!(status.exhausted_in, None);
        let spent = slo().status(0, |_| Counts { good: 0, total: 10 });
        assert!(
            spent.budget_remaining.is_some_and(|b| b < -900.0),
            "overspent"
        );
        assert_eq!(spent.exhausted_in, None, "nothing left to exhaust");
    }

    #[test]
    fn objectives_windows_and_alerts_are_checked() {
        let bad = |f: &dyn Fn(&mut Slo)| {
            let mut s = slo();
            f(&mut s);
            s.validate().map_err(|e| e.reason)
        };
        assert!(slo().validate().is_ok());
        assert!(bad(&|s| s.objective = 95.0).is_err_and(|e| e.contains("0.95")));
        assert!(bad(&|s| s.objective = 1.0).is_err());
        assert!(bad(&|s| s.window = Duration::from_secs(90)).is_err());
        assert!(bad(&|s| s.scope.kind = Some("llm".into())).is_err());
        assert!(bad(&|s| s.window = DAY).is_err_and(|e| e.contains("longer")));
        assert!(bad(&|s| s.burn_alerts[0].factor = f64::NAN).is_err());
        assert!(bad(&|s| s.burn_alerts[0].short = Duration::from_secs(7_200)).is_err());
    }

    #[test]
    fn an_slo_reads_from_toml_with_the_workbooks_alerts_by_default() {
        let s: Slo = toml::from_str(
            r#"
            name = "support runs succeed"
            objective = 0.95
            window = "28d"
            indicator = { type = "success", of = "agent_runs" }
            scope = { service = "support-bot" }
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.burn_alerts, BurnAlert::workbook());
        assert_eq!(s.indicator.target().map(Target::kind), Some("agent"));
        assert_eq!(s.scope.service.as_deref(), Some("support-bot"));
        assert!(s.validate().is_ok());
    }
}
