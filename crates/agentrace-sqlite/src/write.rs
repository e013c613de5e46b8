//! Batched writes: one transaction per batch, cached prepared statements, idempotent inserts.

use std::collections::HashMap;
use std::sync::Arc;

use agentrace_core::{Event, Measurement, Resource, SpanRecord};
use rusqlite::{Connection, Transaction, params};

use crate::attribution::{self, Pending, PendingChanges};
use crate::codec::{attributes_json, execute_typed, json, status_to_sql, to_sql};
use crate::content::{self, NodeIds};
use crate::deferred_index::DeferredIndexer;
use crate::error::{Db, DbError};
use crate::fnv::Fnv;
use crate::metric_points::{self, SeriesIds};
use crate::past::Touched;
use crate::span_rollups::{self, KeyIds};
use crate::trace_summaries::{self, BatchSums, Contribution, TraceRows};
use crate::wal::{Wake, WalBound, WalStats};
use crate::words::{self, FrequentLines};
use agentrace_store::InsertReport;
use agentrace_store::SpanRows;
use agentrace_store::{QueryError, WriteError};

/// Resources remembered by the writer before the cache is reset (bounds memory against
/// senders that vary their resource attributes).
const MAX_CACHED_RESOURCES: usize = 10_000;

const INSERT_SPAN: &str = "INSERT INTO spans (trace_no, trace_id, span_id, parent_span_id, name, kind, \
     start_ns, end_ns, duration_ns, status_code, status_message, resource_id, service_name, \
     scope, operation, provider, request_model, response_model, input_tokens, output_tokens, \
     cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_input, cost_cache_read, \
     cost_cache_write, cost_output, cost_total, session_id, user_id, correlation_id, agent_name, \
     agent_id, tool_name, tool_call_id, framework, attributes, events, cache_write_1h_tokens, \
     awaiting_parent_since, aggregate, reasoning_reported, content) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
     ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, \
     ?37, ?38, ?39, ?40, ?41, ?42, ?43) ON CONFLICT (trace_no, span_id) DO NOTHING";

const INSERT_EVENT: &str = "INSERT INTO events (time_ns, event_hash, level, kind, message, \
     resource_id, service_name, trace_id, span_id, session_id, correlation_id, agent_id, \
     framework, scope, attributes) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
     ON CONFLICT (time_ns, event_hash) DO NOTHING";

/// The writer connection and what it remembers between batches.
pub(crate) struct Writer {
    conn: Connection,
    /// `service.name` → resource attributes JSON → `resources.id`.
    resources: HashMap<String, HashMap<String, i64>>,
    cached_resources: usize,
    /// `rollup_keys` ids.
    rollup_keys: KeyIds,
    /// Indexes new traces by id and session in batches.
    index: DeferredIndexer,
    /// `metric_series` ids.
    series: SeriesIds,
    /// Spans awaiting their parent (see `attribution`).
    pending: Pending,
    /// Keeps the write-ahead log under its ceiling.
    wal: WalBound,
    /// `content_nodes` ids.
    content_nodes: NodeIds,
    /// The lines left out of the span words' index.
    frequent_lines: FrequentLines,
}

impl Writer {
    /// The writer over `conn`, with the spans awaiting their parent loaded from it and its
    /// write-ahead log kept under `wal_ceiling` bytes, waking the checkpointing thread as the
    /// log grows.
    pub(crate) fn new(
        mut conn: Connection,
        wal_ceiling: u64,
        checkpointer: Wake,
    ) -> Result<Self, QueryError> {
        let pending = Pending::load(&conn, agentrace_core::now_unix_nano())?;
        let wal = WalBound::install(&mut conn, wal_ceiling, checkpointer)?;
        Ok(Self {
            conn,
            resources: HashMap::new(),
            cached_resources: 0,
            rollup_keys: KeyIds::default(),
            index: DeferredIndexer::default(),
            series: SeriesIds::default(),
            pending,
            wal,
            content_nodes: NodeIds::default(),
            frequent_lines: FrequentLines::default(),
        })
    }

    /// The write-ahead log's figures, shared with the store's handle.
    pub(crate) fn wal_stats(&self) -> Arc<WalStats> {
        self.wal.stats()
    }

    /// How many stored spans await their parent.
    pub(crate) fn awaiting_parent(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in an `IMMEDIATE` transaction, committed if `f` succeeds; `f` gets the rollup
    /// key cache, forgotten after a failure.
    pub(crate) fn transaction<T, E: From<DbError>>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &mut KeyIds) -> Result<T, E>,
    ) -> Result<T, E> {
        self.guarded(|w| {
            let tx = w.wal.begin(&mut w.conn)?;
            // It may delete or recreate trace rows, or delete metric series: what the writer
            // remembers of them is reloaded after it.
            w.index.forget();
            w.series.clear();
            w.pending.forget_nodes();
            w.content_nodes.forget();
            let out = f(&tx, &mut w.rollup_keys)?;
            tx.commit().db()?;
            Ok(out)
        })
    }

    pub(crate) fn insert_spans(&mut self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError> {
        self.guarded(|w| w.try_insert_spans(rows))
    }

    pub(crate) fn insert_events(&mut self, events: &[Event]) -> Result<InsertReport, WriteError> {
        self.guarded(|w| w.try_insert_events(events))
    }

    pub(crate) fn insert_measurements(
        &mut self,
        measurements: &[Measurement],
    ) -> Result<InsertReport, WriteError> {
        self.guarded(|w| {
            let tx = w.wal.begin(&mut w.conn)?;
            let report = metric_points::insert(&tx, &mut w.series, measurements)?;
            tx.commit().db()?;
            Ok(report)
        })
    }

    /// Runs a write with the resource cache bounded before, and the caches forgotten after a
    /// failure: ids created by a rolled-back transaction no longer exist.
    fn guarded<T, E>(&mut self, write: impl FnOnce(&mut Self) -> Result<T, E>) -> Result<T, E> {
        if self.cached_resources > MAX_CACHED_RESOURCES {
            self.forget_resources();
        }
        let result = write(self);
        if result.is_err() {
            self.forget_resources();
            self.rollup_keys.clear();
            self.index.forget();
            self.series.clear();
            self.pending.forget_nodes();
            self.content_nodes.forget();
            self.frequent_lines.forget();
        }
        result
    }

    fn forget_resources(&mut self) {
        self.resources.clear();
        self.cached_resources = 0;
    }

    fn try_insert_spans(&mut self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError> {
        let now = agentrace_core::now_unix_nano();
        let tx = self.wal.begin(&mut self.conn)?;
        let mut report = InsertReport::default();
        let mut summaries = BatchSums::default();
        let mut touched = Touched::default();
        let mut span_rollups = span_rollups::Batch::default();
        let mut resources = ResourceIds::new(&mut self.resources, &mut self.cached_resources);
        let received: Vec<&SpanRecord> = rows.spans().iter().collect();
        let stored_traces = trace_summaries::stored_traces(&tx, &received, &mut self.index)?;
        let down = attribution::from_ancestors(&tx, &received, &stored_traces)?;
        // The spans as they are stored: those the down pass filled in, copies with their values.
        let filled: HashMap<usize, SpanRecord> = down
            .filled
            .iter()
            .map(|(&i, values)| {
                let mut span = rows.spans()[i].clone();
                values.apply_to(&mut span);
                (i, span)
            })
            .collect();
        let spans: Vec<&SpanRecord> = received
            .iter()
            .enumerate()
            .map(|(i, s)| filled.get(&i).unwrap_or(s))
            .collect();
        let traces = TraceRows::of(&tx, &spans, rows.json(), &stored_traces, &mut self.index)?;
        let mut pending = PendingChanges::default();
        // Spans of traces stored before: their stored descendants may await them.
        let mut arrived = Vec::new();
        // The spans inserted: (index, trace_no, rowid).
        let mut stored = Vec::with_capacity(rows.spans().len());
        let mut words = words::Batch::default();
        {
            let mut stmt = tx.prepare_cached(INSERT_SPAN).db()?;
            for (i, ((s, json), &trace_no)) in spans
                .iter()
                .zip(rows.json())
                .zip(&traces.numbers)
                .enumerate()
            {
                let awaiting = down.awaiting.contains(&i);
                let resource_id = resources.id(&tx, &s.resource)?;
                // The values were cut from the span as received.
                let kept = content::store(
                    &tx,
                    &mut self.content_nodes,
                    &rows.spans()[i].attributes,
                    &json.content,
                    &mut words,
                )?;
                let cost = s.cost.as_ref();
                let changed = execute_typed!(
                    stmt,
                    [
                        trace_no,
                        s.trace_id.to_bytes(),
                        s.span_id.to_bytes(),
                        s.parent_span_id.map(|p| p.to_bytes()),
                        s.name.as_str(),
                        s.kind.as_str(),
                        to_sql(s.start_time_unix_nano),
                        to_sql(s.end_time_unix_nano),
                        to_sql(s.duration_ns()),
                        status_to_sql(s.status.code),
                        s.status.message,
                        resource_id,
                        s.resource.service_name,
                        s.scope,
                        s.operation.as_deref(),
                        s.provider.as_deref(),
                        s.request_model.as_deref(),
                        s.response_model.as_deref(),
                        to_sql(s.usage.input_tokens),
                        to_sql(s.usage.output_tokens),
                        to_sql(s.usage.cache_read_tokens),
                        to_sql(s.usage.cache_write_tokens),
                        to_sql(s.usage.reasoning_or_zero()),
                        cost.map(|c| c.input.nanos()),
                        cost.map(|c| c.cache_read.nanos()),
                        cost.map(|c| c.cache_write.nanos()),
                        cost.map(|c| c.output.nanos()),
                        cost.map(|c| c.total.nanos()),
                        s.session_id.as_deref(),
                        s.user_id.as_deref(),
                        s.correlation_id.as_deref(),
                        s.agent_name.as_deref(),
                        s.agent_id.as_deref(),
                        s.tool_name.as_deref(),
                        s.tool_call_id.as_deref(),
                        s.framework.as_deref(),
                        json.attributes,
                        json.events,
                        to_sql(s.usage.cache_write_1h_tokens),
                        awaiting.then(|| to_sql(now)),
                        i64::from(json.aggregate),
                        i64::from(s.usage.reasoning_tokens.is_some()),
                        kept.column,
                    ]
                )
                .db()?;
                if changed == 0 {
                    report.duplicates += 1;
                    continue;
                }
                report.inserted += 1;
                let rowid = tx.last_insert_rowid();
                kept.link(&tx, rowid)?;
                words.span(rowid, json.search_text.as_str());
                touched.note(to_sql(s.start_time_unix_nano), to_sql(s.end_time_unix_nano));
                stored.push((i, trace_no, rowid));
                if !traces.created.contains(&trace_no) {
                    summaries.add(trace_no, &Contribution::of(s, json.aggregate));
                    arrived.push((s.trace_id, trace_no, s.span_id));
                }
                span_rollups.add(&span_rollups::Facts::of(s, json.aggregate), 1);
                if awaiting && let Some(parent) = s.parent_span_id {
                    pending.add(now, trace_no, parent, s.span_id);
                }
            }
        }
        self.pending.note_stored(
            &mut pending,
            stored
                .iter()
                .map(|&(i, trace_no, rowid)| (spans[i], trace_no, rowid)),
        );
        let resolved = self
            .pending
            .resolve(&tx, &arrived, &mut self.rollup_keys, &mut pending)?;
        summaries.apply(&tx, &mut touched)?;
        attribution::fix_trace_rows(&tx, &resolved)?;
        span_rollups.apply(&tx, &mut self.rollup_keys)?;
        self.pending.sweep(&tx, now, &mut pending)?;
        touched.record(&tx, now)?;
        let frequent = words.index(&tx, &mut self.frequent_lines)?;
        tx.commit().db()?;
        self.frequent_lines.committed(frequent);
        self.pending.apply(pending, now);
        report.attributed = resolved.late.into_iter().map(|(_, l)| l).collect();
        // What is committed stays committed; indexing that fails is tried again next time.
        let _ = self.index.run_if_due(&mut self.conn, &self.wal);
        Ok(report)
    }

    fn try_insert_events(&mut self, events: &[Event]) -> Result<InsertReport, WriteError> {
        let tx = self.wal.begin(&mut self.conn)?;
        let mut report = InsertReport::default();
        let mut resources = ResourceIds::new(&mut self.resources, &mut self.cached_resources);
        {
            let mut stmt = tx.prepare_cached(INSERT_EVENT).db()?;
            for e in events {
                let resource_id = resources.id(&tx, &e.resource)?;
                let attrs = attributes_json(&e.attributes)?;
                let attrs = attrs.as_deref();
                let hash = event_hash(e, attrs, resources.last_json());
                let changed = stmt
                    .execute(params![
                        to_sql(e.time_unix_nano),
                        hash,
                        e.level.severity_number(),
                        e.kind.as_str(),
                        e.message,
                        resource_id,
                        e.resource.service_name,
                        e.trace_id.map(|t| t.to_bytes()),
                        e.span_id.map(|s| s.to_bytes()),
                        e.session_id.as_deref(),
                        e.correlation_id.as_deref(),
                        e.agent_id.as_deref(),
                        e.framework.as_deref(),
                        e.scope,
                        attrs,
                    ])
                    .db()?;
                if changed == 0 {
                    report.duplicates += 1;
                } else {
                    report.inserted += 1;
                }
            }
        }
        tx.commit().db()?;
        Ok(report)
    }

    /// Checkpoints the WAL without waiting for readers; the WAL is synced first.
    pub(crate) fn checkpoint(&self) -> Result<(), DbError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .db()
    }

    /// Lets SQLite refresh its planner statistics if they are stale (cheap).
    pub(crate) fn optimize(&self) -> Result<(), DbError> {
        self.conn.execute_batch("PRAGMA optimize").db()
    }
}

/// Finds or creates `resources` rows for the records of one batch.
struct ResourceIds<'a> {
    cache: &'a mut HashMap<String, HashMap<String, i64>>,
    cached: &'a mut usize,
    /// The last resource seen (records of one batch usually share one `Arc`).
    last: Option<(*const Resource, i64)>,
    last_json: String,
}

impl<'a> ResourceIds<'a> {
    fn new(cache: &'a mut HashMap<String, HashMap<String, i64>>, cached: &'a mut usize) -> Self {
        Self {
            cache,
            cached,
            last: None,
            last_json: String::new(),
        }
    }

    /// The attributes JSON of the resource last passed to [`id`](Self::id).
    fn last_json(&self) -> &str {
        &self.last_json
    }

    fn id(&mut self, conn: &Connection, resource: &Arc<Resource>) -> Result<i64, WriteError> {
        let ptr = Arc::as_ptr(resource);
        if let Some((last, id)) = self.last
            && last == ptr
        {
            return Ok(id);
        }
        let json = json(&resource.attributes, "resource attributes")?;
        let cached = self
            .cache
            .get(&resource.service_name)
            .and_then(|by_json| by_json.get(&json))
            .copied();
        let id = match cached {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO resources (service_name, attributes) VALUES (?1, ?2) \
                     ON CONFLICT (service_name, attributes) DO NOTHING",
                )
                .db()?
                .execute(params![resource.service_name, json])
                .db()?;
                let id: i64 = conn
                    .prepare_cached(
                        "SELECT id FROM resources WHERE service_name = ?1 AND attributes = ?2",
                    )
                    .db()?
                    .query_row(params![resource.service_name, json], |r| r.get(0))
                    .db()?;
                self.cache
                    .entry(resource.service_name.clone())
                    .or_default()
                    .insert(json.clone(), id);
                *self.cached += 1;
                id
            }
        };
        self.last = Some((ptr, id));
        self.last_json = json;
        Ok(id)
    }
}

/// The identity of an event: a hash of every field (with the time, the primary key).
fn event_hash(e: &Event, attributes_json: Option<&str>, resource_json: &str) -> i64 {
    let mut h = Fnv::new();
    h.bytes(&e.time_unix_nano.to_le_bytes());
    h.bytes(&[e.level.severity_number()]);
    h.field(e.kind.as_str().as_bytes());
    h.field(e.message.as_bytes());
    h.field(e.resource.service_name.as_bytes());
    h.field(resource_json.as_bytes());
    h.opt(e.trace_id.map(|t| t.to_bytes()).as_ref().map(|b| &b[..]));
    h.opt(e.span_id.map(|s| s.to_bytes()).as_ref().map(|b| &b[..]));
    h.opt(e.session_id.as_deref().map(str::as_bytes));
    h.opt(e.correlation_id.as_deref().map(str::as_bytes));
    h.opt(e.agent_id.as_deref().map(str::as_bytes));
    h.opt(e.framework.as_deref().map(str::as_bytes));
    h.opt(e.scope.as_deref().map(str::as_bytes));
    h.opt(attributes_json.map(str::as_bytes));
    to_sql(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_hash_sees_every_field() {
        use agentrace_core::{EventKind, Level};
        let resource = Arc::new(Resource::new("svc"));
        let base = Event::new(1, Level::Info, EventKind::Log, "m", resource);
        let h = |e: &Event| event_hash(e, None, "{}");
        let mut other = base.clone();
        other.session_id = Some("s".into());
        assert_ne!(h(&base), h(&other));
        let mut other = base.clone();
        other.message = "n".into();
        assert_ne!(h(&base), h(&other));
        assert_ne!(h(&base), event_hash(&base, Some("{}"), "{}"));
        assert_eq!(h(&base), h(&base.clone()));
    }
}
