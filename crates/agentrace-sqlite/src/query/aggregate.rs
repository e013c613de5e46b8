//! Aggregates: grouped counts, error counts, duration percentiles, tokens and cost; the
//! overview summary; sessions.

use std::cmp::Reverse;

use agentrace_core::{SpanKind, TokenUsage};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::filter::{self, Where};
use crate::codec::{self, BILLABLE_SQL, STATUS_ERROR, UNPRICED_SQL, from_sql};
use crate::error::{Db, QueryError};
use crate::model::{
    AggregateQuery, AggregateRow, GroupBy, GroupKey, Percentiles, SessionSummary, SpanFilter,
    Summary, TimeRange,
};
use crate::store::SqliteStore;

/// The SQL expression of a grouping dimension over `spans` aliased `s`.
fn group_expr(g: GroupBy) -> Result<String, QueryError> {
    Ok(match g {
        GroupBy::Model => "coalesce(s.response_model, s.request_model)".to_owned(),
        GroupBy::Provider => "s.provider".to_owned(),
        GroupBy::Agent => "s.agent_name".to_owned(),
        GroupBy::Framework => "s.framework".to_owned(),
        GroupBy::Kind => "s.kind".to_owned(),
        GroupBy::Service => "s.service_name".to_owned(),
        GroupBy::Tool => "s.tool_name".to_owned(),
        GroupBy::Operation => "s.operation".to_owned(),
        GroupBy::Session => "s.session_id".to_owned(),
        GroupBy::User => "s.user_id".to_owned(),
        GroupBy::TimeBucket { width_ns: 0 } => {
            return Err(QueryError::Invalid(
                "a time bucket must be at least 1 ns wide".into(),
            ));
        }
        GroupBy::TimeBucket { width_ns } => {
            // An integer we produce, so inlining it is safe.
            let w = codec::bound(width_ns);
            format!("(s.start_ns / {w}) * {w}")
        }
    })
}

/// Token sums (`TOTAL`, which never fails on overflow) and cost columns (`SUM`, exact), for
/// a `spans` row aliased `s`.
const TOTALS: &str = "total(s.input_tokens), total(s.output_tokens), \
     total(s.cache_read_tokens), total(s.cache_write_tokens), total(s.reasoning_tokens)";

fn usage(row: &Row<'_>, first: usize) -> Result<TokenUsage, QueryError> {
    Ok(TokenUsage {
        input_tokens: codec::count(row, first)?,
        output_tokens: codec::count(row, first + 1)?,
        cache_read_tokens: codec::count(row, first + 2)?,
        cache_write_tokens: codec::count(row, first + 3)?,
        reasoning_tokens: codec::count(row, first + 4)?,
    })
}

/// Aggregates the spans matching `filter` (and `extra`, an SQL condition on `s`).
fn aggregate(
    conn: &Connection,
    filter: &SpanFilter,
    group_by: &[GroupBy],
    extra: Option<&str>,
) -> Result<Vec<AggregateRow>, QueryError> {
    let mut w = Where::default();
    filter::spans(&mut w, filter);
    if let Some(extra) = extra {
        w.push(extra, []);
    }
    let exprs = group_by
        .iter()
        .map(|g| group_expr(*g))
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<String> = (0..exprs.len()).map(|i| format!("g{i}")).collect();
    let key_select: String = exprs
        .iter()
        .zip(&keys)
        .map(|(e, k)| format!("{e} AS {k}, "))
        .collect();
    let key_list = keys.join(", ");
    let partition = if keys.is_empty() {
        String::new()
    } else {
        format!("PARTITION BY {key_list}")
    };
    let (group, order, key_out) = if keys.is_empty() {
        (String::new(), String::new(), String::new())
    } else {
        let order: Vec<String> = keys.iter().map(|k| format!("{k} IS NULL, {k}")).collect();
        (
            format!("GROUP BY {key_list}"),
            format!("ORDER BY {}", order.join(", ")),
            format!("{key_list}, "),
        )
    };
    let percentile = |p: u32| format!("max(CASE WHEN rn <= ({p} * n + 99) / 100 THEN d END)");
    // One sort serves both window functions: same partition, same order.
    let sql = format!(
        "WITH f AS (
            SELECT {key_select}s.duration_ns AS d, s.status_code = {STATUS_ERROR} AS e,
                   s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens,
                   s.reasoning_tokens, s.cost_total, {UNPRICED_SQL} AS u
            FROM spans AS s WHERE {where_sql}
        ), r AS (
            SELECT f.*,
                   row_number() OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rn,
                   count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
            FROM f WINDOW w AS ({partition} ORDER BY d)
        )
        SELECT {key_out}count(*), sum(e), {p50}, {p95}, {p99}, {totals}, sum(s.cost_total),
               count(s.cost_total), sum(u)
        FROM r AS s {group} {order}",
        where_sql = w.sql(),
        p50 = percentile(50),
        p95 = percentile(95),
        p99 = percentile(99),
        totals = TOTALS,
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
    let mut out = Vec::new();
    let k = group_by.len();
    while let Some(row) = rows.next().db()? {
        let count = codec::count(row, k)?;
        if count == 0 {
            continue;
        }
        let mut keys = Vec::with_capacity(k);
        for (i, g) in group_by.iter().enumerate() {
            keys.push(match g {
                GroupBy::TimeBucket { .. } => match codec::opt_int(row, i)? {
                    Some(start) => GroupKey::Bucket(from_sql(start)),
                    None => GroupKey::None,
                },
                _ => match codec::opt_text(row, i)? {
                    Some(value) => GroupKey::Value(value),
                    None => GroupKey::None,
                },
            });
        }
        out.push(AggregateRow {
            keys,
            count,
            errors: codec::count(row, k + 1)?,
            duration: Percentiles {
                p50_ns: from_sql(codec::int(row, k + 2)?),
                p95_ns: from_sql(codec::int(row, k + 3)?),
                p99_ns: from_sql(codec::int(row, k + 4)?),
            },
            usage: usage(row, k + 5)?,
            cost: codec::opt_usd(row, k + 10)?,
            priced: codec::count(row, k + 11)?,
            unpriced: codec::count(row, k + 12)?,
        });
    }
    Ok(out)
}

/// Costliest first, then busiest.
fn by_cost(rows: &mut [AggregateRow]) {
    rows.sort_by_key(|r| (Reverse(r.cost), Reverse(r.count)));
}

impl SqliteStore {
    /// Spans matching the query's filter, grouped by its dimensions: counts, errors,
    /// nearest-rank duration percentiles, tokens and cost. Rows come sorted by key (missing
    /// values last); groups without spans are absent.
    pub fn aggregate(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, QueryError> {
        self.read(|conn| aggregate(conn, &q.filter, &q.group_by, None))
    }

    /// The overview of a time range, all figures from one consistent snapshot.
    pub fn summary(&self, range: TimeRange) -> Result<Summary, QueryError> {
        self.read(|conn| {
            conn.execute_batch("BEGIN").db()?;
            let summary = summary(conn, range);
            // Ending a read transaction cannot lose anything; a failure leaves the connection
            // out of the pool (it is not in autocommit mode).
            let _ = conn.execute_batch("COMMIT");
            summary
        })
    }

    /// Sessions active in `range` (by span start), most recently active first.
    pub fn sessions(
        &self,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<SessionSummary>, QueryError> {
        let mut w = Where::default();
        w.range("s.start_ns", &range);
        w.push("s.session_id IS NOT NULL", []);
        let sql = format!(
            "SELECT s.session_id, count(DISTINCT s.trace_id), count(*),
                    sum(s.status_code = {STATUS_ERROR}), {TOTALS}, sum(s.cost_total),
                    sum({UNPRICED_SQL}), min(s.start_ns), max(s.end_ns), max(s.user_id)
             FROM spans AS s WHERE {}
             GROUP BY s.session_id ORDER BY max(s.end_ns) DESC, s.session_id LIMIT ?",
            w.sql()
        );
        w.params
            .push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql).db()?;
            let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().db()? {
                out.push(SessionSummary {
                    session_id: codec::text(row, 0)?,
                    traces: codec::count(row, 1)?,
                    spans: codec::count(row, 2)?,
                    errors: codec::count(row, 3)?,
                    usage: usage(row, 4)?,
                    cost: codec::opt_usd(row, 9)?,
                    unpriced: codec::count(row, 10)?,
                    first_seen_unix_nano: from_sql(codec::int(row, 11)?),
                    last_seen_unix_nano: from_sql(codec::int(row, 12)?),
                    user_id: codec::opt_text(row, 13)?,
                });
            }
            Ok(out)
        })
    }
}

fn summary(conn: &Connection, range: TimeRange) -> Result<Summary, QueryError> {
    let all = SpanFilter::new().range(range);
    let mut w = Where::default();
    filter::spans(&mut w, &all);
    let sql = format!(
        "SELECT count(*), sum(s.status_code = {STATUS_ERROR}), {TOTALS}, sum(s.cost_total),
                count(s.cost_total), sum({UNPRICED_SQL})
         FROM spans AS s WHERE {}",
        w.sql()
    );
    let (spans, span_errors, usage, cost, priced, unpriced) = {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        match rows.next().db()? {
            Some(row) => (
                codec::count(row, 0)?,
                codec::count(row, 1)?,
                usage(row, 2)?,
                codec::opt_usd(row, 7)?,
                codec::count(row, 8)?,
                codec::count(row, 9)?,
            ),
            None => (0, 0, TokenUsage::default(), None, 0, 0),
        }
    };
    let mut tw = Where::default();
    tw.range("t.start_ns", &range);
    let traces = {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM traces AS t WHERE {}",
                tw.sql()
            ))
            .db()?;
        let mut rows = stmt.query(params_from_iter(&tw.params)).db()?;
        match rows.next().db()? {
            Some(row) => codec::count(row, 0)?,
            None => 0,
        }
    };
    let llm = aggregate(conn, &all.clone().kind(SpanKind::Llm), &[], None)?;
    let (requests, errors, latency) = match llm.first() {
        Some(r) => (r.count, r.errors, Some(r.duration)),
        None => (0, 0, None),
    };
    let model_billable =
        format!("coalesce(s.response_model, s.request_model) IS NOT NULL AND {BILLABLE_SQL}");
    let mut by_model = aggregate(conn, &all, &[GroupBy::Model], Some(&model_billable))?;
    by_cost(&mut by_model);
    let mut by_agent = aggregate(conn, &all, &[GroupBy::Agent], Some(BILLABLE_SQL))?;
    by_cost(&mut by_agent);
    Ok(Summary {
        range,
        traces,
        spans,
        span_errors,
        requests,
        errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        latency,
        usage,
        cost,
        priced,
        unpriced,
        by_model,
        by_agent,
    })
}
