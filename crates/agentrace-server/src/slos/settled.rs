//! The tallies of quality and cost objectives by the hour, kept once an hour has settled (and
//! the minutes of a window's first hour): a window of days then reads from the store only its
//! hours not yet settled, as the rollups make a window of spans cost what an hour does.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agentrace_alerts::slo::{BudgetPoint, Counts, Slo, SloStatus, Tally};
use agentrace_store::series::{HOUR_NS, MINUTE_NS, ceil, floor};
use agentrace_store::{QueryError, Store, TimeRange};

use super::{Counted, burn_down_counting, judge, tally, tally_by_bucket, window_range};

/// How long after its end an hour counts as settled: its traces' costs complete (a trace
/// counts in the hour it starts, its later calls add to it) and its late spans and scores in.
const SETTLE: Duration = Duration::from_secs(3_600);

/// How long the hours read are kept before all are read again: the most a change to a settled
/// hour (a score deleted or given again, a span of a trace that started hours ago, a price
/// change) waits before the counts show it.
const REFRESH: Duration = Duration::from_secs(3_600);

/// Settled hours of the quality and cost objectives (of traces), by SLO. The objectives of
/// spans read the rollups and the cost of sessions its window whole (a session is judged on its
/// part of the window, not on its part of each hour): those are passed through. One per server,
/// shared by the alert evaluation and the API.
#[derive(Debug, Default)]
pub struct SettledHours {
    kept: Mutex<HashMap<String, Arc<Mutex<Kept>>>>,
}

/// The buckets kept of one SLO.
#[derive(Debug)]
struct Kept {
    /// The SLO as they were read for (a configuration read again may change it).
    slo: Slo,
    /// When (wall clock) the first of them was read.
    since: u64,
    /// Each bucket's tally by its width and start, a bucket without events included: settled
    /// hours, and the minutes of a window's first hour.
    buckets: BTreeMap<(u64, u64), Tally>,
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
        let head = kept.sum(store, (start, first), MINUTE_NS)?;
        let hours = kept.sum(store, (first, settled), HOUR_NS)?;
        let tail = if settled < end {
            tally(store, slo, TimeRange::new(settled, end))?
        } else {
            Tally::default()
        };
        Ok(head + hours + tail)
    }
}

impl Kept {
    fn new(slo: &Slo, wall: u64) -> Self {
        Self {
            slo: slo.clone(),
            since: wall,
            buckets: BTreeMap::new(),
        }
    }

    /// The sum of the buckets of `width` from `from` to `to` (both on the width), those not
    /// kept read in one read.
    fn sum(
        &mut self,
        store: &dyn Store,
        (from, to): (u64, u64),
        width: u64,
    ) -> Result<Tally, QueryError> {
        let missing: Vec<u64> = (from / width..to / width)
            .map(|b| b * width)
            .filter(|b| !self.buckets.contains_key(&(width, *b)))
            .collect();
        if let (Some(&first), Some(&last)) = (missing.first(), missing.last()) {
            let read =
                tally_by_bucket(store, &self.slo, TimeRange::new(first, last + width), width)?
                    .ok_or_else(|| {
                        QueryError::Invalid("an objective not counted by the hour".into())
                    })?;
            self.buckets
                .extend(missing.into_iter().map(|b| ((width, b), Tally::default())));
            self.buckets
                .extend(read.into_iter().map(|(b, t)| ((width, b), t)));
        }
        Ok(self
            .buckets
            .range((width, from)..(width, to))
            .map(|(_, t)| *t)
            .sum())
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
    use agentrace_core::{Score, ScoreTarget, ScoreValue, TraceId};
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
    /// the hour; a score given later in a settled hour shows once the hours are read again.
    #[test]
    fn kept_hours_tally_as_a_whole_read_does_until_refreshed()
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
        let wall = t0 + 31 * HOUR_NS + 13 * MIN;
        for (end, width) in [
            (t0 + 31 * HOUR_NS, 30 * HOUR_NS),
            (t0 + 29 * HOUR_NS + 41 * MIN, 20 * HOUR_NS + 5 * MIN),
            (t0 + 28 * HOUR_NS, 2 * HOUR_NS + MIN),
            (t0 + 27 * HOUR_NS + 17 * SEC, 26 * HOUR_NS + 3 * SEC),
            (wall, 3 * 86_400 * 1_000_000_000),
        ] {
            let range = TimeRange::new(end - width.min(end), end);
            let whole = tally(&*store, &slo, range)?;
            assert!(whole.events > 0);
            assert_eq!(
                settled.tally(&*store, &slo, range, wall)?,
                whole,
                "{range:?}"
            );
        }
        // Hours 0 to 29 are kept, so a score given in hour 2 is not counted until they are
        // read again.
        store.write_scores(&scores(&[(t0 + 2 * HOUR_NS + MIN, 0.1)])?)?;
        let range = TimeRange::new(t0, t0 + 30 * HOUR_NS);
        let whole = tally(&*store, &slo, range)?;
        let kept = settled.tally(&*store, &slo, range, wall + MIN)?;
        assert_eq!(kept.events + 1, whole.events);
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
