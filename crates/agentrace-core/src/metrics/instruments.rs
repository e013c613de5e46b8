//! User-defined metrics: counters, up-down counters, gauges and histograms recorded through the
//! pipeline, so they reach every [`MetricSink`](crate::MetricSink) (Prometheus, OTLP, …) the
//! same way as the metrics agentrace derives.

use std::borrow::Cow;

use crate::Pipeline;
use crate::model::{InstrumentKind, Labels, Measurement, Text};

/// Creates user-defined instruments that record into a pipeline. Get one from
/// [`TelemetryGuard::meter`](crate::TelemetryGuard::meter) or [`Meter::new`].
///
/// ```
/// use agentrace_core::{testing::MemorySink, Telemetry};
///
/// let memory = MemorySink::new();
/// let (_layer, guard) = Telemetry::builder().with_sink(memory.clone()).build()?;
/// let meter = guard.meter();
/// let retrievals = meter.counter("app.retrievals").with_unit("{document}");
/// retrievals.add(3.0, &[("index", "docs")]);
/// meter.histogram("app.rerank.score").record(0.82, &[]);
/// guard.flush()?;
/// assert_eq!(memory.measurements().len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Meter {
    pipeline: Pipeline,
}

impl Meter {
    /// A meter recording into `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        Self { pipeline }
    }

    /// A monotonic counter: [`Instrument::add`] takes increments ≥ 0.
    pub fn counter(&self, name: impl Into<Cow<'static, str>>) -> Instrument {
        self.instrument(name, InstrumentKind::Counter)
    }

    /// A counter that may go down: [`Instrument::add`] takes signed increments.
    pub fn up_down_counter(&self, name: impl Into<Cow<'static, str>>) -> Instrument {
        self.instrument(name, InstrumentKind::UpDownCounter)
    }

    /// A gauge: [`Instrument::record`] sets the current value.
    pub fn gauge(&self, name: impl Into<Cow<'static, str>>) -> Instrument {
        self.instrument(name, InstrumentKind::Gauge)
    }

    /// A histogram: [`Instrument::record`] adds a sample. Its buckets are the metric sink's.
    pub fn histogram(&self, name: impl Into<Cow<'static, str>>) -> Instrument {
        self.instrument(name, InstrumentKind::Histogram)
    }

    fn instrument(&self, name: impl Into<Cow<'static, str>>, kind: InstrumentKind) -> Instrument {
        Instrument {
            pipeline: self.pipeline.clone(),
            name: name.into(),
            kind,
            unit: None,
        }
    }
}

/// One named instrument. Cheap to clone; recording never blocks and never fails the caller:
/// a measurement the queue cannot take is dropped and counted in the pipeline's stats, and one
/// a sink refuses (a negative counter increment, a value that is not finite) is counted by the
/// sink.
#[derive(Debug, Clone)]
pub struct Instrument {
    pipeline: Pipeline,
    name: Cow<'static, str>,
    kind: InstrumentKind,
    unit: Option<Cow<'static, str>>,
}

impl Instrument {
    /// Sets the unit, in UCUM form (`s`, `By`, `{request}`, `USD`).
    #[must_use]
    pub fn with_unit(mut self, unit: impl Into<Cow<'static, str>>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Adds `value` (counters and up-down counters). Returns `false` if it was dropped.
    pub fn add(&self, value: f64, labels: &[(&'static str, &str)]) -> bool {
        self.record(value, labels)
    }

    /// Records `value`: an increment for counters, the value for gauges, a sample for
    /// histograms. Keep labels low-cardinality. Returns `false` if it was dropped.
    pub fn record(&self, value: f64, labels: &[(&'static str, &str)]) -> bool {
        let mut measurement = Measurement::new(self.name.clone(), self.kind, value);
        measurement.unit.clone_from(&self.unit);
        measurement.labels = labels
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), Text::new(v)))
            .collect::<Labels>();
        self.pipeline.submit_measurement(measurement)
    }

    /// The instrument's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instrument's kind.
    pub fn kind(&self) -> InstrumentKind {
        self.kind
    }
}

#[cfg(test)]
mod tests {
    use crate::Telemetry;
    use crate::model::InstrumentKind;
    use crate::testing::MemorySink;

    #[test]
    fn every_kind_reaches_the_metric_sinks_with_unit_and_labels() {
        let memory = MemorySink::new();
        let (_layer, guard) = Telemetry::builder()
            .with_sink(memory.clone())
            .build()
            .expect("builds");
        let meter = guard.meter();
        assert!(
            meter
                .counter("c")
                .with_unit("{call}")
                .add(2.0, &[("tool", "search")])
        );
        assert!(meter.up_down_counter("u").add(-1.0, &[]));
        assert!(meter.gauge("g").with_unit("By").record(512.0, &[]));
        assert!(
            meter
                .histogram("h")
                .with_unit("s")
                .record(0.25, &[("a", "1"), ("b", "2")])
        );
        guard.flush().expect("flushes");

        let got: Vec<_> = memory
            .measurements()
            .into_iter()
            .map(|m| {
                let labels: Vec<(String, String)> = m
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (
                    m.name.to_string(),
                    m.kind,
                    m.unit.map(|u| u.to_string()),
                    m.value,
                    labels,
                )
            })
            .collect();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            got,
            [
                (
                    "c".into(),
                    InstrumentKind::Counter,
                    Some("{call}".into()),
                    2.0,
                    vec![pair("tool", "search")]
                ),
                (
                    "u".into(),
                    InstrumentKind::UpDownCounter,
                    None,
                    -1.0,
                    vec![]
                ),
                (
                    "g".into(),
                    InstrumentKind::Gauge,
                    Some("By".into()),
                    512.0,
                    vec![]
                ),
                (
                    "h".into(),
                    InstrumentKind::Histogram,
                    Some("s".into()),
                    0.25,
                    vec![pair("a", "1"), pair("b", "2")]
                ),
            ]
        );
    }
}
