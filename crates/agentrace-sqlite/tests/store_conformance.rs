//! The store conformance suite of agentrace-store (`agentrace_store::conformance`) on SQLite,
//! the reference store: each check on a fresh database file of its own, through SQLite's
//! own answers and through the traits' provided methods alone.

use std::cell::RefCell;
use std::error::Error;
use std::sync::Arc;

use agentrace_sqlite::{SqliteOrganization, SqliteStore};
use agentrace_store::conformance::RequiredOnly;
use agentrace_store::{Organization, Store, conformance};

#[test]
fn sqlite_passes_the_store_conformance_suite() -> Result<(), Box<dyn Error>> {
    on_sqlite(|store| Arc::new(store), &[])
}

/// The provided methods of the traits (what a new store answers before it overrides any)
/// answer as SQLite's own do.
#[test]
fn the_provided_methods_pass_the_store_conformance_suite() -> Result<(), Box<dyn Error>> {
    let rollups = "it checks that a filter on the MCP server is answered from the rollups, \
                   which the provided rollup (an exact answer from the spans) never is";
    on_sqlite(
        |store| Arc::new(RequiredOnly(store)),
        &[("tools_of_mcp_servers", rollups)],
    )
}

/// The suite but `exempt` on fresh SQLite files, each seen as `wrap` makes it.
fn on_sqlite(
    wrap: impl Fn(SqliteStore) -> Arc<dyn Store>,
    exempt: &[(&str, &str)],
) -> Result<(), Box<dyn Error>> {
    // Every check's directory lives until the suite ends: its store may still be open.
    let dirs = RefCell::new(Vec::new());
    let new_store = || -> Result<Arc<dyn Store>, Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(dir.path().join("agentrace.db"))?;
        dirs.borrow_mut().push(dir);
        Ok(wrap(store))
    };
    conformance::run_all_but(&new_store, exempt)
}

/// Projects on SQLite (a file per project) pass the organization checks: the registry's
/// rules, keys, and isolation whatever order two projects' writes arrive in.
#[test]
fn sqlite_projects_pass_the_organization_checks() -> Result<(), Box<dyn Error>> {
    let dirs = RefCell::new(Vec::new());
    conformance::projects::run_all(&|| new_organization(&dirs))
}

/// An organization in a fresh directory, kept in `dirs` until the test ends.
fn new_organization(
    dirs: &RefCell<Vec<tempfile::TempDir>>,
) -> Result<Arc<dyn Organization>, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let organization = SqliteOrganization::open(dir.path().join("agentrace.db"))?;
    dirs.borrow_mut().push(dir);
    Ok(Arc::new(organization))
}

/// Two projects' writes interleaved through two organizations opened on the same file (two
/// processes over one data directory), each read back through the other: each answers as
/// written alone.
#[test]
fn sqlite_projects_interleaved_across_two_openings_answer_as_alone() -> Result<(), Box<dyn Error>> {
    let dirs = RefCell::new(Vec::new());
    let new_organization = || new_organization(&dirs);
    let new_fleet = || -> Result<[Arc<dyn Organization>; 2], Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("agentrace.db");
        let one: Arc<dyn Organization> = Arc::new(SqliteOrganization::open(&file)?);
        let two: Arc<dyn Organization> = Arc::new(SqliteOrganization::open(&file)?);
        dirs.borrow_mut().push(dir);
        Ok([one, two])
    };
    conformance::projects::interleaved_writes_across_two_nodes(&new_organization, &new_fleet)?;
    conformance::accounts::an_invitation_is_taken_once_across_two_nodes(&new_fleet)
}
