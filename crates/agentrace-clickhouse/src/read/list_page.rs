//! A page of the trace list in its own order (list time) over a range without an end, picked
//! from `trace_list` (schema version 11): its candidates read in order from the cursor's,
//! each kept if it is its trace's list time in `trace_heads` and the trace starts in the
//! range, until the page is full. Reads grow twofold while candidates are passed over (a
//! trace written in many parts has a candidate for each), so a page of 50 traces written
//! whole reads about a hundred candidates, however many traces the project holds.
//!
//! A range with an end is not read so: a trace starting before the end may have its list time
//! after it (its earliest span arrived in a later write), so every candidate after the end
//! would have to be read. Such a page is picked from `trace_heads` whole
//! (`super::traces`).

use std::collections::{HashMap, HashSet};

use agentrace_core::TraceId;
use agentrace_store::QueryError;
use clickhouse::Row;
use serde::Deserialize;

use crate::error;
use crate::sql;
use crate::store::ClickHouseStore;

/// The most candidates one read takes.
const MAX_READ: usize = 65_536;

/// A candidate: a list time a write of the trace gave it.
#[derive(Debug, Row, Deserialize)]
struct Candidate {
    list_ns: i64,
    trace_id: [u8; 16],
}

/// A trace's head: its list time and start.
#[derive(Debug, Row, Deserialize)]
struct Head {
    trace_id: [u8; 16],
    list_ns: i64,
    start_ns: i64,
}

/// Where a page of the list starts and which way it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageStart {
    /// The range's start: the traces starting at or after it.
    pub(crate) since: Option<u64>,
    /// The cursor's list time and trace: the page holds the traces past it.
    pub(crate) after: Option<(i64, TraceId)>,
    /// Newest first (else oldest first).
    pub(crate) newest_first: bool,
}

impl ClickHouseStore {
    /// The first `want` traces of the list from `start`, in its order.
    pub(crate) async fn list_page(
        &self,
        start: PageStart,
        want: usize,
    ) -> Result<Vec<TraceId>, QueryError> {
        let (cmp, bound, dir) = if start.newest_first {
            ("<", "<=", "DESC")
        } else {
            (">", ">=", "ASC")
        };
        let mut position = start.after;
        let mut picked = Vec::new();
        let mut seen = HashSet::new();
        let mut read = want.saturating_mul(2).clamp(16, MAX_READ);
        while picked.len() < want {
            let mut conditions = vec![self.scope()];
            if let Some(since) = start.since {
                conditions.push(format!("list_time >= {}", sql::time(since)));
            }
            if let Some((ns, id)) = position {
                let time = format!("fromUnixTimestamp64Nano(toInt64({ns}))");
                // The plain bound is the one the primary index narrows the read by.
                conditions.push(format!("list_time {bound} {time}"));
                conditions.push(format!(
                    "(list_time, trace_id) {cmp} ({time}, {})",
                    sql::trace_id(id)
                ));
            }
            let candidates: Vec<Candidate> = self
                .client()
                .query(&format!(
                    "SELECT toInt64(toUnixTimestamp64Nano(list_time)) AS list_ns, trace_id \
                     FROM trace_list WHERE {} ORDER BY list_time {dir}, trace_id {dir} \
                     LIMIT {read}",
                    conditions.join(" AND ")
                ))
                .fetch_all()
                .await
                .map_err(error::query)?;
            let Some(last) = candidates.last() else {
                break;
            };
            position = Some((last.list_ns, TraceId::from_bytes(last.trace_id)));
            let heads = self.heads(&candidates).await?;
            for c in &candidates {
                let Some(head) = heads.get(&c.trace_id) else {
                    continue;
                };
                let in_range = start
                    .since
                    .is_none_or(|since| u64::try_from(head.start_ns).is_ok_and(|s| s >= since));
                if head.list_ns == c.list_ns && in_range && seen.insert(c.trace_id) {
                    picked.push(TraceId::from_bytes(c.trace_id));
                    if picked.len() == want {
                        break;
                    }
                }
            }
            if candidates.len() < read {
                break;
            }
            read = read.saturating_mul(2).min(MAX_READ);
        }
        Ok(picked)
    }

    /// The heads of the traces of `candidates`, by trace id.
    async fn heads(&self, candidates: &[Candidate]) -> Result<HashMap<[u8; 16], Head>, QueryError> {
        let ids: Vec<TraceId> = candidates
            .iter()
            .map(|c| TraceId::from_bytes(c.trace_id))
            .collect();
        let heads: Vec<Head> = self
            .client()
            .query(&format!(
                "SELECT trace_id, toInt64(toUnixTimestamp64Nano(argMinMerge(list_time))) \
                 AS list_ns, toInt64(toUnixTimestamp64Nano(min(start))) AS start_ns \
                 FROM trace_heads WHERE {} AND trace_id IN ({}) GROUP BY trace_id",
                self.scope(),
                sql::trace_ids(ids.iter())
            ))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(heads.into_iter().map(|h| (h.trace_id, h)).collect())
    }
}
