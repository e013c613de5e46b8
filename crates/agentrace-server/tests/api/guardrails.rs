//! `/guardrails`: checks, violations, blocks and masked data over a range.

use std::sync::Arc;

use agentrace_core::semconv::gen_ai;
use agentrace_core::{
    Event, EventKind, InstrumentKind, Level, Measurement, Resource, SpanId, SpanKind, SpanRecord,
    SpanStatus, TraceId,
};

use crate::support::{Api, T0, TestResult};

const MIN: u64 = 60_000_000_000;
/// Ten days after the fixtures, on the hour: nothing else is there.
const BASE: u64 = T0 - T0 % 3_600_000_000_000 + 240 * 60 * MIN;

fn check(name: &str, at: u64, failure: Option<&str>) -> SpanRecord {
    let mut s = SpanRecord::new(
        TraceId::random(),
        SpanId::random(),
        name,
        at,
        at + 1_000_000,
        Arc::new(Resource::new("guarded")),
    );
    s.kind = SpanKind::Guardrail;
    if let Some(kind) = failure {
        s.status = SpanStatus::error("blocked");
        s.attributes.insert(gen_ai::ERROR_TYPE, kind);
    }
    s
}

#[tokio::test]
async fn checks_violations_blocks_and_masked_data_by_kind() -> TestResult {
    let api = Api::start_with(|state| {
        let store = &state.configured_store;
        let spans = [
            check("pii check", BASE + 10 * MIN, None),
            check("pii check", BASE + 11 * MIN, Some("pii")),
            check("toxicity check", BASE + 70 * MIN, None),
            // A failed check two hours on, an hour without one between.
            check("toxicity check", BASE + 150 * MIN, Some("toxic")),
        ];
        store.write_spans(&spans).unwrap_or_else(|e| panic!("{e}"));
        // The failed check says which rule it broke: the same violation, counted once.
        let mut on_check = Event::new(
            BASE + 11 * MIN,
            Level::Warning,
            EventKind::SafetyViolation,
            "personal data in the input",
            Arc::new(Resource::new("guarded")),
        );
        on_check.trace_id = Some(spans[1].trace_id);
        on_check.span_id = Some(spans[1].span_id);
        on_check.attributes.insert("rule", "no_pii");
        store
            .insert_events(&[on_check])
            .unwrap_or_else(|e| panic!("{e}"));
        let events: Vec<Event> = [BASE + 12 * MIN, BASE + 75 * MIN]
            .into_iter()
            .map(|t| {
                let mut e = Event::new(
                    t,
                    Level::Warning,
                    EventKind::SafetyViolation,
                    "prompt injection",
                    Arc::new(Resource::new("guarded")),
                );
                e.attributes.insert("rule", "no_injection");
                e
            })
            .collect();
        store
            .insert_events(&events)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut masked = Measurement::new("agentrace.redactions", InstrumentKind::Counter, 4.0)
            .with_label("type", "api_key");
        masked.time_unix_nano = BASE + 80 * MIN;
        store
            .insert_measurements(&[masked])
            .unwrap_or_else(|e| panic!("{e}"));
    })
    .await?;
    let hour = 3_600_000_000_000_u64;
    let from = BASE;
    let g = api
        .ok(
            &format!("/guardrails?from={from}&to={}&bucket=1h", from + 3 * hour),
            "Guardrails",
        )
        .await?;
    assert_eq!(
        (
            g["checks"].as_u64(),
            g["violations"].as_u64(),
            g["detections"].as_u64()
        ),
        (Some(4), Some(4), Some(4)),
        "{g}"
    );
    let counts = |key: &str| -> Vec<(String, u64)> {
        g[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_owned(),
                    c["count"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    assert_eq!(
        counts("violations_by_rule"),
        [
            ("no_injection".to_owned(), 2),
            ("no_pii".to_owned(), 1),
            ("toxicity check".to_owned(), 1)
        ]
    );
    assert_eq!(
        counts("blocks_by_type"),
        [("pii".to_owned(), 1), ("toxic".to_owned(), 1)]
    );
    assert_eq!(counts("detections_by_type"), [("api_key".to_owned(), 4)]);
    let series = g["series"].as_array().cloned().unwrap_or_default();
    let total: u64 = series.iter().filter_map(|p| p["checks"].as_u64()).sum();
    assert_eq!(total, 4);
    assert!(series.len() >= 3, "three hours with checks: {series:?}");
    api.fails("/guardrails?bucket=90s", 400, "bad_parameter", "bucket")
        .await?;
    Ok(())
}
