//! The spool of held spans an earlier release kept on the node (`DATA_DIR/held-spans`): read
//! once when a node starts over that data directory, its spans written, the directory then
//! removed ([`ClickHouseStore::write_spool`](crate::ClickHouseStore::write_spool)).
//!
//! A spool is a directory of segments (`NNNNNNNNNNNNNNNN.spool`), each a sequence of records
//! (length, CRC-32 of the payload, then the pair of the project's id and the span as
//! MessagePack with its fields named; older: the span alone, as MessagePack or JSON, the
//! `default` project's). A torn or corrupt record ends what is read of its segment.

use std::io;
use std::path::{Path, PathBuf};

use agentrace_core::SpanRecord;
use agentrace_store::ProjectId;

use crate::schema::DEFAULT_PROJECT_ID;

/// A record's header: the payload's length and its CRC-32, little-endian.
const HEADER: usize = 8;

/// An earlier release's spool could not be read or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// Its directory or a segment could not be read or removed.
    #[error("the spool of held spans at {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + use<> {
    let path = path.to_owned();
    move |source| SpoolError::Io { path, source }
}

/// The spans of the spool in `dir`, oldest first, each with its project; none if there is no
/// spool.
pub(crate) fn read(dir: &Path) -> Result<Vec<(ProjectId, SpanRecord)>, SpoolError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_error(dir))?.path();
        if path.extension().is_some_and(|e| e == "spool") {
            segments.push(path);
        }
    }
    segments.sort();
    let mut spans = Vec::new();
    for path in segments {
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        spans.extend(read_records(&bytes));
    }
    Ok(spans)
}

/// Removes the spool in `dir` (its spans written).
pub(crate) fn remove(dir: &Path) -> Result<(), SpoolError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(dir)(e)),
        _ => Ok(()),
    }
}

/// The spans of a segment's bytes, each with its project, up to a torn or corrupt record.
fn read_records(mut bytes: &[u8]) -> Vec<(ProjectId, SpanRecord)> {
    let mut spans = Vec::new();
    while bytes.len() >= HEADER {
        let (header, rest) = bytes.split_at(HEADER);
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = rest.get(..length) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        // A record is the pair of a project and a span, a MessagePack array of two (0x92). One
        // of a spool written before projects is a span alone, the `default` project's: a
        // MessagePack map (0x80–0x8f, 0xde or 0xdf), or before MessagePack, JSON (`{`).
        let default = ProjectId(DEFAULT_PROJECT_ID);
        let span = match payload.first() {
            Some(0x92) => rmp_serde::from_slice::<(u32, SpanRecord)>(payload)
                .ok()
                .map(|(project, span)| (ProjectId(project), span)),
            Some(b'{') => serde_json::from_slice::<SpanRecord>(payload)
                .ok()
                .map(|span| (default, span)),
            _ => rmp_serde::from_slice::<SpanRecord>(payload)
                .ok()
                .map(|span| (default, span)),
        };
        let Some(span) = span else {
            break;
        };
        spans.push(span);
        bytes = &rest[length..];
    }
    spans
}

#[cfg(test)]
mod tests {
    use agentrace_core::TraceId;

    use super::*;

    /// A record as the earlier release appended it.
    fn record(payload: &[u8], into: &mut Vec<u8>) {
        let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        into.extend_from_slice(&length.to_le_bytes());
        into.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        into.extend_from_slice(payload);
    }

    #[test]
    fn every_format_of_an_earlier_spool_is_read_up_to_a_torn_record() -> Result<(), SpoolError> {
        let spans =
            agentrace_core::testing::fixtures::sample_spans(TraceId::from_bytes([7; 16]), 300);
        let other = ProjectId(7);
        let (mut pairs, mut alone, mut json) = (Vec::new(), Vec::new(), Vec::new());
        for s in &spans {
            record(
                &rmp_serde::to_vec_named(&(other.0, s)).unwrap_or_default(),
                &mut pairs,
            );
            record(&rmp_serde::to_vec_named(s).unwrap_or_default(), &mut alone);
            record(&serde_json::to_vec(s).unwrap_or_default(), &mut json);
        }
        let in_project = |p: ProjectId| -> Vec<(ProjectId, SpanRecord)> {
            spans.iter().map(|s| (p, s.clone())).collect()
        };
        let dir = tempfile::tempdir().map_err(io_error(Path::new("tmp")))?;
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).map_err(io_error(&path))
        };
        write("0000000000000000.spool", &pairs)?;
        assert_eq!(read(dir.path())?, in_project(other));
        write("0000000000000001.spool", &alone)?;
        write("0000000000000002.spool", &json)?;
        let default = ProjectId(DEFAULT_PROJECT_ID);
        let mut expected = in_project(other);
        expected.extend(in_project(default));
        expected.extend(in_project(default));
        assert_eq!(read(dir.path())?, expected);
        // A torn last record, then a corrupt one: what is before them is read.
        let mut torn = pairs.clone();
        torn.truncate(pairs.len() - 3);
        write("0000000000000001.spool", &torn)?;
        let mut corrupt = json.clone();
        if let Some(b) = corrupt.get_mut(HEADER + 1) {
            *b ^= 0xff;
        }
        write("0000000000000002.spool", &corrupt)?;
        let read_back = read(dir.path())?;
        assert_eq!(read_back.len(), 2 * spans.len() - 1);
        remove(dir.path())?;
        assert!(read(dir.path())?.is_empty(), "no spool, nothing to write");
        remove(dir.path())
    }
}
