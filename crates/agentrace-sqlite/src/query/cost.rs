//! A cost objective's counts: the traces (or sessions) of a range, those at most a threshold
//! and those whose cost is unknown, from the per-trace summaries (`traces`) alone; agent runs
//! from the spans of the traces that hold one.

use agentrace_core::{SpanKind, TokenUsage, Usd};
use agentrace_store::{
    AgentRunTallies, CostTally, CostTallyQuery, CostUnit, QueryError, RunCost, RunCostSpan,
    SessionCost, check_bucket_width,
};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::filter::Where;
use crate::codec;
use crate::error::Db;
use crate::store::SqliteStore;

impl SqliteStore {
    /// The tallies of `q` by bucket of `width_ns` (all in one, keyed 0, without).
    fn cost_tallies(
        &self,
        q: &CostTallyQuery,
        width_ns: Option<u64>,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        if q.of == CostUnit::AgentRuns {
            return self.agent_run_tallies(q, width_ns);
        }
        let (mut w, bucket) = traces_of(q, width_ns);
        let units = match q.of {
            CostUnit::Sessions => session_costs_sql(&mut w, &bucket),
            _ => format!(
                "SELECT {bucket} AS bucket, coalesce(cost_total, 0) AS cost, \
                 unpriced_count AS unpriced FROM traces WHERE {}",
                w.sql()
            ),
        };
        let sql = format!(
            "SELECT bucket, count(*), coalesce(sum(unpriced = 0 AND cost <= {}), 0), \
             coalesce(sum(unpriced > 0), 0) FROM ({units}) GROUP BY bucket ORDER BY bucket",
            q.threshold.nanos()
        );
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).db()?;
            let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
            let mut tallies = Vec::new();
            while let Some(row) = rows.next().db()? {
                tallies.push((
                    codec::count(row, 0)?,
                    CostTally::new(
                        codec::count(row, 1)?,
                        codec::count(row, 2)?,
                        codec::count(row, 3)?,
                    ),
                ));
            }
            Ok(tallies)
        })
    }

    /// The tallies of agent runs ([`CostUnit::AgentRuns`]): the spans of every trace holding
    /// an agent span of `q` (its range by the `spans_start` index, its scope on the span's own
    /// columns), in the order of the primary key (by trace), judged as they are read
    /// (`agentrace_store::AgentRunTallies`).
    fn agent_run_tallies(
        &self,
        q: &CostTallyQuery,
        width_ns: Option<u64>,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        let mut run = Where::default();
        run.push("s.kind = 'agent'", []);
        run.range("s.start_ns", &q.range);
        push_scope(&mut run, q, "s.");
        let sql = format!(
            "SELECT s.trace_id, s.span_id, s.parent_span_id, \
             CASE WHEN {run} THEN s.start_ns END, s.kind, s.input_tokens, s.output_tokens, \
             s.cost_total, s.aggregate FROM spans s \
             WHERE s.trace_no IN (SELECT s.trace_no FROM spans s WHERE {run}) \
             ORDER BY s.trace_no",
            run = run.sql()
        );
        let params = run.params.iter().chain(&run.params);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).db()?;
            let mut rows = stmt.query(params_from_iter(params)).db()?;
            let mut tallies = AgentRunTallies::new(q.threshold, width_ns);
            while let Some(row) = rows.next().db()? {
                let kind = codec::text(row, 4)?
                    .parse::<SpanKind>()
                    .map_err(|e| QueryError::decode("span kind", e))?;
                let usage = TokenUsage::new(codec::count(row, 5)?, codec::count(row, 6)?);
                tallies.push(RunCostSpan {
                    trace_id: codec::trace_id(row, 0)?,
                    span_id: codec::span_id(row, 1)?,
                    parent_span_id: codec::opt_span_id(row, 2)?,
                    run_start: codec::opt_int(row, 3)?.map(codec::from_sql),
                    adds: RunCost::of(
                        kind,
                        &usage,
                        codec::opt_usd(row, 7)?,
                        codec::int(row, 8)? != 0,
                    ),
                });
            }
            Ok(tallies.finish())
        })
    }
}

/// How many traces (or sessions) `q` selects in each bucket of `width_ns` of the traces'
/// start, how many cost at most its threshold and how many have an unpriced call: one pass
/// over the summaries of the traces starting in its range (the `traces_start` index), a
/// session's traces summed first.
pub(super) fn cost_tally_by_bucket(
    store: &SqliteStore,
    q: &CostTallyQuery,
    width_ns: u64,
) -> Result<Vec<(u64, CostTally)>, QueryError> {
    store.cost_tallies(q, Some(check_bucket_width(width_ns)?))
}

/// The cost of each session of `q` in each bucket of `width_ns` of its traces' start, in
/// one pass over the summaries of the traces starting in its range.
pub(super) fn session_costs_by_bucket(
    store: &SqliteStore,
    q: &CostTallyQuery,
    width_ns: u64,
) -> Result<Vec<SessionCost>, QueryError> {
    let (mut w, bucket) = traces_of(q, Some(check_bucket_width(width_ns)?));
    let sql = format!(
        "{} ORDER BY bucket, session_id",
        session_costs_sql(&mut w, &bucket)
    );
    store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        let mut parts = Vec::new();
        while let Some(row) = rows.next().db()? {
            parts.push(SessionCost::new(
                codec::count(row, 0)?,
                codec::text(row, 1)?,
                Usd::from_nanos(codec::int(row, 2)?),
                codec::count(row, 3)?,
            ));
        }
        Ok(parts)
    })
}

/// The summaries of `q`'s traces (its range and scope), and the bucket of `width_ns` of
/// their start (all in one, 0, without), in SQL.
fn traces_of(q: &CostTallyQuery, width_ns: Option<u64>) -> (Where, String) {
    let mut w = Where::default();
    w.range("start_ns", &q.range);
    push_scope(&mut w, q, "");
    let bucket = width_ns.map_or_else(
        || "0".to_owned(),
        |width| {
            let width = i64::try_from(width).unwrap_or(i64::MAX);
            format!("start_ns / {width} * {width}")
        },
    );
    (w, bucket)
}

/// Each session's cost (`cost`) and unpriced calls (`unpriced`) by `bucket` over the traces
/// `w` selects (those of a session).
fn session_costs_sql(w: &mut Where, bucket: &str) -> String {
    w.push("session_id IS NOT NULL", []);
    format!(
        "SELECT {bucket} AS bucket, session_id, sum(coalesce(cost_total, 0)) AS cost, \
         sum(unpriced_count) AS unpriced FROM traces WHERE {} GROUP BY bucket, session_id",
        w.sql()
    )
}

/// `q`'s scope on the `service_name`, `agent_name` and `user_id` columns (of the table
/// `prefix` names: `""` or `"s."`), the traces' and the spans' alike.
fn push_scope(w: &mut Where, q: &CostTallyQuery, prefix: &str) {
    for (column, value) in [
        ("service_name", &q.service),
        ("agent_name", &q.agent),
        ("user_id", &q.user),
    ] {
        if let Some(v) = value {
            w.push(format!("{prefix}{column} = ?"), [Value::Text(v.clone())]);
        }
    }
}
