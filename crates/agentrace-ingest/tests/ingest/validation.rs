//! Bad input: every rejected item is counted with a clear reason, nothing panics, and what is
//! accepted is the same as if the bad items had not been sent.

use agentrace_core::SpanRecord;
use agentrace_core::semconv::agentrace::INGEST_TRUNCATED;
use agentrace_ingest::{Decoded, Ingestor, Limits};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValueList, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::Event};
use prost::Message;

use crate::common::{
    DAY, NOW, SECOND, T0, TestResult, ingest, int, kv, request, span, string, strings,
};

fn good(id: u8) -> Span {
    span(
        id,
        None,
        &format!("good {id}"),
        0,
        1,
        strings(&[("gen_ai.operation.name", "chat")]),
    )
}

/// `bad` rejected with a reason containing `reason`, between two good spans that are accepted
/// exactly as they are when sent alone.
fn rejected(bad: Span, reason: &str) {
    let alone = ingest(vec![good(1), good(2)]);
    let mixed = ingest(vec![good(1), bad, good(2)]);
    assert_eq!(mixed.rejected, 1, "{reason}: {:?}", mixed.errors);
    assert_eq!(mixed.errors.len(), 1);
    assert!(
        mixed.errors[0].contains(reason),
        "{:?} should say {reason:?}",
        mixed.errors[0]
    );
    assert_eq!(mixed.records, alone.records, "{reason}");
}

#[test]
fn bad_ids() {
    for (trace_id, reason) in [
        (vec![1; 15], "trace id has 15 bytes, expected 16"),
        (vec![1; 17], "trace id has 17 bytes, expected 16"),
        (vec![], "trace id has 0 bytes, expected 16"),
        (vec![0; 16], "trace id is all zeros"),
    ] {
        rejected(
            Span {
                trace_id,
                ..good(9)
            },
            reason,
        );
    }
    for (span_id, reason) in [
        (vec![9; 4], "span id has 4 bytes, expected 8"),
        (vec![], "span id has 0 bytes, expected 8"),
        (vec![0; 8], "span id is all zeros"),
    ] {
        rejected(Span { span_id, ..good(9) }, reason);
    }
    rejected(
        Span {
            parent_span_id: vec![3; 16],
            ..good(9)
        },
        "parent span id has 16 bytes, expected 8",
    );
    // The message names the span.
    let decoded = ingest(vec![Span {
        trace_id: vec![0xab; 3],
        ..good(9)
    }]);
    assert_eq!(
        decoded.errors,
        vec![
            "span \"good 9\" (trace ababab, span 0909090909090909): trace id has 3 bytes, expected 16"
                .to_owned()
        ]
    );
    // An empty or all-zero parent is a root.
    for parent_span_id in [vec![], vec![0; 8]] {
        let decoded = ingest(vec![Span {
            parent_span_id,
            ..good(9)
        }]);
        assert_eq!(decoded.records[0].parent_span_id, None);
    }
}

#[test]
fn absurd_times() {
    let at = |start: u64, end: u64| Span {
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..good(9)
    };
    rejected(at(0, T0), "start time is not set");
    rejected(at(T0, 0), "end time is not set");
    rejected(
        at(T0 + SECOND, T0),
        "ends (1760000000000000000) before it starts",
    );
    rejected(
        at(1, 2),
        "start time 1 is 20370 days before now, more than the limit of 366",
    );
    rejected(at(T0 - 3_650 * DAY, T0), "days before now");
    rejected(at(T0, T0 + 3_650 * DAY), "end time");
    rejected(
        at(T0 + 3_650 * DAY, T0 + 3_651 * DAY),
        "hours after now, more than the limit of 24",
    );
    rejected(at(u64::MAX - 1, u64::MAX), "after now");
    // Within the limits: a day-old span and one from a clock a little ahead.
    assert_eq!(ingest(vec![at(NOW - DAY, NOW - DAY + 1)]).rejected, 0);
    assert_eq!(ingest(vec![at(NOW, NOW + 3_600 * SECOND)]).rejected, 0);
    // Equal start and end: a zero-length span is fine.
    assert_eq!(ingest(vec![at(T0, T0)]).rejected, 0);
}

fn many_attributes(n: usize) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    (0..n)
        .map(|i| kv(&format!("k{i}"), int(i as i64)))
        .collect()
}

#[test]
fn ten_thousand_attributes() {
    rejected(
        Span {
            attributes: many_attributes(10_000),
            ..good(9)
        },
        "10000 attributes on the span, more than the limit of 1024",
    );
    rejected(
        Span {
            events: vec![Event {
                name: "e".into(),
                time_unix_nano: T0,
                attributes: many_attributes(10_000),
                ..Event::default()
            }],
            ..good(9)
        },
        "10000 attributes on the span event, more than the limit of 1024",
    );
    // At the limit: accepted.
    assert_eq!(
        ingest(vec![Span {
            attributes: many_attributes(1_024),
            ..good(9)
        }])
        .records[0]
            .attributes
            .len(),
        1_024
    );
    // On the resource: every span of it is rejected, once each, with one reason.
    let mut req = request(vec![good(1), good(2), good(3)]);
    if let Some(resource) = req.resource_spans[0].resource.as_mut() {
        resource.attributes = many_attributes(10_000);
    }
    let mut other = request(vec![good(4)]);
    req.resource_spans.append(&mut other.resource_spans);
    let decoded = Ingestor::new(Limits::default()).traces(req, NOW);
    assert_eq!(decoded.rejected, 3);
    assert_eq!(
        decoded.errors,
        vec![
            "3 spans: the resource: 10000 attributes on the resource, more than the limit of 1024"
                .to_owned()
        ]
    );
    assert_eq!(decoded.records.len(), 1);
}

fn nested(levels: usize) -> AnyValue {
    let mut value = string("leaf");
    for i in 0..levels {
        value = AnyValue {
            value: Some(if i % 2 == 0 {
                any_value::Value::ArrayValue(ArrayValue {
                    values: vec![value],
                })
            } else {
                any_value::Value::KvlistValue(KeyValueList {
                    values: vec![kv("k", value)],
                })
            }),
        };
    }
    value
}

#[test]
fn deep_nesting() -> TestResult {
    rejected(
        Span {
            attributes: vec![kv("deep", nested(200))],
            ..good(9)
        },
        "attribute \"deep\" nests deeper than the limit of 16 levels",
    );
    let kept = ingest(vec![Span {
        attributes: vec![kv("deep", nested(16))],
        ..good(9)
    }]);
    assert_eq!(kept.rejected, 0);
    // Through OTLP/JSON too (serde_json's own recursion limit allows about 25 levels).
    let mut value = r#"{"stringValue":"leaf"}"#.to_owned();
    for _ in 0..20 {
        value = format!(r#"{{"kvlistValue":{{"values":[{{"key":"k","value":{value}}}]}}}}"#);
    }
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"deep","startTimeUnixNano":"{T0}","endTimeUnixNano":"{T0}","attributes":[{{"key":"deep","value":{value}}}]}}]}}]}}]}}"#
    );
    let request: ExportTraceServiceRequest = serde_json::from_str(&json)?;
    let decoded = Ingestor::new(Limits::default()).traces(request, NOW);
    assert_eq!(decoded.rejected, 1);
    assert!(
        decoded.errors[0].contains("nests deeper"),
        "{:?}",
        decoded.errors
    );
    Ok(())
}

#[test]
fn too_many_values_events_and_long_keys() {
    let huge_array = AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![int(1); 100_000],
        })),
    };
    rejected(
        Span {
            attributes: vec![kv("big", huge_array)],
            ..good(9)
        },
        "attribute values hold more than the limit of 65536 values (at \"big\")",
    );
    rejected(
        Span {
            events: vec![Event::default(); 2_000],
            ..good(9)
        },
        "2000 events, more than the limit of 1024",
    );
    rejected(
        Span {
            attributes: vec![kv(&"k".repeat(300), int(1))],
            ..good(9)
        },
        "an attribute key of 300 bytes, more than the limit of 256",
    );
}

#[test]
fn oversize_strings_are_truncated_and_counted() {
    let limits = Limits::default();
    let big = "é".repeat(limits.max_string_bytes); // two bytes each
    let decoded = ingest(vec![Span {
        name: big.clone(),
        attributes: vec![
            kv("gen_ai.input.messages", string(&big)),
            kv("small", string("ok")),
        ],
        ..good(9)
    }]);
    assert_eq!(decoded.rejected, 0);
    let span = &decoded.records[0];
    assert_eq!(span.name.len(), limits.max_string_bytes);
    let Some(text) = span
        .attributes
        .get("gen_ai.input.messages")
        .and_then(|v| v.as_str())
    else {
        panic!("kept as text");
    };
    assert_eq!(text.len(), limits.max_string_bytes);
    assert!(text.chars().all(|c| c == 'é'));
    assert_eq!(
        span.attributes
            .get(INGEST_TRUNCATED)
            .and_then(|v| v.as_i64()),
        Some(2)
    );
    assert_eq!(
        span.attributes.get("small").and_then(|v| v.as_str()),
        Some("ok")
    );
}

#[test]
fn reasons_are_capped_but_every_rejection_is_counted() {
    let bad: Vec<Span> = (0..20u8)
        .map(|i| Span {
            trace_id: vec![i; 3],
            ..good(i + 1)
        })
        .collect();
    let decoded: Decoded<SpanRecord> = ingest(bad);
    assert_eq!(decoded.rejected, 20);
    assert_eq!(decoded.errors.len(), Limits::default().max_errors);
    assert!(
        decoded
            .error_message()
            .starts_with("20 rejected: span \"good 1\"")
    );
}

#[test]
fn odd_json_strings_are_kept_verbatim() -> TestResult {
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"nul\u0000 and \ud83d\ude00","startTimeUnixNano":"{T0}","endTimeUnixNano":"{T0}","attributes":[{{"key":"","value":{{"stringValue":"\u0001\u202e"}}}},{{"key":"int","value":{{"intValue":"-9223372036854775808"}}}},{{"key":"unknown","value":{{"fooValue":1}}}}]}}]}}]}}]}}"#
    );
    let request: ExportTraceServiceRequest = serde_json::from_str(&json)?;
    let decoded = Ingestor::new(Limits::default()).traces(request, NOW);
    assert_eq!(decoded.rejected, 0);
    let span = &decoded.records[0];
    assert_eq!(span.name, "nul\0 and 😀");
    assert_eq!(
        span.attributes.get("").and_then(|v| v.as_str()),
        Some("\u{1}\u{202e}")
    );
    assert_eq!(
        span.attributes.get("int").and_then(|v| v.as_i64()),
        Some(i64::MIN)
    );
    assert!(
        span.attributes.get("unknown").is_none(),
        "an empty value is left out"
    );
    // Lone surrogates are not UTF-8: serde refuses them before the ingestor sees anything.
    let lone = json.replace(r"\ud83d\ude00", r"\ud83d");
    assert!(serde_json::from_str::<ExportTraceServiceRequest>(&lone).is_err());
    Ok(())
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_protobuf_never_panics() -> TestResult {
    let text = crate::common::fixture_text("openinference.json")?;
    let request: ExportTraceServiceRequest = serde_json::from_str(&text)?;
    let bytes = request.encode_to_vec();
    let ingestor = Ingestor::new(Limits::default());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut decoded_ok, mut spans) = (0, 0);
    for _ in 0..3_000 {
        let mut mutated = bytes.clone();
        for _ in 0..1 + rng.next() % 8 {
            let i = (rng.next() % mutated.len() as u64) as usize;
            mutated[i] = rng.next() as u8;
        }
        if let Ok(request) = ExportTraceServiceRequest::decode(mutated.as_slice()) {
            decoded_ok += 1;
            let decoded = ingestor.traces(request, NOW);
            spans += decoded.records.len() + decoded.rejected as usize;
        }
    }
    assert!(decoded_ok > 100 && spans > 100, "{decoded_ok} {spans}");
    Ok(())
}
