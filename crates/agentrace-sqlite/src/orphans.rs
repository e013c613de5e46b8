//! Orphan repair: rewriting the parent and the attributes of stored spans, for the server's
//! background repairs (a detached root re-attached to its trace, an orphan marked or
//! unmarked). A span given a parent takes, with its subtree, what it lacks of the attribution
//! from its new ancestors, as when a late parent arrives (`attribution`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use agentrace_core::SpanRecord;
use rusqlite::params;

use crate::attribution::{self, LateAttribution};
use crate::codec::attributes_json;
use crate::deferred_index::trace_no_of_id;
use crate::error::{Db, WriteError};
use crate::rollup;
use crate::store::SqliteStore;

static UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE spans SET parent_span_id = ?1, attributes = ?2 \
         WHERE trace_no = {} AND span_id = ?4 \
         AND (parent_span_id IS NOT ?1 OR attributes IS NOT ?2) \
         RETURNING trace_no",
        trace_no_of_id("?3")
    )
});

/// What [`SqliteStore::repair_spans`] changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repaired {
    /// The spans rewritten.
    pub changed: usize,
    /// Stored spans whose attribution their new ancestors completed (the re-parented spans
    /// and their subtrees), for what the caller keeps outside the store (budgets, a live feed).
    pub attributed: Vec<LateAttribution>,
}

impl SqliteStore {
    /// Rewrites the parent span id and the attributes of stored spans with those of `spans`
    /// (matched by trace and span id; every other field is left as stored), in one
    /// transaction: a span given a parent takes, with its subtree, what it lacks of the
    /// attribution (agent, session, user, …) from its new ancestors, with the span rollups;
    /// the summaries of the traces are recomputed (a re-attached root is no longer a root).
    /// A span not stored changes nothing.
    pub fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        // Through the writer's transaction: it knows that trace rows may be recreated.
        self.writer().transaction(|tx, keys| {
            let mut traces = BTreeSet::new();
            let mut changed = 0;
            // Each rewritten span with a parent, and that parent: a re-attached span takes what
            // it lacks from it; for the others (orphan marks) the fill finds nothing to do.
            let mut with_parent = Vec::new();
            {
                let mut stmt = tx.prepare_cached(&UPDATE).db()?;
                for s in spans {
                    let attributes = attributes_json(&s.attributes)?;
                    let mut rows = stmt
                        .query(params![
                            s.parent_span_id.map(|p| p.to_bytes()),
                            attributes,
                            s.trace_id.to_bytes(),
                            s.span_id.to_bytes(),
                        ])
                        .db()?;
                    while let Some(row) = rows.next().db()? {
                        let trace_no = row.get::<_, i64>(0).db()?;
                        traces.insert(trace_no);
                        changed += 1;
                        if let Some(parent) = s.parent_span_id {
                            with_parent.push((s.trace_id, trace_no, parent));
                        }
                    }
                }
            }
            let resolved = attribution::after_reparenting(tx, &with_parent, keys)?;
            for trace_no in traces {
                rollup::recompute(tx, trace_no).map_err(WriteError::Rollup)?;
            }
            attribution::fix_trace_rows(tx, &resolved)?;
            Ok(Repaired {
                changed,
                attributed: resolved.late.into_iter().map(|(_, late)| late).collect(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::{Resource, SpanId, TraceId};

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
        store.insert_spans(&[root.clone(), detached.clone()])?;
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
