//! Spans held back while their parent is awaited.
//!
//! A span that lacks values its missing parent may give ([`FromAncestors::open`]) is written
//! twice on the road the module docs above describe: once without them, once more when the
//! parent arrives, with its rollup contributions moved. A store opened with
//! [`StoreOptions::hold_awaiting_parent`](crate::StoreOptions::hold_awaiting_parent) holds such
//! a span back instead, for at most that long: a parent arriving meanwhile is written together
//! with it, its values filled in once, as a whole trace is. Otherwise it is written as awaiting
//! its parent (the window passed, [`MAX_HELD`] spans are held, or the store is flushed, shut
//! down or about to change what is stored outside the writes of spans), and the up pass fills
//! it in when its parent comes.
//!
//! A held span is not lost in a crash: the write that holds it stages it in `held_spans`, in
//! its transaction, and the write that takes it out deletes it there; a store opening loads
//! what is staged and writes it at its first write. Held spans count as stored in the
//! [`InsertReport`](crate::InsertReport) of the write that took them; when their parent
//! completes their values, that write reports them as attributed late, as it does the spans
//! the up pass fills in.
//!
//! [`FromAncestors::open`]: super::FromAncestors::open

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use agentrace_core::{SpanId, SpanRecord, TraceId};
use rusqlite::Connection;

use crate::encoded::SpanJson;
use crate::error::{Db, QueryError, WriteError};

/// Spans held at most (a few hundred bytes to a few kilobytes each in memory); past it, spans
/// are written as awaiting their parent.
pub const MAX_HELD: usize = 20_000;

type Key = (TraceId, SpanId);

/// A span held back.
#[derive(Debug)]
pub(crate) struct HeldSpan {
    /// As received.
    pub(crate) span: SpanRecord,
    pub(crate) json: SpanJson,
    /// Its row in `held_spans`.
    stage: i64,
}

/// The spans held back; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Held {
    window_ns: u64,
    spans: HashMap<Key, HeldSpan>,
    /// The held spans by parent.
    children: HashMap<Key, Vec<SpanId>>,
    /// Arrival order, for the window. May name spans no longer held.
    order: VecDeque<(u64, Key)>,
    /// How many held spans each staged row keeps.
    stages: HashMap<i64, usize>,
}

/// A held span a write takes up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Release {
    pub(crate) key: Key,
    /// Written even if its parent is still awaited.
    pub(crate) forced: bool,
}

/// What a write changes of the held spans, applied once it is committed.
#[derive(Debug, Default)]
pub(crate) struct HoldChanges {
    /// Held spans it wrote.
    written: Vec<Key>,
    /// Spans it held, staged in its row `stage`.
    added: Vec<(SpanRecord, SpanJson)>,
    stage: Option<i64>,
    since: u64,
}

impl HoldChanges {
    /// The held span `key` is written.
    pub(crate) fn written(&mut self, key: Key) {
        self.written.push(key);
    }

}

impl Held {
    /// Holds spans for at most `window` (zero: never).
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            ..Self::default()
        }
    }

    /// Whether spans are held at all.
    pub(crate) fn is_on(&self) -> bool {
        self.window_ns > 0
    }

    /// How many spans are held.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether `key` is held.
    pub(crate) fn contains(&self, key: &Key) -> bool {
        self.spans.contains_key(key)
    }

    /// Whether one more span may be held besides those held and `holding`.
    pub(crate) fn has_room(&self, holding: usize) -> bool {
        self.spans.len() + holding < MAX_HELD
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&HeldSpan> {
        self.spans.get(key)
    }

    /// The held spans a write of `batch` at `now` takes up: those whose parent is in it or
    /// taken up (transitively), and, forced, those held longer than the window (all of them
    /// if `all`).
    pub(crate) fn released(&self, batch: &[&SpanRecord], now: u64, all: bool) -> Vec<Release> {
        let mut out = Vec::new();
        let mut taken: HashSet<Key> = HashSet::new();
        let mut todo: Vec<Key> = batch.iter().map(|s| (s.trace_id, s.span_id)).collect();
        let due = now.saturating_sub(self.window_ns);
        let forced = self
            .order
            .iter()
            .take_while(|(since, _)| all || *since <= due)
            .map(|(_, key)| *key)
            .filter(|key| self.spans.contains_key(key));
        for key in forced {
            if taken.insert(key) {
                out.push(Release { key, forced: true });
                todo.push(key);
            }
        }
        while let Some((trace, span)) = todo.pop() {
            for &child in self.children.get(&(trace, span)).into_iter().flatten() {
                let key = (trace, child);
                if taken.insert(key) {
                    out.push(Release { key, forced: false });
                    todo.push(key);
                }
            }
        }
        out
    }

    /// Stages the spans `changes` holds in `held_spans`, and deletes the staged rows whose
    /// spans are all written.
    pub(crate) fn stage(
        &self,
        conn: &Connection,
        changes: &mut HoldChanges,
        now: u64,
    ) -> Result<(), WriteError> {
        if !changes.added.is_empty() {
            let spans: Vec<&SpanRecord> = changes.added.iter().map(|(s, _)| s).collect();
            let json = serde_json::to_string(&spans).map_err(|source| WriteError::Encode {
                what: "held spans",
                source,
            })?;
            conn.prepare_cached("INSERT INTO held_spans (spans) VALUES (?1)")
                .db()?
                .execute([json])
                .db()?;
            changes.stage = Some(conn.last_insert_rowid());
            changes.since = now;
        }
        let mut left: HashMap<i64, usize> = HashMap::new();
        for key in &changes.written {
            if let Some(held) = self.spans.get(key) {
                let n = left.entry(held.stage).or_insert(self.stages[&held.stage]);
                *n -= 1;
            }
        }
        for (stage, n) in left {
            if n == 0 {
                conn.prepare_cached("DELETE FROM held_spans WHERE id = ?1")
                    .db()?
                    .execute([stage])
                    .db()?;
            }
        }
        Ok(())
    }

    /// Applies a committed write's changes.
    pub(crate) fn apply(&mut self, changes: HoldChanges) {
        for key in changes.written {
            self.forget(key);
        }
        if let Some(stage) = changes.stage {
            for (span, json) in changes.added {
                self.add(span, json, changes.since, stage);
            }
        }
        // Entries of written spans linger in `order`; drop them when they are most of it.
        while let Some((_, key)) = self.order.front()
            && !self.spans.contains_key(key)
        {
            self.order.pop_front();
        }
        if self.order.len() > 1024 && self.order.len() > 2 * self.spans.len() {
            let spans = &self.spans;
            self.order.retain(|(_, key)| spans.contains_key(key));
        }
    }

    /// Notes that a write holds `span`.
    pub(crate) fn hold(changes: &mut HoldChanges, span: &SpanRecord, json: &SpanJson) {
        changes.added.push((span.clone(), json.clone()));
    }

    fn add(&mut self, span: SpanRecord, json: SpanJson, since: u64, stage: i64) {
        let key = (span.trace_id, span.span_id);
        if self.spans.contains_key(&key) {
            return;
        }
        if let Some(parent) = span.parent_span_id {
            self.children
                .entry((span.trace_id, parent))
                .or_default()
                .push(span.span_id);
        }
        *self.stages.entry(stage).or_default() += 1;
        self.order.push_back((since, key));
        self.spans.insert(
            key,
            HeldSpan { span, json, stage },
        );
    }

    fn forget(&mut self, key: Key) {
        let Some(held) = self.spans.remove(&key) else {
            return;
        };
        if let Some(parent) = held.span.parent_span_id
            && let Some(siblings) = self.children.get_mut(&(key.0, parent))
        {
            siblings.retain(|s| *s != key.1);
            if siblings.is_empty() {
                self.children.remove(&(key.0, parent));
            }
        }
        if let Some(n) = self.stages.get_mut(&held.stage) {
            *n -= 1;
            if *n == 0 {
                self.stages.remove(&held.stage);
            }
        }
    }

    /// The spans staged in the store (held when it was last closed, or when the process
    /// ended), held again, due at once.
    pub(crate) fn load(&mut self, conn: &Connection) -> Result<(), QueryError> {
        let mut stmt = conn
            .prepare("SELECT id, spans FROM held_spans ORDER BY id")
            .db()?;
        let mut rows = stmt.query([]).db()?;
        while let Some(row) = rows.next().db()? {
            let stage: i64 = row.get(0).db()?;
            let text: String = row.get(1).db()?;
            let spans: Vec<SpanRecord> = serde_json::from_str(&text)
                .map_err(|e| QueryError::decode("held spans", e))?;
            for span in spans {
                let json = SpanJson::of(&span).map_err(|e| QueryError::decode("held span", e))?;
                self.add(span, json, 0, stage);
            }
        }
        Ok(())
    }

    /// When the oldest held span is due, if any is held.
    pub(crate) fn next_due(&self) -> Option<u64> {
        self.order
            .iter()
            .find(|(_, key)| self.spans.contains_key(key))
            .map(|(since, _)| since.saturating_add(self.window_ns))
    }
}
