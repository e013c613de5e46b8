//! Received metrics: stored by series and minute, read back as series, deleted by retention.

mod common;

use agentrace_store::Analytics;
use agentrace_store::RecordWriter;
use agentrace_store::Retention;
use std::borrow::Cow;

use agentrace_core::{InstrumentKind, Measurement, Text};
use agentrace_sqlite::{MetricQuery, RecordKind, TimeRange};
use common::{SEC, T0, TestResult};

const MINUTE: u64 = 60 * SEC;
/// An hour boundary (so a boundary of steps of any number of minutes dividing an hour).
const M0: u64 = T0 - T0 % (60 * MINUTE);

fn measurement(
    name: &'static str,
    kind: InstrumentKind,
    value: f64,
    at: u64,
    model: &str,
) -> Measurement {
    let mut m = Measurement::new(name, kind, value);
    m.unit = Some(Cow::Borrowed("{token}"));
    m.labels = vec![
        (Cow::Borrowed("service.name"), Text::new("svc")),
        (
            Cow::Borrowed("gen_ai.request.model"),
            Text::from(model.to_owned()),
        ),
    ];
    m.time_unix_nano = at;
    m
}

#[test]
fn counters_sum_and_gauges_keep_their_last_value_per_series_and_minute() -> TestResult {
    let (_dir, store) = common::open()?;
    let tokens = |v, at, model| measurement("tokens", InstrumentKind::Counter, v, at, model);
    let queue = |v, at| measurement("queue", InstrumentKind::Gauge, v, at, "-");
    // Two batches into the same minute add up; another model is another series.
    store.insert_measurements(&[tokens(10.0, M0 + SEC, "a"), tokens(5.0, M0 + 2 * SEC, "a")])?;
    store.insert_measurements(&[
        tokens(1.0, M0 + 3 * SEC, "a"),
        tokens(7.0, M0 + MINUTE, "a"),
        tokens(100.0, M0, "b"),
        queue(3.0, M0 + 50 * SEC),
        queue(9.0, M0 + 10 * SEC),
    ])?;
    let names = store.metric_names(TimeRange::ALL)?;
    let listed: Vec<_> = names
        .iter()
        .map(|m| (m.name.as_str(), m.kind.as_str(), m.series))
        .collect();
    assert_eq!(listed, [("queue", "gauge", 1), ("tokens", "counter", 2)]);
    assert_eq!(names[1].unit.as_deref(), Some("{token}"));

    let series = store.metric(&MetricQuery::new("tokens"))?;
    assert_eq!(series.len(), 2);
    // The busiest series first.
    assert_eq!(series[0].labels["gen_ai.request.model"], "a");
    let sums: Vec<_> = series[0]
        .points
        .iter()
        .map(|p| (p.bucket_unix_nano, p.count, p.sum))
        .collect();
    assert_eq!(sums, [(M0, 3, 16.0), (M0 + MINUTE, 1, 7.0)]);
    assert_eq!(
        (series[0].points[0].min, series[0].points[0].max),
        (1.0, 10.0)
    );
    // Steps of two minutes merge them.
    let merged = store.metric(&MetricQuery::new("tokens").step(2 * MINUTE))?;
    assert_eq!(merged[0].points.len(), 1);
    assert_eq!(merged[0].points[0].sum, 23.0);
    // A gauge keeps the latest value by time, not by arrival.
    let gauge = store.metric(&MetricQuery::new("queue"))?;
    assert_eq!(gauge[0].points[0].last, 3.0);
    // A range selects minutes; a bad step is refused.
    let later = store.metric(&MetricQuery::new("tokens").range(TimeRange::since(M0 + MINUTE)))?;
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(store.metric(&MetricQuery::new("tokens").step(SEC)).is_err());
    assert!(store.metric(&MetricQuery::new("nothing"))?.is_empty());
    // Not a number: a clear error, nothing stored.
    let before = store.count(RecordKind::Metrics)?;
    assert!(
        store
            .insert_measurements(&[tokens(f64::NAN, M0, "a")])
            .is_err()
    );
    assert_eq!(store.count(RecordKind::Metrics)?, before);
    Ok(())
}

#[test]
fn retention_deletes_points_by_the_end_of_their_minute_and_empty_series() -> TestResult {
    let (dir, store) = common::open()?;
    let m = |model, at| measurement("tokens", InstrumentKind::Counter, 1.0, at, model);
    store.insert_measurements(&[m("old", M0), m("both", M0), m("both", M0 + 10 * MINUTE)])?;
    assert_eq!(store.count(RecordKind::Metrics)?, 3);
    assert_eq!(store.nth_oldest(RecordKind::Metrics, 0)?, Some(M0 + MINUTE));
    // The minute of M0 ends at M0 + 1 min: deleted by that cutoff, not by one a second less.
    assert_eq!(
        store.delete_before(RecordKind::Metrics, M0 + MINUTE - SEC)?,
        0
    );
    assert_eq!(store.delete_before(RecordKind::Metrics, M0 + MINUTE)?, 2);
    let series = store.metric(&MetricQuery::new("tokens"))?;
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].labels["gen_ai.request.model"], "both");
    let raw = rusqlite::Connection::open(dir.path().join("store.db"))?;
    let left: i64 = raw.query_row("SELECT count(*) FROM metric_series", [], |r| r.get(0))?;
    assert_eq!(left, 1, "the series without points is gone");
    // A series deleted by retention is created again by the next measurement.
    store.insert_measurements(&[m("old", M0 + 20 * MINUTE)])?;
    assert_eq!(store.metric(&MetricQuery::new("tokens"))?.len(), 2);
    Ok(())
}
