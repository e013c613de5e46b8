//! [`OtlpSink`]: core's sink traits over opentelemetry-otlp's exporters, on a runtime of its own.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agentrace_core::{
    Event, EventSink, ExportError, FlushError, Measurement, MetricSink, Resource, ShutdownError,
    Sink, SpanRecord, SpanSink, async_trait,
};
use agentrace_otel::logs::LogMapper;
use agentrace_otel::metrics::MetricsBridge;
use agentrace_otel::resource::key_values;
use agentrace_otel::trace::span_data;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{LogExporter, MetricExporter, SpanExporter};
use opentelemetry_sdk::Resource as SdkResource;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogRecord};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use opentelemetry_sdk::trace::SpanExporter as _;
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::config::{BuildError, Config, OtlpSinkBuilder, Protocol, Signal, SignalConfig};
use crate::error::{OtlpExportError, classify};
use crate::transport::{self, OutcomeSlot, Transport, take_outcome};

/// Exports spans, events (as log records) and metrics over OTLP.
///
/// Build it with [`OtlpSink::builder`] and give it to a [`Pipeline`](agentrace_core::Pipeline)
/// (or the `agentrace` facade). Clones share the exporters.
///
/// - **Its own runtime.** The sink starts a one-thread tokio runtime (thread
///   `agentrace-<name>`) on which every request runs, whatever runtime the application has (or
///   none). An export spawns there and awaits the result. `tracing` events emitted on those
///   threads (by tonic, hyper, opentelemetry-otlp) go nowhere, so exporting never records
///   itself.
/// - **Direct exports.** The pipeline already batches, bounds, retries and isolates sinks, so
///   each batch goes straight to opentelemetry-otlp's exporter (no SDK batch processor, and the
///   exporter's own retries are off). Records of several resources are sent as one request per
///   resource; when a later one fails, the retry sends the earlier ones again (at least once).
/// - **Bounded time.** An export that takes longer than the signal's timeout fails with
///   [`ExportError::Timeout`], so a slow or down receiver only costs the pipeline's sink
///   thread its timeout, never the application's time. Failures are classified transient or
///   permanent (see [`OtlpExportError`]).
/// - **Metrics** are recorded into SDK instruments by an
///   [`agentrace_otel::metrics::MetricsBridge`] (invalid measurements are counted by it, as
///   `agentrace.metrics.rejected`, not failed) and collected with a `ManualReader`, cumulative,
///   every metric export interval and at every [`flush`](Sink::flush). A failed periodic
///   export loses nothing: the next one carries the totals.
/// - **Resource.** Records carry their own resource; what is exported is the SDK's defaults
///   (`telemetry.sdk.*`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`), under the record's
///   resource, under the builder's [`with_service_name`](OtlpSinkBuilder::with_service_name) and
///   [`with_resource_attribute`](OtlpSinkBuilder::with_resource_attribute). Metrics carry no
///   record resource: they get the defaults under the builder's values.
#[derive(Clone)]
pub struct OtlpSink {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: Config,
    /// `None` once dropped; shut down in the background, so that dropping the sink inside
    /// another runtime does not panic.
    runtime: Option<Runtime>,
    handle: Handle,
    resources: Resources,
    traces: Option<Channel<SpanExporter>>,
    logs: Option<(Channel<LogExporter>, LogMapper)>,
    metrics: Option<Arc<Metrics>>,
    periodic: Mutex<Option<JoinHandle<()>>>,
    shut_down: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One signal's exporter, used by one export at a time (`set_resource` needs it mutably).
struct Channel<E> {
    exporter: Arc<tokio::sync::Mutex<E>>,
    outcome: Option<OutcomeSlot>,
    timeout: Duration,
}

impl<E> Channel<E> {
    fn new((exporter, outcome): transport::Built<E>, config: &SignalConfig) -> Self {
        Self {
            exporter: Arc::new(tokio::sync::Mutex::new(exporter)),
            outcome,
            timeout: config.timeout,
        }
    }
}

/// The outcome slot of an HTTP exporter, cleared before an export and read after it fails.
fn reset(outcome: Option<&OutcomeSlot>) {
    if let Some(slot) = outcome {
        take_outcome(slot);
    }
}

fn failed(
    signal: Signal,
    outcome: Option<&OutcomeSlot>,
) -> impl FnOnce(opentelemetry_sdk::error::OTelSdkError) -> ExportError {
    move |e| classify(signal, e, outcome.map(take_outcome))
}

impl fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("OtlpSink");
        d.field("name", &self.inner.name);
        for signal in Signal::ALL {
            if let Some(c) = self.inner.config.signal(signal) {
                d.field(
                    signal.as_str(),
                    &format_args!("{} {}", c.protocol, c.endpoint),
                );
            }
        }
        d.finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// Starts building a sink. Unset values come from the `OTEL_*` environment, then the
    /// OTLP defaults.
    pub fn builder() -> OtlpSinkBuilder {
        OtlpSinkBuilder::default()
    }

    pub(crate) fn start(builder: OtlpSinkBuilder, config: Config) -> Result<Self, BuildError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .thread_name(format!("agentrace-{}", builder.name))
            .on_thread_start(agentrace_core::sink::silence_tracing_on_this_thread)
            .enable_all()
            .build()
            .map_err(BuildError::Runtime)?;
        let handle = runtime.handle().clone();
        let transport = Transport::new(&builder.headers, builder.compression)?;
        let resources = Resources::new(sdk_defaults(), &config.resource);
        // tonic connects lazily from the runtime it is built in.
        let entered = runtime.enter();
        let traces = match config.signal(Signal::Traces) {
            Some(c) => Some(Channel::new(transport::span_exporter(&transport, c)?, c)),
            None => None,
        };
        let logs = match config.signal(Signal::Logs) {
            Some(c) => Some((
                Channel::new(transport::log_exporter(&transport, c)?, c),
                LogMapper::new(),
            )),
            None => None,
        };
        let metrics = match config.signal(Signal::Metrics) {
            Some(c) => Some(Arc::new(Metrics::new(
                transport::metric_exporter(&transport, c)?,
                c,
                resources.sink_resource(),
            ))),
            None => None,
        };
        let periodic = metrics
            .clone()
            .map(|m| handle.spawn(m.export_periodically(config.metric_export_interval)));
        drop(entered);
        Ok(Self {
            inner: Arc::new(Inner {
                name: builder.name,
                config,
                runtime: Some(runtime),
                handle,
                resources,
                traces,
                logs,
                metrics,
                periodic: Mutex::new(periodic),
                shut_down: AtomicBool::new(false),
            }),
        })
    }

    /// The endpoint a signal is exported to, `None` when the signal is off.
    pub fn endpoint(&self, signal: Signal) -> Option<&str> {
        self.inner
            .config
            .signal(signal)
            .map(|c| c.endpoint.as_str())
    }

    /// The protocol of a signal, `None` when the signal is off.
    pub fn protocol(&self, signal: Signal) -> Option<Protocol> {
        self.inner.config.signal(signal).map(|c| c.protocol)
    }

    /// The interval between metric exports.
    pub fn metric_export_interval(&self) -> Duration {
        self.inner.config.metric_export_interval
    }

    fn check_open(&self) -> Result<(), ExportError> {
        if self.inner.shut_down.load(Ordering::SeqCst) {
            Err(ExportError::ShutDown)
        } else {
            Ok(())
        }
    }

    /// Runs `work` on the sink's runtime within `timeout` and waits for it from the caller's.
    async fn run(
        &self,
        timeout: Duration,
        work: impl Future<Output = Result<(), ExportError>> + Send + 'static,
    ) -> Result<(), ExportError> {
        let task = self.inner.handle.spawn(async move {
            tokio::time::timeout(timeout, work)
                .await
                .unwrap_or(Err(ExportError::Timeout(timeout)))
        });
        task.await
            .map_err(|e| ExportError::permanent(format!("the export task failed: {e}")))?
    }
}

#[async_trait]
impl Sink for OtlpSink {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        self.inner.traces.as_ref().map(|_| self as &dyn SpanSink)
    }

    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        self.inner.logs.as_ref().map(|_| self as &dyn EventSink)
    }

    fn as_metric_sink(&self) -> Option<&dyn MetricSink> {
        self.inner.metrics.as_ref().map(|_| self as &dyn MetricSink)
    }

    /// Spans and events are sent by the time their export returns; this collects and exports
    /// the metrics now.
    async fn flush(&self) -> Result<(), FlushError> {
        if self.inner.shut_down.load(Ordering::SeqCst) {
            return Err(FlushError::ShutDown);
        }
        let Some(metrics) = self.inner.metrics.clone() else {
            return Ok(());
        };
        let timeout = metrics.timeout;
        self.run(timeout, async move { metrics.export().await })
            .await
            .map_err(|e| match e {
                ExportError::Timeout(d) => FlushError::Timeout(d),
                other => FlushError::failed(other),
            })
    }

    /// Exports the metrics a last time and shuts the exporters down. A second call returns
    /// [`ShutdownError::AlreadyShutDown`].
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        if self.inner.shut_down.swap(true, Ordering::SeqCst) {
            return Err(ShutdownError::AlreadyShutDown);
        }
        if let Some(task) = self
            .inner
            .periodic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
        let mut result = Ok(());
        if let Some(metrics) = self.inner.metrics.clone() {
            let timeout = metrics.timeout;
            let m = metrics.clone();
            if let Err(e) = self.run(timeout, async move { m.export().await }).await {
                result = Err(ShutdownError::failed(e));
            }
            metrics.shutdown().await;
        }
        if let Some(traces) = &self.inner.traces {
            let _ = traces.exporter.lock().await.shutdown();
        }
        if let Some((logs, _)) = &self.inner.logs {
            let _ = logs.exporter.lock().await.shutdown();
        }
        result
    }
}

#[async_trait]
impl SpanSink for OtlpSink {
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        self.check_open()?;
        let Some(channel) = &self.inner.traces else {
            return Err(ExportError::permanent(
                "traces are turned off for this sink",
            ));
        };
        if spans.is_empty() {
            return Ok(());
        }
        let groups: Vec<(SdkResource, Vec<_>)> = by_resource(spans, |s| &s.resource)
            .into_iter()
            .map(|(resource, spans)| {
                (
                    self.inner.resources.sdk(resource),
                    spans.into_iter().map(span_data).collect(),
                )
            })
            .collect();
        let exporter = channel.exporter.clone();
        let outcome = channel.outcome.clone();
        self.run(channel.timeout, async move {
            let mut exporter = exporter.lock().await;
            for (resource, batch) in groups {
                exporter.set_resource(&resource);
                reset(outcome.as_ref());
                exporter
                    .export(batch)
                    .await
                    .map_err(failed(Signal::Traces, outcome.as_ref()))?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl EventSink for OtlpSink {
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.check_open()?;
        let Some((channel, mapper)) = &self.inner.logs else {
            return Err(ExportError::permanent("logs are turned off for this sink"));
        };
        if events.is_empty() {
            return Ok(());
        }
        let groups: Vec<(SdkResource, Vec<SdkLogRecord>)> = by_resource(events, |e| &e.resource)
            .into_iter()
            .map(|(resource, events)| {
                (
                    self.inner.resources.sdk(resource),
                    events.into_iter().map(|e| mapper.log_record(e)).collect(),
                )
            })
            .collect();
        let scope: InstrumentationScope = mapper.scope().clone();
        let exporter = channel.exporter.clone();
        let outcome = channel.outcome.clone();
        self.run(channel.timeout, async move {
            let mut exporter = exporter.lock().await;
            for (resource, records) in groups {
                exporter.set_resource(&resource);
                let batch: Vec<_> = records.iter().map(|r| (r, &scope)).collect();
                reset(outcome.as_ref());
                exporter
                    .export(LogBatch::new(&batch))
                    .await
                    .map_err(failed(Signal::Logs, outcome.as_ref()))?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl MetricSink for OtlpSink {
    /// Records the measurements into the SDK instruments; they are exported on the interval
    /// and at flush. Invalid measurements are rejected and counted by the bridge.
    async fn export_measurements(&self, measurements: &[Measurement]) -> Result<(), ExportError> {
        self.check_open()?;
        let Some(metrics) = &self.inner.metrics else {
            return Err(ExportError::permanent(
                "metrics are turned off for this sink",
            ));
        };
        for m in measurements {
            // A rejected measurement is counted by the bridge (`agentrace.metrics.rejected`).
            let _ = metrics.bridge.record(m);
        }
        Ok(())
    }
}

/// Groups records by resource, keeping their order within a group; batches usually hold one.
fn by_resource<T>(
    records: &[T],
    resource: impl Fn(&T) -> &Arc<Resource>,
) -> Vec<(&Arc<Resource>, Vec<&T>)> {
    let mut groups: Vec<(&Arc<Resource>, Vec<&T>)> = Vec::new();
    for record in records {
        let r = resource(record);
        match groups
            .iter_mut()
            .find(|(g, _)| Arc::ptr_eq(g, r) || **g == *r)
        {
            Some((_, members)) => members.push(record),
            None => groups.push((r, vec![record])),
        }
    }
    groups
}

/// Resolves the resource exported with a record's: SDK defaults and environment, under the
/// record's, under the builder's.
struct Resources {
    defaults: Vec<KeyValue>,
    overrides: Vec<KeyValue>,
    last: Mutex<Option<(Arc<Resource>, SdkResource)>>,
}

/// The SDK's default resource: `telemetry.sdk.*`, `OTEL_SERVICE_NAME`,
/// `OTEL_RESOURCE_ATTRIBUTES` (read once, when the sink is built).
fn sdk_defaults() -> Vec<KeyValue> {
    SdkResource::builder()
        .build()
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect()
}

impl Resources {
    fn new(defaults: Vec<KeyValue>, builder: &Resource) -> Self {
        Self {
            defaults,
            overrides: key_values(builder),
            last: Mutex::new(None),
        }
    }

    fn merged(&self, record: &[KeyValue]) -> SdkResource {
        SdkResource::builder_empty()
            .with_attributes(self.defaults.iter().cloned())
            .with_attributes(record.iter().cloned())
            .with_attributes(self.overrides.iter().cloned())
            .build()
    }

    /// The resource exported with records of `resource` (the last one is cached).
    fn sdk(&self, resource: &Arc<Resource>) -> SdkResource {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((r, sdk)) = &*last
            && (Arc::ptr_eq(r, resource) || **r == **resource)
        {
            return sdk.clone();
        }
        let sdk = self.merged(&key_values(resource));
        *last = Some((resource.clone(), sdk.clone()));
        sdk
    }

    /// The resource of what has no record resource (metrics).
    fn sink_resource(&self) -> SdkResource {
        self.merged(&[])
    }
}

/// The metrics signal: instruments, a manual reader, the exporter.
struct Metrics {
    provider: SdkMeterProvider,
    reader: SharedReader,
    bridge: MetricsBridge,
    /// The exporter and the collection buffer, one collection and export at a time so that
    /// cumulative points arrive in order.
    exporter: tokio::sync::Mutex<(MetricExporter, ResourceMetrics)>,
    outcome: Option<OutcomeSlot>,
    timeout: Duration,
}

impl Metrics {
    fn new(
        (exporter, outcome): transport::Built<MetricExporter>,
        config: &SignalConfig,
        resource: SdkResource,
    ) -> Self {
        let reader = SharedReader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .with_resource(resource)
            .build();
        let bridge = MetricsBridge::new(provider.meter("agentrace"));
        Self {
            provider,
            reader,
            bridge,
            exporter: tokio::sync::Mutex::new((exporter, ResourceMetrics::default())),
            outcome,
            timeout: config.timeout,
        }
    }

    /// Collects and exports now (nothing is sent when nothing was recorded yet).
    async fn export(&self) -> Result<(), ExportError> {
        let mut guard = self.exporter.lock().await;
        let (exporter, collected) = &mut *guard;
        self.reader.0.collect(collected).map_err(|e| {
            ExportError::permanent(OtlpExportError {
                signal: Signal::Metrics,
                reason: format!("collecting the metrics failed: {e}"),
            })
        })?;
        if collected.scope_metrics().next().is_none() {
            return Ok(());
        }
        reset(self.outcome.as_ref());
        exporter
            .export(collected)
            .await
            .map_err(failed(Signal::Metrics, self.outcome.as_ref()))
    }

    /// Exports every `interval`, each attempt bounded by the timeout; runs until aborted.
    async fn export_periodically(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // A failure loses nothing: points are cumulative, the next export carries them.
            let _ = tokio::time::timeout(self.timeout, self.export()).await;
        }
    }

    async fn shutdown(&self) {
        let guard = self.exporter.lock().await;
        let _ = guard.0.shutdown();
        let _ = self.provider.shutdown();
    }
}

/// The manual reader, shared between the meter provider (which owns its readers) and the sink
/// (which collects).
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: std::sync::Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }
    fn collect(&self, rm: &mut ResourceMetrics) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.collect(rm)
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

impl OtlpSinkBuilder {
    /// Resolves the configuration and starts the sink's runtime.
    pub fn build(self) -> Result<OtlpSink, BuildError> {
        let config = self.resolve(&agentrace_core::env::process)?;
        OtlpSink::start(self, config)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::{Key, Value};

    use super::*;

    #[test]
    fn the_builder_wins_over_the_record_which_wins_over_the_defaults() {
        let defaults = vec![
            KeyValue::new("service.name", "from-env"),
            KeyValue::new("host.name", "h1"),
            KeyValue::new("deployment.environment.name", "from-env"),
        ];
        let mut builder = Resource::new("");
        builder
            .attributes
            .insert("deployment.environment.name", "from-builder");
        let resources = Resources::new(defaults, &builder);

        let mut record = Resource::new("from-record");
        record
            .attributes
            .insert("deployment.environment.name", "from-record");
        record.attributes.insert("service.version", "1.2.3");
        let record = Arc::new(record);
        let sdk = resources.sdk(&record);
        let get = |k: &'static str| sdk.get(&Key::from_static_str(k));
        assert_eq!(get("service.name"), Some(Value::from("from-record")));
        assert_eq!(
            get("deployment.environment.name"),
            Some(Value::from("from-builder"))
        );
        assert_eq!(get("service.version"), Some(Value::from("1.2.3")));
        assert_eq!(get("host.name"), Some(Value::from("h1")));
        assert_eq!(sdk.len(), 4);

        // A record without a service name shows the default's; metrics get defaults + builder.
        let unnamed = resources.sdk(&Arc::new(Resource::new("")));
        assert_eq!(
            unnamed.get(&Key::from_static_str("service.name")),
            Some(Value::from("from-env"))
        );
        let sink = resources.sink_resource();
        assert_eq!(
            sink.get(&Key::from_static_str("service.name")),
            Some(Value::from("from-env"))
        );
        assert_eq!(
            sink.get(&Key::from_static_str("deployment.environment.name")),
            Some(Value::from("from-builder"))
        );
    }

    #[test]
    fn records_are_grouped_by_resource_in_order() {
        let a = Arc::new(Resource::new("a"));
        let a_again = Arc::new(Resource::new("a"));
        let b = Arc::new(Resource::new("b"));
        let records = [a.clone(), b.clone(), a_again, b];
        let groups = by_resource(&records, |r| r);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0.service_name, "a");
        assert_eq!(groups[0].1.len(), 2);
        assert_eq!(groups[1].1.len(), 2);
    }
}
