//! Repairs of stored spans, for the server's background repairs and repricing: rewriting the
//! parent, the attributes and the counts (usage, cost, aggregate mark) of stored spans — a
//! detached root re-attached to its trace, an orphan marked or unmarked, an aggregate found
//! once its steps arrived — and replacing their cost after a price change. A span given a
//! parent takes, with its subtree, what it lacks of the attribution from its new ancestors, as
//! when a late parent arrives (`attribution`); a span whose counts change moves its
//! contribution in the span rollups and its trace's summary.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use agentrace_core::SpanRecord;
use agentrace_store::{CostUpdate, PastChanges, QueryError, Repaired, Repairs, WriteError};
use rusqlite::params;

use crate::attribution;
use crate::codec;
use crate::deferred_index::trace_no_of_id;
use crate::error::Db;
use crate::past::Touched;
use crate::span_rewrite::{ContentKept, rewrite};
use crate::span_rollups::{self, FACT_COLUMNS, OwnedFacts};
use crate::store::SqliteStore;
use crate::trace_summaries;

/// A span's costs and rollup facts, before the update.
static CURRENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT trace_no, cost_input, cost_cache_read, cost_cache_write, cost_output, \
         cost_total, {FACT_COLUMNS} FROM spans \
         WHERE trace_no = {} AND span_id = ?2",
        trace_no_of_id("?1")
    )
});

const UPDATE: &str = "UPDATE spans SET cost_input = ?1, cost_cache_read = ?2, cost_cache_write = ?3, \
     cost_output = ?4, cost_total = ?5 WHERE trace_no = ?6 AND span_id = ?7";

impl Repairs for SqliteStore {
    /// Rewrites the parent span id, the kind, the attributes, the status and the counts (token
    /// usage, cost, the aggregate mark) of stored spans with those of `spans` (matched by trace and span id;
    /// every other field is left as stored), in one transaction: a span given a parent takes,
    /// with its subtree, what it lacks of the attribution (agent, session, user, …) from its
    /// new ancestors, with the span rollups; a span whose counts changed moves its
    /// contribution in the span rollups; the summaries of the traces are recomputed (a
    /// re-attached root is no longer a root, an aggregate's usage no longer counts). A span
    /// not stored changes nothing.
    fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        // Through the writer's transaction: it knows that trace rows may be recreated.
        self.writer().transaction(|tx, keys| {
            // Each rewritten span with a parent, and that parent: a re-attached span takes what
            // it lacks from it; for the others the fill finds nothing to do.
            let done = rewrite(tx, spans, keys, ContentKept::Apart)?;
            let resolved = attribution::after_reparenting(tx, &done.with_parent, keys)?;
            let mut touched = Touched::default();
            for &trace_no in &done.traces {
                trace_summaries::recompute(tx, trace_no, &mut touched).map_err(WriteError::from)?;
            }
            touched.record(tx, agentrace_core::now_unix_nano())?;
            attribution::fix_trace_rows(tx, &resolved)?;
            Ok(Repaired {
                changed: done.changed,
                attributed: resolved.late.into_iter().map(|(_, late)| late).collect(),
            })
        })
    }

    /// Replaces the cost of stored spans in one transaction, and recomputes the summaries of
    /// their traces and their rollups. Returns how many spans' costs changed (an update to the
    /// same cost, or to a span not stored, changes nothing).
    fn update_costs(&self, updates: &[CostUpdate]) -> Result<usize, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        self.writer().transaction(|tx, keys| {
            let mut traces = BTreeSet::new();
            // (facts before, facts after) of each changed span.
            let mut changed = Vec::new();
            for u in updates {
                let c = u.cost.as_ref();
                let new = [
                    c.map(|c| c.input.nanos()),
                    c.map(|c| c.cache_read.nanos()),
                    c.map(|c| c.cache_write.nanos()),
                    c.map(|c| c.output.nanos()),
                    c.map(|c| c.total.nanos()),
                ];
                let span_id = u.span_id.to_bytes();
                let current = {
                    let mut stmt = tx.prepare_cached(&CURRENT).db()?;
                    let mut rows = stmt.query(params![u.trace_id.to_bytes(), span_id]).db()?;
                    match rows.next().db()? {
                        None => None,
                        Some(row) => {
                            let mut old = [None; 5];
                            for (i, o) in old.iter_mut().enumerate() {
                                *o = codec::opt_int(row, 1 + i).map_err(WriteError::from)?;
                            }
                            let facts = OwnedFacts::read(row, 6).map_err(WriteError::from)?;
                            Some((row.get::<_, i64>(0).db()?, old, facts))
                        }
                    }
                };
                let Some((trace_no, old, facts)) = current else {
                    continue;
                };
                if old == new {
                    continue;
                }
                tx.prepare_cached(UPDATE)
                    .db()?
                    .execute(params![
                        new[0], new[1], new[2], new[3], new[4], trace_no, span_id
                    ])
                    .db()?;
                traces.insert(trace_no);
                let mut after = facts.clone();
                after.cost = new[4];
                changed.push((facts, after));
            }
            let mut touched = Touched::default();
            for &trace_no in &traces {
                trace_summaries::recompute(tx, trace_no, &mut touched).map_err(WriteError::from)?;
            }
            touched.record(tx, agentrace_core::now_unix_nano())?;
            let mut batch = span_rollups::Batch::default();
            for (before, after) in &changed {
                batch.add(&before.facts(), -1);
                batch.add(&after.facts(), 1);
            }
            batch.apply(tx, keys)?;
            Ok(changed.len())
        })
    }

    /// How many stored spans lack a session, user, agent or framework and await their parent
    /// to fill it in (within [`ATTRIBUTION_HORIZON`](crate::ATTRIBUTION_HORIZON) of their
    /// arrival, at most [`MAX_AWAITING_PARENT`](crate::MAX_AWAITING_PARENT)).
    fn spans_awaiting_parent(&self) -> usize {
        self.writer().awaiting_parent()
    }

    fn past_changes(&self, cursor: u64) -> Result<PastChanges, QueryError> {
        self.read(|conn| crate::past::since(conn, cursor))
    }
}

#[cfg(test)]
mod tests {
    use agentrace_store::RecordWriter;
    use std::sync::Arc;

    use agentrace_core::{Resource, SpanId, TraceId};
    use agentrace_store::TraceReader;

    use super::*;

    #[test]
    fn parents_and_attributes_are_rewritten_and_the_tree_follows()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(dir.path().join("a.db"))?;
        let resource = Arc::new(Resource::new("svc"));
        let trace = TraceId::random();
        let root = SpanRecord::new(trace, SpanId::random(), "root", 0, 100, resource.clone());
        let detached = SpanRecord::new(trace, SpanId::random(), "late", 10, 20, resource);
        store.write_spans(&[root.clone(), detached.clone()])?;
        assert_eq!(store.trace(trace)?.ok_or("no trace")?.roots.len(), 2);

        let mut repaired = detached.clone();
        repaired.parent_span_id = Some(root.span_id);
        repaired
            .attributes
            .insert(agentrace_core::semconv::agentrace::REATTACHED, true);
        repaired.name = "ignored".into();
        assert_eq!(store.repair_spans(&[repaired.clone()])?.changed, 1);
        assert_eq!(
            store.repair_spans(&[repaired])?.changed,
            0,
            "nothing left to change"
        );

        let tree = store.trace(trace)?.ok_or("no trace")?;
        assert_eq!(tree.roots.len(), 1);
        let node = tree.find(detached.span_id).ok_or("lost")?;
        assert_eq!(node.span.parent_span_id, Some(root.span_id));
        assert_eq!(
            node.span.name, "late",
            "only the parent and attributes change"
        );
        assert!(node.reattached);
        assert_eq!(tree.summary.span_count, 2);
        Ok(())
    }
}
