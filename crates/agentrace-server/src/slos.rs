//! Service level objectives judged on the store (`agentrace_alerts::slo`, docs/slos.md): each
//! window's good and total events read from the rollups, so that a 28-day window costs what an
//! hour does, on every store.

use std::time::Duration;

use agentrace_alerts::slo::{Count, Counts, Indicator, Slo, SloStatus, Status, Tally};
use agentrace_store::{AggregateQuery, AggregateRow, QueryError, Store, TimeRange};

use crate::alerting::source::scope_filter;

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
        _ => (&Count::of(slo.indicator.target()), None),
    };
    let total = rollup_total(store, slo, total_count, range)?;
    let selected = match good_count {
        Some(good) => of_status(&rollup_total(store, slo, good, range)?, good.status),
        None => 0,
    };
    let (events, failed) = match total_count.status {
        Some(status) => {
            let events = of_status(&total, Some(status));
            (events, if status == Status::Error { events } else { 0 })
        }
        None => (total.count, total.errors),
    };
    let within = slo.indicator.threshold().map_or(0, |t| {
        total
            .durations
            .at_most(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
    });
    Ok(slo.indicator.counts(Tally {
        events,
        failed,
        within,
        selected,
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

/// The rollups' total of `count`'s target and scope within `slo`'s scope over `range` (its
/// status aside: [`of_status`]).
fn rollup_total(
    store: &dyn Store,
    slo: &Slo,
    count: &Count,
    range: TimeRange,
) -> Result<AggregateRow, QueryError> {
    // A count naming another value than the SLO's scope is refused when the file is read.
    let scope = slo
        .scope
        .and(&count.scope)
        .unwrap_or_else(|| slo.scope.clone());
    let mut filter = scope_filter(&scope, range);
    filter.kind = count.of.kind().parse().ok();
    Ok(store
        .rollup(&AggregateQuery::new(filter, Vec::new()))?
        .total)
}

/// Every SLO of `slos` judged at `now_unix_nano`.
pub fn statuses(
    store: &dyn Store,
    slos: &[Slo],
    now_unix_nano: u64,
) -> Result<Vec<SloStatus>, QueryError> {
    slos.iter()
        .map(|slo| {
            let mut failed = None;
            let status = slo.status(|window| {
                counts(store, slo, window, now_unix_nano).unwrap_or_else(|e| {
                    failed.get_or_insert(e);
                    Counts::default()
                })
            });
            failed.map_or(Ok(status), Err)
        })
        .collect()
}
