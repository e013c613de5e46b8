//! The up pass's work on the store: a trace's spans filled from the parents that arrived,
//! their rows updated, their rollup contributions moved, the trace rows corrected.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use agentrace_core::{
    Attribution, AttributionNode, InheritedField, SpanId, SpanRecord, TraceId, Usd,
    complete_attribution,
};
use rusqlite::{CachedStatement, Connection, params};

use agentrace_store::LateAttribution;

use super::{Resolved, columns, read_attribution};
use crate::codec;
use crate::codec::execute_typed;
use crate::error::{Db, DbError};
use crate::past::Touched;
use crate::span_rollups::{self, AGENT, FACT_COLUMNS, FRAMEWORK, KeyIds, OwnedFacts};
use crate::trace_summaries::{self, update_traces};
use agentrace_store::{QueryError, WriteError};

/// A stored span of a trace and what the up pass needs of it.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// Its row.
    rowid: i64,
    span_id: SpanId,
    parent: Option<SpanId>,
    values: Attribution,
    model: Option<String>,
    /// What it contributes to the rollups (its cost and start among it).
    facts: OwnedFacts,
}

/// A trace's `trace_no` and its nodes.
pub(super) type TraceNodes = (i64, Vec<Node>);

impl Node {
    /// `span` as the writer just stored it in row `rowid`.
    pub(super) fn of(span: &SpanRecord, rowid: i64) -> Self {
        Self {
            rowid,
            span_id: span.span_id,
            parent: span.parent_span_id,
            values: Attribution::of(span),
            model: span
                .response_model
                .as_deref()
                .or(span.request_model.as_deref())
                .map(str::to_owned),
            facts: OwnedFacts::of(span),
        }
    }
}

/// [`fill_down`] from each trace's `parents`, then the rollup moves applied. A trace's stored
/// spans are those `cached` gives, else read from the store; returned as they are after the
/// fill, by trace.
pub(super) fn fill_traces(
    conn: &Connection,
    by_trace: HashMap<i64, (TraceId, Vec<SpanId>)>,
    keys: &mut KeyIds,
    mut cached: impl FnMut(i64) -> Option<Vec<Node>>,
) -> Result<(Resolved, Vec<TraceNodes>), WriteError> {
    let mut out = Resolved::default();
    // The rollup facts of filled spans whose agent or framework changed: before, after.
    let mut moved = Vec::new();
    let mut after = Vec::with_capacity(by_trace.len());
    let mut rows = RowWrites::prepare(conn)?;
    for (trace_no, (trace_id, parents)) in by_trace {
        let mut nodes = match cached(trace_no) {
            Some(nodes) => nodes,
            None => read_trace(conn, trace_no)?,
        };
        fill_down(
            &mut rows, trace_id, trace_no, &parents, &mut nodes, &mut out, &mut moved,
        )?;
        after.push((trace_no, nodes));
    }
    apply_moves(conn, &moved, keys)?;
    Ok((out, after))
}

/// Completes the stored spans of the trace `trace_no` (`nodes`) now that `parents` arrived
/// among them (`agentrace_core::complete_attribution`: each takes what it lacks from its
/// nearest stored ancestor), and clears the flags of the parents' children. Adds the filled
/// spans to `out` and their rollup moves to `moved` (applied by the caller); `nodes` take
/// their new values.
fn fill_down(
    rows: &mut RowWrites<'_>,
    trace_id: TraceId,
    trace_no: i64,
    parents: &[SpanId],
    nodes: &mut [Node],
    out: &mut Resolved,
    moved: &mut Vec<(OwnedFacts, OwnedFacts)>,
) -> Result<(), WriteError> {
    let mut tree: Vec<AttributionNode> = nodes
        .iter()
        .map(|n| AttributionNode {
            trace_id,
            span_id: n.span_id,
            parent_span_id: n.parent,
            values: n.values.clone(),
        })
        .collect();
    let mut changed = vec![false; nodes.len()];
    for i in complete_attribution(&mut tree).filled {
        changed[i] = true;
    }
    let values: Vec<Attribution> = tree.into_iter().map(|n| n.values).collect();
    let arrived: HashSet<SpanId> = parents.iter().copied().collect();
    let by_roots_only = nodes
        .iter()
        .filter(|n| arrived.contains(&n.span_id))
        .all(|n| n.parent.is_none());
    let unflag: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].parent.is_some_and(|p| arrived.contains(&p)))
        .collect();
    for &kid in &unflag {
        if !changed[kid] {
            rows.clear_flag(nodes[kid].rowid)?;
        }
    }
    for ((node, after), _) in nodes
        .iter_mut()
        .zip(values)
        .zip(&changed)
        .filter(|(_, changed)| **changed)
    {
        rows.update(node.rowid, &after)?;
        out.late.push((
            trace_no,
            LateAttribution {
                trace_id,
                span_id: node.span_id,
                before: node.values.clone(),
                after: after.clone(),
                model: node.model.clone(),
                cost: node.facts.cost.map(Usd::from_nanos),
                start_time_unix_nano: node.facts.start,
            },
        ));
        if after.agent_name != node.values.agent_name || after.framework != node.values.framework {
            let before = node.facts.clone();
            node.facts.set_dim(AGENT, after.agent_name.clone());
            node.facts.set_dim(FRAMEWORK, after.framework.clone());
            moved.push((before, node.facts.clone()));
        }
        node.values = after;
    }
    // A root just added became the row's head with its values, which are all the
    // filled spans took: the row is right already.
    if !by_roots_only && changed.contains(&true) {
        out.rows_to_fix.insert(trace_no);
    }
    Ok(())
}

/// After a repair gave stored spans a parent (a detached root re-attached to its trace): each
/// such span and its subtree take what they lack from their new ancestors, with the rollups, as
/// if the parent had just arrived. `repaired` are (trace id, `trace_no`, new parent).
pub(crate) fn after_reparenting(
    conn: &Connection,
    repaired: &[(TraceId, i64, SpanId)],
    keys: &mut KeyIds,
) -> Result<Resolved, WriteError> {
    let mut by_trace: HashMap<i64, (TraceId, Vec<SpanId>)> = HashMap::new();
    for &(trace_id, trace_no, parent) in repaired {
        let parents = &mut by_trace
            .entry(trace_no)
            .or_insert_with(|| (trace_id, Vec::new()))
            .1;
        if !parents.contains(&parent) {
            parents.push(parent);
        }
    }
    fill_traces(conn, by_trace, keys, |_| None).map(|(resolved, _)| resolved)
}

/// Moves the rollup contributions of spans whose agent or framework changed.
fn apply_moves(
    conn: &Connection,
    moved: &[(OwnedFacts, OwnedFacts)],
    keys: &mut KeyIds,
) -> Result<(), WriteError> {
    let mut rollups = span_rollups::Batch::default();
    for (before, after) in moved {
        rollups.add(&before.facts(), -1);
        rollups.add(&after.facts(), 1);
    }
    rollups.apply(conn, keys)?;
    Ok(())
}

/// `SELECT` of a trace's spans for the up pass.
static READ_TRACE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT span_id, parent_span_id, coalesce(response_model, request_model), rowid, {}, \
         {FACT_COLUMNS} FROM spans WHERE trace_no = ?1",
        columns()
    )
});

/// `UPDATE` of a span's values, clearing its flag: `?1` its rowid, then the values in
/// [`InheritedField::ALL`]'s order.
static UPDATE_VALUES: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = InheritedField::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{} = ?{}", f.name(), i + 2))
        .collect();
    format!(
        "UPDATE spans SET {}, awaiting_parent_since = NULL WHERE rowid = ?1",
        sets.join(", ")
    )
});

fn read_trace(conn: &Connection, trace_no: i64) -> Result<Vec<Node>, WriteError> {
    let mut stmt = conn.prepare_cached(&READ_TRACE).db()?;
    let mut rows = stmt.query([trace_no]).db()?;
    let facts_at = 4 + InheritedField::ALL.len();
    let mut nodes = Vec::new();
    while let Some(row) = rows.next().db()? {
        let node = (|| {
            Ok::<_, QueryError>(Node {
                span_id: codec::span_id(row, 0)?,
                parent: codec::opt_span_id(row, 1)?,
                model: codec::opt_text(row, 2)?,
                rowid: codec::int(row, 3)?,
                values: read_attribution(row, 4)?,
                facts: OwnedFacts::read(row, facts_at)?,
            })
        })()
        .map_err(WriteError::from)?;
        nodes.push(node);
    }
    Ok(nodes)
}

/// The up pass's writes of span rows, prepared once for a write's traces.
struct RowWrites<'c> {
    update: CachedStatement<'c>,
    clear: CachedStatement<'c>,
}

impl<'c> RowWrites<'c> {
    fn prepare(conn: &'c Connection) -> Result<Self, DbError> {
        Ok(Self {
            update: conn.prepare_cached(&UPDATE_VALUES).db()?,
            clear: conn
                .prepare_cached("UPDATE spans SET awaiting_parent_since = NULL WHERE rowid = ?1")
                .db()?,
        })
    }

    /// Writes a span's new values (and clears its flag).
    fn update(&mut self, rowid: i64, after: &Attribution) -> Result<(), DbError> {
        let value = |f: InheritedField| after.get(f).map(|t| t.as_str());
        execute_typed!(
            self.update,
            [
                rowid,
                value(InheritedField::SessionId),
                value(InheritedField::UserId),
                value(InheritedField::CorrelationId),
                value(InheritedField::AgentName),
                value(InheritedField::AgentId),
                value(InheritedField::Framework),
            ]
        )
        .db()?;
        Ok(())
    }

    fn clear_flag(&mut self, rowid: i64) -> Result<(), DbError> {
        execute_typed!(self.clear, [rowid]).db()?;
        Ok(())
    }
}

/// Corrects the rows of the traces whose spans the up pass filled in: the row's session,
/// agent and user are its head span's, else any span's. A filled head rebuilds the row;
/// otherwise what the row lacks is taken from the filled spans.
pub(crate) fn fix_trace_rows(conn: &Connection, resolved: &Resolved) -> Result<(), WriteError> {
    let mut by_trace: HashMap<i64, Vec<&LateAttribution>> = HashMap::new();
    for (trace_no, l) in &resolved.late {
        if resolved.rows_to_fix.contains(trace_no) {
            by_trace.entry(*trace_no).or_default().push(l);
        }
    }
    for (trace_no, filled) in by_trace {
        let head: Option<Vec<u8>> = conn
            .prepare_cached("SELECT root_span_id FROM traces WHERE trace_no = ?1")
            .db()?
            .query_row([trace_no], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .db()?;
        let Some(head) = head else { continue };
        if filled.iter().any(|l| l.span_id.to_bytes()[..] == head[..]) {
            // Its time is noted by the write that brought the spans attributed.
            trace_summaries::recompute(conn, trace_no, &mut Touched::default())
                .map_err(WriteError::from)?;
            continue;
        }
        let mut any = Attribution::default();
        for l in &filled {
            any.inherit_from(&l.after);
        }
        let text = |t: &Option<agentrace_core::Text>| t.as_deref().map(str::to_owned);
        conn.prepare_cached(update_traces!(
            "SET session_id = coalesce(session_id, ?2), \
             agent_name = coalesce(agent_name, ?3), user_id = coalesce(user_id, ?4) \
             WHERE trace_no = ?1"
        ))
        .db()?
        .execute(params![
            trace_no,
            text(&any.session_id),
            text(&any.agent_name),
            text(&any.user_id)
        ])
        .db()?;
    }
    Ok(())
}
