//! SQLite's errors: opening a store ([`OpenError`]), and SQLite's own ([`DbError`]), which the
//! neutral errors of `agentrace-store` carry, classified.

use std::fmt;
use std::path::PathBuf;

use agentrace_store::{QueryError, RetentionError, WriteError};
use rusqlite::ErrorCode;

/// An error reported by SQLite. Opaque, so that the store's API does not expose the SQLite
/// binding it is built on; its message is SQLite's.
pub struct DbError(pub(crate) rusqlite::Error);

impl DbError {
    /// Whether the database was busy or locked by another connection (worth retrying).
    pub fn is_busy(&self) -> bool {
        Self::is_busy_code(self.0.sqlite_error_code())
    }

    pub(crate) fn is_busy_code(code: Option<ErrorCode>) -> bool {
        matches!(
            code,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }

    /// Whether the failure may clear by itself: busy or locked database, full disk, I/O error.
    pub fn is_transient(&self) -> bool {
        self.is_busy()
            || matches!(
                self.0.sqlite_error_code(),
                Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure | ErrorCode::OutOfMemory)
            )
    }

    /// Whether SQLite refused the data (too big, a constraint, a type or a parameter out of
    /// range), as opposed to the file or the disk failing.
    pub fn is_about_the_data(&self) -> bool {
        matches!(
            self.0.sqlite_error_code(),
            None | Some(
                ErrorCode::TooBig
                    | ErrorCode::ConstraintViolation
                    | ErrorCode::TypeMismatch
                    | ErrorCode::ParameterOutOfRange
            )
        )
    }

    pub(crate) fn code(&self) -> Option<ErrorCode> {
        self.0.sqlite_error_code()
    }
}

impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Converts SQLite results into [`DbError`]s: `conn.execute(..).db()?`.
pub(crate) trait Db<T> {
    fn db(self) -> Result<T, DbError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, DbError> {
        self.map_err(DbError)
    }
}

/// Opening a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// SQLite could not open or configure the file (missing directory, permissions, …).
    #[error("cannot open the SQLite store at {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: DbError,
    },
    /// The thread that checkpoints the write-ahead log could not be started.
    #[error("cannot start the checkpointing thread of the store at {}: {source}", path.display())]
    Thread {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// What the writer keeps between writes (the spans awaiting their parent) could not be
    /// read from the file.
    #[error("cannot read the writer's state from the store at {}: {source}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: QueryError,
    },
    /// The file exists but is not an SQLite database.
    #[error("{} is not an SQLite database (wrong file, or corrupted)", path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database of another application.
    #[error(
        "{} is an SQLite database of another application ({reason}), not an agentrace store",
        path.display()
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// The file was written by a newer agentrace whose schema this build does not know.
    #[error(
        "the store at {} has schema version {found}, but this build of agentrace knows versions up to {supported}; upgrade agentrace to open it",
        path.display()
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its schema version (`PRAGMA user_version`).
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Write-ahead logging could not be enabled (e.g. on a network file system).
    #[error("cannot enable WAL mode on {}: journal mode stays {mode:?}", path.display())]
    Wal {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// Migrating the schema failed; the file is left at its previous version.
    #[error(
        "migrating the store at {} from schema version {from} to {to} failed: {source}",
        path.display()
    )]
    Migration {
        /// The file.
        path: PathBuf,
        /// Version before.
        from: i64,
        /// Version aimed at.
        to: i64,
        /// What SQLite said.
        #[source]
        source: DbError,
    },
    /// Migrating the schema failed while computing new tables from the records stored; the
    /// file is left at its previous version.
    #[error(
        "migrating the store at {} from schema version {from} to {to} failed: {source}",
        path.display()
    )]
    MigrationStep {
        /// The file.
        path: PathBuf,
        /// Version before.
        from: i64,
        /// Version aimed at.
        to: i64,
        /// What failed.
        #[source]
        source: QueryError,
    },
}

impl From<DbError> for WriteError {
    /// Busy, locked, a full disk, an I/O error: unavailable (retry); SQLite refusing the
    /// data: rejected; anything else (a read-only or damaged file): failed.
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            Self::Unavailable(Box::new(e))
        } else if e.is_about_the_data() {
            Self::Rejected(Box::new(e))
        } else {
            Self::Failed(Box::new(e))
        }
    }
}

impl From<DbError> for QueryError {
    /// Busy or locked: unavailable (ask again); anything else: failed.
    fn from(e: DbError) -> Self {
        if e.is_busy() {
            Self::Unavailable(Box::new(e))
        } else {
            Self::Failed(Box::new(e))
        }
    }
}

impl From<DbError> for RetentionError {
    fn from(e: DbError) -> Self {
        Self::Failed(Box::new(e))
    }
}
