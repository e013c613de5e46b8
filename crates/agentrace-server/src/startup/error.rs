//! Why starting the server failed ([`StartError`]), or stopping it left something undone
//! ([`StopError`]).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use agentrace_core::budget::LoadBudgetsError;
use agentrace_core::cost::LoadPricesError;
use agentrace_store::{QueryError, WriteError};

use crate::config::ConfigError;
use crate::jobs::alerting::AlertsError;
use crate::store::OpenStoreError;

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store's projects could not be read, or the configured project's store opened.
    #[error("the store's projects: {0}")]
    Projects(#[source] agentrace_store::ProjectError),
    /// The first owner could not be created, or the people read.
    #[error("people: {0}")]
    People(String),
    /// The provisioning folder could not be applied.
    #[error(transparent)]
    Provisioning(#[from] crate::store::provisioning::ProvisionError),
    /// The data directory could not be created.
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] OpenStoreError),
    /// A price file could not be loaded.
    #[error(transparent)]
    Prices(#[from] LoadPricesError),
    /// The budgets file could not be loaded.
    #[error(transparent)]
    Budgets(#[from] LoadBudgetsError),
    /// The score configurations file could not be loaded.
    #[error(transparent)]
    ScoreConfigs(#[from] agentrace_core::LoadScoreConfigsError),
    /// The evaluators file cannot be used.
    #[error(transparent)]
    Evaluators(#[from] agentrace_evaluators::LoadEvaluatorsError),
    /// An evaluator cannot run as configured (a judge's budget without a price).
    #[error("evaluators: {0}")]
    Online(String),
    /// Budget spend could not be restored from the store.
    #[error("cannot restore budget spend from the store: {0}")]
    RestoreBudgets(#[source] QueryError),
    /// The alerts file or its channels cannot be used.
    #[error(transparent)]
    Alerts(#[from] AlertsError),
    /// The Prometheus sink could not be built.
    #[error("cannot set up /metrics: {0}")]
    Metrics(#[from] agentrace_prometheus::BuildError),
    /// The forwarder could not be built.
    #[error("cannot set up forwarding: {0}")]
    Forward(#[from] agentrace_otlp::BuildError),
    /// The redaction rules could not be compiled.
    #[error("cannot set up redaction: {0}")]
    Redaction(#[from] agentrace_core::redact::RuleError),
    /// The fan-out pipeline could not start.
    #[error("cannot start the fan-out pipeline: {0}")]
    Pipeline(#[from] agentrace_core::BuildError),
    /// A listener could not bind its address.
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Spawn(#[source] io::Error),
}

/// Stopping the server left something undone (what was acknowledged is stored regardless).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    /// The fan-out pipeline did not flush (a sink was down or slow); stored data is unaffected.
    #[error("flushing the fan-out pipeline failed: {0}")]
    Pipeline(#[from] agentrace_core::ShutdownError),
    /// Closing the store failed (SQLite: its final checkpoint; committed data is in its
    /// write-ahead log).
    #[error("closing the store failed: {0}")]
    Close(#[from] WriteError),
    /// A task of the server panicked.
    #[error("a server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
