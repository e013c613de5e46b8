//! The `traces` table: one summary row per trace, kept up to date as spans arrive (and as
//! retention deletes them), so that listing traces never scans spans.
//!
//! A trace's row is created, complete, by the batch that first brings its spans; its
//! `trace_no` (the row id, increasing with arrival) keys the trace's spans, so that the span
//! index grows at its end instead of at random places. When a later batch brings more of its
//! spans, the contribution of the *new* ones (the insert tells which) is added to the row with
//! one update. The row's `order_ns`
//! (the list order) is set when the row is created and never changes: a trace never moves in
//! the list as more of its spans arrive, which keeps list cursors stable.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use agentrace_core::{SpanId, SpanRecord, StatusCode, TokenUsage, TraceId};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::codec::{self, to_sql};
use crate::deferred_index::{self, DeferredIndexer};
use crate::error::{Db, DbError};
use crate::past::Touched;
use agentrace_store::QueryError;
use agentrace_store::SpanJson;

/// An `UPDATE` of trace rows: `update_traces!("SET … WHERE …")`.
///
/// An update of `traces` fires the trigger that keeps `trace_sessions` in step (schema version
/// 8), which makes it a write of several tables; if such a statement may stop halfway, SQLite
/// copies every page it changes into a statement journal, so as to undo that statement alone
/// (measured: ~3.5 % of the writer's time with children first, where each agent span's arrival
/// updates its trace's row). So these updates may not stop halfway: `OR FAIL`, not the default
/// `ABORT`, for constraints (the trigger's statements take the same rule), and no SQL function
/// calls (SQLite counts any call as one that may stop it: `CASE` instead of `min`/`max`).
/// Nothing is lost by it, as every transaction that updates a trace row is rolled back whole
/// when a statement fails.
macro_rules! update_traces {
    ($rest:literal) => {
        concat!("UPDATE OR FAIL traces ", $rest)
    };
}
pub(crate) use update_traces;

/// What one span adds to its trace's row.
#[derive(Debug)]
pub(crate) struct Contribution<'a> {
    pub(crate) span_id: SpanId,
    pub(crate) is_root: bool,
    pub(crate) name: &'a str,
    pub(crate) service: &'a str,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) is_error: bool,
    pub(crate) usage: TokenUsage,
    pub(crate) cost_nanos: Option<i64>,
    pub(crate) unpriced: bool,
    pub(crate) session: Option<&'a str>,
    pub(crate) agent: Option<&'a str>,
    pub(crate) user: Option<&'a str>,
}

impl<'a> Contribution<'a> {
    /// The contribution of `s`, whose aggregate mark its caller read once.
    pub(crate) fn of(s: &'a SpanRecord, aggregate: bool) -> Self {
        Self {
            span_id: s.span_id,
            is_root: s.parent_span_id.is_none(),
            name: &s.name,
            service: &s.resource.service_name,
            start: s.start_time_unix_nano,
            end: s.end_time_unix_nano,
            is_error: s.status.code == StatusCode::Error,
            usage: s.usage,
            cost_nanos: s.cost.map(|c| c.total.nanos()),
            unpriced: codec::is_unpriced(s.kind, &s.usage, s.cost.is_some(), aggregate),
            session: s.session_id.as_deref(),
            agent: s.agent_name.as_deref(),
            user: s.user_id.as_deref(),
        }
    }
}

/// The trace's head span: its root if received, else its earliest span.
#[derive(Debug)]
struct Head {
    has_root: bool,
    start: u64,
    span_id: SpanId,
    name: String,
    service: String,
    session: Option<String>,
    agent: Option<String>,
    user: Option<String>,
}

impl Head {
    fn of(c: &Contribution<'_>) -> Self {
        Self {
            has_root: c.is_root,
            start: c.start,
            span_id: c.span_id,
            name: c.name.to_owned(),
            service: c.service.to_owned(),
            session: c.session.map(str::to_owned),
            agent: c.agent.map(str::to_owned),
            user: c.user.map(str::to_owned),
        }
    }

    /// Roots beat non-roots; then the earlier start wins. Mirrored in SQL by `ADD_TO_ROW`.
    fn is_beaten_by(&self, c: &Contribution<'_>) -> bool {
        (c.is_root && !self.has_root) || (c.is_root == self.has_root && c.start < self.start)
    }
}

/// The sum of some spans' contributions to one trace.
#[derive(Debug)]
pub(crate) struct TraceSums {
    start: u64,
    end: u64,
    spans: u64,
    errors: u64,
    usage: TokenUsage,
    cost_nanos: Option<i64>,
    priced: u64,
    unpriced: u64,
    head: Head,
    any_session: Option<String>,
    any_agent: Option<String>,
    any_user: Option<String>,
}

impl TraceSums {
    fn new(c: &Contribution<'_>) -> Self {
        let mut r = Self {
            start: c.start,
            end: c.end,
            spans: 0,
            errors: 0,
            usage: TokenUsage::default(),
            cost_nanos: None,
            priced: 0,
            unpriced: 0,
            head: Head::of(c),
            any_session: None,
            any_agent: None,
            any_user: None,
        };
        r.add(c);
        r
    }

    /// Its columns in the order `INSERT_ROW` and `ADD_TO_ROW` bind them, after their keys:
    /// sums and bounds, then the head (its session, agent and user, else any span's).
    fn values(&self) -> [Value; 20] {
        let int = |n: u64| Value::Integer(to_sql(n));
        let text = |t: Option<&String>| t.map_or(Value::Null, |t| Value::Text(t.clone()));
        let head = &self.head;
        [
            int(self.start),
            int(self.end),
            int(self.spans),
            int(self.errors),
            int(self.usage.input_tokens),
            int(self.usage.output_tokens),
            int(self.usage.cache_read_tokens),
            int(self.usage.cache_write_tokens),
            int(self.usage.reasoning_or_zero()),
            self.cost_nanos.map_or(Value::Null, Value::Integer),
            int(self.priced),
            int(self.unpriced),
            Value::Integer(i64::from(head.has_root)),
            int(head.start),
            Value::Blob(head.span_id.to_bytes().to_vec()),
            Value::Text(head.name.clone()),
            Value::Text(head.service.clone()),
            text(head.session.as_ref().or(self.any_session.as_ref())),
            text(head.agent.as_ref().or(self.any_agent.as_ref())),
            text(head.user.as_ref().or(self.any_user.as_ref())),
        ]
    }

    fn add(&mut self, c: &Contribution<'_>) {
        self.start = self.start.min(c.start);
        self.end = self.end.max(c.end);
        self.spans += 1;
        self.errors += u64::from(c.is_error);
        self.usage += c.usage;
        if let Some(cost) = c.cost_nanos {
            self.cost_nanos = Some(self.cost_nanos.unwrap_or(0).saturating_add(cost));
            self.priced += 1;
        }
        self.unpriced += u64::from(c.unpriced);
        if self.head.is_beaten_by(c) {
            self.head = Head::of(c);
        }
        fill(&mut self.any_session, c.session);
        fill(&mut self.any_agent, c.agent);
        fill(&mut self.any_user, c.user);
    }
}

fn fill(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.map(str::to_owned);
    }
}

/// The sums of one batch's new spans, by `trace_no`: what each trace's row gains.
#[derive(Debug, Default)]
pub(crate) struct BatchSums(HashMap<i64, TraceSums>);

impl BatchSums {
    pub(crate) fn add(&mut self, trace_no: i64, c: &Contribution<'_>) {
        match self.0.entry(trace_no) {
            Entry::Occupied(mut e) => e.get_mut().add(c),
            Entry::Vacant(e) => {
                e.insert(TraceSums::new(c));
            }
        }
    }

    /// Adds every trace's sums to its row, and notes each trace's time in `touched`.
    pub(crate) fn apply(&self, conn: &Connection, touched: &mut Touched) -> Result<(), DbError> {
        for (trace_no, sums) in &self.0 {
            if let Some((start, end)) = add_to_row(conn, *trace_no, sums)? {
                touched.note(start, end);
            }
        }
        Ok(())
    }
}

/// Inserts a trace's complete row. `?1` trace id, `?2` list time, then the sums.
/// (`indexed` is unused since schema version 8.) The insert fires the trigger that counts the
/// row in `trace_rollups` (schema version 16): `OR FAIL`, as [`update_traces!`] says why.
const INSERT_ROW: &str = "INSERT OR FAIL INTO traces (trace_id, order_ns, start_ns, end_ns, \
     span_count, error_count, input_tokens, output_tokens, cache_read_tokens, \
     cache_write_tokens, reasoning_tokens, cost_total, priced_count, unpriced_count, has_root, \
     root_start_ns, root_span_id, root_name, service_name, session_id, agent_name, user_id, \
     indexed) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
     ?19, ?20, ?21, ?22, 1)";

fn insert_row(
    conn: &Connection,
    trace_id: &[u8],
    order_ns: i64,
    r: &TraceSums,
) -> Result<i64, DbError> {
    let keys = [Value::Blob(trace_id.to_vec()), Value::Integer(order_ns)];
    conn.prepare_cached(INSERT_ROW)
        .db()?
        .execute(params_from_iter(keys.into_iter().chain(r.values())))
        .db()?;
    let trace_no = conn.last_insert_rowid();
    deferred_index::pending(conn, trace_no)?;
    Ok(trace_no)
}

/// The `trace_no` of each span's trace if it is stored, by the batch's order.
pub(crate) fn stored_traces(
    conn: &Connection,
    spans: &[&SpanRecord],
    indexer: &mut DeferredIndexer,
) -> Result<Vec<Option<i64>>, DbError> {
    indexer.sync(conn)?;
    let mut found: HashMap<TraceId, Option<i64>> = HashMap::new();
    spans
        .iter()
        .map(|s| match found.entry(s.trace_id) {
            Entry::Occupied(e) => Ok(*e.get()),
            Entry::Vacant(e) => Ok(*e.insert(indexer.find(conn, s.trace_id)?)),
        })
        .collect()
}

/// The trace rows of one batch of spans.
///
/// A trace not stored before gets its complete row here, from the batch's spans (each span id
/// once, the first occurrence, as the insert keeps it): one insert, its index entries written
/// once. A trace already stored gets what its newly inserted spans add once they are in
/// ([`BatchSums`]), since only the insert knows which of them are new.
#[derive(Debug)]
pub(crate) struct TraceRows {
    /// The `trace_no` of each span's trace, in the order of the batch.
    pub(crate) numbers: Vec<i64>,
    /// The traces whose rows this batch created, already complete.
    pub(crate) created: HashSet<i64>,
}

/// A trace of a batch: stored before, or new with the sums of its spans in the batch.
enum BatchTrace {
    Stored(i64),
    New(TraceId, Box<TraceSums>),
}

impl TraceRows {
    /// Creates the rows of the traces of `spans` not stored before (`stored`, from
    /// [`stored_traces`]), in order of first appearance, listed at the earliest start among
    /// their spans here. `spans` are as they will be stored (their values filled in), so
    /// that a new row is right when made.
    pub(crate) fn of(
        conn: &Connection,
        spans: &[&SpanRecord],
        json: &[SpanJson],
        stored: &[Option<i64>],
        indexer: &mut DeferredIndexer,
    ) -> Result<Self, DbError> {
        let mut traces: Vec<BatchTrace> = Vec::new();
        let mut index: HashMap<TraceId, usize> = HashMap::new();
        // The spans counted in new traces' sums: each span id once.
        let mut counted: HashSet<(TraceId, SpanId)> = HashSet::new();
        let mut places = Vec::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            let place = match index.entry(s.trace_id) {
                Entry::Occupied(e) => {
                    let place = *e.get();
                    if let BatchTrace::New(_, sums) = &mut traces[place]
                        && counted.insert((s.trace_id, s.span_id))
                    {
                        sums.add(&Contribution::of(s, json[i].aggregate));
                    }
                    place
                }
                Entry::Vacant(e) => {
                    let trace = match stored[i] {
                        Some(n) => BatchTrace::Stored(n),
                        None => {
                            counted.insert((s.trace_id, s.span_id));
                            BatchTrace::New(
                                s.trace_id,
                                Box::new(TraceSums::new(&Contribution::of(s, json[i].aggregate))),
                            )
                        }
                    };
                    traces.push(trace);
                    *e.insert(traces.len() - 1)
                }
            };
            places.push(place);
        }
        let mut created = HashSet::new();
        let mut numbers = Vec::with_capacity(traces.len());
        for trace in &traces {
            numbers.push(match trace {
                BatchTrace::Stored(n) => *n,
                BatchTrace::New(trace_id, r) => {
                    let n = insert_row(conn, &trace_id.to_bytes(), to_sql(r.start), r)?;
                    indexer.created(*trace_id, n);
                    created.insert(n);
                    n
                }
            });
        }
        Ok(Self {
            numbers: places.into_iter().map(|p| numbers[p]).collect(),
            created,
        })
    }
}

/// Adds sums to a row; the head columns change when their head beats the row's
/// (mirrors [`Head::is_beaten_by`]; `?14` is their `has_root`, `?15` its head start).
const ADD_TO_ROW: &str = update_traces!(
    "SET
    start_ns = CASE WHEN ?2 < start_ns THEN ?2 ELSE start_ns END,
    end_ns = CASE WHEN ?3 > end_ns THEN ?3 ELSE end_ns END,
    span_count = span_count + ?4,
    error_count = error_count + ?5,
    input_tokens = input_tokens + ?6,
    output_tokens = output_tokens + ?7,
    cache_read_tokens = cache_read_tokens + ?8,
    cache_write_tokens = cache_write_tokens + ?9,
    reasoning_tokens = reasoning_tokens + ?10,
    cost_total = CASE WHEN ?11 IS NULL THEN cost_total WHEN cost_total IS NULL THEN ?11
                      ELSE cost_total + ?11 END,
    priced_count = priced_count + ?12,
    unpriced_count = unpriced_count + ?13,
    root_span_id = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                        THEN ?16 ELSE root_span_id END,
    root_name = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                     THEN ?17 ELSE root_name END,
    service_name = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                        THEN ?18 ELSE service_name END,
    session_id = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                      THEN coalesce(?19, session_id) ELSE coalesce(session_id, ?19) END,
    agent_name = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                      THEN coalesce(?20, agent_name) ELSE coalesce(agent_name, ?20) END,
    user_id = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                   THEN coalesce(?21, user_id) ELSE coalesce(user_id, ?21) END,
    root_start_ns = CASE WHEN ?14 > has_root OR (?14 = has_root AND ?15 < root_start_ns)
                         THEN ?15 ELSE root_start_ns END,
    has_root = CASE WHEN ?14 > has_root THEN ?14 ELSE has_root END
    WHERE trace_no = ?1 RETURNING start_ns, end_ns"
);

/// Adds `r` to the row of `trace_no`: the trace's start and end after (`None`: no such row).
fn add_to_row(
    conn: &Connection,
    trace_no: i64,
    r: &TraceSums,
) -> Result<Option<(i64, i64)>, DbError> {
    conn.prepare_cached(ADD_TO_ROW)
        .db()?
        .query_row(
            params_from_iter(std::iter::once(Value::Integer(trace_no)).chain(r.values())),
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .db()
}

/// Replaces a row's sums; the row keeps its id, list position and place in the trace-id
/// index (a row deleted and inserted again would be pending, unknown to the writer, which
/// would then create a second row for the trace's next span).
const SET_ROW: &str = update_traces!(
    "SET start_ns = ?2, end_ns = ?3, span_count = ?4, \
     error_count = ?5, input_tokens = ?6, output_tokens = ?7, cache_read_tokens = ?8, \
     cache_write_tokens = ?9, reasoning_tokens = ?10, cost_total = ?11, priced_count = ?12, \
     unpriced_count = ?13, has_root = ?14, root_start_ns = ?15, root_span_id = ?16, \
     root_name = ?17, service_name = ?18, session_id = ?19, agent_name = ?20, user_id = ?21 \
     WHERE trace_no = ?1"
);

/// Rebuilds the row of `trace_no` from the spans left (after retention), keeping its list
/// position; deletes it when no span is left. Notes the trace's time, as its spans are now,
/// in `touched`.
pub(crate) fn recompute(
    conn: &Connection,
    trace_no: i64,
    touched: &mut Touched,
) -> Result<(), QueryError> {
    let mut sums: Option<TraceSums> = None;
    {
        let mut stmt = conn
            .prepare_cached(
                "SELECT span_id, parent_span_id IS NULL, name, service_name, start_ns, end_ns, \
                 status_code, input_tokens, output_tokens, cache_read_tokens, \
                 cache_write_tokens, reasoning_tokens, cost_total, kind, session_id, agent_name, \
                 user_id, aggregate FROM spans WHERE trace_no = ?1",
            )
            .db()?;
        let mut rows = stmt.query([trace_no]).db()?;
        while let Some(row) = rows.next().db()? {
            let name = codec::text(row, 2)?;
            let service = codec::text(row, 3)?;
            let session = codec::opt_text(row, 14)?;
            let agent = codec::opt_text(row, 15)?;
            let user = codec::opt_text(row, 16)?;
            let usage = TokenUsage {
                input_tokens: codec::from_sql(codec::int(row, 7)?),
                output_tokens: codec::from_sql(codec::int(row, 8)?),
                cache_read_tokens: codec::from_sql(codec::int(row, 9)?),
                cache_write_tokens: codec::from_sql(codec::int(row, 10)?),
                // Trace summaries count cache writes; their one-hour share is kept per span.
                cache_write_1h_tokens: 0,
                reasoning_tokens: codec::total_reasoning(codec::from_sql(codec::int(row, 11)?)),
            };
            let cost_nanos = codec::opt_int(row, 12)?;
            let kind = codec::text(row, 13)?
                .parse()
                .map_err(|e| QueryError::decode("span kind", e))?;
            let c = Contribution {
                span_id: codec::span_id(row, 0)?,
                is_root: codec::int(row, 1)? != 0,
                name: &name,
                service: &service,
                start: codec::from_sql(codec::int(row, 4)?),
                end: codec::from_sql(codec::int(row, 5)?),
                is_error: codec::int(row, 6)? == codec::STATUS_ERROR,
                usage,
                cost_nanos,
                unpriced: codec::is_unpriced(
                    kind,
                    &usage,
                    cost_nanos.is_some(),
                    codec::int(row, 17)? != 0,
                ),
                session: session.as_deref(),
                agent: agent.as_deref(),
                user: user.as_deref(),
            };
            match &mut sums {
                Some(r) => r.add(&c),
                None => sums = Some(TraceSums::new(&c)),
            }
        }
    }
    match sums {
        None => {
            conn.prepare_cached("DELETE FROM traces WHERE trace_no = ?1")
                .db()?
                .execute([trace_no])
                .db()?;
        }
        Some(r) => {
            touched.note(to_sql(r.start), to_sql(r.end));
            conn.prepare_cached(SET_ROW)
                .db()?
                .execute(params_from_iter(
                    std::iter::once(Value::Integer(trace_no)).chain(r.values()),
                ))
                .db()?;
        }
    }
    Ok(())
}
