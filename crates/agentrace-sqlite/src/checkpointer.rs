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
//!
//! Under continuous writes the writer also wakes the thread ([`Wake`]) each time its log has
//! grown by a sixteenth of the ceiling, so that the copying and the syncing of the database
//! file happen here, beside the writer, and what is left for the writer's own checkpoint at
//! the restart point (`wal`) is small. The syncing is this thread's own doing
//! ([`sync_database`]): SQLite syncs the database file only at the end of a checkpoint that
//! reached the end of the log, which under continuous writes is only ever the writer's.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, ffi};

use crate::deferred_index::IdleIndexer;
use crate::error::{DbError, OpenError};
use crate::schema;
use crate::wal::Wake;

/// How often the log is checkpointed.
pub(crate) const INTERVAL: Duration = Duration::from_millis(1000);

/// Syncs the database file of `conn` through SQLite's own handle of it (its `xSync`, the call
/// a checkpoint makes), so that the pages this thread's checkpoints copied are on disk before
/// the writer's checkpoint at the restart point syncs the file: otherwise that sync wrote them
/// all, on the writer's thread (85–250 ms a restart at ~90 k spans/s, `strace -T`; 25–42 ms
/// with this). Not through a file of our own: closing a second descriptor of the database
/// file drops every POSIX lock the process holds on it, and SQLite's connections hold some.
#[allow(unsafe_code)]
fn sync_database(conn: &Connection) -> rusqlite::Result<()> {
    let failed = |code| Err(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `conn` is open and used by this thread alone while this runs;
    // `SQLITE_FCNTL_FILE_POINTER` writes the main database's `sqlite3_file` (or leaves it null)
    // into `file`, a pointer SQLite owns and keeps valid while the connection is open.
    let code = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&raw mut file).cast(),
        )
    };
    if code != ffi::SQLITE_OK {
        return failed(code);
    }
    // SAFETY: `file`, when not null, is that live `sqlite3_file`; its methods are null until
    // the file is opened, and `xSync` takes the file and sync flags, as SQLite calls it.
    let code = unsafe {
        match file
            .as_ref()
            .and_then(|f| f.pMethods.as_ref())
            .and_then(|m| m.xSync)
        {
            Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL),
            None => ffi::SQLITE_OK,
        }
    };
    if code == ffi::SQLITE_OK {
        Ok(())
    } else {
        failed(code)
    }
}

/// The checkpointing thread; stops (and is joined) when dropped with the store.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Arc<AtomicBool>,
    wake: Wake,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the store at `path`.
    pub(crate) fn start(path: &Path) -> Result<Self, OpenError> {
        let conn = schema::open_checkpointer(path).map_err(|source: DbError| OpenError::Open {
            path: path.to_owned(),
            source,
        })?;
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("agentrace-checkpoint".into())
            .spawn(move || {
                // SQLite emits no `tracing` events, but keep this thread out of any layer.
                agentrace_core::sink::silence_tracing_on_this_thread();
                let mut idle = IdleIndexer::default();
                // Frames in the database file after the last pass.
                let mut copied_before = None;
                while !matches!(
                    woken.recv_timeout(INTERVAL),
                    Err(RecvTimeoutError::Disconnected)
                ) && !stopped.load(Ordering::Acquire)
                {
                    // A busy or failed checkpoint is retried at the next tick; the WAL only
                    // grows meanwhile, and readers and the writer are never blocked by it.
                    // (busy, frames in the log, frames of it copied into the database file)
                    let pass = conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2));
                    if let Ok(copied) = pass {
                        // A pass that copied nothing new (an idle store) needs no sync.
                        // Failing, the writer's checkpoint syncs (and reports) instead.
                        if copied > 0 && copied_before != Some(copied) {
                            let _ = sync_database(&conn);
                        }
                        copied_before = Some(copied);
                    }
                    // Likewise: queries are right whether rows are pending or indexed.
                    let _ = idle.tick(&conn);
                }
            })
            .map_err(|source| OpenError::Thread {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            stop,
            wake: Wake::new(wake),
            thread: Some(thread),
        })
    }

    /// What wakes the thread.
    pub(crate) fn waker(&self) -> Wake {
        self.wake.clone()
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.wake.now();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_the_database_file_of_a_connection_open_or_not_yet_read() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("sync.db");
        // Opened lazily: nothing has read the file yet.
        let conn = Connection::open(&path).expect("opens");
        assert!(sync_database(&conn).is_ok());
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .expect("writes");
        assert!(sync_database(&conn).is_ok());
        assert!(sync_database(&Connection::open_in_memory().expect("opens")).is_ok());
    }
}
