//! `/traces`, `/traces/{trace_id}` (its spans and graph), `/sessions`,
//! `/sessions/{session_id}`, `/events`.

use agentrace_core::content::SpanContent;
use agentrace_core::search::{Expr, Query};
use agentrace_core::{SpanId, SpanKind, SpanRecord, TraceId};
use agentrace_store::search::{SearchPage, SearchQuery, words};
use agentrace_store::{
    Cursor, EventFilter, EventPage, EventQuery, Order, ScoreCondition, SessionSort, SessionSummary,
    TraceFilter, TraceNode, TraceOrder, TracePage, TraceSort, TraceSummary, TraceTree, UserSummary,
};
use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::graph::{self, Graph, Mode};
use super::params::Params;
use crate::http::api_base::{ApiError, blocking};
use crate::http::scope::Scope;

/// Trace and session pages: 50 by default, at most 1,000.
const PAGE: (usize, usize) = (50, 1_000);
/// Event pages: 100 by default, at most 1,000.
const EVENT_PAGE: (usize, usize) = (100, 1_000);

/// The filters `/traces` takes, also used by `/sessions/{id}` (without `session`).
fn trace_filter(p: &mut Params, with_session: bool) -> Result<TraceFilter, ApiError> {
    let mut f = TraceFilter::new().range(p.range()?);
    f.service = p.text("service")?;
    f.kind = p.parsed("kind")?;
    f.model = p.text("model")?;
    f.agent = p.text("agent")?;
    if with_session {
        f.session = p.text("session")?;
    }
    f.user = p.text("user")?;
    f.status = p.status()?;
    f.min_duration_ns = p.duration_ns("min_duration")?;
    f.name_contains = p.text("name")?;
    let (min, max) = (p.finite("score_min")?, p.finite("score_max")?);
    f.score = match p.text("score")? {
        Some(name) => Some(ScoreCondition::named(name).within(min, max)),
        None if min.is_some() || max.is_some() => {
            return Err(ApiError::bad(
                if min.is_some() {
                    "score_min"
                } else {
                    "score_max"
                },
                "needs `score`, the name of the score it bounds",
            ));
        }
        None => None,
    };
    Ok(f)
}

/// `sort` and `order`: the trace list's order (default: newest first); by score only with a
/// score to filter by.
fn trace_order(p: &mut Params, filter: &TraceFilter) -> Result<TraceOrder, ApiError> {
    let by = p.parsed::<TraceSort>("sort")?.unwrap_or_default();
    if filter.check_order(by).is_err() {
        return Err(ApiError::bad(
            "sort",
            "`score` needs `score`, the name of the score to order by",
        ));
    }
    let ascending = p.order("order")? == Order::Asc;
    Ok(TraceOrder { by, ascending })
}

/// `GET /traces`: the trace list, newest first (or in another order), a page at a time.
/// With `q`, the traces holding a span that matches it, by their newest such span
/// ([`TraceReader::search_traces`](agentrace_store::TraceReader::search_traces)).
pub(super) async fn list(scope: Scope, mut p: Params) -> Result<Json<TracePage>, ApiError> {
    let filter = trace_filter(&mut p, true)?;
    let order = trace_order(&mut p, &filter)?;
    let query = p.search_query()?;
    let limit = p.limit(PAGE.0, PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    if let Some(query) = query {
        if order != TraceOrder::default() {
            return Err(ApiError::bad(
                "sort",
                "with `q` traces come by their newest matching span: leave out `sort` and `order`",
            ));
        }
        let search = SearchQuery::new(query, filter.range, limit).after(cursor);
        let page = blocking(&scope.store, move |s| s.search_traces(&search, &filter)).await?;
        return Ok(Json(page));
    }
    let page = blocking(&scope.store, move |s| {
        s.list_traces_by(&filter, order, cursor.as_ref(), limit)
    })
    .await?;
    Ok(Json(page))
}

/// `GET /search`: the spans matching `q`, newest first, with snippets; a page of `limit`
/// (50 by default, at most 1,000) that may hold fewer hits and still a cursor (a search reads
/// at most 100,000 spans a call: `agentrace_store::search`).
pub(super) async fn search(scope: Scope, mut p: Params) -> Result<Json<SearchPage>, ApiError> {
    let range = p.range()?;
    // No `q`: every span of the range.
    let query = p.search_query()?.unwrap_or(Query { expr: Expr::All });
    let limit = p.limit(PAGE.0, PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    let search = SearchQuery::new(query, range, limit).after(cursor);
    let page = blocking(&scope.store, move |s| s.search(&search)).await?;
    Ok(Json(page))
}

/// A span of the tree, with its place in it.
#[derive(Debug, Serialize)]
pub(super) struct NodeView {
    #[serde(flatten)]
    node: TraceNode,
    /// Start relative to the trace's start.
    offset_ns: u64,
    /// `end - start` (0 if the clock went backwards).
    duration_ns: u64,
}

/// A trace as a tree: nodes depth first, each with the indexes of its parent and children.
#[derive(Debug, Serialize)]
pub(super) struct TreeView {
    summary: TraceSummary,
    roots: Vec<usize>,
    nodes: Vec<NodeView>,
}

fn parse_trace_id(text: &str) -> Result<TraceId, ApiError> {
    TraceId::from_hex(text).map_err(|e| ApiError::bad("trace_id", format!("{text:?}: {e}")))
}

/// The stored trace `id` (in full, or in outline: without the spans' attributes and span
/// events), or 404.
async fn read_tree(scope: &Scope, id: TraceId, full: bool) -> Result<TraceTree, ApiError> {
    blocking(&scope.store, move |s| {
        if full {
            s.trace(id)
        } else {
            s.trace_outline(id)
        }
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no trace {id} is stored")))
}

/// `GET /traces/{trace_id}`: every span of a trace as a tree (`attributes=false`: without the
/// spans' attributes and span events).
pub(super) async fn tree(
    scope: Scope,
    trace_id: Result<Path<String>, PathRejection>,
    mut p: Params,
) -> Result<Response, ApiError> {
    let Path(trace_id) = trace_id.map_err(|e| ApiError::bad("trace_id", e.body_text()))?;
    let full = p.flag("attributes", true)?;
    p.finish()?;
    let tree = read_tree(&scope, parse_trace_id(&trace_id)?, full).await?;
    let start = tree.summary.start_unix_nano;
    let nodes = tree
        .nodes
        .into_iter()
        .map(|node| NodeView {
            offset_ns: node.span.start_time_unix_nano.saturating_sub(start),
            duration_ns: node.span.duration_ns(),
            node,
        })
        .collect();
    let view = TreeView {
        summary: tree.summary,
        roots: tree.roots,
        nodes,
    };
    // Written at once into a buffer of about the right size: a 10,000-span tree is megabytes,
    // and a growing buffer copied itself over and over (a fifth of the time, measured).
    let mut body = Vec::with_capacity(view.nodes.len().saturating_mul(1_024).saturating_add(1_024));
    serde_json::to_writer(&mut body, &view)
        .map_err(|e| ApiError::Internal(format!("encoding a trace: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /traces/{trace_id}/spans/{span_id}` answer.
#[derive(Debug, Serialize)]
pub(super) struct SpanView {
    span: SpanRecord,
    /// The prompts, responses and tool input and output it captured, as messages.
    content: SpanContent,
    /// With `q`: its words (lower-cased), for the page to mark where they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    highlight: Vec<String>,
}

/// `GET /traces/{trace_id}/spans/{span_id}`: one span, with its captured content read as
/// messages (and, with `q`, the query's words to mark: a search hit opens its span so).
pub(super) async fn span(
    scope: Scope,
    ids: Result<Path<(String, String)>, PathRejection>,
    mut p: Params,
) -> Result<Json<SpanView>, ApiError> {
    let Path((trace_id, span_id)) = ids.map_err(|e| ApiError::bad("span_id", e.body_text()))?;
    let highlight = p.search_query()?.map(|q| words(&q)).unwrap_or_default();
    p.finish()?;
    let trace = parse_trace_id(&trace_id)?;
    let span_id = SpanId::from_hex(&span_id)
        .map_err(|e| ApiError::bad("span_id", format!("{span_id:?}: {e}")))?;
    let span = blocking(&scope.store, move |s| s.span(trace, span_id))
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("no span {span_id} of trace {trace} is stored"))
        })?;
    let content = SpanContent::of(&span);
    Ok(Json(SpanView {
        span,
        content,
        highlight,
    }))
}

/// `GET /traces/{trace_id}/graph`: the trace's agents, tools and models as a graph.
pub(super) async fn trace_graph(
    scope: Scope,
    trace_id: Result<Path<String>, PathRejection>,
    mut p: Params,
) -> Result<Json<Graph>, ApiError> {
    let Path(trace_id) = trace_id.map_err(|e| ApiError::bad("trace_id", e.body_text()))?;
    let mode = p.parsed::<Mode>("mode")?.unwrap_or(Mode::Aggregated);
    p.finish()?;
    let tree = read_tree(&scope, parse_trace_id(&trace_id)?, false).await?;
    Ok(Json(graph::build(&tree, mode)))
}

/// `GET /sessions` answer.
#[derive(Debug, Serialize)]
pub(super) struct Sessions {
    sessions: Vec<SessionSummary>,
}

/// `GET /sessions`: sessions with traces starting in the range, most recently active first.
pub(super) async fn sessions(scope: Scope, mut p: Params) -> Result<Json<Sessions>, ApiError> {
    let range = p.range()?;
    let sort = p.parsed::<SessionSort>("sort")?.unwrap_or_default();
    let limit = p.limit(PAGE.0, PAGE.1)?;
    p.finish()?;
    let sessions = blocking(&scope.store, move |s| s.sessions_by(range, sort, limit)).await?;
    Ok(Json(Sessions { sessions }))
}

/// A trace of a session page, with its turn of the conversation when asked for.
#[derive(Debug, Serialize)]
pub(super) struct SessionTrace {
    #[serde(flatten)]
    summary: TraceSummary,
    /// With `messages=true`: what the user sent and what came back, when captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    turn: Option<Turn>,
}

/// One turn of a conversation: the last user text sent by the trace's first model call (or
/// its root's input) and the text its last model call returned (or its root's output).
#[derive(Debug, Default, Serialize)]
pub(super) struct Turn {
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
}

/// Longest text of a turn, in characters; longer ones are cut and end with `…`.
const TURN_TEXT: usize = 2_000;

fn cut(text: String) -> String {
    match text.char_indices().nth(TURN_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

impl Turn {
    /// From [`turn_spans`](agentrace_store::TraceReader::turn_spans): the root, the first
    /// and the last LLM call.
    fn of(spans: &[SpanRecord]) -> Self {
        let root = spans.iter().find(|s| s.parent_span_id.is_none());
        let calls: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Llm).collect();
        let content = |s: Option<&&SpanRecord>| s.map(|s| SpanContent::of(s));
        let input = root
            .map(SpanContent::of)
            .and_then(|c| c.last_user_text())
            .or_else(|| content(calls.first()).and_then(|c| c.last_user_text()));
        let output = root
            .map(SpanContent::of)
            .and_then(|c| c.last_output_text())
            .or_else(|| content(calls.last()).and_then(|c| c.last_output_text()));
        Self {
            input: input.map(cut),
            output: output.map(cut),
        }
    }
}

/// `GET /users` answer.
#[derive(Debug, Serialize)]
pub(super) struct Users {
    users: Vec<UserSummary>,
}

/// `GET /users`: end users with traces starting in the range, most recently active (or
/// costliest) first.
pub(super) async fn users(scope: Scope, mut p: Params) -> Result<Json<Users>, ApiError> {
    let range = p.range()?;
    let sort = p.parsed::<SessionSort>("sort")?.unwrap_or_default();
    let limit = p.limit(PAGE.0, PAGE.1)?;
    p.finish()?;
    let users = blocking(&scope.store, move |s| s.users(range, sort, limit)).await?;
    Ok(Json(Users { users }))
}

/// `GET /sessions/{session_id}` answer.
#[derive(Debug, Serialize)]
pub(super) struct SessionView {
    session: SessionSummary,
    traces: Vec<SessionTrace>,
    next_cursor: Option<Cursor>,
}

/// `GET /sessions/{session_id}`: a session's summary and its traces, newest first (or oldest
/// first: the conversation in order), with each trace's turn when asked.
pub(super) async fn session(
    scope: Scope,
    session_id: Result<Path<String>, PathRejection>,
    mut p: Params,
) -> Result<Json<SessionView>, ApiError> {
    let Path(session_id) = session_id.map_err(|e| ApiError::bad("session_id", e.body_text()))?;
    let mut filter = trace_filter(&mut p, false)?;
    let order = TraceOrder {
        by: TraceSort::Start,
        ascending: p.order("order")? == Order::Asc,
    };
    let messages = p.flag("messages", false)?;
    let limit = p.limit(PAGE.0, PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    filter.session = Some(session_id.clone());
    let (session, page, turns) = blocking(&scope.store, move |s| {
        let Some(session) = s.session(&session_id)? else {
            return Ok(None);
        };
        let page = s.list_traces_by(&filter, order, cursor.as_ref(), limit)?;
        let mut turns = Vec::with_capacity(page.traces.len());
        for t in &page.traces {
            turns.push(match messages {
                true => Some(Turn::of(&s.turn_spans(t.trace_id)?)),
                false => None,
            });
        }
        Ok(Some((session, page, turns)))
    })
    .await?
    .ok_or_else(|| ApiError::NotFound("no trace of this session is stored".into()))?;
    Ok(Json(SessionView {
        session,
        traces: page
            .traces
            .into_iter()
            .zip(turns)
            .map(|(summary, turn)| SessionTrace { summary, turn })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `GET /events`: log search, newest first unless `order=asc`, a page at a time.
pub(super) async fn events(scope: Scope, mut p: Params) -> Result<Json<EventPage>, ApiError> {
    let mut f = EventFilter::new().range(p.range()?);
    f.min_level = p.parsed("level")?;
    f.kind = p.text("type")?;
    f.session = p.text("session")?;
    f.trace_id = p.parsed::<TraceId>("trace")?;
    f.span_id = p.parsed::<SpanId>("span")?;
    f.service = p.text("service")?;
    f.agent_id = p.text("agent")?;
    f.message_contains = p.text("text")?;
    let order = p.order("order")?;
    let limit = p.limit(EVENT_PAGE.0, EVENT_PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    let q = EventQuery::new(f).order(order).limit(limit).cursor(cursor);
    let page = blocking(&scope.store, move |s| s.events(&q)).await?;
    Ok(Json(page))
}
