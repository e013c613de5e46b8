//! Core [`Measurement`]s onto OpenTelemetry SDK instruments: the [`MetricsBridge`].
//!
//! agentrace derives its metrics (GenAI token usage and duration, cost, agent runs, tool calls,
//! budgets, pipeline health; see [`agentrace_core::metrics`]) as plain [`Measurement`]s. A
//! backend that speaks OpenTelemetry owns an SDK `MeterProvider` with its own reader (the
//! Prometheus exporter, an OTLP periodic or manual reader) and hands each measurement to a
//! [`MetricsBridge`] built on a [`Meter`] of that provider. The bridge does not know the reader.
//!
//! | [`InstrumentKind`] | SDK instrument |
//! |---|---|
//! | `Counter` | `f64` [`Counter`] (monotonic sum) |
//! | `UpDownCounter` | `f64` [`UpDownCounter`] (non-monotonic sum) |
//! | `Gauge` | `f64` [`Gauge`] (last value) |
//! | `Histogram` | `f64` [`Histogram`] (explicit buckets) |
//!
//! - **Instruments are created once** per measurement name, with the kind, unit and
//!   description of its first measurement, and cached: recording a known name takes a read
//!   lock and a hash look-up, and allocates only the attributes.
//! - **Histogram buckets** are the advised GenAI ones for `gen_ai.client.token.usage`
//!   ([`TOKEN_USAGE_BUCKETS`]) and `gen_ai.client.operation.duration`
//!   ([`DURATION_BUCKETS_SECONDS`]); [`MetricsBridge::with_histogram_boundaries`] sets others.
//!   Histograms without boundaries get the SDK's defaults.
//! - **Invalid input is rejected and counted, never recorded and never a panic**: a value that
//!   is not finite, a negative counter increment or histogram sample, a name or unit the SDK
//!   would refuse, a label key that is empty or does not start with a letter, and a name reused
//!   with another kind or unit. [`MetricsBridge::record`] says why; [`MetricsBridge::rejected`]
//!   counts by reason, and so does the counter [`REJECTED`] on the same meter, so dropped
//!   measurements show up where the metrics are read.
//! - The measurement's timestamp is not used: the SDK stamps collection times itself.
//! - Descriptions of agentrace's own metrics are built in and become `# HELP` lines or OTLP
//!   descriptions; [`MetricsBridge::with_description`] adds others.
//!
//! ```
//! use agentrace_core::{InstrumentKind, Measurement};
//! use agentrace_otel::metrics::MetricsBridge;
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//!
//! // Any reader: a Prometheus exporter, an OTLP periodic or manual reader.
//! let provider = SdkMeterProvider::builder().build();
//! let bridge = MetricsBridge::new(provider.meter("agentrace"))
//!     .with_histogram_boundaries("queue.wait", vec![0.001, 0.01, 0.1, 1.0])?;
//!
//! bridge.record(
//!     &Measurement::new("gen_ai.client.token.usage", InstrumentKind::Histogram, 1_200.0)
//!         .with_unit("{token}")
//!         .with_label("gen_ai.token.type", "input"),
//! )?;
//! let refused = bridge.record(&Measurement::new("agentrace.cost", InstrumentKind::Counter, -1.0));
//! assert!(refused.is_err());
//! assert_eq!(bridge.rejected().negative, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use agentrace_core::metrics::{
    AGENT_RUNS, COST, DURATION_BUCKETS_SECONDS, GUARDRAIL_CHECKS, LLM_ERRORS, TOKEN_USAGE_BUCKETS,
    TOOL_CALLS,
};
use agentrace_core::semconv::gen_ai;
use agentrace_core::{InstrumentKind, Measurement};
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, UpDownCounter};
use opentelemetry::{Key, KeyValue, Value};

/// The counter of rejected measurements, labelled `reason` (see [`RecordError::reason`]).
pub const REJECTED: &str = "agentrace.metrics.rejected";
const REJECTED_UNIT: &str = "{measurement}";

/// Longest instrument name the SDK accepts.
const MAX_NAME_LEN: usize = 255;
/// Longest unit the SDK accepts.
const MAX_UNIT_LEN: usize = 63;

/// Descriptions of the metrics agentrace itself emits.
const DESCRIPTIONS: [(&str, &str); 15] = [
    (
        gen_ai::CLIENT_TOKEN_USAGE,
        "Tokens used per GenAI operation, by token type.",
    ),
    (
        gen_ai::CLIENT_OPERATION_DURATION,
        "Duration of GenAI client operations.",
    ),
    (COST, "Cost of LLM calls, in US dollars."),
    (AGENT_RUNS, "Agent runs, by status."),
    (TOOL_CALLS, "Tool calls, by status."),
    (
        GUARDRAIL_CHECKS,
        "Guardrail checks, by guardrail, status and the type of what was blocked.",
    ),
    (LLM_ERRORS, "Failed LLM calls, by error type."),
    (
        agentrace_core::cost::UNPRICED_METRIC,
        "LLM calls that could not be priced, by reason.",
    ),
    (
        agentrace_core::budget::SPEND_RATIO,
        "Spent and reserved amount of a budget over its limit.",
    ),
    (
        "agentrace.pipeline.queue.depth",
        "Records waiting in the agentrace pipeline queue.",
    ),
    (
        "agentrace.pipeline.dropped",
        "Records the agentrace pipeline dropped, by reason.",
    ),
    (
        "agentrace.pipeline.sink.exported",
        "Records exported, by sink.",
    ),
    (
        "agentrace.pipeline.sink.dropped",
        "Records dropped because a sink's queue was full, by sink.",
    ),
    (
        "agentrace.pipeline.sink.failed",
        "Records whose export failed after retries, by sink.",
    ),
    (
        REJECTED,
        "Measurements the metrics bridge refused, by reason.",
    ),
];

/// Why a measurement was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The value is NaN or infinite.
    NotFinite,
    /// A negative counter increment or histogram sample.
    Negative(InstrumentKind),
    /// The name is one the SDK refuses (empty, longer than 255 bytes, not starting with a
    /// letter, or with characters other than ASCII letters, digits, `_`, `.`, `-`, `/`).
    InvalidName(&'static str),
    /// The unit is longer than 63 bytes or not ASCII.
    InvalidUnit(&'static str),
    /// A label key is empty or does not start with an ASCII letter.
    InvalidLabel,
    /// The name was first recorded with another instrument kind.
    KindConflict {
        /// The kind of the existing instrument.
        existing: InstrumentKind,
        /// The kind of the rejected measurement.
        got: InstrumentKind,
    },
    /// The name was first recorded with another unit.
    UnitConflict,
    /// An instrument kind this bridge does not know.
    UnsupportedKind(InstrumentKind),
}

/// The reasons, in the order of [`Rejected`]'s fields.
const REASONS: [&str; 6] = [
    "not_finite",
    "negative",
    "invalid_name",
    "invalid_label",
    "conflict",
    "unsupported_kind",
];

impl RecordError {
    /// The `reason` label of [`REJECTED`]: `not_finite`, `negative`, `invalid_name` (name or
    /// unit), `invalid_label`, `conflict` (kind or unit) or `unsupported_kind`.
    pub fn reason(&self) -> &'static str {
        REASONS[self.index()]
    }

    fn index(&self) -> usize {
        match self {
            Self::NotFinite => 0,
            Self::Negative(_) => 1,
            Self::InvalidName(_) | Self::InvalidUnit(_) => 2,
            Self::InvalidLabel => 3,
            Self::KindConflict { .. } | Self::UnitConflict => 4,
            Self::UnsupportedKind(_) => 5,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite => f.write_str("the value is not finite"),
            Self::Negative(kind) => write!(f, "a {kind:?} does not take negative values"),
            Self::InvalidName(why) => write!(f, "invalid instrument name: {why}"),
            Self::InvalidUnit(why) => write!(f, "invalid unit: {why}"),
            Self::InvalidLabel => {
                f.write_str("a label key is empty or does not start with an ASCII letter")
            }
            Self::KindConflict { existing, got } => write!(
                f,
                "the name is a {existing:?} already; a {got:?} cannot reuse it"
            ),
            Self::UnitConflict => f.write_str("the name was first recorded with another unit"),
            Self::UnsupportedKind(kind) => write!(f, "unsupported instrument kind {kind:?}"),
        }
    }
}

impl std::error::Error for RecordError {}

/// Histogram boundaries the SDK would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBoundaries {
    /// The instrument they were given for.
    pub name: String,
    /// What is wrong with them.
    pub reason: &'static str,
}

impl fmt::Display for InvalidBoundaries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid histogram boundaries for {}: {}",
            self.name, self.reason
        )
    }
}

impl std::error::Error for InvalidBoundaries {}

/// Checks boundaries as the SDK does: finite, strictly increasing.
fn validate_boundaries(boundaries: &[f64]) -> Result<(), &'static str> {
    if boundaries.iter().any(|b| !b.is_finite()) {
        return Err("boundaries must be finite");
    }
    if boundaries.windows(2).any(|w| w[1] <= w[0]) {
        return Err("boundaries must be strictly increasing");
    }
    Ok(())
}

/// Rejected measurements by reason, since the bridge was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejected {
    /// NaN or infinite values.
    pub not_finite: u64,
    /// Negative counter increments and histogram samples.
    pub negative: u64,
    /// Names or units the SDK refuses.
    pub invalid_name: u64,
    /// Empty label keys, or keys not starting with a letter.
    pub invalid_label: u64,
    /// Names reused with another kind or unit.
    pub conflict: u64,
    /// Unknown instrument kinds.
    pub unsupported_kind: u64,
}

impl Rejected {
    /// All rejected measurements.
    pub fn total(&self) -> u64 {
        self.not_finite
            + self.negative
            + self.invalid_name
            + self.invalid_label
            + self.conflict
            + self.unsupported_kind
    }
}

type NameFn = dyn Fn(&str, Option<&str>) -> Option<String> + Send + Sync;

#[derive(Debug, Clone)]
enum Instrument {
    Counter(Counter<f64>),
    UpDownCounter(UpDownCounter<f64>),
    Gauge(Gauge<f64>),
    Histogram(Histogram<f64>),
}

#[derive(Debug)]
struct Slot {
    kind: InstrumentKind,
    unit: Option<Box<str>>,
    instrument: Instrument,
}

/// Records core [`Measurement`]s on the instruments of one OpenTelemetry [`Meter`]; see the
/// [module docs](self). `Send + Sync`: share it (by reference or `Arc`) between threads.
pub struct MetricsBridge {
    meter: Meter,
    boundaries: HashMap<String, Vec<f64>>,
    descriptions: HashMap<String, Cow<'static, str>>,
    names: Option<Box<NameFn>>,
    instruments: RwLock<HashMap<Box<str>, Slot>>,
    rejected: [AtomicU64; REASONS.len()],
    rejected_counter: Counter<f64>,
}

impl fmt::Debug for MetricsBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsBridge")
            .field("meter", &self.meter)
            .field("boundaries", &self.boundaries)
            .field("instruments", &self.instrument_count())
            .field("rejected", &self.rejected())
            .finish_non_exhaustive()
    }
}

impl MetricsBridge {
    /// A bridge recording on `meter`, with the GenAI histogram buckets.
    pub fn new(meter: Meter) -> Self {
        let rejected_counter = meter
            .f64_counter(REJECTED)
            .with_unit(REJECTED_UNIT)
            .with_description(describe(REJECTED))
            .build();
        let reserved = Slot {
            kind: InstrumentKind::Counter,
            unit: Some(REJECTED_UNIT.into()),
            instrument: Instrument::Counter(rejected_counter.clone()),
        };
        Self {
            meter,
            boundaries: HashMap::from([
                (
                    gen_ai::CLIENT_TOKEN_USAGE.to_owned(),
                    TOKEN_USAGE_BUCKETS.to_vec(),
                ),
                (
                    gen_ai::CLIENT_OPERATION_DURATION.to_owned(),
                    DURATION_BUCKETS_SECONDS.to_vec(),
                ),
            ]),
            descriptions: HashMap::new(),
            names: None,
            instruments: RwLock::new(HashMap::from([(REJECTED.into(), reserved)])),
            rejected: Default::default(),
            rejected_counter,
        }
    }

    /// Buckets for the histogram `name` (a measurement name), replacing the built-in ones for
    /// the GenAI histograms. Takes effect for instruments not created yet. Boundaries must be
    /// finite and strictly increasing.
    pub fn with_histogram_boundaries(
        mut self,
        name: impl Into<String>,
        boundaries: Vec<f64>,
    ) -> Result<Self, InvalidBoundaries> {
        let name = name.into();
        validate_boundaries(&boundaries).map_err(|reason| InvalidBoundaries {
            name: name.clone(),
            reason,
        })?;
        self.boundaries.insert(name, boundaries);
        Ok(self)
    }

    /// A description for the instrument `name` (a measurement name); agentrace's own metrics
    /// have one built in.
    pub fn with_description(
        mut self,
        name: impl Into<String>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.descriptions.insert(name.into(), description.into());
        self
    }

    /// Chooses the SDK instrument name from a measurement's name and unit, when an instrument
    /// is created; `None` keeps the measurement's name. A backend uses it to follow its naming
    /// rules (the Prometheus backend appends currency units that its exporter would drop).
    /// Everything else (buckets, descriptions, conflicts) still goes by the measurement name.
    pub fn with_instrument_names(
        mut self,
        names: impl Fn(&str, Option<&str>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.names = Some(Box::new(names));
        self
    }

    /// Records one measurement, creating its instrument on first use. Rejected measurements are
    /// counted (see [`rejected`](Self::rejected)) and leave every instrument unchanged.
    pub fn record(&self, measurement: &Measurement) -> Result<(), RecordError> {
        let result = self.try_record(measurement);
        if let Err(error) = result {
            let i = error.index();
            self.rejected[i].fetch_add(1, Ordering::Relaxed);
            self.rejected_counter
                .add(1.0, &[KeyValue::new("reason", REASONS[i])]);
        }
        result
    }

    /// Measurements rejected so far, by reason.
    pub fn rejected(&self) -> Rejected {
        let n = |i: usize| self.rejected[i].load(Ordering::Relaxed);
        Rejected {
            not_finite: n(0),
            negative: n(1),
            invalid_name: n(2),
            invalid_label: n(3),
            conflict: n(4),
            unsupported_kind: n(5),
        }
    }

    /// How many instruments exist, the [`REJECTED`] counter included.
    pub fn instrument_count(&self) -> usize {
        self.instruments
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The meter the instruments are created on.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    fn try_record(&self, m: &Measurement) -> Result<(), RecordError> {
        let value = m.value;
        if !value.is_finite() {
            return Err(RecordError::NotFinite);
        }
        if value < 0.0 && matches!(m.kind, InstrumentKind::Counter | InstrumentKind::Histogram) {
            return Err(RecordError::Negative(m.kind));
        }
        let attributes = attributes(m)?;
        {
            let instruments = self
                .instruments
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = instruments.get(m.name.as_ref()) {
                return record_on(slot, m, value, &attributes);
            }
        }
        let mut instruments = self
            .instruments
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Another thread may have created it between the two locks.
        if let Some(slot) = instruments.get(m.name.as_ref()) {
            return record_on(slot, m, value, &attributes);
        }
        let slot = self.create(m)?;
        let result = record_on(&slot, m, value, &attributes);
        instruments.insert(m.name.as_ref().into(), slot);
        result
    }

    fn create(&self, m: &Measurement) -> Result<Slot, RecordError> {
        let unit = m.unit.as_deref();
        if let Some(unit) = unit {
            validate_unit(unit)?;
        }
        let name = match self.names.as_ref().and_then(|f| f(&m.name, unit)) {
            Some(renamed) => renamed,
            None => m.name.to_string(),
        };
        validate_name(&name)?;
        let description = self
            .descriptions
            .get(m.name.as_ref())
            .cloned()
            .unwrap_or_else(|| describe(&m.name).into());
        let unit_owned = unit.map(str::to_owned).unwrap_or_default();
        let meter = &self.meter;
        let instrument = match m.kind {
            InstrumentKind::Counter => Instrument::Counter(
                meter
                    .f64_counter(name)
                    .with_unit(unit_owned)
                    .with_description(description)
                    .build(),
            ),
            InstrumentKind::UpDownCounter => Instrument::UpDownCounter(
                meter
                    .f64_up_down_counter(name)
                    .with_unit(unit_owned)
                    .with_description(description)
                    .build(),
            ),
            InstrumentKind::Gauge => Instrument::Gauge(
                meter
                    .f64_gauge(name)
                    .with_unit(unit_owned)
                    .with_description(description)
                    .build(),
            ),
            InstrumentKind::Histogram => {
                let mut builder = meter
                    .f64_histogram(name)
                    .with_unit(unit_owned)
                    .with_description(description);
                if let Some(boundaries) = self.boundaries.get(m.name.as_ref()) {
                    builder = builder.with_boundaries(boundaries.clone());
                }
                Instrument::Histogram(builder.build())
            }
            other => return Err(RecordError::UnsupportedKind(other)),
        };
        Ok(Slot {
            kind: m.kind,
            unit: unit.map(Into::into),
            instrument,
        })
    }
}

/// The built-in description of `name`, or an empty one.
fn describe(name: &str) -> &'static str {
    DESCRIPTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, d)| d)
}

fn record_on(
    slot: &Slot,
    m: &Measurement,
    value: f64,
    attributes: &[KeyValue],
) -> Result<(), RecordError> {
    if slot.kind != m.kind {
        return Err(RecordError::KindConflict {
            existing: slot.kind,
            got: m.kind,
        });
    }
    if slot.unit.as_deref() != m.unit.as_deref() {
        return Err(RecordError::UnitConflict);
    }
    match &slot.instrument {
        Instrument::Counter(c) => c.add(value, attributes),
        Instrument::UpDownCounter(c) => c.add(value, attributes),
        Instrument::Gauge(g) => g.record(value, attributes),
        Instrument::Histogram(h) => h.record(value, attributes),
    }
    Ok(())
}

fn attributes(m: &Measurement) -> Result<Vec<KeyValue>, RecordError> {
    m.labels
        .iter()
        .map(|(key, value)| {
            if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(RecordError::InvalidLabel);
            }
            Ok(KeyValue::new(
                Key::from(key.clone()),
                Value::from(value.as_str().to_owned()),
            ))
        })
        .collect()
}

/// The SDK's instrument name rules (`opentelemetry_sdk` refuses others with a no-op instrument).
fn validate_name(name: &str) -> Result<(), RecordError> {
    if name.is_empty() {
        return Err(RecordError::InvalidName("empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(RecordError::InvalidName("longer than 255 bytes"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(RecordError::InvalidName("does not start with a letter"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
    {
        return Err(RecordError::InvalidName(
            "characters other than ASCII letters, digits, '_', '.', '-', '/'",
        ));
    }
    Ok(())
}

fn validate_unit(unit: &str) -> Result<(), RecordError> {
    if unit.len() > MAX_UNIT_LEN {
        return Err(RecordError::InvalidUnit("longer than 63 bytes"));
    }
    if !unit.is_ascii() {
        return Err(RecordError::InvalidUnit("not ASCII"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use agentrace_core::Text;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
    use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
    use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

    use super::*;

    /// One exported data point, reduced to what the tests compare.
    #[derive(Debug, Clone, PartialEq)]
    enum Point {
        Sum {
            monotonic: bool,
            value: f64,
        },
        Gauge(f64),
        Histogram {
            count: u64,
            sum: f64,
            bounds: Vec<f64>,
            buckets: Vec<u64>,
        },
    }

    #[derive(Debug, Clone)]
    struct Exported {
        name: String,
        unit: String,
        description: String,
        labels: Vec<(String, String)>,
        point: Point,
    }

    /// A push exporter keeping the last collection, so no `testing` SDK feature is needed.
    #[derive(Debug, Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Exported>>>);

    impl PushMetricExporter for Capture {
        async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
            let mut out = Vec::new();
            for scope in metrics.scope_metrics() {
                for metric in scope.metrics() {
                    let AggregatedMetrics::F64(data) = metric.data() else {
                        continue;
                    };
                    let mut push = |attrs: Vec<&KeyValue>, point: Point| {
                        let mut labels: Vec<_> = attrs
                            .into_iter()
                            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                            .collect();
                        labels.sort();
                        out.push(Exported {
                            name: metric.name().to_owned(),
                            unit: metric.unit().to_owned(),
                            description: metric.description().to_owned(),
                            labels,
                            point,
                        });
                    };
                    match data {
                        MetricData::Sum(sum) => {
                            for dp in sum.data_points() {
                                push(
                                    dp.attributes().collect(),
                                    Point::Sum {
                                        monotonic: sum.is_monotonic(),
                                        value: dp.value(),
                                    },
                                );
                            }
                        }
                        MetricData::Gauge(gauge) => {
                            for dp in gauge.data_points() {
                                push(dp.attributes().collect(), Point::Gauge(dp.value()));
                            }
                        }
                        MetricData::Histogram(h) => {
                            for dp in h.data_points() {
                                push(
                                    dp.attributes().collect(),
                                    Point::Histogram {
                                        count: dp.count(),
                                        sum: dp.sum(),
                                        bounds: dp.bounds().collect(),
                                        buckets: dp.bucket_counts().collect(),
                                    },
                                );
                            }
                        }
                        MetricData::ExponentialHistogram(_) => {}
                    }
                }
            }
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = out;
            Ok(())
        }

        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }

        fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }

        fn temporality(&self) -> Temporality {
            Temporality::Cumulative
        }
    }

    struct Harness {
        provider: SdkMeterProvider,
        capture: Capture,
    }

    impl Harness {
        fn new() -> Self {
            let capture = Capture::default();
            let reader = PeriodicReader::builder(capture.clone())
                .with_interval(Duration::from_secs(3_600))
                .build();
            Self {
                provider: SdkMeterProvider::builder().with_reader(reader).build(),
                capture,
            }
        }

        fn bridge(&self) -> MetricsBridge {
            MetricsBridge::new(self.provider.meter("agentrace-test"))
        }

        fn collect(&self) -> Vec<Exported> {
            if let Err(e) = self.provider.force_flush() {
                panic!("force_flush: {e}");
            }
            self.capture
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }

        fn find(&self, name: &str) -> Vec<Exported> {
            self.collect()
                .into_iter()
                .filter(|e| e.name == name)
                .collect()
        }
    }

    fn ok(bridge: &MetricsBridge, m: Measurement) {
        if let Err(e) = bridge.record(&m) {
            panic!("{m:?} rejected: {e}");
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_kind_maps_to_its_sdk_instrument() {
        let h = Harness::new();
        let bridge = h.bridge();
        for v in [0.5, 0.25] {
            ok(
                &bridge,
                Measurement::new(COST, InstrumentKind::Counter, v)
                    .with_unit("USD")
                    .with_label("gen_ai.provider.name", "openai"),
            );
        }
        for v in [3.0, -1.0] {
            ok(
                &bridge,
                Measurement::new("jobs.active", InstrumentKind::UpDownCounter, v),
            );
        }
        for v in [0.4, 0.9] {
            ok(
                &bridge,
                Measurement::new("agentrace.budget.spend_ratio", InstrumentKind::Gauge, v)
                    .with_unit("1")
                    .with_label("budget", "daily"),
            );
        }

        let cost = h.find(COST);
        assert_eq!(cost.len(), 1, "{cost:?}");
        assert_eq!(cost[0].unit, "USD");
        assert_eq!(cost[0].description, "Cost of LLM calls, in US dollars.");
        assert_eq!(
            cost[0].labels,
            labels(&[("gen_ai.provider.name", "openai")])
        );
        assert_eq!(
            cost[0].point,
            Point::Sum {
                monotonic: true,
                value: 0.75
            }
        );
        let active = h.find("jobs.active");
        assert_eq!(
            active[0].point,
            Point::Sum {
                monotonic: false,
                value: 2.0
            }
        );
        assert_eq!(active[0].description, "");
        let ratio = h.find("agentrace.budget.spend_ratio");
        assert_eq!(ratio[0].point, Point::Gauge(0.9));
        assert_eq!(ratio[0].labels, labels(&[("budget", "daily")]));
        assert_eq!(bridge.rejected(), Rejected::default());
    }

    #[test]
    fn genai_histograms_get_the_advised_buckets_by_default() {
        let h = Harness::new();
        let bridge = h.bridge();
        for tokens in [3.0, 1_200.0, 1_200.0] {
            ok(
                &bridge,
                Measurement::new(
                    gen_ai::CLIENT_TOKEN_USAGE,
                    InstrumentKind::Histogram,
                    tokens,
                )
                .with_unit("{token}")
                .with_label(gen_ai::TOKEN_TYPE, "input"),
            );
        }
        ok(
            &bridge,
            Measurement::new(
                gen_ai::CLIENT_OPERATION_DURATION,
                InstrumentKind::Histogram,
                0.05,
            )
            .with_unit("s"),
        );
        let tokens = h.find(gen_ai::CLIENT_TOKEN_USAGE);
        let Point::Histogram {
            count,
            sum,
            bounds,
            buckets,
        } = &tokens[0].point
        else {
            panic!("not a histogram: {tokens:?}");
        };
        assert_eq!((*count, *sum), (3, 2_403.0));
        assert_eq!(bounds, &TOKEN_USAGE_BUCKETS.to_vec());
        // 3 falls in (1, 4], 1,200 twice in (1024, 4096].
        let idx = |b: f64| TOKEN_USAGE_BUCKETS.iter().position(|x| *x == b);
        assert_eq!(buckets[idx(4.0).unwrap_or(usize::MAX)], 1);
        assert_eq!(buckets[idx(4_096.0).unwrap_or(usize::MAX)], 2);
        let duration = h.find(gen_ai::CLIENT_OPERATION_DURATION);
        let Point::Histogram { bounds, .. } = &duration[0].point else {
            panic!("not a histogram: {duration:?}");
        };
        assert_eq!(bounds, &DURATION_BUCKETS_SECONDS.to_vec());
    }

    #[test]
    fn histogram_boundaries_can_be_set_and_are_validated() {
        let h = Harness::new();
        let bridge = match h
            .bridge()
            .with_histogram_boundaries("queue.wait", vec![0.1, 1.0])
            .and_then(|b| b.with_histogram_boundaries(gen_ai::CLIENT_TOKEN_USAGE, vec![10.0]))
        {
            Ok(bridge) => bridge,
            Err(e) => panic!("{e}"),
        };
        ok(
            &bridge,
            Measurement::new("queue.wait", InstrumentKind::Histogram, 0.5),
        );
        ok(
            &bridge,
            Measurement::new(gen_ai::CLIENT_TOKEN_USAGE, InstrumentKind::Histogram, 5.0),
        );
        for (name, want) in [
            ("queue.wait", vec![0.1, 1.0]),
            (gen_ai::CLIENT_TOKEN_USAGE, vec![10.0]),
        ] {
            match &h.find(name)[0].point {
                Point::Histogram { bounds, .. } => assert_eq!(bounds, &want, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }

        for bad in [
            vec![1.0, 1.0],
            vec![2.0, 1.0],
            vec![f64::NAN],
            vec![f64::INFINITY],
        ] {
            let result = h.bridge().with_histogram_boundaries("x", bad.clone());
            assert!(
                matches!(&result, Err(e) if e.name == "x"),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn invalid_measurements_are_rejected_counted_and_not_recorded() {
        let h = Harness::new();
        let bridge = h.bridge();
        ok(
            &bridge,
            Measurement::new("calls", InstrumentKind::Counter, 1.0).with_unit("{call}"),
        );
        let cases = [
            (
                Measurement::new("calls", InstrumentKind::Counter, f64::NAN),
                RecordError::NotFinite,
            ),
            (
                Measurement::new("calls", InstrumentKind::Counter, f64::INFINITY),
                RecordError::NotFinite,
            ),
            (
                Measurement::new("calls", InstrumentKind::Counter, -1.0),
                RecordError::Negative(InstrumentKind::Counter),
            ),
            (
                Measurement::new("latency", InstrumentKind::Histogram, -0.5),
                RecordError::Negative(InstrumentKind::Histogram),
            ),
            (
                Measurement::new("calls", InstrumentKind::Gauge, 1.0).with_unit("{call}"),
                RecordError::KindConflict {
                    existing: InstrumentKind::Counter,
                    got: InstrumentKind::Gauge,
                },
            ),
            (
                Measurement::new("calls", InstrumentKind::Counter, 1.0).with_unit("s"),
                RecordError::UnitConflict,
            ),
            (
                Measurement::new("calls", InstrumentKind::Counter, 1.0)
                    .with_unit("{call}")
                    .with_label("", "x"),
                RecordError::InvalidLabel,
            ),
            (
                Measurement::new("calls", InstrumentKind::Counter, 1.0)
                    .with_unit("{call}")
                    .with_label("1st", "x"),
                RecordError::InvalidLabel,
            ),
            (
                Measurement::new("", InstrumentKind::Counter, 1.0),
                RecordError::InvalidName("empty"),
            ),
            (
                Measurement::new("9lives", InstrumentKind::Counter, 1.0),
                RecordError::InvalidName("does not start with a letter"),
            ),
            (
                Measurement::new("a name", InstrumentKind::Counter, 1.0),
                RecordError::InvalidName(
                    "characters other than ASCII letters, digits, '_', '.', '-', '/'",
                ),
            ),
            (
                Measurement::new("x".repeat(256), InstrumentKind::Counter, 1.0),
                RecordError::InvalidName("longer than 255 bytes"),
            ),
            (
                Measurement::new("money", InstrumentKind::Counter, 1.0).with_unit("€"),
                RecordError::InvalidUnit("not ASCII"),
            ),
        ];
        for (m, want) in &cases {
            assert_eq!(bridge.record(m), Err(*want), "{m:?}");
        }
        assert_eq!(
            bridge.rejected(),
            Rejected {
                not_finite: 2,
                negative: 2,
                invalid_name: 5,
                invalid_label: 2,
                conflict: 2,
                unsupported_kind: 0,
            }
        );
        assert_eq!(bridge.rejected().total(), cases.len() as u64);

        let calls = h.find("calls");
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(
            calls[0].point,
            Point::Sum {
                monotonic: true,
                value: 1.0
            }
        );
        // Refused names never became instruments: `calls` and the rejection counter only.
        assert_eq!(bridge.instrument_count(), 2);
        assert!(h.find("latency").is_empty());
        let mut rejected: Vec<_> = h
            .find(REJECTED)
            .into_iter()
            .map(|e| (e.labels, e.point))
            .collect();
        rejected.sort_by(|a, b| a.0.cmp(&b.0));
        let count = |reason: &str, n: f64| {
            (
                labels(&[("reason", reason)]),
                Point::Sum {
                    monotonic: true,
                    value: n,
                },
            )
        };
        assert_eq!(
            rejected,
            [
                count("conflict", 2.0),
                count("invalid_label", 2.0),
                count("invalid_name", 5.0),
                count("negative", 2.0),
                count("not_finite", 2.0),
            ]
        );
    }

    #[test]
    fn instruments_are_created_once_and_shared_by_threads() {
        let h = Harness::new();
        let bridge = Arc::new(h.bridge());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let bridge = bridge.clone();
                std::thread::spawn(move || {
                    for i in 0..1_000 {
                        let m = Measurement::new(AGENT_RUNS, InstrumentKind::Counter, 1.0)
                            .with_unit("{run}")
                            .with_label(
                                "gen_ai.agent.name",
                                Text::from(format!("agent-{}", (t + i) % 2)),
                            );
                        if bridge.record(&m).is_err() {
                            return false;
                        }
                    }
                    true
                })
            })
            .collect();
        for t in threads {
            assert!(matches!(t.join(), Ok(true)));
        }
        assert_eq!(bridge.instrument_count(), 2);
        let runs = h.find(AGENT_RUNS);
        let total: f64 = runs
            .iter()
            .map(|e| match e.point {
                Point::Sum { value, .. } => value,
                _ => 0.0,
            })
            .sum();
        assert_eq!((runs.len(), total), (2, 8_000.0));
    }

    #[test]
    fn instrument_names_and_descriptions_can_be_chosen() {
        let h = Harness::new();
        let bridge = h
            .bridge()
            .with_instrument_names(|name, unit| match unit {
                Some("USD") => Some(format!("{name}.USD")),
                _ => None,
            })
            .with_description("jobs", "Jobs done.");
        ok(
            &bridge,
            Measurement::new(COST, InstrumentKind::Counter, 0.5).with_unit("USD"),
        );
        ok(
            &bridge,
            Measurement::new("jobs", InstrumentKind::Counter, 2.0),
        );
        // Conflicts are still checked by measurement name.
        assert_eq!(
            bridge.record(&Measurement::new(COST, InstrumentKind::Gauge, 1.0).with_unit("USD")),
            Err(RecordError::KindConflict {
                existing: InstrumentKind::Counter,
                got: InstrumentKind::Gauge
            })
        );
        let cost = h.find("agentrace.cost.USD");
        assert_eq!((cost.len(), cost[0].unit.as_str()), (1, "USD"));
        assert_eq!(cost[0].description, describe(COST));
        assert!(h.find(COST).is_empty());
        assert_eq!(h.find("jobs")[0].description, "Jobs done.");
        // A renaming into an invalid name is refused like an invalid name.
        let bad = h.bridge().with_instrument_names(|_, _| Some(String::new()));
        assert_eq!(
            bad.record(&Measurement::new("ok", InstrumentKind::Counter, 1.0)),
            Err(RecordError::InvalidName("empty"))
        );
    }
}
