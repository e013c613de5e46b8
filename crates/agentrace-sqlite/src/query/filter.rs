//! Filters as SQL: `WHERE` clauses with their parameters, and opaque cursors.

use rusqlite::types::Value;

use crate::codec::{STATUS_ERROR, bound};
use crate::deferred_index::{TRACES_OF_SESSION, trace_no_of_id};
use agentrace_store::QueryError;
use agentrace_store::{
    Cursor, EventFilter, ResourceAttribute, SCORE_KEY_SCALE, ScoreCondition, SpanFilter,
    StatusFilter, TimeRange, TraceFilter,
};

/// A span's MCP server (`agentrace.mcp.server`, text only), for `spans` aliased `s`.
pub(crate) const MCP_SERVER_SQL: &str = "CASE WHEN json_type(s.attributes, \
     '$.\"agentrace.mcp.server\"') = 'text' \
     THEN json_extract(s.attributes, '$.\"agentrace.mcp.server\"') END";

/// `WHERE` clauses (ANDed) and their parameters, in the order of their `?` placeholders.
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    pub(crate) params: Vec<Value>,
}

impl Where {
    pub(crate) fn push(
        &mut self,
        clause: impl Into<String>,
        params: impl IntoIterator<Item = Value>,
    ) {
        self.clauses.push(clause.into());
        self.params.extend(params);
    }

    fn text(&mut self, clause: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.push(clause, [Value::Text(v.clone())]);
        }
    }

    /// The clauses joined with `AND`; `1` (true) when there are none.
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    pub(crate) fn range(&mut self, column: &str, range: &TimeRange) {
        if let Some(start) = range.start_unix_nano {
            self.push(format!("{column} >= ?"), [Value::Integer(bound(start))]);
        }
        if let Some(end) = range.end_unix_nano {
            self.push(format!("{column} < ?"), [Value::Integer(bound(end))]);
        }
    }

    /// `column LIKE '%text%'`, with the wildcards of `text` escaped.
    fn contains(&mut self, column: &str, text: Option<&String>) {
        if let Some(t) = text {
            let mut pattern = String::with_capacity(t.len() + 2);
            pattern.push('%');
            for c in t.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            self.push(
                format!("{column} LIKE ? ESCAPE '\\'"),
                [Value::Text(pattern)],
            );
        }
    }
}

/// The clauses of a [`SpanFilter`] over `spans` aliased `s`.
pub(crate) fn spans(w: &mut Where, f: &SpanFilter) {
    w.range("s.start_ns", &f.range);
    if let Some(t) = f.trace_id {
        let id = Value::Blob(t.to_bytes().to_vec());
        w.push(
            format!("s.trace_no = {}", trace_no_of_id("?")),
            [id.clone(), id.clone(), id],
        );
    }
    span_fields(
        w,
        &SpanFields {
            service: f.service.as_ref(),
            kind: f.kind.map(|k| k.as_str()),
            model: f.model.as_ref(),
            agent: f.agent.as_ref(),
            session: f.session.as_ref(),
            user: f.user.as_ref(),
            name_contains: f.name_contains.as_ref(),
        },
    );
    w.text("s.provider = ?", f.provider.as_ref());
    w.text("s.framework = ?", f.framework.as_ref());
    w.text("s.tool_name = ?", f.tool.as_ref());
    w.text(&format!("{MCP_SERVER_SQL} = ?"), f.mcp_server.as_ref());
    match f.status {
        Some(StatusFilter::Error) => w.push(format!("s.status_code = {STATUS_ERROR}"), []),
        Some(StatusFilter::Ok) => w.push(format!("s.status_code <> {STATUS_ERROR}"), []),
        None => {}
    }
    if let Some(d) = f.min_duration_ns {
        w.push("s.duration_ns >= ?", [Value::Integer(bound(d))]);
    }
    if let Some(billable) = f.billable {
        let clause = if billable {
            BILLABLE.to_owned()
        } else {
            format!("NOT {BILLABLE}")
        };
        w.push(clause, []);
    }
    if let Some(a) = &f.resource_attribute {
        resource_attribute(w, a);
    }
}

/// Spans whose resource carries `a`: its key read whole from the resource's JSON object
/// (`json_each`, so a dotted key is no path), among the few rows of `resources`.
fn resource_attribute(w: &mut Where, a: &ResourceAttribute) {
    let has = "EXISTS (SELECT 1 FROM json_each(r.attributes) AS a WHERE a.key = ? \
               AND a.type = 'text' AND a.value = ?)";
    let mut params = vec![Value::Text(a.key.clone()), Value::Text(a.value.clone())];
    let condition = if a.or_absent {
        params.push(Value::Text(a.key.clone()));
        format!(
            "({has} OR NOT EXISTS (SELECT 1 FROM json_each(r.attributes) AS a WHERE a.key = ?))"
        )
    } else {
        has.to_owned()
    };
    w.push(
        format!("s.resource_id IN (SELECT r.id FROM resources AS r WHERE {condition})"),
        params,
    );
}

/// A billable span, in SQL (mirrors [`codec::is_unpriced`](crate::codec::is_unpriced)):
/// priced, or no aggregate and an LLM or embedding call or reporting input or output tokens.
const BILLABLE: &str = "(s.cost_total IS NOT NULL OR (s.aggregate = 0 \
     AND (s.kind IN ('llm', 'embedding') OR s.input_tokens <> 0 OR s.output_tokens <> 0)))";

/// Span fields shared by span and trace filters.
struct SpanFields<'a> {
    service: Option<&'a String>,
    kind: Option<&'static str>,
    model: Option<&'a String>,
    agent: Option<&'a String>,
    session: Option<&'a String>,
    user: Option<&'a String>,
    name_contains: Option<&'a String>,
}

fn span_fields(w: &mut Where, f: &SpanFields<'_>) {
    w.text("s.service_name = ?", f.service);
    if let Some(kind) = f.kind {
        w.push("s.kind = ?", [Value::Text(kind.to_owned())]);
    }
    if let Some(model) = f.model {
        w.push(
            "(s.request_model = ? OR s.response_model = ?)",
            [Value::Text(model.clone()), Value::Text(model.clone())],
        );
    }
    w.text("s.agent_name = ?", f.agent);
    w.text("s.session_id = ?", f.session);
    w.text("s.user_id = ?", f.user);
    w.contains("s.name", f.name_contains);
}

/// The clauses of a [`TraceFilter`] over `traces` aliased `t`: trace-level fields directly,
/// span-level fields as "some span of the trace matches". `untraced_scores`: whether scores
/// of spans naming no trace may be among those of the filter's score name (they are then
/// looked up span by span of each trace).
pub(crate) fn traces(w: &mut Where, f: &TraceFilter, untraced_scores: bool) {
    w.range("t.start_ns", &f.range);
    if let Some(id) = f.trace_id {
        let id = Value::Blob(id.to_bytes().to_vec());
        w.push(
            format!("t.trace_no = {}", trace_no_of_id("?")),
            [id.clone(), id.clone(), id],
        );
    }
    if let Some(score) = &f.score {
        scored(w, score, untraced_scores);
    }
    match f.status {
        Some(StatusFilter::Error) => w.push("t.error_count > 0", []),
        Some(StatusFilter::Ok) => w.push("t.error_count = 0", []),
        None => {}
    }
    if let Some(d) = f.min_duration_ns {
        w.push("t.end_ns - t.start_ns >= ?", [Value::Integer(bound(d))]);
    }
    // The trace's session (indexed on `traces`, in batches).
    if let Some(session) = &f.session {
        w.push(
            TRACES_OF_SESSION,
            [Value::Text(session.clone()), Value::Text(session.clone())],
        );
    }
    let mut sub = Where::default();
    span_fields(
        &mut sub,
        &SpanFields {
            service: f.service.as_ref(),
            kind: f.kind.map(|k| k.as_str()),
            model: f.model.as_ref(),
            agent: f.agent.as_ref(),
            session: None,
            user: f.user.as_ref(),
            name_contains: f.name_contains.as_ref(),
        },
    );
    if !sub.is_empty() {
        // Tested trace by trace through the primary key, newest first, until the page is
        // full: span columns carry no index of their own, to keep writes fast.
        w.push(
            format!(
                "EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_no = t.trace_no AND {})",
                sub.sql()
            ),
            sub.params,
        );
    }
}

/// Traces with a score as `score` says: their own and their spans' naming them (from the
/// scores of the name, by index), or, when `untraced`, one of a span of theirs naming no trace.
fn scored(w: &mut Where, score: &ScoreCondition, untraced: bool) {
    let mut of = Where::default();
    of.push("q.name = ?", [Value::Text(score.name.clone())]);
    if let Some(min) = score.min {
        of.push("q.value >= ?", [Value::Real(min)]);
    }
    if let Some(max) = score.max {
        of.push("q.value <= ?", [Value::Real(max)]);
    }
    let named = format!(
        "t.trace_id IN (SELECT q.trace_id FROM scores AS q WHERE q.trace_id IS NOT NULL AND {})",
        of.sql()
    );
    if untraced {
        let mut params = of.params.clone();
        params.extend(of.params.iter().cloned());
        w.push(
            format!(
                "({named} OR EXISTS (SELECT 1 FROM spans AS sp JOIN scores AS q \
                 ON q.span_id = sp.span_id AND q.trace_id IS NULL \
                 WHERE sp.trace_no = t.trace_no AND {}))",
                of.sql()
            ),
            params,
        );
    } else {
        w.push(named, of.params);
    }
}

/// Whether some score named `name` is of a span naming no trace (by the partial index).
pub(crate) const UNTRACED_SCORE_OF_NAME: &str = "SELECT EXISTS (SELECT 1 FROM scores \
     WHERE name = ? AND trace_id IS NULL AND span_id IS NOT NULL)";

/// The mean of trace `t`'s scores of the name `score_name.name` (a `WITH` table), `NULL`
/// when none has a value: its own and its spans' naming it, and with `untraced` those of its
/// spans naming no trace.
pub(crate) fn score_mean(untraced: bool) -> String {
    let of_spans = if untraced {
        " UNION ALL SELECT q.value FROM spans AS sp JOIN scores AS q \
         ON q.span_id = sp.span_id AND q.trace_id IS NULL \
         WHERE sp.trace_no = t.trace_no AND q.name = (SELECT name FROM score_name)"
    } else {
        ""
    };
    format!(
        "(SELECT avg(value) FROM (SELECT q.value FROM scores AS q \
          WHERE q.trace_id = t.trace_id AND q.name = (SELECT name FROM score_name){of_spans}))"
    )
}

/// [`score_mean`] as the key to order by: in millionths ([`SCORE_KEY_SCALE`]), the least
/// integer when the scores have no value.
pub(crate) fn score_key(untraced: bool) -> String {
    format!(
        "coalesce(CAST(round({} * {SCORE_KEY_SCALE}) AS INTEGER), {})",
        score_mean(untraced),
        // The least integer as an expression: the literal would be read as a real.
        "(-9223372036854775807 - 1)"
    )
}

/// The clauses of an [`EventFilter`] over `events` aliased `e`.
pub(crate) fn events(w: &mut Where, f: &EventFilter) {
    w.range("e.time_ns", &f.range);
    if let Some(t) = f.trace_id {
        w.push("e.trace_id = ?", [Value::Blob(t.to_bytes().to_vec())]);
    }
    if let Some(s) = f.span_id {
        w.push("e.span_id = ?", [Value::Blob(s.to_bytes().to_vec())]);
    }
    w.text("e.kind = ?", f.kind.as_ref());
    if let Some(level) = f.min_level {
        w.push(
            "e.level >= ?",
            [Value::Integer(i64::from(level.severity_number()))],
        );
    }
    w.text("e.service_name = ?", f.service.as_ref());
    w.text("e.session_id = ?", f.session.as_ref());
    w.text("e.agent_id = ?", f.agent_id.as_ref());
    w.contains("e.message", f.message_contains.as_ref());
}

/// `LIMIT` for a page of `limit` rows: one more, to learn whether a next page exists.
pub(crate) fn page_limit(limit: Option<usize>) -> Value {
    Value::Integer(limit.map_or(-1, |l| {
        i64::try_from(l.saturating_add(1)).unwrap_or(i64::MAX)
    }))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A cursor: a tag letter saying which query made it, then its key bytes in hex.
pub(crate) fn cursor(tag: char, key: &[u8]) -> Cursor {
    let mut text = String::with_capacity(1 + key.len() * 2);
    text.push(tag);
    for b in key {
        text.push(char::from(HEX[usize::from(b >> 4)]));
        text.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    Cursor::from(text)
}

/// The key bytes of a cursor made by [`cursor`] with the same tag.
pub(crate) fn cursor_key<const N: usize>(c: &Cursor, tag: char) -> Result<[u8; N], QueryError> {
    let invalid = || QueryError::InvalidCursor(c.as_str().to_owned());
    let hex = c.as_str().strip_prefix(tag).ok_or_else(invalid)?;
    if hex.len() != N * 2 {
        return Err(invalid());
    }
    let digit = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut key = [0u8; N];
    for (slot, pair) in key.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *slot = (digit(pair[0]).ok_or_else(invalid)? << 4) | digit(pair[1]).ok_or_else(invalid)?;
    }
    Ok(key)
}

/// Splits cursor key bytes: an `i64` then the rest.
pub(crate) fn split_i64(key: &[u8]) -> (i64, &[u8]) {
    let (head, rest) = key.split_at(8.min(key.len()));
    let mut b = [0u8; 8];
    b[..head.len()].copy_from_slice(head);
    (i64::from_be_bytes(b), rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_others() -> Result<(), QueryError> {
        let c = cursor('t', &[0x00, 0xab, 0xff]);
        assert_eq!(c.as_str(), "t00abff");
        assert_eq!(cursor_key::<3>(&c, 't')?, [0x00, 0xab, 0xff]);
        assert!(cursor_key::<3>(&c, 's').is_err());
        assert!(cursor_key::<4>(&c, 't').is_err());
        assert!(cursor_key::<3>(&Cursor::from("t00abfz".to_owned()), 't').is_err());
        assert!(cursor_key::<1>(&Cursor::from("té".to_owned()), 't').is_err());
        let (v, rest) = split_i64(&[0, 0, 0, 0, 0, 0, 1, 2, 9]);
        assert_eq!((v, rest), (258, &[9u8][..]));
        Ok(())
    }

    #[test]
    fn like_escapes_wildcards() {
        let mut w = Where::default();
        w.contains("x", Some(&"50%_a\\".to_owned()));
        assert_eq!(w.params, vec![Value::Text("%50\\%\\_a\\\\%".into())]);
    }
}
