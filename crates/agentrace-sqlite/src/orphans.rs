//! Repairs of stored spans, for the server's background repairs: rewriting the parent, the
//! attributes and the counts (usage, cost, aggregate mark) of stored spans — a detached root
//! re-attached to its trace, an orphan marked or unmarked, an aggregate found once its steps
//! arrived. A span given a parent takes, with its subtree, what it lacks of the attribution
//! from its new ancestors, as when a late parent arrives (`attribution`); a span whose counts
//! change moves its contribution in the span rollups and its trace's summary.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use agentrace_core::normalize::{is_aggregate, mark_aggregate};
use agentrace_core::{SpanRecord, TraceId};
use rusqlite::{Connection, params};

use agentrace_store::Repaired;

use crate::attribution;
use crate::codec::{self, ResourceCache, SPAN_COLUMNS, attributes_json, to_sql};
use crate::deferred_index::trace_no_of_id;
use crate::error::Db;
use crate::rollup;
use crate::span_rollups::{self, FACT_COLUMNS, KeyIds, OwnedFacts};
use crate::store::SqliteStore;
use agentrace_store::{QueryError, WriteError};

/// A span's rollup facts, before it is rewritten.
static CURRENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {FACT_COLUMNS} FROM spans WHERE trace_no = {} AND span_id = ?2",
        trace_no_of_id("?1")
    )
});

static UPDATE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE spans SET parent_span_id = ?1, attributes = ?2, input_tokens = ?5, \
         output_tokens = ?6, cache_read_tokens = ?7, cache_write_tokens = ?8, \
         reasoning_tokens = ?9, cache_write_1h_tokens = ?10, cost_input = ?11, \
         cost_cache_read = ?12, cost_cache_write = ?13, cost_output = ?14, cost_total = ?15, \
         aggregate = ?16, reasoning_reported = ?17, status_code = ?18, status_message = ?19, \
         kind = ?20 \
         WHERE trace_no = {} AND span_id = ?4 \
         AND (parent_span_id IS NOT ?1 OR attributes IS NOT ?2 OR input_tokens IS NOT ?5 \
         OR output_tokens IS NOT ?6 OR cache_read_tokens IS NOT ?7 \
         OR cache_write_tokens IS NOT ?8 OR reasoning_tokens IS NOT ?9 \
         OR cache_write_1h_tokens IS NOT ?10 OR cost_total IS NOT ?15 OR aggregate IS NOT ?16 \
         OR reasoning_reported IS NOT ?17 OR status_code IS NOT ?18 \
         OR status_message IS NOT ?19 OR kind IS NOT ?20) \
         RETURNING trace_no",
        trace_no_of_id("?3")
    )
});

/// What [`rewrite`] did: the traces it touched, the spans it changed, and those given a
/// parent.
#[derive(Default)]
struct Rewritten {
    traces: BTreeSet<i64>,
    changed: usize,
    with_parent: Vec<(TraceId, i64, agentrace_core::SpanId)>,
}

/// Rewrites the parent, the kind, the attributes, the status and the counts of stored spans
/// with those of `spans`, moving the contributions of those whose kind, counts, outcome or MCP
/// server changed in the span rollups.
fn rewrite(
    tx: &Connection,
    spans: &[SpanRecord],
    keys: &mut KeyIds,
) -> Result<Rewritten, WriteError> {
    let mut done = Rewritten::default();
    // (facts before, facts after) of each span whose counts changed.
    let mut moved = Vec::new();
    let mut current = tx.prepare_cached(&CURRENT).db()?;
    let mut update = tx.prepare_cached(&UPDATE).db()?;
    for s in spans {
        let before = {
            let mut rows = current
                .query(params![s.trace_id.to_bytes(), s.span_id.to_bytes()])
                .db()?;
            match rows.next().db()? {
                Some(row) => OwnedFacts::read(row, 0).map_err(WriteError::from)?,
                None => continue,
            }
        };
        let attributes = attributes_json(&s.attributes)?;
        let usage = &s.usage;
        let cost = s.cost.as_ref();
        let aggregate = is_aggregate(s);
        let mut rows = update
            .query(params![
                s.parent_span_id.map(|p| p.to_bytes()),
                attributes,
                s.trace_id.to_bytes(),
                s.span_id.to_bytes(),
                to_sql(usage.input_tokens),
                to_sql(usage.output_tokens),
                to_sql(usage.cache_read_tokens),
                to_sql(usage.cache_write_tokens),
                to_sql(usage.reasoning_or_zero()),
                to_sql(usage.cache_write_1h_tokens),
                cost.map(|c| c.input.nanos()),
                cost.map(|c| c.cache_read.nanos()),
                cost.map(|c| c.cache_write.nanos()),
                cost.map(|c| c.output.nanos()),
                cost.map(|c| c.total.nanos()),
                i64::from(aggregate),
                i64::from(usage.reasoning_tokens.is_some()),
                codec::status_to_sql(s.status.code),
                s.status.message.as_deref(),
                s.kind.as_str(),
            ])
            .db()?;
        while let Some(row) = rows.next().db()? {
            let trace_no = row.get::<_, i64>(0).db()?;
            done.traces.insert(trace_no);
            done.changed += 1;
            if let Some(parent) = s.parent_span_id {
                done.with_parent.push((s.trace_id, trace_no, parent));
            }
            let after = before.repaired(s, aggregate);
            if after != before {
                moved.push((before.clone(), after));
            }
        }
    }
    let mut moves = span_rollups::Batch::default();
    for (before, after) in &moved {
        moves.add(&before.facts(), -1);
        moves.add(&after.facts(), 1);
    }
    moves.apply(tx, keys)?;
    Ok(done)
}

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
            for &trace_no in &done.traces {
                rollup::recompute(tx, trace_no).map_err(WriteError::from)?;
            }
            attribution::fix_trace_rows(tx, &resolved)?;
            Ok(Repaired {
                changed: done.changed,
                attributed: resolved.late.into_iter().map(|(_, late)| late).collect(),
            })
        })
    }
}

/// How many columns [`SPAN_COLUMNS`] names.
const SPAN_COLUMN_COUNT: usize = 36;

/// Spans rewritten per step of [`recount_marked_aggregates`].
const RECOUNT_CHUNK: i64 = 10_000;

/// Migration 8 → 9: spans marked `agentrace.aggregate` before aggregates were counted
/// nowhere get the `aggregate` column and their usage and cost moved out of every total
/// (core's `mark_aggregate`), their traces' summaries recomputed.
pub(crate) fn recount_marked_aggregates(conn: &Connection) -> Result<(), QueryError> {
    let mut keys = KeyIds::default();
    let mut after = i64::MIN;
    loop {
        let mut marked = Vec::new();
        {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {SPAN_COLUMNS}, s.rowid FROM spans AS s WHERE s.rowid > ?1 \
                     AND s.aggregate = 0 \
                     AND json_extract(s.attributes, '$.\"agentrace.aggregate\"') = 1 \
                     ORDER BY s.rowid LIMIT ?2"
                ))
                .db()?;
            let mut resources = ResourceCache::default();
            let mut rows = stmt.query(params![after, RECOUNT_CHUNK]).db()?;
            while let Some(row) = rows.next().db()? {
                after = row.get(SPAN_COLUMN_COUNT).db()?;
                let mut span = codec::span(row, conn, &mut resources)?;
                mark_aggregate(&mut span);
                marked.push(span);
            }
        }
        if marked.is_empty() {
            return Ok(());
        }
        let done = rewrite(conn, &marked, &mut keys).map_err(|e| match e {
            WriteError::Unavailable(e) => QueryError::Unavailable(e),
            WriteError::Failed(e) => QueryError::Failed(e),
            other => QueryError::decode("aggregate span", other),
        })?;
        for &trace_no in &done.traces {
            rollup::recompute(conn, trace_no)?;
        }
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
