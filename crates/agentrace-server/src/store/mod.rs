//! The store the configuration names, opened as an organization of projects: the one module
//! of the server that knows the implementations of [`agentrace_store::Organization`] and
//! [`agentrace_store::Store`]; every other speaks the traits.

use std::sync::Arc;

use agentrace_sqlite::{OrganizationOptions, SqliteOrganization, StoreOptions};
use agentrace_store::{Organization, Store};

use crate::config::{ClickHouseLocation, ServerConfig, StoreLocation};

pub mod directory;
pub mod principal;
pub mod provisioning;

/// The store every part of the server shares: any implementation of
/// [`agentrace_store::Store`] (SQLite, ClickHouse), chosen by the configuration's `store`.
pub type SharedStore = Arc<dyn Store>;

/// The projects of the deployment, their keys, and each project's [`SharedStore`]: any
/// implementation of [`agentrace_store::Organization`], chosen by the configuration's `store`.
pub type SharedOrganization = Arc<dyn Organization>;

/// An entry of the audit log: `actor`'s `action` on `target` now, from `address`, answered
/// `status` (the API's requests, logins, the server's own acts, the CLI's commands on a store).
pub fn audit_entry(
    actor: agentrace_store::Actor,
    (action, target): (&str, &str),
    address: Option<String>,
    status: u16,
) -> agentrace_store::AuditEntry {
    let mut bytes = [0u8; 8];
    // Without randomness, ids still tell entries apart by their time.
    let _ = getrandom::fill(&mut bytes);
    // Below 2^63: a store may keep it signed.
    let id = u64::from_le_bytes(bytes) >> 1;
    let entry = agentrace_store::AuditEntry::new(
        id,
        agentrace_core::now_unix_nano(),
        actor,
        (action, target),
        status,
    );
    match address {
        Some(address) => entry.from_address(address),
        None => entry,
    }
}

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
    /// An earlier release's spool of spans awaiting their parent could not be read, or what it
    /// held written.
    #[cfg(feature = "clickhouse")]
    #[error(transparent)]
    Hold(#[from] agentrace_clickhouse::HoldError),
    /// The ClickHouse database's projects could not be read.
    #[cfg(feature = "clickhouse")]
    #[error("the projects of the ClickHouse database: {0}")]
    Projects(#[source] agentrace_store::ProjectError),
    /// This build has no ClickHouse store.
    #[cfg(not(feature = "clickhouse"))]
    #[error("{0}: this build of agentrace has no ClickHouse store (cargo feature `clickhouse`)")]
    NotBuilt(String),
}

/// Opens (creates, migrates) the store `config` names, with its projects. Blocks: call it
/// off async threads.
pub fn open(config: &ServerConfig) -> Result<SharedOrganization, OpenStoreError> {
    match &config.store {
        StoreLocation::Sqlite => {
            let store = StoreOptions::default().wal_ceiling(config.limits.wal_ceiling_bytes);
            let organization = SqliteOrganization::open_with(
                config.db_path(),
                OrganizationOptions::default().store(store),
            )?;
            Ok(Arc::new(organization))
        }
        StoreLocation::ClickHouse(c) => serve_clickhouse(c, &config.data_dir),
    }
}

/// The directory in `serve`'s data directory where a node of an earlier release spooled the
/// spans it held awaiting their parent (this release journals them in ClickHouse).
pub const HELD_SPANS_DIR: &str = "held-spans";

/// Opens a ClickHouse store as `serve` writes it: spans awaiting their parent held (for
/// `c.hold`, [`DEFAULT_HOLD`](crate::config::DEFAULT_HOLD) by default), journaled in
/// ClickHouse; what an earlier release's spool in `data_dir` held written first.
#[cfg(feature = "clickhouse")]
fn serve_clickhouse(
    c: &ClickHouseLocation,
    data_dir: &std::path::Path,
) -> Result<SharedOrganization, OpenStoreError> {
    let store = connect_clickhouse(c)?;
    let hold = c.hold.unwrap_or(crate::config::DEFAULT_HOLD);
    if !hold.is_zero() {
        store.hold_awaiting(hold)?;
    }
    let recovered = store.write_spool(&data_dir.join(HELD_SPANS_DIR))?;
    if recovered > 0 {
        tracing::info!(
            spans = recovered,
            "wrote the spans an earlier release's spool held"
        );
    }
    let organization = agentrace_clickhouse::ClickHouseOrganization::open(store)
        .map_err(OpenStoreError::Projects)?;
    Ok(Arc::new(organization))
}

#[cfg(not(feature = "clickhouse"))]
fn serve_clickhouse(
    c: &ClickHouseLocation,
    _data_dir: &std::path::Path,
) -> Result<SharedOrganization, OpenStoreError> {
    Err(OpenStoreError::NotBuilt(
        StoreLocation::ClickHouse(c.clone()).to_string(),
    ))
}

/// Opens (creates, migrates) a ClickHouse store with its projects, holding nothing (what the
/// CLI's store commands read). Blocks: call it off async threads.
#[cfg(feature = "clickhouse")]
pub fn open_clickhouse(c: &ClickHouseLocation) -> Result<SharedOrganization, OpenStoreError> {
    let organization = agentrace_clickhouse::ClickHouseOrganization::open(connect_clickhouse(c)?)
        .map_err(OpenStoreError::Projects)?;
    Ok(Arc::new(organization))
}

#[cfg(feature = "clickhouse")]
fn connect_clickhouse(
    c: &ClickHouseLocation,
) -> Result<agentrace_clickhouse::ClickHouseStore, OpenStoreError> {
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
    Ok(match c.timeout {
        Some(limit) => store.with_timeout(limit),
        None => store,
    })
}

/// Refuses: this build has no ClickHouse store.
#[cfg(not(feature = "clickhouse"))]
pub fn open_clickhouse(c: &ClickHouseLocation) -> Result<SharedOrganization, OpenStoreError> {
    Err(OpenStoreError::NotBuilt(
        StoreLocation::ClickHouse(c.clone()).to_string(),
    ))
}
