//! Spans and events, a page at a time.

use agentrace_core::{SpanId, TraceId};
use agentrace_store::{Cursor, EventPage, EventQuery, Order, QueryError, SpanPage, SpanQuery};

use crate::error;
use crate::row::EventRow;
use crate::sql;
use crate::store::ClickHouseStore;

fn direction(order: Order) -> (&'static str, &'static str) {
    match order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    }
}

fn limit(n: Option<usize>) -> String {
    n.map(|n| format!("LIMIT {}", n.saturating_add(1)))
        .unwrap_or_default()
}

impl ClickHouseStore {
    pub(crate) async fn spans(&self, q: &SpanQuery) -> Result<SpanPage, QueryError> {
        self.spans_holding(q, &[]).await
    }

    /// [`spans`](Self::spans) narrowed to the spans that may hold a word of each of
    /// `word_choices` (lower-cased; `agentrace_store::search::required_word_choices`) in their
    /// name, status message, attribute values, span events or resource attributes,
    /// case-insensitively: what a search reads (`agentrace_store::search`), each span then
    /// judged by the query. Attribute values, span events and resource attributes are JSON
    /// here: a choice with a word holding a character JSON escapes (a quote, a backslash, a
    /// control character) is not asked of the engine, only of the judge.
    pub(crate) async fn spans_holding(
        &self,
        q: &SpanQuery,
        word_choices: &[Vec<String>],
    ) -> Result<SpanPage, QueryError> {
        const HOLDS: &str = "positionCaseInsensitiveUTF8(name, ?) > 0 \
             OR positionCaseInsensitiveUTF8(ifNull(status_message, ''), ?) > 0 \
             OR arrayExists(v -> positionCaseInsensitiveUTF8(v, ?) > 0, mapValues(attributes)) \
             OR positionCaseInsensitiveUTF8(events, ?) > 0 \
             OR positionCaseInsensitiveUTF8(resource_attributes, ?) > 0";
        let mut w = self.scoped();
        sql::spans(&mut w, &q.filter);
        let plain = |word: &String| {
            !word
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
        };
        for choice in word_choices.iter().filter(|c| c.iter().all(plain)) {
            w.push(
                format!("({})", vec![HOLDS; choice.len()].join(" OR ")),
                choice
                    .iter()
                    .flat_map(|word| std::iter::repeat_n(sql::Param::Text(word.clone()), 5)),
            );
        }
        let (cmp, dir) = direction(q.order);
        let tag = if q.order == Order::Asc { 'p' } else { 'P' };
        if let Some(c) = &q.cursor {
            let fields = sql::cursor_fields(c, tag, 3)?;
            let start = sql::number(c, &fields[0])?;
            let trace_id = sql::trace_id_field(c, &fields[1])?;
            let span_id = sql::span_id_field(c, &fields[2])?;
            w.push(
                format!(
                    "(start, trace_id, span_id) {cmp} ({}, {}, {})",
                    sql::time(u64::try_from(start).unwrap_or(0)),
                    sql::trace_id(trace_id),
                    sql::span_id(span_id)
                ),
                [],
            );
        }
        let query = format!(
            "SELECT ?fields FROM spans FINAL WHERE {} \
             ORDER BY start {dir}, trace_id {dir}, span_id {dir} {}",
            w.sql(),
            limit(q.limit)
        );
        let rows: Vec<crate::row::SpanRow> = w
            .bind(self.client().query(&query))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let mut spans = rows
            .into_iter()
            .map(|r| r.into_record().map_err(error::decode))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match q.limit {
            Some(n) if spans.len() > n => {
                spans.truncate(n);
                spans
                    .last()
                    .map(|s| span_cursor(tag, s.start_time_unix_nano, s.trace_id, s.span_id))
            }
            _ => None,
        };
        Ok(SpanPage { spans, next_cursor })
    }

    /// Events by time, then by their hash; a cursor holds the last time returned and how many
    /// events at that time were.
    pub(crate) async fn events(&self, q: &EventQuery) -> Result<EventPage, QueryError> {
        let mut w = self.scoped();
        sql::events(&mut w, &q.filter);
        let (cmp, dir) = direction(q.order);
        let tag = if q.order == Order::Asc { 'e' } else { 'E' };
        let mut skip = 0u64;
        let mut at: Option<i64> = None;
        if let Some(c) = &q.cursor {
            let fields = sql::cursor_fields(c, tag, 2)?;
            let time = sql::number(c, &fields[0])?;
            skip = u64::try_from(sql::number(c, &fields[1])?)
                .map_err(|_| QueryError::InvalidCursor(c.as_str().to_owned()))?;
            w.push(
                format!(
                    "time {cmp}= {}",
                    sql::time(u64::try_from(time).unwrap_or(0))
                ),
                [],
            );
            at = Some(time);
        }
        let query = format!(
            "SELECT ?fields FROM events FINAL WHERE {} ORDER BY time {dir}, event_key {dir} \
             {} OFFSET {skip}",
            w.sql(),
            if q.limit.is_some() {
                limit(q.limit)
            } else {
                "LIMIT 18446744073709551615".to_owned()
            }
        );
        let rows: Vec<EventRow> = w
            .bind(self.client().query(&query))
            .fetch_all()
            .await
            .map_err(error::query)?;
        let mut events = rows
            .into_iter()
            .map(|r| r.into_event().map_err(error::decode))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match q.limit {
            Some(n) if events.len() > n => {
                events.truncate(n);
                events.last().map(|last| {
                    let time = i64::try_from(last.time_unix_nano).unwrap_or(i64::MAX);
                    let same = events
                        .iter()
                        .filter(|e| e.time_unix_nano == last.time_unix_nano)
                        .count() as u64;
                    let skipped = if at == Some(time) { skip } else { 0 };
                    sql::cursor(tag, &[time.to_string(), (same + skipped).to_string()])
                })
            }
            _ => None,
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
    }
}

fn span_cursor(tag: char, start: u64, trace_id: TraceId, span_id: SpanId) -> Cursor {
    sql::cursor(
        tag,
        &[start.to_string(), trace_id.to_string(), span_id.to_string()],
    )
}
