//! Repricing: replacing the cost of stored spans after a price change.

use std::collections::BTreeSet;

use agentrace_core::{Cost, SpanId, TraceId};
use rusqlite::TransactionBehavior;
use rusqlite::params;

use crate::error::{Db, WriteError};
use crate::rollup;
use crate::store::SqliteStore;

/// A new cost for one stored span (`None`: unpriced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostUpdate {
    /// The span's trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// Its new cost.
    pub cost: Option<Cost>,
}

const UPDATE: &str = "UPDATE spans SET cost_input = ?1, cost_cache_read = ?2, cost_cache_write = ?3, \
     cost_output = ?4, cost_total = ?5 \
     WHERE trace_no = (SELECT trace_no FROM traces WHERE trace_id = ?6) AND span_id = ?7 \
     AND (cost_input IS NOT ?1 OR cost_cache_read IS NOT ?2 OR cost_cache_write IS NOT ?3 \
          OR cost_output IS NOT ?4 OR cost_total IS NOT ?5) \
     RETURNING trace_no";

impl SqliteStore {
    /// Replaces the cost of stored spans in one transaction and recomputes the summaries of
    /// their traces. Returns how many spans' costs changed (an update to the same cost, or to a
    /// span not stored, changes nothing).
    pub fn update_costs(&self, updates: &[CostUpdate]) -> Result<usize, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        let mut writer = self.writer();
        let tx = writer
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let mut traces = BTreeSet::new();
        let mut changed = 0;
        {
            let mut stmt = tx.prepare_cached(UPDATE).db()?;
            for u in updates {
                let c = u.cost.as_ref();
                let mut rows = stmt
                    .query(params![
                        c.map(|c| c.input.nanos()),
                        c.map(|c| c.cache_read.nanos()),
                        c.map(|c| c.cache_write.nanos()),
                        c.map(|c| c.output.nanos()),
                        c.map(|c| c.total.nanos()),
                        u.trace_id.to_bytes(),
                        u.span_id.to_bytes(),
                    ])
                    .db()?;
                while let Some(row) = rows.next().db()? {
                    traces.insert(row.get::<_, i64>(0).db()?);
                    changed += 1;
                }
            }
        }
        for trace_no in traces {
            rollup::recompute(&tx, trace_no).map_err(WriteError::Rollup)?;
        }
        tx.commit().db()?;
        Ok(changed)
    }
}
