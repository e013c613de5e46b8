//! The line format: `{"v":1,"type":"span"|"event", …the record's fields…}` (docs/jsonl-schema.md).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The version of the JSONL line schema this crate writes and reads (the `v` field of every
/// line). Readers reject lines of any other version with
/// [`ReadError::UnsupportedVersion`](crate::ReadError::UnsupportedVersion).
///
/// The version changes when a field is removed, renamed or changes meaning. Adding an optional
/// field does not change it: readers ignore fields they do not know.
pub const SCHEMA_VERSION: u64 = 1;

/// The `type` of a span line.
pub(crate) const SPAN: &str = "span";
/// The `type` of an event line.
pub(crate) const EVENT: &str = "event";

/// A record as one line: the version and type first, then the record's own fields.
#[derive(Serialize)]
pub(crate) struct LineOut<'a, T: Serialize> {
    pub(crate) v: u64,
    #[serde(rename = "type")]
    pub(crate) ty: &'static str,
    #[serde(flatten)]
    pub(crate) record: &'a T,
}

/// The first pass of reading a line: its version and type, every other field skipped.
#[derive(Deserialize)]
pub(crate) struct Header<'a> {
    pub(crate) v: u64,
    #[serde(rename = "type", borrow)]
    pub(crate) ty: Cow<'a, str>,
}

/// Writes a span as one line of this schema, newline included, so that other tools (the CLI's
/// `export`) produce files [`JsonlReader`](crate::JsonlReader) reads back.
pub fn write_span_line<W: std::io::Write>(
    mut writer: W,
    span: &agentrace_core::SpanRecord,
) -> std::io::Result<()> {
    serde_json::to_writer(
        &mut writer,
        &LineOut {
            v: SCHEMA_VERSION,
            ty: SPAN,
            record: span,
        },
    )?;
    writer.write_all(b"\n")
}

/// Writes an event as one line of this schema, newline included.
pub fn write_event_line<W: std::io::Write>(
    mut writer: W,
    event: &agentrace_core::Event,
) -> std::io::Result<()> {
    serde_json::to_writer(
        &mut writer,
        &LineOut {
            v: SCHEMA_VERSION,
            ty: EVENT,
            record: event,
        },
    )?;
    writer.write_all(b"\n")
}
