//! Service level objectives judged on the store (`agentrace_alerts::slo`, docs/slos.md): each
//! window's good and total events read from the rollups for the objectives of spans (so that a
//! 28-day window costs what an hour does, on every store), from the scores for quality and the
//! per-trace summaries for cost; a burn-down of spans as one time series of the rollups.

use std::time::Duration;

use agentrace_alerts::slo::{
    BudgetPoint, CostUnit, Count, Counts, Indicator, Slo, SloStatus, Status, Tally,
};
use agentrace_core::{SpanId, TraceId, Usd};
use agentrace_store::{
    AggregateQuery, AggregateRow, CostTallyQuery, GroupBy, GroupKey, Order, QueryError,
    RollupAnswer, ScorePass, SpanFilter, SpanQuery, StatusFilter, Store, TimeRange,
};
use serde::Serialize;

/// The good and total events of `slo` in the `window` ending at `now_unix_nano`.
pub fn counts(
    store: &dyn Store,
    slo: &Slo,
    window: Duration,
    now_unix_nano: u64,
) -> Result<Counts, QueryError> {
    let width = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
    let range = TimeRange::new(now_unix_nano.saturating_sub(width), now_unix_nano);
    let (total_count, good_count) = match &slo.indicator {
        Indicator::Ratio { good, total } => (&**total, Some(&**good)),
        Indicator::Success { of } | Indicator::Latency { of, .. } => (&Count::of(*of), None),
        Indicator::Quality {
            score,
            min,
            max,
            labels,
        } => {
            let tally =
                store.score_tally(score, range, &ScorePass::new(*min, *max, labels.clone()))?;
            return Ok(slo.indicator.counts(Tally {
                events: tally.scored,
                selected: tally.passed,
                ..Tally::default()
            }));
        }
        Indicator::Cost { of, max_usd } => return cost_counts(store, slo, *of, *max_usd, range),
        _ => {
            return Err(QueryError::Invalid(
                "an indicator this server does not know".into(),
            ));
        }
    };
    let total = rollup(store, slo, total_count, range, Vec::new())?.total;
    let good = match good_count {
        Some(good) => Some((good, rollup(store, slo, good, range, Vec::new())?.total)),
        None => None,
    };
    let good = good.as_ref().map(|(count, row)| (*count, row));
    Ok(slo.indicator.counts(tally(slo, total_count, &total, good)))
}

/// What the rollup rows of a span indicator's counts hold: `total` of `total_count`'s spans,
/// `good` of a ratio's good count.
fn tally(
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

/// A cost objective's counts over `range`: the traces or sessions of the SLO's scope at most
/// `max_usd`, among those of known cost (one with an unpriced call is neither cheap nor dear).
fn cost_counts(
    store: &dyn Store,
    slo: &Slo,
    of: CostUnit,
    max_usd: f64,
    range: TimeRange,
) -> Result<Counts, QueryError> {
    let mut q = CostTallyQuery::new(of, range, Usd::from_dollars(max_usd));
    q.service.clone_from(&slo.scope.service);
    q.agent.clone_from(&slo.scope.agent);
    q.user.clone_from(&slo.scope.user);
    let tally = store.cost_tally(&q)?;
    Ok(slo.indicator.counts(Tally {
        events: tally.counted.saturating_sub(tally.unpriced),
        selected: tally.within,
        ..Tally::default()
    }))
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
    store.rollup(&AggregateQuery::new(filter, group_by))
}

/// `slo` judged at `now_unix_nano`.
pub fn status(store: &dyn Store, slo: &Slo, now_unix_nano: u64) -> Result<SloStatus, QueryError> {
    let mut failed = None;
    let status = slo.status(now_unix_nano, |window| {
        counts(store, slo, window, now_unix_nano).unwrap_or_else(|e| {
            failed.get_or_insert(e);
            Counts::default()
        })
    });
    failed.map_or(Ok(status), Err)
}

/// Every SLO of `slos` judged at `now_unix_nano`.
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
/// its period so far) — how it was spent and when. A rolling SLO of spans whose step is whole
/// minutes and divides its window is read in one rollup query a count (`bucketed_burn_down`);
/// any other reads each point's window as [`counts`] does.
pub fn burn_down(
    store: &dyn Store,
    slo: &Slo,
    range: (u64, u64),
    points: u32,
) -> Result<Vec<BudgetPoint>, QueryError> {
    if let Some(burn_down) = bucketed_burn_down(store, slo, range, points)? {
        return Ok(burn_down);
    }
    let (start, end) = range;
    let step = end.saturating_sub(start) / u64::from(points.max(1));
    (0..=u64::from(points.max(1)))
        .rev()
        .map(|back| {
            let at = end.saturating_sub(back * step);
            Ok(slo.budget_at(at, counts(store, slo, slo.elapsed(at), at)?))
        })
        .collect()
}

/// The burn-down as one time series: the rollups of each count in buckets of the step, each
/// point's window the sum of the buckets it covers. The points are the step's boundaries
/// (so that every window is whole buckets, as exact as [`counts`]) up to the last before the
/// range's end, then the end itself. `None` when that is not exact: a calendar SLO, an
/// indicator not of spans, a step that is not whole minutes or does not divide the window.
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
    let (total_count, good_count) = match &slo.indicator {
        Indicator::Ratio { good, total } => ((**total).clone(), Some((**good).clone())),
        Indicator::Success { of } | Indicator::Latency { of, .. } => (Count::of(*of), None),
        _ => return Ok(None),
    };
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
    let by_bucket = |count: &Count| -> Result<Vec<(u64, AggregateRow)>, QueryError> {
        let rows = rollup(
            store,
            slo,
            count,
            span,
            vec![GroupBy::TimeBucket { width_ns: step }],
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
    let totals = by_bucket(&total_count)?;
    let goods = match &good_count {
        Some(good) => by_bucket(good)?,
        None => Vec::new(),
    };
    // A bucket's good events (a ratio's), none where its good count has no row.
    let selected = |at: u64| {
        good_count.as_ref().map_or(0, |count| {
            goods
                .iter()
                .find(|(g, _)| *g == at)
                .map_or(0, |(_, row)| of_status(row, count.status))
        })
    };
    let bucket_tallies: Vec<(u64, Tally)> = totals
        .iter()
        .map(|(at, total)| {
            let mut t = tally(slo, &total_count, total, None);
            t.selected = selected(*at);
            (*at, t)
        })
        .collect();
    let mut burn_down: Vec<BudgetPoint> = (0..n)
        .map(|k| {
            let at = first + k * step;
            let from = at.saturating_sub(window);
            let sum = bucket_tallies
                .iter()
                .filter(|(b, _)| *b >= from && *b < at)
                .fold(Tally::default(), |sum, (_, t)| Tally {
                    events: sum.events + t.events,
                    failed: sum.failed + t.failed,
                    within: sum.within + t.within,
                    selected: sum.selected + t.selected,
                });
            slo.budget_at(at, slo.indicator.counts(sum))
        })
        .collect();
    burn_down.push(slo.budget_at(end, counts(store, slo, slo.span(), end)?));
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
