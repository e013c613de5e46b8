//! One module per command.

pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod cost;
pub(crate) mod evaluate;
pub(crate) mod export;
mod grafana;
pub(crate) mod import;
pub(crate) mod prices;
pub(crate) mod probe;
pub(crate) mod projects;
pub(crate) mod report;
pub(crate) mod score;
pub(crate) mod search;
pub(crate) mod serve;
pub(crate) mod slo;
pub(crate) mod status;
pub(crate) mod summary;
pub(crate) mod tail;
pub(crate) mod tools;
pub(crate) mod traces;

use std::path::PathBuf;

use std::sync::Arc;

use agentrace_server::config::StoreLocation;
use agentrace_server::{SharedOrganization, SharedStore};
use agentrace_sqlite::SqliteOrganization;
use agentrace_store::{AggregateQuery, DEFAULT_PROJECT, RollupSource, SpanFilter, Store};

use crate::args::StoreArgs;
use crate::error::CliError;

/// `text` to the output file, or standard output.
fn write_text(output: &crate::args::OutputArgs, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    match &output.output {
        Some(path) => std::fs::write(path, text)?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// About how many spans `filter` matches, from the rollups (a progress bar's total); `None`
/// for a filter the rollups do not cover.
fn span_count(store: &dyn Store, filter: &SpanFilter) -> Result<Option<u64>, CliError> {
    let answer = store.aggregate(&AggregateQuery::new(filter.clone(), []))?;
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

/// Opens the store of the project `--project` names (else `default`) in the store `--store`
/// names: a ClickHouse database, else the SQLite file (refusing to create one where none
/// exists).
pub(crate) fn open(store: &StoreArgs) -> Result<SharedStore, CliError> {
    let (organization, project) = open_project(store)?;
    Ok(organization.store(project)?)
}

/// A store opened by a command that changes its data or exports it, outside any server: the
/// command goes into the organization's audit log when it ends ([`finish`](Self::finish)), by
/// the operating system's user (actor kind `cli`), in the project opened.
pub(crate) struct Audited {
    pub(crate) store: SharedStore,
    organization: SharedOrganization,
    project: agentrace_store::ProjectId,
    action: &'static str,
}

impl Audited {
    /// `outcome`, once the audit log has the command (`action` on `target`: 200 when it
    /// succeeded, 500 when it failed). A log that refuses the entry is said on standard
    /// error; the command's outcome stands.
    pub(crate) fn finish<T>(
        self,
        target: &str,
        outcome: Result<T, CliError>,
    ) -> Result<T, CliError> {
        let user = agentrace_core::env::process("USER")
            .or_else(|| agentrace_core::env::process("USERNAME"))
            .unwrap_or_else(|| "unknown".to_owned());
        let entry = agentrace_server::store::audit_entry(
            agentrace_store::Actor::new("cli", None, user),
            (self.action, target),
            None,
            if outcome.is_ok() { 200 } else { 500 },
        )
        .in_project(self.project);
        if let Err(e) = self.organization.append_audit(&[entry]) {
            eprintln!(
                "agentrace: the audit log did not take this {}: {e}",
                self.action
            );
        }
        outcome
    }
}

/// [`open`], for a command the audit log records as `action` (`cli export`, …).
pub(crate) fn open_audited(store: &StoreArgs, action: &'static str) -> Result<Audited, CliError> {
    let (organization, project) = open_project(store)?;
    Ok(Audited {
        store: organization.store(project)?,
        organization,
        project,
        action,
    })
}

/// The organization `--store` names and the id of the project `--project` names.
fn open_project(
    store: &StoreArgs,
) -> Result<(SharedOrganization, agentrace_store::ProjectId), CliError> {
    let location: StoreLocation = match &store.store {
        Some(text) => text
            .parse()
            .map_err(|e| CliError::Usage(format!("--store: {e}")))?,
        None => StoreLocation::Sqlite,
    };
    let organization: SharedOrganization = match location {
        StoreLocation::ClickHouse(c) => agentrace_server::store::open_clickhouse(&c)?,
        _ => {
            let paths = candidates(store);
            match paths.iter().find(|p| p.is_file()) {
                Some(path) => Arc::new(SqliteOrganization::open(path)?),
                None => return Err(CliError::NoStore(paths)),
            }
        }
    };
    let name = store.project.as_deref().unwrap_or(DEFAULT_PROJECT);
    let project = organization
        .project_named(name)?
        .ok_or_else(|| CliError::NoProject(name.to_owned()))?;
    Ok((organization, project.id))
}
