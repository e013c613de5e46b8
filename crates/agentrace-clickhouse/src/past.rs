//! Changes of the past (`Repairs::past_changes`): two materialized views write a row into
//! `past_changes` for each insert into `spans` or `scores` holding rows older than
//! [`PAST`](agentrace_store::PAST) — a late span, a span rewritten (attribution completed,
//! repriced, repaired: its new and cancelling rows keep its start), a score written with an
//! old time or deleted (its deleted version keeps its time) — with the range of their times
//! and, for spans, up to [`PAST_TRACES`] of their traces, whose starts widen the range (a
//! trace's cost counts at its start). A purge by size writes one itself, and so does a write
//! of scores replacing one whose old time is in the past. The cursor is the
//! time of the last row read (by the server's clock); each read takes the rows of the
//! [`MARGIN`] before it again, so that an insert made visible late is not missed. Rows are
//! kept a day (TTL).
//!
//! Not seen: a span whose own start is recent, of a trace that started long before (it
//! changes that trace's cost) — until the trace's root, exported last with the trace's start,
//! arrives; rows expired by age, which the engine drops in the background.

use std::time::Duration;

use agentrace_store::{PastChanges, QueryError};
use clickhouse::Row;
use serde::Deserialize;

use crate::error;
use crate::schema::PAST_TRACES;
use crate::sql;
use crate::store::ClickHouseStore;

/// How far before its cursor a read looks again.
const MARGIN: Duration = Duration::from_secs(60);

/// What the rows after a cursor hold.
#[derive(Debug, Row, Deserialize)]
struct Recorded {
    rows: u64,
    last: u64,
    from_ns: u64,
    to_ns: u64,
    widest: u64,
}

impl ClickHouseStore {
    pub(crate) async fn past_changes(&self, cursor: u64) -> Result<PastChanges, QueryError> {
        let margin = u64::try_from(MARGIN.as_nanos()).unwrap_or(u64::MAX);
        let after = format!(
            "{} AND at > {}",
            self.scope(),
            sql::time(cursor.saturating_sub(margin))
        );
        let recorded: Recorded = self
            .client()
            .query(&format!(
                "SELECT count() AS rows, toUInt64(toUnixTimestamp64Nano(max(at))) AS last, \
                 toUInt64(toUnixTimestamp64Nano(min(from_time))) AS from_ns, \
                 toUInt64(toUnixTimestamp64Nano(max(to_time))) AS to_ns, \
                 max(trace_count) AS widest FROM past_changes WHERE {after}"
            ))
            .fetch_one()
            .await
            .map_err(error::query)?;
        if recorded.rows == 0 {
            return Ok(PastChanges::new(cursor, None));
        }
        let from = if recorded.widest > PAST_TRACES {
            0
        } else {
            // The traces' starts, from the heads the view keeps (none for scores).
            let started: Option<u64> = self
                .client()
                .query(&format!(
                    "SELECT toUInt64(toUnixTimestamp64Nano(minOrNull(start))) FROM trace_heads \
                     WHERE {} AND trace_id IN (SELECT arrayJoin(traces) FROM past_changes \
                     WHERE {after})",
                    self.scope()
                ))
                .fetch_one()
                .await
                .map_err(error::query)?;
            started.map_or(recorded.from_ns, |s| s.min(recorded.from_ns))
        };
        Ok(PastChanges::new(
            recorded.last.max(cursor),
            Some((from, recorded.to_ns)),
        ))
    }

    /// Records a change of the data from `from` to `to` (ns) that no view sees: everything
    /// before a purge's cutoff, the old time of a score written again.
    pub(crate) async fn record_past_change(
        &self,
        from: u64,
        to: u64,
    ) -> Result<(), clickhouse::error::Error> {
        self.client()
            .query(&format!(
                "INSERT INTO past_changes (project, at, from_time, to_time, traces, trace_count) \
                 VALUES ({}, now64(9), {}, {}, [], 0)",
                self.project(),
                sql::time(from),
                sql::time(to)
            ))
            .execute()
            .await
    }
}
