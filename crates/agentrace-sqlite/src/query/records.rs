//! Spans and events as records, a page at a time: for export, tail and read-back.

use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::filter::{self, Where, cursor, cursor_key, page_limit, split_i64};
use crate::codec::{self, EVENT_COLUMNS, ReadCache, SPAN_COLUMNS, to_sql};
use crate::error::Db;
use crate::store::SqliteStore;
use agentrace_store::QueryError;
use agentrace_store::{EventPage, EventQuery, Order, SpanPage, SpanQuery};

/// Spans matching the query, by start time (then trace and span id), a page at a time.
///
/// ```
/// # use agentrace_sqlite::{SqliteStore, SpanFilter, SpanQuery};
/// # use agentrace_store::TraceReader;
/// # let dir = tempfile::tempdir()?;
/// # let store = SqliteStore::open(dir.path().join("t.db"))?;
/// let mut cursor = None;
/// loop {
///     let page = store.spans(&SpanQuery::new(SpanFilter::new()).limit(1_000).cursor(cursor))?;
///     for span in &page.spans { /* export it */ }
///     cursor = page.next_cursor;
///     if cursor.is_none() { break; }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub(super) fn spans(store: &SqliteStore, q: &SpanQuery) -> Result<SpanPage, QueryError> {
    let mut w = Where::default();
    filter::spans(&mut w, &q.filter);
    let (cmp, dir) = match q.order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    };
    if let Some(c) = &q.cursor {
        let key = cursor_key::<32>(c, 's')?;
        let (start, ids) = split_i64(&key);
        let (trace, span) = ids.split_at(16);
        w.push(
            format!("s.start_ns {cmp}= ? AND (s.start_ns, s.trace_id, s.span_id) {cmp} (?, ?, ?)"),
            [
                Value::Integer(start),
                Value::Integer(start),
                Value::Blob(trace.to_vec()),
                Value::Blob(span.to_vec()),
            ],
        );
    }
    let sql = format!(
        "SELECT {SPAN_COLUMNS} FROM spans AS s WHERE {} \
         ORDER BY s.start_ns {dir}, s.trace_id {dir}, s.span_id {dir} LIMIT ?",
        w.sql()
    );
    w.params.push(page_limit(q.limit));
    let mut spans = store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        let mut resources = ReadCache::default();
        let mut spans = Vec::new();
        while let Some(row) = rows.next().db()? {
            spans.push(codec::span(row, conn, &mut resources)?);
        }
        Ok(spans)
    })?;
    let next_cursor = match q.limit {
        Some(limit) if spans.len() > limit => {
            spans.truncate(limit);
            spans.last().map(|s| {
                let mut key = Vec::with_capacity(32);
                key.extend_from_slice(&to_sql(s.start_time_unix_nano).to_be_bytes());
                key.extend_from_slice(&s.trace_id.to_bytes());
                key.extend_from_slice(&s.span_id.to_bytes());
                cursor('s', &key)
            })
        }
        _ => None,
    };
    Ok(SpanPage { spans, next_cursor })
}

/// Events matching the query, by time, a page at a time.
pub(super) fn events(store: &SqliteStore, q: &EventQuery) -> Result<EventPage, QueryError> {
    let mut w = Where::default();
    filter::events(&mut w, &q.filter);
    let (cmp, dir) = match q.order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    };
    if let Some(c) = &q.cursor {
        let key = cursor_key::<16>(c, 'e')?;
        let (time, rest) = split_i64(&key);
        let (hash, _) = split_i64(rest);
        w.push(
            format!("e.time_ns {cmp}= ? AND (e.time_ns, e.event_hash) {cmp} (?, ?)"),
            [
                Value::Integer(time),
                Value::Integer(time),
                Value::Integer(hash),
            ],
        );
    }
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events AS e WHERE {} \
         ORDER BY e.time_ns {dir}, e.event_hash {dir} LIMIT ?",
        w.sql()
    );
    w.params.push(page_limit(q.limit));
    let mut rows_out = store.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql).db()?;
        let mut rows = stmt.query(params_from_iter(&w.params)).db()?;
        let mut resources = ReadCache::default();
        let mut out = Vec::new();
        while let Some(row) = rows.next().db()? {
            let key = (codec::int(row, 0)?, codec::int(row, 1)?);
            out.push((key, codec::event(row, conn, &mut resources)?));
        }
        Ok(out)
    })?;
    let next_cursor = match q.limit {
        Some(limit) if rows_out.len() > limit => {
            rows_out.truncate(limit);
            rows_out.last().map(|((time, hash), _)| {
                let mut key = [0u8; 16];
                key[..8].copy_from_slice(&time.to_be_bytes());
                key[8..].copy_from_slice(&hash.to_be_bytes());
                cursor('e', &key)
            })
        }
        _ => None,
    };
    Ok(EventPage {
        events: rows_out.into_iter().map(|(_, e)| e).collect(),
        next_cursor,
    })
}
