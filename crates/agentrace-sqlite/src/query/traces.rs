//! The trace list and the trace tree.

use agentrace_core::{SpanId, SpanRecord, TokenUsage, TraceId};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::filter::{self, Where, cursor, cursor_key, page_limit, split_i64};
use crate::codec::{self, ReadCache, SPAN_COLUMNS, from_sql};
use crate::deferred_index::TRACE_NO_OF_ID;
use crate::error::Db;
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::{
    Cursor, OUTLINE_ATTRIBUTES, TraceDetail, TraceFilter, TraceOrder, TracePage, TraceSort,
    TraceSummary, TraceTree,
};

const TRACE_COLUMNS: &str = "t.trace_id, t.root_span_id, t.root_name, t.has_root, \
     t.service_name, t.start_ns, t.end_ns, t.span_count, t.error_count, t.input_tokens, \
     t.output_tokens, t.cache_read_tokens, t.cache_write_tokens, t.reasoning_tokens, \
     t.cost_total, t.unpriced_count, t.session_id, t.agent_name, t.user_id, t.order_ns, \
     t.trace_no";

/// Index of `trace_no` in [`TRACE_COLUMNS`].
const TRACE_NO_COLUMN: usize = 20;
/// Index of the sort key a trace list selects after [`TRACE_COLUMNS`].
const SORT_COLUMN: usize = 21;
/// Index of the mean score a trace list selects after its sort key.
const SCORE_MEAN_COLUMN: usize = 22;

/// The SQL value a trace list is ordered by; `untraced_scores` as for
/// [`filter::score_key`].
fn sort_key(by: TraceSort, untraced_scores: bool) -> String {
    match by {
        TraceSort::Start => "t.order_ns".to_owned(),
        TraceSort::Duration => "(t.end_ns - t.start_ns)".to_owned(),
        TraceSort::Cost => "coalesce(t.cost_total, -1)".to_owned(),
        TraceSort::Tokens => "(t.input_tokens + t.output_tokens)".to_owned(),
        TraceSort::Spans => "t.span_count".to_owned(),
        TraceSort::Errors => "t.error_count".to_owned(),
        TraceSort::Score => filter::score_key(untraced_scores),
    }
}

fn summary(row: &Row<'_>) -> Result<TraceSummary, QueryError> {
    let start = from_sql(codec::int(row, 5)?);
    let end = from_sql(codec::int(row, 6)?);
    Ok(TraceSummary {
        trace_id: codec::trace_id(row, 0)?,
        root_span_id: codec::span_id(row, 1)?,
        root_name: codec::text(row, 2)?,
        has_root: codec::int(row, 3)? == 1,
        service_name: codec::text(row, 4)?,
        start_unix_nano: start,
        end_unix_nano: end,
        duration_ns: end.saturating_sub(start),
        span_count: codec::count(row, 7)?,
        error_count: codec::count(row, 8)?,
        usage: TokenUsage {
            input_tokens: from_sql(codec::int(row, 9)?),
            output_tokens: from_sql(codec::int(row, 10)?),
            cache_read_tokens: from_sql(codec::int(row, 11)?),
            cache_write_tokens: from_sql(codec::int(row, 12)?),
            // Trace summaries count cache writes; their one-hour share is kept per span only.
            cache_write_1h_tokens: 0,
            reasoning_tokens: codec::total_reasoning(from_sql(codec::int(row, 13)?)),
        },
        cost: codec::opt_usd(row, 14)?,
        unpriced_count: codec::count(row, 15)?,
        session_id: codec::opt_text(row, 16)?,
        agent_name: codec::opt_text(row, 17)?,
        user_id: codec::opt_text(row, 18)?,
        score_mean: None,
    })
}

/// [`list_traces`](Self::list_traces) in another order: by duration, cost, tokens, spans,
/// failed spans or score (ties by the trace's arrival), largest or smallest first. Pages
/// of these orders are stable only over data that no longer changes: a trace whose spans
/// (or scores) are still arriving can move between pages.
///
/// [`QueryError::Invalid`] for an order the filter does not allow
/// ([`TraceFilter::check_order`]).
pub(super) fn list_traces_by(
    store: &SqliteStore,
    filter: &TraceFilter,
    order: TraceOrder,
    cursor_in: Option<&Cursor>,
    limit: usize,
) -> Result<TracePage, QueryError> {
    filter.check_order(order.by)?;
    let score_name = filter.score.as_ref().map(|s| s.name.clone());
    let untraced_scores = match &score_name {
        Some(name) => store.read(|conn| {
            Ok(conn
                .prepare_cached(filter::UNTRACED_SCORE_OF_NAME)
                .db()?
                .query_row([name], |r| r.get::<_, bool>(0))
                .db()?)
        })?,
        None => false,
    };
    let key = sort_key(order.by, untraced_scores);
    let mean = if score_name.is_some() {
        filter::score_mean(untraced_scores)
    } else {
        "NULL".to_owned()
    };
    let (tag, cmp, dir) = order.cursor_tag();
    let mut w = Where::default();
    filter::traces(&mut w, filter, untraced_scores);
    if let Some(c) = cursor_in {
        let bytes = cursor_key::<16>(c, tag)?;
        let (value, rest) = split_i64(&bytes);
        let (trace_no, _) = split_i64(rest);
        w.push(
            format!("{key} {cmp}= ? AND ({key}, t.trace_no) {cmp} (?, ?)"),
            [
                Value::Integer(value),
                Value::Integer(value),
                Value::Integer(trace_no),
            ],
        );
    }
    let mut sql = if order.by == TraceSort::Start {
        // The list order has an index: rows come in order, no sorting.
        format!(
            "SELECT {TRACE_COLUMNS}, {key}, {mean} FROM traces AS t WHERE {} \
             ORDER BY {key} {dir}, t.trace_no {dir} LIMIT ?",
            w.sql()
        )
    } else {
        // Sort only the keys, then read the page's rows: sorting whole rows costs three
        // times as much (measured at 166,700 traces: 425 ms against 130 ms).
        format!(
            "SELECT {TRACE_COLUMNS}, {key}, {mean} FROM traces AS t WHERE t.trace_no IN \
             (SELECT t.trace_no FROM traces AS t WHERE {} \
              ORDER BY {key} {dir}, t.trace_no {dir} LIMIT ?) \
             ORDER BY {key} {dir}, t.trace_no {dir}",
            w.sql()
        )
    };
    w.params.push(page_limit(Some(limit)));
    if let Some(name) = score_name {
        // The score's name, for its mean, as a table: the mean is written several times.
        sql.insert_str(0, "WITH score_name (name) AS (VALUES (?)) ");
        w.params.insert(0, Value::Text(name));
    }
    let mut rows_out = store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            let position = (
                codec::int(row, SORT_COLUMN)?,
                codec::int(row, TRACE_NO_COLUMN)?,
            );
            let mut summary = summary(row)?;
            summary.score_mean = row.get(SCORE_MEAN_COLUMN).db()?;
            out.push((position, summary));
        }
        Ok(out)
    })?;
    let next_cursor = if rows_out.len() > limit {
        rows_out.truncate(limit);
        rows_out.last().map(|((value, trace_no), _)| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&value.to_be_bytes());
            bytes[8..].copy_from_slice(&trace_no.to_be_bytes());
            cursor(tag, &bytes)
        })
    } else {
        None
    };
    Ok(TracePage {
        traces: rows_out.into_iter().map(|(_, t)| t).collect(),
        next_cursor,
    })
}

/// One span of a trace; `None` if it is not stored.
pub(super) fn span(
    store: &SqliteStore,
    trace_id: TraceId,
    span_id: SpanId,
) -> Result<Option<SpanRecord>, QueryError> {
    store.read(|conn| {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SPAN_COLUMNS} FROM spans AS s \
                 WHERE s.trace_no = {} AND s.span_id = ?2",
                *TRACE_NO_OF_ID
            ))
            .db()?;
        let mut rows = stmt.query((trace_id.to_bytes(), span_id.to_bytes())).db()?;
        match rows.next().db()? {
            Some(row) => Ok(Some(codec::span(row, conn, &mut ReadCache::default())?)),
            None => Ok(None),
        }
    })
}

/// The LLM call under `parent` in `trace_id` that ended last, at or before
/// `ended_by_unix_nano`; `None` if none is stored. Reads the trace's rows by its key and
/// decodes only the one found (what a tool span needs to know which call asked for it).
pub(super) fn last_llm_call_before(
    store: &SqliteStore,
    trace_id: TraceId,
    parent: SpanId,
    ended_by_unix_nano: u64,
) -> Result<Option<SpanRecord>, QueryError> {
    let ended_by = i64::try_from(ended_by_unix_nano).unwrap_or(i64::MAX);
    store.read(|conn| {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SPAN_COLUMNS} FROM spans AS s \
                 WHERE s.trace_no = {} AND s.parent_span_id = ?2 AND s.kind = 'llm' \
                 AND s.end_ns <= ?3 ORDER BY s.end_ns DESC LIMIT 1",
                *TRACE_NO_OF_ID
            ))
            .db()?;
        let mut rows = stmt
            .query((trace_id.to_bytes(), parent.to_bytes(), ended_by))
            .db()?;
        match rows.next().db()? {
            Some(row) => Ok(Some(codec::span(row, conn, &mut ReadCache::default())?)),
            None => Ok(None),
        }
    })
}

/// A trace as a tree, in `detail`; `None` if no span of it is stored.
///
/// Spans whose parent is missing (not received, deleted by retention, or part of a
/// parent cycle) become extra roots marked [`TraceNode::orphan`](agentrace_store::TraceNode::orphan); no span is dropped.
/// An outline leaves out the spans' attributes and span events (but the repair marks): the
/// tree of a large trace at a fraction of the cost.
pub(super) fn trace_tree(
    store: &SqliteStore,
    trace_id: TraceId,
    detail: TraceDetail,
) -> Result<Option<TraceTree>, QueryError> {
    store.read(|conn| read_trace(conn, trace_id, detail))
}

/// The spans a conversation turn is read from: the trace's earliest root, its first LLM
/// call (by start) and its last (by end), in full, in that order (each at most once).
pub(super) fn turn_spans(
    store: &SqliteStore,
    trace_id: TraceId,
) -> Result<Vec<SpanRecord>, QueryError> {
    store.read(|conn| {
        let pick = |i: u8, condition: &str, order: &str| {
            format!(
                "SELECT {i}, (SELECT span_id FROM spans WHERE trace_no = t.n AND {condition} \
                 ORDER BY {order} LIMIT 1) FROM t"
            )
        };
        let sql = format!(
            "WITH t(n) AS (SELECT {}), \
             wanted(i, span_id) AS ({} UNION ALL {} UNION ALL {}) \
             SELECT {SPAN_COLUMNS} FROM wanted JOIN t \
             JOIN spans AS s ON s.trace_no = t.n AND s.span_id = wanted.span_id \
             GROUP BY s.span_id ORDER BY min(wanted.i)",
            *TRACE_NO_OF_ID,
            pick(0, "parent_span_id IS NULL", "start_ns"),
            pick(1, "kind = 'llm'", "start_ns"),
            pick(2, "kind = 'llm'", "end_ns DESC"),
        );
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query([trace_id.to_bytes()]).db()?;
        let mut resources = ReadCache::default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            out.push(codec::span(row, conn, &mut resources)?);
        }
        Ok(out)
    })
}

/// The span columns of an outline: events left out, and the attributes but
/// [`OUTLINE_ATTRIBUTES`] (JSON `true` and `false` kept as such, not as SQL's 1 and 0), no
/// content.
static OUTLINE_COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let keys: Vec<String> = OUTLINE_ATTRIBUTES
        .iter()
        .map(|k| format!("'{k}'"))
        .collect();
    SPAN_COLUMNS
        .replace(
            "s.attributes,",
            &format!(
                "(SELECT nullif(json_group_object(key, CASE type WHEN 'true' THEN json('true') \
                 WHEN 'false' THEN json('false') ELSE value END), '{{}}') \
                 FROM json_each(s.attributes) WHERE key IN ({})),",
                keys.join(", ")
            ),
        )
        .replace("s.events,", "NULL,")
        .replace("s.content", "NULL")
});

fn read_trace(
    conn: &Connection,
    trace_id: TraceId,
    detail: TraceDetail,
) -> Result<Option<TraceTree>, QueryError> {
    let id = trace_id.to_bytes();
    let summary = {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TRACE_COLUMNS} FROM traces AS t WHERE t.trace_no = {}",
                *TRACE_NO_OF_ID
            ))
            .db()?;
        let mut rows = stmt.query([id]).db()?;
        match rows.next().db()? {
            Some(row) => (summary(row)?, codec::int(row, TRACE_NO_COLUMN)?),
            None => return Ok(None),
        }
    };
    let (summary, trace_no) = summary;
    let mut spans = Vec::new();
    {
        let columns = match detail {
            TraceDetail::Full => SPAN_COLUMNS,
            TraceDetail::Outline => OUTLINE_COLUMNS.as_str(),
        };
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM spans AS s WHERE s.trace_no = ?1"
            ))
            .db()?;
        let mut rows = stmt.query([trace_no]).db()?;
        let mut resources = ReadCache::default();
        while let Some(row) = rows.next().db()? {
            spans.push(codec::span(row, conn, &mut resources)?);
        }
    }
    if spans.is_empty() {
        return Ok(None);
    }
    Ok(Some(TraceTree::build(summary, spans)))
}
