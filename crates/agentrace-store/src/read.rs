//! Reading traces, spans, sessions, users and events: the API's record queries.

use agentrace_core::{SpanId, SpanRecord, TraceId};

use crate::error::QueryError;
use crate::model::{
    Cursor, EventPage, EventQuery, SessionSort, SessionSummary, SpanPage, SpanQuery, TraceFilter,
    TraceOrder, TracePage, TraceTree, UserSummary,
};
use crate::time_range::TimeRange;

/// The record queries behind the API, the dashboard and the CLI.
///
/// # Contract (checked by the conformance suite)
/// Answers reflect every write that returned before the query began (on every node of a
/// fleet), with attribution completed as if the spans had arrived in order. Pages are a
/// `limit` of rows and a cursor: passing `next_cursor` back continues where the page ended,
/// and a cursor made by another kind of query is [`QueryError::InvalidCursor`].
///
/// Calls block; the server makes them from its blocking pool.
pub trait TraceReader {
    /// One row per trace matching `filter`, in `order` (newest first by default: by the
    /// trace's list time, the earliest start among the spans of the first batch that brought
    /// it, fixed from then on, so that paging while data is appended gives no duplicates and
    /// no gaps).
    fn list_traces_by(
        &self,
        filter: &TraceFilter,
        order: TraceOrder,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError>;

    /// [`list_traces_by`](Self::list_traces_by), newest first.
    fn list_traces(
        &self,
        filter: &TraceFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError> {
        self.list_traces_by(filter, TraceOrder::default(), cursor, limit)
    }

    /// Every span of a trace as a tree; `None` if no span of it is stored. Spans whose
    /// parent is missing become extra roots marked [`orphan`](crate::TraceNode::orphan); no
    /// span is dropped.
    fn trace(&self, trace_id: TraceId) -> Result<Option<TraceTree>, QueryError>;

    /// [`trace`](Self::trace) without the spans' span events and attributes (but the few the
    /// trace's views read, [`OUTLINE_ATTRIBUTES`](crate::OUTLINE_ATTRIBUTES)): the tree of a
    /// large trace at a fraction of the cost.
    fn trace_outline(&self, trace_id: TraceId) -> Result<Option<TraceTree>, QueryError>;

    /// One span of a trace; `None` if it is not stored.
    fn span(&self, trace_id: TraceId, span_id: SpanId) -> Result<Option<SpanRecord>, QueryError>;

    /// The spans a conversation turn is read from: the trace's earliest root, its first LLM
    /// call (by start) and its last (by end), in that order, each at most once.
    fn turn_spans(&self, trace_id: TraceId) -> Result<Vec<SpanRecord>, QueryError>;

    /// The LLM call under `parent` that ended last, at or before `ended_by_unix_nano` (which
    /// call asked for a tool).
    fn last_llm_call_before(
        &self,
        trace_id: TraceId,
        parent: SpanId,
        ended_by_unix_nano: u64,
    ) -> Result<Option<SpanRecord>, QueryError>;

    /// Sessions with traces starting in `range`, with the sums of those traces (a trace
    /// belongs to the session of its head span, else the first one among its spans).
    fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError>;

    /// One session's activity (all its traces); `None` when no trace names it.
    fn session(&self, session_id: &str) -> Result<Option<SessionSummary>, QueryError>;

    /// End users with traces starting in `range` (a trace belongs to its head span's user).
    fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError>;

    /// Spans matching the query, by start time (then trace and span id), a page at a time.
    fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError>;

    /// Events matching the query, by time, a page at a time.
    fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError>;
}
