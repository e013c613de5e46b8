//! `agentrace::init()`: the core [`TelemetryBuilder`] plus the feature-gated backends.

#[cfg(any(feature = "sqlite", feature = "file"))]
use std::path::PathBuf;
use std::sync::Arc;

use agentrace_core::budget::Budgets;
use agentrace_core::cost::PriceBook;
use agentrace_core::{
    InitError, Level, PipelineConfig, Processor, Sampler, Sink, TelemetryBuilder, TelemetryGuard,
};

/// Environment variables of the facade (the core's are in [`agentrace_core::env`]).
pub mod env {
    pub use agentrace_core::env::*;
    /// SQLite store path (feature `sqlite`).
    pub const AGENTRACE_SQLITE_PATH: &str = "AGENTRACE_SQLITE_PATH";
    /// JSONL directory (feature `file`).
    pub const AGENTRACE_JSONL_DIR: &str = "AGENTRACE_JSONL_DIR";
}

/// Starts configuring agentrace. Settings left unset come from the environment, then defaults.
pub fn init() -> Builder {
    Builder::default()
}

/// Configures and installs agentrace; see [`init`].
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    telemetry: TelemetryBuilder,
    #[cfg(feature = "sqlite")]
    sqlite_path: Option<PathBuf>,
    #[cfg(feature = "file")]
    jsonl_dir: Option<PathBuf>,
    budgets: Option<Arc<Budgets>>,
}

impl Builder {
    /// Sets `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.telemetry = self.telemetry.with_service_name(name);
        self
    }

    /// Stores spans and events in the SQLite file at `path` (feature `sqlite`).
    #[cfg(feature = "sqlite")]
    pub fn sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.sqlite_path = Some(path.into());
        self
    }

    /// Writes spans and events as JSON lines into `dir`, rotated daily (feature `file`).
    #[cfg(feature = "file")]
    pub fn jsonl(mut self, dir: impl Into<PathBuf>) -> Self {
        self.jsonl_dir = Some(dir.into());
        self
    }

    /// Adds any sink.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.telemetry = self.telemetry.with_sink(sink);
        self
    }

    /// Adds a shared sink.
    pub fn shared_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.telemetry = self.telemetry.with_shared_sink(sink);
        self
    }

    /// Appends a processor.
    pub fn processor(mut self, processor: impl Processor + 'static) -> Self {
        self.telemetry = self.telemetry.with_processor(processor);
        self
    }

    /// Prices LLM spans with `book` instead of the built-in price table.
    pub fn price_book(mut self, book: Arc<dyn PriceBook>) -> Self {
        self.telemetry = self.telemetry.with_price_book(book);
        self
    }

    /// Keeps `budgets` up to date with every priced span. With the `sqlite` backend, their
    /// current periods' spend is first restored from the store, so a restart forgets nothing.
    pub fn budgets(mut self, budgets: Arc<Budgets>) -> Self {
        self.telemetry = self.telemetry.with_budgets(budgets.clone());
        self.budgets = Some(budgets);
        self
    }

    /// Derives GenAI metrics from every span for the metric sinks.
    pub fn metrics(mut self) -> Self {
        self.telemetry = self.telemetry.with_metrics();
        self
    }

    /// Masks secrets and personal data and drops prompt/response content before any sink
    /// (`agentrace::redact::Redactor::new()` for the built-in rules).
    #[cfg(feature = "redact")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redact")))]
    pub fn redaction(mut self, redactor: agentrace_core::redact::Redactor) -> Self {
        self.telemetry = self.telemetry.with_redaction(redactor);
        self
    }

    /// Leaves spans unpriced.
    pub fn without_pricing(mut self) -> Self {
        self.telemetry = self.telemetry.without_pricing();
        self
    }

    /// Sets the sampler.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.telemetry = self.telemetry.with_sampler(sampler);
        self
    }

    /// Sets the minimum event level.
    pub fn event_level(mut self, level: Level) -> Self {
        self.telemetry = self.telemetry.with_event_level(level);
        self
    }

    /// Sets which spans and events are recorded (`EnvFilter` syntax).
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.telemetry = self.telemetry.with_filter(directives);
        self
    }

    /// Also prints events to stderr.
    pub fn console(mut self, on: bool) -> Self {
        self.telemetry = self.telemetry.with_console(on);
        self
    }

    /// Changes the pipeline's bounds and timings.
    pub fn pipeline_config(mut self, f: impl FnOnce(&mut PipelineConfig)) -> Self {
        self.telemetry = self.telemetry.with_pipeline_config(f);
        self
    }

    fn with_backends(self) -> Result<TelemetryBuilder, InitError> {
        #[allow(unused_mut)]
        let mut telemetry = self.telemetry;
        #[cfg(feature = "sqlite")]
        if let Some(path) = self
            .sqlite_path
            .or_else(|| env::process_path(env::AGENTRACE_SQLITE_PATH))
        {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| InitError::Sink {
                    sink: "sqlite",
                    source: e.into(),
                })?;
            }
            let store =
                agentrace_sqlite::SqliteStore::open(&path).map_err(|e| InitError::Sink {
                    sink: "sqlite",
                    source: e.into(),
                })?;
            if let Some(budgets) = &self.budgets {
                agentrace_sqlite::restore_budgets(&store, budgets).map_err(|e| {
                    InitError::Sink {
                        sink: "sqlite",
                        source: e.into(),
                    }
                })?;
            }
            telemetry = telemetry.with_sink(store);
        }
        #[cfg(feature = "file")]
        if let Some(dir) = self
            .jsonl_dir
            .or_else(|| env::process_path(env::AGENTRACE_JSONL_DIR))
        {
            let sink = agentrace_file::JsonlSink::builder(dir)
                .build()
                .map_err(|e| InitError::Sink {
                    sink: "jsonl",
                    source: e.into(),
                })?;
            telemetry = telemetry.with_sink(sink);
        }
        Ok(telemetry)
    }

    /// Starts the pipeline and installs the global `tracing` subscriber. Keep the guard: it
    /// flushes and shuts down when dropped.
    pub fn install(self) -> Result<TelemetryGuard, InitError> {
        self.with_backends()?.install()
    }

    /// Starts the pipeline and returns the layer to compose into your own subscriber.
    pub fn build(self) -> Result<(agentrace_core::AgentraceLayer, TelemetryGuard), InitError> {
        self.with_backends()?.build()
    }
}
