//! The store conformance suite (`agentrace_store::conformance`) on ClickHouse, the real
//! engine (the chdb fixture, `agentrace_clickhouse::testing`), as it is and holding spans
//! awaiting their parent, and the organization checks (`conformance::projects`) on its
//! projects. Without the fixture's virtualenv it skips, loudly (under `CI=true` it fails):
//! `scripts/install-test-deps.sh` installs it.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use agentrace_clickhouse::{ClickHouseOrganization, ClickHouseStore};
use agentrace_store::{Organization, Store, conformance};

/// The same suite on the real ClickHouse engine (chdb behind ClickHouse's HTTP interface):
/// each check on a database of its own.
#[test]
fn clickhouse_passes_the_store_conformance_suite() -> Result<(), Box<dyn Error>> {
    on_clickhouse(None, &[])
}

/// The suite on ClickHouse stores that hold spans awaiting their parent (as `serve` opens
/// them): whatever arrives before its parent is written with it, once.
#[test]
fn clickhouse_holding_spans_awaiting_their_parent_passes_the_store_conformance_suite()
-> Result<(), Box<dyn Error>> {
    let orphan = "its trace 8 has a span whose parent never comes: held for the hour, it is \
                  written when the hold ends (the integration suite's clickhouse_store.rs checks that it is)";
    on_clickhouse(
        Some(Duration::from_secs(3600)),
        &[
            ("trace_tree", orphan),
            ("trace_outline_and_single_spans", orphan),
        ],
    )
}

/// The suite but `exempt` on ClickHouse stores of a chdb fixture of its own, each holding
/// spans awaiting their parent for `hold` if given.
fn on_clickhouse(hold: Option<Duration>, exempt: &[(&str, &str)]) -> Result<(), Box<dyn Error>> {
    let Some(python) = agentrace_clickhouse::testing::python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let server = agentrace_clickhouse::testing::ChdbServer::start(&python, dir.path());
    let checks = std::cell::Cell::new(0u32);
    let new_store = || -> Result<Arc<dyn Store>, Box<dyn Error>> {
        checks.set(checks.get() + 1);
        let database = format!("check_{}", checks.get());
        let store =
            ClickHouseStore::open_blocking(clickhouse::Client::default(), server.url(), &database)?;
        if let Some(hold) = hold {
            store.hold_awaiting(hold)?;
        }
        Ok(Arc::new(store))
    };
    conformance::run_all_but(&new_store, exempt)
}

/// Projects on ClickHouse (a project column leading every table's key) pass the organization
/// checks: the registry's rules, keys found by digest until revoked, and projects sharing
/// nothing, whatever order their writes arrive in. Each organization on a database of its
/// own, its stores holding spans awaiting their parent (as `serve` opens them).
#[test]
fn clickhouse_projects_pass_the_organization_checks() -> Result<(), Box<dyn Error>> {
    let Some(python) = agentrace_clickhouse::testing::python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let server = agentrace_clickhouse::testing::ChdbServer::start(&python, dir.path());
    let organizations = std::cell::Cell::new(0u32);
    // A node of the organization on `database`, holding spans awaiting their parent.
    let node = |database: &str| -> Result<Arc<dyn Organization>, Box<dyn Error>> {
        let store =
            ClickHouseStore::open_blocking(clickhouse::Client::default(), server.url(), database)?;
        store.hold_awaiting(Duration::from_secs(3600))?;
        Ok(Arc::new(ClickHouseOrganization::open(store)?))
    };
    let new_organization = || -> Result<Arc<dyn Organization>, Box<dyn Error>> {
        organizations.set(organizations.get() + 1);
        let database = format!("organization_{}", organizations.get());
        node(&database)
    };
    conformance::projects::run_all(&new_organization)?;
    // Two nodes on one database, each project written through one and read through the other.
    let new_fleet = || -> Result<[Arc<dyn Organization>; 2], Box<dyn Error>> {
        organizations.set(organizations.get() + 1);
        let database = format!("organization_{}", organizations.get());
        Ok([node(&database)?, node(&database)?])
    };
    conformance::projects::interleaved_writes_across_two_nodes(&new_organization, &new_fleet)?;
    conformance::accounts::an_invitation_is_taken_once_across_two_nodes(&new_fleet)
}
