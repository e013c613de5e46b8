//! This node's place in its fleet as its beats last found it ([`crate::jobs::fleet`]): whether it
//! leads, how many nodes are alive, what it read of the others' arrivals, and the beats that
//! failed. The beat writes it; the alerting reads whether this node leads (only the leader
//! evaluates alerts and sends budget notifications), and `/status` shows it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;

/// What `/status` shows of the fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FleetSnapshot {
    /// This node's id (`None`: a store of its own).
    pub node: Option<String>,
    /// Nodes alive at the last beat.
    pub nodes: usize,
    /// Whether this node evaluates alerts and sends budget notifications.
    pub leader: bool,
    /// Spans and events of the other nodes read for budgets and the live feed.
    pub arrivals: u64,
    /// Beats that failed (the store was unreachable).
    pub beat_errors: u64,
}

/// This node's membership: written by the beat, read by the alerting and `/status`.
#[derive(Debug)]
pub struct Membership {
    node: Option<String>,
    leader: AtomicBool,
    nodes: AtomicUsize,
    arrivals: AtomicU64,
    beat_errors: AtomicU64,
}

impl Default for Membership {
    /// A fleet of one: always the leader.
    fn default() -> Self {
        Self::of(None)
    }
}

impl Membership {
    /// The membership of node `node` (`None`: a store of its own, always the leader).
    pub fn of(node: Option<String>) -> Self {
        Self {
            leader: AtomicBool::new(node.is_none()),
            nodes: AtomicUsize::new(1),
            node,
            arrivals: AtomicU64::new(0),
            beat_errors: AtomicU64::new(0),
        }
    }

    /// Whether this node leads.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire)
    }

    /// The figures for `/status`.
    pub fn snapshot(&self) -> FleetSnapshot {
        FleetSnapshot {
            node: self.node.clone(),
            nodes: self.nodes.load(Ordering::Relaxed),
            leader: self.is_leader(),
            arrivals: self.arrivals.load(Ordering::Relaxed),
            beat_errors: self.beat_errors.load(Ordering::Relaxed),
        }
    }

    /// This node's id (`None`: a store of its own).
    pub(crate) fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// A beat heard `alive` nodes, this one leading or not; returns whether it led before.
    pub(crate) fn heard(&self, alive: usize, leads: bool) -> bool {
        self.nodes.store(alive, Ordering::Relaxed);
        self.leader.swap(leads, Ordering::AcqRel)
    }

    /// A beat could not hear the others: counted, and this node no longer leads.
    pub(crate) fn deaf(&self) {
        self.beat_errors.fetch_add(1, Ordering::Relaxed);
        self.leader.store(false, Ordering::Release);
    }

    /// The others' arrivals could not be read: counted.
    pub(crate) fn read_failed(&self) {
        self.beat_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` spans and events of the others were read.
    pub(crate) fn arrived(&self, n: u64) {
        self.arrivals.fetch_add(n, Ordering::Relaxed);
    }
}
