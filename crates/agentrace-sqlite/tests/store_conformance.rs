//! The store conformance suite of agentrace-store (`agentrace_store::conformance`) on SQLite,
//! the reference store: each check on a fresh database file of its own.

use std::cell::RefCell;
use std::error::Error;
use std::sync::Arc;

use agentrace_sqlite::SqliteStore;
use agentrace_store::{Store, conformance};

#[test]
fn sqlite_passes_the_store_conformance_suite() -> Result<(), Box<dyn Error>> {
    // Every check's directory lives until the suite ends: its store may still be open.
    let dirs = RefCell::new(Vec::new());
    let new_store = || -> Result<Arc<dyn Store>, Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let store = SqliteStore::open(dir.path().join("agentrace.db"))?;
        dirs.borrow_mut().push(dir);
        Ok(Arc::new(store))
    };
    conformance::run_all(&new_store)
}
