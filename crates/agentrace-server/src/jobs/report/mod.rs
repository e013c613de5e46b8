//! The report of a period (docs/slos.md, "The report"): SLO attainment and the budget spent,
//! cost by agent, model and user against the period before, the top failures and the slowest
//! tools with an example trace each, budget overruns, the alerts that fired, and the tools
//! whose health changed.
//!
//! One [`Report`] is gathered from the store ([`gather`], a [`Section`] at a time so that a
//! client can show its progress over a long range) and written as JSON (`GET /api/v1/report`),
//! as a self-contained HTML page ([`html`], charts drawn into the file as SVG) or as Markdown
//! ([`markdown`]): the API, the CLI (`agentrace report`) and the scheduled report all render the
//! same figures with the same code.

mod gather;
pub mod html;
pub mod markdown;
mod page;
pub mod schedule;
mod svg;
pub mod text;

use agentrace_alerts::slo::{BudgetPoint, Counts};
use agentrace_core::{SpanId, TraceId, Usd};
use agentrace_store::Percentiles;
use serde::{Deserialize, Serialize};

pub use gather::gather;

use crate::jobs::tool_health::Grade;

/// A part of the report, gathered on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Section {
    /// Runs, calls, failures and cost, against the period before.
    Totals,
    /// Each SLO's attainment and budget.
    Slos,
    /// Cost by agent, model and user, and by day.
    Cost,
    /// The runs and calls that failed most.
    Failures,
    /// The slowest tools and the tools whose health changed.
    Tools,
    /// Budget overruns and the alerts that fired.
    Alerts,
}

impl Section {
    /// Every section, in the report's order.
    pub const ALL: [Self; 6] = [
        Self::Totals,
        Self::Slos,
        Self::Cost,
        Self::Failures,
        Self::Tools,
        Self::Alerts,
    ];

    /// Its name in the API (`section=cost`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Totals => "totals",
            Self::Slos => "slos",
            Self::Cost => "cost",
            Self::Failures => "failures",
            Self::Tools => "tools",
            Self::Alerts => "alerts",
        }
    }

    /// The section named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The report of one period: the sections gathered (a section not asked for is `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The period's start (ns since the epoch).
    pub from_unix_nano: u64,
    /// Its end.
    pub to_unix_nano: u64,
    /// When it was gathered.
    pub generated_unix_nano: u64,
    /// Runs, calls, failures and cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    /// The SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slos: Option<Vec<SloLine>>,
    /// Cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostSection>,
    /// What failed most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<Failure>>,
    /// Tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolsSection>,
    /// Budgets and alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertsSection>,
}

impl Report {
    /// The period before, as long as this one and ending where it starts.
    pub const fn previous(&self) -> (u64, u64) {
        let width = self.to_unix_nano.saturating_sub(self.from_unix_nano);
        (
            self.from_unix_nano.saturating_sub(width),
            self.from_unix_nano,
        )
    }

    /// Takes the sections `other` has (a report of the same period gathered a part at a time).
    pub fn merge(&mut self, other: Self) {
        self.generated_unix_nano = self.generated_unix_nano.max(other.generated_unix_nano);
        self.totals = other.totals.or(self.totals.take());
        self.slos = other.slos.or(self.slos.take());
        self.cost = other.cost.or(self.cost.take());
        self.failures = other.failures.or(self.failures.take());
        self.tools = other.tools.or(self.tools.take());
        self.alerts = other.alerts.or(self.alerts.take());
    }
}

/// Runs, calls, failures and cost of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Spans of every kind.
    pub spans: u64,
    /// Agent runs.
    pub agent_runs: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Failed spans.
    pub errors: u64,
    /// Cost of the priced calls; `None` when none was priced.
    pub cost: Option<Usd>,
    /// Billable calls without a price (their cost is not in `cost`).
    pub unpriced: u64,
}

/// The period's activity and the period before's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// This period.
    pub this: Activity,
    /// The period before.
    pub previous: Activity,
}

/// One SLO over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloLine {
    /// Its name.
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<String>,
    /// The share promised.
    pub objective: f64,
    /// Its window (a calendar period's nominal length: a month is 30 days).
    #[serde(with = "agentrace_core::serde_duration")]
    pub window: std::time::Duration,
    /// The period's good and total events.
    pub counts: Counts,
    /// Good ÷ total over the period; `None` without events.
    pub attainment: Option<f64>,
    /// The share of a window's error budget the period's bad events spent (its burn rate ×
    /// its share of the window); `None` without events.
    pub budget_spent: Option<f64>,
    /// The budget left at the period's end, over the window ending then.
    pub budget_remaining: Option<f64>,
    /// The budget left over the period, at evenly spaced times.
    pub burn_down: Vec<BudgetPoint>,
}

/// One group's cost in the period and the period before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostChange {
    /// The agent, model or user; `None` for calls without one.
    pub key: Option<String>,
    /// Billable calls in the period.
    pub calls: u64,
    /// Their cost; `None` when none was priced.
    pub cost: Option<Usd>,
    /// The cost in the period before; `None` when none was priced.
    pub previous_cost: Option<Usd>,
    /// Billable calls without a price.
    pub unpriced: u64,
}

/// The cost of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCost {
    /// The day's start (UTC midnight, ns since the epoch).
    pub start_unix_nano: u64,
    /// Billable calls.
    pub calls: u64,
    /// Their cost; `None` when none was priced.
    pub cost: Option<Usd>,
}

/// Cost by agent, model and user (the costliest, at most [`TOP`] each), and by day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostSection {
    /// By agent.
    pub by_agent: Vec<CostChange>,
    /// By model.
    pub by_model: Vec<CostChange>,
    /// By end user.
    pub by_user: Vec<CostChange>,
    /// By day, oldest first (days with calls).
    pub daily: Vec<DayCost>,
}

/// Rows of a ranking at most.
pub const TOP: usize = 10;

/// A run or call to look at: one trace of a failure or a slow tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Its trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// The span's name.
    pub name: String,
    /// When it started.
    pub start_unix_nano: u64,
    /// How long it took.
    pub duration_ns: u64,
    /// Its error message, if it failed with one.
    pub error: Option<String>,
}

/// Failures of one agent's runs, one model's calls or one tool's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// `agent`, `llm` or `tool`.
    pub kind: String,
    /// The agent, model or tool; `None` for spans without one.
    pub name: Option<String>,
    /// Failed runs or calls.
    pub failures: u64,
    /// All of them.
    pub total: u64,
    /// The newest failure.
    pub example: Option<Example>,
}

/// A tool's calls, by how long they took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowTool {
    /// The tool.
    pub tool: Option<String>,
    /// Its MCP server, if it is on one.
    pub mcp_server: Option<String>,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Duration percentiles.
    pub duration: Percentiles,
    /// A call at least as long as the p95.
    pub example: Option<Example>,
}

/// A tool whose health moved between the period before and this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthChange {
    /// The tool.
    pub tool: Option<String>,
    /// Its MCP server, if it is on one.
    pub mcp_server: Option<String>,
    /// Its score in the period before; `None` when it was not called then.
    pub before: Option<u8>,
    /// Its grade then.
    pub grade_before: Option<Grade>,
    /// Its score in this period.
    pub now: u8,
    /// Its grade now.
    pub grade_now: Grade,
    /// What stands out now, in plain words.
    pub recommendations: Vec<String>,
}

/// The slowest tools (by p95, at most [`TOP`]) and the tools whose grade changed or whose
/// score moved by [`HEALTH_MOVE`] or more, the worst move first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolsSection {
    /// The slowest.
    pub slowest: Vec<SlowTool>,
    /// The changes.
    pub health_changes: Vec<HealthChange>,
}

/// The smallest move of a tool's health score the report names.
pub const HEALTH_MOVE: u8 = 10;

/// An alert's notifications in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLine {
    /// The alert.
    pub alert: String,
    /// Its measure (`budget_spend` for a budget).
    pub measure: String,
    /// How many times it went into `ALERT` or `WARNING`.
    pub fired: u64,
    /// The worst state it reached: `ALERT` or `WARNING`.
    pub worst: String,
    /// When it first fired in the period.
    pub first_unix_nano: u64,
    /// The last firing notification's summary.
    pub summary: String,
}

/// Budget overruns and the other alerts that fired, the most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsSection {
    /// Budgets that crossed a threshold.
    pub budgets: Vec<AlertLine>,
    /// The other alerts.
    pub alerts: Vec<AlertLine>,
    /// Notifications read; the history holds more than the report reads when this reaches
    /// [`MAX_NOTIFICATIONS`].
    pub notifications: u64,
}

/// Notifications a report reads at most.
pub const MAX_NOTIFICATIONS: usize = 20_000;
