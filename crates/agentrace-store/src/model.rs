//! The query API's types: what is asked (filters, queries) and what comes back (pages, trees,
//! aggregates). All serialize with serde, for the HTTP server.
//!
//! None is `#[non_exhaustive]`, on purpose: they are the vocabulary every store answers, so a
//! new filter field, order or grouping is a compile error in every store until it handles it.

use std::collections::BTreeMap;
use std::fmt;

use agentrace_core::normalize::is_aggregate;
use agentrace_core::{Event, Level, SpanId, SpanKind, SpanRecord, TokenUsage, TraceId, Usd};
use serde::{Deserialize, Serialize};

use crate::changes::LateAttribution;
use crate::error::QueryError;
use crate::series::Percentiles;
use crate::time_range::TimeRange;

/// Generates chained setters for `Option<String>` fields.
macro_rules! string_setters {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

/// Generates chained setters; the value is converted into the field (`T` into `Option<T>`).
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $field(mut self, value: $ty) -> Self {
                self.$field = value.into();
                self
            }
        )*
    };
}

/// Success or failure, as a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Failed (status code `error`); for traces: at least one span failed.
    Error,
    /// Did not fail (status `ok` or unset); for traces: no span failed.
    Ok,
}

/// An opaque pagination cursor: pass back the `next_cursor` of a page to get the next one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor's text, e.g. for a URL query parameter.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Cursor {
    /// Wraps text received from a client; it is validated when used.
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which spans to consider. Every field that is set must match (AND); the default matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpanFilter {
    /// Span start within this range.
    pub range: TimeRange,
    /// Spans of this trace.
    pub trace_id: Option<TraceId>,
    /// `service.name`.
    pub service: Option<String>,
    /// Span kind.
    pub kind: Option<SpanKind>,
    /// Requested **or** responding model.
    pub model: Option<String>,
    /// Provider.
    pub provider: Option<String>,
    /// Agent name.
    pub agent: Option<String>,
    /// Session id.
    pub session: Option<String>,
    /// End-user id.
    pub user: Option<String>,
    /// Framework.
    pub framework: Option<String>,
    /// Tool name.
    pub tool: Option<String>,
    /// The MCP server a tool call or MCP operation went to (`agentrace.mcp.server`).
    pub mcp_server: Option<String>,
    /// Failed or not.
    pub status: Option<StatusFilter>,
    /// Duration at least this long.
    pub min_duration_ns: Option<u64>,
    /// Name contains this text (case-insensitive for ASCII).
    pub name_contains: Option<String>,
    /// `true`: billable spans only (priced, or unpriced: an LLM or embedding call, or reporting
    /// input or output tokens); `false`: the others.
    pub billable: Option<bool>,
    /// A resource attribute the span's resource carries (Phoenix's project is one).
    pub resource_attribute: Option<ResourceAttribute>,
}

impl SpanFilter {
    /// Matches every span.
    pub fn new() -> Self {
        Self::default()
    }

    setters!(
        /// Sets the time range.
        range: TimeRange,
        /// Sets the trace.
        trace_id: TraceId,
        /// Sets the kind.
        kind: SpanKind,
        /// Sets the status.
        status: StatusFilter,
        /// Sets the minimum duration.
        min_duration_ns: u64,
        /// Keeps billable spans only (`true`) or the others (`false`).
        billable: bool,
        /// Keeps the spans whose resource carries an attribute.
        resource_attribute: ResourceAttribute,
    );

    string_setters!(
        /// Sets the service.
        service,
        /// Sets the model (requested or responding).
        model,
        /// Sets the provider.
        provider,
        /// Sets the agent name.
        agent,
        /// Sets the session.
        session,
        /// Sets the user.
        user,
        /// Sets the framework.
        framework,
        /// Sets the tool name.
        tool,
        /// Sets the MCP server.
        mcp_server,
        /// Sets the text the name must contain.
        name_contains,
    );
}

/// A string attribute of a span's resource, for [`SpanFilter::resource_attribute`]: the key
/// is compared whole (a dotted key is one key, not a path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAttribute {
    /// The attribute's key, e.g. `openinference.project.name`.
    pub key: String,
    /// The string value it must have.
    pub value: String,
    /// Whether a resource without the key matches too (Phoenix's `default` project holds the
    /// spans that name no project).
    #[serde(default)]
    pub or_absent: bool,
}

impl ResourceAttribute {
    /// Resources whose `key` is `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            or_absent: false,
        }
    }

    /// Resources whose `key` is `value`, or that lack `key`.
    #[must_use]
    pub fn or_absent(mut self) -> Self {
        self.or_absent = true;
        self
    }
}

/// Traces with a score of one name (the trace's own, or one of its spans' that names it),
/// its value within the bounds given ([`TraceFilter::score`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoreCondition {
    /// The score's name.
    pub name: String,
    /// A value at least this.
    pub min: Option<f64>,
    /// A value at most this.
    pub max: Option<f64>,
}

impl ScoreCondition {
    /// Traces with any score named `name`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            min: None,
            max: None,
        }
    }

    /// Only values from `min` to `max` (each optional).
    #[must_use]
    pub fn within(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }
}

/// The sort key of a trace by its score (the mean of its scores of the name), in millionths:
/// an integer to order and page by, as the other keys are.
pub const SCORE_KEY_SCALE: f64 = 1e6;

/// Which traces to list. Span-level fields (service, kind, model, agent, user, name) select
/// traces having **at least one** matching span; the others (range, session, status,
/// duration) apply to the trace's summary row; `score` selects traces scored so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TraceFilter {
    /// Trace start (its earliest span's start) within this range.
    pub range: TimeRange,
    /// This trace only.
    pub trace_id: Option<TraceId>,
    /// A span of this service.
    pub service: Option<String>,
    /// A span of this kind.
    pub kind: Option<SpanKind>,
    /// A span calling this model (requested or responding).
    pub model: Option<String>,
    /// A span of this agent.
    pub agent: Option<String>,
    /// The trace's session: its head span's, else the first one seen among its spans.
    pub session: Option<String>,
    /// A span of this end user.
    pub user: Option<String>,
    /// `Error`: some span failed; `Ok`: none did.
    pub status: Option<StatusFilter>,
    /// Trace duration (earliest start to latest end) at least this long.
    pub min_duration_ns: Option<u64>,
    /// A span whose name contains this text (case-insensitive for ASCII).
    pub name_contains: Option<String>,
    /// A score of this name within its bounds; the score [`TraceSort::Score`] orders by.
    pub score: Option<ScoreCondition>,
}

impl TraceFilter {
    /// Matches every trace.
    pub fn new() -> Self {
        Self::default()
    }

    setters!(
        /// Sets the time range.
        range: TimeRange,
        /// Sets the trace.
        trace_id: TraceId,
        /// Sets the kind.
        kind: SpanKind,
        /// Sets the status.
        status: StatusFilter,
        /// Sets the minimum duration.
        min_duration_ns: u64,
        /// Sets the score condition.
        score: ScoreCondition,
    );

    string_setters!(
        /// Sets the service.
        service,
        /// Sets the model.
        model,
        /// Sets the agent name.
        agent,
        /// Sets the session.
        session,
        /// Sets the user.
        user,
        /// Sets the text a span name must contain.
        name_contains,
    );

    /// Whether traces of this filter can be listed in the order `by`: the order by score ranks
    /// by the score the filter names, [`QueryError::Invalid`] when it names none.
    pub fn check_order(&self, by: TraceSort) -> Result<(), QueryError> {
        if by == TraceSort::Score && self.score.is_none() {
            return Err(QueryError::Invalid(
                "the order by score needs the name of the score to filter by".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Which events to consider. Every field that is set must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventFilter {
    /// Event time within this range.
    pub range: TimeRange,
    /// Events of this trace.
    pub trace_id: Option<TraceId>,
    /// Events of this span.
    pub span_id: Option<SpanId>,
    /// Event type name (`tool.call`, `log`, a custom name).
    pub kind: Option<String>,
    /// At least this severe.
    pub min_level: Option<Level>,
    /// `service.name`.
    pub service: Option<String>,
    /// Session id.
    pub session: Option<String>,
    /// Agent id.
    pub agent_id: Option<String>,
    /// Message contains this text (case-insensitive for ASCII).
    pub message_contains: Option<String>,
}

impl EventFilter {
    /// Matches every event.
    pub fn new() -> Self {
        Self::default()
    }

    setters!(
        /// Sets the time range.
        range: TimeRange,
        /// Sets the trace.
        trace_id: TraceId,
        /// Sets the span.
        span_id: SpanId,
        /// Sets the minimum level.
        min_level: Level,
    );

    string_setters!(
        /// Sets the event type name.
        kind,
        /// Sets the service.
        service,
        /// Sets the session.
        session,
        /// Sets the agent id.
        agent_id,
        /// Sets the text the message must contain.
        message_contains,
    );
}

/// Oldest or newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first (the default; what an export wants).
    #[default]
    Asc,
    /// Newest first (what a tail wants).
    Desc,
}

/// A page of spans: a filter, an order, a size and where to continue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpanQuery {
    /// Which spans.
    pub filter: SpanFilter,
    /// By start time, oldest or newest first.
    pub order: Order,
    /// At most this many (`None`: all).
    pub limit: Option<usize>,
    /// Continue after the page that returned this cursor.
    pub cursor: Option<Cursor>,
}

impl SpanQuery {
    /// All spans matching `filter`, oldest first.
    pub fn new(filter: SpanFilter) -> Self {
        Self {
            filter,
            ..Self::default()
        }
    }

    setters!(
        /// Sets the order.
        order: Order,
        /// Sets the page size.
        limit: usize,
        /// Continues after the page that returned `cursor` (`None`: from the start).
        cursor: Option<Cursor>,
    );
}

/// A page of events: a filter, an order, a size and where to continue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventQuery {
    /// Which events.
    pub filter: EventFilter,
    /// By time, oldest or newest first.
    pub order: Order,
    /// At most this many (`None`: all).
    pub limit: Option<usize>,
    /// Continue after the page that returned this cursor.
    pub cursor: Option<Cursor>,
}

impl EventQuery {
    /// All events matching `filter`, oldest first.
    pub fn new(filter: EventFilter) -> Self {
        Self {
            filter,
            ..Self::default()
        }
    }

    setters!(
        /// Sets the order.
        order: Order,
        /// Sets the page size.
        limit: usize,
        /// Continues after the page that returned `cursor` (`None`: from the start).
        cursor: Option<Cursor>,
    );
}

/// A page of spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanPage {
    /// The spans, in the query's order.
    pub spans: Vec<SpanRecord>,
    /// Where to continue; `None` when this was the last page.
    pub next_cursor: Option<Cursor>,
}

/// A page of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// The events, in the query's order.
    pub events: Vec<Event>,
    /// Where to continue; `None` when this was the last page.
    pub next_cursor: Option<Cursor>,
}

/// What a write did: rows added, and records already stored (a span with the same trace and
/// span id, an identical event), which are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertReport {
    /// Records stored.
    pub inserted: usize,
    /// Records skipped because they were already stored.
    pub duplicates: usize,
    /// Spans stored before whose session, user, agent or framework the written spans filled
    /// in (they are their ancestors; spans writes only).
    #[serde(skip)]
    pub attributed: Vec<LateAttribution>,
}

/// One row of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// The trace.
    pub trace_id: TraceId,
    /// The head span: the root if it was received, else the earliest span.
    pub root_span_id: SpanId,
    /// The head span's name.
    pub root_name: String,
    /// Whether a span without parent (a true root) was received.
    pub has_root: bool,
    /// The head span's service.
    pub service_name: String,
    /// Earliest span start.
    pub start_unix_nano: u64,
    /// Latest span end.
    pub end_unix_nano: u64,
    /// `end - start`.
    pub duration_ns: u64,
    /// Spans stored.
    pub span_count: u64,
    /// Spans that failed.
    pub error_count: u64,
    /// Tokens summed over the trace's spans, but for the one-hour share of cache writes, kept
    /// per span only (0 here; `cache_write_tokens` counts every cache write).
    pub usage: TokenUsage,
    /// Cost summed over priced spans; `None` when no span was priced.
    pub cost: Option<Usd>,
    /// Billable spans (LLM, embedding, or with tokens) without a price.
    pub unpriced_count: u64,
    /// Session (the head span's, else the first seen).
    pub session_id: Option<String>,
    /// Agent name (the head span's, else the first seen).
    pub agent_name: Option<String>,
    /// End user (the head span's, else the first seen).
    pub user_id: Option<String>,
    /// In a list filtered by score ([`TraceFilter::score`]): the mean of the trace's scores
    /// of the name (all of them, whatever the bounds), `None` when they have no value; `None`
    /// elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_mean: Option<f64>,
}

/// What the trace list is ordered by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceSort {
    /// When the trace was first seen (its list time, which never changes): the default, and
    /// the only order whose pages stay stable while spans arrive.
    #[default]
    Start,
    /// Duration (earliest start to latest end).
    Duration,
    /// Cost of the priced spans (traces without any priced span count as below zero).
    Cost,
    /// Input plus output tokens.
    Tokens,
    /// Number of spans.
    Spans,
    /// Number of failed spans.
    Errors,
    /// The mean of the trace's scores of the filter's score name ([`TraceFilter::score`],
    /// which it needs): its own and its spans' that name it.
    Score,
}

impl TraceSort {
    /// Every order, by name.
    pub const ALL: [(&'static str, Self); 7] = [
        ("start", Self::Start),
        ("duration", Self::Duration),
        ("cost", Self::Cost),
        ("tokens", Self::Tokens),
        ("spans", Self::Spans),
        ("errors", Self::Errors),
        ("score", Self::Score),
    ];
}

impl std::str::FromStr for TraceSort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, sort)| *sort)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!("{s:?}: expected one of {}", names.join(", "))
            })
    }
}

/// The order of the session list (and of the user list).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionSort {
    /// Most recently active first (the default).
    #[default]
    Recent,
    /// Costliest first (sessions without a priced span last).
    Cost,
}

impl std::str::FromStr for SessionSort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "recent" => Ok(Self::Recent),
            "cost" => Ok(Self::Cost),
            other => Err(format!("{other:?}: expected `recent` or `cost`")),
        }
    }
}

/// The trace list's order: a key and a direction (largest first by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceOrder {
    /// The key.
    pub by: TraceSort,
    /// Smallest first instead.
    pub ascending: bool,
}

impl TraceOrder {
    /// What a store's list cursor of this order says: a tag letter (one per key and direction,
    /// so that a cursor of one order is refused by another), the comparison that continues
    /// after the cursor, and the SQL direction.
    pub fn cursor_tag(self) -> (char, &'static str, &'static str) {
        let tag = match self.by {
            TraceSort::Start => 't',
            TraceSort::Duration => 'd',
            TraceSort::Cost => 'c',
            TraceSort::Tokens => 'k',
            TraceSort::Spans => 's',
            TraceSort::Errors => 'x',
            TraceSort::Score => 'q',
        };
        if self.ascending {
            (tag.to_ascii_uppercase(), ">", "ASC")
        } else {
            (tag, "<", "DESC")
        }
    }
}

/// A page of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracePage {
    /// Newest first.
    pub traces: Vec<TraceSummary>,
    /// Where to continue; `None` when this was the last page.
    pub next_cursor: Option<Cursor>,
}

/// How much of each span a [`TraceTree`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceDetail {
    /// Every span in full.
    Full,
    /// The spans without their span events and attributes, but
    /// [`OUTLINE_ATTRIBUTES`](crate::OUTLINE_ATTRIBUTES).
    Outline,
}

/// A span in a [`TraceTree`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceNode {
    /// The span.
    pub span: SpanRecord,
    /// Depth in the tree, 0 for roots.
    pub depth: usize,
    /// Index of the parent node in [`TraceTree::nodes`]; `None` for roots.
    pub parent: Option<usize>,
    /// Indexes of the children in [`TraceTree::nodes`], by start time.
    pub children: Vec<usize>,
    /// A root only because its parent was not received (or its parents form a cycle).
    pub orphan: bool,
    /// Given its parent by the server's repair (a detached root re-attached to the span that
    /// contains it in time), not by its emitter.
    pub reattached: bool,
    /// Totals over the span and everything beneath it.
    pub subtree: SubtreeTotals,
}

/// Sums over a span and its descendants in a [`TraceTree`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtreeTotals {
    /// Spans, the span itself included.
    pub spans: u64,
    /// Failed spans.
    pub errors: u64,
    /// Tokens (left out of the JSON when there are none).
    #[serde(default, skip_serializing_if = "TokenUsage::is_empty")]
    pub usage: TokenUsage,
    /// Cost of the priced spans; `None` when none is priced.
    pub cost: Option<Usd>,
    /// Billable spans without a price.
    pub unpriced: u64,
}

impl SubtreeTotals {
    /// Adds `other` in.
    pub fn add(&mut self, other: &Self) {
        self.spans += other.spans;
        self.errors += other.errors;
        self.usage += other.usage;
        self.cost = match (self.cost, other.cost) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.unpriced += other.unpriced;
    }

    /// The span's own contribution.
    pub fn of(span: &SpanRecord) -> Self {
        let cost = span.cost.map(|c| c.total);
        Self {
            spans: 1,
            errors: u64::from(span.is_error()),
            usage: span.usage,
            cost,
            unpriced: u64::from(is_unpriced(
                span.kind,
                &span.usage,
                cost.is_some(),
                is_aggregate(span),
            )),
        }
    }

    /// Fills `nodes[i].subtree` from the spans, children before parents (nodes are depth
    /// first, so walking them backwards visits every child before its parent).
    pub fn fill(nodes: &mut [TraceNode]) {
        for i in (0..nodes.len()).rev() {
            let mut totals = Self::of(&nodes[i].span);
            for &c in &nodes[i].children {
                if let Some(child) = nodes.get(c) {
                    totals.add(&child.subtree);
                }
            }
            nodes[i].subtree = totals;
        }
    }
}

/// Whether a span is billable but has no price: an LLM or embedding call, or any span
/// reporting tokens, whose cost is unknown, that is not an aggregate (what it reports counts
/// beneath it: docs/conventions.md, "Aggregates").
pub fn is_unpriced(kind: SpanKind, usage: &TokenUsage, priced: bool, aggregate: bool) -> bool {
    !priced
        && !aggregate
        && (matches!(kind, SpanKind::Llm | SpanKind::Embedding)
            || usage.input_tokens > 0
            || usage.output_tokens > 0)
}

/// Every span of a trace as a tree, flattened: nodes in depth-first order, each parent before
/// its children, siblings and roots by start time. Flat, so that any depth is safe to build,
/// serialize and drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceTree {
    /// The trace's summary row.
    pub summary: TraceSummary,
    /// The spans, depth first.
    pub nodes: Vec<TraceNode>,
    /// Indexes of the roots (true roots and orphans) in [`nodes`](Self::nodes).
    pub roots: Vec<usize>,
}

impl TraceTree {
    /// The children of node `index`.
    pub fn children(&self, index: usize) -> impl Iterator<Item = &TraceNode> {
        self.nodes
            .get(index)
            .into_iter()
            .flat_map(|n| n.children.iter().filter_map(|&c| self.nodes.get(c)))
    }

    /// The node holding span `span_id`.
    pub fn find(&self, span_id: SpanId) -> Option<&TraceNode> {
        self.nodes.iter().find(|n| n.span.span_id == span_id)
    }

    /// The orphans: spans whose parent is missing.
    pub fn orphans(&self) -> impl Iterator<Item = &TraceNode> {
        self.nodes.iter().filter(|n| n.orphan)
    }
}

/// One session's activity, from the summaries of its traces (a trace belongs to the session
/// of its head span, else the first one seen among its spans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// The session id.
    pub session_id: String,
    /// Traces.
    pub traces: u64,
    /// Spans.
    pub spans: u64,
    /// Failed spans.
    pub errors: u64,
    /// Tokens summed over the traces (the one-hour share of cache writes aside, as in
    /// [`TraceSummary::usage`]).
    pub usage: TokenUsage,
    /// Cost of priced spans; `None` when none was priced.
    pub cost: Option<Usd>,
    /// Billable spans without a price.
    pub unpriced: u64,
    /// Earliest span start.
    pub first_seen_unix_nano: u64,
    /// Latest span end.
    pub last_seen_unix_nano: u64,
    /// An end user of the session, if a trace names one.
    pub user_id: Option<String>,
}

/// One end user's activity, from the summaries of their traces (a trace belongs to the user
/// of its head span, else the first one seen among its spans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user id.
    pub user_id: String,
    /// Traces.
    pub traces: u64,
    /// Distinct sessions of those traces.
    pub sessions: u64,
    /// Spans.
    pub spans: u64,
    /// Failed spans.
    pub errors: u64,
    /// Tokens summed over the traces (the one-hour share of cache writes aside, as in
    /// [`TraceSummary::usage`]).
    pub usage: TokenUsage,
    /// Cost of priced spans; `None` when none was priced.
    pub cost: Option<Usd>,
    /// Billable spans without a price.
    pub unpriced: u64,
    /// Earliest span start.
    pub first_seen_unix_nano: u64,
    /// Latest span end.
    pub last_seen_unix_nano: u64,
}

/// A dimension to group spans by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The responding model, else the requested one.
    Model,
    /// Provider.
    Provider,
    /// Agent name.
    Agent,
    /// Framework.
    Framework,
    /// Span kind.
    Kind,
    /// `service.name`.
    Service,
    /// Tool name.
    Tool,
    /// Operation (`chat`, `execute_tool`, …).
    Operation,
    /// The MCP server a tool call or MCP operation went to.
    McpServer,
    /// Session.
    Session,
    /// End user.
    User,
    /// Span start, in buckets of this width (aligned on the epoch).
    TimeBucket {
        /// Bucket width in nanoseconds (> 0).
        width_ns: u64,
    },
    /// An attribute's value as text: the span's attribute of this key, else its resource's
    /// (`customer.id`, `deployment.environment`). Never answered from the rollups.
    Attribute(AttributeKey),
}

/// The key of an attribute to group by ([`GroupBy::Attribute`]): 1 to
/// [`AttributeKey::MAX_LEN`] of the characters of OpenTelemetry attribute names (ASCII
/// letters, digits, `_ . - : /`), so that it never needs quoting in a store's query. Kept
/// inline, so that a dimension stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeKey {
    len: u8,
    bytes: [u8; AttributeKey::MAX_LEN],
}

impl AttributeKey {
    /// The longest key.
    pub const MAX_LEN: usize = 64;

    /// The rule a key follows, as errors state it.
    pub const RULE: &'static str =
        "1 to 64 ASCII letters, digits and `_ . - : /`, as OpenTelemetry names attributes";

    /// `key`, if it follows [`RULE`](Self::RULE).
    ///
    /// # Errors
    /// The rule, when `key` breaks it.
    pub fn new(key: &str) -> Result<Self, String> {
        let allowed = |c: u8| c.is_ascii_alphanumeric() || b"_.-:/".contains(&c);
        if key.is_empty() || key.len() > Self::MAX_LEN || !key.bytes().all(allowed) {
            return Err(format!("{key:?} is not an attribute key: {}", Self::RULE));
        }
        let mut bytes = [0; Self::MAX_LEN];
        bytes[..key.len()].copy_from_slice(key.as_bytes());
        Ok(Self {
            len: key.len() as u8,
            bytes,
        })
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (`new`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for AttributeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for AttributeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AttributeKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AttributeKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = String::deserialize(d)?;
        Self::new(&key).map_err(serde::de::Error::custom)
    }
}

/// The value of one grouping dimension in an [`AggregateRow`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKey {
    /// A value (a model name, a kind name, …).
    Value(String),
    /// Spans without a value for this dimension.
    None,
    /// A time bucket starting at this time (ns since the epoch).
    Bucket(u64),
}

impl GroupKey {
    /// The value, for text dimensions.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(v) => f.write_str(v),
            Self::None => f.write_str("(none)"),
            Self::Bucket(t) => write!(f, "{t}"),
        }
    }
}

/// Spans to aggregate, and how to group them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AggregateQuery {
    /// Which spans.
    pub filter: SpanFilter,
    /// Group by these dimensions, in order (empty: one row for everything).
    pub group_by: Vec<GroupBy>,
}

impl AggregateQuery {
    /// Aggregates the spans matching `filter`, grouped by `group_by`.
    pub fn new(filter: SpanFilter, group_by: impl IntoIterator<Item = GroupBy>) -> Self {
        Self {
            filter,
            group_by: group_by.into_iter().collect(),
        }
    }
}

/// One group of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateRow {
    /// One key per [`AggregateQuery::group_by`] dimension.
    pub keys: Vec<GroupKey>,
    /// Spans.
    pub count: u64,
    /// Failed spans.
    pub errors: u64,
    /// Duration percentiles.
    pub duration: Percentiles,
    /// The durations by bucket (for the share within a duration: a latency objective). Not
    /// serialized: the API's rows carry the percentiles.
    #[serde(skip)]
    pub durations: crate::series::DurationHistogram,
    /// Tokens summed.
    pub usage: TokenUsage,
    /// Cost summed over priced spans; `None` when none was priced.
    pub cost: Option<Usd>,
    /// Spans with a price.
    pub priced: u64,
    /// Billable spans (LLM, embedding, or with tokens) without a price.
    pub unpriced: u64,
    /// The tokens of those unpriced spans: what the unknown part of the cost is made of.
    pub unpriced_usage: TokenUsage,
}

impl AggregateRow {
    /// The row of a group without spans: every count 0, no cost.
    pub fn empty(keys: Vec<GroupKey>) -> Self {
        Self {
            keys,
            count: 0,
            errors: 0,
            duration: Percentiles::default(),
            durations: crate::series::DurationHistogram::default(),
            usage: TokenUsage::default(),
            cost: None,
            priced: 0,
            unpriced: 0,
            unpriced_usage: TokenUsage::default(),
        }
    }

    /// Rows' order by key: ascending, missing values last.
    pub fn key_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        for (x, y) in a.keys.iter().zip(&b.keys) {
            let o = match (x, y) {
                (GroupKey::None, GroupKey::None) => Ordering::Equal,
                (GroupKey::None, _) => Ordering::Greater,
                (_, GroupKey::None) => Ordering::Less,
                (x, y) => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// Sorts `rows` costliest first, then busiest.
    pub fn sort_by_cost(rows: &mut [Self]) {
        rows.sort_by_key(|r| (std::cmp::Reverse(r.cost), std::cmp::Reverse(r.count)));
    }
}

/// The overview of a time range, as the CLI's `summary` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The range covered (span start times).
    pub range: TimeRange,
    /// Traces starting in the range.
    pub traces: u64,
    /// Spans.
    pub spans: u64,
    /// Failed spans of any kind.
    pub span_errors: u64,
    /// LLM calls (spans of kind `llm`).
    pub requests: u64,
    /// Failed LLM calls.
    pub errors: u64,
    /// `errors / requests`, 0 when there were none.
    pub error_rate: f64,
    /// LLM call latency; `None` when there were none.
    pub latency: Option<Percentiles>,
    /// Tokens summed over all spans.
    pub usage: TokenUsage,
    /// Cost summed over priced spans; `None` when none was priced.
    pub cost: Option<Usd>,
    /// Spans with a price.
    pub priced: u64,
    /// Billable spans without a price (their cost is unknown, not zero).
    pub unpriced: u64,
    /// The tokens of those unpriced spans.
    pub unpriced_usage: TokenUsage,
    /// Billable spans with a model, by model, costliest first.
    pub by_model: Vec<AggregateRow>,
    /// Billable spans by agent name, costliest first.
    pub by_agent: Vec<AggregateRow>,
}

/// Where a [`RollupAnswer`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RollupSource {
    /// The rollup tables: fast; percentiles within 3.2 %.
    Rollups,
    /// The spans themselves, because the rollups do not cover the filter or grouping: exact,
    /// and as slow as [`Analytics::aggregate_exact`](crate::Analytics::aggregate_exact).
    Spans,
}

/// The answer of [`Analytics::aggregate`](crate::Analytics::aggregate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupAnswer {
    /// The range covered: the query's, widened to whole minutes.
    pub range: TimeRange,
    /// Where the figures came from.
    pub source: RollupSource,
    /// One row per group, sorted by key (missing values last).
    pub rows: Vec<AggregateRow>,
    /// Every matching span in one row (no keys).
    pub total: AggregateRow,
}

/// What [`Analytics::overview`](crate::Analytics::overview) covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OverviewQuery {
    /// Span start within this range (widened to whole minutes).
    pub range: TimeRange,
    /// Width of the time series' buckets, a whole number of minutes; `None`: chosen for about
    /// 60 points or fewer (1 min, 5 min, 15 min, 1 h, 6 h, 1 day, 7 days, or whole days).
    pub bucket_ns: Option<u64>,
}

impl OverviewQuery {
    /// The overview of `range`.
    pub fn new(range: TimeRange) -> Self {
        Self {
            range,
            bucket_ns: None,
        }
    }

    setters!(
        /// Sets the series' bucket width.
        bucket_ns: u64,
    );
}

/// One bucket of the overview's time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Bucket start (ns since the epoch).
    pub start_unix_nano: u64,
    /// Spans starting in the bucket.
    pub spans: u64,
    /// Failed spans of any kind.
    pub span_errors: u64,
    /// LLM calls.
    pub requests: u64,
    /// Failed LLM calls.
    pub errors: u64,
    /// LLM call latency; `None` without calls.
    pub latency: Option<Percentiles>,
    /// Tokens of all spans.
    pub usage: TokenUsage,
    /// Cost of the priced spans; `None` when none was priced.
    pub cost: Option<Usd>,
    /// Billable spans without a price.
    pub unpriced: u64,
}

/// The dashboard's overview: [`Summary`] numbers from the rollups, and a time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The numbers of the range (`summary.range`: the range covered, widened to whole
    /// minutes). Latency percentiles are within 3.2 %.
    pub summary: Summary,
    /// Width of the series' buckets.
    pub bucket_ns: u64,
    /// The series, oldest first, one point per bucket (empty buckets included) from the
    /// bucket of the range's start (or of the first span, for an open start) to the range's
    /// end (or the last span).
    pub series: Vec<SeriesPoint>,
}

/// How often a tool failed with one error type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCount {
    /// `error.type` of the failed spans; `None` when they did not set one.
    pub error_type: Option<String>,
    /// Failed spans.
    pub count: u64,
}

/// How often a tool failed with one error message pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPattern {
    /// `error.type` of the failed spans; `None` when they did not set one.
    pub error_type: Option<String>,
    /// The status message with numbers as `<n>` and ids as `<id>` (cut to 200 bytes); `None`
    /// without a message.
    pub pattern: Option<String>,
    /// Failed spans.
    pub count: u64,
}

/// One tool's calls (spans of kind `tool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolStats {
    /// Tool name; `None` for tool spans without one.
    pub tool: Option<String>,
    /// The MCP server the tool is on; `None` for a tool of the agent's own process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server: Option<String>,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// `1 − errors / calls`.
    pub success_rate: f64,
    /// Call duration percentiles (within 3.2 %).
    pub duration: Percentiles,
    /// Failures by error type, most frequent first.
    pub error_types: Vec<ErrorCount>,
    /// The most frequent failures by type and message pattern, most frequent first.
    pub top_errors: Vec<ErrorPattern>,
    /// Calls per time bucket, oldest first, buckets with calls only (when a bucket width was
    /// asked for; else empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<ToolPoint>,
    /// When the tools are split by an attribute
    /// ([`Analytics::tools_by_attribute`](crate::Analytics::tools_by_attribute)): the
    /// attribute, and this row's value of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<AttributeSplit>,
}

/// The value of the attribute a tool's calls are split by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeSplit {
    /// The attribute's key (`customer.id`).
    pub key: String,
    /// Its value as text; `None` for the calls without it.
    pub value: Option<String>,
}

/// A tool's calls in one time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolPoint {
    /// Bucket start (ns since the epoch).
    pub start_unix_nano: u64,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Call duration percentiles (within 3.2 %).
    pub duration: Percentiles,
}

/// The answer of [`Analytics::tools`](crate::Analytics::tools).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolsAnswer {
    /// The range covered, widened to whole minutes.
    pub range: TimeRange,
    /// Tools, most called first.
    pub tools: Vec<ToolStats>,
}

/// A metric received over OTLP (or stored with
/// [`RecordWriter::insert_measurements`](crate::RecordWriter::insert_measurements)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricInfo {
    /// Its name, e.g. `gen_ai.client.token.usage.sum`.
    pub name: String,
    /// Its instrument kind: `counter`, `up_down_counter`, `gauge` or `histogram`.
    pub kind: String,
    /// Its unit, e.g. `{token}`, `s`.
    pub unit: Option<String>,
    /// How many label sets it has.
    pub series: u64,
}

/// Points per series a metric query answers at most (its step widens to fit).
pub const MAX_METRIC_POINTS: u64 = 1_440;

/// Series a metric query answers at most, the busiest.
pub const MAX_METRIC_SERIES: usize = 200;

/// Which metric, over which range, in which steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricQuery {
    /// The metric's name.
    pub name: String,
    /// The range, by minute (the start rounded down to its minute).
    pub range: TimeRange,
    /// The width of a point, a whole number of minutes (default: one minute, widened so that
    /// a series has at most 1,440 points).
    pub step_ns: Option<u64>,
}

impl MetricQuery {
    /// Every point of `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Within `range`.
    #[must_use]
    pub fn range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// In steps of `step_ns`.
    #[must_use]
    pub fn step(mut self, step_ns: u64) -> Self {
        self.step_ns = Some(step_ns);
        self
    }

    /// The step to answer with: the query's, else one minute, widened to whole minutes so that
    /// the range (or, for open ends, the minutes `first` to `last` found) has at most
    /// [`MAX_METRIC_POINTS`] steps.
    pub fn step_for(&self, first: Option<u64>, last: Option<u64>) -> u64 {
        const MINUTE_NS: u64 = crate::series::MINUTE_NS;
        let start = self.range.start_unix_nano.or(first).unwrap_or(0);
        let end = self
            .range
            .end_unix_nano
            .or(last.map(|l| l + MINUTE_NS))
            .unwrap_or(start);
        let minutes = end.saturating_sub(start).div_ceil(MINUTE_NS);
        let fit = minutes.div_ceil(MAX_METRIC_POINTS).max(1) * MINUTE_NS;
        self.step_ns.unwrap_or(MINUTE_NS).max(fit)
    }
}

/// One label set of a metric and its points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// The instrument kind.
    pub kind: String,
    /// The unit.
    pub unit: Option<String>,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// One point per step with measurements, oldest first.
    pub points: Vec<MetricPoint>,
}

/// The measurements of one series in one step. A counter's `sum` is its increase over the
/// step; a gauge's `last` its latest value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The start of the step.
    pub bucket_unix_nano: u64,
    /// Measurements.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// The latest.
    pub last: f64,
}

/// A kind of record the stores keep: what retention deletes, counts and sizes, one kind at a
/// time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// Spans (by start time); trace summaries follow.
    Spans,
    /// Events (by time).
    Events,
    /// The span metrics: the rollups by minute and by hour behind the overview, cost and tool
    /// queries (by the end of their bucket). They outlive the spans they sum until their own
    /// retention deletes them, so a store can keep raw spans for days and their metrics for
    /// a year.
    Metrics,
    /// Scores of traces, spans and sessions (by the time they were given). They outlive the
    /// spans they judge until their own retention deletes them.
    Scores,
}
