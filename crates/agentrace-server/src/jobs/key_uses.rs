//! When each key was last used, noted in the store every [`NOTE_EVERY`]: requests note it in
//! memory ([`Directory`]), so that a request never waits for the store to know it; every node
//! notes its own, and the store keeps the latest.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::store::directory::Directory;

/// How often the uses of keys are written: how stale a key's `last_used` may be.
pub const NOTE_EVERY: Duration = Duration::from_secs(10);

/// Writes the keys' uses every [`NOTE_EVERY`] until `stop`, and once more then.
pub(crate) async fn run(directory: Arc<Directory>, mut stop: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = stop.wait_for(|s| *s) => true,
            () = tokio::time::sleep(NOTE_EVERY) => false,
        };
        let uses = directory.take_uses();
        if !uses.is_empty() {
            let organization = directory.organization().clone();
            match tokio::task::spawn_blocking(move || organization.note_key_uses(&uses)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the keys' last uses were not stored"),
                Err(e) => tracing::warn!(error = %e, "noting the keys' last uses panicked"),
            }
        }
        if stopping {
            return;
        }
    }
}
