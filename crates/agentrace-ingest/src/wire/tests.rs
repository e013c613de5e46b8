use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    metric,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(key: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue("v".into()))
}

/// A value nested `depth` deep: arrays in kvlists in arrays…
fn nested(depth: u32) -> any_value::Value {
    let mut value = any_value::Value::IntValue(1);
    for level in 0..depth {
        let inner = AnyValue { value: Some(value) };
        value = if level % 2 == 0 {
            any_value::Value::ArrayValue(ArrayValue {
                values: vec![inner],
            })
        } else {
            any_value::Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "k".into(),
                    value: Some(inner),
                    ..Default::default()
                }],
            })
        };
    }
    value
}

fn traces(spans: usize, attributes: usize, depth: u32) -> Vec<u8> {
    let span = Span {
        trace_id: vec![1; 16],
        span_id: vec![2; 8],
        name: "chat".into(),
        attributes: (0..attributes).map(|i| text(&format!("a{i}"))).collect(),
        events: vec![Event {
            attributes: vec![text("e")],
            ..Default::default()
        }],
        links: vec![Link {
            attributes: vec![kv("deep", nested(depth))],
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    attributes: vec![text("s")],
                    ..Default::default()
                }),
                spans: vec![span; spans],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn spans_and_their_key_values_are_counted_as_decoding_would_find_them() -> TestResult {
    let counted = count_traces(&traces(3, 4, 2), &WireLimits::default())?;
    assert_eq!(counted.records, 3);
    // Resource 1 + scope 1 + per span: 4 attributes, 1 event attribute, 1 link attribute, and
    // the kvlist's pair inside the nested value.
    assert_eq!(counted.key_values, 2 + 3 * (4 + 1 + 1 + 1));
    assert_eq!(counted.depth, 2);
    assert!(counted.messages > counted.key_values);
    Ok(())
}

#[test]
fn log_records_and_data_points_are_the_records_of_their_signals() -> TestResult {
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        body: Some(AnyValue {
                            value: Some(nested(3))
                        }),
                        attributes: vec![text("a")],
                        ..Default::default()
                    };
                    5
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let counted = count_logs(&logs.encode_to_vec(), &WireLimits::default())?;
    assert_eq!(
        (counted.records, counted.key_values, counted.depth),
        (5, 5 + 5, 3)
    );

    let point = NumberDataPoint {
        attributes: vec![text("a"), text("b")],
        ..Default::default()
    };
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "g".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point; 4],
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "h".into(),
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                attributes: vec![text("a")],
                                ..Default::default()
                            }],
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let counted = count_metrics(&metrics.encode_to_vec(), &WireLimits::default())?;
    assert_eq!((counted.records, counted.key_values), (5, 4 * 2 + 1));
    Ok(())
}

#[test]
fn a_request_over_a_limit_is_refused_before_decoding() -> TestResult {
    let limits = WireLimits {
        max_records: 10,
        max_key_values: 100,
        max_depth: 4,
    };
    assert_eq!(
        count_traces(&traces(10, 1, 1), &limits).map(|c| c.records),
        Ok(10)
    );
    let err = count_traces(&traces(11, 1, 1), &limits)
        .err()
        .ok_or("accepted")?;
    assert!(
        matches!(
            err,
            WireError::TooMany {
                what: "records",
                limit: 10,
                ..
            }
        ),
        "{err}"
    );
    let err = count_traces(&traces(2, 60, 1), &limits)
        .err()
        .ok_or("accepted")?;
    assert!(err.to_string().contains("key-value pairs"), "{err}");
    assert!(count_traces(&traces(1, 1, 4), &limits).is_ok());
    let err = count_traces(&traces(1, 1, 5), &limits)
        .err()
        .ok_or("accepted")?;
    assert!(matches!(err, WireError::TooDeep { limit: 4 }), "{err}");
    Ok(())
}

#[test]
fn malformed_bytes_are_refused_and_what_prost_decodes_is_counted() -> TestResult {
    let good = traces(2, 3, 2);
    // Every truncation of a good request: refused or counted, never a panic; and whenever
    // prost decodes it, so does the count (the walk is never stricter than the decoder).
    for cut in 0..good.len() {
        let bytes = &good[..cut];
        let counted = count_traces(bytes, &WireLimits::default());
        if ExportTraceServiceRequest::decode(bytes).is_ok() {
            assert!(counted.is_ok(), "cut at {cut}: {counted:?}");
        }
    }
    // Flipped bytes likewise.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2_000 {
        let mut bytes = good.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % bytes.len() as u64) as usize;
            bytes[at] = (state >> 32) as u8;
        }
        let counted = count_traces(&bytes, &WireLimits::default());
        if let Ok(decoded) = ExportTraceServiceRequest::decode(&bytes[..]) {
            let spans: usize = decoded
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            assert_eq!(counted.map(|c| c.records), Ok(spans as u64));
        }
    }
    assert_eq!(
        count_traces(&[0x0a, 0x05, 0x01], &WireLimits::default()),
        Err(WireError::Malformed("a field longer than the message"))
    );
    // An unknown group is skipped, as prost skips it.
    let group = [0x1b, 0x08, 0x01, 0x1c];
    assert!(ExportTraceServiceRequest::decode(&group[..]).is_ok());
    assert_eq!(
        count_traces(&group, &WireLimits::default()).map(|c| c.records),
        Ok(0)
    );
    Ok(())
}

/// Unknown groups nested as deep as prost still decodes them are counted, not refused (found
/// by the `otlp_protobuf` fuzz target: 64 levels were refused, prost takes about 100); deeper
/// than prost's limit they are refused, as prost refuses them.
#[test]
fn groups_nested_as_deep_as_prost_takes_them_are_counted() {
    // Field 5 of a logs request: a group's start tag is 0x2b, its end tag 0x2c.
    let nested = |depth: usize| [vec![0x2b; depth], vec![0x2c; depth]].concat();
    let deep = nested(80);
    assert!(ExportLogsServiceRequest::decode(&deep[..]).is_ok());
    assert_eq!(
        count_logs(&deep, &WireLimits::default()).map(|c| c.records),
        Ok(0)
    );
    let too_deep = nested(PROST_RECURSION_LIMIT + 1);
    assert!(ExportLogsServiceRequest::decode(&too_deep[..]).is_err());
    assert_eq!(
        count_logs(&too_deep, &WireLimits::default()).map(|c| c.records),
        Err(WireError::Malformed("groups nested too deep"))
    );
}
