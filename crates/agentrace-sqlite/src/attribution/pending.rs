//! What awaits a parent, in memory: the spans by trace and missing parent, with their expiry,
//! and the waiting traces' stored spans as the writer wrote them (see the module docs above).

use std::collections::{HashMap, HashSet, VecDeque};

use agentrace_core::{SpanId, SpanRecord, TraceId};
use rusqlite::{Connection, params};

use super::fill::{self, Node, TraceNodes};
use super::{MAX_CACHED_NODES, MAX_PENDING, Resolved, horizon_ns};
use crate::codec::{self, to_sql};
use crate::error::{Db, DbError};
use crate::span_rollups::KeyIds;
use agentrace_store::{QueryError, WriteError};

/// How often flags older than the horizon are cleared from the store.
const SWEEP_EVERY_NS: u64 = 60_000_000_000;

/// Spans awaiting their parent, by trace and parent; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    waiting: HashMap<(i64, SpanId), Vec<SpanId>>,
    /// Arrival order for expiry: (arrived, trace, parent). May name keys already resolved.
    order: VecDeque<(u64, i64, SpanId)>,
    count: usize,
    last_sweep: u64,
    /// The traces that have keys in `waiting`.
    traces: HashMap<i64, WaitingTrace>,
    /// The nodes held by `traces`.
    cached_nodes: usize,
}

/// A trace with spans awaiting a parent.
#[derive(Debug, Default)]
struct WaitingTrace {
    /// How many of its parents are awaited (its keys in `Pending::waiting`).
    parents: usize,
    /// Its spans stored since it began to wait, as written: all the up pass can reach from a
    /// parent that arrives (a stored span it reaches arrived with or after the waiting span
    /// above it). `None`: not held, read from the store.
    nodes: Option<Vec<Node>>,
}

/// Changes to [`Pending`] made by one write, applied once it is committed.
#[derive(Debug, Default)]
pub(crate) struct PendingChanges {
    added: Vec<(u64, i64, SpanId, SpanId)>,
    resolved: Vec<(i64, SpanId)>,
    swept: bool,
    /// The write's spans of traces whose nodes are held or begin to be.
    nodes: HashMap<i64, Vec<Node>>,
    /// The nodes of the traces the up pass filled, as they are after it.
    filled: Vec<TraceNodes>,
}

impl PendingChanges {
    /// `span` of `trace_no`, arrived at `now`, awaits `parent`.
    pub(crate) fn add(&mut self, now: u64, trace_no: i64, parent: SpanId, span: SpanId) {
        self.added.push((now, trace_no, parent, span));
    }
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

    /// Forgets the nodes held (the store changed under them: retention, repricing, repairs, a
    /// failed write); the up pass reads those traces from the store.
    pub(crate) fn forget_nodes(&mut self) {
        for trace in self.traces.values_mut() {
            trace.nodes = None;
        }
        self.cached_nodes = 0;
    }

    /// Notes a write's stored spans, `(index in spans, trace_no, rowid)`, as nodes of the
    /// traces held or beginning to wait with it. `spans[i]` is the span as stored (filled).
    pub(crate) fn note_stored<'a>(
        &self,
        changes: &mut PendingChanges,
        stored: impl Iterator<Item = (&'a SpanRecord, i64, i64)>,
    ) {
        let beginning: HashSet<i64> = changes
            .added
            .iter()
            .map(|a| a.1)
            .filter(|t| !self.traces.contains_key(t))
            .collect();
        for (span, trace_no, rowid) in stored {
            let held = match self.traces.get(&trace_no) {
                Some(trace) => trace.nodes.is_some(),
                None => beginning.contains(&trace_no),
            };
            if held {
                changes
                    .nodes
                    .entry(trace_no)
                    .or_default()
                    .push(Node::of(span, rowid));
            }
        }
    }

    /// Applies a committed write's changes, then forgets what is past the horizon or over the
    /// caps.
    pub(crate) fn apply(&mut self, changes: PendingChanges, now: u64) {
        // Added first: a trace whose last awaited parent arrived while another span of the
        // write began to wait goes on waiting, with its nodes.
        for (arrived, trace_no, parent, span) in changes.added {
            let spans = self.waiting.entry((trace_no, parent)).or_default();
            if spans.is_empty() {
                let trace = self.traces.entry(trace_no).or_insert_with(|| WaitingTrace {
                    parents: 0,
                    nodes: changes.nodes.contains_key(&trace_no).then(Vec::new),
                });
                trace.parents += 1;
            }
            if !spans.contains(&span) {
                spans.push(span);
                self.count += 1;
                self.order.push_back((arrived, trace_no, parent));
            }
        }
        for key in changes.resolved {
            self.forget(key);
        }
        for (trace_no, nodes) in changes.filled {
            if let Some(trace) = self.traces.get_mut(&trace_no) {
                self.cached_nodes += nodes.len();
                trace.nodes = Some(nodes);
            }
        }
        for (trace_no, nodes) in changes.nodes {
            if let Some(held) = self
                .traces
                .get_mut(&trace_no)
                .and_then(|t| t.nodes.as_mut())
            {
                self.cached_nodes += nodes.len();
                held.extend(nodes);
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
            self.forget((trace_no, parent));
        }
        // Entries of resolved keys linger in `order`; drop them when they are most of it.
        if self.order.len() > 1024 && self.order.len() > 2 * self.waiting.len() {
            let waiting = &self.waiting;
            self.order
                .retain(|(_, t, p)| waiting.contains_key(&(*t, *p)));
        }
        // Over the cap, the oldest waiting traces' nodes go first.
        let mut oldest = self.order.iter();
        while self.cached_nodes > MAX_CACHED_NODES
            && let Some((_, trace_no, _)) = oldest.next()
        {
            if let Some(nodes) = self.traces.get_mut(trace_no).and_then(|t| t.nodes.take()) {
                self.cached_nodes -= nodes.len();
            }
        }
    }

    /// Forgets the spans of `trace_no` awaiting `parent`, and the trace when it awaits no
    /// other.
    fn forget(&mut self, (trace_no, parent): (i64, SpanId)) {
        let Some(spans) = self.waiting.remove(&(trace_no, parent)) else {
            return;
        };
        self.count -= spans.len();
        if let Some(trace) = self.traces.get_mut(&trace_no) {
            trace.parents -= 1;
            if trace.parents == 0 {
                self.cached_nodes -= trace.nodes.as_ref().map_or(0, Vec::len);
                self.traces.remove(&trace_no);
            }
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
    /// [`fix_trace_rows`](super::fix_trace_rows), after the batch's own contributions are
    /// added. The nodes it takes are given back by [`apply`](Self::apply) once committed (and
    /// all are forgotten if the write fails).
    pub(crate) fn resolve(
        &mut self,
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
        let (resolved, filled) = fill::fill_traces(conn, by_trace, keys, |trace_no| {
            let mut nodes = self.traces.get_mut(&trace_no)?.nodes.take()?;
            self.cached_nodes -= nodes.len();
            nodes.extend(changes.nodes.remove(&trace_no).unwrap_or_default());
            Some(nodes)
        })?;
        changes.filled = filled;
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn id(n: u8) -> SpanId {
        SpanId::from_bytes([n; 8])
    }

    /// How many spans of `trace_no` await `parent`.
    fn waiting_for(pending: &Pending, trace_no: i64, parent: SpanId) -> usize {
        pending.waiting.get(&(trace_no, parent)).map_or(0, Vec::len)
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
        assert_eq!(pending.traces.len(), 2);

        let mut changes = PendingChanges::default();
        changes.resolved.push((1, id(1)));
        pending.apply(changes, 20 * SEC);
        assert_eq!(pending.len(), 1);
        assert!(!pending.awaits(1, id(1)));
        assert!(!pending.traces.contains_key(&1), "trace 1 awaits nothing");

        pending.apply(PendingChanges::default(), 10 * SEC + horizon_ns());
        assert_eq!(pending.len(), 1, "within the horizon still");
        pending.apply(PendingChanges::default(), 10 * SEC + horizon_ns() + 1);
        assert_eq!(pending.len(), 0);
        assert!(pending.order.is_empty() && pending.traces.is_empty());
    }
}
