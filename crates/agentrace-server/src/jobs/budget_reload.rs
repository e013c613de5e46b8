//! The budgets file, reloaded when it changes (checked every [`POLL`]) or on `SIGHUP`, without
//! losing spend: budgets that keep their definition keep their accounts, changed and new ones
//! have their spend rebuilt from the store ([`Budgets::reload`], docs/budgets.md).
//!
//! A file that cannot be read or parsed is reported in the log and the budgets in force stay.
//! A reload that changes the budgets is an entry of the audit log (by the server, the budgets
//! before and after), in the project the file configures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use agentrace_core::budget::{Budgets, load_budgets};
use agentrace_store::{Actor, ProjectId, Store};

use crate::store::{SharedOrganization, SharedStore, audit_entry};
use tokio::sync::watch;

/// How often the file's modification time is looked at.
pub(crate) const POLL: Duration = Duration::from_secs(2);

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Watches `path` until `stopped`: the budgets of `project`, whose `store` rebuilds their
/// spend, and whose changes go into `organization`'s audit log.
pub(crate) async fn run(
    path: PathBuf,
    budgets: Arc<Budgets>,
    (organization, project, store): (SharedOrganization, ProjectId, SharedStore),
    mut stopped: watch::Receiver<bool>,
) {
    let mut seen = modified(&path);
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hangup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        let forced = tokio::select! {
            _ = tick.tick() => false,
            () = signalled => true,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let now = modified(&path);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        let (path, budgets, store) = (path.clone(), budgets.clone(), store.clone());
        let organization = organization.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            if let Some(entry) = reload(&path, &budgets, &*store)
                && let Err(e) = organization.append_audit(&[entry.in_project(project)])
            {
                tracing::warn!(error = %e, "the budgets' reload is not in the audit log");
            }
        })
        .await;
        if let Err(e) = outcome {
            tracing::error!(error = %e, "reloading the budgets failed");
        }
    }
}

/// Reloads the file at `path` into `budgets`: the audit log's entry of the change, if there
/// was one.
fn reload(
    path: &Path,
    budgets: &Budgets,
    store: &dyn Store,
) -> Option<agentrace_store::AuditEntry> {
    let list = match load_budgets(path) {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "the budgets file was not reloaded; the budgets in force stay");
            return None;
        }
    };
    let before = budgets.budgets();
    if list == before {
        return None;
    }
    let document = |list: &[agentrace_core::budget::Budget]| {
        serde_json::to_string(&serde_json::json!({ "budget": list })).ok()
    };
    let entry = audit_entry(
        Actor::new("server", None, "budgets file"),
        ("budgets.reload", &path.display().to_string()),
        None,
        200,
    )
    .changing(document(&before), document(&list));
    let report = budgets.reload(list);
    if let Err(e) = agentrace_store::restore_budgets(store, budgets) {
        tracing::error!(error = %e, "rebuilding the spend of changed budgets from the store failed");
    }
    tracing::info!(
        kept = ?report.kept,
        changed = ?report.changed,
        added = ?report.added,
        removed = ?report.removed,
        "budgets reloaded from {}",
        path.display()
    );
    Some(entry)
}
