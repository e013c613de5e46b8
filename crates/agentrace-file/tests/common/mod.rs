//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentrace_core::{Event, EventKind, Level, Resource, SpanId, SpanRecord, TraceId};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// 2026-11-21T00:00:00Z.
pub const NOV_21: u64 = 1_795_219_200;
pub const DAY: u64 = 86_400;

/// A clock tests move by hand (whole seconds since the epoch).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(secs: u64) -> Self {
        Self(Arc::new(AtomicU64::new(secs)))
    }

    pub fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }

    /// The clock to give the builder.
    pub fn clock(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let secs = self.0.clone();
        move || UNIX_EPOCH + Duration::from_secs(secs.load(Ordering::SeqCst))
    }
}

/// Distinct, recognizable events: event `i` has message `event {i}` and time `i`.
pub fn events(range: std::ops::Range<u64>) -> Vec<Event> {
    let resource = Arc::new(Resource::new("test"));
    range
        .map(|i| {
            Event::new(
                i,
                Level::Info,
                EventKind::ToolCall,
                format!("event {i}"),
                resource.clone(),
            )
        })
        .collect()
}

/// Distinct spans: span `i` is named `span {i}`.
pub fn spans(range: std::ops::Range<u64>) -> Vec<SpanRecord> {
    let resource = Arc::new(Resource::new("test"));
    let trace = TraceId::random();
    range
        .map(|i| {
            SpanRecord::new(
                trace,
                SpanId::random(),
                format!("span {i}"),
                i,
                i + 1,
                resource.clone(),
            )
        })
        .collect()
}

/// The file names in `dir`, sorted.
pub fn names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The paths of the files in `dir`, sorted by name.
pub fn paths(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(names(dir)?.into_iter().map(|n| dir.join(n)).collect())
}

/// The messages of events, in order.
pub fn messages(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.message.clone()).collect()
}
