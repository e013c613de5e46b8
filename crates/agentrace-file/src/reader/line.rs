//! Splitting a byte stream into bounded lines, and parsing one line into a record.

use std::io::{self, BufRead};
use std::path::Path;

use agentrace_core::{Event, SpanRecord};

use super::{ReadError, Record};
use crate::schema::{EVENT, Header, SCHEMA_VERSION, SPAN};

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineEnd {
    /// It ended with `\n` (else the stream ended first).
    pub(super) terminated: bool,
    /// It was longer than the limit; the buffer holds nothing of it.
    pub(super) too_long: bool,
}

/// Reads the next line into `buf` (without its `\n`), keeping at most `max` bytes; a longer
/// line is consumed to its end and reported as too long. `None` at the end of the stream.
pub(super) fn read_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<LineEnd>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(LineEnd {
                terminated: false,
                too_long,
            }));
        }
        any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = newline.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some(LineEnd {
                terminated: true,
                too_long,
            }));
        }
    }
}

/// Parses one line. `Ok(None)` for a blank line.
pub(super) fn parse(
    path: &Path,
    line: u64,
    bytes: &[u8],
    terminated: bool,
) -> Result<Option<Record>, ReadError> {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        // A write cut short may end in the middle of a character.
        Err(e) if !terminated && e.error_len().is_none() => {
            return Err(ReadError::Truncated {
                path: path.to_path_buf(),
                line,
                reason: "ends in the middle of a UTF-8 character".into(),
            });
        }
        Err(e) => {
            return Err(ReadError::InvalidUtf8 {
                path: path.to_path_buf(),
                line,
                column: e.valid_up_to() + 1,
            });
        }
    };
    let Some((at, first)) = text.char_indices().find(|(_, c)| !c.is_whitespace()) else {
        return Ok(None);
    };
    if first != '{' {
        return Err(ReadError::Malformed {
            path: path.to_path_buf(),
            line,
            column: at + 1,
            reason: format!("expected a JSON object, found {first:?}"),
        });
    }
    let json_error = |e: serde_json::Error| {
        if !terminated && e.is_eof() {
            ReadError::Truncated {
                path: path.to_path_buf(),
                line,
                reason: reason(&e),
            }
        } else {
            ReadError::Malformed {
                path: path.to_path_buf(),
                line,
                column: e.column(),
                reason: reason(&e),
            }
        }
    };
    let header: Header<'_> = serde_json::from_str(text).map_err(json_error)?;
    if header.v != SCHEMA_VERSION {
        return Err(ReadError::UnsupportedVersion {
            path: path.to_path_buf(),
            line,
            found: header.v,
            supported: SCHEMA_VERSION,
        });
    }
    match &*header.ty {
        SPAN => serde_json::from_str::<SpanRecord>(text)
            .map(|s| Some(Record::Span(s)))
            .map_err(json_error),
        EVENT => serde_json::from_str::<Event>(text)
            .map(|e| Some(Record::Event(e)))
            .map_err(json_error),
        other => Err(ReadError::UnknownType {
            path: path.to_path_buf(),
            line,
            found: other.to_owned(),
        }),
    }
}

/// serde_json's message without its " at line 1 column N" suffix (the line is ours to report).
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> io::Result<Vec<(Vec<u8>, LineEnd)>> {
        let mut reader = io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(end) = read_line(&mut reader, &mut buf, max)? {
            out.push((buf.clone(), end));
        }
        Ok(out)
    }

    #[test]
    fn splits_and_bounds_lines() -> io::Result<()> {
        let got = lines(b"ab\n0123456789\n\nxyz", 5)?;
        let end = |terminated, too_long| LineEnd {
            terminated,
            too_long,
        };
        assert_eq!(
            got,
            vec![
                (b"ab".to_vec(), end(true, false)),
                (Vec::new(), end(true, true)),
                (Vec::new(), end(true, false)),
                (b"xyz".to_vec(), end(false, false)),
            ]
        );
        assert!(lines(b"", 5)?.is_empty());
        Ok(())
    }

    #[test]
    fn reasons_drop_the_position() {
        let e = serde_json::from_str::<serde_json::Value>("{\"a\":").err();
        let r = e.as_ref().map(reason);
        assert_eq!(r.as_deref(), Some("EOF while parsing a value"));
    }
}
