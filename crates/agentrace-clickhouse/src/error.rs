//! ClickHouse's errors in the neutral errors of `agentrace-store`, classified by what the
//! caller can do: an unreachable, timed out or overloaded server is worth retrying; anything
//! else is the store failing.

use agentrace_store::{ProjectError, QueryError, RetentionError, WriteError};
use clickhouse::error::Error;

use crate::row::DecodeError;

/// Opening a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The server did not answer, or refused a statement of the schema.
    #[error("ClickHouse at {url}: {source}")]
    Server {
        /// The server's URL.
        url: String,
        /// What the client or the server said.
        #[source]
        source: clickhouse::error::Error,
    },
    /// The database was made by a newer agentrace.
    #[error(
        "the ClickHouse database {database} has schema version {found}; this build knows up to {supported}: upgrade agentrace"
    )]
    TooNew {
        /// The database.
        database: String,
        /// Its schema version.
        found: u32,
        /// The newest this build knows.
        supported: u32,
    },
    /// The runtime of the store's blocking calls could not start.
    #[error("cannot start the ClickHouse store's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The database name is not a plain identifier.
    #[error("{0:?} is not a ClickHouse database name agentrace uses (letters, digits, _)")]
    DatabaseName(String),
    /// The cluster name is not one agentrace puts into statements.
    #[error("{0:?} is not a ClickHouse cluster name agentrace uses (letters, digits, _, -, .)")]
    ClusterName(String),
    /// Rows were written into a table while it was rebuilt for projects (schema version 6):
    /// a node of an older release still writes. Nothing was swapped.
    #[error(
        "rows were written into {0} while it was rebuilt for projects: stop the nodes of the \
         older release, then start this one again"
    )]
    WrittenWhileRebuilt(String),
}

/// Server error codes that clear by themselves: too many queries or simultaneous inserts,
/// memory limits, timeouts, too many parts (merges catching up), a replica or keeper away.
const TRANSIENT_CODES: &[u32] = &[
    159, // TIMEOUT_EXCEEDED
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY (a replica without its keeper)
    252, // TOO_MANY_PARTS
    285, // TOO_FEW_LIVE_REPLICAS
    319, // UNKNOWN_STATUS_OF_INSERT
    425, // SYSTEM_ERROR
    999, // KEEPER_EXCEPTION
];

/// Whether trying again may succeed.
pub(crate) fn is_transient(e: &Error) -> bool {
    match e {
        Error::Network(_) | Error::TimedOut => true,
        Error::BadResponse(text) => code(text).is_some_and(|c| TRANSIENT_CODES.contains(&c)),
        _ => false,
    }
}

/// Whether the server refused to make what exists (`TABLE_ALREADY_EXISTS`).
pub(crate) fn is_already_there(e: &Error) -> bool {
    is_named(e, 57, "TABLE_ALREADY_EXISTS")
}

/// Whether the server knows no such table (`UNKNOWN_TABLE`).
pub(crate) fn is_unknown_table(e: &Error) -> bool {
    is_named(e, 60, "UNKNOWN_TABLE")
}

/// Whether `e` is the server's exception `code`, named `name` (on a cluster, a statement run
/// `ON CLUSTER` reports the exception of each server in its text).
fn is_named(e: &Error, code_of: u32, name: &str) -> bool {
    match e {
        Error::BadResponse(text) => {
            code(text) == Some(code_of) || text.contains(&format!("({name})"))
        }
        _ => false,
    }
}

/// The code of a server's exception text (`Code: 241. DB::Exception: …`).
fn code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + 6..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

pub(crate) fn write(e: Error) -> WriteError {
    if is_transient(&e) {
        WriteError::Unavailable(Box::new(e))
    } else {
        WriteError::Failed(Box::new(e))
    }
}

pub(crate) fn query(e: Error) -> QueryError {
    if is_transient(&e) {
        QueryError::Unavailable(Box::new(e))
    } else {
        QueryError::Failed(Box::new(e))
    }
}

pub(crate) fn project(e: Error) -> ProjectError {
    if is_transient(&e) {
        ProjectError::Unavailable(Box::new(e))
    } else {
        ProjectError::Failed(Box::new(e))
    }
}

pub(crate) fn account(e: Error) -> agentrace_store::AccountError {
    if is_transient(&e) {
        agentrace_store::AccountError::Unavailable(Box::new(e))
    } else {
        agentrace_store::AccountError::Failed(Box::new(e))
    }
}

pub(crate) fn audit(e: Error) -> agentrace_store::AuditError {
    if is_transient(&e) {
        agentrace_store::AuditError::Unavailable(Box::new(e))
    } else {
        agentrace_store::AuditError::Failed(Box::new(e))
    }
}

pub(crate) fn retention(e: Error) -> RetentionError {
    RetentionError::Failed(Box::new(e))
}

pub(crate) fn decode(e: DecodeError) -> QueryError {
    QueryError::Decode {
        what: e.what(),
        reason: e.reason().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_and_network_are_transient_the_rest_is_not() {
        let overloaded = Error::BadResponse(
            "Code: 202. DB::Exception: Too many simultaneous queries. (TOO_MANY_SIMULTANEOUS_QUERIES)".into(),
        );
        assert!(is_transient(&overloaded));
        assert!(is_transient(&Error::TimedOut));
        let syntax = Error::BadResponse("Code: 62. DB::Exception: Syntax error".into());
        assert!(!is_transient(&syntax));
        assert!(!is_transient(&Error::BadResponse("no code here".into())));
        assert!(write(syntax).is_store_failure());
    }
}
