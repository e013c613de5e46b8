//! What a store reports of itself: its size, (SQLite) its write-ahead log, (ClickHouse) the
//! spans it holds for their parent.

use serde::Serialize;

/// What a store says of itself when asked ([`Health::health`](crate::Health::health)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoreHealth {
    /// The schema version it holds.
    pub schema_version: i64,
    /// Its size on disk.
    pub disk: DiskUsage,
    /// Whether it was shut down (writes fail, queries may still work).
    pub shut_down: bool,
}

impl StoreHealth {
    /// A store at `schema_version`, of `disk`, shut down or not.
    pub const fn new(schema_version: i64, disk: DiskUsage, shut_down: bool) -> Self {
        Self {
            schema_version,
            disk,
            shut_down,
        }
    }
}

/// How much a store holds on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    /// Bytes of the stored data itself (SQLite: the database file; ClickHouse: the compressed
    /// parts of agentrace's tables).
    pub data_bytes: u64,
    /// Bytes on disk all told (SQLite: with its write-ahead log).
    pub total_bytes: u64,
}

/// What a store with a local write-ahead log (SQLite) reports of it (see
/// [`Health::wal`](crate::Health::wal)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WalStatus {
    /// Bytes written to the log since it last started over, as of the writer's last commit.
    pub bytes: u64,
    /// The most [`bytes`](Self::bytes) has been since the store was opened.
    pub peak_bytes: u64,
    /// The log file's size on disk now (the file is reused from its beginning when the log
    /// starts over, and truncated to a quarter of the ceiling at the next commit).
    pub file_bytes: u64,
    /// The ceiling: past it, writes wait for the log to start over, and are refused if it
    /// cannot.
    pub ceiling_bytes: u64,
    /// Times the log started over from its beginning.
    pub restarts: u64,
    /// Writes refused because the log was at its ceiling and could not start over.
    pub refused_writes: u64,
}

/// What a store that holds spans awaiting their parent (ClickHouse) reports of them (see [`Health::held`](crate::Health::held)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HeldStatus {
    /// Spans held now.
    pub spans: u64,
    /// What they are held at, in bytes (about twice their JSON).
    pub bytes: u64,
    /// The bound on [`bytes`](Self::bytes): past it, spans awaiting their parent are written
    /// at once (and written again, completed, when their parent comes).
    pub ceiling_bytes: u64,
    /// Spans written at once because the bound was reached.
    pub over_ceiling: u64,
    /// Spans written at once because their journal (in the store) could not be written.
    pub journal_failures: u64,
}
