//! The `traces` table: one summary row per trace, kept up to date as spans arrive (and as
//! retention deletes them), so that listing traces never scans spans.
//!
//! Each written batch adds, per trace, the contribution of its *new* spans with one upsert.
//! The row's `order_ns` (the list order) is fixed when the row is created: a trace never moves
//! in the list as more of its spans arrive, which keeps list cursors stable.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::LazyLock;

use agentrace_core::{SpanId, SpanRecord, StatusCode, TokenUsage, TraceId};
use rusqlite::{Connection, params};

use crate::codec::{self, to_sql};
use crate::error::{Db, DbError, QueryError};

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
    pub(crate) fn of(s: &'a SpanRecord) -> Self {
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
            unpriced: codec::is_unpriced(s.kind, &s.usage, s.cost.is_some()),
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

    /// Roots beat non-roots; then the earlier start wins. Mirrored by `BETTER_HEAD`.
    fn is_beaten_by(&self, c: &Contribution<'_>) -> bool {
        (c.is_root && !self.has_root) || (c.is_root == self.has_root && c.start < self.start)
    }
}

/// The sum of some spans' contributions to one trace.
#[derive(Debug)]
pub(crate) struct TraceRollup {
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

impl TraceRollup {
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

/// Rollups of one batch, by trace.
#[derive(Debug, Default)]
pub(crate) struct Rollups(HashMap<TraceId, TraceRollup>);

impl Rollups {
    pub(crate) fn add(&mut self, trace_id: TraceId, c: &Contribution<'_>) {
        match self.0.entry(trace_id) {
            Entry::Occupied(mut e) => e.get_mut().add(c),
            Entry::Vacant(e) => {
                e.insert(TraceRollup::new(c));
            }
        }
    }

    /// Adds every rollup to its trace's row.
    pub(crate) fn apply(&self, conn: &Connection) -> Result<(), DbError> {
        for (trace_id, rollup) in &self.0 {
            upsert(conn, *trace_id, rollup, None)?;
        }
        Ok(())
    }
}

/// Whether the incoming (`excluded`) head beats the stored one; mirrors [`Head::is_beaten_by`].
const BETTER_HEAD: &str = "(excluded.has_root > has_root \
     OR (excluded.has_root = has_root AND excluded.root_start_ns < root_start_ns))";

fn upsert_sql() -> String {
    let pick =
        |col: &str| format!("{col} = CASE WHEN {BETTER_HEAD} THEN excluded.{col} ELSE {col} END");
    let prefer = |col: &str| {
        format!(
            "{col} = CASE WHEN {BETTER_HEAD} THEN coalesce(excluded.{col}, {col}) \
             ELSE coalesce({col}, excluded.{col}) END"
        )
    };
    let sum = |col: &str| format!("{col} = {col} + excluded.{col}");
    [
        "INSERT INTO traces (trace_id, order_ns, start_ns, end_ns, span_count, error_count, \
         input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
         cost_total, priced_count, unpriced_count, has_root, root_start_ns, root_span_id, \
         root_name, service_name, session_id, agent_name, user_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20, ?21, ?22) \
         ON CONFLICT (trace_id) DO UPDATE SET "
            .to_owned(),
        [
            "start_ns = min(start_ns, excluded.start_ns)".to_owned(),
            "end_ns = max(end_ns, excluded.end_ns)".to_owned(),
            sum("span_count"),
            sum("error_count"),
            sum("input_tokens"),
            sum("output_tokens"),
            sum("cache_read_tokens"),
            sum("cache_write_tokens"),
            sum("reasoning_tokens"),
            "cost_total = CASE WHEN excluded.cost_total IS NULL THEN cost_total \
             WHEN cost_total IS NULL THEN excluded.cost_total \
             ELSE cost_total + excluded.cost_total END"
                .to_owned(),
            sum("priced_count"),
            sum("unpriced_count"),
            // The head columns change together, so `has_root` and `root_start_ns` go last:
            // SET expressions all see the old row anyway, but this reads in order.
            pick("root_span_id"),
            pick("root_name"),
            pick("service_name"),
            prefer("session_id"),
            prefer("agent_name"),
            prefer("user_id"),
            pick("root_start_ns"),
            "has_root = max(has_root, excluded.has_root)".to_owned(),
        ]
        .join(", "),
    ]
    .concat()
}

static UPSERT_SQL: LazyLock<String> = LazyLock::new(upsert_sql);

/// Adds `rollup` to the row of `trace_id`, creating it with `order_ns` (default: the rollup's
/// start) if there is none.
fn upsert(
    conn: &Connection,
    trace_id: TraceId,
    r: &TraceRollup,
    order_ns: Option<i64>,
) -> Result<(), DbError> {
    {
        let mut stmt = conn.prepare_cached(&UPSERT_SQL).db()?;
        stmt.execute(params![
            trace_id.to_bytes(),
            order_ns.unwrap_or(to_sql(r.start)),
            to_sql(r.start),
            to_sql(r.end),
            to_sql(r.spans),
            to_sql(r.errors),
            to_sql(r.usage.input_tokens),
            to_sql(r.usage.output_tokens),
            to_sql(r.usage.cache_read_tokens),
            to_sql(r.usage.cache_write_tokens),
            to_sql(r.usage.reasoning_tokens),
            r.cost_nanos,
            to_sql(r.priced),
            to_sql(r.unpriced),
            r.head.has_root,
            to_sql(r.head.start),
            r.head.span_id.to_bytes(),
            r.head.name,
            r.head.service,
            r.head.session.as_ref().or(r.any_session.as_ref()),
            r.head.agent.as_ref().or(r.any_agent.as_ref()),
            r.head.user.as_ref().or(r.any_user.as_ref()),
        ])
        .db()?;
        Ok(())
    }
}

/// Rebuilds the row of `trace_id` from the spans left (after retention), keeping its list
/// position; deletes it when no span is left.
pub(crate) fn recompute(conn: &Connection, trace_id: TraceId) -> Result<(), QueryError> {
    let id = trace_id.to_bytes();
    let order_ns: Option<i64> = {
        let mut stmt = conn
            .prepare_cached("SELECT order_ns FROM traces WHERE trace_id = ?1")
            .db()?;
        let mut rows = stmt.query([id]).db()?;
        match rows.next().db()? {
            Some(row) => Some(codec::int(row, 0)?),
            None => None,
        }
    };
    let mut rollup: Option<TraceRollup> = None;
    {
        let mut stmt = conn
            .prepare_cached(
                "SELECT span_id, parent_span_id IS NULL, name, service_name, start_ns, end_ns, \
                 status_code, input_tokens, output_tokens, cache_read_tokens, \
                 cache_write_tokens, reasoning_tokens, cost_total, kind, session_id, agent_name, \
                 user_id FROM spans AS s WHERE trace_id = ?1",
            )
            .db()?;
        let mut rows = stmt.query([id]).db()?;
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
                reasoning_tokens: codec::from_sql(codec::int(row, 11)?),
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
                unpriced: codec::is_unpriced(kind, &usage, cost_nanos.is_some()),
                session: session.as_deref(),
                agent: agent.as_deref(),
                user: user.as_deref(),
            };
            match &mut rollup {
                Some(r) => r.add(&c),
                None => rollup = Some(TraceRollup::new(&c)),
            }
        }
    }
    conn.prepare_cached("DELETE FROM traces WHERE trace_id = ?1")
        .db()?
        .execute([id])
        .db()?;
    if let Some(r) = rollup {
        upsert(conn, trace_id, &r, order_ns)?;
    }
    Ok(())
}
