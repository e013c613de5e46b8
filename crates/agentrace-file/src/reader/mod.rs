//! [`JsonlReader`]: reads back what [`JsonlSink`](crate::JsonlSink) wrote, line by line.

mod error;
mod line;

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use agentrace_core::{Event, SpanRecord};

pub use error::ReadError;

use crate::config::DEFAULT_PREFIX;
use crate::naming;

/// The longest line read by default (64 MiB); longer lines are skipped with
/// [`ReadError::LineTooLong`].
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// One line of a JSONL file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "records are yielded one at a time; boxing would allocate once more per span"
)]
pub enum Record {
    /// A `"type":"span"` line.
    Span(SpanRecord),
    /// A `"type":"event"` line.
    Event(Event),
}

/// Reads records from a JSONL file, a directory of them, or any byte stream.
///
/// An iterator of `Result<Record, ReadError>`: a line that is not a valid record (corrupt, of an
/// unknown version, cut short) yields an error naming the file and line, and reading goes on
/// with the next line, so one bad line never hides the rest. Blank lines are skipped.
///
/// ```
/// use agentrace_file::{JsonlReader, Record};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("agentrace-2026-11-21-0000.jsonl");
/// # std::fs::write(&path, "not json\n")?;
/// let mut spans = 0;
/// for record in JsonlReader::open(&path)? {
///     match record {
///         Ok(Record::Span(_)) => spans += 1,
///         Ok(_) => {}
///         Err(e) => eprintln!("skipped: {e}"), // e.g. "….jsonl:1:1: not a valid record: …"
///     }
/// }
/// # assert_eq!(spans, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JsonlReader {
    pending: VecDeque<Pending>,
    current: Option<Source>,
    files: Vec<PathBuf>,
    buf: Vec<u8>,
    max_line_bytes: usize,
}

enum Pending {
    File(PathBuf),
    Stream(Source),
}

struct Source {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    line: u64,
}

impl fmt::Debug for JsonlReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlReader")
            .field("files", &self.files)
            .field("current", &self.current.as_ref().map(|s| (&s.path, s.line)))
            .field("max_line_bytes", &self.max_line_bytes)
            .finish_non_exhaustive()
    }
}

impl JsonlReader {
    fn with(pending: VecDeque<Pending>, files: Vec<PathBuf>) -> Self {
        Self {
            pending,
            current: None,
            files,
            buf: Vec::new(),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }

    /// Reads one file, or every file of the default prefix ([`DEFAULT_PREFIX`]) if `path` is a
    /// directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => Self::open_dir(path, DEFAULT_PREFIX),
            Ok(_) => Ok(Self::with(
                VecDeque::from([Pending::File(path.to_path_buf())]),
                vec![path.to_path_buf()],
            )),
            Err(source) => Err(ReadError::Open {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Reads every file of `prefix` in `dir`, oldest first (by the date and sequence number in
    /// their names), which is the order they were written in.
    pub fn open_dir(dir: impl AsRef<Path>, prefix: &str) -> Result<Self, ReadError> {
        let dir = dir.as_ref();
        let files: Vec<PathBuf> = naming::list(dir, prefix)
            .map_err(|source| ReadError::ListDir {
                path: dir.to_path_buf(),
                source,
            })?
            .into_iter()
            .map(|f| f.path)
            .collect();
        let pending = files.iter().cloned().map(Pending::File).collect();
        Ok(Self::with(pending, files))
    }

    /// Reads a stream (stdin, a decompressor, …); `name` stands for its path in errors.
    pub fn from_reader(name: impl Into<PathBuf>, reader: impl Read + Send + 'static) -> Self {
        let path = name.into();
        let source = Source {
            path: path.clone(),
            reader: Box::new(BufReader::with_capacity(256 << 10, reader)),
            line: 0,
        };
        Self::with(VecDeque::from([Pending::Stream(source)]), vec![path])
    }

    /// Sets the longest line read (default [`DEFAULT_MAX_LINE_BYTES`]).
    #[must_use]
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// The files read, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Only the spans (and the errors).
    pub fn spans(self) -> impl Iterator<Item = Result<SpanRecord, ReadError>> + Send {
        self.filter_map(|r| match r {
            Ok(Record::Span(s)) => Some(Ok(s)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// Only the events (and the errors).
    pub fn events(self) -> impl Iterator<Item = Result<Event, ReadError>> + Send {
        self.filter_map(|r| match r {
            Ok(Record::Event(e)) => Some(Ok(e)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// Opens the next source; `Err` if it cannot be opened, `Ok(false)` when none is left.
    fn advance(&mut self) -> Result<bool, ReadError> {
        let source = match self.pending.pop_front() {
            None => return Ok(false),
            Some(Pending::Stream(source)) => source,
            Some(Pending::File(path)) => {
                let file = File::open(&path).map_err(|source| ReadError::Open {
                    path: path.clone(),
                    source,
                })?;
                Source {
                    path,
                    reader: Box::new(BufReader::with_capacity(256 << 10, file)),
                    line: 0,
                }
            }
        };
        self.current = Some(source);
        Ok(true)
    }
}

impl Iterator for JsonlReader {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(source) = self.current.as_mut() else {
                match self.advance() {
                    Ok(true) => continue,
                    Ok(false) => return None,
                    Err(e) => return Some(Err(e)),
                }
            };
            let end = match line::read_line(&mut *source.reader, &mut self.buf, self.max_line_bytes)
            {
                Ok(Some(end)) => end,
                Ok(None) => {
                    self.current = None;
                    continue;
                }
                Err(e) => {
                    let error = ReadError::Io {
                        path: source.path.clone(),
                        line: source.line + 1,
                        source: e,
                    };
                    self.current = None;
                    return Some(Err(error));
                }
            };
            source.line += 1;
            if end.too_long {
                return Some(Err(ReadError::LineTooLong {
                    path: source.path.clone(),
                    line: source.line,
                    max: self.max_line_bytes,
                }));
            }
            match line::parse(&source.path, source.line, &self.buf, end.terminated) {
                Ok(Some(record)) => return Some(Ok(record)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Everything in a file or directory: the records, and the lines that could not be read.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ReadAll {
    /// The spans, in file order.
    pub spans: Vec<SpanRecord>,
    /// The events, in file order.
    pub events: Vec<Event>,
    /// One error per line (or file) that could not be read.
    pub errors: Vec<ReadError>,
}

/// Reads every record of a file or directory (default prefix), collecting bad lines in
/// [`ReadAll::errors`] instead of stopping. `Err` only if `path` cannot be opened or listed.
pub fn read_all(path: impl AsRef<Path>) -> Result<ReadAll, ReadError> {
    let mut all = ReadAll::default();
    for record in JsonlReader::open(path)? {
        match record {
            Ok(Record::Span(s)) => all.spans.push(s),
            Ok(Record::Event(e)) => all.events.push(e),
            Err(e) => all.errors.push(e),
        }
    }
    Ok(all)
}

/// Reads every span of a file or directory (default prefix), stopping at the first bad line.
/// To skip bad lines instead, use [`read_all`] or [`JsonlReader::spans`].
pub fn read_spans(path: impl AsRef<Path>) -> Result<Vec<SpanRecord>, ReadError> {
    JsonlReader::open(path)?.spans().collect()
}

/// Reads every event of a file or directory (default prefix), stopping at the first bad line.
/// To skip bad lines instead, use [`read_all`] or [`JsonlReader::events`].
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<Event>, ReadError> {
    JsonlReader::open(path)?.events().collect()
}
