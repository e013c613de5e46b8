//! The writer behind the sink's mutex: the open file, the buffer, rotation.
//!
//! Records are serialized into an in-memory buffer and written to the file when the buffer is
//! full, at rotation and at flush. Bytes are never dropped once part of them reached the file, so
//! an I/O error never leaves a torn line in the middle of a file: what was not written stays
//! buffered and is written first next time.

mod file;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub(crate) use self::file::IoFailure;
use self::file::{ActiveFile, sync_dir};
use crate::clock::UtcDate;
use crate::config::{Config, OpenError};
use crate::naming::{self, FileKey};
use crate::retention::{Policy, RetentionError, RetentionReport};
use crate::schema::{LineOut, SCHEMA_VERSION};

/// Why a batch was not (entirely) written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BatchError {
    /// Writing, syncing or opening failed; may succeed later (a full disk may clear).
    #[error(transparent)]
    Io(#[from] IoFailure),
    /// Records could not be serialized; the others were written.
    #[error("{skipped} record(s) could not be serialized and were skipped: {first}")]
    Serialize {
        skipped: usize,
        first: serde_json::Error,
    },
}

/// The writing state of an open sink.
#[derive(Debug)]
pub(crate) struct Writer {
    config: Arc<Config>,
    active: ActiveFile,
    buf: Vec<u8>,
    /// During a batch: where the batch starts in `buf`, or `None` once part of the batch reached
    /// the file (then a failed batch cannot be taken back, and its retry may duplicate lines).
    batch_mark: Option<usize>,
    /// A file was created since the directory was last synced.
    dir_dirty: bool,
}

impl Writer {
    /// Opens the newest file of the prefix if it can take more, else a new one; then applies
    /// retention.
    pub(crate) fn open(config: Arc<Config>) -> Result<Self, OpenError> {
        let dir = &config.dir;
        if dir.exists() && !dir.is_dir() {
            return Err(OpenError::NotADirectory { path: dir.clone() });
        }
        fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let files = naming::list(dir, &config.prefix).map_err(|source| OpenError::ListDir {
            path: dir.clone(),
            source,
        })?;
        let today = UtcDate::of(config.clock.now());
        let key = match files.last() {
            Some(last) if Self::can_append(&config, last, today) => last.key,
            Some(last) => last.key.next(today),
            None => FileKey {
                date: today,
                seq: 0,
            },
        };
        let created = files.last().is_none_or(|last| last.key != key);
        let active =
            ActiveFile::open(dir, &config.prefix, key).map_err(|source| OpenError::OpenFile {
                path: dir.join(key.file_name(&config.prefix)),
                source,
            })?;
        let writer = Self {
            buf: Vec::with_capacity(config.buffer_size.saturating_add(64 << 10)),
            config,
            active,
            batch_mark: None,
            dir_dirty: created,
        };
        // Retention failures are not fatal: the sink can write, and retention runs again at
        // the next rotation (or through `JsonlSink::enforce_retention`).
        let _ = writer.enforce_retention();
        Ok(writer)
    }

    fn can_append(config: &Config, last: &naming::LogFile, today: UtcDate) -> bool {
        if config.rotation.is_daily() && today > last.key.date {
            return false;
        }
        match config.rotation.max_bytes() {
            Some(max) => fs::metadata(&last.path).is_ok_and(|m| m.len() < max),
            None => true,
        }
    }

    /// The file being written.
    pub(crate) fn current_file(&self) -> &Path {
        &self.active.path
    }

    /// Appends one line per record. On an I/O error the batch is taken back if none of it
    /// reached the file, so a retry does not duplicate it.
    pub(crate) fn write_batch<T: Serialize>(
        &mut self,
        ty: &'static str,
        records: &[T],
    ) -> Result<(), BatchError> {
        if records.is_empty() {
            return Ok(());
        }
        if self.config.rotation.is_daily() {
            let today = UtcDate::of(self.config.clock.now());
            if today > self.active.key.date {
                self.drain(self.buf.len())?;
                self.rotate(today)?;
            }
        }
        self.batch_mark = Some(self.buf.len());
        let result = self.append(ty, records);
        // Records that could not be serialized were skipped, the others stay; after an I/O error
        // the batch is taken back if none of it reached the file.
        if let Err(BatchError::Io(_)) = result
            && let Some(mark) = self.batch_mark
        {
            self.buf.truncate(mark);
        }
        self.batch_mark = None;
        result
    }

    fn append<T: Serialize>(&mut self, ty: &'static str, records: &[T]) -> Result<(), BatchError> {
        let mut skipped = 0;
        let mut first_error = None;
        for record in records {
            let start = self.buf.len();
            let line = LineOut {
                v: SCHEMA_VERSION,
                ty,
                record,
            };
            if let Err(e) = serde_json::to_writer(&mut self.buf, &line) {
                self.buf.truncate(start);
                skipped += 1;
                first_error.get_or_insert(e);
                continue;
            }
            self.buf.push(b'\n');
            if let Some(max) = self.config.rotation.max_bytes() {
                let before = self.active.len + start as u64;
                if before > 0 && self.active.len + self.buf.len() as u64 > max {
                    // This record starts the next file.
                    self.drain(start)?;
                    let today = UtcDate::of(self.config.clock.now());
                    self.rotate(today)?;
                }
            }
            if self.buf.len() >= self.config.buffer_size {
                self.drain(self.buf.len())?;
            }
        }
        match first_error {
            None => Ok(()),
            Some(first) => Err(BatchError::Serialize { skipped, first }),
        }
    }

    /// Writes the first `n` buffered bytes to the file. Whatever was written leaves the buffer,
    /// even when the write fails part way.
    fn drain(&mut self, n: usize) -> Result<(), IoFailure> {
        let mut written = 0;
        let result = loop {
            if written == n {
                break Ok(());
            }
            match self.active.file.write(&self.buf[written..n]) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(k) => written += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..written);
        self.active.len += written as u64;
        self.batch_mark = self.batch_mark.and_then(|mark| mark.checked_sub(written));
        result.map_err(|e| IoFailure::new("writing", &self.active.path, e))
    }

    /// Syncs the current file and switches to the next one. The caller drained what belongs to
    /// the current file. On failure the current file stays the active one.
    fn rotate(&mut self, today: UtcDate) -> Result<(), IoFailure> {
        self.active
            .file
            .sync_data()
            .map_err(|e| IoFailure::new("syncing", &self.active.path, e))?;
        let key = self.active.key.next(today);
        let next = ActiveFile::open(&self.config.dir, &self.config.prefix, key).map_err(|e| {
            IoFailure::new(
                "opening",
                &self.config.dir.join(key.file_name(&self.config.prefix)),
                e,
            )
        })?;
        self.active = next;
        self.dir_dirty = true;
        let _ = self.enforce_retention();
        Ok(())
    }

    /// Writes the buffer and makes the file (and a newly created file's name) durable.
    pub(crate) fn flush(&mut self) -> Result<(), IoFailure> {
        self.drain(self.buf.len())?;
        self.active
            .file
            .sync_data()
            .map_err(|e| IoFailure::new("syncing", &self.active.path, e))?;
        if self.dir_dirty {
            sync_dir(&self.config.dir)
                .map_err(|e| IoFailure::new("syncing the directory", &self.config.dir, e))?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Bytes buffered and not yet written.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// After a panic while the lock was held: drops the bytes of the interrupted batch if none
    /// of them reached the file, so no half-serialized record is written.
    pub(crate) fn recover(&mut self) {
        if let Some(mark) = self.batch_mark.take() {
            self.buf.truncate(mark);
        }
    }

    /// Applies retention now.
    pub(crate) fn enforce_retention(&self) -> Result<RetentionReport, RetentionError> {
        Policy {
            dir: &self.config.dir,
            prefix: &self.config.prefix,
            active: &self.active.path,
            max_files: self.config.max_files,
            max_age: self.config.max_age,
            now: self.config.clock.now(),
        }
        .enforce()
    }
}

impl Drop for Writer {
    /// Best effort: what is still buffered is written (not synced).
    fn drop(&mut self) {
        let _ = self.drain(self.buf.len());
    }
}
