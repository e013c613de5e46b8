//! [`PrometheusSink`] and its builder.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentrace_core::{
    ExportError, FlushError, Measurement, MetricSink, Resource, ShutdownError, Sink,
};
use agentrace_otel::metrics::{InvalidBoundaries, MetricsBridge, Rejected};
use async_trait::async_trait;
use opentelemetry::InstrumentationScope;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Registry, TextEncoder};

use crate::naming;

/// The instrumentation scope of every instrument: `otel_scope_name` when scope info is on.
pub const SCOPE_NAME: &str = "agentrace";

/// Building a [`PrometheusSink`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The exporter could not register with the Prometheus registry. A registry takes one
    /// agentrace sink (build one sink and clone it).
    #[error("cannot register the OpenTelemetry exporter with the Prometheus registry: {0}")]
    Registry(#[source] OTelSdkError),
    /// Histogram boundaries that are not finite and strictly increasing.
    #[error(transparent)]
    Boundaries(#[from] InvalidBoundaries),
}

/// Configures a [`PrometheusSink`]; see [`PrometheusSink::builder`].
#[derive(Debug)]
#[must_use]
pub struct PrometheusSinkBuilder {
    registry: Option<Registry>,
    resource: Option<Resource>,
    service_name: Option<String>,
    scope_info: bool,
    boundaries: Vec<(String, Vec<f64>)>,
}

impl Default for PrometheusSinkBuilder {
    fn default() -> Self {
        Self {
            registry: None,
            resource: None,
            service_name: None,
            scope_info: true,
            boundaries: Vec::new(),
        }
    }
}

impl PrometheusSinkBuilder {
    /// Exposes the metrics through `registry` (with whatever else it holds) instead of a
    /// registry of the sink's own. Not `prometheus::default_registry()` unless you mean it.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The resource described by `target_info` (its attributes become labels there).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Sets `service.name` (`target_info{service_name=…}`), over the resource's and over
    /// `OTEL_SERVICE_NAME`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Whether every series carries `otel_scope_name="agentrace"` and `otel_scope_version`
    /// labels (on by default, as the OpenTelemetry → Prometheus rules ask).
    pub fn scope_info_enabled(mut self, enabled: bool) -> Self {
        self.scope_info = enabled;
        self
    }

    /// Buckets for the histogram `name` (a measurement name such as
    /// `gen_ai.client.token.usage`). The GenAI token and duration histograms have the advised
    /// buckets by default; other histograms get the SDK's defaults.
    pub fn histogram_boundaries(mut self, name: impl Into<String>, boundaries: Vec<f64>) -> Self {
        self.boundaries.push((name.into(), boundaries));
        self
    }

    /// Builds the sink: an SDK meter provider whose reader is the Prometheus exporter,
    /// registered with the registry.
    pub fn build(self) -> Result<PrometheusSink, BuildError> {
        let registry = self.registry.unwrap_or_default();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .without_units()
            .scope_info_enabled(self.scope_info)
            .build()
            .map_err(BuildError::Registry)?;
        let mut resource = opentelemetry_sdk::Resource::builder();
        if let Some(r) = &self.resource {
            resource = resource.with_attributes(agentrace_otel::resource::key_values(r));
        }
        if let Some(name) = self.service_name {
            resource = resource.with_service_name(name);
        }
        let provider = SdkMeterProvider::builder()
            .with_reader(exporter)
            .with_resource(resource.build())
            .build();
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder(SCOPE_NAME)
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        let mut bridge = MetricsBridge::new(meter).with_instrument_names(naming::instrument_name);
        for (name, boundaries) in self.boundaries {
            bridge = bridge.with_histogram_boundaries(name, boundaries)?;
        }
        Ok(PrometheusSink {
            inner: Arc::new(Inner {
                registry,
                provider,
                bridge,
                shut_down: AtomicBool::new(false),
            }),
        })
    }
}

/// A metric sink exposing agentrace's measurements to Prometheus; see the
/// [crate docs](crate). Clones share the same metrics.
#[derive(Clone)]
pub struct PrometheusSink {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    /// Owns the exporter; dropped (and so shut down) with the last clone of the sink.
    provider: SdkMeterProvider,
    bridge: MetricsBridge,
    shut_down: AtomicBool,
}

impl fmt::Debug for PrometheusSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusSink")
            .field("provider", &self.inner.provider)
            .field("bridge", &self.inner.bridge)
            .field("shut_down", &self.is_shut_down())
            .finish_non_exhaustive()
    }
}

impl PrometheusSink {
    /// Starts configuring a sink.
    pub fn builder() -> PrometheusSinkBuilder {
        PrometheusSinkBuilder::default()
    }

    /// A sink with the defaults: its own registry, scope labels on, the GenAI buckets.
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    /// The registry the metrics are gathered from.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Everything in the registry, in the Prometheus text exposition format (0.0.4), as a
    /// scrape of `/metrics` returns it.
    pub fn render(&self) -> String {
        let encoder = TextEncoder::new();
        let mut out = String::new();
        for family in self.inner.registry.gather() {
            // A family is checked before anything of it is written, so a bad one (no name, no
            // series) is left out whole, and the rest still reaches the scraper.
            if let Err(e) = encoder.encode_utf8(std::slice::from_ref(&family), &mut out) {
                out.push_str(&format!("# agentrace: left out {:?}: {e}\n", family.name()));
            }
        }
        out
    }

    /// Records `measurements` now, as [`export_measurements`](MetricSink::export_measurements)
    /// does, for a caller outside a pipeline (a server keeping a sink per project). Nothing is
    /// recorded after shutdown.
    pub fn record(&self, measurements: &[Measurement]) {
        if self.is_shut_down() {
            return;
        }
        for m in measurements {
            // Rejections are counted by the bridge and exposed as a metric.
            let _ = self.inner.bridge.record(m);
        }
    }

    /// Measurements refused so far (not finite, negative increments, name or kind conflicts…),
    /// by reason; also exposed as `agentrace_metrics_rejected_total{reason}`.
    pub fn rejected(&self) -> Rejected {
        self.inner.bridge.rejected()
    }

    /// Whether [`Sink::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire)
    }
}

#[async_trait]
impl Sink for PrometheusSink {
    fn name(&self) -> &str {
        "prometheus"
    }

    fn as_metric_sink(&self) -> Option<&dyn MetricSink> {
        Some(self)
    }

    /// Nothing to do: a measurement is in the exposed values as soon as it is exported.
    /// After shutdown: [`FlushError::ShutDown`].
    async fn flush(&self) -> Result<(), FlushError> {
        if self.is_shut_down() {
            return Err(FlushError::ShutDown);
        }
        Ok(())
    }

    /// Stops taking measurements. The values stay exposed ([`render`](PrometheusSink::render),
    /// the router, running servers) so a last scrape still sees them; they go when the last
    /// clone of the sink is dropped. A second call returns [`ShutdownError::AlreadyShutDown`].
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        if self.inner.shut_down.swap(true, Ordering::AcqRel) {
            return Err(ShutdownError::AlreadyShutDown);
        }
        Ok(())
    }
}

#[async_trait]
impl MetricSink for PrometheusSink {
    /// Records every valid measurement; invalid ones are counted (see
    /// [`rejected`](PrometheusSink::rejected)) without failing the batch.
    async fn export_measurements(&self, measurements: &[Measurement]) -> Result<(), ExportError> {
        if self.is_shut_down() {
            return Err(ExportError::ShutDown);
        }
        self.record(measurements);
        Ok(())
    }
}
