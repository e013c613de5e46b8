//! What the nodes sharing one store know of each other: who is alive (to choose the one that
//! evaluates alerts), and what the others stored (for budgets and the live feed).

use agentrace_core::{Event, SpanRecord};

use crate::error::{QueryError, WriteError};

/// Records the other nodes of a fleet stored since some time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arrivals {
    /// Spans, as first stored (a span rewritten later, e.g. to complete its attribution, is
    /// not repeated).
    pub spans: Vec<SpanRecord>,
    /// Events.
    pub events: Vec<Event>,
    /// Pass this back as the next call's `since`: everything before it was returned.
    pub until_unix_nano: u64,
}

/// Which of the other nodes' records [`Fleet::arrivals`] reads: each node reads what every
/// other stored, so it reads no more than it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The priced spans only (what budgets add up), no events.
    Priced,
    /// Every span and event (someone watches this node's live feed).
    Everything,
}

/// A store shared by several nodes. The defaults are a store with one node (SQLite): this
/// node is the fleet, it is always alive and the only one, and nobody else stores anything.
///
/// # Contract (checked by the conformance suite)
/// A node that sent a heartbeat is among [`nodes_since`](Self::nodes_since) any earlier
/// time; [`arrivals`](Self::arrivals) returns what other nodes stored after `since`, never
/// this node's own writes, and an `until` to pass back as the next `since` so that nothing is
/// read twice or missed. Nothing is required: a store of one node keeps every default.
///
/// A shared store tags what each node writes with the node's id ([`node`](Self::node)) and
/// when it arrived, so that [`arrivals`](Self::arrivals) returns what the others stored.
pub trait Fleet {
    /// This node's id, if the store is shared by several nodes; `None` for a store of one.
    fn node(&self) -> Option<&str> {
        None
    }

    /// Records that this node is alive at `at_unix_nano`.
    fn heartbeat(&self, _at_unix_nano: u64) -> Result<(), WriteError> {
        Ok(())
    }

    /// The nodes alive since `since_unix_nano` (their last heartbeat), sorted.
    fn nodes_since(&self, _since_unix_nano: u64) -> Result<Vec<String>, QueryError> {
        Ok(self.node().map(str::to_owned).into_iter().collect())
    }

    /// Takes over what the nodes gone from the fleet left for it to write: nodes that were
    /// heard but are none of `alive` (the nodes heard within the fleet's lease). A store
    /// whose nodes keep something beyond their answers (ClickHouse: the spans each holds
    /// awaiting their parent, journaled in the store) hands it to this node, which writes it
    /// as the node gone would have. The fleet's leader calls it at each beat, so that one node
    /// takes over at a time. How many records were taken over; nothing for a store of one.
    fn adopt_held(&self, _alive: &[String]) -> Result<usize, WriteError> {
        Ok(0)
    }

    /// What the other nodes stored since `since_unix_nano` (by arrival), as much as `wanted`
    /// asks, at most `limit` spans and `limit` events; pass back
    /// [`Arrivals::until_unix_nano`] to continue.
    fn arrivals(
        &self,
        since_unix_nano: u64,
        _wanted: Wanted,
        _limit: usize,
    ) -> Result<Arrivals, QueryError> {
        Ok(Arrivals {
            until_unix_nano: since_unix_nano,
            ..Arrivals::default()
        })
    }
}
