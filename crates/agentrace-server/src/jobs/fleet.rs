//! The fleet's beat, when several `agentrace serve` nodes share one store: how a node finds
//! its place in its fleet (kept in its [`Membership`]).
//!
//! Every [`HEARTBEAT`] the node records that it is alive and reads who else is: the **leader**
//! is the alive node with the smallest id (each node computes it from the same heartbeats, so
//! they agree without a lock or a vote). Only the leader evaluates alerts and sends budget
//! notifications, so that a fleet sends one notification per change of state; when it dies,
//! the others stop hearing it after [`LEASE`], and the next smallest id takes over, resuming
//! the alert states from the stored history, and takes over what the node gone left held
//! (`Fleet::adopt_held`: on ClickHouse, the spans it held awaiting their parent). A node with a
//! store of its own (SQLite) is its fleet and always the leader.
//!
//! Each beat also reads what the other nodes stored since the last one, project by project:
//! their priced spans are added to this node's budgets of the project (so that a budget check
//! on any node sees the fleet's spend, a beat and a store round trip late), and their spans and
//! events go to this node's live feed of the project. A node reads only what it uses: every
//! span and event of a project whose live feed someone watches here, else the priced spans of
//! a project with budgets, else nothing.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agentrace_core::{SpanId, TraceId, now_unix_nano};
use agentrace_store::{ProjectId, Wanted};
use tokio::sync::{broadcast, watch};

use crate::ingest::committed::{Committed, ProjectFeed, Published, Watching};
use crate::jobs::projects::ProjectRuntimes;
use crate::store::{SharedOrganization, SharedStore};
use crate::telemetry::membership::Membership;

/// How often a node beats: records that it is alive and reads the others' arrivals.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// A node not heard from for this long is gone: another takes over its leadership.
pub const LEASE: Duration = Duration::from_secs(5);

/// Arrivals are read again this far back, for writes that took that long to become visible
/// (what was already seen is skipped).
const OVERLAP_NS: u64 = 10_000_000_000;

/// Records read per beat at most (the rest on the next beats).
const MAX_ARRIVALS: usize = 20_000;

/// What a beat feeds.
pub(crate) struct Beat {
    /// Where each project's store is.
    pub(crate) organization: SharedOrganization,
    /// The store the heartbeats go to (the configured project's: the fleet's).
    pub(crate) store: SharedStore,
    pub(crate) membership: Arc<Membership>,
    /// Each project's budgets.
    pub(crate) runtimes: Arc<ProjectRuntimes>,
    /// The live feed.
    pub(crate) live: broadcast::Sender<Published>,
    /// The projects whose live feed someone watches here.
    pub(crate) watching: Arc<Watching>,
}

/// What the beats remember between them.
#[derive(Default)]
struct Seen {
    /// Arrivals read up to here.
    watermark: u64,
    /// Records read in the overlap, by key, with the watermark when read.
    keys: HashMap<u64, u64>,
}

fn key_of(trace_id: TraceId, span_id: SpanId) -> u64 {
    let mut h = DefaultHasher::new();
    (trace_id, span_id).hash(&mut h);
    h.finish()
}

impl Beat {
    /// Beats every [`HEARTBEAT`] until `stopped` (nothing to do for a store of its own).
    pub(crate) async fn run(self, mut stopped: watch::Receiver<bool>) {
        if self.membership.node().is_none() {
            return;
        }
        let beat = Arc::new(self);
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let mut tick = tokio::time::interval(HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.wait_for(|s| *s) => break,
            }
            let (b, s) = (Arc::clone(&beat), Arc::clone(&seen));
            if let Err(e) = tokio::task::spawn_blocking(move || b.once(&s)).await {
                tracing::error!(error = %e, "a fleet beat failed");
            }
        }
    }

    fn once(&self, seen: &Mutex<HashMap<ProjectId, Seen>>) {
        let now = now_unix_nano();
        let m = &self.membership;
        let alive = self
            .store
            .heartbeat(now)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let lease = u64::try_from(LEASE.as_nanos()).unwrap_or(u64::MAX);
                self.store
                    .nodes_since(now.saturating_sub(lease))
                    .map_err(|e| e.to_string())
            });
        match alive {
            Ok(nodes) => {
                let leads = nodes.first().map(String::as_str) == m.node();
                let was = m.heard(nodes.len(), leads);
                if leads != was {
                    tracing::info!(node = ?m.node(), nodes = nodes.len(), leader = leads, "fleet leadership changed");
                }
                if leads {
                    self.adopt_held(&nodes);
                }
            }
            Err(e) => {
                // Unable to hear the others: not safe to lead.
                m.deaf();
                tracing::warn!(error = %e, "fleet heartbeat failed");
                return;
            }
        }
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let projects = self.runtimes.projects();
        seen.retain(|p, _| projects.contains(p));
        for project in projects {
            let seen = seen.entry(project).or_insert_with(|| Seen {
                watermark: now_unix_nano(),
                ..Seen::default()
            });
            self.read_arrivals(project, seen);
        }
    }

    /// The leader takes over what nodes gone left held (the spans each held awaiting their
    /// parent): they are written as those nodes would have written them.
    fn adopt_held(&self, alive: &[String]) {
        match self.store.adopt_held(alive) {
            Ok(0) => {}
            Ok(spans) => {
                tracing::info!(
                    spans,
                    "took over the spans held by nodes gone from the fleet"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "the spans held by nodes gone could not be taken over");
            }
        }
    }

    /// Reads the others' new spans and events of `project` into its budgets and its live
    /// feed: no more than they use (priced spans while nobody watches the feed; nothing
    /// without budgets either).
    fn read_arrivals(&self, project: ProjectId, seen: &mut Seen) {
        let budgets = self.runtimes.of(project).budgets.clone();
        let wanted = if self.watching.is_watched(project) {
            Wanted::Everything
        } else if budgets.is_some() {
            Wanted::Priced
        } else {
            seen.watermark = now_unix_nano();
            return;
        };
        let store = match self.organization.store(project) {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(%project, error = %e, "a project's store could not be opened for the fleet's arrivals");
                return;
            }
        };
        let since = seen.watermark.saturating_sub(OVERLAP_NS);
        let arrivals = match store.arrivals(since, wanted, MAX_ARRIVALS) {
            Ok(a) => a,
            Err(e) => {
                self.membership.read_failed();
                tracing::warn!(error = %e, "the fleet's arrivals could not be read");
                return;
            }
        };
        let watermark = seen.watermark.max(arrivals.until_unix_nano);
        let mut spans = Vec::new();
        for span in arrivals.spans {
            if seen
                .keys
                .insert(key_of(span.trace_id, span.span_id), watermark)
                .is_none()
            {
                spans.push(span);
            }
        }
        let mut events = Vec::new();
        for event in arrivals.events {
            let mut h = DefaultHasher::new();
            serde_json::to_string(&event)
                .unwrap_or_default()
                .hash(&mut h);
            if seen.keys.insert(h.finish(), watermark).is_none() {
                events.push(event);
            }
        }
        seen.watermark = watermark;
        let horizon = watermark.saturating_sub(2 * OVERLAP_NS);
        seen.keys.retain(|_, at| *at >= horizon);
        let read = (spans.len() + events.len()) as u64;
        self.membership.arrived(read);
        if let Some(budgets) = &budgets {
            for span in spans.iter().filter(|s| s.cost.is_some()) {
                budgets.record_span(span);
            }
        }
        let live = ProjectFeed {
            project,
            live: self.live.clone(),
        };
        if !spans.is_empty() {
            live.send(Committed::Spans(spans.into()));
        }
        if !events.is_empty() {
            live.send(Committed::Events(events.into()));
        }
    }
}
