//! Metric measurements handed to [`MetricSink`](crate::MetricSink)s.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

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

/// Sums the increments of the same counter series among `measurements` — same name, kind,
/// unit and labels — into the first of them (at the latest of their times), keeping every
/// other measurement as it is, in order. A metrics backend sees the same totals from fewer
/// measurements: what a server does with a request's derived metrics before they reach the
/// sinks. An increment a sink would refuse (not finite, a counter's negative one) is left
/// alone, to be refused and counted there.
pub(crate) fn merge_counters(measurements: &mut Vec<Measurement>) {
    let summable = |m: &Measurement| match m.kind {
        InstrumentKind::Counter => m.value.is_finite() && m.value >= 0.0,
        InstrumentKind::UpDownCounter => m.value.is_finite(),
        InstrumentKind::Gauge | InstrumentKind::Histogram => false,
    };
    let series = |m: &Measurement| {
        let mut h = DefaultHasher::new();
        (&m.name, m.kind, &m.unit, &m.labels).hash(&mut h);
        h.finish()
    };
    let same = |a: &Measurement, b: &Measurement| {
        a.name == b.name && a.kind == b.kind && a.unit == b.unit && a.labels == b.labels
    };
    // Series hash → the places of the kept measurements with it.
    let mut kept: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut len = 0;
    for i in 0..measurements.len() {
        if summable(&measurements[i]) {
            let hash = series(&measurements[i]);
            let places = kept.entry(hash).or_default();
            if let Some(&into) = places
                .iter()
                .find(|&&k| same(&measurements[k], &measurements[i]))
            {
                let (value, time) = (measurements[i].value, measurements[i].time_unix_nano);
                let sum = &mut measurements[into];
                sum.value += value;
                sum.time_unix_nano = sum.time_unix_nano.max(time);
                continue;
            }
            places.push(len);
        }
        measurements.swap(len, i);
        len += 1;
    }
    measurements.truncate(len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_of_one_series_are_summed_and_everything_else_kept_in_order() {
        let m = |name: &'static str, kind, value, labels: &[(&'static str, &str)], at| {
            let mut m = Measurement::new(name, kind, value);
            m.labels = labels
                .iter()
                .map(|&(k, v)| (Cow::Borrowed(k), Text::from(v)))
                .collect();
            m.time_unix_nano = at;
            m
        };
        let (c, h, u) = (
            InstrumentKind::Counter,
            InstrumentKind::Histogram,
            InstrumentKind::UpDownCounter,
        );
        let a = [("agent", "a")];
        let b = [("agent", "b")];
        let mut all = vec![
            m("runs", c, 1.0, &a, 1),
            m("tokens", h, 5.0, &a, 2),
            m("runs", c, 2.0, &b, 3),
            m("runs", c, 4.0, &a, 7),
            m("tokens", h, 5.0, &a, 4),
            m("runs", c, -1.0, &a, 5), // refused by the sinks: left alone
            m("runs", c, f64::NAN, &a, 5),
            m("queue", u, -3.0, &a, 6),
            m("queue", u, 1.0, &a, 8),
            m("runs", c, 8.0, &a, 6),
        ];
        let mut runs_a_unit = m("runs", c, 16.0, &a, 9);
        runs_a_unit.unit = Some("{run}".into()); // another series
        all.push(runs_a_unit.clone());
        merge_counters(&mut all);
        let got: Vec<(&str, f64, u64)> = all
            .iter()
            .map(|m| (m.name.as_ref(), m.value, m.time_unix_nano))
            .collect();
        assert_eq!(got.len(), 8, "{got:?}");
        assert_eq!(got[0], ("runs", 13.0, 7));
        assert_eq!(got[1], ("tokens", 5.0, 2));
        assert_eq!(got[2], ("runs", 2.0, 3));
        assert_eq!(got[3], ("tokens", 5.0, 4));
        assert_eq!(got[4], ("runs", -1.0, 5));
        assert!(got[5].1.is_nan());
        assert_eq!(got[6], ("queue", -2.0, 8));
        assert_eq!(all[7], runs_a_unit);
    }
}
