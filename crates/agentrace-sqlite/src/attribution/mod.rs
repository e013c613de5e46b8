//! Attribution across writes: a span's session, user, correlation id, agent and framework
//! ([`Attribution`]) flow from its nearest ancestor that has them, whatever order the spans
//! arrive in (the rule: `agentrace_core::Attribution`, docs/conventions.md).
//!
//! Spans usually end, and so are exported, before their parents: an agent's LLM and tool calls
//! reach the store before the agent span that names the agent. The writer keeps one invariant:
//! *every stored span holds its own values, else those of its nearest stored ancestor*. Two
//! passes of each write keep it, both completing spans with the one function of the rule,
//! `agentrace_core::complete_attribution`; what is SQLite's here is what they read and write:
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
//! A parent arriving later than that does not fill its descendants in. Beside it, `Pending`
//! keeps what the up pass needs of a waiting trace's spans as the writer wrote them (at most
//! [`MAX_CACHED_NODES`]), so that a parent's arrival reads nothing back; a trace it does not
//! hold (after a restart, or past the cap) is read from the store.
//!
//! The passes: [`from_ancestors`] here, the waiting state in `pending`, the up pass's fill and
//! what follows it in `fill`.

mod fill;
mod pending;

pub(crate) use fill::{after_reparenting, fix_trace_rows};
pub(crate) use pending::{Pending, PendingChanges};

use agentrace_store::LateAttribution;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use std::time::Duration;

use agentrace_core::{
    Attribution, AttributionNode, InheritedField, SpanId, SpanRecord, TraceId, complete_attribution,
};
use rusqlite::{Connection, params};

use crate::codec;
use crate::error::Db;
use agentrace_store::{QueryError, WriteError};

/// How long after its arrival a span waits for its parent: an hour, the time a trace with
/// orphans is watched for late parents (six orphan grace periods of ten minutes).
pub const HORIZON: Duration = Duration::from_secs(3600);

/// Spans awaiting a parent kept at most (about 100 bytes each in memory).
pub const MAX_PENDING: usize = 500_000;

/// Spans of waiting traces whose values and rollup facts are kept in memory at most (a few
/// hundred bytes each).
pub(crate) const MAX_CACHED_NODES: usize = 100_000;

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
    /// The spans whose values it filled, with their values filled.
    pub(crate) filled: HashMap<usize, Attribution>,
    /// The spans that lack values and whose parent is neither in the batch nor stored.
    pub(crate) awaiting: HashSet<usize>,
}

/// The down pass over a batch: each span's values from its own, else its nearest ancestor's,
/// in the batch or stored (`agentrace_core::complete_attribution` over the batch and the
/// stored parents it reaches). `stored` is the `trace_no` of each span's trace if it was
/// stored before this batch (else nothing of it is).
pub(crate) fn from_ancestors(
    conn: &Connection,
    spans: &[&SpanRecord],
    stored: &[Option<i64>],
) -> Result<FromAncestors, WriteError> {
    let mut out = FromAncestors::default();
    if !spans.iter().any(|s| agentrace_core::lacks_attribution(s)) {
        return Ok(out);
    }
    let mut nodes: Vec<AttributionNode> = spans.iter().map(|s| AttributionNode::of(s)).collect();
    let in_batch: HashSet<(TraceId, SpanId)> =
        spans.iter().map(|s| (s.trace_id, s.span_id)).collect();
    // The stored parents of the spans that lack values and whose parent is not in the batch:
    // their values are complete as far as the stored tree goes.
    let mut looked_up = HashSet::new();
    for (s, trace_no) in spans.iter().zip(stored) {
        let (Some(parent), Some(trace_no)) = (s.parent_span_id, *trace_no) else {
            continue;
        };
        if !agentrace_core::lacks_attribution(s)
            || in_batch.contains(&(s.trace_id, parent))
            || !looked_up.insert((s.trace_id, parent))
        {
            continue;
        }
        let mut stmt = conn.prepare_cached(&LOOKUP).db()?;
        let mut rows = stmt.query(params![trace_no, parent.to_bytes()]).db()?;
        if let Some(row) = rows.next().db()? {
            nodes.push(AttributionNode {
                trace_id: s.trace_id,
                span_id: parent,
                parent_span_id: None,
                values: read_attribution(row, 0).map_err(WriteError::from)?,
            });
        }
    }
    let done = complete_attribution(&mut nodes);
    let batch = spans.len();
    for i in done.filled.into_iter().filter(|&i| i < batch) {
        out.filled.insert(i, std::mem::take(&mut nodes[i].values));
    }
    out.awaiting = done.awaiting.into_iter().filter(|&i| i < batch).collect();
    Ok(out)
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

/// `SELECT` of a stored span's values: `?1` trace_no, `?2` span id.
static LOOKUP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM spans WHERE trace_no = ?1 AND span_id = ?2",
        columns()
    )
});
