//! Errors, one enum per operation: writing, querying, retention. A store reports its own
//! failures inside them (boxed), classified by what the caller can do about them: retry
//! ([`Unavailable`](WriteError::Unavailable)), wait for an operator
//! ([`Failed`](WriteError::Failed)), or drop the records
//! ([`Rejected`](WriteError::Rejected)).

use std::fmt;

use agentrace_core::ExportError;

/// A store's own error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Writing records failed. A batch is written whole or not at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The store was shut down.
    #[error("the store is shut down")]
    ShutDown,
    /// A record could not be encoded as JSON.
    #[error("encoding the {what} of a record as JSON failed: {source}")]
    Encode {
        /// Which part.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The store cannot write now but may soon (busy or locked, a full disk, an unreachable
    /// or overloaded server): the same write may succeed if tried again.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store failed (an I/O error, a read-only or damaged file, a refused login): every
    /// write fails until someone fixes it.
    #[error("the store failed: {0}")]
    Failed(#[source] BoxError),
    /// The store refused these records (too big, a value out of range): others may succeed,
    /// these never will.
    #[error("the store refused the records: {0}")]
    Rejected(#[source] BoxError),
}

impl WriteError {
    /// Whether trying the same write again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Whether the store itself failed, as opposed to records it cannot store: until it
    /// recovers (or is fixed), every write fails.
    pub fn is_store_failure(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Failed(_))
    }
}

impl From<QueryError> for WriteError {
    /// A read a write needed (e.g. of the spans it completes) failed.
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Unavailable(e) => Self::Unavailable(e),
            QueryError::Failed(e) => Self::Failed(e),
            e => Self::Rejected(Box::new(e)),
        }
    }
}

impl From<WriteError> for ExportError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::ShutDown => ExportError::ShutDown,
            e if e.is_retryable() => ExportError::transient(e),
            e => ExportError::permanent(e),
        }
    }
}

/// A query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The cursor was not produced by this kind of query.
    #[error("invalid cursor {0:?}: pass back a cursor returned by the same kind of query")]
    InvalidCursor(String),
    /// The query itself is invalid (e.g. a zero-width time bucket).
    #[error("invalid query: {0}")]
    Invalid(String),
    /// A stored value cannot be decoded (edited by hand, corrupt, or written by a newer
    /// version).
    #[error("a stored {what} cannot be decoded: {reason}")]
    Decode {
        /// Which value.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The store cannot answer now (busy, locked, unreachable): ask again later.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store failed.
    #[error("querying the store failed: {0}")]
    Failed(#[source] BoxError),
}

impl QueryError {
    /// A stored value `what` that does not decode, and why.
    pub fn decode(what: &'static str, reason: impl fmt::Display) -> Self {
        Self::Decode {
            what,
            reason: reason.to_string(),
        }
    }
}

/// Deleting old records failed. What was deleted before the failure stays deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// The store was shut down.
    #[error("the store is shut down")]
    ShutDown,
    /// The store failed to delete.
    #[error("deleting old records failed: {0}")]
    Failed(#[source] BoxError),
    /// Reading what remains (to keep summaries right) failed.
    #[error("reading what remains after a deletion failed: {0}")]
    Query(#[from] QueryError),
}
