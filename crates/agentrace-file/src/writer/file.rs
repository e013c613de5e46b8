//! The file being written: opening for append (repairing a torn last line), and syncing.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::naming::FileKey;

/// An I/O failure, with what was being done to which file.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub(crate) struct IoFailure {
    op: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl IoFailure {
    pub(super) fn new(op: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The file being written.
#[derive(Debug)]
pub(super) struct ActiveFile {
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) key: FileKey,
    /// Bytes in the file (written, not counting the buffer).
    pub(super) len: u64,
}

impl ActiveFile {
    /// Opens (creating if needed) the file of `key` for appending. A file whose last line was
    /// torn by a crash gets a newline first, so the torn line stays alone on its line.
    pub(super) fn open(dir: &Path, prefix: &str, key: FileKey) -> io::Result<Self> {
        let path = dir.join(key.file_name(prefix));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let mut len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
                len += 1;
            }
        }
        Ok(Self {
            file,
            path,
            key,
            len,
        })
    }
}

#[cfg(unix)]
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
