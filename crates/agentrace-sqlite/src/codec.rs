//! How record fields map to SQL values, both ways (documented in `docs/sql-schema.md`).
//!
//! - ids: BLOBs of their raw bytes (16 for traces, 8 for spans);
//! - `u64` times, durations and token counts: INTEGER holding the same 64 bits, so that every
//!   value round-trips (values above `i64::MAX`, after the year 2262, read back exactly but
//!   sort as negative numbers);
//! - kinds: their lower-case name; status: the OpenTelemetry code (0 unset, 1 ok, 2 error);
//!   event levels: their OpenTelemetry severity number;
//! - attributes, span events: JSON text, NULL when empty.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use agentrace_core::{
    AttributeValue, Attributes, Cost, Event, EventKind, Level, Resource, SpanEvent, SpanId,
    SpanKind, SpanRecord, SpanStatus, StatusCode, Text, TokenUsage, TraceId, Usd,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

pub(crate) use agentrace_store::{attributes_json, json};

use crate::content::PieceCache;
use crate::error::Db;
use agentrace_store::QueryError;

/// A `u64` as the INTEGER with the same bits.
pub(crate) const fn to_sql(v: u64) -> i64 {
    v as i64
}

/// The `u64` stored by [`to_sql`].
pub(crate) const fn from_sql(v: i64) -> u64 {
    v as u64
}

/// A range bound: values above `i64::MAX` clamp to it.
pub(crate) fn bound(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// OpenTelemetry status code numbers.
pub(crate) const fn status_to_sql(code: StatusCode) -> i64 {
    match code {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

/// The SQL value of [`StatusCode::Error`].
pub(crate) const STATUS_ERROR: i64 = 2;

fn status_from_sql(v: i64) -> Result<StatusCode, QueryError> {
    match v {
        0 => Ok(StatusCode::Unset),
        1 => Ok(StatusCode::Ok),
        2 => Ok(StatusCode::Error),
        other => Err(QueryError::decode(
            "span status",
            format!("unknown code {other}"),
        )),
    }
}

pub(crate) fn level_from_sql(v: i64) -> Result<Level, QueryError> {
    Level::ALL
        .into_iter()
        .find(|l| i64::from(l.severity_number()) == v)
        .ok_or_else(|| QueryError::decode("event level", format!("unknown severity {v}")))
}

pub(crate) use agentrace_store::is_unpriced;

/// A total's reasoning count, from the sum of its spans' counts: unknown (`None`) when zero.
/// Totals keep sums, not which spans reported a count; a sum of zero says that none reported
/// reasoning tokens spent, so a total shows "unknown" rather than a zero that may not be one.
pub(crate) fn total_reasoning(sum: u64) -> Option<u64> {
    (sum > 0).then_some(sum)
}

// ---- reading columns ----

pub(crate) fn int(row: &Row<'_>, idx: usize) -> Result<i64, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Integer(v) => Ok(v),
        ValueRef::Null => Ok(0),
        // Sums that overflowed INTEGER arithmetic became REAL; saturate.
        ValueRef::Real(v) => Ok(v as i64),
        _ => Err(QueryError::decode("integer column", "not a number")),
    }
}

pub(crate) fn opt_int(row: &Row<'_>, idx: usize) -> Result<Option<i64>, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Null => Ok(None),
        _ => int(row, idx).map(Some),
    }
}

/// A non-negative count or sum (REAL sums from `TOTAL()` included), saturating.
pub(crate) fn count(row: &Row<'_>, idx: usize) -> Result<u64, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Integer(v) => Ok(u64::try_from(v).unwrap_or(0)),
        ValueRef::Real(v) => Ok(v as u64),
        ValueRef::Null => Ok(0),
        _ => Err(QueryError::decode("count", "not a number")),
    }
}

pub(crate) fn text(row: &Row<'_>, idx: usize) -> Result<String, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Text(t) => {
            String::from_utf8(t.to_vec()).map_err(|e| QueryError::decode("text column", e))
        }
        ValueRef::Null => Ok(String::new()),
        _ => Err(QueryError::decode("text column", "not text")),
    }
}

pub(crate) fn opt_text(row: &Row<'_>, idx: usize) -> Result<Option<String>, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Null => Ok(None),
        _ => text(row, idx).map(Some),
    }
}

fn opt_str<'r>(row: &'r Row<'_>, idx: usize) -> Result<Option<&'r str>, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Some)
            .map_err(|e| QueryError::decode("JSON column", e)),
        _ => Err(QueryError::decode("JSON column", "not text")),
    }
}

fn blob<const N: usize>(
    row: &Row<'_>,
    idx: usize,
    what: &'static str,
) -> Result<[u8; N], QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Blob(b) => <[u8; N]>::try_from(b)
            .map_err(|_| QueryError::decode(what, format!("{} bytes, expected {N}", b.len()))),
        _ => Err(QueryError::decode(what, "not a BLOB")),
    }
}

pub(crate) fn trace_id(row: &Row<'_>, idx: usize) -> Result<TraceId, QueryError> {
    blob::<16>(row, idx, "trace id").map(TraceId::from_bytes)
}

pub(crate) fn span_id(row: &Row<'_>, idx: usize) -> Result<SpanId, QueryError> {
    blob::<8>(row, idx, "span id").map(SpanId::from_bytes)
}

pub(crate) fn opt_trace_id(row: &Row<'_>, idx: usize) -> Result<Option<TraceId>, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Null => Ok(None),
        _ => trace_id(row, idx).map(Some),
    }
}

pub(crate) fn opt_span_id(row: &Row<'_>, idx: usize) -> Result<Option<SpanId>, QueryError> {
    match row.get_ref(idx).db()? {
        ValueRef::Null => Ok(None),
        _ => span_id(row, idx).map(Some),
    }
}

pub(crate) fn opt_usd(row: &Row<'_>, idx: usize) -> Result<Option<Usd>, QueryError> {
    Ok(opt_int(row, idx)?.map(Usd::from_nanos))
}

// ---- JSON ----

/// Decodes an attributes object; NULL is empty.
pub(crate) fn attributes(text: Option<&str>) -> Result<Attributes, QueryError> {
    let Some(text) = text else {
        return Ok(Attributes::new());
    };
    match serde_json::from_str::<Attributes>(text) {
        Ok(attrs) => Ok(attrs),
        Err(strict) => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| attributes_from_value(&v))
            .ok_or_else(|| QueryError::decode("attributes", strict)),
    }
}

/// Lenient decoding: JSON has no NaN nor infinities, so serde_json writes non-finite floats as
/// `null`; read them back as NaN rather than failing the whole query.
fn attributes_from_value(v: &serde_json::Value) -> Option<Attributes> {
    let mut attrs = Attributes::new();
    for (k, v) in v.as_object()? {
        attrs.insert(k.clone(), attribute_from_value(v));
    }
    Some(attrs)
}

fn attribute_from_value(v: &serde_json::Value) -> AttributeValue {
    use serde_json::Value;
    match v {
        Value::Null => AttributeValue::F64(f64::NAN),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AttributeValue::I64(i),
            None => AttributeValue::F64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => AttributeValue::String(s.clone()),
        Value::Array(items) => {
            AttributeValue::Array(items.iter().map(attribute_from_value).collect())
        }
        Value::Object(map) => AttributeValue::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), attribute_from_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Decodes span events; NULL is none.
fn span_events(text: Option<&str>) -> Result<Vec<SpanEvent>, QueryError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    match serde_json::from_str::<Vec<SpanEvent>>(text) {
        Ok(events) => Ok(events),
        Err(strict) => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| {
                v.as_array()?
                    .iter()
                    .map(|e| {
                        Some(SpanEvent {
                            name: e.get("name")?.as_str()?.to_owned(),
                            time_unix_nano: e.get("time_unix_nano")?.as_u64()?,
                            attributes: match e.get("attributes") {
                                Some(a) => attributes_from_value(a)?,
                                None => Attributes::new(),
                            },
                        })
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| QueryError::decode("span events", strict)),
    }
}

// ---- records ----

/// What the spans of one query share: their resources (by `Arc`) and content pieces.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    by_id: HashMap<i64, Arc<Resource>>,
    pieces: PieceCache,
}

impl ReadCache {
    pub(crate) fn get(&mut self, conn: &Connection, id: i64) -> Result<Arc<Resource>, QueryError> {
        if let Some(r) = self.by_id.get(&id) {
            return Ok(r.clone());
        }
        let mut stmt = conn
            .prepare_cached("SELECT service_name, attributes FROM resources WHERE id = ?1")
            .db()?;
        let mut rows = stmt.query([id]).db()?;
        let Some(row) = rows.next().db()? else {
            return Err(QueryError::decode(
                "resource",
                format!("resource {id} is missing"),
            ));
        };
        let resource = Arc::new(Resource {
            service_name: text(row, 0)?,
            attributes: attributes(opt_str(row, 1)?)?,
        });
        self.by_id.insert(id, resource.clone());
        Ok(resource)
    }
}

/// The columns [`span`] decodes, in order, for a `spans` table aliased `s`. The reasoning count
/// is `NULL` where it was not reported (`reasoning_reported`, schema version 10); `s.content`
/// (schema version 15) names the content values kept apart ([`crate::content`]).
pub(crate) const SPAN_COLUMNS: &str = "s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, \
     s.start_ns, s.end_ns, s.status_code, s.status_message, s.resource_id, s.scope, s.operation, \
     s.provider, s.request_model, s.response_model, s.input_tokens, s.output_tokens, \
     s.cache_read_tokens, s.cache_write_tokens, \
     CASE WHEN s.reasoning_reported THEN s.reasoning_tokens END, s.cost_input, \
     s.cost_cache_read, s.cost_cache_write, s.cost_output, s.cost_total, s.session_id, \
     s.user_id, s.correlation_id, s.agent_name, s.agent_id, s.tool_name, s.tool_call_id, \
     s.framework, s.attributes, s.events, s.cache_write_1h_tokens, s.content";

/// How many columns [`SPAN_COLUMNS`] names.
pub(crate) const SPAN_COLUMN_COUNT: usize = 37;

/// Decodes a row selected with [`SPAN_COLUMNS`].
pub(crate) fn span(
    row: &Row<'_>,
    conn: &Connection,
    cache: &mut ReadCache,
) -> Result<SpanRecord, QueryError> {
    let mut attributes = attributes(opt_str(row, 33)?)?;
    if let Some(column) = opt_str(row, 36)? {
        cache.pieces.restore(conn, column, &mut attributes)?;
    }
    let kind_name = text(row, 4)?;
    let kind = kind_name
        .parse::<SpanKind>()
        .map_err(|e| QueryError::decode("span kind", e))?;
    let cost = match opt_int(row, 24)? {
        None => None,
        Some(total) => Some(Cost {
            input: Usd::from_nanos(int(row, 20)?),
            cache_read: Usd::from_nanos(int(row, 21)?),
            cache_write: Usd::from_nanos(int(row, 22)?),
            output: Usd::from_nanos(int(row, 23)?),
            total: Usd::from_nanos(total),
        }),
    };
    Ok(SpanRecord {
        trace_id: trace_id(row, 0)?,
        span_id: span_id(row, 1)?,
        parent_span_id: opt_span_id(row, 2)?,
        name: text(row, 3)?.into(),
        kind,
        start_time_unix_nano: from_sql(int(row, 5)?),
        end_time_unix_nano: from_sql(int(row, 6)?),
        status: SpanStatus {
            code: status_from_sql(int(row, 7)?)?,
            message: opt_text(row, 8)?,
        },
        resource: cache.get(conn, int(row, 9)?)?,
        scope: opt_text(row, 10)?.map(std::borrow::Cow::Owned),
        operation: opt_text(row, 11)?.map(Text::from),
        provider: opt_text(row, 12)?.map(Text::from),
        request_model: opt_text(row, 13)?.map(Text::from),
        response_model: opt_text(row, 14)?.map(Text::from),
        usage: TokenUsage {
            input_tokens: from_sql(int(row, 15)?),
            output_tokens: from_sql(int(row, 16)?),
            cache_read_tokens: from_sql(int(row, 17)?),
            cache_write_tokens: from_sql(int(row, 18)?),
            cache_write_1h_tokens: from_sql(int(row, 35)?),
            reasoning_tokens: opt_int(row, 19)?.map(from_sql),
        },
        cost,
        session_id: opt_text(row, 25)?.map(Text::from),
        user_id: opt_text(row, 26)?.map(Text::from),
        correlation_id: opt_text(row, 27)?.map(Text::from),
        agent_name: opt_text(row, 28)?.map(Text::from),
        agent_id: opt_text(row, 29)?.map(Text::from),
        tool_name: opt_text(row, 30)?.map(Text::from),
        tool_call_id: opt_text(row, 31)?.map(Text::from),
        framework: opt_text(row, 32)?.map(Text::from),
        attributes,
        events: span_events(opt_str(row, 34)?)?,
    })
}

/// The columns [`event`] decodes, in order, for an `events` table aliased `e`.
pub(crate) const EVENT_COLUMNS: &str = "e.time_ns, e.event_hash, e.level, e.kind, e.message, \
     e.resource_id, e.trace_id, e.span_id, e.session_id, e.correlation_id, e.agent_id, \
     e.framework, e.scope, e.attributes";

/// Decodes a row selected with [`EVENT_COLUMNS`].
pub(crate) fn event(
    row: &Row<'_>,
    conn: &Connection,
    resources: &mut ReadCache,
) -> Result<Event, QueryError> {
    Ok(Event {
        time_unix_nano: from_sql(int(row, 0)?),
        level: level_from_sql(int(row, 2)?)?,
        kind: EventKind::from_name(&text(row, 3)?),
        message: text(row, 4)?,
        resource: resources.get(conn, int(row, 5)?)?,
        trace_id: opt_trace_id(row, 6)?,
        span_id: opt_span_id(row, 7)?,
        session_id: opt_text(row, 8)?.map(Text::from),
        correlation_id: opt_text(row, 9)?.map(Text::from),
        agent_id: opt_text(row, 10)?.map(Text::from),
        framework: opt_text(row, 11)?.map(Text::from),
        scope: opt_text(row, 12)?.map(std::borrow::Cow::Owned),
        attributes: attributes(opt_str(row, 13)?)?,
    })
}

/// Runs a prepared statement with `?1`, `?2`, … bound to the values in order, each through its
/// own type's `ToSql` rather than `params!`'s `&dyn ToSql`: for the span row's 40 parameters
/// binding took 16–17 % of the writer's time through `params!`, 11 % this way (docs/benchmark-notebook.md
/// §7.3). Like `params!`, it refuses a count of values other than the statement's parameters, so
/// none keeps a previous row's value.
macro_rules! execute_typed {
    ($stmt:expr, [$($value:expr),+ $(,)?]) => {
        (|| -> rusqlite::Result<usize> {
            let mut index = 0_usize;
            $(
                index += 1;
                $stmt.raw_bind_parameter(index, &$value)?;
            )+
            let expected = $stmt.parameter_count();
            if index != expected {
                return Err(rusqlite::Error::InvalidParameterCount(index, expected));
            }
            $stmt.raw_execute()
        })()
    };
}
pub(crate) use execute_typed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_round_trips_through_i64() {
        for v in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(from_sql(to_sql(v)), v);
        }
        assert_eq!(bound(u64::MAX), i64::MAX);
        assert_eq!(bound(7), 7);
    }

    #[test]
    fn non_finite_floats_read_back_as_nan() -> Result<(), QueryError> {
        let mut attrs = Attributes::new();
        attrs.insert("nan", f64::NAN);
        attrs.insert("n", 3i64);
        let json = serde_json::to_string(&attrs).map_err(|e| QueryError::decode("test", e))?;
        assert_eq!(json, r#"{"nan":null,"n":3}"#);
        let back = attributes(Some(&json))?;
        assert!(matches!(back.get("nan"), Some(AttributeValue::F64(v)) if v.is_nan()));
        assert_eq!(back.get("n"), Some(&AttributeValue::I64(3)));
        assert!(attributes(Some("[1, 2")).is_err());
        Ok(())
    }

    #[test]
    fn unpriced_means_billable_without_cost() {
        let none = TokenUsage::default();
        assert!(is_unpriced(SpanKind::Llm, &none, false, false));
        assert!(is_unpriced(
            SpanKind::Other,
            &TokenUsage::new(1, 0),
            false,
            false
        ));
        assert!(!is_unpriced(SpanKind::Tool, &none, false, false));
        assert!(!is_unpriced(SpanKind::Llm, &none, true, false));
        assert!(
            !is_unpriced(SpanKind::Llm, &none, false, true),
            "an aggregate is no call"
        );
    }

    #[test]
    fn execute_typed_binds_every_parameter_and_refuses_a_short_list() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
            .expect("table");
        let mut insert = conn
            .prepare("INSERT INTO t (a, b) VALUES (?1, ?2)")
            .expect("prepare");
        let text: Option<String> = Some("x".into());
        assert_eq!(execute_typed!(insert, [7_i64, text]).expect("insert"), 1);
        assert!(matches!(
            execute_typed!(insert, [8_i64]),
            Err(rusqlite::Error::InvalidParameterCount(1, 2))
        ));
        let none: Option<&str> = None;
        assert_eq!(execute_typed!(insert, [9_i64, none]).expect("insert"), 1);
        let rows: Vec<(i64, Option<String>)> = conn
            .prepare("SELECT a, b FROM t ORDER BY a")
            .expect("select")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows, vec![(7, Some("x".into())), (9, None)]);
    }
}
