//! Fixtures, request builders and the view of a record the tests compare.

use std::path::Path;

use agentrace_core::normalize::is_aggregate;
use agentrace_core::{AttributeValue, SpanKind, SpanRecord, StatusCode, TokenUsage};
use agentrace_ingest::{Decoded, Ingestor, Limits};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// When the fixtures' spans start (2025-10-09).
pub(crate) const T0: u64 = 1_760_000_000_000_000_000;
/// When they are received.
pub(crate) const NOW: u64 = T0 + 60 * SECOND;
pub(crate) const SECOND: u64 = 1_000_000_000;
pub(crate) const DAY: u64 = 86_400 * SECOND;

/// The JSON text of a fixture under `tests/data`.
pub(crate) fn fixture_text(name: &str) -> Result<String, std::io::Error> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(path)
}

/// A fixture decoded with serde as the server decodes OTLP/JSON, then ingested; nothing may
/// be rejected.
pub(crate) fn ingest_fixture(name: &str) -> Result<Vec<SpanRecord>, Box<dyn std::error::Error>> {
    let request: ExportTraceServiceRequest = serde_json::from_str(&fixture_text(name)?)?;
    let decoded = Ingestor::new(Limits::default()).traces(request, NOW);
    assert_eq!(decoded.rejected, 0, "{:?}", decoded.errors);
    assert!(decoded.errors.is_empty());
    Ok(decoded.records)
}

/// The span named `name`.
pub(crate) fn named<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    let mut found = spans.iter().filter(|s| s.name == name);
    match (found.next(), found.next()) {
        (Some(span), None) => span,
        _ => panic!("not exactly one span named {name:?}"),
    }
}

/// The typed fields of a record, for comparing all of them at once.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Fields {
    pub(crate) kind: SpanKind,
    pub(crate) provider: Option<&'static str>,
    pub(crate) request_model: Option<&'static str>,
    pub(crate) response_model: Option<&'static str>,
    pub(crate) usage: TokenUsage,
    pub(crate) session_id: Option<&'static str>,
    pub(crate) user_id: Option<&'static str>,
    pub(crate) agent_name: Option<&'static str>,
    pub(crate) agent_id: Option<&'static str>,
    pub(crate) tool_name: Option<&'static str>,
    pub(crate) tool_call_id: Option<&'static str>,
    pub(crate) framework: Option<&'static str>,
    pub(crate) error: Option<&'static str>,
    pub(crate) billable: bool,
    pub(crate) aggregate: bool,
}

/// The fields of `record`, leaked to `'static` for the comparison (tests only).
pub(crate) fn fields(record: &SpanRecord) -> Fields {
    fn leak(t: &Option<agentrace_core::Text>) -> Option<&'static str> {
        t.as_ref().map(|t| &*String::from(t.clone()).leak())
    }
    Fields {
        kind: record.kind,
        provider: leak(&record.provider),
        request_model: leak(&record.request_model),
        response_model: leak(&record.response_model),
        usage: record.usage,
        session_id: leak(&record.session_id),
        user_id: leak(&record.user_id),
        agent_name: leak(&record.agent_name),
        agent_id: leak(&record.agent_id),
        tool_name: leak(&record.tool_name),
        tool_call_id: leak(&record.tool_call_id),
        framework: leak(&record.framework),
        error: (record.status.code == StatusCode::Error)
            .then(|| &*record.status.message.clone().unwrap_or_default().leak()),
        billable: agentrace_core::cost::is_billable(record),
        aggregate: is_aggregate(record),
    }
}

/// Usage from its counts: input, output, cache read, cache write, reasoning (if reported).
pub(crate) fn usage(
    input: u64,
    output: u64,
    read: u64,
    write: u64,
    reasoning: Option<u64>,
) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_write_tokens: write,
        cache_write_1h_tokens: 0,
        reasoning_tokens: reasoning,
    }
}

/// The attribute value an OTLP/JSON `AnyValue` should become, computed independently of the
/// crate (bytes as base64 are left to the unit tests).
pub(crate) fn expected_value(json: &serde_json::Value) -> Option<AttributeValue> {
    let (kind, v) = json.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "stringValue" => AttributeValue::String(v.as_str()?.to_owned()),
        "boolValue" => AttributeValue::Bool(v.as_bool()?),
        "intValue" => AttributeValue::I64(v.as_str()?.parse().ok()?),
        "doubleValue" => AttributeValue::F64(v.as_f64()?),
        "bytesValue" => AttributeValue::String(v.as_str()?.to_owned()),
        "arrayValue" => AttributeValue::Array(
            v["values"]
                .as_array()?
                .iter()
                .filter_map(expected_value)
                .collect(),
        ),
        "kvlistValue" => AttributeValue::Map(
            v["values"]
                .as_array()?
                .iter()
                .filter_map(|kv| {
                    Some((
                        kv["key"].as_str()?.to_owned(),
                        expected_value(&kv["value"])?,
                    ))
                })
                .collect(),
        ),
        _ => return None,
    })
}

/// Asserts that every attribute of every span of a fixture is kept, with its value, in the
/// record of that span.
pub(crate) fn assert_raw_attributes_kept(fixture: &str, spans: &[SpanRecord]) -> TestResult {
    let json: serde_json::Value = serde_json::from_str(&fixture_text(fixture)?)?;
    let mut checked = 0;
    for resource in json["resourceSpans"].as_array().into_iter().flatten() {
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                let id = span["spanId"].as_str().unwrap_or_default();
                let record = spans
                    .iter()
                    .find(|s| s.span_id.to_string() == id)
                    .ok_or_else(|| format!("span {id} missing"))?;
                for kv in span["attributes"].as_array().into_iter().flatten() {
                    let key = kv["key"].as_str().unwrap_or_default();
                    assert_eq!(
                        record.attributes.get(key),
                        expected_value(&kv["value"]).as_ref(),
                        "{fixture}: {} {key}",
                        record.name
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20, "{fixture}: only {checked} attributes");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requests built in code.

pub(crate) fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    }
}

pub(crate) fn int(i: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(i)),
    }
}

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..KeyValue::default()
    }
}

/// String attributes.
pub(crate) fn strings(pairs: &[(&str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| kv(k, string(v))).collect()
}

/// A valid span of trace 1 with id `id` (non-zero), parent `parent`, lasting `start..end`
/// seconds after [`T0`].
pub(crate) fn span(
    id: u8,
    parent: Option<u8>,
    name: &str,
    start: u64,
    end: u64,
    attributes: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: vec![1; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.to_owned(),
        start_time_unix_nano: T0 + start * SECOND,
        end_time_unix_nano: T0 + end * SECOND,
        attributes,
        ..Span::default()
    }
}

/// A request with `spans` from one service.
pub(crate) fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: strings(&[("service.name", "test")]),
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The spans of `spans` ingested with default limits.
pub(crate) fn ingest(spans: Vec<Span>) -> Decoded<SpanRecord> {
    Ingestor::new(Limits::default()).traces(request(spans), NOW)
}

/// One span with `attributes`, ingested; it must be accepted.
pub(crate) fn one(attributes: Vec<KeyValue>) -> SpanRecord {
    let mut decoded = ingest(vec![span(1, None, "s", 0, 1, attributes)]);
    assert_eq!(decoded.rejected, 0, "{:?}", decoded.errors);
    decoded.records.remove(0)
}
