//! The tallies of quality and cost objectives by the hour, kept once an hour has settled (and
//! the minutes of a window's first hour): a window of days then reads from the store only its
//! hours not yet settled, as the rollups make a window of spans cost what an hour does. The
//! cost of sessions keeps each session's cost by the hour instead, summed over the window
//! before each session is judged.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agentrace_alerts::slo::{BudgetPoint, CostUnit, Counts, Indicator, Slo, SloStatus, Tally};
use agentrace_core::Usd;
use agentrace_store::series::{HOUR_NS, MINUTE_NS, ceil, floor};
use agentrace_store::{CostTally, QueryError, Store, TimeRange};

use super::{
    Counted, burn_down_counting, cost_query, judge, of_costs, tally, tally_by_bucket, window_range,
};

/// How long after its end an hour counts as settled: its traces' costs complete (a trace
/// counts in the hour it starts, its later calls add to it) and its late spans and scores in.
/// Longer than [`PAST`](agentrace_store::PAST), so that every change to a kept hour is one
/// the store reports, with time to spare for the clocks of a fleet.
const SETTLE: Duration = Duration::from_secs(3_600);
const _: () = assert!(SETTLE.as_secs() >= 2 * agentrace_store::PAST.as_secs());

/// How long the hours read are kept before all are read again: the most a change to a settled
/// hour that the store cannot report
/// ([`Repairs::past_changes`](agentrace_store::Repairs::past_changes)) waits before the
/// counts show it.
const REFRESH: Duration = Duration::from_secs(3_600);

/// How often the store's changes of the past are read: a count reads them unless they were
/// read less than this before (by the wall clock).
const CHANGES_EVERY: Duration = Duration::from_secs(1);

/// Settled hours of the quality and cost objectives, by SLO. The objectives of spans read the
/// rollups: those are passed through. One per server, shared by the alert evaluation and the
/// API.
#[derive(Debug, Default)]
pub struct SettledHours {
    kept: Mutex<HashMap<String, Arc<Mutex<Kept>>>>,
    /// The store's changes of the past read so far.
    changes: Mutex<ChangesRead>,
}

/// Where the reading of the store's changes of the past is.
#[derive(Debug, Default)]
struct ChangesRead {
    /// The cursor to read after (`None`: never read).
    cursor: Option<u64>,
    /// When (wall clock) they were last read.
    at: u64,
}

/// The buckets kept of one SLO.
#[derive(Debug)]
struct Kept {
    /// The SLO as they were read for (a configuration read again may change it).
    slo: Slo,
    /// When (wall clock) the first of them was read.
    since: u64,
    /// Each bucket by its width and start, a bucket without events included: settled hours,
    /// and the minutes of a window's first hour.
    buckets: BTreeMap<(u64, u64), Bucket>,
    /// For a cost of sessions, its threshold and the sessions met, numbered as its buckets
    /// name them.
    sessions: Option<Sessions>,
}

/// A bucket kept.
#[derive(Debug)]
enum Bucket {
    /// The tally of a count that is the sum of its buckets'.
    Tally(Tally),
    /// Each session's part of the bucket, by its number: a session is judged on its whole part
    /// of a window, its buckets summed first.
    Sessions(Vec<(u32, SessionSum)>),
}

/// A session's cost and unpriced calls, over a bucket or a window.
#[derive(Debug, Clone, Copy, Default)]
struct SessionSum {
    cost: Usd,
    unpriced: u64,
}

/// The sessions a cost of sessions has met, numbered, and its threshold.
#[derive(Debug)]
struct Sessions {
    threshold: Usd,
    numbers: HashMap<String, u32>,
    /// The settled hours of the window counted last, summed by session and judged: the
    /// windows counted within an hour share them, so that a count adds only its edges
    /// (dropped with any bucket).
    hours: Option<HoursJudged>,
}

/// Settled hours summed by session, and judged.
#[derive(Debug)]
struct HoursJudged {
    /// Their start and end.
    range: (u64, u64),
    sessions: Vec<Option<SessionSum>>,
    judged: CostTally,
}

/// What a window's buckets add up to: a tally, and each session's cost by its number (of a cost
/// of sessions), judged once every bucket is in.
#[derive(Debug, Default)]
struct Sum {
    tally: Tally,
    sessions: Vec<Option<SessionSum>>,
}

impl SettledHours {
    /// The good and total events of `slo` in the `window` ending at `now_unix_nano`, as
    /// [`super::counts`] reads them.
    pub fn counts(
        &self,
        store: &dyn Store,
        slo: &Slo,
        window: Duration,
        now_unix_nano: u64,
    ) -> Result<Counts, QueryError> {
        let range = window_range(window, now_unix_nano);
        Ok(slo
            .indicator
            .counts(self.tally(store, slo, range, agentrace_core::now_unix_nano())?))
    }

    /// `slo` judged at `now_unix_nano`.
    pub fn status(
        &self,
        store: &dyn Store,
        slo: &Slo,
        now_unix_nano: u64,
    ) -> Result<SloStatus, QueryError> {
        judge(slo, now_unix_nano, |window| {
            self.counts(store, slo, window, now_unix_nano)
        })
    }

    /// The burn-down of `slo` over `range` (as [`super::burn_down`]), each window that is not
    /// read as part of one series counted here.
    pub fn burn_down(
        &self,
        store: &dyn Store,
        slo: &Slo,
        range: (u64, u64),
        points: u32,
    ) -> Result<Vec<BudgetPoint>, QueryError> {
        burn_down_counting(store, slo, range, points, |window, end| {
            self.counts(store, slo, window, end)
        })
    }

    /// Every SLO of `slos` judged at `now_unix_nano`.
    pub fn statuses(
        &self,
        store: &dyn Store,
        slos: &[Slo],
        now_unix_nano: u64,
    ) -> Result<Vec<SloStatus>, QueryError> {
        slos.iter()
            .map(|slo| self.status(store, slo, now_unix_nano))
            .collect()
    }

    /// `slo`'s tally over `range` (widened to whole minutes, as every window of an SLO is) at
    /// the wall-clock time `wall`: its whole hours that settled by then from the hours kept,
    /// its first, partial hour from that hour's minutes kept (once settled), the rest read from
    /// the store; buckets not kept yet are read in one read a width.
    fn tally(
        &self,
        store: &dyn Store,
        slo: &Slo,
        range: TimeRange,
        wall: u64,
    ) -> Result<Tally, QueryError> {
        let kept_by_hour = Counted::of(&slo.indicator)?.kept_by_the_hour();
        let range = whole_minutes(range);
        let start = range.start_unix_nano.unwrap_or(0);
        let end = range.end_unix_nano.unwrap_or(u64::MAX);
        let first = ceil(start, HOUR_NS);
        let settle = u64::try_from(SETTLE.as_nanos()).unwrap_or(u64::MAX);
        let settled = floor(wall.saturating_sub(settle), HOUR_NS).min(floor(end, HOUR_NS));
        if !kept_by_hour || first >= settled {
            return tally(store, slo, range);
        }
        self.drop_changed(store, wall)?;
        // The map is locked only to find the SLO's buckets: a read of one SLO's missing
        // buckets (a cold window: tens of milliseconds) holds up no other SLO's count.
        let slot = Arc::clone(
            self.kept
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(slo.name.clone())
                .or_insert_with(|| Arc::new(Mutex::new(Kept::new(slo, wall)))),
        );
        let mut kept = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let refresh = u64::try_from(REFRESH.as_nanos()).unwrap_or(u64::MAX);
        if kept.slo != *slo || wall.saturating_sub(kept.since) >= refresh {
            *kept = Kept::new(slo, wall);
        }
        // The window's edges: its first hour's minutes, its hours not settled.
        let mut edges = Sum::default();
        kept.add(store, &mut edges, (start, first), MINUTE_NS)?;
        if settled < end {
            kept.add_unkept(store, &mut edges, TimeRange::new(settled, end))?;
        }
        kept.judge(store, edges, (first, settled))
    }
}

impl SettledHours {
    /// Reads the store's changes of the past (unless read within [`CHANGES_EVERY`] of `wall`)
    /// and drops every kept bucket they meet, of every SLO: those are read again when next
    /// counted. Before any bucket is read, so that none read before a change survives it.
    fn drop_changed(&self, store: &dyn Store, wall: u64) -> Result<(), QueryError> {
        let mut read = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let every = u64::try_from(CHANGES_EVERY.as_nanos()).unwrap_or(u64::MAX);
        if read.cursor.is_some() && wall.saturating_sub(read.at) < every {
            return Ok(());
        }
        let changes = store.past_changes(read.cursor.unwrap_or(0))?;
        *read = ChangesRead {
            cursor: Some(changes.cursor),
            at: wall,
        };
        let Some((from, to)) = changes.range else {
            return Ok(());
        };
        let slots: Vec<Arc<Mutex<Kept>>> = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for slot in slots {
            let mut kept = slot.lock().unwrap_or_else(PoisonError::into_inner);
            kept.buckets
                .retain(|&(width, start), _| start > to || start.saturating_add(width) <= from);
            if let Some(sessions) = &mut kept.sessions {
                sessions.hours = None;
            }
        }
        Ok(())
    }
}

impl Kept {
    fn new(slo: &Slo, wall: u64) -> Self {
        let sessions = match slo.indicator {
            Indicator::Cost {
                of: CostUnit::Sessions,
                max_usd,
            } => Some(Sessions {
                threshold: Usd::from_dollars(max_usd),
                numbers: HashMap::new(),
                hours: None,
            }),
            _ => None,
        };
        Self {
            slo: slo.clone(),
            since: wall,
            buckets: BTreeMap::new(),
            sessions,
        }
    }

    /// Adds to `sum` the buckets of `width` from `from` to `to` (both on the width), those not
    /// kept read in one read and kept.
    fn add(
        &mut self,
        store: &dyn Store,
        sum: &mut Sum,
        (from, to): (u64, u64),
        width: u64,
    ) -> Result<(), QueryError> {
        let missing: Vec<u64> = (from / width..to / width)
            .map(|b| b * width)
            .filter(|b| !self.buckets.contains_key(&(width, *b)))
            .collect();
        if let (Some(&first), Some(&last)) = (missing.first(), missing.last()) {
            let range = TimeRange::new(first, last + width);
            let read = self.read(store, range, width)?;
            let empty: Vec<((u64, u64), Bucket)> = missing
                .into_iter()
                .map(|b| ((width, b), self.empty_bucket()))
                .collect();
            self.buckets.extend(empty);
            self.buckets
                .extend(read.into_iter().map(|(b, bucket)| ((width, b), bucket)));
        }
        for bucket in self
            .buckets
            .range((width, from)..(width, to))
            .map(|(_, b)| b)
        {
            sum.add(bucket);
        }
        Ok(())
    }

    /// Adds to `sum` what `range` holds, read from the store and not kept (its hours have not
    /// settled).
    fn add_unkept(
        &mut self,
        store: &dyn Store,
        sum: &mut Sum,
        range: TimeRange,
    ) -> Result<(), QueryError> {
        if self.sessions.is_none() {
            sum.tally = sum.tally + tally(store, &self.slo, range)?;
            return Ok(());
        }
        for (_, bucket) in self.read(store, range, HOUR_NS)? {
            sum.add(&bucket);
        }
        Ok(())
    }

    /// The buckets of `width` over `range` that hold events, read from the store.
    fn read(
        &mut self,
        store: &dyn Store,
        range: TimeRange,
        width: u64,
    ) -> Result<Vec<(u64, Bucket)>, QueryError> {
        let Some(sessions) = &mut self.sessions else {
            let read = tally_by_bucket(store, &self.slo, range, width)?.ok_or_else(|| {
                QueryError::Invalid("an objective not counted by the hour".into())
            })?;
            return Ok(read
                .into_iter()
                .map(|(b, t)| (b, Bucket::Tally(t)))
                .collect());
        };
        let q = cost_query(&self.slo, CostUnit::Sessions, 0.0, range);
        let mut buckets: Vec<(u64, Bucket)> = Vec::new();
        for part in store.session_costs_by_bucket(&q, width)? {
            let next = u32::try_from(sessions.numbers.len()).unwrap_or(u32::MAX);
            let number = *sessions.numbers.entry(part.session_id).or_insert(next);
            let sum = SessionSum {
                cost: part.cost,
                unpriced: part.unpriced,
            };
            match buckets.last_mut() {
                Some((b, Bucket::Sessions(parts))) if *b == part.bucket => {
                    parts.push((number, sum));
                }
                _ => buckets.push((part.bucket, Bucket::Sessions(vec![(number, sum)]))),
            }
        }
        Ok(buckets)
    }

    /// A bucket that holds nothing.
    fn empty_bucket(&self) -> Bucket {
        match self.sessions {
            Some(_) => Bucket::Sessions(Vec::new()),
            None => Bucket::Tally(Tally::default()),
        }
    }

    /// The tally of the window whose edges `edges` holds and whose settled hours run from
    /// `hours.0` to `hours.1`: for a cost of sessions, each session judged on its whole part —
    /// the hours' sessions summed and judged once for the windows that share them, then each
    /// session of the edges judged again with its part there added.
    fn judge(
        &mut self,
        store: &dyn Store,
        mut edges: Sum,
        hours: (u64, u64),
    ) -> Result<Tally, QueryError> {
        if self.sessions.is_none() {
            self.add(store, &mut edges, hours, HOUR_NS)?;
            return Ok(edges.tally);
        }
        if self
            .sessions
            .as_ref()
            .and_then(|s| s.hours.as_ref())
            .is_none_or(|h| h.range != hours)
        {
            let mut sum = Sum::default();
            self.add(store, &mut sum, hours, HOUR_NS)?;
            if let Some(sessions) = &mut self.sessions {
                let mut judged = CostTally::default();
                for session in sum.sessions.iter().flatten() {
                    judged.count(session.cost, session.unpriced > 0, sessions.threshold);
                }
                sessions.hours = Some(HoursJudged {
                    range: hours,
                    sessions: sum.sessions,
                    judged,
                });
            }
        }
        let Some(Sessions {
            threshold,
            hours: Some(settled),
            ..
        }) = &self.sessions
        else {
            return Err(QueryError::Invalid("settled hours not summed".into()));
        };
        let mut judged = settled.judged;
        for (number, edge) in edges.sessions.iter().enumerate() {
            let Some(edge) = edge else { continue };
            let mut whole = *edge;
            if let Some(Some(hours)) = settled.sessions.get(number) {
                judged.uncount(hours.cost, hours.unpriced > 0, *threshold);
                whole.cost += hours.cost;
                whole.unpriced += hours.unpriced;
            }
            judged.count(whole.cost, whole.unpriced > 0, *threshold);
        }
        Ok(edges.tally + of_costs(judged))
    }
}

impl Sum {
    fn add(&mut self, bucket: &Bucket) {
        match bucket {
            Bucket::Tally(t) => self.tally = self.tally + *t,
            Bucket::Sessions(parts) => {
                for &(number, part) in parts {
                    let at = usize::try_from(number).unwrap_or(usize::MAX);
                    if self.sessions.len() <= at {
                        self.sessions.resize(at.saturating_add(1), None);
                    }
                    if let Some(slot) = self.sessions.get_mut(at) {
                        let sum = slot.get_or_insert_with(SessionSum::default);
                        sum.cost += part.cost;
                        sum.unpriced += part.unpriced;
                    }
                }
            }
        }
    }
}

/// `range` widened to whole minutes, as the rollups read every window.
pub(super) fn whole_minutes(range: TimeRange) -> TimeRange {
    TimeRange {
        start_unix_nano: range.start_unix_nano.map(|t| floor(t, MINUTE_NS)),
        end_unix_nano: range.end_unix_nano.map(|t| ceil(t, MINUTE_NS)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_alerts::slo::{Indicator, Slo};
    use agentrace_core::{
        Cost, Resource, Score, ScoreTarget, ScoreValue, SpanId, SpanKind, SpanRecord, TokenUsage,
        TraceId,
    };
    use agentrace_store::with_score_ids;

    use super::*;

    const MIN: u64 = 60_000_000_000;
    const SEC: u64 = 1_000_000_000;

    fn store() -> Result<(tempfile::TempDir, Arc<dyn Store>), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = agentrace_sqlite::SqliteStore::open(dir.path().join("agentrace.db"))?;
        Ok((dir, Arc::new(store)))
    }

    fn scores(times_values: &[(u64, f64)]) -> Result<Vec<Score>, agentrace_core::InvalidScore> {
        let scores = times_values
            .iter()
            .map(|&(time, value)| {
                let mut s = Score::new(
                    ScoreTarget::Trace(TraceId::from_bytes([7; 16])),
                    "groundedness",
                    ScoreValue {
                        kind: None,
                        value: Some(value),
                        label: None,
                    },
                )?;
                s.time_unix_nano = time;
                Ok(s)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(with_score_ids(scores))
    }

    /// A trace of one call of `session` at `start`, of `nanos` nano-dollars (`None`: unpriced).
    fn call(session: &str, start: u64, nanos: Option<i64>) -> SpanRecord {
        let mut span = SpanRecord::new(
            TraceId::random(),
            SpanId::random(),
            "chat gpt-4o",
            start,
            start + SEC,
            Arc::new(Resource::new("svc")),
        );
        span.kind = SpanKind::Llm;
        span.usage = TokenUsage::new(100, 10);
        span.cost =
            nanos.map(|n| Cost::from_parts(Usd::from_nanos(n), Usd::ZERO, Usd::ZERO, Usd::ZERO));
        span.session_id = Some(session.into());
        span
    }

    /// Each window's tally of the cost of sessions from kept hours (each session's cost by the
    /// hour) equals the tally read whole, for sessions that run across hours and windows that
    /// cut them; a call added later to a settled hour shows once the store's changes of the past
    /// are read again.
    #[test]
    fn kept_hours_judge_sessions_on_their_whole_part_of_the_window()
    -> Result<(), Box<dyn std::error::Error>> {
        let (_dir, store) = store()?;
        let t0 = 1_700_000_000_000_000_000 / HOUR_NS * HOUR_NS;
        // A call every 7 minutes for 30 hours, 13 calls a session (91 minutes: across an
        // hour), from 1 to 9 micro-dollars, every 97th unpriced.
        let calls: Vec<SpanRecord> = (0..(30 * 60 / 7))
            .map(|k: u64| {
                let nanos = i64::try_from(1_000 + (k * 3_571) % 8_000).unwrap_or(0);
                call(
                    &format!("s-{}", k / 13),
                    t0 + k * 7 * MIN,
                    Some(nanos).filter(|_| k % 97 != 5),
                )
            })
            .collect();
        store.write_spans(&calls)?;
        let slo = Slo::new(
            "cheap conversations",
            Indicator::Cost {
                of: CostUnit::Sessions,
                max_usd: 0.000_064,
            },
            0.9,
            Duration::from_secs(3 * 86_400),
        );
        let settled = SettledHours::default();
        let wall = expect_kept_as_read_whole(&*store, &settled, &slo, t0)?;
        // A dear call of session s-1 (a cheap one) in hour 2, a settled hour: the store
        // reports it, and the next count after a second reads the hour again.
        let range = TimeRange::new(t0, t0 + 30 * HOUR_NS);
        let before = tally(&*store, &slo, range)?;
        assert!(
            before.selected > 0 && before.selected < before.events,
            "{before:?}"
        );
        assert_eq!(settled.tally(&*store, &slo, range, wall)?, before);
        store.write_spans(&[call("s-1", t0 + 2 * HOUR_NS + 30 * MIN, Some(90_000))])?;
        let whole = tally(&*store, &slo, range)?;
        assert_eq!(whole.selected + 1, before.selected);
        assert_eq!(settled.tally(&*store, &slo, range, wall + SEC)?, whole);
        Ok(())
    }

    /// `Ok` if `slo`'s tallies from `settled` equal those read whole, at a wall clock 31 h 13
    /// min after `t0` (returned), over windows ending on and off the hour and the minute, of
    /// data from `t0` on; each window holds events.
    fn expect_kept_as_read_whole(
        store: &dyn Store,
        settled: &SettledHours,
        slo: &Slo,
        t0: u64,
    ) -> Result<u64, QueryError> {
        let wall = t0 + 31 * HOUR_NS + 13 * MIN;
        for (end, width) in [
            (t0 + 31 * HOUR_NS, 30 * HOUR_NS),
            (t0 + 29 * HOUR_NS + 41 * MIN, 20 * HOUR_NS + 5 * MIN),
            (t0 + 28 * HOUR_NS, 2 * HOUR_NS + MIN),
            (t0 + 27 * HOUR_NS + 17 * SEC, 26 * HOUR_NS + 3 * SEC),
            (wall, 3 * 86_400 * 1_000_000_000),
            // The same settled hours (11 to 30) with other edges, one after the other.
            (t0 + 30 * HOUR_NS + 20 * MIN, 20 * HOUR_NS + 7 * MIN),
            (t0 + 30 * HOUR_NS + 50 * MIN, 20 * HOUR_NS + 29 * MIN),
            (t0 + 30 * HOUR_NS + 50 * MIN, 20 * HOUR_NS + 37 * MIN),
        ] {
            let range = TimeRange::new(end - width.min(end), end);
            let whole = tally(store, slo, range)?;
            assert!(whole.events > 0, "{range:?}");
            assert_eq!(settled.tally(store, slo, range, wall)?, whole, "{range:?}");
        }
        Ok(wall)
    }

    fn grounded() -> Slo {
        Slo::new(
            "grounded",
            Indicator::Quality {
                score: "groundedness".into(),
                min: Some(0.7),
                max: None,
                labels: Vec::new(),
            },
            0.9,
            Duration::from_secs(3 * 86_400),
        )
    }

    /// Each window's tally from kept hours equals the tally read whole, at instants on and off
    /// the hour; a score given later in a settled hour shows once the store's changes of the
    /// past are read again.
    #[test]
    fn kept_hours_tally_as_a_whole_read_does_and_follow_changes_of_the_past()
    -> Result<(), Box<dyn std::error::Error>> {
        let (_dir, store) = store()?;
        let t0 = 1_700_000_000_000_000_000 / HOUR_NS * HOUR_NS;
        // A score every 7 minutes for 30 hours, passing or not in turn.
        let given: Vec<(u64, f64)> = (0..(30 * 60 / 7))
            .map(|k| (t0 + k * 7 * MIN, if k % 3 == 0 { 0.5 } else { 0.9 }))
            .collect();
        store.write_scores(&scores(&given)?)?;
        let slo = grounded();
        let settled = SettledHours::default();
        let wall = expect_kept_as_read_whole(&*store, &settled, &slo, t0)?;
        // Hours 0 to 29 are kept; a score given in hour 2 is counted once the store's changes
        // are read again, a second after they last were.
        let range = TimeRange::new(t0, t0 + 30 * HOUR_NS);
        assert_eq!(
            settled.tally(&*store, &slo, range, wall)?,
            tally(&*store, &slo, range)?
        );
        store.write_scores(&scores(&[(t0 + 2 * HOUR_NS + MIN, 0.1)])?)?;
        let whole = tally(&*store, &slo, range)?;
        let kept = settled.tally(&*store, &slo, range, wall + SEC / 2)?;
        assert_eq!(kept.events + 1, whole.events, "changes read a second apart");
        assert_eq!(settled.tally(&*store, &slo, range, wall + SEC)?, whole);
        // Every hour, all are read again (what a store cannot report).
        let refresh = u64::try_from(REFRESH.as_nanos())?;
        assert_eq!(settled.tally(&*store, &slo, range, wall + refresh)?, whole);
        // An SLO changed under the same name is read again.
        let mut stricter = slo.clone();
        stricter.indicator = Indicator::Quality {
            score: "groundedness".into(),
            min: Some(0.95),
            max: None,
            labels: Vec::new(),
        };
        assert_eq!(
            settled.tally(&*store, &stricter, range, wall + refresh)?,
            tally(&*store, &stricter, range)?
        );
        Ok(())
    }
}
