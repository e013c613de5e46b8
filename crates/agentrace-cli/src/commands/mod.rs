//! One module per command.

pub(crate) mod alerts;
pub(crate) mod cost;
pub(crate) mod export;
mod grafana;
pub(crate) mod prices;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod summary;
pub(crate) mod tail;
pub(crate) mod tools;
pub(crate) mod traces;

use std::path::PathBuf;

use agentrace_sqlite::{AggregateQuery, RollupSource, SpanFilter, SqliteStore};

use crate::args::StoreArgs;
use crate::error::CliError;

/// About how many spans `filter` matches, from the rollups (a progress bar's total); `None`
/// for a filter the rollups do not cover.
fn span_count(store: &SqliteStore, filter: &SpanFilter) -> Result<Option<u64>, CliError> {
    let answer = store.rollup(&AggregateQuery::new(filter.clone(), []))?;
    Ok((answer.source == RollupSource::Rollups).then_some(answer.total.count))
}

/// Where the store may be, in order: `--db` (or `AGENTRACE_SQLITE_PATH`) alone if given; else
/// the library examples' `agentrace-data/agentrace.db`, then `agentrace serve`'s default.
fn candidates(store: &StoreArgs) -> Vec<PathBuf> {
    if let Some(db) = &store.db {
        return vec![db.clone()];
    }
    let mut paths = vec![PathBuf::from("agentrace-data").join("agentrace.db")];
    if let Ok(dir) =
        agentrace_server::config::default_data_dir(&agentrace_server::config::process_env)
    {
        paths.push(dir.join("agentrace.db"));
    }
    paths
}

/// Opens the store, refusing to create one where none exists.
pub(crate) fn open(store: &StoreArgs) -> Result<SqliteStore, CliError> {
    let paths = candidates(store);
    match paths.iter().find(|p| p.is_file()) {
        Some(path) => Ok(SqliteStore::open(path)?),
        None => Err(CliError::NoStore(paths)),
    }
}
