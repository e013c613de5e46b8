//! What can go wrong on the command line, each with a message a user can act on.

use std::path::PathBuf;

/// A command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// No store at any of the paths looked at.
    #[error(
        "no agentrace store at {} (run agentrace serve or an instrumented program with the sqlite backend first, or pass --db)",
        .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" or ")
    )]
    NoStore(Vec<PathBuf>),
    /// The SQLite store could not be opened.
    #[error("cannot open the store: {0}")]
    Open(#[from] agentrace_sqlite::OpenError),
    /// The store named by --store could not be opened.
    #[error("cannot open the store: {0}")]
    OpenStore(#[from] agentrace_server::OpenStoreError),
    /// A query failed.
    #[error("{0}")]
    Project(#[from] agentrace_store::ProjectError),
    #[error("no project named {0:?} (list them with `GET /api/v1/projects`)")]
    NoProject(String),
    #[error("query failed: {0}")]
    Query(#[from] agentrace_store::QueryError),
    /// Writing to the store failed.
    #[error("cannot write to the store: {0}")]
    Write(#[from] agentrace_store::WriteError),
    /// A budgets file could not be loaded.
    #[error("{0}")]
    Budgets(#[from] agentrace_core::budget::LoadBudgetsError),
    /// A price file could not be loaded.
    #[error("{0}")]
    Prices(#[from] agentrace_core::cost::LoadPricesError),
    /// The server's configuration is not usable.
    #[error("{0}")]
    Config(#[from] agentrace_server::ConfigError),
    /// The server could not start.
    #[error("{0}")]
    Start(#[from] agentrace_server::StartError),
    /// The server did not stop cleanly.
    #[error("{0}")]
    Stop(#[from] agentrace_server::StopError),
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
    /// Writing CSV failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The alerts file could not be used.
    #[error("{0}")]
    Alerts(#[from] agentrace_alerts::LoadAlertsError),
    /// The server could not be asked, or refused.
    #[error("{0}")]
    Server(String),
    /// A file of records could not be read (its path and line are in the message).
    #[error("cannot import: {0}")]
    Read(#[from] agentrace_file::ReadError),
    /// Serializing JSON failed.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}
