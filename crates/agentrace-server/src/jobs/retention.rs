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
//! Each project runs on its own rules where it has a `retention` setting, else the server's
//! (`crate::jobs::projects`). A store that expires records by age itself (ClickHouse: a TTL per
//! data type, see [`Retention::expire_after`](agentrace_store::Retention::expire_after), which
//! covers every project of its tables) is handed the server's age rules when the server
//! starts, and the server enforces only what is left: sizes, and a project's ages shorter than
//! the store's (a project cannot keep records longer than the store does: its setting is
//! refused).
//!
//! Deletes go through [`Retention::delete_before`](agentrace_store::Retention::delete_before), a few thousand rows per short
//! transaction, so the writer's commits interleave with a long purge instead of waiting for it.
//! The work runs on a blocking thread, never on the receivers' runtime threads.

use std::sync::Arc;
use std::time::Duration;

use agentrace_store::{QueryError, RecordKind, RetentionError, Store};
use tokio::sync::watch;

use crate::config::{Retention, RetentionRule};
use crate::jobs::projects::ProjectRuntimes;
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

/// The age each data type's records are expired at by the store itself, if any.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StoreExpiry {
    spans: Option<Duration>,
    events: Option<Duration>,
    metrics: Option<Duration>,
    scores: Option<Duration>,
}

impl StoreExpiry {
    /// `retention` without what the store does itself: an age rule no shorter than the
    /// store's expiry of its data type is the store's.
    fn left_of(&self, retention: &Retention) -> Retention {
        let left = |mut rule: RetentionRule, expiry: Option<Duration>| {
            if let (Some(age), Some(expiry)) = (rule.max_age, expiry)
                && age >= expiry
            {
                rule.max_age = None;
            }
            rule
        };
        Retention {
            spans: left(retention.spans, self.spans),
            events: left(retention.events, self.events),
            metrics: left(retention.metrics, self.metrics),
            scores: left(retention.scores, self.scores),
            interval: retention.interval,
        }
    }

    /// Why a project's `retention` cannot be kept by this store, if it cannot: an age longer
    /// than the store's expiry of the data type, which deletes the records first.
    pub(crate) fn refuses(&self, retention: &Retention) -> Option<String> {
        [
            ("spans", retention.spans, self.spans),
            ("events", retention.events, self.events),
            ("metrics", retention.metrics, self.metrics),
            ("scores", retention.scores, self.scores),
        ]
        .into_iter()
        .find_map(|(name, rule, expiry)| {
            let expiry = expiry?;
            rule.max_age.filter(|age| *age > expiry).map(|_| {
                format!(
                    "this store expires {name} of every project after {} (the server's retention.{name}.max_age): a project keeps them at most that long",
                    crate::config::Age(expiry)
                )
            })
        })
    }
}

/// Hands each data type's age rule to the store where it expires records itself (ClickHouse's
/// TTL; also removing a TTL no rule asks for any more); returns what the store took. A store
/// that fails to take a rule leaves it to the server.
fn hand_ages_to_store(store: &dyn Store, retention: &Retention) -> StoreExpiry {
    let mut expiry = StoreExpiry::default();
    for (kind, rule, taken) in [
        (RecordKind::Spans, &retention.spans, &mut expiry.spans),
        (RecordKind::Events, &retention.events, &mut expiry.events),
        (RecordKind::Metrics, &retention.metrics, &mut expiry.metrics),
        (RecordKind::Scores, &retention.scores, &mut expiry.scores),
    ] {
        match store.expire_after(kind, rule.max_age) {
            Ok(true) => {
                if let Some(age) = rule.max_age {
                    tracing::info!(?kind, ?age, "the store expires records by age itself");
                }
                *taken = rule.max_age;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(
                ?kind,
                error = %e,
                "the store could not take the age rule; the server deletes by age"
            ),
        }
    }
    expiry
}

/// One run in every project `runtimes` knows, each on its rules less what the store does
/// itself; the first failure is returned, after every project had its run.
fn run_every_project(
    organization: &SharedOrganization,
    runtimes: &ProjectRuntimes,
    expiry: &StoreExpiry,
    stats: &ServerStats,
) -> Result<(), RetentionRunError> {
    let mut first_failure = None;
    let mut ran = false;
    for project in runtimes.projects() {
        let retention = expiry.left_of(&runtimes.of(project).retention);
        let rules = [
            &retention.spans,
            &retention.events,
            &retention.metrics,
            &retention.scores,
        ];
        if !rules.iter().any(|r| r.is_set()) {
            continue;
        }
        ran = true;
        let result = organization
            .store(project)
            .map_err(|e| RetentionRunError::Measure(QueryError::Failed(Box::new(e))))
            .and_then(|store| run_once(&*store, &retention, stats));
        if let Err(e) = result {
            tracing::warn!(%project, error = %e, "retention run failed");
            first_failure.get_or_insert(e);
        }
    }
    if !ran {
        return Ok(());
    }
    first_failure.map_or(Ok(()), Err)
}

/// Hands the server's age rules to a store that expires records itself (`store`, the
/// configured project's: such a store's expiry covers all projects), off the async threads;
/// returns what the store took.
pub(crate) async fn hand_ages(store: SharedStore, server: Retention) -> StoreExpiry {
    tokio::task::spawn_blocking(move || hand_ages_to_store(&*store, &server))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the store was not handed the age rules");
            StoreExpiry::default()
        })
}

/// Runs retention in every project every `interval` until `stop` turns true, leaving to the
/// store what it expires itself (`expiry`).
pub(crate) async fn run(
    organization: SharedOrganization,
    runtimes: Arc<ProjectRuntimes>,
    (expiry, interval, audit_age): (StoreExpiry, Duration, Duration),
    stats: Arc<ServerStats>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(interval) => {}
        }
        let (organization, runtimes, stats) =
            (organization.clone(), runtimes.clone(), stats.clone());
        let run = tokio::task::spawn_blocking(move || {
            // The audit log's own rule, the organization's.
            let before = agentrace_core::now_unix_nano()
                .saturating_sub(u64::try_from(audit_age.as_nanos()).unwrap_or(u64::MAX));
            if let Err(e) = organization.expire_audit(before) {
                tracing::warn!(error = %e, "the audit log's retention failed");
            }
            run_every_project(&organization, &runtimes, &expiry, &stats)
        });
        if let Err(e) = run.await {
            tracing::warn!(error = %e, "retention run panicked");
        }
    }
}
