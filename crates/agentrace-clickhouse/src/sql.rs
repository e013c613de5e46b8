//! SQL pieces: ids as literals, filters as `WHERE` clauses with bound values, cursors.
//!
//! Values from a request (names, models, search text) are always bound (`?`, escaped by the
//! client); ids are written as string literals of their bytes, each escaped (`'\x0a\x1b…'`),
//! which agentrace formats itself. Not `unhex('…')`: a function call an id costs the engine
//! its parsing and folding, 128 ms against 34 for a read of 2,900 traces' spans (timed in chdb;
//! docs/benchmark-notebook.md §9).

use std::fmt::Write as _;

use agentrace_core::{SpanId, TraceId};
use agentrace_store::{Cursor, EventFilter, QueryError, SpanFilter, StatusFilter, TimeRange};
use serde::Serialize;

use crate::schema::MCP_SERVER_SQL;

/// A value bound to a `?`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum Param {
    Text(String),
}

/// `WHERE` clauses (ANDed) and their values, in the order of their `?`s.
#[derive(Debug, Clone, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    pub(crate) params: Vec<Param>,
}

impl Where {
    pub(crate) fn push(
        &mut self,
        clause: impl Into<String>,
        params: impl IntoIterator<Item = Param>,
    ) {
        self.clauses.push(clause.into());
        self.params.extend(params);
    }

    fn text(&mut self, clause: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.push(clause, [Param::Text(v.clone())]);
        }
    }

    /// The clauses joined with `AND`; `1` when there are none.
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

    /// `other`'s clauses and values after these.
    pub(crate) fn and(&mut self, other: Where) {
        self.clauses.extend(other.clauses);
        self.params.extend(other.params);
    }

    /// `column` (a `DateTime64(9)`) within `range`.
    pub(crate) fn range(&mut self, column: &str, range: &TimeRange) {
        if let Some(start) = range.start_unix_nano {
            self.push(format!("{column} >= {}", time(start)), []);
        }
        if let Some(end) = range.end_unix_nano {
            self.push(format!("{column} < {}", time(end)), []);
        }
    }

    /// `text` found in `column`, ASCII case ignored (as SQLite's `LIKE`).
    fn contains(&mut self, column: &str, text: Option<&String>) {
        if let Some(t) = text {
            self.push(
                format!("positionCaseInsensitive({column}, ?) > 0"),
                [Param::Text(t.clone())],
            );
        }
    }

    /// Binds the values to `query`, in order.
    pub(crate) fn bind(&self, mut query: clickhouse::query::Query) -> clickhouse::query::Query {
        for p in &self.params {
            query = query.bind(p.clone());
        }
        query
    }
}

/// A time in nanoseconds as a `DateTime64(9)` literal.
pub(crate) fn time(ns: u64) -> String {
    format!(
        "fromUnixTimestamp64Nano(toInt64({}))",
        i64::try_from(ns).unwrap_or(i64::MAX)
    )
}

/// A time in nanoseconds, in whole seconds, as a `DateTime` literal.
pub(crate) fn time_seconds(ns: u64) -> String {
    format!("toDateTime({}, 'UTC')", ns / 1_000_000_000)
}

/// `bytes` as a string literal, every byte escaped.
pub(crate) fn bytes_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 + 2);
    out.push('\'');
    for b in bytes {
        let _ = write!(out, "\\x{b:02x}");
    }
    out.push('\'');
    out
}

/// A trace id as a literal of its 16 bytes (compared with a `FixedString(16)`).
pub(crate) fn trace_id(id: TraceId) -> String {
    bytes_literal(&id.to_bytes())
}

/// A span id as a literal of its 8 bytes (compared with a `FixedString(8)`).
pub(crate) fn span_id(id: SpanId) -> String {
    bytes_literal(&id.to_bytes())
}

/// Trace ids, comma-separated literals (for `IN (…)`).
pub(crate) fn trace_ids<'a>(ids: impl Iterator<Item = &'a TraceId>) -> String {
    ids.map(|&id| trace_id(id)).collect::<Vec<_>>().join(", ")
}

/// A span billable: priced, or no aggregate and an LLM or embedding call or reporting input or
/// output tokens (mirrors `agentrace_store::is_unpriced`).
pub(crate) const BILLABLE: &str = "(cost_total IS NOT NULL OR (aggregate = 0 \
     AND (kind IN ('llm', 'embedding') OR input_tokens <> 0 OR output_tokens <> 0)))";

/// A billable span without a price.
pub(crate) const UNPRICED: &str = crate::schema::UNPRICED_SQL;

/// Span fields shared by span and trace filters.
pub(crate) struct SpanFields<'a> {
    pub(crate) service: Option<&'a String>,
    pub(crate) kind: Option<&'static str>,
    pub(crate) model: Option<&'a String>,
    pub(crate) agent: Option<&'a String>,
    pub(crate) session: Option<&'a String>,
    pub(crate) user: Option<&'a String>,
    pub(crate) name_contains: Option<&'a String>,
}

pub(crate) fn span_fields(w: &mut Where, f: &SpanFields<'_>) {
    w.text("service_name = ?", f.service);
    if let Some(kind) = f.kind {
        w.push("kind = ?", [Param::Text(kind.to_owned())]);
    }
    if let Some(model) = f.model {
        w.push(
            "(request_model = ? OR response_model = ?)",
            [Param::Text(model.clone()), Param::Text(model.clone())],
        );
    }
    w.text("agent_name = ?", f.agent);
    w.text("session_id = ?", f.session);
    w.text("user_id = ?", f.user);
    w.contains("name", f.name_contains);
}

/// The clauses of a [`SpanFilter`] over `spans`.
pub(crate) fn spans(w: &mut Where, f: &SpanFilter) {
    w.range("start", &f.range);
    if let Some(t) = f.trace_id {
        w.push(format!("trace_id = {}", trace_id(t)), []);
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
    w.text("provider = ?", f.provider.as_ref());
    w.text("framework = ?", f.framework.as_ref());
    w.text("tool_name = ?", f.tool.as_ref());
    w.text(&format!("{MCP_SERVER_SQL} = ?"), f.mcp_server.as_ref());
    status(w, f.status, "status_code = 2", "status_code <> 2");
    if let Some(d) = f.min_duration_ns {
        w.push(
            format!("{DURATION} >= {}", i64::try_from(d).unwrap_or(i64::MAX)),
            [],
        );
    }
    match f.billable {
        Some(true) => w.push(BILLABLE, []),
        Some(false) => w.push(format!("NOT {BILLABLE}"), []),
        None => {}
    }
    if let Some(a) = &f.resource_attribute {
        // The key given whole (`JSONExtract*` read a key, not a path); a string value only.
        let has = "JSONType(resource_attributes, ?) = 'String' \
                   AND JSONExtractString(resource_attributes, ?) = ?";
        let mut params = vec![
            Param::Text(a.key.clone()),
            Param::Text(a.key.clone()),
            Param::Text(a.value.clone()),
        ];
        if a.or_absent {
            params.push(Param::Text(a.key.clone()));
            w.push(
                format!("(({has}) OR NOT JSONHas(resource_attributes, ?))"),
                params,
            );
        } else {
            w.push(format!("({has})"), params);
        }
    }
}

/// A span's duration in nanoseconds.
pub(crate) const DURATION: &str = "(toUnixTimestamp64Nano(end) - toUnixTimestamp64Nano(start))";

pub(crate) fn status(w: &mut Where, f: Option<StatusFilter>, error: &str, ok: &str) {
    match f {
        Some(StatusFilter::Error) => w.push(error, []),
        Some(StatusFilter::Ok) => w.push(ok, []),
        None => {}
    }
}

/// The clauses of an [`EventFilter`] over `events`.
pub(crate) fn events(w: &mut Where, f: &EventFilter) {
    w.range("time", &f.range);
    if let Some(t) = f.trace_id {
        w.push(format!("trace_id = {}", trace_id(t)), []);
    }
    if let Some(s) = f.span_id {
        w.push(format!("span_id = {}", span_id(s)), []);
    }
    w.text("kind = ?", f.kind.as_ref());
    if let Some(level) = f.min_level {
        let at_least: Vec<String> = agentrace_core::Level::ALL
            .into_iter()
            .filter(|l| *l >= level)
            .map(|l| format!("'{}'", l.as_str()))
            .collect();
        w.push(format!("level IN ({})", at_least.join(", ")), []);
    }
    w.text("service_name = ?", f.service.as_ref());
    w.text("session_id = ?", f.session.as_ref());
    w.text("agent_id = ?", f.agent_id.as_ref());
    w.contains("message", f.message_contains.as_ref());
}

/// A cursor: a tag letter saying which query made it, then its key as text fields joined by
/// `~` (numbers in decimal, ids in hex).
pub(crate) fn cursor(tag: char, fields: &[String]) -> Cursor {
    Cursor::from(format!("{tag}{}", fields.join("~")))
}

/// The fields of a cursor made with `tag`, exactly `n` of them.
pub(crate) fn cursor_fields(c: &Cursor, tag: char, n: usize) -> Result<Vec<String>, QueryError> {
    let invalid = || QueryError::InvalidCursor(c.as_str().to_owned());
    let rest = c.as_str().strip_prefix(tag).ok_or_else(invalid)?;
    let fields: Vec<String> = rest.split('~').map(str::to_owned).collect();
    if fields.len() != n {
        return Err(invalid());
    }
    Ok(fields)
}

/// A cursor field as a number.
pub(crate) fn number(c: &Cursor, field: &str) -> Result<i64, QueryError> {
    field
        .parse()
        .map_err(|_| QueryError::InvalidCursor(c.as_str().to_owned()))
}

/// A cursor field as a trace id.
pub(crate) fn trace_id_field(c: &Cursor, field: &str) -> Result<TraceId, QueryError> {
    field
        .parse()
        .map_err(|_| QueryError::InvalidCursor(c.as_str().to_owned()))
}

/// A cursor field as a span id.
pub(crate) fn span_id_field(c: &Cursor, field: &str) -> Result<SpanId, QueryError> {
    field
        .parse()
        .map_err(|_| QueryError::InvalidCursor(c.as_str().to_owned()))
}
