//! Queries answered from the rollups: [`Analytics::aggregate`](agentrace_store::Analytics::aggregate),
//! [`overview`](agentrace_store::Analytics::overview) and [`tools`](agentrace_store::Analytics::tools).

use agentrace_store::series::{SeriesLayout, align};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::LazyLock;

use agentrace_core::SpanKind;
use rusqlite::{Connection, params};

use super::exact_aggregate;
use crate::codec::{self, bound, from_sql};
use crate::error::Db;
use crate::span_rollups::key::{
    AGENT, FRAMEWORK, KEY_COLUMNS, KIND, Key, MCP_SERVER, OPERATION, PROVIDER, REQUEST_MODEL,
    RESPONSE_MODEL, SERVICE, TOOL,
};
use crate::span_rollups::measures::{COUNTERS, Measures, N};
use crate::span_rollups::{HOUR_NS, MINUTE_NS, Tier, ceil, floor};
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::{
    AggregateQuery, AggregateRow, GroupBy, GroupKey, Overview, RollupAnswer, RollupSource,
    SeriesPoint, SpanFilter, Summary, TOOL_GROUPS, TimeRange, ToolFailures, ToolsAnswer,
    tools_answer,
};

/// Buckets `[lo, hi)` of one tier (a missing bound is open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Part {
    pub(super) tier: Tier,
    pub(super) lo: Option<u64>,
    pub(super) hi: Option<u64>,
}

/// The rows answering an aligned range: with `hours`, its whole hours from the hour tier and
/// the minutes before and after from the minute tier; else everything from the minute tier.
pub(super) fn plan(range: TimeRange, hours: bool) -> Vec<Part> {
    let (from, to) = (range.start_unix_nano, range.end_unix_nano);
    let minutes = |lo, hi| Part {
        tier: Tier::Minute,
        lo,
        hi,
    };
    let whole_from = from.map(|f| ceil(f, HOUR_NS));
    let whole_to = to.map(|t| floor(t, HOUR_NS));
    if !hours || matches!((whole_from, whole_to), (Some(a), Some(b)) if a >= b) {
        return vec![minutes(from, to)];
    }
    let mut parts = vec![Part {
        tier: Tier::Hour,
        lo: whole_from,
        hi: whole_to,
    }];
    if let (Some(f), Some(w)) = (from, whole_from)
        && f < w
    {
        parts.push(minutes(Some(f), Some(w)));
    }
    if let (Some(t), Some(w)) = (to, whole_to)
        && w < t
    {
        parts.push(minutes(Some(w), Some(t)));
    }
    parts
}

/// Inclusive SQL bounds of a part's buckets.
pub(super) fn sql_bounds(p: &Part) -> (i64, i64) {
    (
        p.lo.map_or(i64::MIN, bound),
        p.hi.map_or(i64::MAX, |h| bound(h).saturating_sub(1)),
    )
}

static ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT bucket_ns, key_id, {}, duration_min, duration_max, histogram FROM rollups \
         WHERE tier = ?1 AND bucket_ns >= ?2 AND bucket_ns <= ?3",
        COUNTERS.join(", ")
    )
});

const ERRORS: &str = "SELECT key_id, error_type, pattern, count FROM rollup_errors \
     WHERE tier = ?1 AND bucket_ns >= ?2 AND bucket_ns <= ?3";

/// Reads rollup rows, decoding each key once.
struct Reader<'c> {
    conn: &'c Connection,
    keys: HashMap<i64, Key<String>>,
}

fn key<'k>(
    conn: &Connection,
    keys: &'k mut HashMap<i64, Key<String>>,
    id: i64,
) -> Result<&'k Key<String>, QueryError> {
    match keys.entry(id) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {KEY_COLUMNS} FROM rollup_keys AS k WHERE k.id = ?1"
                ))
                .db()?;
            let mut rows = stmt.query([id]).db()?;
            let Some(row) = rows.next().db()? else {
                return Err(QueryError::decode(
                    "rollup key",
                    format!("key {id} is missing"),
                ));
            };
            Ok(e.insert(Key::read(row, 0)?))
        }
    }
}

impl<'c> Reader<'c> {
    fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            keys: HashMap::new(),
        }
    }

    /// Calls `f` with every row in `parts`: its bucket start, key and measures.
    fn rows(
        &mut self,
        parts: &[Part],
        mut f: impl FnMut(u64, &Key<String>, &Measures),
    ) -> Result<(), QueryError> {
        let mut stmt = self.conn.prepare_cached(&ROWS).db()?;
        for part in parts {
            let (lo, hi) = sql_bounds(part);
            let mut rows = stmt.query(params![part.tier.to_sql(), lo, hi]).db()?;
            while let Some(row) = rows.next().db()? {
                let mut m = Measures::default();
                for (i, c) in m.counters.iter_mut().enumerate() {
                    *c = codec::int(row, 2 + i)?;
                }
                m.min = codec::int(row, 2 + N)?;
                m.max = codec::int(row, 3 + N)?;
                let blob = row.get_ref(4 + N).db()?;
                let blob = blob
                    .as_blob()
                    .map_err(|e| QueryError::decode("duration histogram", e))?;
                m.hist
                    .merge_encoded(blob)
                    .map_err(|e| QueryError::decode("duration histogram", e))?;
                let bucket = from_sql(codec::int(row, 0)?);
                f(
                    bucket,
                    key(self.conn, &mut self.keys, codec::int(row, 1)?)?,
                    &m,
                );
            }
        }
        Ok(())
    }

    /// Calls `f` with every error row in `parts`: its key, type, pattern and count.
    fn errors(
        &mut self,
        parts: &[Part],
        mut f: impl FnMut(&Key<String>, Option<String>, Option<String>, i64),
    ) -> Result<(), QueryError> {
        let mut stmt = self.conn.prepare_cached(ERRORS).db()?;
        for part in parts {
            let (lo, hi) = sql_bounds(part);
            let mut rows = stmt.query(params![part.tier.to_sql(), lo, hi]).db()?;
            while let Some(row) = rows.next().db()? {
                let non_empty = |i| -> Result<Option<String>, QueryError> {
                    Ok(codec::opt_text(row, i)?.filter(|t| !t.is_empty()))
                };
                let (error_type, pattern) = (non_empty(1)?, non_empty(2)?);
                let n = codec::int(row, 3)?;
                f(
                    key(self.conn, &mut self.keys, codec::int(row, 0)?)?,
                    error_type,
                    pattern,
                    n,
                );
            }
        }
        Ok(())
    }

    /// The first and last minute with spans in `range`, if any.
    fn extent(&self, range: TimeRange) -> Result<Option<(u64, u64)>, QueryError> {
        let (lo, hi) = sql_bounds(&Part {
            tier: Tier::Minute,
            lo: range.start_unix_nano,
            hi: range.end_unix_nano,
        });
        let one = |agg: &str| -> Result<Option<i64>, QueryError> {
            self.conn
                .prepare_cached(&format!(
                    "SELECT {agg}(bucket_ns) FROM rollups WHERE tier = ?1 \
                     AND bucket_ns >= ?2 AND bucket_ns <= ?3"
                ))
                .db()?
                .query_row(params![Tier::Minute.to_sql(), lo, hi], |r| r.get(0))
                .db()
                .map_err(QueryError::from)
        };
        Ok(match (one("min")?, one("max")?) {
            (Some(first), Some(last)) => Some((from_sql(first), from_sql(last))),
            _ => None,
        })
    }
}

/// Whether the rollups answer `filter` grouped by `group_by`.
fn covered(filter: &SpanFilter, group_by: &[GroupBy]) -> Result<bool, QueryError> {
    let SpanFilter {
        range: _,
        trace_id,
        service: _,
        kind: _,
        model: _,
        provider: _,
        agent: _,
        session,
        user,
        framework: _,
        tool: _,
        mcp_server: _,
        status,
        min_duration_ns,
        name_contains,
        billable: _,
        resource_attribute,
    } = filter;
    if trace_id.is_some()
        || resource_attribute.is_some()
        || session.is_some()
        || user.is_some()
        || status.is_some()
        || min_duration_ns.is_some()
        || name_contains.is_some()
    {
        return Ok(false);
    }
    for g in group_by {
        match g {
            GroupBy::TimeBucket { width_ns: 0 } => {
                return Err(QueryError::Invalid(
                    "a time bucket must be at least 1 ns wide".into(),
                ));
            }
            GroupBy::TimeBucket { width_ns } if width_ns % MINUTE_NS != 0 => return Ok(false),
            GroupBy::Session | GroupBy::User | GroupBy::Attribute(_) => return Ok(false),
            GroupBy::TimeBucket { .. }
            | GroupBy::Model
            | GroupBy::Provider
            | GroupBy::Agent
            | GroupBy::Framework
            | GroupBy::Kind
            | GroupBy::Service
            | GroupBy::Tool
            | GroupBy::Operation
            | GroupBy::McpServer => {}
        }
    }
    Ok(true)
}

/// Whether the spans of a row with `key` match a [`covered`] filter.
fn matches(filter: &SpanFilter, key: &Key<String>) -> bool {
    let eq =
        |want: &Option<String>, dim: usize| want.as_deref().is_none_or(|w| key.dim(dim) == Some(w));
    eq(&filter.service, SERVICE)
        && filter
            .kind
            .is_none_or(|k| key.dim(KIND) == Some(k.as_str()))
        && filter
            .model
            .as_deref()
            .is_none_or(|m| key.dim(REQUEST_MODEL) == Some(m) || key.dim(RESPONSE_MODEL) == Some(m))
        && eq(&filter.provider, PROVIDER)
        && eq(&filter.agent, AGENT)
        && eq(&filter.framework, FRAMEWORK)
        && eq(&filter.tool, TOOL)
        && eq(&filter.mcp_server, MCP_SERVER)
        && filter.billable.is_none_or(|b| key.billable == b)
}

fn text_key(key: &Key<String>, dim: usize) -> GroupKey {
    key.dim(dim)
        .map_or(GroupKey::None, |v| GroupKey::Value(v.to_owned()))
}

/// The group of a row for one dimension.
fn group_key(g: GroupBy, bucket: u64, key: &Key<String>) -> GroupKey {
    match g {
        GroupBy::Model => match key.dim(RESPONSE_MODEL) {
            Some(m) => GroupKey::Value(m.to_owned()),
            None => text_key(key, REQUEST_MODEL),
        },
        GroupBy::Provider => text_key(key, PROVIDER),
        GroupBy::Agent => text_key(key, AGENT),
        GroupBy::Framework => text_key(key, FRAMEWORK),
        GroupBy::Kind => text_key(key, KIND),
        GroupBy::Service => text_key(key, SERVICE),
        GroupBy::Tool => text_key(key, TOOL),
        GroupBy::Operation => text_key(key, OPERATION),
        GroupBy::McpServer => text_key(key, MCP_SERVER),
        // Not covered: never asked of the rollups.
        GroupBy::Session | GroupBy::User | GroupBy::Attribute(_) => GroupKey::None,
        GroupBy::TimeBucket { width_ns } => GroupKey::Bucket(floor(bucket, width_ns.max(1))),
    }
}

/// Rows grouped from the rollups, and the total.
fn grouped(
    conn: &Connection,
    filter: &SpanFilter,
    group_by: &[GroupBy],
) -> Result<(Vec<AggregateRow>, AggregateRow), QueryError> {
    let hours = group_by.iter().all(|g| match g {
        GroupBy::TimeBucket { width_ns } => width_ns % HOUR_NS == 0,
        _ => true,
    });
    let mut groups: HashMap<Vec<GroupKey>, Measures> = HashMap::new();
    let mut total = Measures::default();
    Reader::new(conn).rows(&plan(filter.range, hours), |bucket, key, m| {
        if !matches(filter, key) {
            return;
        }
        let keys = group_by
            .iter()
            .map(|g| group_key(*g, bucket, key))
            .collect();
        groups.entry(keys).or_default().merge(m, true);
        total.merge(m, true);
    })?;
    let mut rows: Vec<_> = groups
        .into_iter()
        .filter(|(_, m)| m.spans() > 0)
        .map(|(keys, m)| m.row(keys))
        .collect();
    rows.sort_by(AggregateRow::key_order);
    Ok((rows, total.row(Vec::new())))
}

/// The running totals of one series point.
#[derive(Debug, Default)]
struct Point {
    all: Measures,
    llm: Measures,
}

/// Traces starting in the aligned `range`, from `trace_rollups` (see `crate::trace_rollups`):
/// their counts are exact in every row, stale or not.
fn count_traces_rolled_up(conn: &Connection, range: TimeRange) -> Result<u64, QueryError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT coalesce(sum(traces), 0) FROM trace_rollups \
             WHERE tier = ?1 AND bucket_ns >= ?2 AND bucket_ns <= ?3",
        )
        .db()?;
    let mut traces = 0u64;
    for part in plan(range, true) {
        let (lo, hi) = sql_bounds(&part);
        let n: i64 = stmt
            .query_row(params![part.tier.to_sql(), lo, hi], |r| r.get(0))
            .db()?;
        traces = traces.saturating_add(u64::try_from(n).unwrap_or(0));
    }
    Ok(traces)
}

pub(super) fn overview(
    conn: &Connection,
    range: TimeRange,
    bucket_ns: Option<u64>,
) -> Result<Overview, QueryError> {
    let mut reader = Reader::new(conn);
    let span = match (range.start_unix_nano, range.end_unix_nano) {
        (Some(s), Some(e)) => Some((s, e)),
        _ => reader.extent(range)?.map(|(first, last)| {
            (
                range.start_unix_nano.unwrap_or(first),
                range
                    .end_unix_nano
                    .unwrap_or_else(|| last.saturating_add(MINUTE_NS)),
            )
        }),
    };
    let layout = SeriesLayout::of(span, bucket_ns)?;
    let (width, series_start, points) = (layout.width_ns, layout.start_unix_nano, layout.points);
    let mut series: Vec<Point> = (0..points).map(|_| Point::default()).collect();
    let mut all = Measures::default();
    let mut llm = Measures::default();
    let mut by_model: HashMap<String, Measures> = HashMap::new();
    let mut by_agent: HashMap<Option<String>, Measures> = HashMap::new();
    let parts = plan(range, width.is_multiple_of(HOUR_NS));
    reader.rows(&parts, |bucket, key, m| {
        // An LLM call is billable; an aggregate (one reporting its steps') is a span, not a
        // call, and never billable.
        let is_llm = key.dim(KIND) == Some(SpanKind::Llm.as_str()) && key.billable;
        all.merge(m, false);
        if is_llm {
            llm.merge(m, true);
        }
        if key.billable {
            let model = key.dim(RESPONSE_MODEL).or(key.dim(REQUEST_MODEL));
            if let Some(model) = model {
                by_model.entry(model.to_owned()).or_default().merge(m, true);
            }
            by_agent
                .entry(key.dim(AGENT).map(str::to_owned))
                .or_default()
                .merge(m, true);
        }
        let i = bucket.checked_sub(series_start).map(|d| d / width);
        if let Some(p) = i
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| series.get_mut(i))
        {
            p.all.merge(m, false);
            if is_llm {
                p.llm.merge(m, true);
            }
        }
    })?;
    let rows = |groups: Vec<(GroupKey, Measures)>| {
        let mut rows: Vec<_> = groups
            .into_iter()
            .filter(|(_, m)| m.spans() > 0)
            .map(|(k, m)| m.row(vec![k]))
            .collect();
        AggregateRow::sort_by_cost(&mut rows);
        rows
    };
    let totals = all.row(Vec::new());
    let (requests, errors) = (llm.spans(), llm.errors());
    let summary = Summary {
        range,
        traces: count_traces_rolled_up(conn, range)?,
        spans: totals.count,
        span_errors: totals.errors,
        requests,
        errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        latency: (requests > 0).then(|| llm.percentiles()),
        usage: totals.usage,
        cost: totals.cost,
        priced: totals.priced,
        unpriced: totals.unpriced,
        unpriced_usage: totals.unpriced_usage,
        by_model: rows(
            by_model
                .into_iter()
                .map(|(k, m)| (GroupKey::Value(k), m))
                .collect(),
        ),
        by_agent: rows(
            by_agent
                .into_iter()
                .map(|(k, m)| (k.map_or(GroupKey::None, GroupKey::Value), m))
                .collect(),
        ),
    };
    let series = series
        .into_iter()
        .zip(0u64..)
        .map(|(p, i)| SeriesPoint {
            start_unix_nano: series_start + i * width,
            spans: p.all.spans(),
            span_errors: p.all.errors(),
            requests: p.llm.spans(),
            errors: p.llm.errors(),
            latency: (p.llm.spans() > 0).then(|| p.llm.percentiles()),
            usage: p.all.usage(),
            cost: p.all.cost(),
            unpriced: p.all.unpriced(),
        })
        .collect();
    Ok(Overview {
        summary,
        bucket_ns: width,
        series,
    })
}

pub(super) fn tools(
    conn: &Connection,
    range: TimeRange,
    n: usize,
    bucket_ns: Option<u64>,
) -> Result<ToolsAnswer, QueryError> {
    let filter = SpanFilter::new().range(range).kind(SpanKind::Tool);
    let (rows, _) = grouped(conn, &filter, &TOOL_GROUPS)?;
    let points = match bucket_ns {
        Some(width_ns) => {
            let [server, tool] = TOOL_GROUPS;
            grouped(
                conn,
                &filter,
                &[server, tool, GroupBy::TimeBucket { width_ns }],
            )?
            .0
        }
        None => Vec::new(),
    };
    let mut failures = ToolFailures::default();
    Reader::new(conn).errors(&plan(range, true), |key, error_type, pattern, count| {
        if key.dim(KIND) == Some(SpanKind::Tool.as_str()) {
            let text = |dim| key.dim(dim).map(str::to_owned);
            failures.add((text(MCP_SERVER), text(TOOL)), error_type, pattern, count);
        }
    })?;
    Ok(tools_answer(range, None, rows, points, failures, n))
}

/// Aggregates like [`aggregate`](Self::aggregate), over the query's range widened to whole
/// minutes, in milliseconds whatever the number of spans: from the rollup tables when they
/// cover the query, else (and [`RollupAnswer::source`] says so) from the spans.
///
/// The rollups cover filters on the time range, service, kind, model, provider, agent,
/// framework, tool, MCP server and billable, grouped by any of model, provider, agent,
/// framework, kind, service, tool, operation, MCP server and time buckets of whole minutes (not sessions nor users,
/// whose numbers would make the rollups as large as the spans). Counts, tokens and costs
/// are exact; duration percentiles are within 3.2 % (they are exact from the spans).
pub(super) fn rollup(store: &SqliteStore, q: &AggregateQuery) -> Result<RollupAnswer, QueryError> {
    let mut filter = q.filter.clone();
    filter.range = align(filter.range);
    let covered = covered(&filter, &q.group_by)?;
    let (source, (rows, total)) = store.snapshot(|conn| {
        if covered {
            Ok((RollupSource::Rollups, grouped(conn, &filter, &q.group_by)?))
        } else {
            let rows = exact_aggregate(conn, &filter, &q.group_by)?;
            let total = exact_aggregate(conn, &filter, &[])?
                .pop()
                .unwrap_or_else(|| Measures::default().row(Vec::new()));
            Ok((RollupSource::Spans, (rows, total)))
        }
    })?;
    Ok(RollupAnswer {
        range: filter.range,
        source,
        rows,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrace_store::series::auto_width;

    const H: u64 = HOUR_NS;
    const M: u64 = MINUTE_NS;

    fn part(tier: Tier, lo: Option<u64>, hi: Option<u64>) -> Part {
        Part { tier, lo, hi }
    }

    #[test]
    fn plans_read_whole_hours_from_the_hour_tier() {
        let r = |s, e| TimeRange::new(s, e);
        assert_eq!(
            plan(r(10 * H - 5 * M, 13 * H + 2 * M), true),
            vec![
                part(Tier::Hour, Some(10 * H), Some(13 * H)),
                part(Tier::Minute, Some(10 * H - 5 * M), Some(10 * H)),
                part(Tier::Minute, Some(13 * H), Some(13 * H + 2 * M)),
            ]
        );
        assert_eq!(
            plan(r(10 * H + M, 10 * H + 30 * M), true),
            vec![part(Tier::Minute, Some(10 * H + M), Some(10 * H + 30 * M))]
        );
        assert_eq!(
            plan(r(10 * H, 12 * H), false),
            vec![part(Tier::Minute, Some(10 * H), Some(12 * H))]
        );
        assert_eq!(
            plan(TimeRange::ALL, true),
            vec![part(Tier::Hour, None, None)]
        );
        assert_eq!(
            plan(TimeRange::since(10 * H + M), true),
            vec![
                part(Tier::Hour, Some(11 * H), None),
                part(Tier::Minute, Some(10 * H + M), Some(11 * H)),
            ]
        );
    }

    #[test]
    fn ranges_widen_to_whole_minutes() {
        assert_eq!(
            align(TimeRange::new(M + 1, 3 * M - 1)),
            TimeRange::new(M, 3 * M)
        );
        assert_eq!(align(TimeRange::new(M, 3 * M)), TimeRange::new(M, 3 * M));
        assert_eq!(align(TimeRange::ALL), TimeRange::ALL);
        assert_eq!(
            align(TimeRange::until(u64::MAX)).end_unix_nano,
            Some(u64::MAX)
        );
    }

    #[test]
    fn automatic_widths_give_at_most_sixty_points() {
        assert_eq!(auto_width(0), M);
        assert_eq!(auto_width(H), M);
        assert_eq!(auto_width(H + 1), 5 * M);
        assert_eq!(auto_width(24 * H), H);
        assert_eq!(auto_width(30 * 24 * H), 24 * H);
        let long = auto_width(1_000 * 24 * H);
        assert!(long.is_multiple_of(24 * H) && (1_000 * 24 * H).div_ceil(long) <= 60);
    }
}
