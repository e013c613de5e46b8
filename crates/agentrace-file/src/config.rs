//! The sink's builder and configuration.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::naming::check_prefix;
use crate::sink::JsonlSink;

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

/// Opening a [`JsonlSink`] failed.
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

/// Builds a [`JsonlSink`]; start with [`JsonlSink::builder`].
///
/// ```
/// use std::time::Duration;
/// use agentrace_file::{JsonlSink, Rotation};
///
/// # let dir = tempfile::tempdir()?;
/// let sink = JsonlSink::builder(dir.path().join("telemetry"))
///     .file_prefix("my-agent")
///     .rotation(Rotation::daily().with_max_bytes(64 << 20))
///     .max_files(30)
///     .max_age(Duration::from_secs(7 * 86_400))
///     .build()?;
/// let file = sink.current_file().ok_or("shut down")?;
/// assert!(file.starts_with(dir.path().join("telemetry")));
/// assert!(file.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("my-agent-")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct JsonlSinkBuilder {
    config: Config,
}

impl fmt::Debug for JsonlSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlSinkBuilder")
            .field("config", &self.config)
            .finish()
    }
}

impl JsonlSinkBuilder {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            config: Config {
                dir: dir.to_path_buf(),
                prefix: DEFAULT_PREFIX.to_owned(),
                rotation: Rotation::default(),
                max_files: None,
                max_age: None,
                buffer_size: DEFAULT_BUFFER_SIZE,
                clock: Arc::new(SystemClock),
            },
        }
    }

    /// The start of every file name (default [`DEFAULT_PREFIX`]); no path separators.
    pub fn file_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = prefix.into();
        self
    }

    /// When to start a new file (default [`Rotation::default`]: daily and at 100 MiB).
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.config.rotation = rotation;
        self
    }

    /// Keeps at most `n` files of this prefix, the one being written included, deleting the
    /// oldest (default: no limit). Checked when the sink opens and at each rotation.
    pub fn max_files(mut self, n: usize) -> Self {
        self.config.max_files = Some(n);
        self
    }

    /// Deletes files last modified longer than `age` ago (default: no limit). The file being
    /// written is never deleted. Checked when the sink opens and at each rotation.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.config.max_age = Some(age);
        self
    }

    /// Bytes buffered in memory before they are written to the file (default 1 MiB).
    /// [`Sink::flush`](agentrace_core::Sink::flush) writes and syncs whatever is buffered.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.config.buffer_size = bytes;
        self
    }

    /// The clock that dates files and ages them (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// Creates the directory if needed, opens the file to append to (the newest file of the
    /// prefix when it is of today and below the size limit, else a new one) and applies
    /// retention.
    pub fn build(self) -> Result<JsonlSink, OpenError> {
        let c = &self.config;
        check_prefix(&c.prefix).map_err(OpenError::InvalidConfig)?;
        if c.max_files == Some(0) {
            return Err(OpenError::InvalidConfig(
                "max_files must be at least 1 (the file being written counts)".into(),
            ));
        }
        if c.rotation.max_bytes == Some(0) {
            return Err(OpenError::InvalidConfig(
                "the rotation size must be at least 1 byte".into(),
            ));
        }
        JsonlSink::open(self.config)
    }
}
