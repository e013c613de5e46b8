//! Spans awaiting their parent, held by a node until it arrives, then written once,
//! completed: a children-first trace (an agent's calls exported before the agent span that
//! ends after them, as the OpenTelemetry SDKs' batch processors send agent runs) costs no
//! rewrite in ClickHouse (a cancelling row and a second version of every call).
//!
//! - **In the shared store, not on the node.** A span is held only once it is in ClickHouse's
//!   journal of held spans (`held_spans`, [`journal`]), written in the same round trip as the
//!   batch's spans, before its request is answered. A node keeps nothing on its disk: when it
//!   dies, the fleet's leader takes its held spans over ([`journal`],
//!   [`Fleet::adopt_held`](agentrace_store::Fleet::adopt_held)) and holds them as it did; a node that never comes
//!   back loses nothing it acknowledged. A span held is written at the latest hold after it
//!   arrived: then as it is, and completed by a rewrite if its parent comes later; once
//!   written, its journal row is marked released (with the node's next write).
//! - **Bounded.** At most [`MAX_BYTES`] held (about: twice their records); past it, spans awaiting
//!   their parent are written at once. A journal that cannot be written holds nothing: the
//!   spans are written at once.
//! - **Looked up.** A parent arriving at another node (its own spans there) is written by
//!   that node: each trace held here is looked up in ClickHouse one tick after it was first
//!   held, then after two more, four more, … ([`HeldSpans::pending`]); its spans whose parent is
//!   stored are written then, completed from it, the others held on. A trace whose parent
//!   arrives late is read a few times, not every tick. The lookups due ride with the node's
//!   batches; the store's timer makes a write of its own only for a tick in which no batch
//!   took every trace due ([`HeldSpans::caught_up_within_a_tick`]).
//! - **Looked up again once written.** Spans written still awaiting their parent (held past
//!   the hold, or not held) may cross their parent written by another node at the same
//!   moment: each write read what was stored before the other's insert, and neither
//!   completes the other. Their trace is looked up again one tick after the write and
//!   [`RECHECK_SPACING`] ticks after that ([`HeldSpans::recheck`]); a parent stored since
//!   completes them then (a rewrite).
//!
//! A spool of an earlier release (held spans in files on the node, [`legacy`]) is written
//! once when a node starts over its data directory, then removed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_core::{Attribution, SpanId, SpanRecord, TraceId, now_unix_nano};
use agentrace_store::{HeldStatus, ProjectId};

pub(crate) mod journal;
pub(crate) mod legacy;

pub use legacy::SpoolError;

/// The spans held at most, in bytes (about: twice their records).
pub(crate) const MAX_BYTES: usize = 64 << 20;

/// How often held spans are looked at (a quarter of the hold), at least and at most.
const TICK_MIN: Duration = Duration::from_millis(100);
const TICK_MAX: Duration = Duration::from_secs(1);

/// The traces one statement looks up in ClickHouse at most (its size bounded).
pub(crate) const MAX_LOOKED_UP: usize = 4096;

/// How often a trace written with spans awaiting their parent is looked up again
/// ([`HeldSpans::recheck`]).
const RECHECKS: u8 = 2;

/// The ticks between two lookups of a trace written with spans awaiting their parent: long
/// enough for a write another node had under way to be answered.
const RECHECK_SPACING: u32 = 8;

/// A held trace: its project's, by its id (the same id in two projects is two traces).
type HeldTrace = (ProjectId, TraceId);

/// A span held, its project, and since when.
#[derive(Debug)]
pub(crate) struct Held {
    project: ProjectId,
    pub(crate) span: Box<SpanRecord>,
    since: Instant,
    /// When it entered the journal (Unix nanoseconds): its journal row's.
    held_at: u64,
    size: usize,
}

/// A span to hold, with its journal record ([`journal::encode`]; taken by the journal's row)
/// and the size it is held at.
#[derive(Debug)]
pub(crate) struct Journaled {
    pub(crate) span: Box<SpanRecord>,
    pub(crate) record: Vec<u8>,
    size: usize,
}

impl Journaled {
    /// `span` to hold, with its journal `record`.
    pub(crate) fn new(span: SpanRecord, record: Vec<u8>) -> Self {
        Self {
            size: 2 * record.len(),
            span: Box::new(span),
            record,
        }
    }

    /// The size it is held at.
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

/// A held span written: its journal row is to be marked released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Released {
    pub(crate) project: ProjectId,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) held_at: u64,
}

/// Spans taken out for a write ([`HeldSpans::take`]); put back when dropped unsettled. They
/// are counted as held until the write settles them: a span is held until it is in
/// ClickHouse.
///
/// The write completes their attribution in place ([`for_write`](Self::for_write)), not in
/// copies (a span record with its attributes is half a kilobyte, and a write children first
/// takes thousands); a span held on or put back gets its attribution as taken back.
#[derive(Debug)]
pub(crate) struct Taken<'a> {
    from: &'a HeldSpans,
    spans: Vec<Held>,
    /// Each span's attribution as taken.
    taken_as: Vec<Attribution>,
}

impl Taken<'_> {
    /// The spans, for the write to complete in place: each with its index and its
    /// attribution as taken.
    pub(crate) fn for_write(
        &mut self,
    ) -> impl Iterator<Item = (usize, &mut SpanRecord, &Attribution)> {
        self.spans
            .iter_mut()
            .zip(&self.taken_as)
            .enumerate()
            .map(|(i, (held, taken_as))| (i, &mut *held.span, taken_as))
    }

    /// The write is done: the spans whose index is in `kept` are held still (as taken), the
    /// others were written (their journal rows to be released).
    pub(crate) fn settle(mut self, kept: &HashSet<usize>) {
        let mut state = self.from.state();
        let mut traces = HashSet::new();
        let taken_as = std::mem::take(&mut self.taken_as);
        for ((i, mut held), taken_as) in std::mem::take(&mut self.spans)
            .into_iter()
            .enumerate()
            .zip(taken_as)
        {
            traces.insert((held.project, held.span.trace_id));
            if kept.contains(&i) {
                taken_as.apply_to(&mut held.span);
                state.place(held);
            } else {
                state.spans -= 1;
                state.bytes -= held.size;
                state.released.push(Released {
                    project: held.project,
                    trace_id: held.span.trace_id,
                    span_id: held.span.span_id,
                    held_at: held.held_at,
                });
            }
        }
        for trace in traces {
            if !state.traces.contains_key(&trace) {
                state.lookups.remove(&trace);
            }
        }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if self.spans.is_empty() {
            return;
        }
        let mut state = self.from.state();
        let taken_as = std::mem::take(&mut self.taken_as);
        for (mut held, taken_as) in std::mem::take(&mut self.spans).into_iter().zip(taken_as) {
            taken_as.apply_to(&mut held.span);
            state.place(held);
        }
    }
}

/// See the module's documentation.
#[derive(Debug)]
pub(crate) struct HeldSpans {
    hold: Duration,
    state: Mutex<State>,
}

/// The held traces of a project a tick writes ([`HeldSpans::pending`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Traces with a span held past the hold: their held spans are written as they are.
    pub(crate) released: HashSet<TraceId>,
    /// Traces due to be looked up: their held spans whose parent is stored are written.
    pub(crate) looked_up: HashSet<TraceId>,
    /// Traces written with spans awaiting their parent, due to be looked up again: a parent
    /// stored since completes them ([`HeldSpans::recheck`]).
    pub(crate) rechecked: HashSet<TraceId>,
}

/// When a trace written with spans awaiting their parent is next looked up, and how many
/// times more.
#[derive(Debug, Clone, Copy)]
struct Recheck {
    next: Instant,
    left: u8,
}

/// When a held trace is next looked up in ClickHouse, and how long after that.
#[derive(Debug, Clone, Copy)]
struct Lookup {
    next: Instant,
    then: Duration,
}

#[derive(Debug)]
struct State {
    traces: HashMap<HeldTrace, Vec<Held>>,
    lookups: HashMap<HeldTrace, Lookup>,
    rechecks: HashMap<HeldTrace, Recheck>,
    tick: Duration,
    /// When a write last took every held trace due ([`HeldSpans::pending`]).
    caught_up: Option<Instant>,
    spans: usize,
    bytes: usize,
    /// Held spans written whose journal rows are not marked released yet.
    released: Vec<Released>,
    /// Spans written at once: over [`MAX_BYTES`], and because the journal failed.
    over_ceiling: u64,
    journal_failures: u64,
}

impl HeldSpans {
    /// Nothing held yet; each span held at most `hold`.
    pub(crate) fn new(hold: Duration) -> Self {
        Self {
            hold,
            state: Mutex::new(State {
                traces: HashMap::new(),
                lookups: HashMap::new(),
                rechecks: HashMap::new(),
                tick: tick(hold),
                caught_up: None,
                spans: 0,
                bytes: 0,
                released: Vec::new(),
                over_ceiling: 0,
                journal_failures: 0,
            }),
        }
    }

    /// How often the held spans are looked at ([`pending`](Self::pending)).
    pub(crate) fn tick(&self) -> Duration {
        tick(self.hold)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the spans held of `project`'s `traces` out (still counted) for a write: settled
    /// when it is done ([`Taken::settle`]), put back as they were if it fails or is dropped
    /// (a write that timed out).
    pub(crate) fn take(&self, project: ProjectId, traces: &HashSet<TraceId>) -> Taken<'_> {
        let mut state = self.state();
        let mut spans = Vec::new();
        for trace in traces {
            if let Some(held) = state.traces.remove(&(project, *trace)) {
                spans.extend(held);
            }
        }
        let taken_as = spans.iter().map(|h| Attribution::of(&h.span)).collect();
        Taken {
            from: self,
            spans,
            taken_as,
        }
    }

    /// Which of `spans` may be held, each with its journal record: those that fit under
    /// [`MAX_BYTES`]; the others are given back, to be written at once. Called by the write
    /// that then journals them and [`hold`](Self::hold)s them (writes are one at a time).
    pub(crate) fn admit(&self, spans: Vec<SpanRecord>) -> (Vec<Journaled>, Vec<SpanRecord>) {
        let mut state = self.state();
        let mut room = MAX_BYTES.saturating_sub(state.bytes);
        let (mut admitted, mut unheld) = (Vec::new(), Vec::new());
        for span in spans {
            let Some(record) = journal::encode(&span) else {
                unheld.push(span);
                continue;
            };
            let size = 2 * record.len();
            if size > room {
                state.over_ceiling += 1;
                unheld.push(span);
                continue;
            }
            room -= size;
            admitted.push(Journaled::new(span, record));
        }
        (admitted, unheld)
    }

    /// Holds `project`'s `journaled` spans, in the journal since `held_at` (Unix nanoseconds).
    pub(crate) fn hold_journaled(
        &self,
        project: ProjectId,
        journaled: Vec<Journaled>,
        held_at: u64,
    ) {
        let mut state = self.state();
        let since = Instant::now();
        for Journaled { span, size, .. } in journaled {
            state.put(Held {
                project,
                span,
                since,
                held_at,
                size,
            });
        }
    }

    /// `project`'s `traces` were written with spans awaiting their parent: each is looked up
    /// again ([`RECHECKS`] times, the first a tick from now), in case its parent was being
    /// written by another node meanwhile.
    pub(crate) fn recheck(&self, project: ProjectId, traces: impl IntoIterator<Item = TraceId>) {
        let mut state = self.state();
        let next = Instant::now() + state.tick;
        for trace in traces {
            state.rechecks.insert(
                (project, trace),
                Recheck {
                    next,
                    left: RECHECKS,
                },
            );
        }
    }

    /// The journal could not be written: `n` spans are written at once instead of held.
    pub(crate) fn journal_failed(&self, n: usize) {
        self.state().journal_failures += n as u64;
    }

    /// Holds spans another node held (taken over from a node gone: `(project, span, held_at,
    /// size held at)`), each for what is left of its hold (due at once if its hold ended), as
    /// that node held them; a span held here already is skipped. How many are held.
    pub(crate) fn adopt(&self, spans: Vec<(ProjectId, SpanRecord, u64, usize)>) -> usize {
        let mut state = self.state();
        let (now, wall) = (Instant::now(), now_unix_nano());
        let mut adopted = 0;
        for (project, span, held_at, size) in spans {
            let trace = (project, span.trace_id);
            let held_here = state
                .traces
                .get(&trace)
                .is_some_and(|held| held.iter().any(|h| h.span.span_id == span.span_id));
            if held_here {
                continue;
            }
            let age = Duration::from_nanos(wall.saturating_sub(held_at)).min(self.hold);
            state.put(Held {
                project,
                // Boxed: a held span is moved a few times more, and a record is big.
                span: Box::new(span),
                since: now.checked_sub(age).unwrap_or(now),
                held_at,
                size,
            });
            adopted += 1;
        }
        adopted
    }

    /// The held spans written whose journal rows are to be marked released, taken: give them
    /// back ([`unrelease`](Self::unrelease)) if that write fails.
    pub(crate) fn take_released(&self) -> Vec<Released> {
        std::mem::take(&mut self.state().released)
    }

    /// Journal rows whose release could not be written: tried again with the next write.
    pub(crate) fn unrelease(&self, released: Vec<Released>) {
        self.state().released.extend(released);
    }

    /// The traces a tick writes, by project: those with a span held past the hold (every
    /// trace held if `all`), and at most `lookups` of those due to be looked up (each then
    /// next looked up twice as long after; the others stay due) or looked up again
    /// ([`recheck`](Self::recheck)); of `project` only if given
    /// (a batch's), of every project if not (the timer's). A trace of another project left
    /// due is left for the timer.
    pub(crate) fn pending(
        &self,
        project: Option<ProjectId>,
        all: bool,
        lookups: usize,
    ) -> BTreeMap<ProjectId, Pending> {
        let mut state = self.state();
        let state = &mut *state;
        let now = Instant::now();
        let in_scope = |p: ProjectId| project.is_none_or(|q| q == p);
        let mut pending: BTreeMap<ProjectId, Pending> = BTreeMap::new();
        let mut left_due = false;
        for ((p, trace), spans) in &state.traces {
            let due = all
                || spans
                    .iter()
                    .any(|h| now.duration_since(h.since) >= self.hold);
            if !due {
                continue;
            }
            if in_scope(*p) {
                pending.entry(*p).or_default().released.insert(*trace);
            } else {
                left_due = true;
            }
        }
        let mut looked_up = 0;
        for ((p, trace), lookup) in &mut state.lookups {
            let released = pending
                .get(p)
                .is_some_and(|pending| pending.released.contains(trace));
            if lookup.next > now || released {
                continue;
            }
            if !in_scope(*p) || looked_up >= lookups.min(MAX_LOOKED_UP) {
                left_due = true;
                continue;
            }
            pending.entry(*p).or_default().looked_up.insert(*trace);
            looked_up += 1;
            lookup.next = now + lookup.then;
            lookup.then *= 2;
        }
        let spacing = state.tick * RECHECK_SPACING;
        state.rechecks.retain(|(p, trace), recheck| {
            if recheck.next > now {
                return true;
            }
            if !in_scope(*p) || looked_up >= lookups.min(MAX_LOOKED_UP) {
                left_due = true;
                return true;
            }
            pending.entry(*p).or_default().rechecked.insert(*trace);
            looked_up += 1;
            recheck.next = now + spacing;
            recheck.left -= 1;
            recheck.left > 0
        });
        state.caught_up = (!left_due).then_some(now);
        pending
    }

    /// Whether a write took every held trace due within the last tick: then the store's
    /// timer has nothing to write that the next batch would not (under load, batches come
    /// every few milliseconds, each with the lookups due; a write of the timer's own would
    /// cost ClickHouse a statement more a tick).
    pub(crate) fn caught_up_within_a_tick(&self) -> bool {
        self.state()
            .caught_up
            .is_some_and(|at| at.elapsed() < self.tick())
    }

    /// How many spans are held (those a write has taken out included: they are not in
    /// ClickHouse yet).
    pub(crate) fn len(&self) -> usize {
        self.state().spans
    }

    /// What `/status` shows of the held spans.
    pub(crate) fn status(&self) -> HeldStatus {
        let state = self.state();
        HeldStatus {
            spans: state.spans as u64,
            bytes: state.bytes as u64,
            ceiling_bytes: MAX_BYTES as u64,
            over_ceiling: state.over_ceiling,
            journal_failures: state.journal_failures,
        }
    }
}

impl State {
    /// Holds a span newly held: counted, and placed.
    fn put(&mut self, held: Held) {
        self.spans += 1;
        self.bytes += held.size;
        self.place(held);
    }

    /// Places a span that is counted already (one a write took out and gave back).
    fn place(&mut self, held: Held) {
        let tick = self.tick;
        let trace = (held.project, held.span.trace_id);
        self.lookups.entry(trace).or_insert_with(|| Lookup {
            next: held.since + tick,
            then: 2 * tick,
        });
        self.traces.entry(trace).or_default().push(held);
    }
}

/// How often spans held at most `hold` are looked at.
fn tick(hold: Duration) -> Duration {
    (hold / 4).clamp(TICK_MIN, TICK_MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::Resource;

    use super::*;
    use crate::schema::DEFAULT_PROJECT_ID;

    fn span(trace: u8, id: u8) -> SpanRecord {
        SpanRecord::new(
            TraceId::from_bytes([trace; 16]),
            SpanId::from_bytes([id; 8]),
            "chat",
            1,
            2,
            Arc::new(Resource::new("svc")),
        )
    }

    /// The project of the spans held in these tests.
    const P: ProjectId = ProjectId(DEFAULT_PROJECT_ID);

    /// Holds `spans` of `project` as a write does (admitted, journaled): those given back.
    fn hold(held: &HeldSpans, project: ProjectId, spans: Vec<SpanRecord>) -> Vec<SpanRecord> {
        let (admitted, unheld) = held.admit(spans);
        held.hold_journaled(project, admitted, now_unix_nano());
        unheld
    }

    /// What a batch of `P` takes: its project's pending traces.
    fn due(held: &HeldSpans, all: bool, lookups: usize) -> Pending {
        held.pending(Some(P), all, lookups)
            .remove(&P)
            .unwrap_or_default()
    }

    fn traces(ids: &[u8]) -> HashSet<TraceId> {
        ids.iter().map(|t| TraceId::from_bytes([*t; 16])).collect()
    }

    #[test]
    fn spans_kept_or_put_back_stay_held_and_those_written_are_released() {
        let held = HeldSpans::new(Duration::ZERO);
        assert!(hold(&held, P, vec![span(1, 1), span(1, 2)]).is_empty());
        // A write completes the spans it takes in place; a span put back or held on is held
        // as it was taken.
        let complete = |taken: &mut Taken<'_>| {
            for (_, span, taken_as) in taken.for_write() {
                assert_eq!(taken_as, &Attribution::of(span));
                span.agent_name = Some("planner".into());
            }
        };
        let as_taken = |held: &HeldSpans| {
            let mut taken = held.take(P, &traces(&[1]));
            let names: Vec<_> = taken
                .for_write()
                .map(|(_, span, _)| span.agent_name.clone())
                .collect();
            drop(taken);
            names
        };
        let mut taken = held.take(P, &traces(&[1]));
        complete(&mut taken);
        assert_eq!(held.len(), 2, "held until written");
        assert!(
            held.pending(Some(P), true, MAX_LOOKED_UP).is_empty(),
            "not due twice"
        );
        drop(taken);
        assert_eq!(held.len(), 2, "a write dropped unsettled puts them back");
        assert_eq!(as_taken(&held), [None, None]);
        assert!(held.take_released().is_empty(), "nothing written yet");
        let kept: HashSet<usize> = [1].into();
        let mut taken = held.take(P, &traces(&[1]));
        complete(&mut taken);
        taken.settle(&kept);
        assert_eq!(held.len(), 1);
        assert_eq!(as_taken(&held), [None]);
        assert_eq!(
            due(&held, false, MAX_LOOKED_UP).released,
            traces(&[1]),
            "a zero hold: due at once"
        );
        // The span written: its journal row is to be released, once, unless that fails.
        let released = held.take_released();
        assert_eq!(
            released
                .iter()
                .map(|r| (r.project, r.trace_id, r.span_id))
                .collect::<Vec<_>>(),
            [(P, TraceId::from_bytes([1; 16]), SpanId::from_bytes([1; 8]))]
        );
        assert!(held.take_released().is_empty());
        held.unrelease(released.clone());
        assert_eq!(held.take_released(), released);
    }

    #[test]
    fn held_traces_are_looked_up_ever_less_often() {
        let held = HeldSpans::new(Duration::from_secs(3600));
        assert_eq!(held.tick(), TICK_MAX);
        assert!(hold(&held, P, vec![span(1, 1), span(2, 1)]).is_empty());
        assert!(
            held.pending(Some(P), false, MAX_LOOKED_UP).is_empty(),
            "not before a tick"
        );
        std::thread::sleep(held.tick() + Duration::from_millis(50));
        let pending = due(&held, false, MAX_LOOKED_UP);
        assert_eq!(pending.looked_up, traces(&[1, 2]));
        assert!(pending.released.is_empty(), "held for an hour");
        assert!(
            held.pending(Some(P), false, MAX_LOOKED_UP).is_empty(),
            "looked up again two ticks later"
        );
        // Trace 1's span is still awaiting: it stays held, on the same schedule.
        held.take(P, &traces(&[1])).settle(&[0].into());
        held.take(P, &traces(&[2])).settle(&HashSet::new());
        assert_eq!(held.len(), 1);
        let state = held.state();
        assert_eq!(
            state.lookups.len(),
            1,
            "a trace written is looked up no more"
        );
        assert_eq!(
            state
                .lookups
                .get(&(P, TraceId::from_bytes([1; 16])))
                .map(|l| l.then),
            Some(4 * TICK_MAX)
        );
    }

    #[test]
    fn traces_written_awaiting_a_parent_are_looked_up_again_twice() {
        let held = HeldSpans::new(Duration::from_millis(400));
        assert_eq!(held.tick(), TICK_MIN);
        held.recheck(P, traces(&[7]));
        assert!(
            held.pending(Some(P), false, MAX_LOOKED_UP).is_empty(),
            "not before a tick"
        );
        let other = ProjectId(DEFAULT_PROJECT_ID + 1);
        std::thread::sleep(held.tick() + Duration::from_millis(20));
        assert!(
            held.pending(Some(other), false, MAX_LOOKED_UP).is_empty(),
            "another project's batch does not take it"
        );
        assert!(!held.caught_up_within_a_tick(), "left for the timer");
        let first = due(&held, false, MAX_LOOKED_UP);
        assert_eq!(first.rechecked, traces(&[7]));
        assert!(first.looked_up.is_empty() && first.released.is_empty());
        assert_eq!(held.len(), 0, "nothing is held by a recheck");
        std::thread::sleep(held.tick() * 2);
        assert!(
            due(&held, false, MAX_LOOKED_UP).rechecked.is_empty(),
            "the second lookup is further off"
        );
        std::thread::sleep(held.tick() * RECHECK_SPACING);
        assert_eq!(due(&held, false, MAX_LOOKED_UP).rechecked, traces(&[7]));
        std::thread::sleep(held.tick() * RECHECK_SPACING + Duration::from_millis(20));
        assert!(
            due(&held, false, MAX_LOOKED_UP).rechecked.is_empty(),
            "looked up {RECHECKS} times, then no more"
        );
    }

    #[test]
    fn lookups_beyond_a_batchs_share_wait_for_the_next_batch_or_the_timer() {
        let held = HeldSpans::new(Duration::from_secs(3600));
        assert!(hold(&held, P, vec![span(1, 1), span(2, 1), span(3, 1)]).is_empty());
        std::thread::sleep(held.tick() + Duration::from_millis(50));
        let mut looked_up = HashSet::new();
        for batch in 1..=3 {
            let pending = due(&held, false, 1);
            assert_eq!(pending.looked_up.len(), 1, "one a batch");
            looked_up.extend(pending.looked_up);
            assert_eq!(
                held.caught_up_within_a_tick(),
                batch == 3,
                "the timer writes what batch {batch} left due"
            );
        }
        assert_eq!(looked_up, traces(&[1, 2, 3]), "each in its turn");
        assert!(
            held.pending(Some(P), false, 1).is_empty(),
            "none due again yet"
        );
        std::thread::sleep(held.tick());
        assert!(
            !held.caught_up_within_a_tick(),
            "no batch for a tick: the timer looks"
        );
    }

    #[test]
    fn spans_taken_over_keep_their_age_and_each_project_its_traces() {
        let other = ProjectId(7);
        let hour = Duration::from_secs(3600);
        let held = HeldSpans::new(hour);
        // The same trace id in two projects: two traces.
        assert!(hold(&held, P, vec![span(1, 1)]).is_empty());
        assert_eq!(held.take(P, &traces(&[1])).for_write().count(), 1);
        // Taken over from a node gone: one held there for two hours (due at once), one just
        // now (held on), and one held here already (skipped).
        let now = now_unix_nano();
        let adopted = held.adopt(vec![
            (other, span(1, 1), now - 2 * 3_600_000_000_000, 100),
            (other, span(1, 2), now - 2 * 3_600_000_000_000, 100),
            (other, span(2, 1), now, 100),
            (P, span(1, 1), now, 100),
        ]);
        assert_eq!(adopted, 3);
        assert_eq!(held.len(), 4);
        // A batch of P takes nothing of the other's, leaving its due trace to the timer,
        // which takes every project's.
        let batch = held.pending(Some(P), false, MAX_LOOKED_UP);
        assert!(batch.is_empty(), "{batch:?}");
        assert!(!held.caught_up_within_a_tick(), "the other's trace is left");
        let timer = held.pending(None, false, MAX_LOOKED_UP);
        assert_eq!(timer.keys().copied().collect::<Vec<_>>(), [other]);
        assert_eq!(
            timer.get(&other).map(|p| p.released.clone()),
            Some(traces(&[1])),
            "held two hours: its hold is over"
        );
        assert!(held.caught_up_within_a_tick());
        assert_eq!(held.take(other, &traces(&[1])).for_write().count(), 2);
        assert_eq!(held.status().bytes as usize, held.state().bytes);
    }

    #[test]
    fn spans_over_the_bound_are_given_back() {
        let held = HeldSpans::new(Duration::ZERO);
        let mut big = span(1, 1);
        big.attributes.insert("content", "x".repeat(MAX_BYTES / 3));
        let mut bigger = span(1, 2);
        bigger
            .attributes
            .insert("content", "x".repeat(MAX_BYTES / 3));
        let given_back = hold(&held, P, vec![big, bigger, span(1, 3)]);
        assert_eq!(
            given_back.iter().map(|s| s.span_id).collect::<Vec<_>>(),
            [SpanId::from_bytes([2; 8])]
        );
        assert_eq!(held.len(), 2);
        let status = held.status();
        assert_eq!((status.spans, status.over_ceiling), (2, 1));
        assert!(status.bytes > MAX_BYTES as u64 / 2 && status.bytes <= status.ceiling_bytes);
        held.journal_failed(3);
        assert_eq!(held.status().journal_failures, 3);
    }

    #[test]
    fn a_journal_record_brings_back_every_field() {
        let spans =
            agentrace_core::testing::fixtures::sample_spans(TraceId::from_bytes([7; 16]), 1_000);
        for s in &spans {
            let record = journal::encode(s).expect("encodes");
            assert_eq!(
                rmp_serde::from_slice::<SpanRecord>(&record).ok().as_ref(),
                Some(s)
            );
        }
    }
}
