//! What was just committed, broadcast to every subscriber: the source of the live feed (the
//! API's WebSocket `/live`, `crate::http::api`'s `live_feed`, and through it the dashboard's
//! live view). The publisher sends what the writer committed, the fleet's beat what the other
//! nodes did, the alerting its notifications.

use std::sync::Arc;

use tokio::sync::broadcast;

use agentrace_core::{Event, SpanRecord};
use agentrace_store::{LateAttribution, ProjectId};

/// How many committed batches the live feed buffers for a slow subscriber before it lags.
pub const LIVE_CAPACITY: usize = 1_024;

/// What was committed, and in which project: what the live feed broadcasts (a subscriber
/// hears its own project's only).
#[derive(Debug, Clone)]
pub struct Published {
    /// The project it was committed in.
    pub project: ProjectId,
    /// What was committed.
    pub committed: Committed,
}

impl Published {
    /// `committed` in `project`.
    pub fn new(project: ProjectId, committed: Committed) -> Self {
        Self { project, committed }
    }
}

/// Records just committed to the store, for the live feed. Published after the commit, so a
/// client that sees one can query it at once. A batch may hold records that were already
/// stored (a client's retry): the store kept one copy, the feed shows them again.
#[derive(Debug, Clone)]
pub enum Committed {
    /// Spans stored by one write.
    Spans(Arc<[SpanRecord]>),
    /// Events stored by one write.
    Events(Arc<[Event]>),
    /// Spans stored before whose attribution one write completed.
    Attributed(Arc<[LateAttribution]>),
    /// Alert notifications just stored.
    Alerts(Arc<[agentrace_alerts::Notification]>),
}

/// The live feed, sending what was committed in one project.
#[derive(Debug, Clone)]
pub(crate) struct ProjectFeed {
    pub(crate) project: ProjectId,
    pub(crate) live: broadcast::Sender<Published>,
}

impl ProjectFeed {
    /// Sends `committed`, if anyone listens.
    pub(crate) fn send(&self, committed: Committed) {
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(Published::new(self.project, committed));
        }
    }
}
