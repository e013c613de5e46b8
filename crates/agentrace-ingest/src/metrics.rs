//! Metric requests: data points become [`Measurement`]s.
//!
//! A core measurement is one value of one instrument with labels, and a counter's value is an
//! *increment*. So:
//!
//! | OTLP | measurements per data point |
//! |---|---|
//! | gauge | one [`Gauge`](InstrumentKind::Gauge), the value |
//! | monotonic sum | one [`Counter`](InstrumentKind::Counter), the increment |
//! | non-monotonic sum | one [`UpDownCounter`](InstrumentKind::UpDownCounter), the signed increment |
//! | histogram, exponential histogram | two counters: `<name>.count` (observations) and `<name>.sum` (their sum, in the metric's unit; left out when the point has none) |
//! | summary | the same two counters (a summary is cumulative) |
//!
//! Buckets, min/max, quantiles, exemplars and metric metadata are not kept: the core model
//! has no place for them (`sum / count` still gives the mean). Labels are the data point's
//! attributes as text, plus `service.name` and, when the resource has one,
//! `service.instance.id`.
//!
//! **Delta** points are increments already. **Cumulative** points are running totals: the
//! ingestor remembers the last point of each series (resource, scope, metric, labels; at most
//! [`Limits::max_cumulative_series`]) and emits the difference. The first point of a series
//! emits its whole value only if the series started (`start_time_unix_nano`) after the
//! ingestor did, so a restarted server does not count a long-running process's totals twice;
//! otherwise it only sets the baseline. A new start time, or a monotonic total that went
//! down, is a reset: the whole value is the increment. A point not newer than the last one
//! (a retried request) and a zero increment emit nothing. A point flagged "no recorded value"
//! is skipped. None of these count as rejections.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Mutex, PoisonError};

use agentrace_core::semconv::otel;
use agentrace_core::{InstrumentKind, Labels, Measurement, Resource, Text};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, DataPointFlags, Metric, metric, number_data_point,
};

use crate::reject::{self, Rejection, Short};
use crate::resource::{self, Scope};
use crate::value::Converter;
use crate::{Decoded, Limits};

/// The last point of each cumulative series, shared by the clones of an ingestor.
#[derive(Debug)]
pub(crate) struct Series {
    /// When the ingestor started: series that started later are counted from their start.
    started_unix_nano: u64,
    hasher: RandomState,
    last: Mutex<HashMap<u64, Last>>,
}

#[derive(Debug, Clone, Copy)]
struct Last {
    start: u64,
    time: u64,
    value: f64,
}

impl Series {
    pub(crate) fn new(started_unix_nano: u64) -> Self {
        Self {
            started_unix_nano,
            hasher: RandomState::new(),
            last: Mutex::default(),
        }
    }
}

/// How a data point's values turn into measurement values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Temporality {
    /// A gauge: the value as is.
    Gauge,
    /// Increments already.
    Delta,
    /// Running totals.
    Cumulative,
}

impl Temporality {
    fn of(raw: i32) -> Result<Self, Rejection> {
        match AggregationTemporality::try_from(raw) {
            Ok(AggregationTemporality::Delta) => Ok(Self::Delta),
            Ok(AggregationTemporality::Cumulative) => Ok(Self::Cumulative),
            _ => Err(Rejection::NoTemporality),
        }
    }
}

/// One measurement a data point makes.
struct Part {
    suffix: Option<&'static str>,
    kind: InstrumentKind,
    value: f64,
    with_unit: bool,
}

/// What the data points of one metric share.
struct Context<'a> {
    limits: &'a Limits,
    series: &'a Series,
    now: u64,
    resource_key: u64,
    base_labels: &'a Labels,
    scope: &'a Scope,
    name: &'a str,
    unit: Option<&'a str>,
}

/// One data point of any type, reduced to what every type has.
struct Point {
    attributes: Vec<KeyValue>,
    start: u64,
    time: u64,
    flags: u32,
}

pub(crate) fn decode(
    limits: &Limits,
    series: &Series,
    request: ExportMetricsServiceRequest,
    now: u64,
) -> Decoded<Measurement> {
    let mut out = Decoded::default();
    for resource_metrics in request.resource_metrics {
        let resource = match resource::resource(resource_metrics.resource, limits) {
            Ok(resource) => resource,
            Err(why) => {
                let metrics = resource_metrics
                    .scope_metrics
                    .iter()
                    .flat_map(|s| &s.metrics);
                let count = metrics.map(points).sum::<usize>();
                out.reject_many(limits, count, format_args!("{count} data points"), &why);
                continue;
            }
        };
        let base_labels = base_labels(&resource);
        let resource_key = resource_key(series, &resource);
        for scope_metrics in resource_metrics.scope_metrics {
            let scope = Scope::new(scope_metrics.scope, limits);
            for metric in scope_metrics.metrics {
                let Metric {
                    name, unit, data, ..
                } = metric;
                let cx = Context {
                    limits,
                    series,
                    now,
                    resource_key,
                    base_labels: &base_labels,
                    scope: &scope,
                    name: &name,
                    unit: (!unit.is_empty()).then_some(unit.as_str()),
                };
                decode_metric(&cx, data, &mut out);
            }
        }
    }
    out
}

fn decode_metric(cx: &Context<'_>, data: Option<metric::Data>, out: &mut Decoded<Measurement>) {
    use InstrumentKind::{Counter, Gauge, UpDownCounter};
    let mut accept = |point: Point, temporality: Result<Temporality, Rejection>, parts| {
        let decoded = temporality.and_then(|t| measurements(cx, point, t, parts));
        match decoded {
            Ok(measurements) => out.records.extend(measurements),
            Err(why) => out.reject(cx.limits, format_args!("metric {}", Short(cx.name)), &why),
        }
    };
    let value = |v: Option<number_data_point::Value>| match v {
        Some(number_data_point::Value::AsDouble(d)) => Ok(d),
        Some(number_data_point::Value::AsInt(i)) => Ok(i as f64),
        None => Err(Rejection::NoValue),
    };
    let distribution = |count: u64, sum: Option<f64>| {
        let count = Part {
            suffix: Some(".count"),
            kind: Counter,
            value: count as f64,
            with_unit: false,
        };
        let sum = sum.map(|value| Part {
            suffix: Some(".sum"),
            kind: Counter,
            value,
            with_unit: true,
        });
        Ok([Some(count), sum])
    };
    match data {
        None => {}
        Some(metric::Data::Gauge(gauge)) => {
            for p in gauge.data_points {
                let parts = value(p.value).map(|value| {
                    let part = Part {
                        suffix: None,
                        kind: Gauge,
                        value,
                        with_unit: true,
                    };
                    [Some(part), None]
                });
                accept(
                    point(p.attributes, 0, p.time_unix_nano, p.flags),
                    Ok(Temporality::Gauge),
                    parts,
                );
            }
        }
        Some(metric::Data::Sum(sum)) => {
            let kind = if sum.is_monotonic {
                Counter
            } else {
                UpDownCounter
            };
            for p in sum.data_points {
                let parts = value(p.value).map(|value| {
                    let part = Part {
                        suffix: None,
                        kind,
                        value,
                        with_unit: true,
                    };
                    [Some(part), None]
                });
                let at = point(
                    p.attributes,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    p.flags,
                );
                accept(at, Temporality::of(sum.aggregation_temporality), parts);
            }
        }
        Some(metric::Data::Histogram(h)) => {
            for p in h.data_points {
                let at = point(
                    p.attributes,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    p.flags,
                );
                let parts = distribution(p.count, p.sum);
                accept(at, Temporality::of(h.aggregation_temporality), parts);
            }
        }
        Some(metric::Data::ExponentialHistogram(h)) => {
            for p in h.data_points {
                let at = point(
                    p.attributes,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    p.flags,
                );
                let parts = distribution(p.count, p.sum);
                accept(at, Temporality::of(h.aggregation_temporality), parts);
            }
        }
        Some(metric::Data::Summary(s)) => {
            for p in s.data_points {
                let at = point(
                    p.attributes,
                    p.start_time_unix_nano,
                    p.time_unix_nano,
                    p.flags,
                );
                let parts = distribution(p.count, Some(p.sum));
                accept(at, Ok(Temporality::Cumulative), parts);
            }
        }
    }
}

fn point(attributes: Vec<KeyValue>, start: u64, time: u64, flags: u32) -> Point {
    Point {
        attributes,
        start,
        time,
        flags,
    }
}

/// The number of data points of a metric (for rejecting a whole resource's worth).
fn points(metric: &Metric) -> usize {
    match &metric.data {
        None => 0,
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
    }
}

/// `service.name`, and `service.instance.id` when the resource has one.
fn base_labels(resource: &Resource) -> Labels {
    let mut labels: Labels = vec![(
        Cow::Borrowed(otel::SERVICE_NAME),
        Text::new(&resource.service_name),
    )];
    if let Some(instance) = resource.attributes.get(otel::SERVICE_INSTANCE_ID) {
        labels.push((
            Cow::Borrowed(otel::SERVICE_INSTANCE_ID),
            Text::from(instance.to_string()),
        ));
    }
    labels
}

/// A hash of everything that identifies a resource.
fn resource_key(series: &Series, resource: &Resource) -> u64 {
    let mut h = series.hasher.build_hasher();
    resource.service_name.hash(&mut h);
    for (k, v) in resource.attributes.iter() {
        k.hash(&mut h);
        v.to_string().hash(&mut h);
    }
    h.finish()
}

/// The measurements of one data point with `parts`, or why it is rejected.
fn measurements(
    cx: &Context<'_>,
    mut point: Point,
    temporality: Temporality,
    parts: Result<[Option<Part>; 2], Rejection>,
) -> Result<Vec<Measurement>, Rejection> {
    if point.flags & DataPointFlags::NoRecordedValueMask as u32 != 0 {
        return Ok(Vec::new());
    }
    let parts = parts?;
    reject::time("time", point.time, cx.now, cx.limits)?;
    let mut converter = Converter::new(cx.limits);
    let attributes = converter.attributes(std::mem::take(&mut point.attributes), "data point")?;
    let mut labels = cx.base_labels.clone();
    for (key, value) in attributes.iter() {
        if !labels.iter().any(|(k, _)| k == key) {
            labels.push((Cow::Owned(key.to_owned()), Text::from(value.to_string())));
        }
    }
    let parts: Vec<Part> = parts.into_iter().flatten().collect();
    for part in &parts {
        if !part.value.is_finite() {
            return Err(Rejection::NotFinite(part.value));
        }
        let monotonic = part.kind == InstrumentKind::Counter;
        if temporality == Temporality::Delta && monotonic && part.value < 0.0 {
            return Err(Rejection::NegativeIncrement(part.value));
        }
    }
    let values: Vec<Option<f64>> = match temporality {
        Temporality::Gauge | Temporality::Delta => parts.iter().map(|p| Some(p.value)).collect(),
        Temporality::Cumulative => increments(cx, &point, &labels, &parts)?,
    };
    Ok(parts
        .iter()
        .zip(values)
        .filter_map(|(part, value)| {
            let value = value.filter(|v| temporality == Temporality::Gauge || *v != 0.0)?;
            let name = match part.suffix {
                Some(suffix) => format!("{}{suffix}", cx.name),
                None => cx.name.to_owned(),
            };
            Some(Measurement {
                name: Cow::Owned(name),
                kind: part.kind,
                unit: cx
                    .unit
                    .filter(|_| part.with_unit)
                    .map(|u| Cow::Owned(u.to_owned())),
                value,
                labels: labels.clone(),
                time_unix_nano: point.time,
            })
        })
        .collect())
}

/// The increments of the running totals `parts` since the series' last point, updating it;
/// `None` for a part that emits nothing.
fn increments(
    cx: &Context<'_>,
    point: &Point,
    labels: &Labels,
    parts: &[Part],
) -> Result<Vec<Option<f64>>, Rejection> {
    let keys: Vec<u64> = parts
        .iter()
        .map(|part| {
            cx.series.hasher.hash_one((
                cx.resource_key,
                &cx.scope.name,
                cx.name,
                part.suffix,
                labels,
            ))
        })
        .collect();
    let mut last = cx
        .series
        .last
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let new = keys.iter().filter(|k| !last.contains_key(k)).count();
    if new > 0 && last.len() + new > cx.limits.max_cumulative_series {
        return Err(Rejection::TooManySeries {
            limit: cx.limits.max_cumulative_series,
        });
    }
    let started_after_us = point.start != 0 && point.start >= cx.series.started_unix_nano;
    Ok(keys
        .iter()
        .zip(parts)
        .map(|(key, part)| {
            let current = Last {
                start: point.start,
                time: point.time,
                value: part.value,
            };
            match last.insert(*key, current) {
                None => started_after_us.then_some(part.value),
                Some(previous) if point.time <= previous.time => {
                    last.insert(*key, previous);
                    None
                }
                Some(previous) => {
                    let restarted = point.start != 0 && point.start != previous.start;
                    let went_down =
                        part.kind == InstrumentKind::Counter && part.value < previous.value;
                    Some(if restarted || went_down {
                        part.value
                    } else {
                        part.value - previous.value
                    })
                }
            }
        })
        .collect())
}
