//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, LazyLock};

use agentrace_core::{
    Cost, Event, EventKind, Level, Resource, SpanId, SpanKind, SpanRecord, SpanStatus, TokenUsage,
    TraceId, Usd,
};
use agentrace_sqlite::SqliteStore;
use tempfile::TempDir;

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A base time: 2023-11-14T22:13:20Z.
pub(crate) const T0: u64 = 1_700_000_000_000_000_000;
pub(crate) const MS: u64 = 1_000_000;
pub(crate) const SEC: u64 = 1_000_000_000;

/// Takes a file back to schema version 15: no `trace_rollups` (16), nor its triggers; no
/// `frequent_lines` (17); no `span_word_groups` (18).
pub(crate) const BACK_TO_VERSION_15: &str = "
    DROP TRIGGER trace_rollups_add; DROP TRIGGER trace_rollups_remove;
    DROP TRIGGER trace_rollups_move; DROP TRIGGER trace_rollups_change;
    DROP TABLE trace_rollups; DROP TABLE frequent_lines; DROP TABLE span_word_groups;";

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub(crate) fn open() -> Result<(TempDir, SqliteStore), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("store.db"))?;
    Ok((dir, store))
}

static RESOURCE: LazyLock<Arc<Resource>> = LazyLock::new(|| {
    let mut r = Resource::new("svc");
    r.attributes.insert("service.version", "1.0");
    Arc::new(r)
});

pub(crate) fn resource() -> Arc<Resource> {
    RESOURCE.clone()
}

/// A deterministic trace id.
pub(crate) fn tid(n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[0] = 0xaa;
    b[8..].copy_from_slice(&n.to_be_bytes());
    TraceId::from_bytes(b)
}

/// A deterministic span id.
pub(crate) fn sid(n: u64) -> SpanId {
    let mut b = n.to_be_bytes();
    b[0] = 0xbb;
    SpanId::from_bytes(b)
}

/// A plain span.
pub(crate) fn span(
    trace: TraceId,
    id: SpanId,
    parent: Option<SpanId>,
    name: &str,
    start: u64,
    duration: u64,
) -> SpanRecord {
    let mut s = SpanRecord::new(trace, id, name, start, start + duration, resource());
    s.parent_span_id = parent;
    s
}

/// An LLM span of `model` with tokens and, if given, a total cost in nano-dollars.
pub(crate) fn llm(
    trace: TraceId,
    id: SpanId,
    model: &str,
    start: u64,
    duration: u64,
    usage: TokenUsage,
    cost_nanos: Option<i64>,
) -> SpanRecord {
    let mut s = span(trace, id, None, &format!("chat {model}"), start, duration);
    s.kind = SpanKind::Llm;
    s.request_model = Some(model.into());
    s.usage = usage;
    s.cost =
        cost_nanos.map(|n| Cost::from_parts(Usd::from_nanos(n), Usd::ZERO, Usd::ZERO, Usd::ZERO));
    s
}

/// Marks a span failed.
pub(crate) fn failed(mut s: SpanRecord) -> SpanRecord {
    s.status = SpanStatus::error("boom");
    s
}

/// An event.
pub(crate) fn event(time: u64, level: Level, kind: EventKind, message: &str) -> Event {
    Event::new(time, level, kind, message, resource())
}
