//! The store the configuration names, opened: the one module of the server that knows the
//! implementations of [`agentrace_store::Store`]; every other speaks the traits.

use std::sync::Arc;

use agentrace_sqlite::{SqliteStore, StoreOptions};

use crate::config::{ClickHouseLocation, ServerConfig, StoreLocation};
use crate::state::SharedStore;

/// The configured store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenStoreError {
    /// The SQLite file could not be opened, created or migrated.
    #[error(transparent)]
    Sqlite(#[from] agentrace_sqlite::OpenError),
    /// The ClickHouse database could not be reached, created or migrated.
    #[cfg(feature = "clickhouse")]
    #[error(transparent)]
    ClickHouse(#[from] agentrace_clickhouse::OpenError),
    /// This build has no ClickHouse store.
    #[cfg(not(feature = "clickhouse"))]
    #[error("{0}: this build of agentrace has no ClickHouse store (cargo feature `clickhouse`)")]
    NotBuilt(String),
}

/// Opens (creates, migrates) the store `config` names. Blocks: call it off async threads.
pub fn open(config: &ServerConfig) -> Result<SharedStore, OpenStoreError> {
    match &config.store {
        StoreLocation::Sqlite => {
            let store = SqliteStore::open_with(
                config.db_path(),
                &StoreOptions::default().wal_ceiling(config.limits.wal_ceiling_bytes),
            )?;
            Ok(Arc::new(store))
        }
        StoreLocation::ClickHouse(c) => open_clickhouse(c),
    }
}

/// Opens (creates, migrates) a ClickHouse store. Blocks: call it off async threads.
#[cfg(feature = "clickhouse")]
pub fn open_clickhouse(c: &ClickHouseLocation) -> Result<SharedStore, OpenStoreError> {
    let mut client = clickhouse::Client::default();
    if let Some(user) = &c.user {
        client = client.with_user(user);
    }
    if let Some(password) = &c.password {
        client = client.with_password(password);
    }
    let layout = match &c.cluster {
        Some(name) => agentrace_clickhouse::Layout::Cluster(name.clone()),
        None => agentrace_clickhouse::Layout::Single,
    };
    let store = agentrace_clickhouse::ClickHouseStore::open_blocking_on(
        client,
        &c.url,
        &c.database,
        &layout,
    )?;
    Ok(Arc::new(match c.timeout {
        Some(limit) => store.with_timeout(limit),
        None => store,
    }))
}

/// Refuses: this build has no ClickHouse store.
#[cfg(not(feature = "clickhouse"))]
pub fn open_clickhouse(c: &ClickHouseLocation) -> Result<SharedStore, OpenStoreError> {
    Err(OpenStoreError::NotBuilt(
        StoreLocation::ClickHouse(c.clone()).to_string(),
    ))
}
