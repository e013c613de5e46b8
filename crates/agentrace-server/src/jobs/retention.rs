//! Retention in the background: per project, per data type, by age and by size.
//!
//! Every `retention.interval`, in each project's store, for spans, events, span metrics (the
//! rollups) and scores separately:
//!
//! 1. **Age**: records older than `max_age` are deleted (spans by start time, events and
//!    scores by time,
//!    metrics by the end of their minute or hour). The metrics of deleted spans stay until
//!    their own rule deletes them.
//! 2. **Size**: while the data type's tables and indexes take more than `max_size`, the oldest
//!    records are deleted, enough to come back under 90 % of it (what is measured is pages in
//!    use; SQLite reuses freed pages, so the file stops growing rather than shrinking).
//!
//! A store that expires records by age itself (ClickHouse: a TTL per data type, see
//! [`Retention::expire_after`](agentrace_store::Retention::expire_after), which covers every
//! project of its tables) is handed the age rules when the server starts, and the server
//! enforces only what is left (sizes, per project).
//!
//! Deletes go through [`Retention::delete_before`](agentrace_store::Retention::delete_before), a few thousand rows per short
//! transaction, so the writer's commits interleave with a long purge instead of waiting for it.
//! The work runs on a blocking thread, never on the receivers' runtime threads.

use std::sync::Arc;
use std::time::Duration;

use agentrace_store::{QueryError, RecordKind, RetentionError, Store};
use tokio::sync::watch;

use crate::config::{Retention, RetentionRule};
use crate::store::{SharedOrganization, SharedStore};
use crate::telemetry::counters::{add, set_error};
use crate::telemetry::stats::ServerStats;

/// Rounds of size-based deletion per data type and run (each measures, then deletes).
const SIZE_ROUNDS: usize = 8;

/// Why a retention run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RetentionRunError {
    /// Deleting failed.
    #[error(transparent)]
    Delete(#[from] RetentionError),
    /// Measuring the store failed.
    #[error("measuring the store failed: {0}")]
    Measure(#[from] QueryError),
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Deletes what `rule` no longer keeps of `kind`; returns how many records.
fn enforce(
    store: &dyn Store,
    kind: RecordKind,
    rule: &RetentionRule,
    now_unix_nano: u64,
) -> Result<u64, RetentionRunError> {
    let mut deleted = 0u64;
    if let Some(age) = rule.max_age {
        let cutoff = now_unix_nano.saturating_sub(nanos(age));
        deleted += store.delete_before(kind, cutoff)? as u64;
    }
    if let Some(max) = rule.max_bytes {
        for _ in 0..SIZE_ROUNDS {
            // The whole store is a cheap upper bound of one data type's size.
            if store.stored_bytes(None)? <= max {
                break;
            }
            let bytes = store.stored_bytes(Some(kind))?;
            let rows = store.count(kind)?;
            if bytes <= max || rows == 0 {
                break;
            }
            let target = max / 10 * 9;
            let share = (bytes - target) as f64 / bytes as f64;
            let n = ((rows as f64 * share).ceil() as u64).clamp(1, rows);
            let Some(newest_deleted) = store.nth_oldest(kind, n - 1)? else {
                break;
            };
            deleted += store.delete_before(kind, newest_deleted.saturating_add(1))? as u64;
        }
    }
    Ok(deleted)
}

/// One run over every data type, counted in `stats`.
pub(crate) fn run_once(
    store: &dyn Store,
    retention: &Retention,
    stats: &ServerStats,
) -> Result<(), RetentionRunError> {
    let now = agentrace_core::now_unix_nano();
    let result = (|| {
        let spans = enforce(store, RecordKind::Spans, &retention.spans, now)?;
        add(&stats.retention_spans_deleted, spans);
        let events = enforce(store, RecordKind::Events, &retention.events, now)?;
        add(&stats.retention_events_deleted, events);
        let metrics = enforce(store, RecordKind::Metrics, &retention.metrics, now)?;
        add(&stats.retention_metrics_deleted, metrics);
        let scores = enforce(store, RecordKind::Scores, &retention.scores, now)?;
        add(&stats.retention_scores_deleted, scores);
        Ok(())
    })();
    add(&stats.retention_runs, 1);
    stats.retention_last_run_unix_nano.store(
        agentrace_core::now_unix_nano(),
        std::sync::atomic::Ordering::Relaxed,
    );
    set_error(
        &stats.retention_last_error,
        result
            .as_ref()
            .err()
            .map(|e: &RetentionRunError| e.to_string()),
    );
    result
}

/// Hands each data type's age rule to the store where it expires records itself (ClickHouse's
/// TTL; also removing a TTL no rule asks for any more); returns the rules left for the server
/// to enforce. A store that fails to take a rule leaves it to the server.
fn hand_ages_to_store(store: &dyn Store, mut retention: Retention) -> Retention {
    for (kind, rule) in [
        (RecordKind::Spans, &mut retention.spans),
        (RecordKind::Events, &mut retention.events),
        (RecordKind::Metrics, &mut retention.metrics),
        (RecordKind::Scores, &mut retention.scores),
    ] {
        match store.expire_after(kind, rule.max_age) {
            Ok(true) => {
                if let Some(age) = rule.max_age.take() {
                    tracing::info!(?kind, ?age, "the store expires records by age itself");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(
                ?kind,
                error = %e,
                "the store could not take the age rule; the server deletes by age"
            ),
        }
    }
    retention
}

/// One run in every project of `organization`; the first failure is returned, after every
/// project had its run.
fn run_every_project(
    organization: &SharedOrganization,
    retention: &Retention,
    stats: &ServerStats,
) -> Result<(), RetentionRunError> {
    let projects = organization
        .projects()
        .map_err(|e| RetentionRunError::Measure(QueryError::Failed(Box::new(e))))?;
    let mut first_failure = None;
    for project in projects {
        let result = organization
            .store(project.id)
            .map_err(|e| RetentionRunError::Measure(QueryError::Failed(Box::new(e))))
            .and_then(|store| run_once(&*store, retention, stats));
        if let Err(e) = result {
            tracing::warn!(project = %project.name, error = %e, "retention run failed");
            first_failure.get_or_insert(e);
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// Runs retention in every project every `retention.interval` until `stop` turns true, after
/// handing the age rules to a store that expires records itself (`store`, the configured
/// project's: such a store's expiry covers all projects).
pub(crate) async fn run(
    organization: SharedOrganization,
    store: SharedStore,
    retention: Retention,
    stats: Arc<ServerStats>,
    mut stop: watch::Receiver<bool>,
) {
    let handing = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || hand_ages_to_store(&*store, retention))
    };
    let Ok(retention) = handing.await else {
        tracing::warn!("retention did not start");
        return;
    };
    let rules = [
        &retention.spans,
        &retention.events,
        &retention.metrics,
        &retention.scores,
    ];
    if !rules.iter().any(|r| r.is_set()) {
        return;
    }
    let retention = Arc::new(retention);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(retention.interval) => {}
        }
        let (organization, retention, stats) =
            (organization.clone(), retention.clone(), stats.clone());
        let run = tokio::task::spawn_blocking(move || {
            run_every_project(&organization, &retention, &stats)
        });
        if let Err(e) = run.await {
            tracing::warn!(error = %e, "retention run panicked");
        }
    }
}
