//! Checkpoints the write-ahead log on a thread of its own (which also indexes the trace rows a
//! writer that stopped writing left pending: see `deferred_index`).
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so the
//! writer would spend its time copying WAL pages into the database file. Measured with
//! `cargo xtask bench ingest` (1 M spans): 72–77 k spans/s with automatic checkpoints, 99 k with
//! none at all (the WAL grew to 2 GB), 80–85 k with this thread checkpointing every second
//! (76–79 k every 200 ms: pages rewritten within the interval are copied once). Instead
//! the writer connection has `wal_autocheckpoint = 0` and this thread, with a connection of its
//! own, runs a `PASSIVE` checkpoint every [`INTERVAL`]: it copies what no reader still needs,
//! never waits for the writer or readers, and lets the next commit restart the log from the
//! beginning once everything is copied. Durability does not change: a commit is in the WAL
//! before the writer answers; checkpoints only move it into the main file.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::deferred_index::IdleIndexer;
use crate::error::{DbError, OpenError};
use crate::schema;

/// How often the log is checkpointed.
pub(crate) const INTERVAL: Duration = Duration::from_millis(1000);

/// The checkpointing thread; stops (and is joined) when dropped with the store.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the store at `path`.
    pub(crate) fn start(path: &Path) -> Result<Self, OpenError> {
        let conn = schema::open_checkpointer(path).map_err(|source: DbError| OpenError::Open {
            path: path.to_owned(),
            source,
        })?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("agentrace-checkpoint".into())
            .spawn(move || {
                // SQLite emits no `tracing` events, but keep this thread out of any layer.
                agentrace_core::sink::silence_tracing_on_this_thread();
                let mut idle = IdleIndexer::default();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    // A busy or failed checkpoint is retried at the next tick; the WAL only
                    // grows meanwhile, and readers and the writer are never blocked by it.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    // Likewise: queries are right whether rows are pending or indexed.
                    let _ = idle.tick(&conn);
                }
            })
            .map_err(|source| OpenError::Thread {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
