//! What agentrace records of the calls a test makes: a pipeline (prices, then budgets) into
//! memory, behind an `AgentraceLayer` that only the test's futures see.

use std::future::Future;
use std::sync::Arc;

use agentrace_core::budget::{BudgetProcessor, Budgets};
use agentrace_core::cost::{PriceProcessor, PriceTable};
use agentrace_core::testing::MemorySink;
use agentrace_core::{AgentraceLayer, Event, Pipeline, Resource, SpanRecord};
use tracing::Dispatch;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::prelude::*;

/// Records the spans and events of the futures it runs, as `agentrace::init()` would: priced
/// with the built-in table, settled against the budgets given.
#[derive(Debug)]
pub struct Recorder {
    pipeline: Pipeline,
    memory: MemorySink,
    dispatch: Dispatch,
}

/// What a [`Recorder`] recorded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recorded {
    /// Every span, in the order they ended.
    pub spans: Vec<SpanRecord>,
    /// Every event.
    pub events: Vec<Event>,
}

impl Recorder {
    /// A recorder settling spans against `budgets`, if any.
    ///
    /// # Panics
    /// If the pipeline cannot start (it has no fallible part here).
    pub fn new(budgets: Option<Arc<Budgets>>) -> Self {
        let memory = MemorySink::new();
        let mut builder = Pipeline::builder()
            .with_processor(PriceProcessor::new(Arc::new(PriceTable::builtin())));
        if let Some(budgets) = budgets {
            builder = builder.with_processor(BudgetProcessor(budgets));
        }
        let pipeline = builder
            .with_sink(memory.clone())
            .build()
            .expect("the recording pipeline starts");
        let subscriber = tracing_subscriber::registry().with(AgentraceLayer::new(
            pipeline.clone(),
            Resource::new("adapter-kit"),
        ));
        Self {
            pipeline,
            memory,
            dispatch: Dispatch::new(subscriber),
        }
    }

    /// Runs `future` with this recorder as its subscriber (spans made inside it are recorded).
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        future.with_subscriber(self.dispatch.clone()).await
    }

    /// Waits for everything recorded to be processed and returns it.
    ///
    /// # Panics
    /// If the pipeline cannot flush or shut down.
    pub fn finish(self) -> Recorded {
        self.pipeline.flush().expect("the pipeline flushes");
        self.pipeline.shutdown().expect("the pipeline shuts down");
        Recorded {
            spans: self.memory.spans(),
            events: self.memory.events(),
        }
    }
}
