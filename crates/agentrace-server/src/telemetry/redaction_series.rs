//! What redaction masked, kept over time: every minute (and at shutdown) the detections of
//! each kind since the last time are stored as the received-metric counter
//! `agentrace.redactions` (label `type`), so that the API's metric series show them and an
//! alert rule can watch them (`measure = "metric"`, `metric = "agentrace.redactions"`,
//! `aggregate = "sum"`, `per_label = "type"`; docs/alerts.md).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agentrace_core::{InstrumentKind, Measurement};
use tokio::sync::watch;

use crate::store::SharedStore;
use crate::telemetry::stats::ServerStats;

/// The metric's name.
pub(crate) const METRIC: &str = "agentrace.redactions";

const EVERY: Duration = Duration::from_secs(60);

/// Records until `stopped`, then once more.
pub(crate) async fn run(
    stats: Arc<ServerStats>,
    store: SharedStore,
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.tick().await;
    loop {
        let stop = tokio::select! {
            _ = tick.tick() => false,
            _ = stopped.wait_for(|s| *s) => true,
        };
        let Some(now) = stats.snapshot().redaction.map(|r| r.detections) else {
            return;
        };
        let increases: Vec<Measurement> = now
            .iter()
            .filter_map(|(kind, n)| {
                let before = seen.get(kind).copied().unwrap_or(0);
                #[allow(clippy::cast_precision_loss)] // counts far below 2^52
                (*n > before).then(|| {
                    Measurement::new(METRIC, InstrumentKind::Counter, (n - before) as f64)
                        .with_label("type", kind.clone())
                })
            })
            .collect();
        if !increases.is_empty() {
            let store = store.clone();
            let written =
                tokio::task::spawn_blocking(move || store.insert_measurements(&increases)).await;
            match written {
                Ok(Ok(_)) => seen = now,
                Ok(Err(e)) => tracing::warn!(error = %e, "redaction counts not stored"),
                Err(e) => tracing::warn!(error = %e, "redaction counts not stored"),
            }
        }
        if stop {
            return;
        }
    }
}
