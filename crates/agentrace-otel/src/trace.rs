//! [`SpanRecord`] → OpenTelemetry SDK [`SpanData`], every GenAI field kept.
//!
//! A record's typed fields were lifted out of its attributes when it was recorded (see
//! [`agentrace_core::normalize`]); this module puts them back, under their canonical names, so
//! an OTLP receiver sees one current dialect whatever the emitter spoke:
//!
//! | record field | span |
//! |---|---|
//! | `trace_id`, `span_id`, `parent_span_id` | span context (sampled, not remote), parent span id (invalid for a root) |
//! | `name`, `start_time_unix_nano`, `end_time_unix_nano` | name, start and end times |
//! | `kind` | OTel span kind (`Client` for llm, embedding and retriever spans, `Internal` otherwise) and `agentrace.kind` |
//! | `status` | status: `Ok`, `Unset`, or `Error` with the message as description; a message on a non-error status goes to `otel.status_message` |
//! | `scope` | instrumentation scope name ([`DEFAULT_SCOPE`] when unset) |
//! | `operation`, `provider` | `gen_ai.operation.name`, `gen_ai.provider.name` |
//! | `request_model`, `response_model` | `gen_ai.request.model`, `gen_ai.response.model` |
//! | `usage` | `gen_ai.usage.input_tokens`, `.output_tokens`, `.cache_read.input_tokens`, `.cache_creation.input_tokens`, `.reasoning.output_tokens`, `agentrace.usage.cache_write_1h.input_tokens` (integers; zero counts, meaning "not reported", are left out) |
//! | `cost` | [`COST_TOTAL`] (`gen_ai.usage.cost`, OpenLIT's name) and [`COST_INPUT`], [`COST_CACHE_READ`], [`COST_CACHE_WRITE`], [`COST_OUTPUT`], in USD (doubles); absent when unpriced |
//! | `session_id`, `user_id`, `correlation_id` | `gen_ai.conversation.id`, `user.id`, `agentrace.correlation_id` |
//! | `agent_name`, `agent_id` | `gen_ai.agent.name`, `gen_ai.agent.id` |
//! | `tool_name`, `tool_call_id` | `gen_ai.tool.name`, `gen_ai.tool.call.id` |
//! | `framework` | `agentrace.framework` |
//! | `attributes` | every one, after the fields above; one whose key a field already emitted is left out, so keys are unique |
//! | `events` | span events with their attributes |
//! | `resource` | not part of `SpanData`: the exporter carries it ([`resource`](crate::resource)) |
//!
//! Booleans, integers, doubles, strings and arrays of one of those keep their types. Values
//! OpenTelemetry span attributes cannot hold (maps, mixed or nested arrays) are sent as their
//! JSON text, as the GenAI conventions allow for structured values. Records have no span links;
//! the data carries none.
//!
//! Reading the attributes back through [`SpanNormalizer`](agentrace_core::normalize::SpanNormalizer)
//! gives the record again (the tests of this module check it for every fixture).
//!
//! ```
//! use agentrace_core::testing::fixtures;
//! use agentrace_core::TraceId;
//! use opentelemetry::KeyValue;
//!
//! let record = fixtures::llm_span(TraceId::random(), None, 1_700_000_000_000_000_000);
//! let data = agentrace_otel::trace::span_data(&record);
//! assert_eq!(data.name, "chat gpt-4o");
//! assert!(data.attributes.contains(&KeyValue::new("gen_ai.usage.cache_read.input_tokens", 1_000i64)));
//! assert!(data.attributes.contains(&KeyValue::new("gen_ai.usage.cost", 0.00515)));
//! ```

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentrace_core::semconv::{agentrace, gen_ai, openinference, otel};
use agentrace_core::{
    AttributeValue, Attributes, Cost, SpanKind as RecordKind, SpanRecord, SpanStatus, StatusCode,
    Text, TokenUsage,
};
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

pub use agentrace_core::semconv::agentrace::{
    COST_CACHE_READ, COST_CACHE_WRITE, COST_INPUT, COST_OUTPUT, COST_TOTAL,
};

/// The instrumentation scope of records that name none.
pub const DEFAULT_SCOPE: &str = "agentrace";

/// The record as a receiver reads it back after [`span_data`]: the same, but for attribute
/// values OpenTelemetry span attributes cannot hold (maps), which travel as JSON text.
pub fn as_exported(record: &SpanRecord) -> SpanRecord {
    let mut exported = record.clone();
    exported.attributes = record
        .attributes
        .iter()
        .map(|(k, v)| match v {
            AttributeValue::Map(_) => (k.to_owned(), AttributeValue::String(v.to_string())),
            other => (k.to_owned(), other.clone()),
        })
        .collect();
    exported
}

/// The SDK span data of a record.
pub fn span_data(record: &SpanRecord) -> SpanData {
    let mut events = SpanEvents::default();
    events.events = record
        .events
        .iter()
        .map(|e| {
            Event::new(
                e.name.clone(),
                system_time(e.time_unix_nano),
                key_values(&e.attributes),
                0,
            )
        })
        .collect();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(record.trace_id.to_bytes()),
            SpanId::from_bytes(record.span_id.to_bytes()),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: record
            .parent_span_id
            .map_or(SpanId::INVALID, |p| SpanId::from_bytes(p.to_bytes())),
        parent_span_is_remote: false,
        span_kind: record_span_kind(record),
        name: Cow::Owned(record.name.to_string()),
        start_time: system_time(record.start_time_unix_nano),
        end_time: system_time(record.end_time_unix_nano),
        attributes: attributes(record),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: status(&record.status),
        instrumentation_scope: scope(record.scope.as_ref()),
    }
}

/// The OpenTelemetry span kind of a record: the one it says it is (`otel.kind`: an MCP client's
/// or server's span, a received span's), else [`span_kind`] of its agentrace kind.
pub fn record_span_kind(record: &SpanRecord) -> SpanKind {
    let said = record
        .attributes
        .get(otel::KIND)
        .and_then(|v| v.as_str())
        .map(str::to_ascii_lowercase);
    match said.as_deref() {
        Some("client") => SpanKind::Client,
        Some("server") => SpanKind::Server,
        Some("producer") => SpanKind::Producer,
        Some("consumer") => SpanKind::Consumer,
        Some("internal") => SpanKind::Internal,
        _ => span_kind(record.kind),
    }
}

/// The OpenTelemetry span kind of an agentrace kind: calls to a model or a data source are
/// `Client`, the rest `Internal` (GenAI conventions, span kinds).
pub fn span_kind(kind: RecordKind) -> SpanKind {
    match kind {
        RecordKind::Llm | RecordKind::Embedding | RecordKind::Retriever => SpanKind::Client,
        _ => SpanKind::Internal,
    }
}

/// The span status: `Error` carries the message as its description.
pub fn status(status: &SpanStatus) -> Status {
    match status.code {
        StatusCode::Unset => Status::Unset,
        StatusCode::Ok => Status::Ok,
        StatusCode::Error => Status::error(status.message.clone().unwrap_or_default()),
    }
}

/// An instrumentation scope named `name`, or [`DEFAULT_SCOPE`].
pub fn scope(name: Option<&Cow<'static, str>>) -> InstrumentationScope {
    InstrumentationScope::builder(name.cloned().unwrap_or(Cow::Borrowed(DEFAULT_SCOPE))).build()
}

/// The span's attributes: its typed fields under their canonical names, then its own
/// attributes, each key once (a field wins over an attribute of the same key).
pub fn attributes(record: &SpanRecord) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(record.attributes.len() + 24);
    out.push(KeyValue::new(agentrace::KIND, record.kind.as_str()));
    if record.status.code != StatusCode::Error
        && let Some(message) = &record.status.message
    {
        out.push(KeyValue::new(otel::STATUS_MESSAGE, message.clone()));
    }
    for (key, text) in [
        (gen_ai::OPERATION_NAME, &record.operation),
        (gen_ai::PROVIDER_NAME, &record.provider),
        (gen_ai::REQUEST_MODEL, &record.request_model),
        (gen_ai::RESPONSE_MODEL, &record.response_model),
        (gen_ai::CONVERSATION_ID, &record.session_id),
        (openinference::USER_ID, &record.user_id),
        (agentrace::CORRELATION_ID, &record.correlation_id),
        (gen_ai::AGENT_NAME, &record.agent_name),
        (gen_ai::AGENT_ID, &record.agent_id),
        (gen_ai::TOOL_NAME, &record.tool_name),
        (gen_ai::TOOL_CALL_ID, &record.tool_call_id),
        (agentrace::FRAMEWORK, &record.framework),
    ] {
        if let Some(text) = text {
            out.push(KeyValue::new(key, text_value(text)));
        }
    }
    usage_attributes(&record.usage, &mut out);
    if let Some(cost) = &record.cost {
        cost_attributes(cost, &mut out);
    }
    let typed = out.len();
    for (key, value) in record.attributes.iter() {
        if !out[..typed].iter().any(|kv| kv.key.as_str() == key) {
            out.push(key_value(key, value));
        }
    }
    out
}

fn usage_attributes(usage: &TokenUsage, out: &mut Vec<KeyValue>) {
    for (key, count) in usage.attributes() {
        // Counts above i64::MAX cannot be reported by any provider; saturate rather than wrap.
        out.push(KeyValue::new(key, i64::try_from(count).unwrap_or(i64::MAX)));
    }
}

fn cost_attributes(cost: &Cost, out: &mut Vec<KeyValue>) {
    for (key, usd) in [
        (COST_TOTAL, cost.total),
        (COST_INPUT, cost.input),
        (COST_CACHE_READ, cost.cache_read),
        (COST_CACHE_WRITE, cost.cache_write),
        (COST_OUTPUT, cost.output),
    ] {
        out.push(KeyValue::new(key, usd.dollars()));
    }
}

/// Attributes as OpenTelemetry key-values, in order.
pub fn key_values(attributes: &Attributes) -> Vec<KeyValue> {
    attributes.iter().map(|(k, v)| key_value(k, v)).collect()
}

/// One attribute as an OpenTelemetry key-value.
pub fn key_value(key: &str, value: &AttributeValue) -> KeyValue {
    KeyValue::new(Key::from(key.to_owned()), self::value(value))
}

/// An attribute value as an OpenTelemetry span attribute value. Scalars and homogeneous arrays
/// of scalars keep their type; maps and mixed or nested arrays become their JSON text.
pub fn value(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::Bool(v) => Value::Bool(*v),
        AttributeValue::I64(v) => Value::I64(*v),
        AttributeValue::F64(v) => Value::F64(*v),
        AttributeValue::String(v) => Value::String(StringValue::from(v.clone())),
        AttributeValue::Array(items) => homogeneous_array(items)
            .map_or_else(|| Value::String(value.to_string().into()), Value::Array),
        AttributeValue::Map(_) => Value::String(value.to_string().into()),
    }
}

/// The array if every item is a scalar of the first item's type (an empty array is a string
/// array, as OTLP cannot tell).
fn homogeneous_array(items: &[AttributeValue]) -> Option<Array> {
    fn all<T>(
        items: &[AttributeValue],
        f: impl Fn(&AttributeValue) -> Option<T>,
    ) -> Option<Vec<T>> {
        items.iter().map(f).collect()
    }
    match items.first() {
        None | Some(AttributeValue::String(_)) => all(items, |v| match v {
            AttributeValue::String(s) => Some(StringValue::from(s.clone())),
            _ => None,
        })
        .map(Array::String),
        Some(AttributeValue::Bool(_)) => all(items, |v| match v {
            AttributeValue::Bool(b) => Some(*b),
            _ => None,
        })
        .map(Array::Bool),
        Some(AttributeValue::I64(_)) => all(items, |v| match v {
            AttributeValue::I64(i) => Some(*i),
            _ => None,
        })
        .map(Array::I64),
        Some(AttributeValue::F64(_)) => all(items, |v| match v {
            AttributeValue::F64(f) => Some(*f),
            _ => None,
        })
        .map(Array::F64),
        Some(AttributeValue::Array(_) | AttributeValue::Map(_)) => None,
    }
}

fn text_value(text: &Text) -> Value {
    Value::String(StringValue::from(text.to_string()))
}

/// Unix nanoseconds as a `SystemTime`.
pub(crate) fn system_time(unix_nano: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nano)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use agentrace_core::normalize::SpanNormalizer;
    use agentrace_core::testing::fixtures::{llm_span, sample_spans};
    use agentrace_core::{SpanEvent, Usd};

    use super::*;

    /// The reverse of `value`, for the round trip.
    fn attribute_value(value: &Value) -> AttributeValue {
        match value {
            Value::Bool(v) => AttributeValue::Bool(*v),
            Value::I64(v) => AttributeValue::I64(*v),
            Value::F64(v) => AttributeValue::F64(*v),
            Value::String(v) => AttributeValue::String(v.to_string()),
            Value::Array(Array::Bool(v)) => {
                AttributeValue::Array(v.iter().map(|b| AttributeValue::Bool(*b)).collect())
            }
            Value::Array(Array::I64(v)) => {
                AttributeValue::Array(v.iter().map(|i| AttributeValue::I64(*i)).collect())
            }
            Value::Array(Array::F64(v)) => {
                AttributeValue::Array(v.iter().map(|f| AttributeValue::F64(*f)).collect())
            }
            Value::Array(Array::String(v)) => AttributeValue::Array(
                v.iter()
                    .map(|s| AttributeValue::String(s.to_string()))
                    .collect(),
            ),
            other => panic!("unexpected value {other:?}"),
        }
    }

    fn to_time(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// Reads span data back into a record the way an OTLP receiver would: the normalizer lifts
    /// the GenAI fields, the cost attributes make the cost.
    fn read_back(data: &SpanData, template: &SpanRecord) -> SpanRecord {
        let mut record = SpanRecord::new(
            agentrace_core::TraceId::from_bytes(data.span_context.trace_id().to_bytes()),
            agentrace_core::SpanId::from_bytes(data.span_context.span_id().to_bytes()),
            data.name.to_string(),
            to_time(data.start_time),
            to_time(data.end_time),
            template.resource.clone(),
        );
        record.parent_span_id = (data.parent_span_id != SpanId::INVALID)
            .then(|| agentrace_core::SpanId::from_bytes(data.parent_span_id.to_bytes()));
        record.status = match &data.status {
            Status::Unset => SpanStatus::default(),
            Status::Ok => SpanStatus {
                code: StatusCode::Ok,
                message: None,
            },
            Status::Error { description } => SpanStatus::error(description.to_string()),
        };
        let scope = data.instrumentation_scope.name();
        record.scope = (scope != DEFAULT_SCOPE).then(|| Cow::Owned(scope.to_owned()));
        let mut cost = BTreeMap::new();
        let mut normalizer = SpanNormalizer::new();
        for kv in &data.attributes {
            let key = kv.key.as_str();
            let value = attribute_value(&kv.value);
            if [
                COST_TOTAL,
                COST_INPUT,
                COST_CACHE_READ,
                COST_CACHE_WRITE,
                COST_OUTPUT,
            ]
            .contains(&key)
            {
                cost.insert(key.to_owned(), value.as_f64().map(Usd::from_dollars));
            } else if !normalizer.offer_value(&mut record, key, &value) {
                record.attributes.insert(key.to_owned(), value);
            }
        }
        normalizer.finish(&mut record);
        if !cost.is_empty() {
            let get = |k: &str| cost.get(k).copied().flatten().unwrap_or_default();
            record.cost = Some(Cost {
                input: get(COST_INPUT),
                cache_read: get(COST_CACHE_READ),
                cache_write: get(COST_CACHE_WRITE),
                output: get(COST_OUTPUT),
                total: get(COST_TOTAL),
            });
        }
        record.events = data
            .events
            .iter()
            .map(|e| SpanEvent {
                name: e.name.to_string(),
                time_unix_nano: to_time(e.timestamp),
                attributes: e
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.as_str().to_owned(), attribute_value(&kv.value)))
                    .collect(),
            })
            .collect();
        record
    }

    #[test]
    fn every_field_of_every_fixture_round_trips() {
        let trace = agentrace_core::TraceId::random();
        let spans = sample_spans(trace, 1_700_000_000_000_000_000);
        assert!(spans.len() > 10);
        for record in &spans {
            let data = span_data(record);
            assert_eq!(
                read_back(&data, record),
                as_exported(record),
                "{}",
                record.name
            );
        }
    }

    #[test]
    fn genai_fields_have_their_canonical_names_and_types() {
        let record = llm_span(agentrace_core::TraceId::random(), None, 1_000);
        let data = span_data(&record);
        let get = |k: &str| {
            data.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(get("gen_ai.operation.name"), Some("chat".into()));
        assert_eq!(get("gen_ai.provider.name"), Some("openai".into()));
        assert_eq!(get("gen_ai.request.model"), Some("gpt-4o".into()));
        assert_eq!(
            get("gen_ai.response.model"),
            Some("gpt-4o-2024-08-06".into())
        );
        assert_eq!(get("gen_ai.usage.input_tokens"), Some(1_200i64.into()));
        assert_eq!(get("gen_ai.usage.output_tokens"), Some(340i64.into()));
        assert_eq!(
            get("gen_ai.usage.cache_read.input_tokens"),
            Some(1_000i64.into())
        );
        assert_eq!(
            get("gen_ai.usage.reasoning.output_tokens"),
            Some(12i64.into())
        );
        assert_eq!(get("gen_ai.usage.cache_creation.input_tokens"), None);
        assert_eq!(get("gen_ai.usage.cost"), Some(0.00515.into()));
        assert_eq!(get("agentrace.cost.cache_read"), Some(0.00125.into()));
        assert_eq!(get("gen_ai.conversation.id"), Some("session-1".into()));
        assert_eq!(get("user.id"), Some("user-1".into()));
        assert_eq!(get("gen_ai.agent.name"), Some("researcher".into()));
        assert_eq!(get("gen_ai.agent.id"), Some("agent-7".into()));
        assert_eq!(get("agentrace.framework"), Some("rig".into()));
        assert_eq!(get("agentrace.kind"), Some("llm".into()));
        assert_eq!(get("gen_ai.request.temperature"), Some(0.2.into()));
        assert_eq!(get("gen_ai.request.stream"), Some(false.into()));
        assert_eq!(
            get("gen_ai.response.finish_reasons"),
            Some(Value::Array(Array::String(vec!["stop".into()])))
        );
        assert_eq!(data.span_kind, SpanKind::Client);
        assert_eq!(data.instrumentation_scope.name(), "agentrace::conformance");
        assert_eq!(data.events.len(), 1);
    }

    #[test]
    fn keys_are_unique_and_a_field_wins_over_a_stale_attribute() {
        let mut record = llm_span(agentrace_core::TraceId::random(), None, 1_000);
        record.attributes.insert("gen_ai.request.model", "stale");
        record.attributes.insert("agentrace.kind", "tool");
        let data = span_data(&record);
        let mut keys: Vec<_> = data.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
        assert!(
            data.attributes
                .contains(&KeyValue::new("gen_ai.request.model", "gpt-4o"))
        );
        assert!(
            data.attributes
                .contains(&KeyValue::new("agentrace.kind", "llm"))
        );
    }

    #[test]
    fn values_keep_their_types_or_become_json() {
        assert_eq!(value(&AttributeValue::I64(i64::MAX)), Value::I64(i64::MAX));
        assert_eq!(value(&AttributeValue::F64(2.0)), Value::F64(2.0));
        assert_eq!(
            value(&AttributeValue::Array(vec![1i64.into(), 2i64.into()])),
            Value::Array(Array::I64(vec![1, 2]))
        );
        assert_eq!(
            value(&AttributeValue::Array(vec![true.into()])),
            Value::Array(Array::Bool(vec![true]))
        );
        assert_eq!(
            value(&AttributeValue::Array(vec![0.5.into()])),
            Value::Array(Array::F64(vec![0.5]))
        );
        assert_eq!(
            value(&AttributeValue::Array(vec![])),
            Value::Array(Array::String(vec![]))
        );
        assert_eq!(
            value(&AttributeValue::Array(vec![1i64.into(), "x".into()])),
            Value::from(r#"[1,"x"]"#)
        );
        assert_eq!(
            value(&AttributeValue::Array(vec![AttributeValue::Array(vec![])])),
            Value::from("[[]]")
        );
        let map = AttributeValue::Map([("a".to_owned(), 1i64.into())].into_iter().collect());
        assert_eq!(value(&map), Value::from(r#"{"a":1}"#));
    }

    #[test]
    fn status_and_kinds() {
        assert_eq!(status(&SpanStatus::error("boom")), Status::error("boom"));
        assert_eq!(status(&SpanStatus::default()), Status::Unset);
        let mut ok = llm_span(agentrace_core::TraceId::random(), None, 1);
        ok.status = SpanStatus {
            code: StatusCode::Ok,
            message: Some("fine".into()),
        };
        let data = span_data(&ok);
        assert_eq!(data.status, Status::Ok);
        assert!(
            data.attributes
                .contains(&KeyValue::new("otel.status_message", "fine"))
        );
        assert_eq!(read_back(&data, &ok).status, ok.status);
        for kind in RecordKind::ALL {
            let expected = matches!(
                kind,
                RecordKind::Llm | RecordKind::Embedding | RecordKind::Retriever
            );
            assert_eq!(span_kind(kind) == SpanKind::Client, expected, "{kind}");
        }
        // A span that says its kind keeps it: an MCP server's handler is a server span.
        let mut served = ok.clone();
        served.kind = RecordKind::Mcp;
        served.attributes.insert(otel::KIND, "server");
        assert_eq!(span_data(&served).span_kind, SpanKind::Server);
        served.attributes.insert(otel::KIND, "Client");
        assert_eq!(span_data(&served).span_kind, SpanKind::Client);
        served.attributes.insert(otel::KIND, "sideways");
        assert_eq!(span_data(&served).span_kind, SpanKind::Internal);
    }
}
