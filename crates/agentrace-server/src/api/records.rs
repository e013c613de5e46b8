//! `/traces`, `/traces/{trace_id}`, `/sessions`, `/sessions/{session_id}`, `/events`.

use agentrace_core::{SpanId, TraceId};
use agentrace_sqlite::{
    Cursor, EventFilter, EventPage, EventQuery, Order, SessionSummary, TraceFilter, TraceNode,
    TracePage, TraceSummary,
};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::Serialize;

use super::error::{ApiError, blocking};
use super::params::Params;
use crate::state::AppState;

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
    Ok(f)
}

/// `GET /traces`: the trace list, newest first, a page at a time.
pub(super) async fn list(
    State(state): State<AppState>,
    mut p: Params,
) -> Result<Json<TracePage>, ApiError> {
    let filter = trace_filter(&mut p, true)?;
    let limit = p.limit(PAGE.0, PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    let page = blocking(&state.store, move |s| {
        s.list_traces(&filter, cursor.as_ref(), limit)
    })
    .await?;
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

/// `GET /traces/{trace_id}`: every span of a trace as a tree.
pub(super) async fn tree(
    State(state): State<AppState>,
    trace_id: Result<Path<String>, PathRejection>,
    p: Params,
) -> Result<Json<TreeView>, ApiError> {
    let Path(trace_id) = trace_id.map_err(|e| ApiError::bad("trace_id", e.body_text()))?;
    p.finish()?;
    let id = TraceId::from_hex(&trace_id)
        .map_err(|e| ApiError::bad("trace_id", format!("{trace_id:?}: {e}")))?;
    let tree = blocking(&state.store, move |s| s.trace(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no trace {id} is stored")))?;
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
    Ok(Json(TreeView {
        summary: tree.summary,
        roots: tree.roots,
        nodes,
    }))
}

/// `GET /sessions` answer.
#[derive(Debug, Serialize)]
pub(super) struct Sessions {
    sessions: Vec<SessionSummary>,
}

/// `GET /sessions`: sessions with traces starting in the range, most recently active first.
pub(super) async fn sessions(
    State(state): State<AppState>,
    mut p: Params,
) -> Result<Json<Sessions>, ApiError> {
    let range = p.range()?;
    let limit = p.limit(PAGE.0, PAGE.1)?;
    p.finish()?;
    let sessions = blocking(&state.store, move |s| s.sessions(range, limit)).await?;
    Ok(Json(Sessions { sessions }))
}

/// `GET /sessions/{session_id}` answer.
#[derive(Debug, Serialize)]
pub(super) struct SessionView {
    session: SessionSummary,
    traces: Vec<TraceSummary>,
    next_cursor: Option<Cursor>,
}

/// `GET /sessions/{session_id}`: a session's summary and its traces, newest first.
pub(super) async fn session(
    State(state): State<AppState>,
    session_id: Result<Path<String>, PathRejection>,
    mut p: Params,
) -> Result<Json<SessionView>, ApiError> {
    let Path(session_id) = session_id.map_err(|e| ApiError::bad("session_id", e.body_text()))?;
    let mut filter = trace_filter(&mut p, false)?;
    let limit = p.limit(PAGE.0, PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    filter.session = Some(session_id.clone());
    let (session, page) = blocking(&state.store, move |s| {
        let session = s.session(&session_id)?;
        let page = s.list_traces(&filter, cursor.as_ref(), limit)?;
        Ok(session.map(|session| (session, page)))
    })
    .await?
    .ok_or_else(|| ApiError::NotFound("no trace of this session is stored".into()))?;
    Ok(Json(SessionView {
        session,
        traces: page.traces,
        next_cursor: page.next_cursor,
    }))
}

/// `GET /events`: log search, newest first unless `order=asc`, a page at a time.
pub(super) async fn events(
    State(state): State<AppState>,
    mut p: Params,
) -> Result<Json<EventPage>, ApiError> {
    let mut f = EventFilter::new().range(p.range()?);
    f.min_level = p.parsed("level")?;
    f.kind = p.text("type")?;
    f.session = p.text("session")?;
    f.trace_id = p.parsed::<TraceId>("trace")?;
    f.span_id = p.parsed::<SpanId>("span")?;
    f.service = p.text("service")?;
    f.agent_id = p.text("agent")?;
    f.message_contains = p.text("text")?;
    let order = match p.text("order")?.as_deref() {
        None | Some("desc") => Order::Desc,
        Some("asc") => Order::Asc,
        Some(other) => {
            return Err(ApiError::bad(
                "order",
                format!("{other:?}: expected `desc` (newest first) or `asc`"),
            ));
        }
    };
    let limit = p.limit(EVENT_PAGE.0, EVENT_PAGE.1)?;
    let cursor = p.cursor()?;
    p.finish()?;
    let q = EventQuery::new(f).order(order).limit(limit).cursor(cursor);
    let page = blocking(&state.store, move |s| s.events(&q)).await?;
    Ok(Json(page))
}
