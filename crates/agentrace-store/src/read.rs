//! Reading traces, spans, sessions, users and events: the API's record queries.

use agentrace_core::semconv::gen_ai::RESPONSE_ID;
use agentrace_core::{ScoreTarget, SpanId, SpanRecord, TraceId};

use crate::error::QueryError;
use crate::model::{
    Cursor, EventPage, EventQuery, SessionSort, SessionSummary, SpanFilter, SpanPage, SpanQuery,
    TraceDetail, TraceFilter, TraceOrder, TracePage, TraceSummary, TraceTree, UserSummary,
};
use std::collections::HashSet;

use crate::people::People;
use crate::picks;
use crate::scores::RespondingSpan;
use crate::search::{SearchPage, SearchQuery};
use crate::time_range::TimeRange;
use crate::tree::OUTLINE_ATTRIBUTES;

/// The record queries behind the API, the dashboard and the CLI.
///
/// # Contract (checked by the conformance suite)
/// Answers reflect every write that returned before the query began (on every node of a
/// fleet), with attribution completed as if the spans had arrived in order. Pages are a
/// `limit` of rows and a cursor: passing `next_cursor` back continues where the page ended,
/// and a cursor made by another kind of query is [`QueryError::InvalidCursor`].
///
/// Required: [`list_traces_by`](Self::list_traces_by), [`spans`](Self::spans) and
/// [`events`](Self::events). The rest (a trace's tree, a span, a turn, judged and responding
/// spans, sessions and users) is provided on top of them; a store with key lookups and
/// indexes overrides what it answers faster, and the suite checks both
/// (`conformance::RequiredOnly`).
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

    /// The spans of `q.range` matching `q.query`, newest first, with snippets (see
    /// [`crate::search`]; score conditions match nothing here: the caller refuses them).
    ///
    /// Provided: a scan of [`spans`](Self::spans), newest first, each span judged by the
    /// query ([`crate::search::scan`]). A store with a text index overrides it to read only
    /// the candidates of the query's words, judging each the same way.
    fn search(&self, q: &SearchQuery) -> Result<SearchPage, QueryError> {
        crate::search::scan(q, |page| self.spans(page))
    }

    /// The traces holding a span that matches `q` (in `q.range`), by their newest matching span,
    /// newest first, each also passing `filter` (whose own range is of the traces): a page of
    /// `q.limit` traces at most, and the search's cursor to continue (reading at most
    /// [`SCAN_BUDGET`](crate::search::SCAN_BUDGET) spans, as a search does). A trace whose matching spans
    /// fall on both sides of a page's end is listed on both pages (whoever shows them merges).
    fn search_traces(
        &self,
        q: &SearchQuery,
        filter: &TraceFilter,
    ) -> Result<TracePage, QueryError> {
        let mut seen = HashSet::new();
        let mut traces = Vec::new();
        let mut cursor = q.cursor.clone();
        let mut judged = 0;
        loop {
            // No more hits than traces still wanted: the page never passes the limit, and the
            // search's cursor after it is where this page ends.
            let wanted = q.limit - traces.len();
            let page = self.search(&SearchQuery {
                limit: wanted,
                cursor,
                ..q.clone()
            })?;
            for hit in &page.hits {
                if !seen.insert(hit.trace_id) {
                    continue;
                }
                let mut one = filter.clone();
                one.trace_id = Some(hit.trace_id);
                if let Some(summary) = self.list_traces(&one, None, 1)?.traces.into_iter().next() {
                    traces.push(summary);
                }
            }
            cursor = page.next_cursor;
            judged += page.judged;
            if traces.len() >= q.limit || cursor.is_none() || judged >= crate::search::SCAN_BUDGET {
                return Ok(TracePage {
                    traces,
                    next_cursor: cursor,
                });
            }
        }
    }

    /// A trace as a tree, in `detail`; `None` if no span of it is stored. Spans whose parent
    /// is missing become extra roots marked [`orphan`](crate::TraceNode::orphan); no span is
    /// dropped. [`TraceDetail::Outline`] leaves out the spans' span events and attributes
    /// (but the few the trace's views read, [`OUTLINE_ATTRIBUTES`](crate::OUTLINE_ATTRIBUTES)):
    /// the tree of a large trace at a fraction of the cost.
    ///
    /// Provided: the trace's row of the trace list and its spans; a store that reads a
    /// trace by its key, and leaves out what an outline does not show, does better.
    fn trace_tree(
        &self,
        trace_id: TraceId,
        detail: TraceDetail,
    ) -> Result<Option<TraceTree>, QueryError> {
        let listed = self.list_traces(&TraceFilter::new().trace_id(trace_id), None, 1)?;
        let Some(summary) = listed.traces.into_iter().next() else {
            return Ok(None);
        };
        let mut spans = spans_of(self, trace_id)?;
        if spans.is_empty() {
            return Ok(None);
        }
        if detail == TraceDetail::Outline {
            for span in &mut spans {
                span.attributes
                    .retain(|key, _| OUTLINE_ATTRIBUTES.contains(&key));
                span.events.clear();
            }
        }
        Ok(Some(TraceTree::build(summary, spans)))
    }

    /// [`trace_tree`](Self::trace_tree) in full.
    fn trace(&self, trace_id: TraceId) -> Result<Option<TraceTree>, QueryError> {
        self.trace_tree(trace_id, TraceDetail::Full)
    }

    /// [`trace_tree`](Self::trace_tree) in outline.
    fn trace_outline(&self, trace_id: TraceId) -> Result<Option<TraceTree>, QueryError> {
        self.trace_tree(trace_id, TraceDetail::Outline)
    }

    /// One span of a trace; `None` if it is not stored. Provided: a store with a key lookup
    /// does better than reading the trace's spans.
    fn span(&self, trace_id: TraceId, span_id: SpanId) -> Result<Option<SpanRecord>, QueryError> {
        Ok(spans_of(self, trace_id)?
            .into_iter()
            .find(|s| s.span_id == span_id))
    }

    /// The spans a conversation turn is read from: the trace's earliest root, its first LLM
    /// call (by start) and its last (by end), in that order, each at most once. Provided.
    fn turn_spans(&self, trace_id: TraceId) -> Result<Vec<SpanRecord>, QueryError> {
        Ok(picks::turn(&spans_of(self, trace_id)?))
    }

    /// The LLM call under `parent` that ended last, at or before `ended_by_unix_nano` (which
    /// call asked for a tool). Provided.
    fn last_llm_call_before(
        &self,
        trace_id: TraceId,
        parent: SpanId,
        ended_by_unix_nano: u64,
    ) -> Result<Option<SpanRecord>, QueryError> {
        Ok(picks::last_llm_call_before(
            spans_of(self, trace_id)?,
            parent,
            ended_by_unix_nano,
        ))
    }

    /// The spans scores of `targets` judge, for statistics by what they judged
    /// ([`crate::score_stats`]): each span target's span (one that names its trace), each
    /// trace target's root (its earliest span without a parent), in no order; targets not
    /// stored, sessions and spans that name no trace are left out. At most
    /// [`MAX_TARGETS_A_LOOKUP`](crate::MAX_TARGETS_A_LOOKUP) targets. Provided.
    fn judged_spans(&self, targets: &[ScoreTarget]) -> Result<Vec<SpanRecord>, QueryError> {
        if targets.len() > MAX_TARGETS_A_LOOKUP {
            return Err(QueryError::Invalid(format!(
                "{} targets in one lookup, at most {MAX_TARGETS_A_LOOKUP}",
                targets.len()
            )));
        }
        let mut found = Vec::new();
        for target in targets {
            match target {
                ScoreTarget::Span {
                    span_id,
                    trace_id: Some(trace_id),
                } => found.extend(self.span(*trace_id, *span_id)?),
                ScoreTarget::Trace(trace_id) => {
                    found.extend(picks::root(&spans_of(self, *trace_id)?).cloned());
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// The spans that gave the responses `response_ids` (their `gen_ai.response.id`
    /// attribute), started in `range`: each response id found with its trace and span, in no
    /// order, once (the earliest span, if several gave it). For an evaluation result that
    /// names the response it judges but not its span. At most [`MAX_RESPONSES_A_LOOKUP`](crate::MAX_RESPONSES_A_LOOKUP)
    /// ids; a store scans the spans of `range`, so keep it short. Provided.
    fn responding_spans(
        &self,
        response_ids: &[String],
        range: TimeRange,
    ) -> Result<Vec<RespondingSpan>, QueryError> {
        RespondingSpan::check_lookup(response_ids)?;
        let mut found = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.spans(
                &SpanQuery::new(SpanFilter::new().range(range))
                    .limit(PAGE)
                    .cursor(cursor),
            )?;
            found.extend(page.spans.iter().filter_map(|s| {
                let id = s.attributes.get(RESPONSE_ID).and_then(|v| v.as_str())?;
                response_ids
                    .iter()
                    .any(|r| r == id)
                    .then(|| RespondingSpan {
                        response_id: id.to_owned(),
                        trace_id: s.trace_id,
                        span_id: s.span_id,
                    })
            }));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(RespondingSpan::first_of_each(found)),
            }
        }
    }

    /// Sessions with traces starting in `range`, with the sums of those traces (a trace
    /// belongs to the session of its head span, else the first one among its spans), most
    /// recently active or costliest first. Provided: the trace list of the range, summed by
    /// [`People`](crate::People).
    fn sessions_by(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        let mut people = People::by_session();
        each_trace(self, range, |t| people.add(t.into()))?;
        Ok(people.sessions(sort, limit))
    }

    /// One session's activity (all its traces); `None` when no trace names it. Provided:
    /// a store with an index of sessions does better than grouping every trace.
    fn session(&self, session_id: &str) -> Result<Option<SessionSummary>, QueryError> {
        Ok(self
            .sessions_by(TimeRange::ALL, SessionSort::Recent, usize::MAX)?
            .into_iter()
            .find(|s| s.session_id == session_id))
    }

    /// End users with traces starting in `range` (a trace belongs to its head span's user),
    /// most recently active or costliest first. Provided, as
    /// [`sessions_by`](Self::sessions_by) is.
    fn users(
        &self,
        range: TimeRange,
        sort: SessionSort,
        limit: usize,
    ) -> Result<Vec<UserSummary>, QueryError> {
        let mut people = People::by_user();
        each_trace(self, range, |t| people.add(t.into()))?;
        Ok(people.users(sort, limit))
    }

    /// Spans matching the query, by start time (then trace and span id), a page at a time.
    fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError>;

    /// Events matching the query, by time, a page at a time.
    fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError>;
}

/// Targets one [`TraceReader::judged_spans`] looks up at most.
pub const MAX_TARGETS_A_LOOKUP: usize = 1_000;

/// Spans read a page at a time by the provided methods.
pub(crate) const PAGE: usize = 1_000;

/// Calls `each` on the summary of every trace starting in `range`.
pub(crate) fn each_trace<R: TraceReader + ?Sized>(
    reader: &R,
    range: TimeRange,
    mut each: impl FnMut(&TraceSummary),
) -> Result<(), QueryError> {
    let filter = TraceFilter::new().range(range);
    let mut cursor = None;
    loop {
        let page = reader.list_traces(&filter, cursor.as_ref(), PAGE)?;
        page.traces.iter().for_each(&mut each);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// Every span of `trace_id`, in full, oldest first: what the provided lookups pick from.
pub(crate) fn spans_of<R: TraceReader + ?Sized>(
    reader: &R,
    trace_id: TraceId,
) -> Result<Vec<SpanRecord>, QueryError> {
    let mut spans = Vec::new();
    let mut cursor = None;
    loop {
        let page = reader.spans(
            &SpanQuery::new(SpanFilter::new().trace_id(trace_id))
                .limit(PAGE)
                .cursor(cursor),
        )?;
        spans.extend(page.spans);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(spans),
        }
    }
}
