//! Repricing: replacing the cost of stored spans after a price change.

use agentrace_store::CostUpdate;
use std::collections::BTreeSet;
use std::sync::LazyLock;

use rusqlite::params;

use crate::codec;
use crate::deferred_index::trace_no_of_id;
use crate::error::Db;
use crate::past::Touched;
use crate::span_rollups::{self, FACT_COLUMNS, OwnedFacts};
use crate::store::SqliteStore;
use crate::trace_summaries;
use agentrace_store::WriteError;

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

impl SqliteStore {
    /// Replaces the cost of stored spans in one transaction, and recomputes the summaries of
    /// their traces and their rollups. Returns how many spans' costs changed (an update to the
    /// same cost, or to a span not stored, changes nothing).
    pub fn update_costs(&self, updates: &[CostUpdate]) -> Result<usize, WriteError> {
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
}
