//! What every handler shares.

use std::sync::Arc;

use agentrace_core::{Event, SpanRecord};
use agentrace_sqlite::SqliteStore;
use tokio::sync::broadcast;

/// Records just committed to the store, for the live feed. Published after the commit, so a
/// client that sees one can query it at once.
#[derive(Debug, Clone)]
pub enum Committed {
    /// Spans stored by one write.
    Spans(Arc<[SpanRecord]>),
    /// Events stored by one write.
    Events(Arc<[Event]>),
}

/// The state behind every route.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The store: reads for the API, writes for the receivers.
    pub store: SqliteStore,
    /// Publishes what was committed; the live feed subscribes.
    pub live: broadcast::Sender<Committed>,
}
