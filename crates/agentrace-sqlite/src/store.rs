//! The store handle: one writer connection behind a mutex, a small pool of read connections,
//! and the sink traits of the core pipeline.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agentrace_core::{
    Event, EventSink, ExportError, FlushError, Measurement, ShutdownError, Sink, SpanRecord,
    SpanSink,
};
use async_trait::async_trait;
use rusqlite::Connection;

use crate::checkpointer::Checkpointer;
use crate::error::{Db, DbError, OpenError};
use crate::schema;
use agentrace_store::WalStatus;
use agentrace_store::evaluation_results;
use agentrace_store::{DiskUsage, Fleet, Health, InsertReport, RecordWriter, StoreHealth};
use agentrace_store::{QueryError, WriteError};
use agentrace_store::{SpanJson, SpanRows};

use crate::wal::{DEFAULT_WAL_CEILING, WalStats};
use crate::write::Writer;

/// Read connections kept open between queries.
const MAX_IDLE_READERS: usize = 4;

/// How a store is opened ([`SqliteStore::open_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// The write-ahead log's ceiling in bytes (default [`DEFAULT_WAL_CEILING`], at least
    /// [`MIN_WAL_CEILING`](crate::MIN_WAL_CEILING)). The writer lets the log start over long before it (see
    /// [`WalStatus`]); at the ceiling, a write waits for that and is refused with a retryable
    /// error if it cannot happen, so the log never exceeds the ceiling by more than one
    /// transaction.
    pub wal_ceiling: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            wal_ceiling: DEFAULT_WAL_CEILING,
        }
    }
}

impl StoreOptions {
    /// Sets [`wal_ceiling`](Self::wal_ceiling).
    #[must_use]
    pub fn wal_ceiling(mut self, bytes: u64) -> Self {
        self.wal_ceiling = bytes;
        self
    }
}

/// An agentrace store in one SQLite file: a sink of the core pipeline and the query API.
///
/// Cheap to clone: clones share the connections, so the application can keep querying while
/// the pipeline writes. Writes go through one connection behind a mutex, each batch in one
/// transaction; reads use their own connections and, thanks to WAL, see the last committed
/// state without waiting for a write in progress.
///
/// Every method blocks the calling thread on file I/O; from async code, call queries through
/// `tokio::task::spawn_blocking`. (The [`Sink`] methods block too, which the pipeline allows:
/// each sink runs on a thread of its own.)
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: PathBuf,
    writer: Mutex<Writer>,
    /// Checkpoints the WAL off the writer's commits; stops when the last clone is dropped.
    _checkpointer: Checkpointer,
    wal: Arc<WalStats>,
    readers: Mutex<Vec<Connection>>,
    shut_down: AtomicBool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("shut_down", &self.is_shut_down())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file if it does not exist (its directory must)
    /// and migrating it to this build's schema.
    ///
    /// Fails with a clear [`OpenError`] when the file is not an SQLite database, belongs to
    /// another application, or was written by a newer agentrace.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens the store at `path` as [`open`](Self::open) does, with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Self, OpenError> {
        let path = path.as_ref().to_owned();
        let writer = schema::open_writer(&path)?;
        let checkpointer = Checkpointer::start(&path)?;
        let writer =
            Writer::new(writer, options.wal_ceiling, checkpointer.waker()).map_err(|source| {
                OpenError::State {
                    path: path.clone(),
                    source,
                }
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                wal: writer.wal_stats(),
                writer: Mutex::new(writer),
                _checkpointer: checkpointer,
                readers: Mutex::new(Vec::new()),
                shut_down: AtomicBool::new(false),
                path,
            }),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The database file's size on disk now (0 if it cannot be read).
    pub fn database_file_bytes(&self) -> u64 {
        std::fs::metadata(&self.inner.path).map_or(0, |m| m.len())
    }

    /// Everything the store takes on disk now: the database file and its write-ahead log.
    pub fn bytes_on_disk(&self) -> u64 {
        self.database_file_bytes() + self.inner.wal.status(&self.wal_path()).file_bytes
    }

    /// The write-ahead log's file: the database's path with `-wal`.
    fn wal_path(&self) -> PathBuf {
        let mut wal_path = self.inner.path.as_os_str().to_owned();
        wal_path.push("-wal");
        PathBuf::from(wal_path)
    }

    /// The schema version of the file (this build's [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)
    /// once open).
    pub fn schema_version(&self) -> Result<i64, QueryError> {
        self.read(|conn| {
            Ok(conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .db()?)
        })
    }

    /// Whether [`Sink::shutdown`] was called. Queries keep working after it; writes fail.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::SeqCst)
    }

    /// Refuses every later write (as after [`Sink::shutdown`]), without flushing: the file
    /// is about to be removed.
    pub(crate) fn refuse_writes(&self) {
        self.inner.shut_down.store(true, Ordering::SeqCst);
    }

    /// Makes every committed write durable: checkpoints the write-ahead log, which syncs it
    /// to disk first. (Each committed batch already survives a crash of the process.)
    pub fn checkpoint(&self) -> Result<(), DbError> {
        self.writer().checkpoint()
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Writer> {
        lock(&self.inner.writer)
    }

    /// Runs `f` on a read connection from the pool (or a new one), then returns it to the pool.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let pooled = lock(&self.inner.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => schema::open_reader(&self.inner.path)?,
        };
        let result = f(&conn);
        let mut pool = lock(&self.inner.readers);
        if pool.len() < MAX_IDLE_READERS && conn.is_autocommit() {
            pool.push(conn);
        }
        result
    }

    /// Runs `f` in a read transaction: every statement sees the same snapshot.
    pub(crate) fn snapshot<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        self.read(|conn| {
            conn.execute_batch("BEGIN").db()?;
            let result = f(conn);
            // Ending a read transaction cannot lose anything; should it fail, the connection
            // stays out of the pool (it is not in autocommit mode).
            let _ = conn.execute_batch("COMMIT");
            result
        })
    }
}

impl RecordWriter for SqliteStore {
    /// Stores spans in one transaction. A span already stored (same trace and span id) is
    /// skipped and counted in [`InsertReport::duplicates`]; the first version stored wins.
    fn write_spans(&self, spans: &[SpanRecord]) -> Result<InsertReport, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        if spans.is_empty() {
            return Ok(InsertReport::default());
        }
        let json = spans
            .iter()
            .map(SpanJson::of)
            .collect::<Result<Vec<_>, _>>()?;
        self.writer().insert_spans(SpanRows::new(spans, &json))
    }

    /// Stores spans encoded ahead (see [`EncodedSpans`](crate::EncodedSpans)) in one transaction, as
    /// [`insert_spans`](Self::insert_spans) does: the writer only binds and steps.
    fn insert_spans(&self, rows: SpanRows<'_>) -> Result<InsertReport, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        if rows.is_empty() {
            return Ok(InsertReport::default());
        }
        self.writer().insert_spans(rows)
    }

    /// Stores events in one transaction. An event identical to a stored one (same time and
    /// same content) is skipped and counted in [`InsertReport::duplicates`].
    fn insert_events(&self, events: &[Event]) -> Result<InsertReport, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        if events.is_empty() {
            return Ok(InsertReport::default());
        }
        self.writer().insert_events(events)
    }

    /// Stores measurements (received metrics) in one transaction, summed per series and
    /// minute (see [`Analytics::metric`](agentrace_store::Analytics::metric)).
    fn insert_measurements(
        &self,
        measurements: &[Measurement],
    ) -> Result<InsertReport, WriteError> {
        if self.is_shut_down() {
            return Err(WriteError::ShutDown);
        }
        if measurements.is_empty() {
            return Ok(InsertReport::default());
        }
        self.writer().insert_measurements(measurements)
    }
}

/// One process writes a SQLite file: the fleet is this node.
impl Fleet for SqliteStore {}

impl Health for SqliteStore {
    fn describe(&self) -> String {
        format!("SQLite file {}", self.path().display())
    }

    fn health(&self) -> Result<StoreHealth, QueryError> {
        let disk = DiskUsage {
            data_bytes: self.database_file_bytes(),
            total_bytes: self.bytes_on_disk(),
        };
        Ok(StoreHealth::new(
            self.schema_version()?,
            disk,
            self.is_shut_down(),
        ))
    }

    /// The write-ahead log: its length, peak and ceiling, how often it started over, and the
    /// writes refused at the ceiling. Never waits for a write in progress.
    fn wal(&self) -> Option<WalStatus> {
        Some(self.inner.wal.status(&self.wal_path()))
    }

    /// Makes every committed write durable: a checkpoint of the write-ahead log.
    fn close(&self) -> Result<(), WriteError> {
        self.checkpoint().map_err(WriteError::from)
    }
}

#[async_trait]
impl Sink for SqliteStore {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        Some(self)
    }

    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }

    async fn flush(&self) -> Result<(), FlushError> {
        self.checkpoint().map_err(FlushError::failed)
    }

    /// Flushes and refuses later writes. Queries keep working. Idempotent.
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        if self.inner.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let writer = self.writer();
        writer.checkpoint().map_err(ShutdownError::failed)?;
        writer.optimize().map_err(ShutdownError::failed)
    }
}

#[async_trait]
impl SpanSink for SqliteStore {
    /// Stores the spans, then the scores of the `gen_ai.evaluation.result` events they carry
    /// (`agentrace_store::store_evaluations`).
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        self.write_spans(spans)?;
        agentrace_store::store_evaluations(self, evaluation_results(spans, &[]).results)?;
        Ok(())
    }
}

#[async_trait]
impl EventSink for SqliteStore {
    /// Stores the events, then the scores of those that are `gen_ai.evaluation.result`s
    /// (`agentrace_store::store_evaluations`; one naming a response whose span is not stored
    /// yet makes no score).
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.insert_events(events)?;
        agentrace_store::store_evaluations(self, evaluation_results(&[], events).results)?;
        Ok(())
    }
}
