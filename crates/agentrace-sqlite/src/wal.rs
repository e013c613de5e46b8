//! Keeps the write-ahead log bounded however fast the writer writes.
//!
//! SQLite starts the log over from its beginning only when a checkpoint has copied every frame
//! into the database file and the next write begins with no reader still on an older snapshot.
//! The checkpointing thread (`checkpointer`) copies frames in the background, but under
//! continuous writes its checkpoint never catches up: by the time it has copied what was there
//! when it began, the writer has appended more. Left alone, the log grew by gigabytes a minute
//! while the database itself stayed small.
//!
//! So the writer finishes the job, between two of its own transactions, when nobody appends:
//!
//! - as the log grows it wakes the checkpointing thread each time another sixteenth of the
//!   ceiling has been appended, so that most frames are copied there, beside the writer;
//! - after each commit it learns the log's length (a WAL hook); once the log is past a quarter
//!   of the ceiling ([`WalBound::restart_at`]) it runs a `PASSIVE` checkpoint itself, which only
//!   copies what the background thread has not, and the next write starts the log over;
//! - before each write, if the log has reached the ceiling anyway (a reader held an older
//!   snapshot through the restarts), it runs a `RESTART` checkpoint, which waits for those
//!   readers; if the log still cannot start over within [`ROOM_WAIT`], the write is refused as a
//!   full disk is (retryable, and loud in the server), and nothing accepted is lost.
//!
//! The log therefore never exceeds the ceiling by more than one transaction, and its file is
//! truncated back to [`WalBound::restart_at`] at the first commit after each restart
//! (`journal_size_limit`).

use agentrace_store::WalStatus;
use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Db, DbError};

/// The default ceiling of the log: 256 MiB.
pub const DEFAULT_WAL_CEILING: u64 = 256 << 20;

/// The smallest ceiling the store accepts: 4 MiB.
pub const MIN_WAL_CEILING: u64 = 4 << 20;

/// How long a write at the ceiling waits for the log to start over before it is refused.
const ROOM_WAIT: Duration = Duration::from_secs(5);

/// A log frame's header, and the log's.
const FRAME_HEADER: u64 = 24;
const LOG_HEADER: u64 = 32;

/// The log's figures, shared by the writer (which updates them) and the store's handle.
#[derive(Debug)]
pub(crate) struct WalStats {
    bytes: AtomicU64,
    peak_bytes: AtomicU64,
    ceiling_bytes: u64,
    restarts: AtomicU64,
    refused_writes: AtomicU64,
}

impl WalStats {
    /// The figures, with the size of the file at `wal_path`.
    pub(crate) fn status(&self, wal_path: &Path) -> WalStatus {
        WalStatus {
            bytes: self.bytes.load(Ordering::Relaxed),
            peak_bytes: self.peak_bytes.load(Ordering::Relaxed),
            file_bytes: std::fs::metadata(wal_path).map_or(0, |m| m.len()),
            ceiling_bytes: self.ceiling_bytes,
            restarts: self.restarts.load(Ordering::Relaxed),
            refused_writes: self.refused_writes.load(Ordering::Relaxed),
        }
    }

    /// The log is `bytes` long after a commit.
    fn committed(&self, bytes: u64) {
        if bytes < self.bytes.swap(bytes, Ordering::Relaxed) {
            self.restarts.fetch_add(1, Ordering::Relaxed);
        }
        self.peak_bytes.fetch_max(bytes, Ordering::Relaxed);
    }
}

/// The writer's side of the bound.
#[derive(Debug)]
pub(crate) struct WalBound {
    stats: Arc<WalStats>,
}

impl WalBound {
    /// Bounds the log of the writer connection `conn` at `ceiling` bytes (at least
    /// [`MIN_WAL_CEILING`]), waking `checkpointer` as the log grows.
    pub(crate) fn install(
        conn: &mut Connection,
        ceiling: u64,
        checkpointer: Wake,
    ) -> Result<Self, DbError> {
        let ceiling = ceiling.max(MIN_WAL_CEILING);
        let stats = Arc::new(WalStats {
            bytes: AtomicU64::new(0),
            peak_bytes: AtomicU64::new(0),
            ceiling_bytes: ceiling,
            restarts: AtomicU64::new(0),
            refused_writes: AtomicU64::new(0),
        });
        let restart_at = Self::restart_at(ceiling);
        conn.pragma_update(None, "journal_size_limit", restart_at as i64)
            .db()?;
        let page: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .db()?;
        let frame = FRAME_HEADER + page.unsigned_abs();
        let hook_stats = stats.clone();
        let wake_every = (ceiling / 16).max(1);
        // The log's length when the checkpointing thread was last woken.
        let mut woken_at = 0;
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            let bytes = match u64::try_from(pages) {
                Ok(0) | Err(_) => 0,
                Ok(pages) => LOG_HEADER + pages * frame,
            };
            hook_stats.committed(bytes);
            if bytes < woken_at {
                woken_at = 0;
            }
            if bytes >= woken_at + wake_every {
                woken_at = bytes;
                checkpointer.now();
            }
            if bytes >= restart_at {
                // Nobody appends while this runs: it finishes what the checkpointing thread
                // began, and the next write starts the log over. Busy (the thread is
                // checkpointing, or a reader is on an older snapshot): the next commit tries
                // again. The commit itself is done either way.
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
            }
            Ok(())
        }))
        .db()?;
        Ok(Self { stats })
    }

    /// Where the writer finishes checkpoints itself: a quarter of the ceiling, so that a
    /// reader holding an old snapshot has three quarters of it to finish.
    pub(crate) fn restart_at(ceiling: u64) -> u64 {
        ceiling / 4
    }

    pub(crate) fn stats(&self) -> Arc<WalStats> {
        self.stats.clone()
    }

    /// Begins a write (an `IMMEDIATE` transaction) on the writer connection once the log has
    /// room for it (see [`make_room`](Self::make_room)). Every write of the writer begins here.
    pub(crate) fn begin<'c>(&self, conn: &'c mut Connection) -> Result<Transaction<'c>, DbError> {
        self.make_room(conn)?;
        conn.transaction_with_behavior(TransactionBehavior::Immediate)
            .db()
    }

    /// Before a write: if the log is at its ceiling, waits (at most [`ROOM_WAIT`]) for a
    /// checkpoint that lets it start over; refuses the write if none can.
    fn make_room(&self, conn: &Connection) -> Result<(), DbError> {
        let stats = &self.stats;
        if stats.bytes.load(Ordering::Relaxed) < stats.ceiling_bytes {
            return Ok(());
        }
        let deadline = Instant::now() + ROOM_WAIT;
        loop {
            // Waits for readers on older snapshots (the busy timeout); busy at once if the
            // checkpointing thread holds the checkpoint.
            match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::RESTART) {
                Ok(_) => {
                    stats.bytes.store(0, Ordering::Relaxed);
                    stats.restarts.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) if !DbError::is_busy_code(e.sqlite_error_code()) => return Err(DbError(e)),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => {
                    stats.refused_writes.fetch_add(1, Ordering::Relaxed);
                    return Err(DbError(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                        Some(format!(
                            "the write-ahead log is at its ceiling ({} bytes) and cannot start \
                             over: a reader holds an older snapshot",
                            stats.ceiling_bytes
                        )),
                    )));
                }
            }
        }
    }
}

/// Wakes the checkpointing thread before its next tick; never blocks (a wake already pending
/// is enough).
#[derive(Debug, Clone)]
pub(crate) struct Wake(mpsc::SyncSender<()>);

impl Wake {
    pub(crate) fn new(sender: mpsc::SyncSender<()>) -> Self {
        Self(sender)
    }

    pub(crate) fn now(&self) {
        let _ = self.0.try_send(());
    }
}
