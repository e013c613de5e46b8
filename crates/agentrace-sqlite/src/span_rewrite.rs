//! Rewriting stored spans in place — the parent, the kind, the attributes, the status and the
//! counts — with their contributions moved in the span rollups: what the repairs of
//! [`SqliteStore::repair_spans`](crate::SqliteStore::repair_spans) and the migration that
//! recounts aggregates ([`recount_marked_aggregates`]) both do.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use agentrace_core::normalize::{is_aggregate, mark_aggregate};
use agentrace_core::{SpanRecord, TraceId};
use agentrace_store::content::ContentValues;
use agentrace_store::search::indexed_text;
use agentrace_store::{QueryError, WriteError};
use rusqlite::{Connection, params};

use crate::codec::{self, ReadCache, SPAN_COLUMN_COUNT, SPAN_COLUMNS, attributes_json, to_sql};
use crate::content::{self, NodeIds};
use crate::deferred_index::trace_no_of_id;
use crate::error::Db;
use crate::past::Touched;
use crate::span_rollups::{self, FACT_COLUMNS, KeyIds, OwnedFacts};
use crate::trace_summaries;
use crate::words;

/// A span's rollup facts, before it is rewritten.
static CURRENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {FACT_COLUMNS} FROM spans WHERE trace_no = {} AND span_id = ?2",
        trace_no_of_id("?1")
    )
});

/// Where a rewrite puts long content values: apart (schema version 15 on), or in the
/// attributes (the migrations before it, whose `spans` has no `content` column yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentKept {
    Apart,
    Inline,
}

static UPDATE: LazyLock<String> = LazyLock::new(|| {
    UPDATE_INLINE
        .replace("attributes = ?2,", "attributes = ?2, content = ?21,")
        .replace(
            "attributes IS NOT ?2",
            "attributes IS NOT ?2 OR content IS NOT ?21",
        )
});

static UPDATE_INLINE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE spans SET parent_span_id = ?1, attributes = ?2, input_tokens = ?5, \
         output_tokens = ?6, cache_read_tokens = ?7, cache_write_tokens = ?8, \
         reasoning_tokens = ?9, cache_write_1h_tokens = ?10, cost_input = ?11, \
         cost_cache_read = ?12, cost_cache_write = ?13, cost_output = ?14, cost_total = ?15, \
         aggregate = ?16, reasoning_reported = ?17, status_code = ?18, status_message = ?19, \
         kind = ?20 \
         WHERE trace_no = {} AND span_id = ?4 \
         AND (parent_span_id IS NOT ?1 OR attributes IS NOT ?2 OR input_tokens IS NOT ?5 \
         OR output_tokens IS NOT ?6 OR cache_read_tokens IS NOT ?7 \
         OR cache_write_tokens IS NOT ?8 OR reasoning_tokens IS NOT ?9 \
         OR cache_write_1h_tokens IS NOT ?10 OR cost_total IS NOT ?15 OR aggregate IS NOT ?16 \
         OR reasoning_reported IS NOT ?17 OR status_code IS NOT ?18 \
         OR status_message IS NOT ?19 OR kind IS NOT ?20) \
         RETURNING trace_no, rowid",
        trace_no_of_id("?3")
    )
});

/// What [`rewrite`] did: the traces it touched, the spans it changed, and those given a
/// parent.
#[derive(Default)]
pub(crate) struct Rewritten {
    pub(crate) traces: BTreeSet<i64>,
    pub(crate) changed: usize,
    pub(crate) with_parent: Vec<(TraceId, i64, agentrace_core::SpanId)>,
}

/// Rewrites the parent, the kind, the attributes, the status and the counts of stored spans
/// with those of `spans`, moving the contributions of those whose kind, counts, outcome or MCP
/// server changed in the span rollups.
pub(crate) fn rewrite(
    tx: &Connection,
    spans: &[SpanRecord],
    keys: &mut KeyIds,
    kept: ContentKept,
) -> Result<Rewritten, WriteError> {
    let mut done = Rewritten::default();
    // (facts before, facts after) of each span whose counts changed.
    let mut moved = Vec::new();
    let mut current = tx.prepare_cached(&CURRENT).db()?;
    let mut update = tx
        .prepare_cached(match kept {
            ContentKept::Apart => &UPDATE,
            ContentKept::Inline => &UPDATE_INLINE,
        })
        .db()?;
    let mut nodes = NodeIds::default();
    let mut to_index = words::Batch::default();
    for s in spans {
        let before = {
            let mut rows = current
                .query(params![s.trace_id.to_bytes(), s.span_id.to_bytes()])
                .db()?;
            match rows.next().db()? {
                Some(row) => OwnedFacts::read(row, 0).map_err(WriteError::from)?,
                None => continue,
            }
        };
        let values = match kept {
            ContentKept::Apart => ContentValues::of(&s.attributes),
            ContentKept::Inline => ContentValues::default(),
        };
        let (attributes, stored) = if values.is_empty() {
            (attributes_json(&s.attributes)?, content::Kept::default())
        } else {
            (
                attributes_json(&values.remaining(&s.attributes))?,
                content::store(tx, &mut nodes, &s.attributes, &values, &mut to_index)?,
            )
        };
        let content = stored.column.as_deref();
        let usage = &s.usage;
        let cost = s.cost.as_ref();
        let aggregate = is_aggregate(s);
        let reasoning_reported = i64::from(usage.reasoning_tokens.is_some());
        let kept_apart = kept == ContentKept::Apart;
        let row = params![
            s.parent_span_id.map(|p| p.to_bytes()),
            attributes,
            s.trace_id.to_bytes(),
            s.span_id.to_bytes(),
            to_sql(usage.input_tokens),
            to_sql(usage.output_tokens),
            to_sql(usage.cache_read_tokens),
            to_sql(usage.cache_write_tokens),
            to_sql(usage.reasoning_or_zero()),
            to_sql(usage.cache_write_1h_tokens),
            cost.map(|c| c.input.nanos()),
            cost.map(|c| c.cache_read.nanos()),
            cost.map(|c| c.cache_write.nanos()),
            cost.map(|c| c.output.nanos()),
            cost.map(|c| c.total.nanos()),
            i64::from(aggregate),
            reasoning_reported,
            codec::status_to_sql(s.status.code),
            s.status.message.as_deref(),
            s.kind.as_str(),
            content,
        ];
        // The inline statement has no `content` parameter.
        let bound = match kept {
            ContentKept::Apart => row,
            ContentKept::Inline => &row[..row.len() - 1],
        };
        let mut rows = update.query(bound).db()?;
        while let Some(row) = rows.next().db()? {
            let trace_no = row.get::<_, i64>(0).db()?;
            if kept_apart {
                let rowid = row.get::<_, i64>(1).db()?;
                stored.link(tx, rowid)?;
                words::forget_rewrite(tx, rowid)?;
                to_index.rewritten(rowid, indexed_text(s, &values));
            }
            done.traces.insert(trace_no);
            done.changed += 1;
            if let Some(parent) = s.parent_span_id {
                done.with_parent.push((s.trace_id, trace_no, parent));
            }
            let after = before.repaired(s, aggregate);
            if after != before {
                moved.push((before.clone(), after));
            }
        }
    }
    let mut moves = span_rollups::Batch::default();
    for (before, after) in &moved {
        moves.add(&before.facts(), -1);
        moves.add(&after.facts(), 1);
    }
    moves.apply(tx, keys)?;
    // The lines it records as frequent are committed with the rewrite; the writer learns of
    // them when it next loads them.
    to_index.index(tx, &mut words::FrequentLines::default())?;
    Ok(done)
}

/// Spans rewritten per step of [`recount_marked_aggregates`].
const RECOUNT_CHUNK: i64 = 10_000;

/// Migration 8 → 9: spans marked `agentrace.aggregate` before aggregates were counted
/// nowhere get the `aggregate` column and their usage and cost moved out of every total
/// (core's `mark_aggregate`), their traces' summaries recomputed.
pub(crate) fn recount_marked_aggregates(conn: &Connection) -> Result<(), QueryError> {
    let mut keys = KeyIds::default();
    let mut after = i64::MIN;
    loop {
        let mut marked = Vec::new();
        {
            let mut stmt = conn
                .prepare(&format!(
                    // Before version 15 no span has a `content` column.
                    "SELECT {}, s.rowid FROM spans AS s WHERE s.rowid > ?1 \
                     AND s.aggregate = 0 \
                     AND json_extract(s.attributes, '$.\"agentrace.aggregate\"') = 1 \
                     ORDER BY s.rowid LIMIT ?2",
                    SPAN_COLUMNS.replace("s.content", "NULL")
                ))
                .db()?;
            let mut resources = ReadCache::default();
            let mut rows = stmt.query(params![after, RECOUNT_CHUNK]).db()?;
            while let Some(row) = rows.next().db()? {
                after = row.get(SPAN_COLUMN_COUNT).db()?;
                let mut span = codec::span(row, conn, &mut resources)?;
                mark_aggregate(&mut span);
                marked.push(span);
            }
        }
        if marked.is_empty() {
            return Ok(());
        }
        let done = rewrite(conn, &marked, &mut keys, ContentKept::Inline).map_err(|e| match e {
            WriteError::Unavailable(e) => QueryError::Unavailable(e),
            WriteError::Failed(e) => QueryError::Failed(e),
            other => QueryError::decode("aggregate span", other),
        })?;
        for &trace_no in &done.traces {
            // A step of opening the file: no reader has counted anything yet.
            trace_summaries::recompute(conn, trace_no, &mut Touched::default())?;
        }
    }
}
