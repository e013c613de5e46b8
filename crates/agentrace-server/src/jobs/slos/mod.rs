//! Service level objectives judged on the store (`agentrace_alerts::slo`, docs/slos.md): each
//! window's good and total events read from the rollups for the objectives of spans (so that a
//! 28-day window costs what an hour does, on every store), from the scores for quality and the
//! per-trace summaries or the spans for cost — those two by the hour once an hour has settled
//! ([`SettledHours`]); a burn-down as one time series.

mod settled;

use std::time::Duration;

use agentrace_alerts::slo::{
    BudgetPoint, CostUnit, Count, Counts, Indicator, Slo, SloStatus, Status, Tally,
};
use agentrace_core::{SpanId, TraceId, Usd};
use agentrace_store::{
    AggregateQuery, AggregateRow, CostTally, CostTallyQuery, GroupBy, GroupKey, Order, QueryError,
    RollupAnswer, ScorePass, ScoreTally, SpanFilter, SpanQuery, StatusFilter, Store, TimeRange,
};
use serde::Serialize;

pub use settled::SettledHours;

/// The good and total events of `slo` in the `window` ending at `now_unix_nano`, read whole.
pub fn counts(
    store: &dyn Store,
    slo: &Slo,
    window: Duration,
    now_unix_nano: u64,
) -> Result<Counts, QueryError> {
    Ok(slo
        .indicator
        .counts(tally(store, slo, window_range(window, now_unix_nano))?))
}

/// The `window` ending at `end`.
fn window_range(window: Duration, end: u64) -> TimeRange {
    let width = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
    TimeRange::new(end.saturating_sub(width), end)
}

/// What an indicator counts, and how the store counts it.
enum Counted<'s> {
    /// Spans, from the rollups: `total`, and a ratio's `good`.
    Spans {
        total: Count,
        good: Option<&'s Count>,
    },
    /// The scores of a name, those that pass.
    Scores { name: &'s str, pass: ScorePass },
    /// Traces or sessions, those at most a cost.
    Costs { of: CostUnit, max_usd: f64 },
}

impl<'s> Counted<'s> {
    fn of(indicator: &'s Indicator) -> Result<Self, QueryError> {
        Ok(match indicator {
            Indicator::Ratio { good, total } => Self::Spans {
                total: (**total).clone(),
                good: Some(&**good),
            },
            Indicator::Success { of } | Indicator::Latency { of, .. } => Self::Spans {
                total: Count::of(*of),
                good: None,
            },
            Indicator::Quality {
                score,
                min,
                max,
                labels,
            } => Self::Scores {
                name: score,
                pass: ScorePass::new(*min, *max, labels.clone()),
            },
            Indicator::Cost { of, max_usd } => Self::Costs {
                of: *of,
                max_usd: *max_usd,
            },
            _ => {
                return Err(QueryError::Invalid(
                    "an indicator this server does not know".into(),
                ));
            }
        })
    }

    /// Whether a window's count is the sum of its buckets' ([`tally_by_bucket`]): all but the
    /// cost of sessions (a session is judged on its part of the whole window, not on its part
    /// of each bucket).
    fn sums_by_bucket(&self) -> bool {
        !matches!(
            self,
            Self::Costs {
                of: CostUnit::Sessions,
                ..
            }
        )
    }

    /// Whether [`SettledHours`] keeps its settled hours: the counts the store has no rollups of
    /// (scores, costs), whose windows would otherwise be read whole — the cost of sessions as
    /// each session's cost by the hour.
    fn kept_by_the_hour(&self) -> bool {
        !matches!(self, Self::Spans { .. })
    }
}

/// What `slo`'s indicator counts over `range` widened to whole minutes (as the rollups read
/// it), read whole.
fn tally(store: &dyn Store, slo: &Slo, range: TimeRange) -> Result<Tally, QueryError> {
    match Counted::of(&slo.indicator)? {
        Counted::Scores { name, pass } => Ok(of_scores(store.score_tally(
            name,
            settled::whole_minutes(range),
            &pass,
        )?)),
        Counted::Costs { of, max_usd } => Ok(of_costs(store.cost_tally(&cost_query(
            slo,
            of,
            max_usd,
            settled::whole_minutes(range),
        ))?)),
        Counted::Spans { total, good } => {
            let total_row = rollup(store, slo, &total, range, Vec::new())?.total;
            let good = match good {
                Some(good) => Some((good, rollup(store, slo, good, range, Vec::new())?.total)),
                None => None,
            };
            let good = good.as_ref().map(|(count, row)| (*count, row));
            Ok(span_tally(slo, &total, &total_row, good))
        }
    }
}

/// What `slo`'s indicator counts in each bucket of `width` (aligned on the epoch) over
/// `range`, in one read a count, oldest first (a bucket with nothing left out); `None` where
/// a window is not the sum of its buckets ([`Counted::sums_by_bucket`]). The rollups keep
/// minutes: `width` is whole minutes for an indicator of spans.
fn tally_by_bucket(
    store: &dyn Store,
    slo: &Slo,
    range: TimeRange,
    width: u64,
) -> Result<Option<Vec<(u64, Tally)>>, QueryError> {
    let counted = Counted::of(&slo.indicator)?;
    if !counted.sums_by_bucket() {
        return Ok(None);
    }
    let (total, good) = match counted {
        Counted::Scores { name, pass } => {
            let buckets = store.score_tally_by_bucket(name, range, &pass, width)?;
            return Ok(Some(
                buckets
                    .into_iter()
                    .map(|(at, t)| (at, of_scores(t)))
                    .collect(),
            ));
        }
        Counted::Costs { of, max_usd } => {
            let q = cost_query(slo, of, max_usd, range);
            let buckets = store.cost_tally_by_bucket(&q, width)?;
            return Ok(Some(
                buckets
                    .into_iter()
                    .map(|(at, t)| (at, of_costs(t)))
                    .collect(),
            ));
        }
        Counted::Spans { total, good } => (total, good),
    };
    let by_bucket = |count: &Count| -> Result<Vec<(u64, AggregateRow)>, QueryError> {
        let rows = rollup(
            store,
            slo,
            count,
            range,
            vec![GroupBy::TimeBucket { width_ns: width }],
        )?
        .rows;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.keys.first() {
                Some(GroupKey::Bucket(at)) => Some((*at, row)),
                _ => None,
            })
            .collect())
    };
    let totals = by_bucket(&total)?;
    let goods = match good {
        Some(good) => by_bucket(good)?,
        None => Vec::new(),
    };
    Ok(Some(
        totals
            .iter()
            .map(|(at, total_row)| {
                let good = good.and_then(|count| {
                    let (_, row) = goods.iter().find(|(g, _)| g == at)?;
                    Some((count, row))
                });
                (*at, span_tally(slo, &total, total_row, good))
            })
            .collect(),
    ))
}

/// A quality indicator's tally: of the scores given, those that passed.
fn of_scores(t: ScoreTally) -> Tally {
    Tally {
        events: t.scored,
        selected: t.passed,
        ..Tally::default()
    }
}

/// A cost indicator's tally: of the traces or sessions of known cost (one with an unpriced
/// call is neither cheap nor dear), those at most the threshold.
fn of_costs(t: CostTally) -> Tally {
    Tally {
        events: t.counted.saturating_sub(t.unpriced),
        selected: t.within,
        ..Tally::default()
    }
}

/// A cost objective's query over `range`: the traces or sessions of the SLO's scope, cheap at
/// `max_usd` or less.
fn cost_query(slo: &Slo, of: CostUnit, max_usd: f64, range: TimeRange) -> CostTallyQuery {
    let mut q = CostTallyQuery::new(of, range, Usd::from_dollars(max_usd));
    q.service.clone_from(&slo.scope.service);
    q.agent.clone_from(&slo.scope.agent);
    q.user.clone_from(&slo.scope.user);
    q
}

/// What the rollup rows of a span indicator's counts hold: `total` of `total_count`'s spans,
/// `good` of a ratio's good count.
fn span_tally(
    slo: &Slo,
    total_count: &Count,
    total: &AggregateRow,
    good: Option<(&Count, &AggregateRow)>,
) -> Tally {
    let selected = good.map_or(0, |(count, row)| of_status(row, count.status));
    let (events, failed) = match total_count.status {
        Some(status) => {
            let events = of_status(total, Some(status));
            (events, if status == Status::Error { events } else { 0 })
        }
        None => (total.count, total.errors),
    };
    let within = slo.indicator.threshold().map_or(0, |t| {
        total
            .durations
            .at_most(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
    });
    Tally {
        events,
        failed,
        within,
        selected,
    }
}

/// The events of `row` of `status` (all without one): from its count and errors, so that a
/// status costs no read of the spans (the rollups keep no status, they count the errors).
fn of_status(row: &AggregateRow, status: Option<Status>) -> u64 {
    match status {
        None => row.count,
        Some(Status::Ok) => row.count.saturating_sub(row.errors),
        Some(Status::Error) => row.errors,
    }
}

/// The rollups of `count`'s target and scope within `slo`'s scope over `range`, grouped by
/// `group_by` (its status aside: [`of_status`]).
fn rollup(
    store: &dyn Store,
    slo: &Slo,
    count: &Count,
    range: TimeRange,
    group_by: Vec<GroupBy>,
) -> Result<RollupAnswer, QueryError> {
    // A count naming another value than the SLO's scope is refused when the file is read.
    let scope = slo
        .scope
        .and(&count.scope)
        .unwrap_or_else(|| slo.scope.clone());
    let mut filter = scope_filter(&scope, range);
    filter.kind = count.of.kind().parse().ok();
    store.aggregate(&AggregateQuery::new(filter, group_by))
}

/// `slo` judged at `now_unix_nano`, each window read whole.
pub fn status(store: &dyn Store, slo: &Slo, now_unix_nano: u64) -> Result<SloStatus, QueryError> {
    judge(slo, now_unix_nano, |window| {
        counts(store, slo, window, now_unix_nano)
    })
}

/// `slo` judged at `now_unix_nano` with the counts of each window `counts` gives.
fn judge(
    slo: &Slo,
    now_unix_nano: u64,
    counts: impl Fn(Duration) -> Result<Counts, QueryError>,
) -> Result<SloStatus, QueryError> {
    let mut failed = None;
    let status = slo.status(now_unix_nano, |window| {
        counts(window).unwrap_or_else(|e| {
            failed.get_or_insert(e);
            Counts::default()
        })
    });
    failed.map_or(Ok(status), Err)
}

/// Every SLO of `slos` judged at `now_unix_nano`, each window read whole.
pub fn statuses(
    store: &dyn Store,
    slos: &[Slo],
    now_unix_nano: u64,
) -> Result<Vec<SloStatus>, QueryError> {
    slos.iter()
        .map(|slo| status(store, slo, now_unix_nano))
        .collect()
}

/// The burn-down of `slo` over `range`: at `points + 1` times evenly from its start to its
/// end (the oldest first), the budget of the SLO's window ending then (for a calendar SLO, of
/// its period so far) — how it was spent and when. A rolling SLO whose step is whole minutes
/// and divides its window is read as one time series (`bucketed_burn_down`); any other reads
/// each point's window as [`counts`] does.
pub fn burn_down(
    store: &dyn Store,
    slo: &Slo,
    range: (u64, u64),
    points: u32,
) -> Result<Vec<BudgetPoint>, QueryError> {
    burn_down_counting(store, slo, range, points, |window, end| {
        counts(store, slo, window, end)
    })
}

/// [`burn_down`] with the counts of each window ending at an instant that is no boundary of
/// the series (the last point, and every point of a burn-down not read as one series) from
/// `counts`.
fn burn_down_counting(
    store: &dyn Store,
    slo: &Slo,
    range: (u64, u64),
    points: u32,
    counts: impl Fn(Duration, u64) -> Result<Counts, QueryError>,
) -> Result<Vec<BudgetPoint>, QueryError> {
    let (start, end) = range;
    if let Some(mut burn_down) = bucketed_burn_down(store, slo, range, points)? {
        burn_down.push(slo.budget_at(end, counts(slo.span(), end)?));
        return Ok(burn_down);
    }
    let step = end.saturating_sub(start) / u64::from(points.max(1));
    (0..=u64::from(points.max(1)))
        .rev()
        .map(|back| {
            let at = end.saturating_sub(back * step);
            Ok(slo.budget_at(at, counts(slo.elapsed(at), at)?))
        })
        .collect()
}

/// The burn-down as one time series, but for its last point: the tallies in buckets of the
/// step ([`tally_by_bucket`]), each point's window the sum of the buckets it covers. The points
/// are the step's boundaries (so that every window is whole buckets, as exact as [`counts`])
/// up to the last before the range's end; the end itself is the caller's. `None` when that is
/// not exact: a calendar SLO, the cost of sessions, a step that is not whole minutes or does
/// not divide the window.
fn bucketed_burn_down(
    store: &dyn Store,
    slo: &Slo,
    range: (u64, u64),
    points: u32,
) -> Result<Option<Vec<BudgetPoint>>, QueryError> {
    const MINUTE: u64 = 60_000_000_000;
    let (start, end) = range;
    let n = u64::from(points.max(1));
    let step = end.saturating_sub(start) / n;
    let window = u64::try_from(slo.window.as_nanos()).unwrap_or(u64::MAX);
    if slo.calendar.is_some()
        || step == 0
        || !step.is_multiple_of(MINUTE)
        || !window.is_multiple_of(step)
    {
        return Ok(None);
    }
    let last = end / step * step;
    let first = last.saturating_sub((n - 1) * step);
    let span = TimeRange::new(first.saturating_sub(window), last);
    let Some(bucket_tallies) = tally_by_bucket(store, slo, span, step)? else {
        return Ok(None);
    };
    let burn_down: Vec<BudgetPoint> = (0..n)
        .map(|k| {
            let at = first + k * step;
            let from = at.saturating_sub(window);
            let sum = bucket_tallies
                .iter()
                .filter(|(b, _)| *b >= from && *b < at)
                .map(|(_, t)| *t)
                .sum();
            slo.budget_at(at, slo.indicator.counts(sum))
        })
        .collect();
    Ok(Some(burn_down))
}

/// A run or call that spent budget: it failed, or took longer than the threshold.
#[derive(Debug, Clone, Serialize)]
pub struct BadEvent {
    /// Its trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// The span's name.
    pub name: String,
    /// Its agent, if known.
    pub agent_name: Option<String>,
    /// When it started.
    pub start_unix_nano: u64,
    /// How long it took.
    pub duration_ns: u64,
    /// Its error message, if it failed with one.
    pub error: Option<String>,
}

/// The newest (at most `limit`) bad events of `slo`'s window ending at `now_unix_nano`:
/// failures for a success objective, the slower ones for a latency objective, and for a ratio
/// whose `good` is its `total` without failures, those failures. `None` when the bad events
/// are not one filter (a ratio narrowed by scope).
pub fn bad_events(
    store: &dyn Store,
    slo: &Slo,
    limit: usize,
    now_unix_nano: u64,
) -> Result<Option<Vec<BadEvent>>, QueryError> {
    let range = TimeRange::new(slo.window_start(now_unix_nano), now_unix_nano);
    let Some(filter) = bad_filter(slo, range) else {
        return Ok(None);
    };
    let page = store.spans(&SpanQuery::new(filter).order(Order::Desc).limit(limit))?;
    Ok(Some(
        page.spans
            .into_iter()
            .map(|s| BadEvent {
                trace_id: s.trace_id,
                span_id: s.span_id,
                name: s.name.to_string(),
                agent_name: s.agent_name.map(|a| a.to_string()),
                start_unix_nano: s.start_time_unix_nano,
                duration_ns: s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano),
                error: s.status.message,
            })
            .collect(),
    ))
}

/// The spans that are `slo`'s bad events over `range`, when one filter says which.
fn bad_filter(slo: &Slo, range: TimeRange) -> Option<SpanFilter> {
    let of = |count: &Count| {
        let scope = slo.scope.and(&count.scope)?;
        let mut filter = scope_filter(&scope, range);
        filter.kind = count.of.kind().parse().ok();
        Some(filter)
    };
    match &slo.indicator {
        Indicator::Success { of: target } => {
            let mut filter = of(&Count::of(*target))?;
            filter.status = Some(StatusFilter::Error);
            Some(filter)
        }
        Indicator::Latency {
            of: target,
            threshold,
        } => {
            let mut filter = of(&Count::of(*target))?;
            let ns = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
            filter.min_duration_ns = Some(ns.saturating_add(1));
            Some(filter)
        }
        Indicator::Ratio { good, total } => {
            let failures_only = good.status == Some(Status::Ok)
                && total.status.is_none()
                && slo.scope.and(&good.scope) == slo.scope.and(&total.scope);
            let mut filter = of(total).filter(|_| failures_only)?;
            filter.status = Some(StatusFilter::Error);
            Some(filter)
        }
        _ => None,
    }
}

/// The spans of a rule's or SLO's scope in `range` (its `kind` left to the caller).
pub(crate) fn scope_filter(s: &agentrace_alerts::Scope, range: TimeRange) -> SpanFilter {
    let mut f = SpanFilter::new().range(range);
    f.service.clone_from(&s.service);
    f.model.clone_from(&s.model);
    f.provider.clone_from(&s.provider);
    f.agent.clone_from(&s.agent);
    f.tool.clone_from(&s.tool);
    f.user.clone_from(&s.user);
    f.framework.clone_from(&s.framework);
    f.mcp_server.clone_from(&s.mcp_server);
    f
}
