//! The trace list and the trace tree.

use agentrace_core::{SpanId, SpanRecord, TraceId, Usd};
use agentrace_store::{
    CostTally, CostTallyQuery, CostUnit, Cursor, QueryError, SCORE_KEY_SCALE, ScoreCondition,
    SessionCost, TimeRange, TraceDetail, TraceFilter, TraceOrder, TracePage, TraceSort,
    TraceSummary, TraceTree, check_bucket_width,
};
use clickhouse::Row;
use serde::Deserialize;

use super::list_page::PageStart;
use super::{TOTALS, Totals};
use crate::error;
use crate::row::SpanRow;
use crate::sql::{self, Param, SpanFields, Where};
use crate::store::ClickHouseStore;

/// A trace's summary: [`TOTALS`] and its head span (its root if received, else its earliest
/// span), grouped by `trace_id`. The head's session, agent and user, else the earliest
/// span's that has one.
const SUMMARY: &str = "trace_id, \
     argMin(span_id, (isNotNull(parent_span_id), start)) AS root_span_id, \
     argMin(name, (isNotNull(parent_span_id), start)) AS root_name, \
     toUInt8(countIf(isNull(parent_span_id)) > 0) AS has_root, \
     CAST(argMin(service_name, (isNotNull(parent_span_id), start)) AS String) AS service, \
     toUnixTimestamp64Nano(min(start)) AS start_ns, \
     toUnixTimestamp64Nano(max(end)) AS end_ns, \
     CAST(coalesce(argMin(session_id, (isNotNull(parent_span_id), start)), \
        argMinIf(session_id, start, isNotNull(session_id))) AS Nullable(String)) AS head_session, \
     CAST(coalesce(argMin(agent_name, (isNotNull(parent_span_id), start)), \
        argMinIf(agent_name, start, isNotNull(agent_name))) AS Nullable(String)) AS head_agent, \
     CAST(coalesce(argMin(user_id, (isNotNull(parent_span_id), start)), \
        argMinIf(user_id, start, isNotNull(user_id))) AS Nullable(String)) AS head_user";

/// A row of a trace list: the summary, its list time and the value it is ordered by.
#[derive(Debug, Row, Deserialize)]
struct TraceRow {
    trace_id: [u8; 16],
    root_span_id: [u8; 8],
    root_name: String,
    has_root: u8,
    service: String,
    start_ns: i64,
    end_ns: i64,
    head_session: Option<String>,
    head_agent: Option<String>,
    head_user: Option<String>,
    span_count: u64,
    error_count: u64,
    sum_input: u64,
    sum_output: u64,
    sum_cache_read: u64,
    sum_cache_write: u64,
    sum_reasoning: u64,
    cost_nanos: i64,
    priced: u64,
    unpriced: u64,
    sort_key: i64,
    score_mean: Option<f64>,
}

impl TraceRow {
    fn totals(&self) -> Totals {
        Totals {
            span_count: self.span_count,
            error_count: self.error_count,
            sum_input: self.sum_input,
            sum_output: self.sum_output,
            sum_cache_read: self.sum_cache_read,
            sum_cache_write: self.sum_cache_write,
            sum_reasoning: self.sum_reasoning,
            cost_nanos: self.cost_nanos,
            priced: self.priced,
            unpriced: self.unpriced,
        }
    }

    fn summary(&self) -> TraceSummary {
        let totals = self.totals();
        let start = u64::try_from(self.start_ns).unwrap_or(0);
        let end = u64::try_from(self.end_ns).unwrap_or(0);
        TraceSummary {
            trace_id: TraceId::from_bytes(self.trace_id),
            root_span_id: SpanId::from_bytes(self.root_span_id),
            root_name: self.root_name.clone(),
            has_root: self.has_root == 1,
            service_name: self.service.clone(),
            start_unix_nano: start,
            end_unix_nano: end,
            duration_ns: end.saturating_sub(start),
            span_count: totals.span_count,
            error_count: totals.error_count,
            usage: totals.usage(),
            cost: totals.cost(),
            unpriced_count: totals.unpriced,
            session_id: self.head_session.clone(),
            agent_name: self.head_agent.clone(),
            user_id: self.head_user.clone(),
            score_mean: self.score_mean,
        }
    }
}

/// The value a trace list is ordered by, over the summary's columns.
fn sort_key(by: TraceSort) -> String {
    match by {
        TraceSort::Start => "list_ns".to_owned(),
        TraceSort::Duration => "(end_ns - start_ns)".to_owned(),
        TraceSort::Cost => "if(priced > 0, cost_nanos, -1)".to_owned(),
        TraceSort::Tokens => "toInt64(sum_input + sum_output)".to_owned(),
        TraceSort::Spans => "toInt64(span_count)".to_owned(),
        TraceSort::Errors => "toInt64(error_count)".to_owned(),
        // In millionths (held within the integers, as SQLite's cast does), the least value
        // for a trace whose scores of the name have none.
        TraceSort::Score => format!(
            "coalesce(toInt64(least(greatest(round(score_mean * {SCORE_KEY_SCALE}), -9.2e18), \
             9.2e18)), toInt64(-9223372036854775807) - 1)"
        ),
    }
}

/// The scores of `scope` (a project's: `project = …`) named as `score` says, as rows of
/// `scored_trace` and `scored_value`: those naming a trace, and those of a span naming none
/// with its trace looked up among the project's spans. (The columns are named apart from the
/// table's: an alias shadows a column of its name.)
fn scored_rows(scope: &str, score: &ScoreCondition, bounded: bool) -> Where {
    let mut of = Where::default();
    of.push(scope, []);
    of.push(
        "deleted = 0 AND name = ?",
        [Param::Text(score.name.clone())],
    );
    if bounded {
        for (condition, bound) in [
            ("value >= toFloat64(?)", score.min),
            ("value <= toFloat64(?)", score.max),
        ] {
            if let Some(b) = bound {
                of.push(condition, [Param::Text(b.to_string())]);
            }
        }
    }
    let of_sql = of.sql();
    let untraced = format!(
        "SELECT assumeNotNull(span_id) AS scored_span, value AS scored_value FROM scores FINAL \
         WHERE trace_id IS NULL AND span_id IS NOT NULL AND {of_sql}"
    );
    let mut rows = Where::default();
    rows.push(
        format!(
            "SELECT assumeNotNull(trace_id) AS scored_trace, value AS scored_value \
             FROM scores FINAL WHERE trace_id IS NOT NULL AND {of_sql} \
             UNION ALL SELECT sp.trace_id AS scored_trace, q.scored_value AS scored_value \
             FROM ({untraced}) AS q \
             INNER JOIN (SELECT span_id, any(trace_id) AS trace_id FROM spans WHERE {scope} \
              AND span_id IN (SELECT scored_span FROM ({untraced})) GROUP BY span_id) AS sp \
             ON sp.span_id = q.scored_span"
        ),
        std::iter::repeat_n(of.params, 3).flatten(),
    );
    rows
}

/// `q`'s scope (its service, agent and user) on the three `columns` that hold them.
pub(crate) fn push_scope(w: &mut Where, q: &CostTallyQuery, columns: [&str; 3]) {
    for (column, value) in columns.into_iter().zip([&q.service, &q.agent, &q.user]) {
        if let Some(v) = value {
            w.push(format!("{column} = ?"), [Param::Text(v.clone())]);
        }
    }
}

/// A cost objective's counts, as [`ClickHouseStore::cost_tally`] reads them.
#[derive(Debug, Row, Deserialize)]
struct TallyRow {
    bucket: u64,
    counted: u64,
    within: u64,
    unknown: u64,
}

/// A session's part of a bucket, as [`ClickHouseStore::session_costs_by_bucket`] reads it.
#[derive(Debug, Row, Deserialize)]
struct SessionCostRow {
    bucket: u64,
    session_id: String,
    cost: i64,
    unpriced: u64,
}

/// The summaries of the traces of `scope` (a project's) a cost objective's query `q` selects
/// (its range and scope), and what binds their parameters, in order.
fn cost_traces_sql(scope: &str, q: &CostTallyQuery) -> (String, [Where; 2]) {
    let (candidates, mut having) = starting_in(scope, &q.range);
    push_scope(&mut having, q, ["service", "head_agent", "head_user"]);
    let traces = format!(
        "SELECT {SUMMARY}, {TOTALS} FROM spans FINAL WHERE {} GROUP BY trace_id HAVING {}",
        candidates.sql(),
        having.sql()
    );
    (traces, [candidates, having])
}

/// The bucket of `width_ns` of a trace's start (all in one, 0, without), in SQL.
fn bucket_sql(width_ns: Option<u64>) -> String {
    width_ns.map_or_else(
        || "toUInt64(0)".to_owned(),
        |width| format!("intDiv(toUInt64(start_ns), {width}) * {width}"),
    )
}

/// Each session's cost (`unit_cost`) and unpriced calls (`unit_unpriced`) by `unit_bucket`
/// over the summaries `traces` (those of a session).
fn session_costs_sql(traces: &str, bucket: &str) -> String {
    format!(
        "SELECT {bucket} AS unit_bucket, assumeNotNull(head_session) AS unit_session, \
         sum(cost_nanos) AS unit_cost, sum(unpriced) AS unit_unpriced FROM ({traces}) \
         WHERE head_session IS NOT NULL GROUP BY unit_bucket, unit_session"
    )
}

/// The summaries `sums` (a [`trace_sums_sql`] or [`kept_sums_sql`] of `scope`, a project's:
/// `project = …`) with their list times and `key`.
/// `heads` selects the heads to join (by `trace_id`: those of the candidates, or `1`);
/// `score_means`, rows of `scored_trace` and `score_mean` to join as each trace's
/// `score_mean` (else `NULL`). (The joined tables have no column named `trace_id`: with two
/// joins, `s.*` would lose it.)
pub(crate) fn summaries_sql(
    scope: &str,
    sums: &str,
    heads: &str,
    key: &str,
    score_means: Option<&str>,
) -> String {
    let (score_mean, joined) = score_join(score_means);
    format!(
        "SELECT * EXCEPT (list_ns) FROM (SELECT s.*, \
         if(toUnixTimestamp64Nano(h.first_time) = 0, s.start_ns, \
         toUnixTimestamp64Nano(h.first_time)) AS list_ns, \
         toInt64({key}) AS sort_key, {score_mean} AS score_mean FROM \
         ({}) AS s \
         LEFT JOIN (SELECT trace_id AS head_trace, argMinMerge(list_time) AS first_time \
          FROM trace_heads WHERE {scope} AND {heads} GROUP BY trace_id) AS h \
          ON h.head_trace = s.trace_id\
         {joined})",
        sums
    )
}

/// Each trace's `score_mean` from `score_means` (rows of `scored_trace` and `score_mean`,
/// else `NULL`), and its join to the summaries `s`.
fn score_join(score_means: Option<&str>) -> (&'static str, String) {
    match score_means {
        Some(rows) => (
            "q.score_mean",
            format!(" LEFT JOIN ({rows}) AS q ON q.scored_trace = s.trace_id"),
        ),
        None => ("CAST(NULL AS Nullable(Float64))", String::new()),
    }
}

/// The summary of each trace of `scope` whose spans `candidates` selects, with the `HAVING`
/// conditions of `having`: [`summaries_sql`] without the list time, for what needs only sums.
pub(crate) fn trace_sums_sql(scope: &str, candidates: &str, having: &str) -> String {
    format!(
        "SELECT {SUMMARY}, {TOTALS} FROM spans FINAL WHERE {scope} AND {candidates} \
         GROUP BY trace_id HAVING {having}"
    )
}

/// The value of a kept summary's pick (`crate::schema`'s version 12: 16 bytes of rank, then
/// the value; `''` when no span named one).
macro_rules! picked {
    ($pick:literal) => {
        concat!("if(", $pick, " = '', NULL, substring(", $pick, ", 17))")
    };
}

/// The columns of [`trace_sums_sql`] that need no span, from the summaries `trace_summaries`
/// keeps, merged (`FINAL`), the start (`kept_start`) a range is checked on and the list time
/// (`list_ns`).
const KEPT_SUMS: &str = concat!(
    "trace_id, start AS kept_start, toUnixTimestamp64Nano(start) AS start_ns, \
     toUnixTimestamp64Nano(end) AS end_ns, \
     toInt64(bitAnd(list_key, 18446744073709551615)) AS list_ns, ",
    picked!("session_pick"),
    " AS head_session, ",
    picked!("agent_pick"),
    " AS head_agent, ",
    picked!("user_pick"),
    " AS head_user, \
     toUInt64(t_spans) AS span_count, toUInt64(t_errors) AS error_count, \
     toUInt64(t_input) AS sum_input, toUInt64(t_output) AS sum_output, \
     toUInt64(t_cache_read) AS sum_cache_read, toUInt64(t_cache_write) AS sum_cache_write, \
     toUInt64(t_reasoning) AS sum_reasoning, t_cost_nanos AS cost_nanos, \
     toUInt64(t_priced) AS priced, toUInt64(t_unpriced) AS unpriced"
);

/// The kept summaries of the traces of `scope` that `candidates` names (by `trace_id` only)
/// and `filter` keeps (conditions on the columns of [`KEPT_SUMS`]): one small merged row a
/// trace instead of its spans, without the head's id, name and service. A trace left by its
/// earliest span to retention is not among them (see `crate::schema`'s version 12).
pub(crate) fn kept_sums_sql(scope: &str, candidates: &str, filter: &str) -> String {
    format!(
        "SELECT * FROM (SELECT {KEPT_SUMS} FROM trace_summaries FINAL \
         WHERE {scope} AND {candidates}) WHERE {filter}"
    )
}

/// A page of the trace list in its own order (list time) over a range with an end, picked
/// from `trace_heads` alone: the traces starting in `range` (the earliest start of each, kept
/// by the view), newest (or oldest) first by list time, after the cursor's. One small row a
/// trace is read, not its spans. (A range without an end reads a page's worth of
/// `trace_list`: `super::list_page`.)
#[derive(Debug, Row, Deserialize)]
struct HeadPick {
    trace_id: [u8; 16],
}

fn heads_page_sql(scope: &str, range: &TimeRange, after: &str, dir: &str, limit: usize) -> String {
    let mut having = Where::default();
    having.range("min(start)", range);
    format!(
        "SELECT trace_id FROM (SELECT trace_id, \
         toInt64(toUnixTimestamp64Nano(argMinMerge(list_time))) AS sort_key \
         FROM trace_heads WHERE {scope} GROUP BY trace_id HAVING {}) WHERE {after} \
         ORDER BY sort_key {dir}, trace_id {dir} LIMIT {limit}",
        having.sql()
    )
}

/// A page of a trace list picked from the kept summaries: the traces `candidates` names,
/// `filter` keeps (conditions on [`kept_sums_sql`]'s columns), after the cursor's (`after`),
/// in the order of `key` (`dir`), with `score_means` joined (as [`summaries_sql`] takes them).
struct KeptPage<'a> {
    candidates: &'a Where,
    filter: &'a Where,
    key: &'a str,
    score_means: Option<&'a Where>,
    after: &'a Where,
    dir: &'a str,
}

/// The traces of `scope` (a project's: `project = …`) starting in `range`: the candidate spans
/// (`WHERE`: the project's traces with a span in the range, as a trace starting in it has its
/// earliest span there) and the check of each trace's own start (`HAVING`).
pub(crate) fn starting_in(scope: &str, range: &TimeRange) -> (Where, Where) {
    let mut candidates = Where::default();
    candidates.push(scope, []);
    if *range != TimeRange::ALL {
        let mut inner = Where::default();
        inner.push(scope, []);
        inner.range("start", range);
        candidates.push(
            format!(
                "trace_id IN (SELECT trace_id FROM spans WHERE {})",
                inner.sql()
            ),
            inner.params,
        );
    }
    (candidates, starts_in(range, "min(start)"))
}

/// The condition of a trace starting in `range`, its start being `start` (`min(start)` over
/// its spans, `kept_start` of its kept summary).
pub(crate) fn starts_in(range: &TimeRange, start: &str) -> Where {
    let mut condition = Where::default();
    condition.range(start, range);
    condition
}

impl ClickHouseStore {
    /// How many traces (or sessions) `q` selects in each bucket of `width_ns` of the traces'
    /// start, how many cost at most its threshold and how many have an unpriced call: the
    /// traces' summaries (as the trace list makes them) of the range, a session's summed.
    pub(crate) async fn cost_tally_by_bucket(
        &self,
        q: &CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        self.cost_tallies(q, Some(check_bucket_width(width_ns)?))
            .await
    }

    /// The tallies of `q` by bucket of `width_ns` (all in one, keyed 0, without).
    async fn cost_tallies(
        &self,
        q: &CostTallyQuery,
        width_ns: Option<u64>,
    ) -> Result<Vec<(u64, CostTally)>, QueryError> {
        if q.of == CostUnit::AgentRuns {
            return self.agent_run_tallies(q, width_ns).await;
        }
        let (traces, [candidates, having]) = cost_traces_sql(&self.scope(), q);
        let bucket = bucket_sql(width_ns);
        // Each unit's cost and unpriced calls, under names no input column has (an alias
        // naming a column would be read inside its own aggregate).
        let units = match q.of {
            CostUnit::Sessions => session_costs_sql(&traces, &bucket),
            _ => format!(
                "SELECT {bucket} AS unit_bucket, cost_nanos AS unit_cost, \
                 unpriced AS unit_unpriced FROM ({traces})"
            ),
        };
        let query = self.client().query(&format!(
            "SELECT unit_bucket AS bucket, count() AS counted, \
             countIf(unit_unpriced = 0 AND unit_cost <= {}) AS within, \
             countIf(unit_unpriced > 0) AS unknown FROM ({units}) \
             GROUP BY unit_bucket ORDER BY unit_bucket",
            q.threshold.nanos()
        ));
        let rows: Vec<TallyRow> = having
            .bind(candidates.bind(query))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    row.bucket,
                    CostTally::new(row.counted, row.within, row.unknown),
                )
            })
            .collect())
    }

    /// The cost of each session of `q` in each bucket of `width_ns` of its traces' start, from
    /// the traces' summaries (as [`cost_tally`](Self::cost_tally) reads them).
    pub(crate) async fn session_costs_by_bucket(
        &self,
        q: &CostTallyQuery,
        width_ns: u64,
    ) -> Result<Vec<SessionCost>, QueryError> {
        let (traces, [candidates, having]) = cost_traces_sql(&self.scope(), q);
        let bucket = bucket_sql(Some(check_bucket_width(width_ns)?));
        let query = self.client().query(&format!(
            "SELECT unit_bucket AS bucket, unit_session AS session_id, unit_cost AS cost, \
             unit_unpriced AS unpriced FROM ({}) ORDER BY bucket, session_id",
            session_costs_sql(&traces, &bucket)
        ));
        let rows: Vec<SessionCostRow> = having
            .bind(candidates.bind(query))
            .fetch_all()
            .await
            .map_err(error::query)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                SessionCost::new(
                    row.bucket,
                    row.session_id,
                    Usd::from_nanos(row.cost),
                    row.unpriced,
                )
            })
            .collect())
    }

    pub(crate) async fn list_traces_by(
        &self,
        filter: &TraceFilter,
        order: TraceOrder,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<TracePage, QueryError> {
        filter.check_order(order.by)?;
        // The list's own order over every trace of a range: its page comes from the heads.
        let by_heads = order.by == TraceSort::Start
            && *filter
                == (TraceFilter {
                    range: filter.range,
                    ..TraceFilter::default()
                });
        let scope = self.scope();
        // `having`: conditions on a trace's summary, checked on the spans' sums or the kept.
        let mut having = Where::default();
        let mut candidates = Where::default();
        if let Some(id) = filter.trace_id {
            candidates.push(format!("trace_id = {}", sql::trace_id(id)), []);
        }
        let mut heads = "1".to_owned();
        sql::status(
            &mut having,
            filter.status,
            "error_count > 0",
            "error_count = 0",
        );
        if let Some(d) = filter.min_duration_ns {
            having.push(
                format!(
                    "end_ns - start_ns >= {}",
                    i64::try_from(d).unwrap_or(i64::MAX)
                ),
                [],
            );
        }
        // A filter on what some span holds narrows the candidates to the traces with such a
        // span (the head's session is some span's), before any trace is summed.
        if let Some(session) = &filter.session {
            candidates.push(
                format!(
                    "trace_id IN (SELECT trace_id FROM spans WHERE {scope} AND session_id = ?)"
                ),
                [Param::Text(session.clone())],
            );
            having.push("head_session = ?", [Param::Text(session.clone())]);
        }
        let mut some_span = Where::default();
        sql::span_fields(
            &mut some_span,
            &SpanFields {
                service: filter.service.as_ref(),
                kind: filter.kind.map(|k| k.as_str()),
                model: filter.model.as_ref(),
                agent: filter.agent.as_ref(),
                session: None,
                user: filter.user.as_ref(),
                name_contains: filter.name_contains.as_ref(),
            },
        );
        // Without a condition on some span, the page is picked from the kept summaries (one
        // small row a trace), else from the sums of the spans of the range's traces.
        let kept = some_span.is_empty();
        let mut span_having = Where::default();
        if !kept {
            candidates.push(
                format!(
                    "trace_id IN (SELECT trace_id FROM spans WHERE {scope} AND {})",
                    some_span.sql()
                ),
                some_span.params.clone(),
            );
            span_having.push(
                format!("countIf({}) > 0", some_span.sql()),
                some_span.params,
            );
        }
        if let Some(score) = &filter.score {
            let rows = scored_rows(&scope, score, true);
            candidates.push(
                format!("trace_id IN (SELECT scored_trace FROM ({}))", rows.sql()),
                rows.params,
            );
        }
        // The mean of each trace's scores of the name, shown and for the order by score.
        let score_means = filter.score.as_ref().map(|score| {
            let rows = scored_rows(&scope, score, false);
            let mut means = Where::default();
            means.push(
                format!(
                    "SELECT scored_trace, avg(scored_value) AS score_mean FROM ({}) \
                     GROUP BY scored_trace",
                    rows.sql()
                ),
                rows.params,
            );
            means
        });
        let key = sort_key(order.by);
        let (tag, cmp, dir) = order.cursor_tag();
        let mut after = Where::default();
        let mut position = None;
        if let Some(c) = cursor {
            let fields = sql::cursor_fields(c, tag, 2)?;
            let value = sql::number(c, &fields[0])?;
            let trace_id = sql::trace_id_field(c, &fields[1])?;
            after.push(
                format!(
                    "(sort_key, trace_id) {cmp} ({value}, {})",
                    sql::trace_id(trace_id)
                ),
                [],
            );
            position = Some((value, trace_id));
        }
        let want = limit.saturating_add(1);
        let mut picked = None;
        if by_heads {
            let ids: Vec<TraceId> = if filter.range.end_unix_nano.is_none() {
                let start = PageStart {
                    since: filter.range.start_unix_nano,
                    after: position,
                    newest_first: !order.ascending,
                };
                self.list_page(start, want).await?
            } else {
                let picked: Vec<HeadPick> = self
                    .client()
                    .query(&heads_page_sql(
                        &scope,
                        &filter.range,
                        &after.sql(),
                        dir,
                        want,
                    ))
                    .fetch_all()
                    .await
                    .map_err(error::query)?;
                picked
                    .iter()
                    .map(|p| TraceId::from_bytes(p.trace_id))
                    .collect()
            };
            picked = Some(ids);
        } else if kept {
            let mut kept_filter = starts_in(&filter.range, "kept_start");
            kept_filter.and(having.clone());
            let page = KeptPage {
                candidates: &candidates,
                filter: &kept_filter,
                key: &key,
                score_means: score_means.as_ref(),
                after: &after,
                dir,
            };
            picked = Some(self.kept_page(&page, want).await?);
        }
        if let Some(ids) = picked {
            // The page's traces summed from their spans, in the same order.
            if ids.is_empty() {
                return Ok(TracePage {
                    traces: Vec::new(),
                    next_cursor: None,
                });
            }
            heads = format!("trace_id IN ({})", sql::trace_ids(ids.iter()));
            candidates = Where::default();
            candidates.push(heads.clone(), []);
            having = Where::default();
        } else {
            let (mut in_range, mut range_having) = starting_in(&scope, &filter.range);
            in_range.and(candidates);
            candidates = in_range;
            range_having.and(having);
            range_having.and(span_having);
            having = range_having;
        }
        let sums = trace_sums_sql(&scope, &candidates.sql(), &having.sql());
        let query = format!(
            "{} WHERE {} ORDER BY sort_key {dir}, trace_id {dir} LIMIT {}",
            summaries_sql(
                &scope,
                &sums,
                &heads,
                &key,
                score_means.as_ref().map(Where::sql).as_deref()
            ),
            after.sql(),
            limit.saturating_add(1)
        );
        let mut q = self.client().query(&query);
        q = candidates.bind(q);
        q = having.bind(q);
        if let Some(means) = &score_means {
            q = means.bind(q);
        }
        let mut rows: Vec<TraceRow> = q.fetch_all().await.map_err(error::query)?;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| {
                sql::cursor(
                    tag,
                    &[
                        r.sort_key.to_string(),
                        TraceId::from_bytes(r.trace_id).to_string(),
                    ],
                )
            })
        } else {
            None
        };
        Ok(TracePage {
            traces: rows.iter().map(TraceRow::summary).collect(),
            next_cursor,
        })
    }

    /// The ids of the page `page` picks, at most `want`.
    async fn kept_page(
        &self,
        page: &KeptPage<'_>,
        want: usize,
    ) -> Result<Vec<TraceId>, QueryError> {
        let scope = self.scope();
        let sums = kept_sums_sql(&scope, &page.candidates.sql(), &page.filter.sql());
        let means = page.score_means.map(Where::sql);
        let (score_mean, joined) = score_join(means.as_deref());
        let (key, dir) = (page.key, page.dir);
        // The list time is the summary's own (`list_ns`): no heads to join.
        let query = format!(
            "SELECT trace_id FROM (SELECT s.trace_id AS trace_id, toInt64({key}) AS sort_key \
             FROM (SELECT s.*, {score_mean} AS score_mean FROM ({sums}) AS s{joined}) AS s) \
             WHERE {} ORDER BY sort_key {dir}, trace_id {dir} LIMIT {want}",
            page.after.sql(),
        );
        let mut q = page
            .filter
            .bind(page.candidates.bind(self.client().query(&query)));
        if let Some(means) = page.score_means {
            q = means.bind(q);
        }
        let picked: Vec<HeadPick> = q.fetch_all().await.map_err(error::query)?;
        Ok(picked
            .iter()
            .map(|p| TraceId::from_bytes(p.trace_id))
            .collect())
    }

    /// The summary of one trace.
    async fn trace_summary(&self, trace_id: TraceId) -> Result<Option<TraceSummary>, QueryError> {
        let one = format!("trace_id = {}", sql::trace_id(trace_id));
        let scope = self.scope();
        let query = summaries_sql(&scope, &trace_sums_sql(&scope, &one, "1"), &one, "0", None);
        let row: Option<TraceRow> = self
            .client()
            .query(&query)
            .fetch_optional()
            .await
            .map_err(error::query)?;
        Ok(row.map(|r| r.summary()))
    }

    pub(crate) async fn trace(
        &self,
        trace_id: TraceId,
        detail: TraceDetail,
    ) -> Result<Option<TraceTree>, QueryError> {
        let Some(summary) = self.trace_summary(trace_id).await? else {
            return Ok(None);
        };
        let mut spans = self
            .span_rows(&format!("trace_id = {}", sql::trace_id(trace_id)), "")
            .await?;
        if spans.is_empty() {
            return Ok(None);
        }
        if detail == TraceDetail::Outline {
            for s in &mut spans {
                s.attributes
                    .retain(|key, _| agentrace_store::OUTLINE_ATTRIBUTES.contains(&key));
                s.events.clear();
            }
        }
        Ok(Some(TraceTree::build(summary, spans)))
    }

    pub(crate) async fn span(
        &self,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> Result<Option<SpanRecord>, QueryError> {
        Ok(self
            .span_rows(
                &format!(
                    "trace_id = {} AND span_id = {}",
                    sql::trace_id(trace_id),
                    sql::span_id(span_id)
                ),
                "",
            )
            .await?
            .pop())
    }

    pub(crate) async fn turn_spans(
        &self,
        trace_id: TraceId,
    ) -> Result<Vec<SpanRecord>, QueryError> {
        let spans = self
            .span_rows(
                &format!(
                    "trace_id = {} AND (parent_span_id IS NULL OR kind = 'llm')",
                    sql::trace_id(trace_id)
                ),
                "",
            )
            .await?;
        let root = spans
            .iter()
            .filter(|s| s.parent_span_id.is_none())
            .min_by_key(|s| s.start_time_unix_nano);
        let llm = || {
            spans
                .iter()
                .filter(|s| s.kind == agentrace_core::SpanKind::Llm)
        };
        let first = llm().min_by_key(|s| s.start_time_unix_nano);
        let last = llm().max_by_key(|s| s.end_time_unix_nano);
        let mut out: Vec<SpanRecord> = Vec::new();
        for s in [root, first, last].into_iter().flatten() {
            if !out.iter().any(|o| o.span_id == s.span_id) {
                out.push(s.clone());
            }
        }
        Ok(out)
    }

    pub(crate) async fn last_llm_call_before(
        &self,
        trace_id: TraceId,
        parent: SpanId,
        ended_by_unix_nano: u64,
    ) -> Result<Option<SpanRecord>, QueryError> {
        Ok(self
            .span_rows(
                &format!(
                    "trace_id = {} AND parent_span_id = {} AND kind = 'llm' AND end <= {}",
                    sql::trace_id(trace_id),
                    sql::span_id(parent),
                    sql::time(ended_by_unix_nano)
                ),
                "ORDER BY end DESC LIMIT 1",
            )
            .await?
            .pop())
    }

    /// The spans `condition` selects (newest versions), decoded, `tail` after the `WHERE`.
    pub(crate) async fn span_rows(
        &self,
        condition: &str,
        tail: &str,
    ) -> Result<Vec<SpanRecord>, QueryError> {
        let rows: Vec<SpanRow> = self
            .client()
            .query(&format!(
                "SELECT ?fields FROM spans FINAL WHERE {} AND ({condition}) {tail}",
                self.scope()
            ))
            .fetch_all()
            .await
            .map_err(error::query)?;
        rows.into_iter()
            .map(|r| r.into_record().map_err(error::decode))
            .collect()
    }
}
