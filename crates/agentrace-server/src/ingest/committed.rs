//! What was just committed, broadcast to every subscriber: the source of the live feed (the
//! API's WebSocket `/live`, `crate::http::api`'s `live_feed`, and through it the dashboard's
//! live view). The publisher sends what the writer committed, the fleet's beat what the other
//! nodes did, the alerting its notifications.

use std::sync::Arc;

use agentrace_core::{Event, SpanRecord};
use agentrace_store::LateAttribution;

/// How many committed batches the live feed buffers for a slow subscriber before it lags.
pub const LIVE_CAPACITY: usize = 1_024;

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
