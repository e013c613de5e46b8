//! Assembling and installing agentrace: sinks + processors + pipeline + layer + subscriber.

use std::sync::Arc;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::prelude::*;

use crate::budget::Budgets;
use crate::chain::ProcessorChain;
use crate::cost::{LayeredPriceBook, PriceBook, load_price_files};
use crate::env::{self, EnvError, Source as EnvSource};
use crate::layer::AgentraceLayer;
use crate::model::{AttributeValue, Level, Resource};
use crate::pipeline::{BuildError, Pipeline, PipelineBuilder, PipelineConfig, PipelineStats};
use crate::processor::Processor;
#[cfg(feature = "redact")]
use crate::redact::Redactor;
use crate::sampling::Sampler;
use crate::sink::{BoxError, FlushError, ShutdownError, Sink};

/// Setting up telemetry failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The pipeline could not start.
    #[error(transparent)]
    Pipeline(#[from] BuildError),
    /// An environment variable holds a value that cannot be used.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A sink could not be created (a file that cannot be opened, a database that is newer
    /// than this version).
    #[error("could not create the {sink} sink: {source}")]
    Sink {
        /// Which sink.
        sink: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// A global `tracing` subscriber was installed before.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Builds agentrace telemetry: a [`Pipeline`] with sinks and processors, an
/// [`AgentraceLayer`], and optionally the global subscriber.
///
/// ```
/// use agentrace_core::{Telemetry, testing::MemorySink};
///
/// let memory = MemorySink::new();
/// let (layer, guard) = Telemetry::builder()
///     .with_service_name("quickstart")
///     .with_sink(memory.clone())
///     .build()?;
/// # drop(layer);
/// guard.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct TelemetryBuilder {
    service_name: Option<String>,
    resource: Vec<(String, AttributeValue)>,
    pipeline: PipelineBuilder,
    processors: Vec<Arc<dyn Processor>>,
    pricing: Pricing,
    budgets: Option<Arc<Budgets>>,
    redaction: Redaction,
    metrics: bool,
    sampler: Option<Sampler>,
    event_level: Option<Level>,
    filter: Option<String>,
    console: bool,
}

/// The built-in price table, under the files named by `AGENTRACE_PRICES`.
fn builtin_with_env_files(env: EnvSource<'_>) -> Result<Arc<dyn PriceBook>, InitError> {
    let files = env::list(env, env::AGENTRACE_PRICES).unwrap_or_default();
    let tables = load_price_files(files.iter().map(String::as_str))
        .map_err(|e| EnvError::new(env::AGENTRACE_PRICES, files.join(","), e))?;
    Ok(Arc::new(LayeredPriceBook::over_builtin(tables)))
}

/// What the pipeline masks before any processor or sink sees a record (with the `redact`
/// feature; without it, nothing).
#[derive(Debug, Default)]
enum Redaction {
    /// Secrets only (`Redactor::secrets_only`), unless `AGENTRACE_MASK_SECRETS=false`.
    #[default]
    Secrets,
    /// The user's redactor.
    #[cfg(feature = "redact")]
    Custom(Arc<Redactor>),
    /// Nothing.
    Off,
}

/// Which prices the pipeline stamps on LLM spans.
#[derive(Debug, Default)]
enum Pricing {
    /// The built-in table.
    #[default]
    Builtin,
    /// A user's book.
    Book(Arc<dyn PriceBook>),
    /// No pricing.
    Off,
}

/// Entry point: `Telemetry::builder()`.
#[derive(Debug)]
pub struct Telemetry;

impl Telemetry {
    /// A builder with nothing set; unset values come from the environment, then defaults.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }
}

impl TelemetryBuilder {
    /// Sets `service.name` (else `OTEL_SERVICE_NAME`, else the executable's name).
    #[must_use]
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute (`service.version`, `deployment.environment.name`, …).
    #[must_use]
    pub fn with_resource_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Adds a sink.
    #[must_use]
    pub fn with_sink(mut self, sink: impl Sink + 'static) -> Self {
        self.pipeline = self.pipeline.with_sink(sink);
        self
    }

    /// Adds a shared sink.
    #[must_use]
    pub fn with_shared_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.pipeline = self.pipeline.with_shared_sink(sink);
        self
    }

    /// Appends a processor.
    #[must_use]
    pub fn with_processor(mut self, processor: impl Processor + 'static) -> Self {
        self.processors.push(Arc::new(processor));
        self
    }

    /// Prices LLM spans with `book` instead of the built-in table.
    #[must_use]
    pub fn with_price_book(mut self, book: Arc<dyn PriceBook>) -> Self {
        self.pricing = Pricing::Book(book);
        self
    }

    /// Records every priced span's cost in `budgets` (settling reservations made by
    /// [`Budgets::check`] inside the span).
    #[must_use]
    pub fn with_budgets(mut self, budgets: Arc<Budgets>) -> Self {
        self.budgets = Some(budgets);
        self
    }

    /// Derives the GenAI metrics ([`crate::metrics`]) from every span for the metric sinks, and
    /// reports pipeline health to them every 10 s (unless configured otherwise).
    #[must_use]
    pub fn with_metrics(mut self) -> Self {
        self.metrics = true;
        self
    }

    /// Leaves spans unpriced (cost `None`), e.g. when a collector downstream prices them.
    #[must_use]
    pub fn without_pricing(mut self) -> Self {
        self.pricing = Pricing::Off;
        self
    }

    /// Replaces the default redaction ([`Redactor::secrets_only`]: secrets masked, content
    /// kept) with `redactor`, e.g. [`Redactor::new`] to mask personal data and drop
    /// prompt/response content too. It runs before anything else sees a record.
    #[cfg(feature = "redact")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
    #[must_use]
    pub fn with_redaction(mut self, redactor: Redactor) -> Self {
        self.redaction = Redaction::Custom(Arc::new(redactor));
        self
    }

    /// Turns off the default masking of secrets (as `AGENTRACE_MASK_SECRETS=false` does;
    /// without the `redact` feature nothing is masked anyway).
    #[must_use]
    pub fn without_secret_masking(mut self) -> Self {
        self.redaction = Redaction::Off;
        self
    }

    /// A chain that starts with the masking asked for.
    #[cfg(feature = "redact")]
    fn masking(&mut self) -> Result<ProcessorChain, InitError> {
        let redactor = match std::mem::take(&mut self.redaction) {
            Redaction::Secrets => {
                let mask = env::parse(&env::process, env::AGENTRACE_MASK_SECRETS, env::parse_bool)?;
                mask.unwrap_or(true)
                    .then(|| Arc::new(Redactor::secrets_only()))
            }
            Redaction::Custom(redactor) => Some(redactor),
            Redaction::Off => None,
        };
        Ok(ProcessorChain::new().masking(redactor))
    }

    /// Without the `redact` feature there is no masker: a chain that masks nothing.
    #[cfg(not(feature = "redact"))]
    fn masking(&mut self) -> Result<ProcessorChain, InitError> {
        let (Redaction::Secrets | Redaction::Off) = std::mem::take(&mut self.redaction);
        Ok(ProcessorChain::new())
    }

    /// The pipeline: redaction, pricing, budgets, metrics, then the user's processors.
    fn pipeline(&mut self) -> Result<PipelineBuilder, InitError> {
        let mut pipeline = std::mem::take(&mut self.pipeline);
        let masking = self.masking()?;
        let book = match std::mem::take(&mut self.pricing) {
            Pricing::Builtin => Some(builtin_with_env_files(&env::process)?),
            Pricing::Book(book) => Some(book),
            Pricing::Off => None,
        };
        let chain = self
            .processors
            .drain(..)
            .fold(
                masking
                    .pricing(book)
                    .budgets(self.budgets.take())
                    .metrics(self.metrics),
                ProcessorChain::then,
            )
            .build();
        for p in chain {
            pipeline = pipeline.with_shared_processor(p);
        }
        if self.metrics {
            pipeline = pipeline.configure(|c| {
                c.health_interval = c
                    .health_interval
                    .or(Some(std::time::Duration::from_secs(10)))
            });
        }
        Ok(pipeline)
    }

    /// Sets the sampler (else `AGENTRACE_SAMPLE_RATIO`, else keep everything).
    #[must_use]
    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Sets the minimum event level (else `AGENTRACE_LEVEL`, else `INFO`).
    #[must_use]
    pub fn with_event_level(mut self, level: Level) -> Self {
        self.event_level = Some(level);
        self
    }

    /// Sets which spans and events reach agentrace, in `EnvFilter` syntax (else
    /// `AGENTRACE_FILTER`).
    #[must_use]
    pub fn with_filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Also prints events to stderr with `tracing_subscriber::fmt` when installing.
    #[must_use]
    pub fn with_console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }

    /// Changes the pipeline's bounds and timings.
    #[must_use]
    pub fn with_pipeline_config(mut self, f: impl FnOnce(&mut PipelineConfig)) -> Self {
        self.pipeline = self.pipeline.configure(f);
        self
    }

    fn resolve(
        &mut self,
        env: EnvSource<'_>,
    ) -> Result<(Resource, Sampler, Level, EnvFilter), InitError> {
        let service_name = match self
            .service_name
            .take()
            .or_else(|| env::value(env, env::OTEL_SERVICE_NAME))
        {
            Some(name) => name,
            None => std::env::current_exe()
                .ok()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "unknown_service".to_owned()),
        };
        let mut resource = Resource::new(service_name);
        for (k, v) in self.resource.drain(..) {
            resource.attributes.insert(k, v);
        }
        let sampler = match self.sampler {
            Some(s) => s,
            None => env::parse(env, env::AGENTRACE_SAMPLE_RATIO, |v| {
                match v.parse::<f64>() {
                    Ok(r) if (0.0..=1.0).contains(&r) => Ok(Sampler::ratio(r)),
                    _ => Err("expected a number from 0.0 to 1.0"),
                }
            })?
            .unwrap_or_default(),
        };
        let event_level = match self.event_level {
            Some(level) => level,
            None => env::parse(env, env::AGENTRACE_LEVEL, |v| {
                v.parse::<Level>().map_err(|e| e.to_string())
            })?
            .unwrap_or_default(),
        };
        let directives = match self.filter.take() {
            Some(d) => Some(d),
            None => env::value(env, env::AGENTRACE_FILTER),
        };
        let default_level = match event_level {
            Level::Trace => LevelFilter::TRACE,
            Level::Debug => LevelFilter::DEBUG,
            _ => LevelFilter::INFO,
        };
        let filter = match directives {
            None => EnvFilter::builder()
                .with_default_directive(default_level.into())
                .parse_lossy(""),
            Some(d) => EnvFilter::builder()
                .parse(&d)
                .map_err(|e| EnvError::new(env::AGENTRACE_FILTER, d.clone(), e))?,
        };
        Ok((resource, sampler, event_level, filter))
    }

    /// Starts the pipeline and returns the layer (to compose into your own subscriber) and the
    /// guard. The layer sees everything; apply your own filter to it.
    pub fn build(mut self) -> Result<(AgentraceLayer, TelemetryGuard), InitError> {
        let (resource, sampler, event_level, _) = self.resolve(&env::process)?;
        let pipeline = self.pipeline()?.build()?;
        let layer = AgentraceLayer::new(pipeline.clone(), resource)
            .with_sampler(sampler)
            .with_event_level(event_level);
        Ok((layer, TelemetryGuard { pipeline }))
    }

    /// Starts the pipeline and installs the global `tracing` subscriber (the agentrace layer
    /// behind the configured filter, plus console output if asked). Keep the guard alive: it
    /// flushes and shuts down on drop.
    pub fn install(mut self) -> Result<TelemetryGuard, InitError> {
        let (resource, sampler, event_level, filter) = self.resolve(&env::process)?;
        let console = self.console;
        let pipeline = self.pipeline()?.build()?;
        let layer = AgentraceLayer::new(pipeline.clone(), resource)
            .with_sampler(sampler)
            .with_event_level(event_level)
            .with_filter(filter);
        let console =
            console.then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
        let guard = TelemetryGuard { pipeline };
        tracing_subscriber::registry()
            .with(layer)
            .with(console)
            .try_init()
            .map_err(|e| InitError::AlreadyInstalled(e.to_string()))?;
        Ok(guard)
    }
}

/// Keeps telemetry running; flushes and shuts the pipeline down when dropped.
#[derive(Debug)]
#[must_use = "dropping the guard shuts telemetry down"]
pub struct TelemetryGuard {
    pipeline: Pipeline,
}

impl TelemetryGuard {
    /// Waits until everything recorded so far is exported.
    pub fn flush(&self) -> Result<(), FlushError> {
        self.pipeline.flush()
    }

    /// Flushes and shuts down now, reporting errors (dropping the guard does the same
    /// silently).
    pub fn shutdown(self) -> Result<(), ShutdownError> {
        self.pipeline.shutdown()
    }

    /// The pipeline's counters.
    pub fn stats(&self) -> PipelineStats {
        self.pipeline.stats()
    }

    /// The pipeline, to submit records from other sources.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// A [`Meter`](crate::metrics::Meter) for user-defined counters, gauges and histograms,
    /// which reach every metric sink like the derived metrics.
    pub fn meter(&self) -> crate::metrics::Meter {
        crate::metrics::Meter::new(self.pipeline.clone())
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if !self.pipeline.is_shut_down() {
            let _ = self.pipeline.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |var| {
            pairs
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn environment_fills_what_the_builder_leaves_unset() -> Result<(), InitError> {
        let env = env_of(&[
            ("OTEL_SERVICE_NAME", "from-env"),
            ("AGENTRACE_LEVEL", "warning"),
            ("AGENTRACE_SAMPLE_RATIO", "0.25"),
        ]);
        let (resource, sampler, level, _) = Telemetry::builder().resolve(&env)?;
        assert_eq!(resource.service_name, "from-env");
        assert_eq!(level, Level::Warning);
        assert_eq!(sampler.sample_ratio(), 0.25);
        Ok(())
    }

    #[test]
    fn the_builder_wins_over_the_environment() -> Result<(), InitError> {
        let env = env_of(&[
            ("OTEL_SERVICE_NAME", "from-env"),
            ("AGENTRACE_LEVEL", "nonsense"),
        ]);
        let (resource, _, level, _) = Telemetry::builder()
            .with_service_name("from-builder")
            .with_event_level(Level::Debug)
            .resolve(&env)?;
        assert_eq!(resource.service_name, "from-builder");
        assert_eq!(
            level,
            Level::Debug,
            "an invalid env value the builder overrides is not an error"
        );
        Ok(())
    }

    #[test]
    fn price_files_from_the_environment_layer_over_the_builtin_table()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("agentrace-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("mine.json");
        std::fs::write(
            &file,
            r#"{"format":"agentrace.prices/1","models":[{"provider":"x","model":"house-model","prices":[{"since":"2025-01-01","input":1,"output":2}]}]}"#,
        )?;
        let path = file.display().to_string();
        let book = builtin_with_env_files(&move |var: &str| {
            (var == env::AGENTRACE_PRICES).then(|| path.clone())
        })?;
        assert!(book.price(None, "house-model", 0).is_some());
        assert!(book.price(None, "gpt-4o", 0).is_some());
        let missing = builtin_with_env_files(&|var: &str| {
            (var == env::AGENTRACE_PRICES).then(|| "/nonexistent/p.json".to_owned())
        });
        assert!(
            missing
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("AGENTRACE_PRICES")
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn invalid_environment_values_are_clear_errors() {
        for (var, value) in [
            ("AGENTRACE_LEVEL", "loud"),
            ("AGENTRACE_SAMPLE_RATIO", "2"),
            ("AGENTRACE_FILTER", "[[["),
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(var, value)]));
            let err = Telemetry::builder().resolve(&env_of(pairs)).err();
            let message = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(var), "{var}={value}: {message}");
        }
    }
}
