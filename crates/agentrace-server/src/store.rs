//! The store the configuration names, opened: the one module of the server that knows the
//! implementations of [`agentrace_store::Store`]; every other speaks the traits.

use std::sync::Arc;

use agentrace_sqlite::{SqliteStore, StoreOptions};

use crate::config::{ServerConfig, StoreLocation};
use crate::state::SharedStore;

/// The configured store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenStoreError {
    /// The SQLite file could not be opened, created or migrated.
    #[error(transparent)]
    Sqlite(#[from] agentrace_sqlite::OpenError),
    /// This build cannot use the store named.
    #[error("{location}: {reason}")]
    Unsupported {
        /// The store named (without its password).
        location: String,
        /// Why.
        reason: &'static str,
    },
}

/// Opens (creates, migrates) the store `config` names.
pub fn open(config: &ServerConfig) -> Result<SharedStore, OpenStoreError> {
    match &config.store {
        StoreLocation::Sqlite => {
            let store = SqliteStore::open_with(
                config.db_path(),
                &StoreOptions::default().wal_ceiling(config.limits.wal_ceiling_bytes),
            )?;
            Ok(Arc::new(store))
        }
        location @ StoreLocation::ClickHouse(_) => Err(OpenStoreError::Unsupported {
            location: location.to_string(),
            reason: "the ClickHouse store does not serve the API yet",
        }),
    }
}
