//! Repairs of stored traces in the background: the rules of `agentrace_ingest::orphans`,
//! `agentrace_ingest::billing` and `agentrace_ingest::mcp_calls`, applied to traces whose spans
//! arrived in pieces (the ingestor repairs what it sees within one request).
//!
//! | a trace's state | entered when | what happens |
//! |---|---|---|
//! | whole | it arrives in one request, one root, every parent present (the usual case) | nothing: it is never read back |
//! | *suspect* | a request carried a span whose parent was not in it, or more than one root, or the trace's second piece | its spans are noted in memory as [`SpanShape`]s, and each check plans from them |
//! | settled check | a few seconds after its last span (at most half the grace period) | steps with a step beneath them become aggregates (`agentrace.aggregate`: usage and cost out of the totals); an MCP call's client side takes its server side's server name and tool failure, and a framework's tool span around it becomes a step; orphans whose parent arrived are unmarked |
//! | final check | the grace period after its last span | spans still missing their parent are marked [`ORPHAN`]; detached roots are re-attached where the trace holds them in time unambiguously, marked [`REATTACHED`], and take the agent, session, user and framework of their new ancestors (the store moves their rollups; budgets and the live feed hear of it) |
//! | kept with orphans | the final check left orphans | remembered six grace periods longer: a parent arriving after all has the trace checked again and the mark removed |
//! | done | a piece leaves nothing to repair (every parent arrived, one root, no call over another) | its shapes are dropped; a later piece makes it suspect again, to be read back |
//!
//! A trace is read back only when a check has something to repair, or when its first piece
//! looked whole (its shapes were not kept). So shapes are held from a trace's first piece to
//! the one that completes it (usually its agent span: SDKs export an agent's calls first), and
//! to its checks only while parents are missing. At most [`MAX_TRACKED`] traces are
//! remembered; beyond that the oldest unsuspicious ones, then the oldest suspects, are
//! forgotten (suspects forgotten unchecked are counted in `repairs.forgotten`). The tracker
//! lives in memory: traces received before a restart are not repaired after it.
//!
//! Every project is repaired, each in its own store: a trace is known by its project and its
//! id (the same id in two projects is two traces, never read or repaired together), and what
//! a re-attachment completes reaches that project's budgets and live clients only. A project
//! deleted meanwhile is skipped.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agentrace_core::normalize::{is_aggregate, mark_aggregate};
use agentrace_core::{AttributeValue, SpanId, SpanRecord, TraceId};
use agentrace_ingest::{SpanShape, billing, mcp_calls, orphans};
use agentrace_store::{ProjectError, ProjectId, QueryError, Store, WriteError};
use tokio::sync::watch;

use crate::ingest::late_attribution::Attributions;
use crate::ingest::publish::CommitWatcher;
use crate::store::{SharedOrganization, SharedStore};
use crate::telemetry::counters::add;
use crate::telemetry::stats::ServerStats;

pub use agentrace_core::semconv::agentrace::{ORPHAN, REATTACHED};
/// Traces remembered at most.
pub const MAX_TRACKED: usize = 200_000;
/// Grace periods a trace with orphans is remembered after they were marked.
const ORPHAN_MEMORY: u64 = 6;

/// What the tracker remembers of a trace.
#[derive(Debug, Clone)]
struct Seen {
    /// When its last span arrived.
    last_unix_nano: u64,
    /// Whether it needs checking.
    suspect: bool,
    /// Whether the settled check ran since its last span arrived.
    settled: bool,
    /// Kept until then though unsuspicious: it has orphans, whose parent may still come.
    keep_until_unix_nano: u64,
    /// Every span of it committed since it became suspect on its first piece, as the checks'
    /// rules see them. `None`: not all noted (it looked whole at first, or was checked
    /// already): a check reads it back.
    shapes: Option<Vec<Noted>>,
}

/// A span as noted: its shape, and whether it is marked as an aggregate already.
#[derive(Debug, Clone, Copy)]
struct Noted {
    shape: SpanShape,
    aggregate: bool,
}

impl Noted {
    fn of(span: &SpanRecord) -> Self {
        Self {
            shape: SpanShape {
                orphan: marked_orphan(span),
                ..SpanShape::of(span, 0)
            },
            aggregate: is_aggregate(span),
        }
    }
}

/// Whether a trace of these spans, the last received at `received_unix_nano`, needs a repair
/// at any of the instants `at` (nanoseconds): [`repair`]'s rules, planned without reading the
/// trace, its shapes built once.
fn needs_repair(noted: &[Noted], received_unix_nano: u64, at: &[u64], grace: Duration) -> bool {
    let mut shapes: Vec<SpanShape> = noted
        .iter()
        .map(|n| SpanShape {
            received_unix_nano,
            ..n.shape
        })
        .collect();
    // A span delivered twice is one span.
    shapes.sort_unstable_by_key(|s| s.span_id);
    shapes.dedup_by_key(|s| s.span_id);
    let aggregates: HashSet<SpanId> = noted
        .iter()
        .filter(|n| n.aggregate)
        .map(|n| n.shape.span_id)
        .collect();
    billing::aggregates(&shapes)
        .iter()
        .any(|id| !aggregates.contains(id))
        || mcp_calls::incomplete(&shapes)
        || at
            .iter()
            .any(|&t| !orphans::plan(&shapes, t, grace).is_empty())
}

/// A trace as the tracker knows it: its project's, by its id.
type TraceKey = (ProjectId, TraceId);

/// Remembers recently committed traces and says which are due for a check.
#[derive(Debug)]
pub(crate) struct Tracker {
    seen: Mutex<HashMap<TraceKey, Seen>>,
    grace_ns: u64,
    settle_ns: u64,
    stats: Arc<ServerStats>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How long after a trace's last span the settled check runs: 5 s, or half the grace period
/// when that is shorter.
pub(crate) fn settle_delay(grace: Duration) -> Duration {
    (grace / 2).clamp(Duration::from_millis(10), Duration::from_secs(5))
}

impl Tracker {
    pub(crate) fn new(grace: Duration, stats: Arc<ServerStats>) -> Self {
        Self {
            seen: Mutex::new(HashMap::new()),
            grace_ns: nanos(grace),
            settle_ns: nanos(settle_delay(grace)),
            stats,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TraceKey, Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes spans just committed together in `project`.
    pub(crate) fn note(&self, project: ProjectId, spans: &[SpanRecord], now_unix_nano: u64) {
        if spans.is_empty() {
            return;
        }
        // Per trace: its spans, span ids, parents and roots in this batch.
        let mut batch: HashMap<TraceId, Piece<'_>> = HashMap::new();
        for span in spans {
            let piece = batch.entry(span.trace_id).or_default();
            piece.spans.push(span);
            piece.ids.insert(span.span_id);
            match span.parent_span_id {
                Some(parent) => piece.parents.push(parent),
                None => piece.roots += 1,
            }
        }
        let mut seen = self.lock();
        for (trace, piece) in batch {
            let noted = || piece.spans.iter().map(|s| Noted::of(s));
            match seen.entry((project, trace)) {
                Entry::Occupied(mut e) => {
                    let s = e.get_mut();
                    s.suspect = true; // a second request of the same trace
                    s.settled = false;
                    s.last_unix_nano = now_unix_nano;
                    if let Some(shapes) = &mut s.shapes {
                        shapes.extend(noted());
                        // Complete now (its agent span came): done with, unless more comes.
                        let end_of_grace = now_unix_nano.saturating_add(self.grace_ns);
                        let grace = Duration::from_nanos(self.grace_ns);
                        if !needs_repair(
                            shapes,
                            now_unix_nano,
                            &[now_unix_nano, end_of_grace],
                            grace,
                        ) {
                            s.suspect = false;
                            s.shapes = None;
                        }
                    }
                }
                Entry::Vacant(e) => {
                    let dangling = piece.parents.iter().any(|p| !piece.ids.contains(p));
                    let suspect = dangling || piece.roots > 1;
                    e.insert(Seen {
                        last_unix_nano: now_unix_nano,
                        suspect,
                        settled: false,
                        keep_until_unix_nano: 0,
                        shapes: suspect.then(|| noted().collect()),
                    });
                }
            }
        }
        if seen.len() > MAX_TRACKED {
            let suspects =
                |seen: &HashMap<TraceKey, Seen>| seen.values().filter(|s| s.suspect).count();
            let before = suspects(&seen);
            let horizon = now_unix_nano.saturating_sub(self.grace_ns);
            seen.retain(|_, s| {
                s.suspect || s.last_unix_nano >= horizon || s.keep_until_unix_nano > now_unix_nano
            });
            if seen.len() > MAX_TRACKED {
                seen.retain(|_, s| s.suspect);
            }
            if seen.len() > MAX_TRACKED {
                let mut lasts: Vec<u64> = seen.values().map(|s| s.last_unix_nano).collect();
                let cut = lasts.len() - MAX_TRACKED / 2;
                lasts.select_nth_unstable(cut);
                let oldest_kept = lasts[cut];
                seen.retain(|_, s| s.last_unix_nano >= oldest_kept);
            }
            let forgotten = before.saturating_sub(suspects(&seen));
            add(&self.stats.repair_forgotten, forgotten as u64);
        }
        self.stats
            .repair_tracked
            .store(seen.len(), Ordering::Relaxed);
    }

    /// The traces due for a check now, with when their last span arrived. Traces past the
    /// grace period are forgotten once returned, unless they have orphans.
    fn due(&self, now_unix_nano: u64) -> Vec<Check> {
        let mut seen = self.lock();
        let mut due = Vec::new();
        let grace = Duration::from_nanos(self.grace_ns);
        seen.retain(|&(project, trace), s| {
            let age = now_unix_nano.saturating_sub(s.last_unix_nano);
            let check = Check {
                project,
                trace,
                received_unix_nano: s.last_unix_nano,
            };
            let needs_repair_at = |s: &Seen, at| {
                s.shapes
                    .as_deref()
                    .is_none_or(|n| needs_repair(n, s.last_unix_nano, &[at], grace))
            };
            if age >= self.grace_ns {
                if s.suspect {
                    s.suspect = false;
                    if needs_repair_at(s, now_unix_nano) {
                        due.push(check);
                    }
                    s.shapes = None;
                }
                return s.keep_until_unix_nano > now_unix_nano;
            }
            if s.suspect && !s.settled && age >= self.settle_ns {
                s.settled = true;
                if needs_repair_at(s, now_unix_nano) {
                    due.push(check);
                    s.shapes = None;
                } else if !needs_repair_at(s, s.last_unix_nano.saturating_add(self.grace_ns)) {
                    // Nothing to repair at the end of the grace period either, unless more
                    // spans come (which make it suspect again, read back then).
                    s.suspect = false;
                    s.shapes = None;
                }
            }
            true
        });
        self.stats
            .repair_tracked
            .store(seen.len(), Ordering::Relaxed);
        due
    }
}

impl Tracker {
    /// Remembers a trace with orphans for [`ORPHAN_MEMORY`] grace periods, so that a parent
    /// arriving late gets its orphan mark cleared.
    fn remember_orphans(&self, key: TraceKey, now_unix_nano: u64) {
        let keep_until = now_unix_nano.saturating_add(self.grace_ns.saturating_mul(ORPHAN_MEMORY));
        self.lock()
            .entry(key)
            .and_modify(|s| s.keep_until_unix_nano = keep_until)
            .or_insert(Seen {
                last_unix_nano: now_unix_nano,
                suspect: false,
                settled: true,
                keep_until_unix_nano: keep_until,
                shapes: None,
            });
    }
}

/// One trace's spans in a batch of committed spans.
#[derive(Default)]
struct Piece<'a> {
    spans: Vec<&'a SpanRecord>,
    ids: HashSet<SpanId>,
    parents: Vec<SpanId>,
    roots: usize,
}

/// A trace to check.
#[derive(Debug, Clone, Copy)]
struct Check {
    project: ProjectId,
    trace: TraceId,
    received_unix_nano: u64,
}

/// Checking a trace failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RepairError {
    /// Reading the trace failed.
    #[error("reading a trace to repair failed: {0}")]
    Read(#[from] QueryError),
    /// Writing the repairs failed.
    #[error("writing trace repairs failed: {0}")]
    Write(#[from] WriteError),
}

fn marked_orphan(span: &SpanRecord) -> bool {
    matches!(
        span.attributes.get(ORPHAN),
        Some(AttributeValue::Bool(true))
    )
}

/// Reads one trace, plans its repairs and writes them. Returns whether spans of it are marked
/// as orphans afterwards.
fn repair(
    store: &dyn Store,
    stats: &ServerStats,
    attributions: &Attributions,
    check: Check,
    grace: Duration,
    now_unix_nano: u64,
) -> Result<bool, RepairError> {
    let Some(tree) = store.trace(check.trace)? else {
        return Ok(false);
    };
    add(&stats.repair_checked, 1);
    let mut spans: Vec<SpanRecord> = tree.nodes.into_iter().map(|n| n.span).collect();
    let shapes: Vec<SpanShape> = spans
        .iter()
        .map(|s| SpanShape {
            orphan: marked_orphan(s),
            ..SpanShape::of(s, check.received_unix_nano)
        })
        .collect();
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let mut changed = HashSet::new();
    for id in billing::aggregates(&shapes) {
        let Some(span) = index.get(&id).and_then(|&i| spans.get_mut(i)) else {
            continue;
        };
        if is_aggregate(span) {
            continue;
        }
        // Its usage and cost leave every stored total with the rewrite below.
        mark_aggregate(span);
        changed.insert(id);
        add(&stats.repair_aggregates, 1);
    }
    for id in mcp_calls::complete(&mut spans)
        .into_iter()
        .chain(mcp_calls::unwrap(&mut spans))
    {
        changed.insert(id);
        add(&stats.repair_mcp_calls, 1);
    }
    for planned in orphans::plan(&shapes, now_unix_nano, grace) {
        let (id, counter) = match planned {
            orphans::Repair::MarkOrphan { span } => (span, &stats.repair_orphans_marked),
            orphans::Repair::ClearOrphan { span } => (span, &stats.repair_orphans_cleared),
            orphans::Repair::Reattach { span, .. } => (span, &stats.repair_reattached),
        };
        let Some(span) = index.get(&id).and_then(|&i| spans.get_mut(i)) else {
            continue;
        };
        match planned {
            orphans::Repair::MarkOrphan { .. } => span.attributes.insert(ORPHAN, true),
            orphans::Repair::ClearOrphan { .. } => {
                span.attributes.remove(ORPHAN);
            }
            orphans::Repair::Reattach { parent, .. } => {
                span.parent_span_id = Some(parent);
                span.attributes.insert(REATTACHED, true);
            }
        }
        changed.insert(id);
        add(counter, 1);
    }
    let orphans = spans.iter().any(marked_orphan);
    if !changed.is_empty() {
        spans.retain(|s| changed.contains(&s.span_id));
        let repaired = store.repair_spans(&spans)?;
        if !repaired.attributed.is_empty() {
            add(&stats.attributed_late, repaired.attributed.len() as u64);
            attributions.publish(check.project, repaired.attributed);
        }
    }
    Ok(orphans)
}

/// Everything the repair task needs.
pub(crate) struct Repairer {
    pub(crate) tracker: Arc<Tracker>,
    /// Where each project's store is found.
    pub(crate) organization: SharedOrganization,
    pub(crate) stats: Arc<ServerStats>,
    /// Where the attribution a re-attachment completes is made known (budgets, live feed).
    pub(crate) attributions: Attributions,
    pub(crate) grace: Duration,
}

impl Repairer {
    /// Checks what is due, every settle delay, until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(settle_delay(this.grace)) => {}
            }
            let now = agentrace_core::now_unix_nano();
            let due = this.tracker.due(now);
            if due.is_empty() {
                continue;
            }
            let worker = this.clone();
            let run = tokio::task::spawn_blocking(move || {
                let mut stores: HashMap<ProjectId, SharedStore> = HashMap::new();
                for check in due {
                    let w = &worker;
                    let store = match stores.entry(check.project) {
                        Entry::Occupied(e) => e.get().clone(),
                        Entry::Vacant(e) => match w.organization.store(check.project) {
                            Ok(store) => e.insert(store).clone(),
                            // Deleted since: nothing of it to repair.
                            Err(ProjectError::NoProject(_)) => continue,
                            Err(e) => {
                                add(&w.stats.repair_errors, 1);
                                tracing::warn!(error = %e, project = %check.project, "opening a project to repair failed");
                                continue;
                            }
                        },
                    };
                    let repaired = repair(&*store, &w.stats, &w.attributions, check, w.grace, now);
                    match repaired {
                        Ok(true) => w
                            .tracker
                            .remember_orphans((check.project, check.trace), now),
                        Ok(false) => {}
                        Err(e) => {
                            add(&w.stats.repair_errors, 1);
                            tracing::warn!(error = %e, trace = %check.trace, "repairing a trace failed");
                        }
                    }
                }
            });
            if let Err(e) = run.await {
                tracing::warn!(error = %e, "the repair task panicked");
            }
        }
    }
}

impl CommitWatcher for Tracker {
    fn committed(&self, project: ProjectId, spans: &[SpanRecord]) {
        self.note(project, spans, agentrace_core::now_unix_nano());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc as StdArc;

    use agentrace_core::Resource;

    use super::*;

    fn span(trace: TraceId, id: u8, parent: Option<u8>) -> SpanRecord {
        let mut s = SpanRecord::new(
            trace,
            SpanId::from_bytes([id; 8]),
            "s",
            1,
            2,
            StdArc::new(Resource::new("svc")),
        );
        s.parent_span_id = parent.map(|p| SpanId::from_bytes([p; 8]));
        s
    }

    const SEC: u64 = 1_000_000_000;
    const P: ProjectId = ProjectId(1);

    #[test]
    fn only_traces_that_arrived_in_pieces_are_checked() {
        let tracker = Tracker::new(Duration::from_secs(60), Arc::new(ServerStats::new(None)));
        let (whole, piece, twice) = (TraceId::random(), TraceId::random(), TraceId::random());
        tracker.note(P, &[span(whole, 1, None), span(whole, 2, Some(1))], 0);
        tracker.note(P, &[span(piece, 2, Some(1))], 0);
        tracker.note(P, &[span(twice, 1, None)], 0);
        tracker.note(P, &[span(twice, 2, None)], SEC);
        assert!(tracker.due(SEC).is_empty(), "nothing settled yet");
        // `twice` looked whole at first: it is read back. `piece` waits for its parent: nothing
        // to repair before the grace period ends.
        let settled: HashSet<TraceId> = tracker.due(10 * SEC).iter().map(|c| c.trace).collect();
        assert_eq!(settled, HashSet::from([twice]));
        assert!(
            tracker.due(20 * SEC).is_empty(),
            "the settled check runs once"
        );
        let last: HashSet<TraceId> = tracker
            .due(60 * SEC + SEC / 2)
            .iter()
            .map(|c| c.trace)
            .collect();
        assert_eq!(
            last,
            HashSet::from([piece]),
            "its parent never came; twice's grace ends a second later"
        );
        let last: Vec<TraceId> = tracker.due(61 * SEC + 1).iter().map(|c| c.trace).collect();
        assert_eq!(last, vec![twice]);
        assert_eq!(
            tracker.lock().len(),
            0,
            "everything forgotten after the grace period"
        );

        // A trace with orphans is remembered: its parent arriving late makes it suspect again.
        tracker.remember_orphans((P, piece), 100 * SEC);
        tracker.note(P, &[span(piece, 1, None)], 200 * SEC);
        let again: Vec<TraceId> = tracker.due(210 * SEC).iter().map(|c| c.trace).collect();
        assert_eq!(again, vec![piece]);
    }

    fn llm(trace: TraceId, id: u8, parent: Option<u8>) -> SpanRecord {
        let mut s = span(trace, id, parent);
        s.kind = agentrace_core::SpanKind::Llm;
        s.request_model = Some("gpt-4o".into());
        s.usage = agentrace_core::TokenUsage::new(10, 5);
        s
    }

    #[test]
    fn children_sent_before_their_parent_are_planned_from_memory_and_never_read_back() {
        let tracker = Tracker::new(Duration::from_secs(60), Arc::new(ServerStats::new(None)));
        let (first, deep) = (TraceId::random(), TraceId::random());
        let held = |t: &Tracker| t.lock().values().filter(|s| s.shapes.is_some()).count();
        // An agent's calls, then the agent; a deeper tree in three pieces, leaves first.
        tracker.note(P, &[llm(first, 2, Some(1)), span(first, 3, Some(1))], 0);
        tracker.note(P, &[llm(deep, 4, Some(3)), span(deep, 5, Some(3))], 0);
        assert_eq!(held(&tracker), 2);
        tracker.note(P, &[span(first, 1, None)], SEC / 10);
        assert_eq!(held(&tracker), 1, "complete: done with at once");
        tracker.note(
            P,
            &[span(deep, 3, Some(2)), span(deep, 2, Some(1))],
            SEC / 10,
        );
        let duplicate = llm(deep, 4, Some(3));
        tracker.note(P, &[span(deep, 1, None), duplicate], SEC / 5);
        assert_eq!(held(&tracker), 0);
        assert!(
            tracker.due(10 * SEC).is_empty(),
            "nothing to repair, nothing read"
        );
        // A piece after that: read back, as a trace whose pieces were not all noted.
        tracker.note(P, &[span(first, 9, Some(1))], 20 * SEC);
        let settled: Vec<TraceId> = tracker.due(30 * SEC).iter().map(|c| c.trace).collect();
        assert_eq!(settled, vec![first]);
        assert!(tracker.due(70 * SEC).is_empty());
        let last: Vec<TraceId> = tracker.due(81 * SEC).iter().map(|c| c.trace).collect();
        assert_eq!(last, vec![first]);
        assert_eq!(tracker.lock().len(), 0);
    }

    #[test]
    fn a_piece_that_needs_a_repair_is_read_back() {
        let tracker = Tracker::new(Duration::from_secs(60), Arc::new(ServerStats::new(None)));
        let (aggregate, orphan, marked) = (TraceId::random(), TraceId::random(), TraceId::random());
        // An LLM call over an LLM call sent earlier: billed twice until repaired.
        tracker.note(P, &[llm(aggregate, 2, Some(1))], 0);
        tracker.note(P, &[llm(aggregate, 1, None)], SEC);
        // A span whose parent never comes, and one that arrives marked as an orphan.
        tracker.note(P, &[span(orphan, 2, Some(1)), span(orphan, 3, None)], 0);
        let mut flagged = span(marked, 2, Some(1));
        flagged.attributes.insert(ORPHAN, true);
        tracker.note(P, &[flagged], 0);
        tracker.note(P, &[span(marked, 1, None)], SEC);
        let settled: HashSet<TraceId> = tracker.due(10 * SEC).iter().map(|c| c.trace).collect();
        assert_eq!(settled, HashSet::from([aggregate, marked]));
        let last: HashSet<TraceId> = tracker.due(70 * SEC).iter().map(|c| c.trace).collect();
        assert_eq!(last, HashSet::from([aggregate, orphan, marked]));
    }

    #[test]
    fn one_trace_id_in_two_projects_is_two_traces() {
        let tracker = Tracker::new(Duration::from_secs(60), Arc::new(ServerStats::new(None)));
        let (a, b) = (P, ProjectId(7));
        let trace = TraceId::random();
        // In a: a child, then its parent (complete). In b: the child only (its parent never
        // comes there: the parent in a is not b's).
        tracker.note(a, &[span(trace, 2, Some(1))], 0);
        tracker.note(b, &[span(trace, 2, Some(1))], 0);
        tracker.note(a, &[span(trace, 1, None)], SEC);
        let last: Vec<(ProjectId, TraceId)> = tracker
            .due(62 * SEC)
            .iter()
            .map(|c| (c.project, c.trace))
            .collect();
        assert_eq!(
            last,
            vec![(b, trace)],
            "b's child is an orphan, a's trace whole"
        );
    }
}
