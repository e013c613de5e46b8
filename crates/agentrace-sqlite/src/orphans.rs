//! Repairs of stored spans, for the server's background repairs: rewriting the parent, the
//! attributes and the counts (usage, cost, aggregate mark) of stored spans — a detached root
//! re-attached to its trace, an orphan marked or unmarked, an aggregate found once its steps
//! arrived. A span given a parent takes, with its subtree, what it lacks of the attribution
//! from its new ancestors, as when a late parent arrives (`attribution`); a span whose counts
//! change moves its contribution in the span rollups and its trace's summary.

use agentrace_core::SpanRecord;
use agentrace_store::{Repaired, WriteError};

use crate::attribution;
use crate::past::Touched;
use crate::span_rewrite::rewrite;
use crate::store::SqliteStore;
use crate::trace_summaries;

impl SqliteStore {
    /// Rewrites the parent span id, the kind, the attributes, the status and the counts (token
    /// usage, cost, the aggregate mark) of stored spans with those of `spans` (matched by trace and span id;
    /// every other field is left as stored), in one transaction: a span given a parent takes,
    /// with its subtree, what it lacks of the attribution (agent, session, user, …) from its
    /// new ancestors, with the span rollups; a span whose counts changed moves its
    /// contribution in the span rollups; the summaries of the traces are recomputed (a
    /// re-attached root is no longer a root, an aggregate's usage no longer counts). A span
    /// not stored changes nothing.
    pub fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        // Through the writer's transaction: it knows that trace rows may be recreated.
        self.writer().transaction(|tx, keys| {
            // Each rewritten span with a parent, and that parent: a re-attached span takes what
            // it lacks from it; for the others the fill finds nothing to do.
            let done = rewrite(tx, spans, keys)?;
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
