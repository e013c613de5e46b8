//! Writes: spans (deduplicated, their attribution completed across writes), events, metric
//! points, alert notifications. Each write is one `INSERT` per table, answered once
//! ClickHouse has the rows.
//!
//! A span batch first reads what is stored of its traces (the attribution columns and the
//! version of each span; the bloom filter on `trace_id` finds them): spans already stored
//! are duplicates, arriving spans take what they lack from stored ancestors, and stored
//! descendants that the arriving spans complete are written again, whole, with a newer
//! version (the `ReplacingMergeTree` keeps the newest; nothing is updated in place).
//!
//! A store that holds spans awaiting their parent (`hold_awaiting`, the `held` module) reads
//! the held spans of the batch's traces too: held spans the batch completes are written
//! with it, once; arriving spans that await their parent are held instead of written (and
//! journaled in ClickHouse in the same round trip as the batch's spans). The
//! held traces due are written with the batch too: those looked up (their spans whose parent
//! another node stored are written) and those released (held past the hold: written as they
//! are); the store's timer writes them when no batch comes.
//! Writes are one at a time (what a write reads must stay true until it is written).

use std::borrow::{Borrow, BorrowMut};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use agentrace_core::normalize::is_aggregate;
use agentrace_core::{
    Attribution, AttributionNode, Event, Measurement, SpanId, SpanRecord, TraceId,
    complete_attribution, now_unix_nano,
};
use agentrace_store::{AlertRecord, InsertReport, LateAttribution, SpanRows, WriteError};
use clickhouse::{Row, RowOwned, RowRead};
use serde::{Deserialize, Serialize};

use crate::error;
use crate::held::journal::JournalRow;
use crate::held::{MAX_LOOKED_UP, Pending, Taken};
use crate::row::{EventRow, SpanRow, Stamp, Versioned};
use crate::sql::{self, trace_ids};
use crate::store::ClickHouseStore;

/// What a write reads of a stored span.
#[derive(Debug, Row, Deserialize)]
pub(crate) struct StoredRow {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: Option<[u8; 8]>,
    session_id: Option<String>,
    user_id: Option<String>,
    correlation_id: Option<String>,
    agent_name: Option<String>,
    agent_id: Option<String>,
    framework: Option<String>,
    version: u64,
}

impl StoredRow {
    /// The span as attribution sees it.
    pub(crate) fn node(&self) -> AttributionNode {
        AttributionNode {
            trace_id: TraceId::from_bytes(self.trace_id),
            span_id: SpanId::from_bytes(self.span_id),
            parent_span_id: self.parent_span_id.map(SpanId::from_bytes),
            values: Attribution {
                session_id: self.session_id.clone().map(Into::into),
                user_id: self.user_id.clone().map(Into::into),
                correlation_id: self.correlation_id.clone().map(Into::into),
                agent_name: self.agent_name.clone().map(Into::into),
                agent_id: self.agent_id.clone().map(Into::into),
                framework: self.framework.clone().map(Into::into),
            },
        }
    }
}

impl Versioned for StoredRow {
    fn ids(&self) -> (TraceId, SpanId) {
        (
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
        )
    }

    fn version(&self) -> u64 {
        self.version
    }
}

/// The newest version of each span among `rows` (what `FINAL` would read).
fn newest<R: Versioned>(rows: Vec<R>) -> Vec<R> {
    let mut by_span: HashMap<(TraceId, SpanId), R> = HashMap::with_capacity(rows.len());
    for row in rows {
        match by_span.entry(row.ids()) {
            Entry::Occupied(mut kept) => {
                if row.version() > kept.get().version() {
                    kept.insert(row);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(row);
            }
        }
    }
    by_span.into_values().collect()
}

/// A stored span whose values spans arriving later complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completed {
    /// The span, as stored.
    pub(crate) node: AttributionNode,
    /// Its stored version.
    pub(crate) version: u64,
    /// Its values now.
    pub(crate) after: Attribution,
}

/// What [`complete`] found.
#[derive(Debug, Default)]
pub(crate) struct Completion {
    /// The stored spans the arriving ones complete.
    pub(crate) completed: Vec<Completed>,
    /// The arriving spans that await their parent, by index.
    pub(crate) awaiting: Vec<usize>,
}

/// Completes the attribution of `stored` spans (as read) and `arriving` ones together
/// (`agentrace_core::complete_attribution`): fills what each arriving span lacks, and says
/// which stored spans that completes and which arriving ones await their parent.
pub(crate) fn complete<R: BorrowMut<SpanRecord>>(
    stored: &[&StoredRow],
    arriving: &mut [R],
) -> Completion {
    let first_arriving = stored.len();
    let mut nodes: Vec<AttributionNode> = stored.iter().map(|r| r.node()).collect();
    nodes.extend(arriving.iter().map(|s| AttributionNode::of(s.borrow())));
    let before: Vec<Attribution> = nodes[..first_arriving]
        .iter()
        .map(|n| n.values.clone())
        .collect();
    let done = complete_attribution(&mut nodes);
    let mut out = Completion {
        awaiting: done
            .awaiting
            .iter()
            .filter_map(|i| i.checked_sub(first_arriving))
            .collect(),
        ..Completion::default()
    };
    for i in done.filled {
        match i.checked_sub(first_arriving) {
            Some(a) => nodes[i].values.apply_to(arriving[a].borrow_mut()),
            None => {
                let mut node = nodes[i].clone();
                let after = std::mem::replace(&mut node.values, before[i].clone());
                out.completed.push(Completed {
                    node,
                    version: stored[i].version,
                    after,
                });
            }
        }
    }
    out
}

/// The spans of a trace's `records` (completed) that await a parent not among them: those
/// `awaiting` it, and those still lacking a value below one of them (they complete from it
/// when its parent comes), by index.
fn awaiting_below<R: Borrow<SpanRecord>>(records: &[R], awaiting: &[usize]) -> HashSet<usize> {
    if awaiting.is_empty() {
        return HashSet::new();
    }
    let tops: HashSet<usize> = awaiting.iter().copied().collect();
    let records: Vec<&SpanRecord> = records.iter().map(Borrow::borrow).collect();
    let index: HashMap<SpanId, usize> = records
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    (0..records.len())
        .filter(|&k| {
            if tops.contains(&k) {
                return true;
            }
            if Attribution::of(records[k]).is_complete() {
                return false;
            }
            let mut at = k;
            // At most one step a span: a cycle ends.
            for _ in 0..records.len() {
                match records[at].parent_span_id.and_then(|p| index.get(&p)) {
                    Some(&parent) if tops.contains(&parent) => return true,
                    Some(&parent) => at = parent,
                    None => return false,
                }
            }
            false
        })
        .collect()
}

/// A span a write stores, by where it comes from.
#[expect(
    clippy::large_enum_variant,
    reason = "an arriving span is moved in once, per trace; a box would cost an allocation a span"
)]
enum Writing<'t> {
    /// Held: its index among those taken, the span (completed in place), its values when it
    /// arrived.
    Held {
        index: usize,
        span: &'t mut SpanRecord,
        before: &'t Attribution,
    },
    /// Arriving now.
    Arriving { span: SpanRecord, aggregate: bool },
}

impl Borrow<SpanRecord> for Writing<'_> {
    fn borrow(&self) -> &SpanRecord {
        match self {
            Writing::Held { span, .. } => span,
            Writing::Arriving { span, .. } => span,
        }
    }
}

impl BorrowMut<SpanRecord> for Writing<'_> {
    fn borrow_mut(&mut self) -> &mut SpanRecord {
        match self {
            Writing::Held { span, .. } => span,
            Writing::Arriving { span, .. } => span,
        }
    }
}

/// What the caller learns of a span whose values a write completed (`after`, applied to
/// `span`), from `before`.
fn late_attribution(
    span: &SpanRecord,
    aggregate: bool,
    before: Attribution,
    after: Attribution,
) -> LateAttribution {
    LateAttribution {
        trace_id: span.trace_id,
        span_id: span.span_id,
        before,
        after,
        model: span
            .response_model
            .as_deref()
            .or(span.request_model.as_deref())
            .map(str::to_owned),
        cost: span.cost.filter(|_| !aggregate).map(|c| c.total),
        start_time_unix_nano: span.start_time_unix_nano,
    }
}

/// A row of `metric_points`: one series' measurements of one minute in one write.
#[derive(Debug, Row, Serialize)]
struct PointRow {
    project: u32,
    name: String,
    kind: String,
    unit: Option<String>,
    labels: String,
    bucket: i64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
    last_time: i64,
}

/// A row of `alert_notifications`.
#[derive(Debug, Row, Serialize, Deserialize)]
pub(crate) struct AlertRow {
    pub(crate) project: u32,
    pub(crate) time: i64,
    pub(crate) alert: String,
    pub(crate) rule: String,
    pub(crate) state: String,
    pub(crate) previous: String,
    pub(crate) reason: String,
    pub(crate) body: String,
}

const MINUTE_NS: u64 = 60_000_000_000;

/// The traces one read of stored spans names at most: 68 bytes of SQL each, so that a read
/// stays well within ClickHouse's `max_query_size` (256 KiB by default), whatever a batch
/// brings.
const TRACES_A_READ: usize = 2048;

/// The held traces a batch looks up at least, however few traces it brings.
const LOOKUPS_WITH_A_BATCH: usize = 64;

/// Nanoseconds as `DateTime64(9)` stores them.
pub(crate) fn ns(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl ClickHouseStore {
    /// Stores spans: see the module's documentation.
    pub(crate) async fn write_spans(&self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        if rows.is_empty() {
            return Ok(InsertReport::default());
        }
        let arriving: Vec<(SpanRecord, bool)> = rows
            .spans()
            .iter()
            .cloned()
            .zip(rows.json().iter().map(|j| j.aggregate))
            .collect();
        let mut unreported = self.writing().await;
        // The held traces due are read and written with the batch: no statement of their own,
        // and at most as many looked up as the batch brings traces (at least
        // `LOOKUPS_WITH_A_BATCH`): under load, when every held trace is soon due, the
        // batch's read stays about its own size; the others wait for the next batch.
        let lookups = arriving
            .iter()
            .map(|(s, _)| s.trace_id)
            .collect::<HashSet<_>>()
            .len()
            .max(LOOKUPS_WITH_A_BATCH);
        let pending = self
            .held_spans()
            .and_then(|h| {
                h.pending(Some(self.project()), false, lookups)
                    .remove(&self.project())
            })
            .unwrap_or_default();
        let mut report = self.store_spans(arriving, pending).await?;
        let earlier = unreported.remove(&self.project()).unwrap_or_default();
        report.attributed.splice(0..0, earlier);
        Ok(report)
    }

    /// Writes the held spans of the traces due, of every project, each into its own
    /// (`HeldSpans::pending`; `all`: every held span, whatever it awaits) when no batch came
    /// to write them (none within the last tick took every trace due): how many. Their late
    /// attributions are reported with their project's next batch. A deleted project's are
    /// dropped.
    pub(crate) async fn write_held(&self, all: bool) -> Result<usize, WriteError> {
        let Some(held) = self.held_spans() else {
            return Ok(0);
        };
        let mut unreported = self.writing().await;
        if !all && held.caught_up_within_a_tick() {
            return Ok(0);
        }
        let before = held.len();
        for (project, pending) in held.pending(None, all, MAX_LOOKED_UP) {
            let store = self.in_project(project);
            if store.deleted() {
                let mut traces = pending.looked_up;
                traces.extend(pending.released);
                held.take(project, &traces).settle(&HashSet::new());
                continue;
            }
            let report = store.store_spans(Vec::new(), pending).await?;
            unreported
                .entry(project)
                .or_default()
                .extend(report.attributed);
        }
        Ok(before.saturating_sub(held.len()))
    }

    /// Stores `arriving` spans with the held spans of their traces and of the `pending` ones:
    /// the held ones taken out, and settled once the write is done (put back if it fails or
    /// is dropped, timed out).
    async fn store_spans(
        &self,
        arriving: Vec<(SpanRecord, bool)>,
        pending: Pending,
    ) -> Result<InsertReport, WriteError> {
        let Pending {
            released,
            looked_up: mut traces,
            rechecked,
        } = pending;
        traces.extend(released.iter().copied());
        traces.extend(rechecked);
        traces.extend(arriving.iter().map(|(s, _)| s.trace_id));
        let mut taken = self.held_spans().map(|h| h.take(self.project(), &traces));
        let held = taken.iter_mut().flat_map(Taken::for_write).collect();
        let (report, kept) = self.store_with(arriving, held, &traces, &released).await?;
        if let Some(taken) = taken {
            taken.settle(&kept);
        }
        Ok(report)
    }

    /// [`store_spans`](Self::store_spans) once the held spans are `taken`: the report, and
    /// which of `taken` stay held (none of the `released` traces').
    async fn store_with(
        &self,
        arriving: Vec<(SpanRecord, bool)>,
        taken: Vec<(usize, &mut SpanRecord, &Attribution)>,
        traces: &HashSet<TraceId>,
        released: &HashSet<TraceId>,
    ) -> Result<(InsertReport, HashSet<usize>), WriteError> {
        let mut report = InsertReport::default();
        let stored: Vec<StoredRow> = self.spans_of_traces(traces.iter()).await?;
        let mut stored_by_trace: HashMap<TraceId, Vec<&StoredRow>> = HashMap::new();
        for row in &stored {
            stored_by_trace
                .entry(TraceId::from_bytes(row.trace_id))
                .or_default()
                .push(row);
        }
        // Each trace's spans to write: those held (unless a copy was stored since: a node
        // started again over its spool), then those arriving, neither stored nor earlier.
        let mut seen: HashSet<(TraceId, SpanId)> = stored
            .iter()
            .map(|r| {
                (
                    TraceId::from_bytes(r.trace_id),
                    SpanId::from_bytes(r.span_id),
                )
            })
            .collect();
        let mut by_trace: BTreeMap<TraceId, Vec<Writing<'_>>> = BTreeMap::new();
        for (index, span, before) in taken {
            if seen.insert((span.trace_id, span.span_id)) {
                by_trace
                    .entry(span.trace_id)
                    .or_default()
                    .push(Writing::Held {
                        index,
                        span,
                        before,
                    });
            }
        }
        for (span, aggregate) in arriving {
            if seen.insert((span.trace_id, span.span_id)) {
                report.inserted += 1;
                by_trace
                    .entry(span.trace_id)
                    .or_default()
                    .push(Writing::Arriving { span, aggregate });
            } else {
                report.duplicates += 1;
            }
        }
        let version = now_unix_nano();
        // Sized for every span up front: a row is half a kilobyte, and a write has thousands.
        let mut out: Vec<SpanRow> = Vec::with_capacity(by_trace.values().map(Vec::len).sum());
        let mut completed: Vec<Completed> = Vec::new();
        let mut kept = HashSet::new();
        let mut to_hold = Vec::new();
        // Traces written with spans awaiting their parent: looked up again.
        let mut recheck = Vec::new();
        for (trace_id, mut spans) in by_trace {
            let hold = self.held_spans().is_some() && !released.contains(&trace_id);
            let stored = stored_by_trace.remove(&trace_id).unwrap_or_default();
            let completion = complete(&stored, &mut spans);
            completed.extend(completion.completed);
            if !hold && !completion.awaiting.is_empty() {
                recheck.push(trace_id);
            }
            let awaiting = if hold {
                awaiting_below(&spans, &completion.awaiting)
            } else {
                HashSet::new()
            };
            for (k, writing) in spans.into_iter().enumerate() {
                let waits = awaiting.contains(&k);
                match writing {
                    // Held on: `Taken::settle` gives it back its values as taken.
                    Writing::Held { index, .. } if waits => {
                        kept.insert(index);
                    }
                    Writing::Held { span, before, .. } => {
                        let aggregate = is_aggregate(span);
                        let after = Attribution::of(span);
                        if after != *before {
                            report.attributed.push(late_attribution(
                                span,
                                aggregate,
                                before.clone(),
                                after,
                            ));
                        }
                        out.push(SpanRow::new(span, aggregate, self.stamp(version)));
                    }
                    Writing::Arriving { span, .. } if waits => to_hold.push(span),
                    Writing::Arriving { span, aggregate } => {
                        out.push(SpanRow::new(&span, aggregate, self.stamp(version)));
                    }
                }
            }
        }
        // The traces read with nothing to write (looked up again): their stored spans
        // complete one another, should a parent have crossed its children's write.
        for stored in stored_by_trace.values() {
            completed.extend(complete::<SpanRecord>(stored, &mut []).completed);
        }
        if !completed.is_empty() {
            let rewritten = self.rewrite_attribution(&completed, version).await?;
            for (cancel, row, late) in rewritten {
                out.push(cancel);
                out.push(row);
                report.attributed.push(late);
            }
        }
        let unheld = self.insert_holding(&out, to_hold).await?;
        recheck.extend(unheld.iter().map(|s| s.trace_id));
        // What could not be held is written now (and rewritten when its parent comes).
        let unheld: Vec<SpanRow> = unheld
            .iter()
            .map(|span| SpanRow::new(span, is_aggregate(span), self.stamp(version)))
            .collect();
        self.insert_rows("spans", unheld.iter()).await?;
        if let Some(held) = self.held_spans() {
            held.recheck(self.project(), recheck);
        }
        Ok((report, kept))
    }

    /// Inserts `rows` into `spans` and, in the same round trip, journals the spans `to_hold`
    /// (then held) with the releases of held spans written before (`held::journal`): the
    /// spans to write at once instead, those over the bound or all if the journal failed.
    /// Fails if the spans' insert does (nothing is held then: the batch is sent again).
    async fn insert_holding(
        &self,
        rows: &[SpanRow],
        to_hold: Vec<SpanRecord>,
    ) -> Result<Vec<SpanRecord>, WriteError> {
        let Some(held) = self.held_spans() else {
            self.insert_rows("spans", rows.iter()).await?;
            return Ok(to_hold);
        };
        let (mut admitted, unheld) = held.admit(to_hold);
        let released = held.take_released();
        let held_at = now_unix_nano();
        let node = self.node_id();
        let journal: Vec<JournalRow> = admitted
            .iter_mut()
            .map(|j| JournalRow::held(node, self.project(), j, held_at))
            .chain(
                released
                    .iter()
                    .map(|r| JournalRow::released(node, r, held_at)),
            )
            .collect();
        let (inserted, journaled) = tokio::join!(
            self.insert_rows("spans", rows.iter()),
            self.insert_rows("held_spans", journal.iter())
        );
        if journaled.is_err() || inserted.is_err() {
            held.unrelease(released);
        }
        inserted?;
        if journaled.is_err() {
            held.journal_failed(admitted.len());
            let mut unheld = unheld;
            unheld.extend(admitted.into_iter().map(|j| *j.span));
            return Ok(unheld);
        }
        held.hold_journaled(self.project(), admitted, held_at);
        Ok(unheld)
    }

    /// The stored spans of `completed` (read whole) given their new attribution and a version
    /// newer than the stored one (and than `version`), keeping who first stored them; each
    /// after the row cancelling its stored one in the rollups.
    pub(crate) async fn rewrite_attribution(
        &self,
        completed: &[Completed],
        version: u64,
    ) -> Result<Vec<(SpanRow, SpanRow, LateAttribution)>, WriteError> {
        let rows = self
            .stored_spans(completed.iter().map(|c| (c.node.trace_id, c.node.span_id)))
            .await?;
        let by_id: HashMap<(TraceId, SpanId), &Completed> = completed
            .iter()
            .map(|c| ((c.node.trace_id, c.node.span_id), c))
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let aggregate = row.is_aggregate();
            let stamp = row.restamp(version);
            let cancel = row.cancelling();
            let mut span = row
                .into_record()
                .map_err(|e| WriteError::Rejected(Box::new(e)))?;
            let Some(c) = by_id.get(&(span.trace_id, span.span_id)) else {
                continue;
            };
            c.after.apply_to(&mut span);
            let late = late_attribution(&span, aggregate, c.node.values.clone(), c.after.clone());
            out.push((cancel, SpanRow::new(&span, aggregate, stamp), late));
        }
        Ok(out)
    }

    /// The stored rows of `ids`, newest versions. Their traces are read whole and the rest
    /// dropped here: the bloom filter on `trace_id` finds a trace's granules, while a
    /// condition on `(trace_id, span_id)` pairs costs the engine three times as much (measured
    /// on the fixture: 27 ms against 9 for 250 spans of 50 traces).
    pub(crate) async fn stored_spans(
        &self,
        ids: impl Iterator<Item = (TraceId, SpanId)>,
    ) -> Result<Vec<SpanRow>, WriteError> {
        let wanted: HashSet<(TraceId, SpanId)> = ids.collect();
        let traces: BTreeSet<TraceId> = wanted.iter().map(|(t, _)| *t).collect();
        let mut rows: Vec<SpanRow> = self.spans_of_traces(traces.iter()).await?;
        rows.retain(|r| wanted.contains(&r.ids()));
        Ok(rows)
    }

    /// The stored spans of `traces` (newest versions) as `R` reads them; the bloom filter on
    /// `trace_id` finds their granules. The newest version of each span is picked here, not by
    /// `FINAL` (which merges the granules read: 42 ms against 24 for 150 traces of 500 k
    /// spans, timed in chdb); cancelling rows (`sign` -1) are never read.
    pub(crate) async fn spans_of_traces<'a, R>(
        &self,
        traces: impl Iterator<Item = &'a TraceId>,
    ) -> Result<Vec<R>, WriteError>
    where
        R: RowOwned + RowRead + Versioned,
    {
        let traces: Vec<&TraceId> = traces.collect();
        let mut rows: Vec<R> = Vec::new();
        for chunk in traces.chunks(TRACES_A_READ) {
            let mut read: Vec<R> = self
                .client()
                .query(&format!(
                    "SELECT ?fields FROM spans WHERE {} AND trace_id IN ({}) AND sign = 1",
                    self.scope(),
                    trace_ids(chunk.iter().copied())
                ))
                .fetch_all()
                .await
                .map_err(error::write)?;
            rows.append(&mut read);
        }
        Ok(newest(rows))
    }

    /// The stamp of a first write into this store's project, at `version` (its time).
    fn stamp(&self, version: u64) -> Stamp {
        Stamp {
            project: self.project().0,
            version,
            node: self.node_id().to_owned(),
            arrived: ns(version),
        }
    }

    /// Stores events; an event stored before is kept once (its hash is its key).
    pub(crate) async fn write_events(&self, events: &[Event]) -> Result<InsertReport, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let mut report = InsertReport::default();
        if events.is_empty() {
            return Ok(report);
        }
        let arrived = ns(now_unix_nano());
        let rows: Vec<EventRow> = events
            .iter()
            .map(|e| EventRow::new(e, self.project().0, self.node_id(), arrived))
            .collect();
        // The keys already stored, found by time (the sort key) and key.
        let (first, last) = events.iter().fold((u64::MAX, 0), |(lo, hi), e| {
            (lo.min(e.time_unix_nano), hi.max(e.time_unix_nano))
        });
        let keys: Vec<String> = rows.iter().map(|r| r.key().to_string()).collect();
        let stored: Vec<u64> = self
            .client()
            .query(&format!(
                "SELECT event_key FROM events WHERE {} AND time >= {} AND time <= {} \
                 AND event_key IN ({})",
                self.scope(),
                sql::time(first),
                sql::time(last),
                keys.join(", ")
            ))
            .fetch_all()
            .await
            .map_err(error::write)?;
        let mut seen: HashSet<u64> = stored.into_iter().collect();
        let fresh: Vec<&EventRow> = rows.iter().filter(|r| seen.insert(r.key())).collect();
        report.inserted = fresh.len();
        report.duplicates = rows.len() - fresh.len();
        self.insert_rows("events", fresh.into_iter()).await?;
        Ok(report)
    }

    /// Stores measurements, summed per series and minute.
    pub(crate) async fn write_measurements(
        &self,
        measurements: &[Measurement],
    ) -> Result<InsertReport, WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let mut points: HashMap<(String, String, Option<String>, String, i64), PointRow> =
            HashMap::new();
        for m in measurements {
            if !m.value.is_finite() {
                return Err(WriteError::Encode {
                    what: "metric value",
                    source: serde::ser::Error::custom(format!(
                        "{} of {} is not a finite number",
                        m.value, m.name
                    )),
                });
            }
            let kind = serde_json::to_value(m.kind)
                .map_err(|source| WriteError::Encode {
                    what: "instrument kind",
                    source,
                })?
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            let labels: BTreeMap<&str, &str> = m
                .labels
                .iter()
                .map(|(k, v)| (k.as_ref(), v.as_str()))
                .collect();
            let labels = agentrace_store::json(&labels, "metric labels")?;
            let bucket = ns(m.time_unix_nano - m.time_unix_nano % MINUTE_NS);
            let at = ns(m.time_unix_nano);
            let key = (
                m.name.to_string(),
                kind,
                m.unit.as_deref().map(str::to_owned),
                labels,
                bucket,
            );
            points
                .entry(key.clone())
                .and_modify(|p| {
                    p.count += 1;
                    p.sum += m.value;
                    p.min = p.min.min(m.value);
                    p.max = p.max.max(m.value);
                    if at >= p.last_time {
                        p.last = m.value;
                        p.last_time = at;
                    }
                })
                .or_insert_with(|| PointRow {
                    project: self.project().0,
                    name: key.0,
                    kind: key.1,
                    unit: key.2,
                    labels: key.3,
                    bucket,
                    count: 1,
                    sum: m.value,
                    min: m.value,
                    max: m.value,
                    last: m.value,
                    last_time: at,
                });
        }
        self.insert_rows("metric_points", points.values()).await?;
        Ok(InsertReport {
            inserted: measurements.len(),
            ..InsertReport::default()
        })
    }

    /// Stores alert notifications.
    pub(crate) async fn write_alerts(&self, records: &[AlertRecord]) -> Result<(), WriteError> {
        if self.shut_down() {
            return Err(WriteError::ShutDown);
        }
        let rows: Vec<AlertRow> = records
            .iter()
            .map(|r| AlertRow {
                project: self.project().0,
                time: ns(r.time_unix_nano),
                alert: r.alert.clone(),
                rule: r.rule.clone(),
                state: r.state.clone(),
                previous: r.previous.clone(),
                reason: r.reason.clone(),
                body: r.body.clone(),
            })
            .collect();
        self.insert_rows("alert_notifications", rows.iter()).await
    }

    /// Inserts `rows` into `table` in one `INSERT` (none if there are none).
    pub(crate) async fn insert_rows<'r, R>(
        &self,
        table: &str,
        rows: impl ExactSizeIterator<Item = &'r R>,
    ) -> Result<(), WriteError>
    where
        R: Row + Serialize + Send + Sync + 'r,
        for<'a> R: clickhouse::RowWrite<Value<'a> = R>,
    {
        if rows.len() == 0 {
            return Ok(());
        }
        let mut insert = self
            .client()
            .insert::<R>(table)
            .await
            .map_err(error::write)?;
        for row in rows {
            insert.write(row).await.map_err(error::write)?;
        }
        insert.end().await.map_err(error::write)
    }
}
