//! Pipeline health as metrics: the dispatcher turns its own counters into measurements for the
//! metric sinks, so drops and sink failures show on the same dashboards as the agents.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `agentrace.pipeline.queue.depth` | gauge, `{record}` | |
//! | `agentrace.pipeline.dropped` | counter, `{record}` | `reason`: `queue_full`, `after_shutdown`, `processor_panic` |
//! | `agentrace.pipeline.sink.exported` | counter, `{record}` | `sink` |
//! | `agentrace.pipeline.sink.dropped` | counter, `{record}` | `sink` (its queue was full) |
//! | `agentrace.pipeline.sink.failed` | counter, `{record}` | `sink` (export failed after retries) |
//!
//! Emitted every [`PipelineConfig::health_interval`](super::PipelineConfig::health_interval) and
//! on every flush when that is set (it is off by default); counters carry the increase since the
//! previous emission.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::stats::{PipelineCounters, SinkCounters};
use crate::model::{InstrumentKind, Measurement, Text};

/// Remembers what was last reported, to report increases.
#[derive(Debug)]
pub(crate) struct Health {
    interval: Option<Duration>,
    next: Option<Instant>,
    last: Vec<u64>,
}

impl Health {
    pub(crate) fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            next: interval.map(|i| Instant::now() + i),
            last: Vec::new(),
        }
    }

    /// Whether health is reported at all.
    pub(crate) fn enabled(&self) -> bool {
        self.interval.is_some()
    }

    /// Whether a periodic report is due.
    pub(crate) fn due(&self) -> bool {
        self.next.is_some_and(|n| Instant::now() >= n)
    }

    /// When the next periodic report is due.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.next
    }

    pub(crate) fn report(
        &mut self,
        counters: &PipelineCounters,
        sinks: &[Arc<SinkCounters>],
        queue_depth: usize,
    ) -> Vec<Measurement> {
        if let Some(interval) = self.interval {
            self.next = Some(Instant::now() + interval);
        }
        let now = crate::now_unix_nano();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let mut current = vec![
            load(&counters.dropped_queue_full),
            load(&counters.dropped_after_shutdown),
            load(&counters.processor_panics),
        ];
        for s in sinks {
            current.extend([load(&s.exported), load(&s.dropped), load(&s.failed)]);
        }
        let previous = std::mem::replace(&mut self.last, current.clone());
        let delta = |i: usize| current[i].saturating_sub(previous.get(i).copied().unwrap_or(0));
        let metric = |name: &'static str, kind, value: f64, label: Option<(&'static str, Text)>| {
            Measurement {
                name: Cow::Borrowed(name),
                kind,
                unit: Some(Cow::Borrowed("{record}")),
                value,
                labels: label
                    .map(|(k, v)| (Cow::Borrowed(k), v))
                    .into_iter()
                    .collect(),
                time_unix_nano: now,
            }
        };
        let mut out = vec![metric(
            "agentrace.pipeline.queue.depth",
            InstrumentKind::Gauge,
            queue_depth as f64,
            None,
        )];
        for (i, reason) in ["queue_full", "after_shutdown", "processor_panic"]
            .into_iter()
            .enumerate()
        {
            if delta(i) > 0 {
                out.push(metric(
                    "agentrace.pipeline.dropped",
                    InstrumentKind::Counter,
                    delta(i) as f64,
                    Some(("reason", Text::new(reason))),
                ));
            }
        }
        for (j, sink) in sinks.iter().enumerate() {
            for (k, name) in [
                "agentrace.pipeline.sink.exported",
                "agentrace.pipeline.sink.dropped",
                "agentrace.pipeline.sink.failed",
            ]
            .into_iter()
            .enumerate()
            {
                let d = delta(3 + 3 * j + k);
                if d > 0 {
                    out.push(metric(
                        name,
                        InstrumentKind::Counter,
                        d as f64,
                        Some(("sink", Text::new(&sink.name))),
                    ));
                }
            }
        }
        out
    }
}
