//! The publisher thread: what the writer committed, after the answers and off the writer's
//! path. It notes the committed traces for the background repairs ([`crate::jobs::repair`])
//! and queues what the online evaluations want ([`crate::jobs::online_evaluations`]) — the
//! commit's [`CommitWatcher`]s —, makes the spans whose attribution the commit completed
//! known ([`crate::ingest::late_attribution`]), publishes the records to the live feed
//! ([`crate::ingest::committed`]) and hands records and measurements to the fan-out pipeline
//! (`/metrics`' Prometheus sink, the forwarder; it never blocks: a slow or down sink drops and
//! counts); then the records are freed here.

use std::sync::Arc;

use agentrace_core::{Event, Measurement, Pipeline};
use agentrace_store::{EncodedSpans, LateAttribution, ProjectId};
use crossbeam_channel::Receiver;
use tokio::sync::broadcast;

use crate::ingest::committed::{Committed, Published};
use crate::ingest::late_attribution::Attributions;
use crate::ingest::processors::ProjectChains;

/// What one group commit stored in one project, as the writer hands it to the publisher.
pub(super) struct Group {
    /// The project it was stored in.
    pub(super) project: ProjectId,
    /// Whether that is the configured project, whose fan-out (`/metrics`, the server's
    /// forwarder) the configuration sets up; another project's forwarder is its own
    /// ([`ProjectChains::forwarder`]).
    pub(super) configured: bool,
    pub(super) spans: EncodedSpans,
    pub(super) events: Vec<Event>,
    pub(super) metrics: Vec<Measurement>,
    pub(super) derived: Vec<Measurement>,
    /// Spans stored before whose attribution this group's spans completed.
    pub(super) attributed: Vec<LateAttribution>,
}

/// What watches the spans committed in every project (the background repairs): told of each
/// group on the publisher's thread, after the answers. It must not block: it notes what it
/// needs and does its work elsewhere.
pub(crate) trait CommitWatcher: Send + Sync {
    /// Spans just committed together in `project`.
    fn committed(&self, project: ProjectId, spans: &[agentrace_core::SpanRecord]);
}

/// After the answers, off the writer's thread: the commit's watchers, the live feed, the
/// fan-out pipeline (never blocks); then the records are freed here.
pub(super) struct Publisher {
    pub(super) rx: Receiver<Group>,
    pub(super) live: broadcast::Sender<Published>,
    pub(super) pipeline: Pipeline,
    pub(super) fan_out_records: bool,
    pub(super) attributions: Attributions,
    pub(super) chains: Arc<dyn ProjectChains>,
    pub(super) watchers: Vec<Arc<dyn CommitWatcher>>,
}

impl Publisher {
    pub(super) fn run(self) {
        agentrace_core::sink::silence_tracing_on_this_thread();
        while let Ok(group) = self.rx.recv() {
            self.publish(group);
        }
    }

    fn publish(&self, group: Group) {
        let (project, configured) = (group.project, group.configured);
        self.chains.committed(project, group.spans.spans());
        for watcher in &self.watchers {
            watcher.committed(project, group.spans.spans());
        }
        if configured {
            for m in group.metrics.into_iter().chain(group.derived) {
                self.pipeline.submit_measurement(m);
            }
        } else {
            let mut metrics = group.metrics;
            metrics.extend(group.derived);
            self.chains.record_metrics(project, &metrics);
        }
        if !group.attributed.is_empty() {
            self.attributions.publish(project, group.attributed);
        }
        let forwarder = if configured && self.fan_out_records {
            Some(self.pipeline.clone())
        } else {
            self.chains.forwarder(project)
        };
        // With nobody on the live feed and no forwarder, the records are only freed.
        if self.live.receiver_count() == 0 && forwarder.is_none() {
            return;
        }
        let spans: Arc<[_]> = group.spans.into_spans().into();
        let events: Arc<[Event]> = group.events.into();
        if !spans.is_empty() {
            let _ = self
                .live
                .send(Published::new(project, Committed::Spans(spans.clone())));
        }
        if !events.is_empty() {
            let _ = self
                .live
                .send(Published::new(project, Committed::Events(events.clone())));
        }
        if let Some(forwarder) = forwarder {
            for span in spans.iter() {
                forwarder.submit_span(span.clone());
            }
            for event in events.iter() {
                forwarder.submit_event(event.clone());
            }
        }
    }
}
