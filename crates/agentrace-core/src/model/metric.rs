//! Metric measurements handed to [`MetricSink`](crate::MetricSink)s.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::Text;

/// Which kind of instrument a measurement belongs to (OpenTelemetry instrument kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstrumentKind {
    /// Monotonic sum: the value is an increment.
    Counter,
    /// Non-monotonic sum: the value is a signed increment.
    UpDownCounter,
    /// Last value wins.
    Gauge,
    /// A sample of a distribution.
    Histogram,
}

/// A measurement's labels: (key, value) pairs.
pub type Labels = Vec<(Cow<'static, str>, Text)>;

/// One measurement of an instrument, with low-cardinality labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Instrument name, e.g. `gen_ai.client.token.usage`.
    pub name: Cow<'static, str>,
    /// Instrument kind.
    pub kind: InstrumentKind,
    /// Unit in UCUM form, e.g. `s`, `{token}`, `USD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Cow<'static, str>>,
    /// The value (increment, gauge value or sample).
    pub value: f64,
    /// Labels. Keep them low-cardinality: never session or user ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Labels,
    /// When it was taken, nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
}

impl Measurement {
    /// A measurement taken now, without unit or labels.
    pub fn new(name: impl Into<Cow<'static, str>>, kind: InstrumentKind, value: f64) -> Self {
        Self {
            name: name.into(),
            kind,
            unit: None,
            value,
            labels: Labels::new(),
            time_unix_nano: crate::now_unix_nano(),
        }
    }

    /// Sets the unit.
    #[must_use]
    pub fn with_unit(mut self, unit: impl Into<Cow<'static, str>>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Adds a label.
    #[must_use]
    pub fn with_label(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Text>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }
}
