//! Attribution across writes: a span's session, user, correlation id, agent and framework
//! ([`Attribution`]) flow from its nearest ancestor that has them, whatever order the spans
//! arrive in (the rule: `agentrace_core::Attribution`, docs/conventions.md).
//!
//! Spans usually end, and so are exported, before their parents: an agent's LLM and tool calls
//! reach the store before the agent span that names the agent. The writer keeps one invariant:
//! *every stored span holds its own values, else those of its nearest stored ancestor*. Two
//! passes of each write keep it:
//!
//! - **down** ([`from_ancestors`]): a span of the batch takes what it lacks from its parent, in
//!   the batch or already stored (whose values are complete as far as the stored tree goes);
//!   a span that lacks something and whose parent is nowhere yet is marked *awaiting its
//!   parent* (`spans.awaiting_parent_since`);
//! - **up** ([`Pending::resolve`]): a span whose stored children await it gives its values to
//!   them and down their stored subtrees (fields only ever filled where missing, never
//!   overwritten), and everything derived follows in the same transaction: the span rows, the
//!   minute/hour rollups (a span's contribution moves from "no agent" to its agent, never
//!   counted twice), the trace's row. The changes are reported ([`LateAttribution`]) so that
//!   the caller can correct what it keeps outside the store (budgets, a live feed).
//!
//! What awaits a parent is kept in memory ([`Pending`], keyed by trace and missing parent) and
//! in the store (the flagged rows, loaded again when a store opens), for at most
//! [`HORIZON`] after the span arrived and at most [`MAX_PENDING`] spans (the oldest go first).
//! A parent arriving later than that does not fill its descendants in.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::LazyLock;
use std::time::Duration;

use agentrace_core::{Attribution, InheritedField, SpanId, SpanRecord, TraceId, Usd};
use rusqlite::{Connection, params};

use crate::codec::{self, to_sql};
use crate::error::{Db, DbError, QueryError, WriteError};
use crate::rollup;
use crate::span_rollups::{self, AGENT, FACT_COLUMNS, FRAMEWORK, KeyIds, OwnedFacts};

/// How long after its arrival a span waits for its parent: an hour, the time a trace with
/// orphans is watched for late parents (six orphan grace periods of ten minutes).
pub const HORIZON: Duration = Duration::from_secs(3600);

/// Spans awaiting a parent kept at most (about 100 bytes each in memory).
pub const MAX_PENDING: usize = 500_000;

/// How often flags older than the horizon are cleared from the store.
const SWEEP_EVERY_NS: u64 = 60_000_000_000;

/// A stored span whose inherited fields a later write filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

/// The attribution columns of `spans`, in [`InheritedField::ALL`]'s order.
fn columns() -> String {
    InheritedField::ALL.map(InheritedField::name).join(", ")
}

fn read_attribution(row: &rusqlite::Row<'_>, at: usize) -> Result<Attribution, QueryError> {
    let mut a = Attribution::default();
    for (i, field) in InheritedField::ALL.into_iter().enumerate() {
        a.set(
            field,
            codec::opt_text(row, at + i)?.map(|t| t.as_str().into()),
        );
    }
    Ok(a)
}

/// What the down pass found for a batch.
#[derive(Debug, Default)]
pub(crate) struct FromAncestors {
    /// The spans whose values it filled, with them filled.
    pub(crate) filled: HashMap<usize, SpanRecord>,
    /// The spans that lack values and whose parent is neither in the batch nor stored.
    pub(crate) awaiting: HashSet<usize>,
}

/// Where a span of the batch stands in the down pass.
#[derive(Clone)]
enum State {
    Todo,
    Climbing,
    Done(Attribution),
}

/// The down pass over a batch: each span's values from its own, else its nearest ancestor's,
/// in the batch or stored. `numbers` are the spans' `trace_no`s, `created` the traces this
/// batch created (nothing of them is stored).
pub(crate) fn from_ancestors(
    conn: &Connection,
    spans: &[SpanRecord],
    numbers: &[i64],
    created: &HashSet<i64>,
) -> Result<FromAncestors, WriteError> {
    let mut out = FromAncestors::default();
    if !spans.iter().any(agentrace_core::lacks_attribution) {
        return Ok(out);
    }
    let index: HashMap<(TraceId, SpanId), usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id, s.span_id), i))
        .collect();
    let parent_in_batch = |i: usize| -> Option<usize> {
        let s = &spans[i];
        s.parent_span_id
            .and_then(|p| index.get(&(s.trace_id, p)).copied())
    };
    let mut states = vec![State::Todo; spans.len()];
    for start in 0..spans.len() {
        if !matches!(states[start], State::Todo) {
            continue;
        }
        // Climb to the first span whose values are known (or need no ancestor), then come
        // back down. A parent link back into the chain is a cycle: no parent.
        let mut chain = vec![start];
        states[start] = State::Climbing;
        let mut above: Option<Attribution> = None;
        while let Some(&top) = chain.last() {
            if !agentrace_core::lacks_attribution(&spans[top]) {
                break;
            }
            match parent_in_batch(top) {
                Some(p) => match &states[p] {
                    State::Todo => {
                        states[p] = State::Climbing;
                        chain.push(p);
                    }
                    State::Done(values) => {
                        above = Some(values.clone());
                        break;
                    }
                    State::Climbing => break,
                },
                None => {
                    let s = &spans[top];
                    if let Some(parent) = s.parent_span_id {
                        let stored = if created.contains(&numbers[top]) {
                            None
                        } else {
                            let mut stmt = conn.prepare_cached(&LOOKUP).db()?;
                            let mut rows =
                                stmt.query(params![numbers[top], parent.to_bytes()]).db()?;
                            match rows.next().db()? {
                                Some(row) => {
                                    Some(read_attribution(row, 0).map_err(WriteError::Rollup)?)
                                }
                                None => None,
                            }
                        };
                        match stored {
                            Some(values) => above = Some(values),
                            None => {
                                out.awaiting.insert(top);
                            }
                        }
                    }
                    break;
                }
            }
        }
        while let Some(i) = chain.pop() {
            let own = Attribution::of(&spans[i]);
            let mut values = own.clone();
            if let Some(above) = &above {
                values.inherit_from(above);
            }
            if values != own {
                let mut filled = spans[i].clone();
                values.apply_to(&mut filled);
                out.filled.insert(i, filled);
            }
            if out.awaiting.contains(&i) && values.is_complete() {
                out.awaiting.remove(&i);
            }
            above = Some(values.clone());
            states[i] = State::Done(values);
        }
    }
    Ok(out)
}

/// Spans awaiting their parent, by trace and parent; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    waiting: HashMap<(i64, SpanId), Vec<SpanId>>,
    /// Arrival order for expiry: (arrived, trace, parent). May name keys already resolved.
    order: VecDeque<(u64, i64, SpanId)>,
    count: usize,
    last_sweep: u64,
}

/// Changes to [`Pending`] made by one write, applied once it is committed.
#[derive(Debug, Default)]
pub(crate) struct PendingChanges {
    added: Vec<(u64, i64, SpanId, SpanId)>,
    resolved: Vec<(i64, SpanId)>,
    swept: bool,
}

impl PendingChanges {
    /// `span` of `trace_no`, arrived at `now`, awaits `parent`.
    pub(crate) fn add(&mut self, now: u64, trace_no: i64, parent: SpanId, span: SpanId) {
        self.added.push((now, trace_no, parent, span));
    }
}

/// A span of a trace and its stored values, read to resolve what awaits a parent.
struct Node {
    /// Its row.
    rowid: i64,
    span_id: SpanId,
    parent: Option<SpanId>,
    values: Attribution,
    model: Option<String>,
    /// What it contributes to the rollups (its cost and start among it).
    facts: OwnedFacts,
}

impl Pending {
    /// The spans awaiting a parent in the store at `path`'s writer connection, arrived since
    /// the horizon (the newest [`MAX_PENDING`]).
    pub(crate) fn load(conn: &Connection, now: u64) -> Result<Self, QueryError> {
        let since = now.saturating_sub(horizon_ns());
        let mut stmt = conn
            .prepare(
                "SELECT awaiting_parent_since, trace_no, parent_span_id, span_id FROM spans \
                 WHERE awaiting_parent_since >= ?1 ORDER BY awaiting_parent_since DESC LIMIT ?2",
            )
            .db()?;
        let mut rows = stmt
            .query(params![to_sql(since), MAX_PENDING as i64])
            .db()?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().db()? {
            let Some(parent) = codec::opt_span_id(row, 2)? else {
                continue;
            };
            found.push((
                codec::from_sql(codec::int(row, 0)?),
                codec::int(row, 1)?,
                parent,
                codec::span_id(row, 3)?,
            ));
        }
        let mut pending = Self {
            last_sweep: now,
            ..Self::default()
        };
        pending.apply(
            PendingChanges {
                added: found.into_iter().rev().collect(),
                ..PendingChanges::default()
            },
            now,
        );
        Ok(pending)
    }

    /// How many spans await a parent.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Whether spans of `trace_no` await `span`.
    pub(crate) fn awaits(&self, trace_no: i64, span: SpanId) -> bool {
        self.waiting.contains_key(&(trace_no, span))
    }

    /// Applies a committed write's changes, then forgets what is past the horizon or over the
    /// cap.
    pub(crate) fn apply(&mut self, changes: PendingChanges, now: u64) {
        for key in changes.resolved {
            if let Some(spans) = self.waiting.remove(&key) {
                self.count -= spans.len();
            }
        }
        for (arrived, trace_no, parent, span) in changes.added {
            let spans = self.waiting.entry((trace_no, parent)).or_default();
            if !spans.contains(&span) {
                spans.push(span);
                self.count += 1;
                self.order.push_back((arrived, trace_no, parent));
            }
        }
        if changes.swept {
            self.last_sweep = now;
        }
        let horizon = now.saturating_sub(horizon_ns());
        while let Some(&(arrived, trace_no, parent)) = self.order.front() {
            if arrived >= horizon && self.count <= MAX_PENDING {
                break;
            }
            self.order.pop_front();
            if let Some(spans) = self.waiting.remove(&(trace_no, parent)) {
                self.count -= spans.len();
            }
        }
        // Entries of resolved keys linger in `order`; drop them when they are most of it.
        if self.order.len() > 1024 && self.order.len() > 2 * self.waiting.len() {
            let waiting = &self.waiting;
            self.order
                .retain(|(_, t, p)| waiting.contains_key(&(*t, *p)));
        }
    }

    /// Clears, in the store, the flags of spans that waited longer than the horizon (once a
    /// minute).
    pub(crate) fn sweep(
        &self,
        conn: &Connection,
        now: u64,
        changes: &mut PendingChanges,
    ) -> Result<(), DbError> {
        if now.saturating_sub(self.last_sweep) < SWEEP_EVERY_NS {
            return Ok(());
        }
        conn.prepare_cached(
            "UPDATE spans SET awaiting_parent_since = NULL \
             WHERE awaiting_parent_since IS NOT NULL AND awaiting_parent_since < ?1",
        )
        .db()?
        .execute([to_sql(now.saturating_sub(horizon_ns()))])
        .db()?;
        changes.swept = true;
        Ok(())
    }

    /// The up pass: `arrived` are spans just inserted (trace id, `trace_no`, span id), whose
    /// stored descendants may await them. Fills those descendants in, with the rollups, and
    /// clears the flags of the children that awaited them. Trace rows are corrected by
    /// [`fix_trace_rows`], after the batch's own contributions are added.
    pub(crate) fn resolve(
        &self,
        conn: &Connection,
        arrived: &[(TraceId, i64, SpanId)],
        keys: &mut KeyIds,
        changes: &mut PendingChanges,
    ) -> Result<Resolved, WriteError> {
        let mut by_trace: HashMap<i64, (TraceId, Vec<SpanId>)> = HashMap::new();
        for &(trace_id, trace_no, span) in arrived {
            if self.awaits(trace_no, span) {
                by_trace
                    .entry(trace_no)
                    .or_insert_with(|| (trace_id, Vec::new()))
                    .1
                    .push(span);
                changes.resolved.push((trace_no, span));
            }
        }
        fill_traces(conn, by_trace, keys)
    }
}

/// [`fill_down`] from each trace's `parents`, then the rollup moves applied.
fn fill_traces(
    conn: &Connection,
    by_trace: HashMap<i64, (TraceId, Vec<SpanId>)>,
    keys: &mut KeyIds,
) -> Result<Resolved, WriteError> {
    let mut out = Resolved::default();
    // The rollup facts of filled spans whose agent or framework changed: before, after.
    let mut moved = Vec::new();
    for (trace_no, (trace_id, parents)) in by_trace {
        fill_down(conn, trace_id, trace_no, &parents, &mut out, &mut moved)?;
    }
    apply_moves(conn, &moved, keys)?;
    Ok(out)
}

/// Fills the descendants of `parents` (spans of the trace `trace_no`, stored) from them, down
/// their stored subtrees, where they lack values; clears the flags of their children. Adds the
/// filled spans to `out` and their rollup moves to `moved` (applied by the caller).
fn fill_down(
    conn: &Connection,
    trace_id: TraceId,
    trace_no: i64,
    parents: &[SpanId],
    out: &mut Resolved,
    moved: &mut Vec<(OwnedFacts, OwnedFacts)>,
) -> Result<(), WriteError> {
    let nodes = read_trace(conn, trace_no)?;
    let at: HashMap<SpanId, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.span_id, i))
        .collect();
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        if let Some(p) = n.parent {
            children.entry(p).or_default().push(i);
        }
    }
    let mut values: Vec<Attribution> = nodes.iter().map(|n| n.values.clone()).collect();
    let mut changed: Vec<bool> = vec![false; nodes.len()];
    let mut unflag = Vec::new();
    let mut by_roots_only = true;
    for &parent in parents {
        let Some(&from) = at.get(&parent) else {
            continue;
        };
        by_roots_only &= nodes[from].parent.is_none();
        let mut stack = vec![from];
        let mut seen = HashSet::from([from]);
        while let Some(node) = stack.pop() {
            let Some(kids) = children.get(&nodes[node].span_id) else {
                continue;
            };
            for &kid in kids {
                if node == from {
                    unflag.push(kid);
                }
                if !seen.insert(kid) {
                    continue;
                }
                let above = values[node].clone();
                if values[kid].inherit_from(&above) {
                    changed[kid] = true;
                    stack.push(kid);
                }
            }
        }
    }
    for &kid in &unflag {
        if !changed[kid] {
            clear_flag(conn, nodes[kid].rowid)?;
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        if !changed[i] {
            continue;
        }
        let after = &values[i];
        moved.extend(update_span(conn, node, after)?);
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
    fill_traces(conn, by_trace, keys)
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

/// What the up pass did.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// The spans it filled in, with their `trace_no`.
    pub(crate) late: Vec<(i64, LateAttribution)>,
    /// The traces whose rows [`fix_trace_rows`] must correct.
    pub(crate) rows_to_fix: HashSet<i64>,
}

fn horizon_ns() -> u64 {
    u64::try_from(HORIZON.as_nanos()).unwrap_or(u64::MAX)
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

/// `SELECT` of a stored span's values: `?1` trace_no, `?2` span id.
static LOOKUP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM spans WHERE trace_no = ?1 AND span_id = ?2",
        columns()
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
        .map_err(WriteError::Rollup)?;
        nodes.push(node);
    }
    Ok(nodes)
}

fn clear_flag(conn: &Connection, rowid: i64) -> Result<(), DbError> {
    conn.prepare_cached("UPDATE spans SET awaiting_parent_since = NULL WHERE rowid = ?1")
        .db()?
        .execute([rowid])
        .db()?;
    Ok(())
}

/// Writes a span's new values (and clears its flag). Returns its rollup facts before and
/// after when a rollup dimension (agent, framework) changed.
fn update_span(
    conn: &Connection,
    node: &Node,
    after: &Attribution,
) -> Result<Option<(OwnedFacts, OwnedFacts)>, WriteError> {
    let moved = (after.agent_name != node.values.agent_name
        || after.framework != node.values.framework)
        .then(|| {
            let mut now = node.facts.clone();
            now.set_dim(AGENT, after.agent_name.as_deref().map(str::to_owned));
            now.set_dim(FRAMEWORK, after.framework.as_deref().map(str::to_owned));
            (node.facts.clone(), now)
        });
    let value = |f: InheritedField| after.get(f).map(|t| t.as_str());
    conn.prepare_cached(&UPDATE_VALUES)
        .db()?
        .execute(params![
            node.rowid,
            value(InheritedField::SessionId),
            value(InheritedField::UserId),
            value(InheritedField::CorrelationId),
            value(InheritedField::AgentName),
            value(InheritedField::AgentId),
            value(InheritedField::Framework),
        ])
        .db()?;
    Ok(moved)
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
            rollup::recompute(conn, trace_no).map_err(WriteError::Rollup)?;
            continue;
        }
        let mut any = Attribution::default();
        for l in &filled {
            any.inherit_from(&l.after);
        }
        let text = |t: &Option<agentrace_core::Text>| t.as_deref().map(str::to_owned);
        conn.prepare_cached(
            "UPDATE traces SET session_id = coalesce(session_id, ?2), \
             agent_name = coalesce(agent_name, ?3), user_id = coalesce(user_id, ?4) \
             WHERE trace_no = ?1",
        )
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

/// How many spans of `trace_no` await `parent`.
#[cfg(test)]
fn waiting_for(pending: &Pending, trace_no: i64, parent: SpanId) -> usize {
    pending.waiting.get(&(trace_no, parent)).map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn id(n: u8) -> SpanId {
        SpanId::from_bytes([n; 8])
    }

    #[test]
    fn pending_spans_are_forgotten_past_the_horizon_and_resolved_once() {
        let mut pending = Pending::default();
        let mut changes = PendingChanges::default();
        changes.add(0, 1, id(1), id(2));
        changes.add(0, 1, id(1), id(3));
        changes.add(10 * SEC, 2, id(1), id(4));
        pending.apply(changes, 10 * SEC);
        assert_eq!(pending.len(), 3);
        assert_eq!(waiting_for(&pending, 1, id(1)), 2);
        assert!(pending.awaits(2, id(1)) && !pending.awaits(2, id(2)));

        let mut changes = PendingChanges::default();
        changes.resolved.push((1, id(1)));
        pending.apply(changes, 20 * SEC);
        assert_eq!(pending.len(), 1);
        assert!(!pending.awaits(1, id(1)));

        pending.apply(PendingChanges::default(), 10 * SEC + horizon_ns());
        assert_eq!(pending.len(), 1, "within the horizon still");
        pending.apply(PendingChanges::default(), 10 * SEC + horizon_ns() + 1);
        assert_eq!(pending.len(), 0);
        assert!(pending.order.is_empty());
    }
}
