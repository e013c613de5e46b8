//! One module per command.

pub(crate) mod cost;
pub(crate) mod export;
pub(crate) mod prices;
pub(crate) mod serve;
pub(crate) mod summary;
pub(crate) mod traces;

use agentrace_sqlite::SqliteStore;

use crate::args::StoreArgs;
use crate::error::CliError;

/// Opens the store, refusing to create one where none exists.
pub(crate) fn open(store: &StoreArgs) -> Result<SqliteStore, CliError> {
    if !store.db.is_file() {
        return Err(CliError::NoStore(store.db.clone()));
    }
    Ok(SqliteStore::open(&store.db)?)
}
