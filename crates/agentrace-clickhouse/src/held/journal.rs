//! The journal of held spans in ClickHouse (`held_spans`, schema version 9): what makes a
//! node's held spans survive the node.
//!
//! - A span a write holds is journaled in the same round trip as the write's spans (a row of
//!   its node, project, ids, when it was held and its record: the span as MessagePack with
//!   its fields named), before the request is answered.
//! - Once written, a held span's row is marked released: a newer version of the row
//!   (`released` 1, no record; the table is a `ReplacingMergeTree` on the node, project and
//!   ids), journaled with the node's next write. A release lost with its node only costs
//!   the adopter a span it finds stored (a duplicate, skipped).
//! - A node gone (no heartbeat within the fleet's lease) leaves its unreleased rows to the
//!   fleet's leader (`crate::adopt`): in one `INSERT` it journals them as
//!   its own and marks the dead node's released, then holds them for what is left of their
//!   hold. A leader that dies half-way leaves either the dead node's rows or its own: the
//!   next leader takes over whichever are unreleased.
//!
//! Rows are kept a day (TTL), partitioned by day; a node's rows are found by the leading
//! column of the key.

use agentrace_core::SpanRecord;
use agentrace_store::ProjectId;
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::{Journaled, Released};

/// A row of `held_spans`.
#[derive(Debug, Row, Serialize, Deserialize)]
pub(crate) struct JournalRow {
    pub(crate) node: String,
    pub(crate) project: u32,
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) held_at: i64,
    #[serde(with = "serde_bytes")]
    pub(crate) record: Vec<u8>,
    pub(crate) released: u8,
    pub(crate) version: u64,
}

/// Nanoseconds as `DateTime64(9)` stores them.
fn ns(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl JournalRow {
    /// `project`'s span held by `node` since `held_at`, its record taken from `journaled`.
    pub(crate) fn held(
        node: &str,
        project: ProjectId,
        journaled: &mut Journaled,
        held_at: u64,
    ) -> Self {
        Self {
            node: node.to_owned(),
            project: project.0,
            trace_id: journaled.span.trace_id.to_bytes(),
            span_id: journaled.span.span_id.to_bytes(),
            held_at: ns(held_at),
            record: std::mem::take(&mut journaled.record),
            released: 0,
            version: held_at,
        }
    }

    /// `node`'s row of `released`, marked released at `version`.
    pub(crate) fn released(node: &str, released: &Released, version: u64) -> Self {
        Self {
            node: node.to_owned(),
            project: released.project.0,
            trace_id: released.trace_id.to_bytes(),
            span_id: released.span_id.to_bytes(),
            held_at: ns(released.held_at),
            record: Vec::new(),
            released: 1,
            version,
        }
    }
}

/// A span's journal record; `None` if it cannot be encoded (it is then written at once).
pub(crate) fn encode(span: &SpanRecord) -> Option<Vec<u8>> {
    rmp_serde::to_vec_named(span).ok()
}

/// The span of a journal record; `None` if it cannot be read.
pub(crate) fn decode(record: &[u8]) -> Option<SpanRecord> {
    rmp_serde::from_slice(record).ok()
}
