//! The shape of a stored span: what the tree rules ([`crate::orphans`], [`crate::billing`],
//! [`crate::mcp_calls`]) need to know of it.

use agentrace_core::normalize::{is_step, reports_usage};
use agentrace_core::{SpanId, SpanKind, SpanRecord};

use crate::mcp_side::{self, McpSide};

/// A span as the tree rules see it: its place in the tree and in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanShape {
    /// The span.
    pub span_id: SpanId,
    /// Its parent as stored: the reported one, or the one a [`Repair::Reattach`] gave it.
    ///
    /// [`Repair::Reattach`]: crate::orphans::Repair::Reattach
    pub parent_span_id: Option<SpanId>,
    /// Start, nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End, nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// When the server received it (nanoseconds since the Unix epoch): the grace period of
    /// [`crate::orphans::plan`] runs from here.
    pub received_unix_nano: u64,
    /// Whether it is marked as an orphan now.
    pub orphan: bool,
    /// Whether it is a step: it reports usage, is a model call, or is marked as an aggregate
    /// already ([`is_step`]); what [`crate::billing`] decides aggregates by.
    pub step: bool,
    /// Whether it reports usage ([`reports_usage`]).
    pub reports_usage: bool,
    /// Its side of an MCP call, if it is one ([`crate::mcp_calls`]).
    pub mcp: Option<McpSide>,
    /// Whether it is a tool call (kind `tool`).
    pub tool: bool,
}

impl SpanShape {
    /// The shape of a record received at `received_unix_nano`, not marked as an orphan.
    pub fn of(record: &SpanRecord, received_unix_nano: u64) -> Self {
        Self {
            span_id: record.span_id,
            parent_span_id: record.parent_span_id,
            start_time_unix_nano: record.start_time_unix_nano,
            end_time_unix_nano: record.end_time_unix_nano,
            received_unix_nano,
            orphan: false,
            step: is_step(record),
            reports_usage: reports_usage(record),
            mcp: mcp_side::side_of(record),
            tool: record.kind == SpanKind::Tool,
        }
    }
}
