//! Retention: deleting the oldest files beyond `max_files` and files older than `max_age`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::naming;

/// What one pass of retention did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RetentionReport {
    /// Files deleted, oldest first.
    pub deleted: Vec<PathBuf>,
    /// Files that should have been deleted but could not be, with why.
    pub failed: Vec<(PathBuf, io::Error)>,
}

/// Retention could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// The directory could not be listed.
    #[error("cannot list the JSONL directory {}: {source}", path.display())]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The sink was shut down.
    #[error("the JSONL sink is shut down")]
    ShutDown,
}

/// The limits, and the file that must survive.
pub(crate) struct Policy<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) prefix: &'a str,
    pub(crate) active: &'a Path,
    pub(crate) max_files: Option<usize>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) now: SystemTime,
}

impl Policy<'_> {
    /// Whether there is anything to enforce.
    pub(crate) fn is_unlimited(&self) -> bool {
        self.max_files.is_none() && self.max_age.is_none()
    }

    /// Deletes what the limits say must go. A file that vanished meanwhile is not an error.
    pub(crate) fn enforce(&self) -> Result<RetentionReport, RetentionError> {
        let mut report = RetentionReport::default();
        if self.is_unlimited() {
            return Ok(report);
        }
        let files =
            naming::list(self.dir, self.prefix).map_err(|source| RetentionError::ListDir {
                path: self.dir.to_path_buf(),
                source,
            })?;
        let mut excess = self
            .max_files
            .map_or(0, |max| files.len().saturating_sub(max));
        for file in files.iter().filter(|f| f.path != self.active) {
            let too_many = excess > 0;
            if !too_many && !self.is_too_old(&file.path) {
                continue;
            }
            excess = excess.saturating_sub(1);
            match fs::remove_file(&file.path) {
                Ok(()) => report.deleted.push(file.path.clone()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => report.failed.push((file.path.clone(), e)),
            }
        }
        Ok(report)
    }

    fn is_too_old(&self, path: &Path) -> bool {
        let Some(max_age) = self.max_age else {
            return false;
        };
        let Ok(modified) = fs::metadata(path).and_then(|m| m.modified()) else {
            return false;
        };
        // A modification time in the future is not old.
        self.now
            .duration_since(modified)
            .is_ok_and(|age| age > max_age)
    }
}
