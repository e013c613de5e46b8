//! Data points → measurements: gauges, sums as increments (delta as is, cumulative as
//! differences), histograms and summaries as `.count`/`.sum` counters.

use agentrace_core::{InstrumentKind, Measurement};
use agentrace_ingest::{Ingestor, Limits};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};

use crate::common::{NOW, SECOND, T0, TestResult};

/// A request with one metric of `data` (its JSON) from service `svc`.
fn request(
    name: &str,
    unit: &str,
    data: &str,
) -> Result<ExportMetricsServiceRequest, serde_json::Error> {
    serde_json::from_str(&format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[
            {{"key":"service.name","value":{{"stringValue":"svc"}}}},
            {{"key":"service.instance.id","value":{{"stringValue":"i-1"}}}}]}},
          "scopeMetrics":[{{"scope":{{"name":"agent"}},"metrics":[{{"name":"{name}","unit":"{unit}",{data}}}]}}]}}]}}"#
    ))
}

fn point(start: u64, time: u64, value: &str, attrs: &str) -> String {
    format!(
        r#"{{"startTimeUnixNano":"{start}","timeUnixNano":"{time}",{value},"attributes":[{attrs}]}}"#
    )
}

const MODEL: &str = r#"{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}}"#;

fn values(ms: &[Measurement]) -> Vec<(String, InstrumentKind, f64)> {
    ms.iter()
        .map(|m| (m.name.to_string(), m.kind, m.value))
        .collect()
}

#[test]
fn gauges_and_delta_sums() -> TestResult {
    let ingestor = Ingestor::with_start_time(Limits::default(), T0);
    // The third point has no recorded value: skipped, not rejected.
    let gauge = format!(
        r#""gauge":{{"dataPoints":[{},{},{}]}}"#,
        point(0, T0 + SECOND, r#""asDouble":0.75"#, MODEL),
        point(0, T0 + SECOND, r#""asDouble":"NaN""#, MODEL),
        point(0, T0 + SECOND, r#""flags":1"#, MODEL)
    );
    // OTLP/JSON's "NaN" is not read by the proto types: the point has no value.
    let decoded = ingestor.metrics(request("queue.fill", "1", &gauge)?, NOW);
    assert_eq!(decoded.rejected, 1);
    assert_eq!(decoded.errors, ["metric \"queue.fill\": no value"]);
    // A NaN that arrives (over protobuf) is rejected.
    let mut nan = request("queue.fill", "1", &gauge)?;
    if let Some(metric::Data::Gauge(g)) =
        &mut nan.resource_metrics[0].scope_metrics[0].metrics[0].data
    {
        g.data_points[1].value = Some(number_data_point::Value::AsDouble(f64::NAN));
    }
    let nan = ingestor.metrics(nan, NOW);
    assert_eq!(
        nan.errors,
        ["metric \"queue.fill\": value NaN is not a finite number"]
    );
    assert_eq!(decoded.records.len(), 1);
    let m = &decoded.records[0];
    assert_eq!(
        (m.name.as_ref(), m.kind, m.value),
        ("queue.fill", InstrumentKind::Gauge, 0.75)
    );
    assert_eq!(m.unit.as_deref(), Some("1"));
    assert_eq!(m.time_unix_nano, T0 + SECOND);
    let labels: Vec<(&str, &str)> = m
        .labels
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("service.name", "svc"),
            ("service.instance.id", "i-1"),
            ("gen_ai.request.model", "gpt-4o")
        ]
    );

    let delta = |monotonic: bool, value: &str| {
        format!(
            r#""sum":{{"aggregationTemporality":1,"isMonotonic":{monotonic},"dataPoints":[{}]}}"#,
            point(T0, T0 + SECOND, value, MODEL)
        )
    };
    let decoded = ingestor.metrics(
        request("tokens", "{token}", &delta(true, r#""asInt":"120""#))?,
        NOW,
    );
    assert_eq!(
        values(&decoded.records),
        [("tokens".into(), InstrumentKind::Counter, 120.0)]
    );
    let decoded = ingestor.metrics(
        request("inflight", "1", &delta(false, r#""asInt":"-2""#))?,
        NOW,
    );
    assert_eq!(
        values(&decoded.records),
        [("inflight".into(), InstrumentKind::UpDownCounter, -2.0)]
    );
    let decoded = ingestor.metrics(
        request("tokens", "{token}", &delta(true, r#""asInt":"-2""#))?,
        NOW,
    );
    assert!(decoded.errors[0].contains("negative increment -2 on a monotonic delta sum"));
    let none = r#""sum":{"isMonotonic":true,"dataPoints":[{"timeUnixNano":"1760000001000000000","asInt":"1"}]}"#;
    let decoded = ingestor.metrics(request("tokens", "", none)?, NOW);
    assert!(decoded.errors[0].contains("aggregation temporality unspecified"));
    Ok(())
}

fn cumulative(start: u64, time: u64, value: i64) -> String {
    format!(
        r#""sum":{{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{}]}}"#,
        point(start, time, &format!(r#""asInt":"{value}""#), MODEL)
    )
}

#[test]
fn cumulative_sums_become_increments() -> TestResult {
    // The process started before the ingestor: its first total is only the baseline.
    let ingestor = Ingestor::with_start_time(Limits::default(), T0);
    let before = T0 - 3_600 * SECOND;
    let send = |time: u64, value: i64, start: u64| -> Result<Vec<f64>, serde_json::Error> {
        let d = ingestor.metrics(request("calls", "", &cumulative(start, time, value))?, NOW);
        assert_eq!(d.rejected, 0, "{:?}", d.errors);
        Ok(d.records.iter().map(|m| m.value).collect())
    };
    assert_eq!(send(T0 + SECOND, 100, before)?, Vec::<f64>::new());
    assert_eq!(send(T0 + 2 * SECOND, 130, before)?, [30.0]);
    // A retried request: nothing new.
    assert_eq!(send(T0 + 2 * SECOND, 130, before)?, Vec::<f64>::new());
    // No change: nothing.
    assert_eq!(send(T0 + 3 * SECOND, 130, before)?, Vec::<f64>::new());
    // The process restarted (a new start time): its whole total is new.
    assert_eq!(send(T0 + 4 * SECOND, 5, T0 + 3 * SECOND)?, [5.0]);
    // A total that went down without a new start: a reset too.
    assert_eq!(send(T0 + 5 * SECOND, 2, T0 + 3 * SECOND)?, [2.0]);
    assert_eq!(send(T0 + 6 * SECOND, 9, T0 + 3 * SECOND)?, [7.0]);
    // A series that started after the ingestor counts from its start; clones share state.
    let clone = ingestor.clone();
    let d = clone.metrics(
        request("other", "", &cumulative(T0 + SECOND, T0 + 2 * SECOND, 4))?,
        NOW,
    );
    assert_eq!(
        values(&d.records),
        [("other".into(), InstrumentKind::Counter, 4.0)]
    );
    let d = ingestor.metrics(
        request("other", "", &cumulative(T0 + SECOND, T0 + 3 * SECOND, 6))?,
        NOW,
    );
    assert_eq!(
        values(&d.records),
        [("other".into(), InstrumentKind::Counter, 2.0)]
    );
    Ok(())
}

#[test]
fn histograms_and_summaries_are_counts_and_sums() -> TestResult {
    let ingestor = Ingestor::with_start_time(Limits::default(), T0);
    let histogram = format!(
        r#""histogram":{{"aggregationTemporality":1,"dataPoints":[{{"startTimeUnixNano":"{T0}","timeUnixNano":"{}","count":"3","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[0.5],"min":0.1,"max":0.9,"attributes":[{MODEL}]}}]}}"#,
        T0 + SECOND
    );
    let d = ingestor.metrics(
        request("gen_ai.client.operation.duration", "s", &histogram)?,
        NOW,
    );
    assert_eq!(
        values(&d.records),
        [
            (
                "gen_ai.client.operation.duration.count".into(),
                InstrumentKind::Counter,
                3.0
            ),
            (
                "gen_ai.client.operation.duration.sum".into(),
                InstrumentKind::Counter,
                1.5
            ),
        ]
    );
    assert_eq!(d.records[0].unit, None);
    assert_eq!(d.records[1].unit.as_deref(), Some("s"));
    // Cumulative exponential histogram started after the ingestor, then a second point.
    let exp = |time: u64, count: u64, sum: f64| {
        format!(
            r#""exponentialHistogram":{{"aggregationTemporality":2,"dataPoints":[{{"startTimeUnixNano":"{}","timeUnixNano":"{time}","count":"{count}","sum":{sum},"scale":3}}]}}"#,
            T0 + SECOND
        )
    };
    let d = ingestor.metrics(
        request("tokens", "{token}", &exp(T0 + 2 * SECOND, 2, 300.0))?,
        NOW,
    );
    assert_eq!(values(&d.records).len(), 2);
    let d = ingestor.metrics(
        request("tokens", "{token}", &exp(T0 + 3 * SECOND, 5, 900.0))?,
        NOW,
    );
    assert_eq!(
        values(&d.records),
        [
            ("tokens.count".into(), InstrumentKind::Counter, 3.0),
            ("tokens.sum".into(), InstrumentKind::Counter, 600.0),
        ]
    );
    // A summary is cumulative; a point with no recorded value is skipped, not rejected.
    let summary = format!(
        r#""summary":{{"dataPoints":[{{"startTimeUnixNano":"{0}","timeUnixNano":"{1}","count":"4","sum":2.0}},{{"startTimeUnixNano":"{0}","timeUnixNano":"{1}","flags":1}}]}}"#,
        T0 + SECOND,
        T0 + 2 * SECOND
    );
    let d = ingestor.metrics(request("latency", "s", &summary)?, NOW);
    assert_eq!((d.records.len(), d.rejected), (2, 0));
    Ok(())
}

#[test]
fn cumulative_series_are_bounded() -> TestResult {
    let limits = Limits {
        max_cumulative_series: 2,
        ..Limits::default()
    };
    let ingestor = Ingestor::with_start_time(limits, T0);
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let d = ingestor.metrics(request(name, "", &cumulative(T0, T0 + SECOND, 1))?, NOW);
        assert_eq!(d.rejected, u64::from(i == 2), "{name}");
    }
    let d = ingestor.metrics(request("c", "", &cumulative(T0, T0 + SECOND, 1))?, NOW);
    assert!(d.errors[0].contains("more than 2 cumulative series are tracked"));
    // A known series still works.
    let d = ingestor.metrics(request("a", "", &cumulative(T0, T0 + 2 * SECOND, 3))?, NOW);
    assert_eq!(
        values(&d.records),
        [("a".into(), InstrumentKind::Counter, 2.0)]
    );
    Ok(())
}
