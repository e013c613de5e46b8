//! Spans and events as the rows of their tables, both ways.

use std::borrow::Cow;
use std::sync::Arc;

use agentrace_core::{
    AttributeValue, Attributes, Cost, Event, EventKind, Level, Resource, SpanEvent, SpanId,
    SpanKind, SpanRecord, SpanStatus, StatusCode, Text, TokenUsage, TraceId, Usd,
};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::schema::VIEW_ATTRIBUTES;

/// A stored value that does not decode: what, and why.
#[derive(Debug, thiserror::Error)]
#[error("a stored {what} does not decode: {reason}")]
pub struct DecodeError {
    what: &'static str,
    reason: String,
}

impl DecodeError {
    pub(crate) fn new(what: &'static str, reason: impl ToString) -> Self {
        Self {
            what,
            reason: reason.to_string(),
        }
    }

    /// What does not decode.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Why.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A row of `spans` (see [`crate::schema`]): times in nanoseconds, money in nano-dollars.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub(crate) struct SpanRow {
    project: u32,
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: Option<[u8; 8]>,
    name: String,
    kind: String,
    start: i64,
    end: i64,
    status_code: u8,
    status_message: Option<String>,
    service_name: String,
    resource_attributes: String,
    scope: Option<String>,
    operation: Option<String>,
    provider: Option<String>,
    request_model: Option<String>,
    response_model: Option<String>,
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    cache_write_1h_tokens: u64,
    reasoning_tokens: Option<u64>,
    cost_input: Option<i64>,
    cost_cache_read: Option<i64>,
    cost_cache_write: Option<i64>,
    cost_output: Option<i64>,
    cost_total: Option<i64>,
    aggregate: u8,
    session_id: Option<String>,
    user_id: Option<String>,
    correlation_id: Option<String>,
    agent_name: Option<String>,
    agent_id: Option<String>,
    tool_name: Option<String>,
    tool_call_id: Option<String>,
    framework: Option<String>,
    attributes: Vec<(String, String)>,
    events: String,
    version: u64,
    node: String,
    arrived: i64,
    sign: i8,
}

/// Which write a row comes from: its project, its version (a newer one replaces an older one),
/// the node that first stored the span and when (a rewrite keeps all three but the version).
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    pub(crate) project: u32,
    pub(crate) version: u64,
    pub(crate) node: String,
    pub(crate) arrived: i64,
}

/// A row of `events`, keyed by [`event_key`].
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
pub(crate) struct EventRow {
    project: u32,
    time: i64,
    level: String,
    kind: String,
    message: String,
    service_name: String,
    resource_attributes: String,
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
    session_id: Option<String>,
    correlation_id: Option<String>,
    agent_id: Option<String>,
    framework: Option<String>,
    scope: Option<String>,
    attributes: Vec<(String, String)>,
    node: String,
    arrived: i64,
    event_key: u64,
}

/// An event's key: the first 8 bytes of the SHA-256 of its JSON, the same on every node and
/// build for the same event.
pub(crate) fn event_key(e: &Event) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(serde_json::to_vec(e).unwrap_or_default());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Nanoseconds since the epoch as `DateTime64(9)` stores them (times past 2262 saturate).
fn time(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

fn text(t: Option<&Text>) -> Option<String> {
    t.map(|t| t.as_str().to_owned())
}

/// Attributes as a `Map(String, String)` of JSON values: their keys queryable, their values'
/// types kept.
fn attribute_map(attributes: &Attributes) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|(k, v)| {
            let json = serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned());
            (k.to_owned(), json)
        })
        .collect()
}

fn attributes_from_map(map: Vec<(String, String)>) -> Result<Attributes, DecodeError> {
    map.into_iter()
        .map(|(k, v)| {
            serde_json::from_str::<AttributeValue>(&v)
                .map(|v| (k, v))
                .map_err(|e| DecodeError::new("attribute", e))
        })
        .collect()
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    s: &str,
) -> Result<T, DecodeError> {
    serde_json::from_str(s).map_err(|e| DecodeError::new(what, e))
}

fn resource(service_name: String, attributes: &str) -> Result<Arc<Resource>, DecodeError> {
    let mut r = Resource::new(service_name);
    r.attributes = from_json("resource", attributes)?;
    Ok(Arc::new(r))
}

const fn status_code(code: StatusCode) -> u8 {
    match code {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

fn status_from(code: u8) -> Result<StatusCode, DecodeError> {
    match code {
        0 => Ok(StatusCode::Unset),
        1 => Ok(StatusCode::Ok),
        2 => Ok(StatusCode::Error),
        other => Err(DecodeError::new("status code", other)),
    }
}

impl SpanRow {
    /// The row of `span` (an aggregate if `aggregate`), stamped.
    pub(crate) fn new(s: &SpanRecord, aggregate: bool, stamp: Stamp) -> Self {
        let cost = s.cost.as_ref();
        Self {
            project: stamp.project,
            trace_id: s.trace_id.to_bytes(),
            span_id: s.span_id.to_bytes(),
            parent_span_id: s.parent_span_id.map(SpanId::to_bytes),
            name: s.name.as_str().to_owned(),
            kind: s.kind.as_str().to_owned(),
            start: time(s.start_time_unix_nano),
            end: time(s.end_time_unix_nano),
            status_code: status_code(s.status.code),
            status_message: s.status.message.clone(),
            service_name: s.resource.service_name.clone(),
            resource_attributes: json(&s.resource.attributes),
            scope: s.scope.as_deref().map(str::to_owned),
            operation: text(s.operation.as_ref()),
            provider: text(s.provider.as_ref()),
            request_model: text(s.request_model.as_ref()),
            response_model: text(s.response_model.as_ref()),
            input_tokens: s.usage.input_tokens,
            output_tokens: s.usage.output_tokens,
            cache_read_tokens: s.usage.cache_read_tokens,
            cache_write_tokens: s.usage.cache_write_tokens,
            cache_write_1h_tokens: s.usage.cache_write_1h_tokens,
            reasoning_tokens: s.usage.reasoning_tokens,
            cost_input: cost.map(|c| c.input.nanos()),
            cost_cache_read: cost.map(|c| c.cache_read.nanos()),
            cost_cache_write: cost.map(|c| c.cache_write.nanos()),
            cost_output: cost.map(|c| c.output.nanos()),
            cost_total: cost.map(|c| c.total.nanos()),
            aggregate: u8::from(aggregate),
            session_id: text(s.session_id.as_ref()),
            user_id: text(s.user_id.as_ref()),
            correlation_id: text(s.correlation_id.as_ref()),
            agent_name: text(s.agent_name.as_ref()),
            agent_id: text(s.agent_id.as_ref()),
            tool_name: text(s.tool_name.as_ref()),
            tool_call_id: text(s.tool_call_id.as_ref()),
            framework: text(s.framework.as_ref()),
            attributes: attribute_map(&s.attributes),
            events: json(&s.events),
            version: stamp.version,
            node: stamp.node,
            arrived: stamp.arrived,
            sign: 1,
        }
    }

    /// Its stamp with a version newer than both its own and `at_least`: a rewrite's.
    pub(crate) fn restamp(&self, at_least: u64) -> Stamp {
        Stamp {
            project: self.project,
            version: at_least.max(self.version + 1),
            node: self.node.clone(),
            arrived: self.arrived,
        }
    }

    /// The row that cancels this one in the views (the same version, `sign` -1), written
    /// before the row that replaces it, in the same insert. It is never read as a span (the
    /// replacing row's version is newer), so it carries only what the views count: its
    /// events, resource, status message and the attributes the views do not read
    /// ([`VIEW_ATTRIBUTES`]) are left out (most of a row's bytes).
    pub(crate) fn cancelling(&self) -> Self {
        Self {
            sign: -1,
            status_message: None,
            resource_attributes: String::new(),
            attributes: self
                .attributes
                .iter()
                .filter(|(k, _)| VIEW_ATTRIBUTES.contains(&k.as_str()))
                .cloned()
                .collect(),
            events: String::new(),
            ..self.clone()
        }
    }

    /// When the span was first stored.
    pub(crate) fn arrived(&self) -> i64 {
        self.arrived
    }

    /// Whether it is an aggregate.
    pub(crate) fn is_aggregate(&self) -> bool {
        self.aggregate != 0
    }

    /// The span the row holds.
    pub(crate) fn into_record(self) -> Result<SpanRecord, DecodeError> {
        let kind = self
            .kind
            .parse::<SpanKind>()
            .map_err(|e| DecodeError::new("span kind", e))?;
        let mut s = SpanRecord::new(
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
            self.name,
            u64::try_from(self.start).unwrap_or(0),
            u64::try_from(self.end).unwrap_or(0),
            resource(self.service_name, &self.resource_attributes)?,
        );
        s.parent_span_id = self.parent_span_id.map(SpanId::from_bytes);
        s.kind = kind;
        s.status = SpanStatus {
            code: status_from(self.status_code)?,
            message: self.status_message,
        };
        s.scope = self.scope.map(Cow::Owned);
        s.operation = self.operation.map(Text::from);
        s.provider = self.provider.map(Text::from);
        s.request_model = self.request_model.map(Text::from);
        s.response_model = self.response_model.map(Text::from);
        s.usage = TokenUsage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            cache_write_1h_tokens: self.cache_write_1h_tokens,
            reasoning_tokens: self.reasoning_tokens,
        };
        s.cost = self.cost_total.map(|total| Cost {
            input: Usd::from_nanos(self.cost_input.unwrap_or(0)),
            cache_read: Usd::from_nanos(self.cost_cache_read.unwrap_or(0)),
            cache_write: Usd::from_nanos(self.cost_cache_write.unwrap_or(0)),
            output: Usd::from_nanos(self.cost_output.unwrap_or(0)),
            total: Usd::from_nanos(total),
        });
        s.session_id = self.session_id.map(Text::from);
        s.user_id = self.user_id.map(Text::from);
        s.correlation_id = self.correlation_id.map(Text::from);
        s.agent_name = self.agent_name.map(Text::from);
        s.agent_id = self.agent_id.map(Text::from);
        s.tool_name = self.tool_name.map(Text::from);
        s.tool_call_id = self.tool_call_id.map(Text::from);
        s.framework = self.framework.map(Text::from);
        s.attributes = attributes_from_map(self.attributes)?;
        s.events = from_json::<Vec<SpanEvent>>("span events", &self.events)?;
        Ok(s)
    }
}

impl EventRow {
    /// The row of `project`'s `e`, stored by `node` at `arrived`.
    pub(crate) fn new(e: &Event, project: u32, node: &str, arrived: i64) -> Self {
        Self {
            project,
            time: time(e.time_unix_nano),
            level: e.level.as_str().to_owned(),
            kind: e.kind.as_str().to_owned(),
            message: e.message.clone(),
            service_name: e.resource.service_name.clone(),
            resource_attributes: json(&e.resource.attributes),
            trace_id: e.trace_id.map(TraceId::to_bytes),
            span_id: e.span_id.map(SpanId::to_bytes),
            session_id: text(e.session_id.as_ref()),
            correlation_id: text(e.correlation_id.as_ref()),
            agent_id: text(e.agent_id.as_ref()),
            framework: text(e.framework.as_ref()),
            scope: e.scope.as_deref().map(str::to_owned),
            attributes: attribute_map(&e.attributes),
            node: node.to_owned(),
            arrived,
            event_key: event_key(e),
        }
    }

    /// When it was stored.
    pub(crate) fn arrived(&self) -> i64 {
        self.arrived
    }

    /// Its key.
    pub(crate) fn key(&self) -> u64 {
        self.event_key
    }

    pub(crate) fn into_event(self) -> Result<Event, DecodeError> {
        let level = self
            .level
            .parse::<Level>()
            .map_err(|e| DecodeError::new("event level", e))?;
        let mut e = Event::new(
            u64::try_from(self.time).unwrap_or(0),
            level,
            EventKind::from_name(&self.kind),
            self.message,
            resource(self.service_name, &self.resource_attributes)?,
        );
        e.trace_id = self.trace_id.map(TraceId::from_bytes);
        e.span_id = self.span_id.map(SpanId::from_bytes);
        e.session_id = self.session_id.map(Text::from);
        e.correlation_id = self.correlation_id.map(Text::from);
        e.agent_id = self.agent_id.map(Text::from);
        e.framework = self.framework.map(Text::from);
        e.scope = self.scope.map(Cow::Owned);
        e.attributes = attributes_from_map(self.attributes)?;
        Ok(e)
    }
}

/// A span's row as stored: which span, which version of it.
pub(crate) trait Versioned {
    /// Its trace and span.
    fn ids(&self) -> (TraceId, SpanId);
    /// Its version: the newest replaces the others.
    fn version(&self) -> u64;
}

impl Versioned for SpanRow {
    fn ids(&self) -> (TraceId, SpanId) {
        (
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
        )
    }

    fn version(&self) -> u64 {
        self.version
    }
}
