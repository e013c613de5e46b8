//! Service level objectives judged on the store (`agentrace_alerts::slo`, docs/slos.md): each
//! window's good and total events read from the rollups, so that a 28-day window costs what an
//! hour does, on every store.

use std::time::Duration;

use agentrace_alerts::slo::{Counts, Slo, SloStatus, Tally};
use agentrace_store::{AggregateQuery, QueryError, Store, TimeRange};

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
    let mut filter = scope_filter(&slo.scope, range);
    filter.kind = slo.indicator.target().kind().parse().ok();
    let total = store
        .rollup(&AggregateQuery::new(filter, Vec::new()))?
        .total;
    let within = slo.indicator.threshold().map_or(0, |t| {
        total
            .durations
            .at_most(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
    });
    Ok(slo.indicator.counts(Tally {
        events: total.count,
        failed: total.errors,
        within,
    }))
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
