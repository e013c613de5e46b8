//! The sink's configuration: rotation, retention and the errors of opening.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;

/// The file prefix used when none is set: files are named `agentrace-YYYY-MM-DD-NNNN.jsonl`.
pub const DEFAULT_PREFIX: &str = "agentrace";

/// The write buffer size used when none is set (1 MiB).
pub const DEFAULT_BUFFER_SIZE: usize = 1 << 20;

/// When the sink starts a new file.
///
/// Rotation by date uses the UTC date of the sink's [`Clock`] when a batch is written; rotation
/// by size starts a new file before a record that would take the current file past the limit,
/// so a file exceeds it only when it holds a single record larger than the limit.
///
/// ```
/// use agentrace_file::Rotation;
///
/// let r = Rotation::daily().with_max_bytes(64 << 20);
/// assert!(r.is_daily());
/// assert_eq!(r.max_bytes(), Some(64 << 20));
/// assert_eq!(Rotation::default(), Rotation::daily().with_max_bytes(100 << 20));
/// assert_eq!(Rotation::never().max_bytes(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    daily: bool,
    max_bytes: Option<u64>,
}

impl Rotation {
    /// One file forever (until reopened with another rotation).
    pub const fn never() -> Self {
        Self {
            daily: false,
            max_bytes: None,
        }
    }

    /// A new file each UTC day.
    pub const fn daily() -> Self {
        Self {
            daily: true,
            max_bytes: None,
        }
    }

    /// A new file when the current one would exceed `bytes`.
    pub const fn size(bytes: u64) -> Self {
        Self {
            daily: false,
            max_bytes: Some(bytes),
        }
    }

    /// Also rotates when the current file would exceed `bytes`.
    #[must_use]
    pub const fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// Whether a new file starts each UTC day.
    pub const fn is_daily(&self) -> bool {
        self.daily
    }

    /// The size limit of a file, if any.
    pub const fn max_bytes(&self) -> Option<u64> {
        self.max_bytes
    }
}

impl Default for Rotation {
    /// Daily, and at 100 MiB.
    fn default() -> Self {
        Self::daily().with_max_bytes(100 << 20)
    }
}

/// Opening a [`JsonlSink`](crate::JsonlSink) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A builder setting is out of range.
    #[error("invalid JSONL sink configuration: {0}")]
    InvalidConfig(String),
    /// The directory does not exist and could not be created.
    #[error("cannot create the JSONL directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The path exists and is not a directory.
    #[error("the JSONL directory {} exists and is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The directory could not be listed.
    #[error("cannot list the JSONL directory {}: {source}", path.display())]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file to write could not be opened: the directory or the file is not writable.
    #[error("cannot open {} for appending (is the directory writable?): {source}", path.display())]
    OpenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Everything the writer needs, fixed at build time.
pub(crate) struct Config {
    pub(crate) dir: PathBuf,
    pub(crate) prefix: String,
    pub(crate) rotation: Rotation,
    pub(crate) max_files: Option<usize>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) buffer_size: usize,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("dir", &self.dir)
            .field("prefix", &self.prefix)
            .field("rotation", &self.rotation)
            .field("max_files", &self.max_files)
            .field("max_age", &self.max_age)
            .field("buffer_size", &self.buffer_size)
            .finish_non_exhaustive()
    }
}
