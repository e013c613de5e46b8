//! What a rule watches: a [`Measure`] of the spans a [`Scope`] selects, over a window, judged
//! against warning and critical thresholds — fixed, or as departures from the measure's own
//! baseline ([`Anomaly`]).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod scope_query;

/// What a rule measures over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Measure {
    /// Failed spans ÷ spans, 0–1 (of LLM calls unless the rule names another kind).
    ErrorRate,
    /// Median duration, in seconds.
    LatencyP50,
    /// 95th percentile duration, in seconds.
    LatencyP95,
    /// 99th percentile duration, in seconds.
    LatencyP99,
    /// Cost of the priced spans, in US dollars.
    Cost,
    /// Tokens of every type, summed.
    Tokens,
    /// Spans (of LLM calls unless the rule names another kind).
    Requests,
    /// Tool calls that did not fail ÷ tool calls, 0–1.
    ToolSuccessRate,
    /// `safety.violation` events and failed guardrail spans.
    SafetyViolations,
    /// A metric received over OTLP (`metric`), combined over the window as `aggregate` says
    /// (`process.cpu.utilization`, `system.memory.usage`, your own).
    Metric,
    /// The server's write queue, filled 0–1 (records waiting ÷ capacity), now.
    ServerQueue,
    /// The server's resident memory, in bytes, now.
    ServerMemory,
    /// The server's store on disk (database and write-ahead log), in bytes, now.
    ServerStore,
    /// The server's CPU use, in cores (CPU seconds per second) since the last evaluation.
    ServerCpu,
    /// The mean value of the score named `score` given in the window (docs/scores.md).
    ScoreMean,
    /// The share of the boolean score named `score` that passed (value 1), 0–1.
    ScorePassRate,
    /// How fast the SLO named `slo` spends its error budget (×, 1 = exactly its budget over
    /// its window): the lower of the rates over `window` and over `short_window`, so that it
    /// is high only while both are (the SRE workbook's multi-window alert; docs/slos.md).
    /// The SLO's scope and indicator say which events count.
    BurnRate,
}

/// How a [`Measure::Metric`] rule combines a metric's points over its window (every series
/// of the metric together, or each value of `per_label` on its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The mean of the measurements (a gauge's level).
    #[default]
    Avg,
    /// The largest measurement.
    Max,
    /// The smallest measurement.
    Min,
    /// The sum (a counter's increase).
    Sum,
    /// Each series' latest value, summed over series.
    Last,
}

impl Measure {
    /// Every measure, in the order the docs list them.
    pub const ALL: [Self; 17] = [
        Self::ErrorRate,
        Self::LatencyP50,
        Self::LatencyP95,
        Self::LatencyP99,
        Self::Cost,
        Self::Tokens,
        Self::Requests,
        Self::ToolSuccessRate,
        Self::SafetyViolations,
        Self::Metric,
        Self::ServerQueue,
        Self::ServerMemory,
        Self::ServerStore,
        Self::ServerCpu,
        Self::ScoreMean,
        Self::ScorePassRate,
        Self::BurnRate,
    ];

    /// The name written in rules.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ErrorRate => "error_rate",
            Self::LatencyP50 => "latency_p50",
            Self::LatencyP95 => "latency_p95",
            Self::LatencyP99 => "latency_p99",
            Self::Cost => "cost",
            Self::Tokens => "tokens",
            Self::Requests => "requests",
            Self::ToolSuccessRate => "tool_success_rate",
            Self::SafetyViolations => "safety_violations",
            Self::Metric => "metric",
            Self::ServerQueue => "server_queue",
            Self::ServerMemory => "server_memory",
            Self::ServerStore => "server_store",
            Self::ServerCpu => "server_cpu",
            Self::ScoreMean => "score_mean",
            Self::ScorePassRate => "score_pass_rate",
            Self::BurnRate => "burn_rate",
        }
    }

    /// Whether the measure reads a score's values (the rule names it: `score`).
    pub const fn is_score(self) -> bool {
        matches!(self, Self::ScoreMean | Self::ScorePassRate)
    }

    /// Whether the measure is about the server itself (not about spans or metrics received).
    pub const fn is_server(self) -> bool {
        matches!(
            self,
            Self::ServerQueue | Self::ServerMemory | Self::ServerStore | Self::ServerCpu
        )
    }

    /// Whether the measure has a value over a window without spans. A rate or a percentile of
    /// nothing is undefined, so such a window is *no data*; a count or a sum of nothing is 0.
    pub const fn defined_when_empty(self) -> bool {
        matches!(
            self,
            Self::Cost | Self::Tokens | Self::Requests | Self::SafetyViolations
        )
    }

    /// The span kind a rule measures unless it names one: tools for the tool success rate,
    /// LLM calls for the others (safety violations count every kind).
    pub const fn default_kind(self) -> Option<&'static str> {
        match self {
            Self::ToolSuccessRate => Some("tool"),
            Self::SafetyViolations
            | Self::Metric
            | Self::ServerQueue
            | Self::ServerMemory
            | Self::ServerStore
            | Self::ServerCpu
            | Self::ScoreMean
            | Self::ScorePassRate
            | Self::BurnRate => None,
            _ => Some("llm"),
        }
    }

    /// Which way is bad unless the rule says: a success rate and a score are bad when low,
    /// everything else when high.
    pub const fn default_direction(self) -> Direction {
        match self {
            Self::ToolSuccessRate | Self::ScoreMean | Self::ScorePassRate => Direction::Below,
            _ => Direction::Above,
        }
    }

    /// `value` written for people: rates in percent, latencies in seconds or milliseconds,
    /// cost in dollars.
    pub fn format(self, value: f64) -> String {
        match self {
            Self::ErrorRate | Self::ToolSuccessRate | Self::ScorePassRate => {
                format!("{:.1} %", value * 100.0)
            }
            Self::ScoreMean => format!("{value:.3}"),
            Self::LatencyP50 | Self::LatencyP95 | Self::LatencyP99 if value < 1.0 => {
                format!("{:.0} ms", value * 1000.0)
            }
            Self::LatencyP50 | Self::LatencyP95 | Self::LatencyP99 => format!("{value:.2} s"),
            Self::Cost => format!("${value:.4}"),
            Self::Tokens | Self::Requests | Self::SafetyViolations => format!("{value:.0}"),
            Self::ServerQueue => format!("{:.1} %", value * 100.0),
            Self::ServerMemory | Self::ServerStore => format!("{:.1} MiB", value / 1_048_576.0),
            Self::ServerCpu => format!("{value:.2} cores"),
            Self::Metric => format!("{value}"),
            Self::BurnRate => format!("{value:.1}×"),
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Values above the thresholds are bad (errors, latency, cost).
    Above,
    /// Values below the thresholds are bad (a success rate, a request count that stops).
    Below,
}

impl Direction {
    /// Whether `value` is past `threshold` on the bad side (reaching it counts).
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Above => value >= threshold,
            Self::Below => value <= threshold,
        }
    }
}

/// A dimension a rule can keep one alert per value of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Dimension {
    /// `service.name`.
    Service,
    /// The responding model, else the requested one.
    Model,
    /// The provider.
    Provider,
    /// The agent.
    Agent,
    /// The tool.
    Tool,
    /// The end user.
    User,
    /// The framework.
    Framework,
    /// The MCP server a tool call or MCP operation went to.
    McpServer,
}

impl Dimension {
    /// The name written in rules and used as the label of alerts.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Model => "model",
            Self::Provider => "provider",
            Self::Agent => "agent",
            Self::Tool => "tool",
            Self::User => "user",
            Self::Framework => "framework",
            Self::McpServer => "mcp_server",
        }
    }
}

/// Which spans a rule measures: every field that is set must match.
///
/// Written as a table (`scope = { agent = "support", kind = "tool" }`) or in the filter
/// syntax of the whole product (docs/search.md) limited to what rollups keep: `field:value`
/// terms of the fields below, joined by spaces (`scope = "agent:support kind:tool"`;
/// [`Scope::parse`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Scope {
    /// `service.name`.
    pub service: Option<String>,
    /// The model (requested or responding).
    pub model: Option<String>,
    /// The provider.
    pub provider: Option<String>,
    /// The agent.
    pub agent: Option<String>,
    /// The tool.
    pub tool: Option<String>,
    /// The end user.
    pub user: Option<String>,
    /// The framework.
    pub framework: Option<String>,
    /// The MCP server a tool call or MCP operation went to (`agentrace.mcp.server`).
    pub mcp_server: Option<String>,
    /// The span kind (`llm`, `tool`, `agent`, …); unset: the measure's default
    /// ([`Measure::default_kind`]).
    pub kind: Option<String>,
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(scope_query::ScopeVisitor)
    }
}

impl Scope {
    /// The spans of both scopes: every field set in either; `None` when they set one field to
    /// two values (no span is in both).
    pub fn and(&self, other: &Self) -> Option<Self> {
        fn both(a: &Option<String>, b: &Option<String>) -> Option<Option<String>> {
            match (a, b) {
                (Some(x), Some(y)) if x != y => None,
                _ => Some(a.clone().or_else(|| b.clone())),
            }
        }
        Some(Self {
            service: both(&self.service, &other.service)?,
            model: both(&self.model, &other.model)?,
            provider: both(&self.provider, &other.provider)?,
            agent: both(&self.agent, &other.agent)?,
            tool: both(&self.tool, &other.tool)?,
            user: both(&self.user, &other.user)?,
            framework: both(&self.framework, &other.framework)?,
            mcp_server: both(&self.mcp_server, &other.mcp_server)?,
            kind: both(&self.kind, &other.kind)?,
        })
    }

    /// The set fields as `name=value` pairs, in declaration order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("service", &self.service),
            ("model", &self.model),
            ("provider", &self.provider),
            ("agent", &self.agent),
            ("tool", &self.tool),
            ("user", &self.user),
            ("framework", &self.framework),
            ("mcp_server", &self.mcp_server),
            ("kind", &self.kind),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// What becomes of a window without data (no matching span, for a measure undefined over
/// nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// The state `NO_DATA`, notified like any other change.
    #[default]
    NoData,
    /// `OK`: silence is fine (a rule on a rarely used tool).
    Ok,
    /// `ALERT`: silence is itself the problem.
    Alert,
}

/// Where an anomaly rule's baseline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "baseline", rename_all = "snake_case", deny_unknown_fields)]
pub enum Anomaly {
    /// The same window at the same time of day on each of the past `days` days: for measures
    /// with a daily rhythm (traffic, cost per hour).
    SameTimeOfDay {
        /// Days to look back (default 7).
        #[serde(default = "default_days")]
        days: u32,
    },
    /// The `periods` windows right before this one: a rolling z-score.
    Rolling {
        /// Windows to look back (default 12).
        #[serde(default = "default_periods")]
        periods: u32,
    },
}

const fn default_days() -> u32 {
    7
}

const fn default_periods() -> u32 {
    12
}

impl Anomaly {
    /// The baseline windows, as offsets back from the current window's start: each one has
    /// the rule's window length and starts this long before the current window starts.
    pub fn offsets(self, window: Duration) -> Vec<Duration> {
        match self {
            Self::SameTimeOfDay { days } => (1..=days)
                .map(|d| Duration::from_secs(86_400 * u64::from(d)))
                .collect(),
            Self::Rolling { periods } => (1..=periods).map(|p| window * p).collect(),
        }
    }

    /// How the baseline is described in notifications.
    pub fn describe(self) -> String {
        match self {
            Self::SameTimeOfDay { days } => format!("the same time on the past {days} days"),
            Self::Rolling { periods } => format!("the {periods} windows before"),
        }
    }
}

/// One alert rule, as written in the alerts file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Rule {
    /// Unique name; the alert's name in every channel.
    pub name: String,
    /// What it measures.
    pub measure: Measure,
    /// Which spans.
    #[serde(default)]
    pub scope: Scope,
    /// Keep one alert per value of this dimension (e.g. one per model); unset: one alert.
    #[serde(default)]
    pub per: Option<Dimension>,
    /// For `measure = "metric"`: the metric's name, as received.
    #[serde(default)]
    pub metric: Option<String>,
    /// For `measure = "metric"`: how its points combine over the window (default `avg`).
    #[serde(default)]
    pub aggregate: Option<Aggregate>,
    /// For `measure = "metric"`: one alert per value of this label of the metric
    /// (`host.name`).
    #[serde(default)]
    pub per_label: Option<String>,
    /// For `score_mean` and `score_pass_rate`: the score's name.
    #[serde(default)]
    pub score: Option<String>,
    /// For `burn_rate`: the SLO's name (`[[slos]]`).
    #[serde(default)]
    pub slo: Option<String>,
    /// For `burn_rate`: the short window, which must burn as fast as `window` (whole minutes,
    /// shorter than `window`).
    #[serde(default, with = "agentrace_core::serde_duration::option")]
    pub short_window: Option<Duration>,
    /// The window measured, ending now (whole minutes; at least one).
    #[serde(with = "agentrace_core::serde_duration")]
    pub window: Duration,
    /// Fewer spans than this in the window: not judged, the state is `OK` (no alert on one
    /// failure out of two calls).
    #[serde(default)]
    pub min_requests: u64,
    /// The warning threshold (for an anomaly rule: in standard deviations from the baseline).
    #[serde(default)]
    pub warning: Option<f64>,
    /// The critical threshold (for an anomaly rule: in standard deviations).
    #[serde(default)]
    pub critical: Option<f64>,
    /// Which side is bad; unset: [`Measure::default_direction`].
    #[serde(default)]
    pub direction: Option<Direction>,
    /// Judge the measure against its own baseline instead of fixed values.
    #[serde(default)]
    pub anomaly: Option<Anomaly>,
    /// What a window without data means.
    #[serde(default)]
    pub no_data: NoData,
    /// Repeat the notification of a firing alert this often; unset: the file's `renotify`.
    #[serde(default, with = "agentrace_core::serde_duration::option")]
    pub renotify: Option<Duration>,
    /// Send to these channels only; unset: to every channel.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// A line for people, carried in every notification.
    #[serde(default)]
    pub description: Option<String>,
}

/// A rule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert rule {rule:?}: {reason}")]
#[non_exhaustive]
pub struct RuleError {
    /// The rule's name.
    pub rule: String,
    /// What is wrong.
    pub reason: String,
}

/// Baseline windows an anomaly rule needs before it judges anything.
pub const MIN_BASELINE_POINTS: usize = 3;

impl Rule {
    /// A rule on `measure` over `window`, with no thresholds yet.
    pub fn new(name: impl Into<String>, measure: Measure, window: Duration) -> Self {
        Self {
            name: name.into(),
            measure,
            scope: Scope::default(),
            per: None,
            metric: None,
            aggregate: None,
            per_label: None,
            score: None,
            slo: None,
            short_window: None,
            window,
            min_requests: 0,
            warning: None,
            critical: None,
            direction: None,
            anomaly: None,
            no_data: NoData::default(),
            renotify: None,
            channels: None,
            description: None,
        }
    }

    /// Sets the warning threshold.
    #[must_use]
    pub fn warning(mut self, threshold: f64) -> Self {
        self.warning = Some(threshold);
        self
    }

    /// Sets the critical threshold.
    #[must_use]
    pub fn critical(mut self, threshold: f64) -> Self {
        self.critical = Some(threshold);
        self
    }

    /// Keeps one alert per value of `dimension`.
    #[must_use]
    pub fn per(mut self, dimension: Dimension) -> Self {
        self.per = Some(dimension);
        self
    }

    /// Sets the scope.
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the minimum request count.
    #[must_use]
    pub fn min_requests(mut self, n: u64) -> Self {
        self.min_requests = n;
        self
    }

    /// Judges against a baseline.
    #[must_use]
    pub fn anomaly(mut self, anomaly: Anomaly) -> Self {
        self.anomaly = Some(anomaly);
        self
    }

    /// Sets what no data means.
    #[must_use]
    pub fn no_data(mut self, no_data: NoData) -> Self {
        self.no_data = no_data;
        self
    }

    /// Measures the received metric `name`, combined as `aggregate`.
    #[must_use]
    pub fn metric(mut self, name: impl Into<String>, aggregate: Aggregate) -> Self {
        self.metric = Some(name.into());
        self.aggregate = Some(aggregate);
        self
    }

    /// Measures the score `name` (a `score_mean` or `score_pass_rate` rule).
    #[must_use]
    pub fn score(mut self, name: impl Into<String>) -> Self {
        self.score = Some(name.into());
        self
    }

    /// Measures how fast the SLO `name` burns its budget over the window and over `short`
    /// (a `burn_rate` rule).
    #[must_use]
    pub fn slo(mut self, name: impl Into<String>, short: Duration) -> Self {
        self.slo = Some(name.into());
        self.short_window = Some(short);
        self
    }

    /// Sets the direction.
    #[must_use]
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = Some(direction);
        self
    }

    /// The label alerts are split by: the `per` dimension's name, or a metric rule's
    /// `per_label`; `None`: one alert.
    pub fn split_label(&self) -> Option<&str> {
        self.per.map(Dimension::name).or(self.per_label.as_deref())
    }

    /// The direction in effect.
    pub fn effective_direction(&self) -> Direction {
        self.direction
            .unwrap_or_else(|| self.measure.default_direction())
    }

    /// Whether it is bad when a count or a sum is low (`no traffic`: requests below 1): time
    /// no one observed reads as such an outage, so it is judged only on a window observed
    /// whole ([`Engine::observing_since`](crate::Engine::observing_since)).
    pub fn judges_absence(&self) -> bool {
        self.measure.defined_when_empty() && self.effective_direction() == Direction::Below
    }

    /// The span kind in effect.
    pub fn effective_kind(&self) -> Option<&str> {
        self.scope
            .kind
            .as_deref()
            .or_else(|| self.measure.default_kind())
    }

    /// Checks the rule: a name, a threshold, thresholds in the right order, a window of whole
    /// minutes, sensible anomaly settings.
    pub fn validate(&self) -> Result<(), RuleError> {
        let fail = |reason: String| RuleError {
            rule: self.name.clone(),
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(fail("the name is empty".into()));
        }
        if self.warning.is_none() && self.critical.is_none() && self.no_data != NoData::Alert {
            return Err(fail(
                "set `warning`, `critical` or both (or `no_data = \"alert\"`)".into(),
            ));
        }
        for (name, value) in [("warning", self.warning), ("critical", self.critical)] {
            if value.is_some_and(|v| !v.is_finite()) {
                return Err(fail(format!("`{name}` is not a finite number")));
            }
            if self.anomaly.is_some() && value.is_some_and(|v| v <= 0.0) {
                return Err(fail(format!(
                    "`{name}` of an anomaly rule is a number of standard deviations, above 0"
                )));
            }
        }
        if let (Some(w), Some(c)) = (self.warning, self.critical) {
            let ordered = match (self.anomaly, self.effective_direction()) {
                (Some(_), _) | (None, Direction::Above) => w < c,
                (None, Direction::Below) => w > c,
            };
            if !ordered {
                return Err(fail(format!(
                    "`warning` ({w}) must be reached before `critical` ({c})"
                )));
            }
        }
        if self.window < Duration::from_secs(60) || !self.window.as_secs().is_multiple_of(60) {
            return Err(fail(format!(
                "`window` must be whole minutes, at least 1m (got {})",
                agentrace_core::serde_duration::text(self.window)
            )));
        }
        match self.anomaly {
            Some(Anomaly::SameTimeOfDay { days }) if !(3..=28).contains(&days) => {
                return Err(fail(format!("`days` must be 3 to 28 (got {days})")));
            }
            Some(Anomaly::Rolling { periods }) if !(3..=1_000).contains(&periods) => {
                return Err(fail(format!("`periods` must be 3 to 1000 (got {periods})")));
            }
            _ => {}
        }
        match (self.measure, &self.metric) {
            (Measure::Metric, None) => {
                return Err(fail(
                    "`measure = \"metric\"` needs `metric`, the metric's name".into(),
                ));
            }
            (Measure::Metric, Some(_)) if self.per.is_some() => {
                return Err(fail(
                    "a metric rule splits by a label of the metric: `per_label`, not `per`".into(),
                ));
            }
            (m, _)
                if m != Measure::Metric
                    && (self.metric.is_some()
                        || self.aggregate.is_some()
                        || self.per_label.is_some()) =>
            {
                return Err(fail(
                    "`metric`, `aggregate` and `per_label` are for `measure = \"metric\"`".into(),
                ));
            }
            (m, _) if m.is_server() && (self.per.is_some() || self.scope != Scope::default()) => {
                return Err(fail(format!(
                    "{m} is about the server: no `scope` nor `per`"
                )));
            }
            _ => {}
        }
        match (self.measure.is_score(), &self.score) {
            (true, None) => {
                return Err(fail(format!(
                    "`measure = \"{}\"` needs `score`, the score's name",
                    self.measure
                )));
            }
            (true, Some(_))
                if self.per.is_some_and(|d| {
                    !matches!(d, Dimension::Model | Dimension::Agent | Dimension::Service)
                }) =>
            {
                return Err(fail(
                    "a score rule splits by the judged span's model, agent or service".into(),
                ));
            }
            (true, Some(_)) if self.scope != Scope::default() => {
                return Err(fail(
                    "a score rule takes no `scope`: it measures every score of its name".into(),
                ));
            }
            (false, Some(_)) => {
                return Err(fail(
                    "`score` is for `measure = \"score_mean\"` and `\"score_pass_rate\"`".into(),
                ));
            }
            _ => {}
        }
        self.validate_burn_rate().map_err(fail)?;
        if self.renotify.is_some_and(|r| r < Duration::from_secs(60)) {
            return Err(fail("`renotify` must be at least 1m".into()));
        }
        Ok(())
    }
}

impl Rule {
    /// A `burn_rate` rule names its SLO and a short window shorter than its window, and takes
    /// its scope from the SLO; no other rule names either.
    fn validate_burn_rate(&self) -> Result<(), String> {
        if self.measure != Measure::BurnRate {
            return match (&self.slo, self.short_window) {
                (None, None) => Ok(()),
                _ => Err("`slo` and `short_window` are for `measure = \"burn_rate\"`".into()),
            };
        }
        let (Some(_), Some(short)) = (&self.slo, self.short_window) else {
            return Err(
                "`measure = \"burn_rate\"` needs `slo`, the SLO's name, and `short_window`".into(),
            );
        };
        if short < Duration::from_secs(60)
            || !short.as_secs().is_multiple_of(60)
            || short >= self.window
        {
            return Err(format!(
                "`short_window` must be whole minutes, at least 1m and shorter than `window` (got {})",
                agentrace_core::serde_duration::text(short)
            ));
        }
        if self.per.is_some() || self.scope != Scope::default() || self.anomaly.is_some() {
            return Err(
                "a burn_rate rule takes its scope from its SLO: no `scope`, `per` nor `anomaly`"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule::new("errors", Measure::ErrorRate, Duration::from_secs(300))
    }

    #[test]
    fn a_rule_needs_a_threshold_in_order_and_whole_minutes() {
        assert!(rule().validate().is_err());
        assert!(rule().warning(0.05).critical(0.2).validate().is_ok());
        let reversed = rule().warning(0.2).critical(0.05).validate();
        assert!(reversed.is_err_and(|e| e.reason.contains("before")));
        let below = Rule::new("tools", Measure::ToolSuccessRate, Duration::from_secs(600))
            .warning(0.95)
            .critical(0.8);
        assert_eq!(below.validate(), Ok(()));
        let mut odd = rule().critical(0.1);
        odd.window = Duration::from_secs(90);
        assert!(
            odd.validate()
                .is_err_and(|e| e.reason.contains("whole minutes"))
        );
        let silent = rule().no_data(NoData::Alert);
        assert_eq!(silent.validate(), Ok(()));
        let sigma = rule()
            .anomaly(Anomaly::Rolling { periods: 12 })
            .critical(-1.0);
        assert!(sigma.validate().is_err());
    }

    #[test]
    fn burn_rate_rules_name_their_slo_and_a_shorter_window() {
        let hour = Duration::from_secs(3_600);
        let burn = || Rule::new("burn", Measure::BurnRate, hour).critical(14.4);
        let five = Duration::from_secs(300);
        assert_eq!(burn().slo("runs", five).validate(), Ok(()));
        for (rule, says) in [
            (burn(), "needs `slo`"),
            (burn().slo("runs", hour), "shorter than `window`"),
            (burn().slo("runs", Duration::from_secs(90)), "whole minutes"),
            (
                burn().slo("runs", five).per(Dimension::Agent),
                "scope from its SLO",
            ),
            (rule().critical(0.1).slo("runs", five), "are for"),
        ] {
            let error = rule.validate().err().map(|e| e.reason).unwrap_or_default();
            assert!(error.contains(says), "{error:?} should say {says:?}");
        }
        assert_eq!(Measure::BurnRate.format(14.44), "14.4×");
    }

    #[test]
    fn score_rules_name_their_score_and_split_by_what_it_judged() {
        let minute = Duration::from_secs(60);
        let low = Rule::new("helpful", Measure::ScoreMean, minute).warning(0.6);
        assert!(
            low.validate()
                .is_err_and(|e| e.reason.contains("needs `score`"))
        );
        let low = low.score("helpfulness").min_requests(20);
        assert_eq!(low.validate(), Ok(()));
        assert_eq!(low.effective_direction(), Direction::Below);
        assert_eq!(low.effective_kind(), None);
        assert_eq!(low.clone().per(Dimension::Model).validate(), Ok(()));
        assert!(low.clone().per(Dimension::User).validate().is_err());
        let scoped = low.clone().scope(Scope {
            model: Some("gpt-4o".into()),
            ..Scope::default()
        });
        assert!(scoped.validate().is_err());
        assert!(
            Rule::new("e", Measure::ErrorRate, minute)
                .critical(0.1)
                .score("x")
                .validate()
                .is_err()
        );
        assert_eq!(Measure::ScorePassRate.format(0.925), "92.5 %");
    }

    #[test]
    fn metric_and_server_rules_take_their_own_fields_only() {
        let minute = Duration::from_secs(60);
        let cpu = Rule::new("cpu", Measure::Metric, minute).critical(0.9);
        assert!(
            cpu.validate()
                .is_err_and(|e| e.reason.contains("needs `metric`"))
        );
        let cpu = cpu.metric("process.cpu.utilization", Aggregate::Avg);
        assert_eq!(cpu.validate(), Ok(()));
        assert!(cpu.clone().per(Dimension::Model).validate().is_err());
        let mut stray = Rule::new("errors", Measure::ErrorRate, minute).critical(0.1);
        stray.per_label = Some("host.name".into());
        assert!(stray.validate().is_err());
        let queue = Rule::new("queue", Measure::ServerQueue, minute).critical(0.8);
        assert_eq!(queue.validate(), Ok(()));
        assert!(queue.per(Dimension::Agent).validate().is_err());
    }

    #[test]
    fn anomaly_baselines_look_back_by_day_or_by_window() {
        let hour = Duration::from_secs(3600);
        assert_eq!(
            Anomaly::SameTimeOfDay { days: 3 }.offsets(hour),
            [1, 2, 3].map(|d| Duration::from_secs(86_400 * d))
        );
        assert_eq!(
            Anomaly::Rolling { periods: 2 }.offsets(hour),
            [hour, hour * 2]
        );
    }

    #[test]
    fn rules_read_from_toml() -> Result<(), toml::de::Error> {
        let rule: Rule = toml::from_str(
            r#"
            name = "slow gpt-4o"
            measure = "latency_p95"
            window = "10m"
            per = "agent"
            min_requests = 20
            warning = 2.0
            critical = 5.0
            scope = { model = "gpt-4o", service = "support" }
            anomaly = { baseline = "same_time_of_day", days = 7 }
            "#,
        )?;
        assert_eq!(rule.window, Duration::from_secs(600));
        assert_eq!(rule.per, Some(Dimension::Agent));
        assert_eq!(
            rule.scope.pairs(),
            [("service", "support"), ("model", "gpt-4o")]
        );
        assert_eq!(rule.anomaly, Some(Anomaly::SameTimeOfDay { days: 7 }));
        let typo = toml::from_str::<Rule>("name='x'\nmeasure='cost'\nwindow='1m'\ncritcal=1.0");
        assert!(typo.is_err());
        Ok(())
    }
}
