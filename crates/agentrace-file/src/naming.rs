//! File names: `{prefix}-{YYYY-MM-DD}-{seq:04}.jsonl`, and listing a directory's files in order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::clock::UtcDate;

/// What orders the files of one prefix: the UTC creation date, then the sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FileKey {
    pub(crate) date: UtcDate,
    pub(crate) seq: u32,
}

impl FileKey {
    /// The key of the file that follows `self` when rotating on `today`: sequence 0 of a later
    /// day, else the next sequence number of the same date (never a name that sorts earlier,
    /// even if the clock went backwards).
    pub(crate) fn next(self, today: UtcDate) -> Self {
        if today > self.date {
            Self {
                date: today,
                seq: 0,
            }
        } else {
            Self {
                date: self.date,
                seq: self.seq.saturating_add(1),
            }
        }
    }

    /// The file name of this key.
    pub(crate) fn file_name(self, prefix: &str) -> String {
        format!("{prefix}-{}-{:04}.jsonl", self.date, self.seq)
    }

    /// The key of `name` if it is a file of `prefix`.
    pub(crate) fn parse(prefix: &str, name: &str) -> Option<Self> {
        let rest = name
            .strip_prefix(prefix)?
            .strip_prefix('-')?
            .strip_suffix(".jsonl")?;
        let b = rest.as_bytes();
        if b.len() < 15 || b[4] != b'-' || b[7] != b'-' || b[10] != b'-' {
            return None;
        }
        let year: u16 = digits(&b[..4])?;
        let month: u8 = digits(&b[5..7])?;
        let day: u8 = digits(&b[8..10])?;
        let seq: u32 = digits(&b[11..])?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        Some(Self {
            date: UtcDate { year, month, day },
            seq,
        })
    }
}

fn digits<T: std::str::FromStr>(bytes: &[u8]) -> Option<T> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// One file of a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogFile {
    pub(crate) key: FileKey,
    pub(crate) path: PathBuf,
}

/// The regular files of `prefix` in `dir`, oldest first (by date, then sequence number,
/// compared as numbers so that sequence 10000 follows 9999).
pub(crate) fn list(dir: &Path, prefix: &str) -> io::Result<Vec<LogFile>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(key) = entry
            .file_name()
            .to_str()
            .and_then(|name| FileKey::parse(prefix, name))
        else {
            continue;
        };
        // Follows symlinks, so a link to a log file counts as one.
        if fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            files.push(LogFile {
                key,
                path: entry.path(),
            });
        }
    }
    files.sort_by_key(|f| f.key);
    Ok(files)
}

/// Whether `prefix` can start a file name: not empty, no path separators, no NUL.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("the file prefix is empty".into());
    }
    if prefix
        .chars()
        .any(|c| c == '/' || c == '\\' || c == '\0' || c.is_control())
    {
        return Err(format!(
            "the file prefix {prefix:?} must not contain path separators or control characters"
        ));
    }
    if prefix == "." || prefix == ".." {
        return Err(format!("the file prefix {prefix:?} is not a file name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(year: u16, month: u8, day: u8, seq: u32) -> FileKey {
        FileKey {
            date: UtcDate { year, month, day },
            seq,
        }
    }

    #[test]
    fn names_round_trip() {
        let k = key(2026, 11, 21, 7);
        assert_eq!(k.file_name("agentrace"), "agentrace-2026-11-21-0007.jsonl");
        assert_eq!(
            FileKey::parse("agentrace", "agentrace-2026-11-21-0007.jsonl"),
            Some(k)
        );
        let big = key(2026, 11, 21, 12_345);
        assert_eq!(
            FileKey::parse("a", &big.file_name("a")),
            Some(big),
            "sequence numbers beyond four digits"
        );
        assert_eq!(
            FileKey::parse("my-app", "my-app-2026-01-02-0000.jsonl"),
            Some(key(2026, 1, 2, 0))
        );
    }

    #[test]
    fn rejects_other_names() {
        for name in [
            "agentrace-2026-11-21-0007.json",
            "agentrace-2026-11-21.jsonl",
            "agentrace-x-2026-11-21-0007.jsonl",
            "agentrace-2026-13-21-0007.jsonl",
            "agentrace-2026-11-00-0007.jsonl",
            "agentrace-2026-11-21-00a7.jsonl",
            "agentrace-2026-11-21-+007.jsonl",
            "agentrace2026-11-21-0007.jsonl",
            "other-2026-11-21-0007.jsonl",
            "agentrace-2026-11-21-99999999999.jsonl",
        ] {
            assert_eq!(FileKey::parse("agentrace", name), None, "{name}");
        }
    }

    #[test]
    fn next_key_never_goes_back() {
        let k = key(2026, 11, 21, 3);
        assert_eq!(k.next(k.date), key(2026, 11, 21, 4));
        assert_eq!(k.next(key(2026, 11, 22, 0).date), key(2026, 11, 22, 0));
        assert_eq!(k.next(key(2026, 11, 20, 0).date), key(2026, 11, 21, 4));
        assert!(key(2026, 11, 21, 9_999) < key(2026, 11, 21, 10_000));
    }

    #[test]
    fn prefixes() {
        assert!(check_prefix("agentrace").is_ok());
        assert!(check_prefix("my app.v2").is_ok());
        for bad in ["", "a/b", "a\\b", "a\0", "..", "a\nb"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
