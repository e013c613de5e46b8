//! What a store keeps besides the records, and how it is kept: alert history, retention,
//! repairs, health.

use agentrace_core::SpanRecord;

use crate::changes::{AlertRecord, CostUpdate, PastChanges, Repaired};
use crate::error::{QueryError, RetentionError, WriteError};
use crate::health::{HeldStatus, StoreHealth, WalStatus};
use crate::model::RecordKind;
use crate::read::TraceReader;

/// The history of alert notifications: what the alert engine sent, and the states it resumes
/// from after a restart (on any node of a fleet).
///
/// # Contract (checked by the conformance suite)
/// A batch is stored whole or not at all; what was stored is read back unchanged, newest
/// first, by any node. Required: [`insert_alert_records`](Self::insert_alert_records) and
/// [`alert_records`](Self::alert_records); the rest is provided on top of them.
pub trait AlertHistory {
    /// Stores notifications, all or none.
    fn insert_alert_records(&self, records: &[AlertRecord]) -> Result<(), WriteError>;

    /// Stored notifications, newest first: at most `limit`, before `before` (ns, exclusive)
    /// if given, of one alert if given.
    fn alert_records(
        &self,
        alert: Option<&str>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, QueryError>;

    /// Each alert's newest notification, in no order. Provided: reads the history back to
    /// the oldest; a store that can pick each alert's newest in place does better.
    fn latest_alert_records(&self) -> Result<Vec<AlertRecord>, QueryError> {
        let mut latest: std::collections::BTreeMap<String, AlertRecord> =
            std::collections::BTreeMap::new();
        let mut before = None;
        loop {
            let page = self.alert_records(None, before, ALERT_PAGE)?;
            let Some(oldest) = page.last().map(|r| r.time_unix_nano) else {
                break;
            };
            let full = page.len() == ALERT_PAGE;
            for record in page {
                latest.entry(record.alert.clone()).or_insert(record);
            }
            // The next page starts with what shares the oldest time (seen again harmlessly);
            // a page all of one time ends the read rather than repeat itself.
            match before {
                _ if !full => break,
                Some(b) if b == oldest + 1 => break,
                _ => before = Some(oldest + 1),
            }
        }
        Ok(latest.into_values().collect())
    }
}

/// Notifications read a page at a time by [`AlertHistory::latest_alert_records`].
const ALERT_PAGE: usize = 1_000;

/// Deleting old records, by age or to stay within a size.
///
/// # Contract (checked by the conformance suite)
/// A deletion never leaves a record half there: what a query answers after it is what it
/// would answer had the deleted records never been written (trace summaries, rollups and
/// sessions recomputed from what stays). Counts and sizes describe what is stored now, not
/// what was ever written. Required: [`delete_before`](Self::delete_before),
/// [`stored_bytes`](Self::stored_bytes) and [`nth_oldest`](Self::nth_oldest).
pub trait Retention {
    /// Deletes the spans (by start), events (by time) or metrics (by the end of their
    /// bucket) older than `cutoff_unix_nano`; returns how many were deleted. Summaries stay
    /// right: a trace that lost some spans is recomputed from the rest. May work in chunks;
    /// what a failure leaves deleted stays deleted.
    fn delete_before(
        &self,
        kind: RecordKind,
        cutoff_unix_nano: u64,
    ) -> Result<usize, RetentionError>;

    /// Bytes in use by one data type, or (`None`) by the whole store.
    fn stored_bytes(&self, kind: Option<RecordKind>) -> Result<u64, QueryError>;

    /// How many records of a data type are stored. Provided: the first `n` at which
    /// [`nth_oldest`](Self::nth_oldest) finds none, by doubling then halving (a few dozen
    /// reads); a store that counts in place does better.
    fn count(&self, kind: RecordKind) -> Result<u64, QueryError> {
        if self.nth_oldest(kind, 0)?.is_none() {
            return Ok(0);
        }
        // `nth_oldest(found)` finds one, `nth_oldest(beyond)` none.
        let (mut found, mut beyond) = (0, 1u64);
        while self.nth_oldest(kind, beyond)?.is_some() {
            found = beyond;
            beyond = beyond.saturating_mul(2);
        }
        while beyond - found > 1 {
            let middle = found + (beyond - found) / 2;
            if self.nth_oldest(kind, middle)?.is_some() {
                found = middle;
            } else {
                beyond = middle;
            }
        }
        Ok(found + 1)
    }

    /// The time of the `n`-th oldest record (0: the oldest), by the time
    /// [`delete_before`](Self::delete_before) deletes by; `None` when fewer are stored.
    fn nth_oldest(&self, kind: RecordKind, n: u64) -> Result<Option<u64>, QueryError>;

    /// Has the store itself expire a data type's records older than `max_age` (`None`: keep
    /// them), if it can, and says whether it does. A store that can (ClickHouse: a TTL on the
    /// data type's tables, applied by its merges) spares the server deleting by age with
    /// [`delete_before`](Self::delete_before) on every run; by default a store cannot, and
    /// the server does. Called when the server starts, with the same rules on every node.
    fn expire_after(
        &self,
        kind: RecordKind,
        max_age: Option<std::time::Duration>,
    ) -> Result<bool, RetentionError> {
        let _ = (kind, max_age);
        Ok(false)
    }
}

/// Rewriting stored spans: the server's background repairs and repricing.
///
/// # Contract (checked by the conformance suite)
/// A repair is whole or nothing, and every answer that depends on a repaired span (trees,
/// the trace list, sessions, aggregates, rollups, tallies) reflects it once the call returns,
/// as if the span had been written so in the first place. Every change that reaches the past
/// is reported by [`past_changes`](Self::past_changes). Required:
/// [`repair_spans`](Self::repair_spans) and [`past_changes`](Self::past_changes).
pub trait Repairs: TraceReader {
    /// Rewrites the parent, the kind, the attributes, the status and the counts (usage, cost,
    /// aggregate mark) of stored spans with those of `spans` (matched by trace and span id; every other
    /// field as stored), all or none: a span given a parent takes, with its subtree, what it lacks
    /// of the attribution from its new ancestors; rollups and trace summaries follow. A span
    /// not stored changes nothing.
    fn repair_spans(&self, spans: &[SpanRecord]) -> Result<Repaired, WriteError>;

    /// Replaces the cost of stored spans, all or none, rollups and summaries following;
    /// returns how many changed (an update to the same cost, or of a span not stored, changes
    /// nothing). Provided: the spans read, given their new costs and rewritten by
    /// [`repair_spans`](Self::repair_spans) in one call.
    fn update_costs(&self, updates: &[CostUpdate]) -> Result<usize, WriteError> {
        let mut changed: Vec<SpanRecord> = Vec::new();
        for update in updates {
            let stored = self.span(update.trace_id, update.span_id)?;
            let Some(mut span) = stored.filter(|s| s.cost != update.cost) else {
                continue;
            };
            span.cost = update.cost;
            match changed
                .iter_mut()
                .find(|s| s.span_id == span.span_id && s.trace_id == span.trace_id)
            {
                Some(earlier) => *earlier = span,
                None => changed.push(span),
            }
        }
        if changed.is_empty() {
            return Ok(0);
        }
        Ok(self.repair_spans(&changed)?.changed)
    }

    /// How many spans lack an attribution their parent has not brought yet, stored or held
    /// for it (a gauge for `/status`). Provided: 0, for a store that keeps no count of them.
    fn spans_awaiting_parent(&self) -> usize {
        0
    }

    /// What the writes after `cursor` (0: the first read) changed of the past: the range of
    /// the data they changed, whenever it reaches more than [`PAST`](crate::PAST) before the
    /// write — spans (of a trace, its whole time: where its cost, its session's and its runs'
    /// are counted), scores (their time, and a score written again or deleted its old time),
    /// costs, repairs and purges. For whoever keeps counts of the past (the server's SLOs, by
    /// the hour): they drop those the range meets. A store may report a change again (one that
    /// cannot order its writes exactly reports those near the cursor twice), never miss one it
    /// says it reports; what each store cannot see is in its documentation. Cheap: one read of
    /// the changes recorded since the cursor.
    fn past_changes(&self, cursor: u64) -> Result<PastChanges, QueryError>;
}

/// What the server reports of its store, and its last word at shutdown.
///
/// # Contract (checked by the conformance suite)
/// Every method is cheap enough for `/readyz` and `/status` to call on each request; none
/// writes. After [`close`](Self::close) returns, everything written is durable, and an
/// empty store reports its schema version and a size. Required:
/// [`describe`](Self::describe), [`health`](Self::health) and [`close`](Self::close);
/// [`wal`](Self::wal) and [`held`](Self::held) say `None` for a store without them.
pub trait Health {
    /// What and where the store is, for logs (a path, a URL without credentials).
    fn describe(&self) -> String;

    /// Its schema version, its size on disk and whether it was shut down: one round trip,
    /// cheap enough for `/readyz` to ask on every probe.
    fn health(&self) -> Result<StoreHealth, QueryError>;

    /// The write-ahead log of a store that keeps one locally (SQLite); `None` otherwise.
    fn wal(&self) -> Option<WalStatus> {
        None
    }

    /// The spans a store holds for their parent in a local spool (ClickHouse with
    /// `hold_awaiting`); `None` for a store that holds none.
    fn held(&self) -> Option<HeldStatus> {
        None
    }

    /// Makes everything written durable before the process exits (SQLite: a checkpoint of
    /// its log).
    fn close(&self) -> Result<(), WriteError>;
}
