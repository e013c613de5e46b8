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
