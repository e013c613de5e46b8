//! [`ReadError`]: what can go wrong reading JSONL files, always with the file and line.

use std::io;
use std::path::{Path, PathBuf};

/// Reading a JSONL file or directory failed, or one of its lines is not a valid record.
///
/// Line errors name the file and the 1-based line number (`path:line` or `path:line:column`,
/// as compilers do); the reader reports them and goes on with the next line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The directory could not be listed.
    #[error("{}: cannot list the directory: {source}", path.display())]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file could not be opened.
    #[error("{}: cannot open: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Reading failed; the rest of this file is skipped.
    #[error("{}:{line}: read failed, skipping the rest of the file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The line being read.
        line: u64,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The line is not valid UTF-8.
    #[error("{}:{line}:{column}: not valid UTF-8 (invalid byte at column {column})", path.display())]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The 1-based byte column of the first invalid byte.
        column: usize,
    },
    /// The line is not JSON, or not a record of its type.
    #[error("{}:{line}:{column}: not a valid record: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The 1-based column where parsing failed (0 when unknown).
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// The last line of the file ends without a newline and is not a complete record: a write
    /// was cut short (a crash, a full disk), or the writer is still writing it.
    #[error("{}:{line}: incomplete last line (truncated write?): {reason}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// What the parser said.
        reason: String,
    },
    /// The line's schema version (`v`) is not one this reader knows.
    #[error(
        "{}:{line}: schema version {found} is not supported (this reader reads version {supported}{hint})",
        path.display(),
        hint = if *found > *supported { "; it was written by a newer agentrace" } else { "" }
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The version found.
        found: u64,
        /// The version this reader reads.
        supported: u64,
    },
    /// The line's `type` is neither `span` nor `event`.
    #[error("{}:{line}: unknown record type {found:?} (expected \"span\" or \"event\")", path.display())]
    UnknownType {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The type found.
        found: String,
    },
    /// The line is longer than the reader's limit; it is skipped unread.
    #[error("{}:{line}: line longer than {max} bytes, skipped", path.display())]
    LineTooLong {
        /// The file.
        path: PathBuf,
        /// The line.
        line: u64,
        /// The limit.
        max: usize,
    },
}

impl ReadError {
    /// The file (or directory) concerned.
    pub fn path(&self) -> &Path {
        match self {
            Self::ListDir { path, .. }
            | Self::Open { path, .. }
            | Self::Io { path, .. }
            | Self::InvalidUtf8 { path, .. }
            | Self::Malformed { path, .. }
            | Self::Truncated { path, .. }
            | Self::UnsupportedVersion { path, .. }
            | Self::UnknownType { path, .. }
            | Self::LineTooLong { path, .. } => path,
        }
    }

    /// The 1-based line number, for errors about one line.
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::ListDir { .. } | Self::Open { .. } => None,
            Self::Io { line, .. }
            | Self::InvalidUtf8 { line, .. }
            | Self::Malformed { line, .. }
            | Self::Truncated { line, .. }
            | Self::UnsupportedVersion { line, .. }
            | Self::UnknownType { line, .. }
            | Self::LineTooLong { line, .. } => Some(*line),
        }
    }
}
