//! What was just committed, broadcast to every subscriber: the source of the live feed (the
//! API's WebSocket `/live`, `crate::http::api`'s `live_feed`, and through it the dashboard's
//! live view). The publisher sends what the writer committed, the fleet's beat what the other
//! nodes did, the alerting its notifications.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

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

/// Which projects' live feeds someone watches on this node: the fleet's beat reads the other
/// nodes' records of those only.
#[derive(Debug, Default)]
pub(crate) struct Watching(Mutex<HashMap<ProjectId, usize>>);

impl Watching {
    /// Someone watches `project` until the guard is dropped.
    pub(crate) fn watch(self: &Arc<Self>, project: ProjectId) -> Watcher {
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(project)
            .or_default() += 1;
        Watcher {
            watching: self.clone(),
            project,
        }
    }

    /// Whether someone watches `project`.
    pub(crate) fn is_watched(&self, project: ProjectId) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&project)
            .is_some_and(|n| *n > 0)
    }
}

/// One watcher of a project's live feed ([`Watching::watch`]).
#[derive(Debug)]
pub(crate) struct Watcher {
    watching: Arc<Watching>,
    project: ProjectId,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let mut counts = self
            .watching
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.project) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.project);
            }
        }
    }
}
