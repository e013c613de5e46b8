//! What a store reports it changed beyond the records it was given: spans whose attribution a
//! later write completed, repairs, new costs, changes to the past, and the alert history it
//! keeps.

use std::time::Duration;

use agentrace_core::{Attribution, Cost, SpanId, TraceId, Usd};

/// How far back the data a write changes must reach for the write to be a change of the past
/// ([`Repairs::past_changes`](crate::Repairs::past_changes)): a span of a trace that
/// started earlier, a score given earlier, a repriced call, a repair, a purge. Whoever keeps
/// counts of hours (the server's SLOs) keeps only hours that ended longer ago than this.
pub const PAST: Duration = Duration::from_secs(30 * 60);

/// What the writes after a cursor changed of the past, as
/// [`Repairs::past_changes`](crate::Repairs::past_changes) reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PastChanges {
    /// The cursor to give next.
    pub cursor: u64,
    /// The earliest and the latest instant (ns since the epoch) of the data they changed:
    /// every count over a range that meets it may have changed. `None`: nothing changed.
    pub range: Option<(u64, u64)>,
}

impl PastChanges {
    /// Changes of `range`, the next read after `cursor`.
    pub const fn new(cursor: u64, range: Option<(u64, u64)>) -> Self {
        Self { cursor, range }
    }
}

/// A stored span whose inherited fields a later write filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateAttribution {
    /// The span's trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// Its values before.
    pub before: Attribution,
    /// Its values now.
    pub after: Attribution,
    /// Its model (response model, else request model).
    pub model: Option<String>,
    /// Its cost (`None`: unpriced or not billable).
    pub cost: Option<Usd>,
    /// Its start.
    pub start_time_unix_nano: u64,
}

/// What [`Repairs::repair_spans`](crate::Repairs::repair_spans) changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// The spans rewritten.
    pub changed: usize,
    /// Stored spans whose attribution their new ancestors completed (the re-parented spans
    /// and their subtrees), for what the caller keeps outside the store (budgets, a live feed).
    pub attributed: Vec<LateAttribution>,
}

/// A new cost for one stored span (`None`: unpriced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostUpdate {
    /// The span's trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// Its new cost.
    pub cost: Option<Cost>,
}

/// One notification an alert engine sent, as the store keeps it: its identity in fields to
/// query by, the whole notification as the engine wrote it (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlertRecord {
    /// When it was evaluated (ns since the epoch).
    pub time_unix_nano: u64,
    /// The alert (a rule, with its per-dimension value).
    pub alert: String,
    /// The rule.
    pub rule: String,
    /// The state it reports.
    pub state: String,
    /// The state before.
    pub previous: String,
    /// Why it was sent (`change`, `reminder`).
    pub reason: String,
    /// The notification, as JSON.
    pub body: String,
}

impl AlertRecord {
    /// A record of a notification.
    pub fn new(
        time_unix_nano: u64,
        alert: impl Into<String>,
        rule: impl Into<String>,
        state: impl Into<String>,
        previous: impl Into<String>,
        reason: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self {
            time_unix_nano,
            alert: alert.into(),
            rule: rule.into(),
            state: state.into(),
            previous: previous.into(),
            reason: reason.into(),
            body: body.into(),
        }
    }
}
