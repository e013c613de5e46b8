//! Schema version 10, the failed tool calls: one narrow row for each tool span that failed,
//! kept by a materialized view over `spans` (`failed_tool_calls_mv`), from which the tools'
//! top error types and messages are read (`crate::analytics`) without reading the spans.
//!
//! Counting them by minute in `span_rollups` would not do: an error's message is as varied as
//! the span's text (the read groups messages into patterns, `agentrace_store::error_pattern`),
//! and the cancelling row of a rewrite carries no message. So the view keeps the failures
//! themselves, keyed by span, and the table forgets a span's row the way `spans` does: a
//! `ReplacingMergeTree` versioned by the span's version, twice over (`2 × version`, `+ 1` for
//! the cancelling row), with the cancelling row marked `cancelled` (its `is_deleted`). A span
//! rewritten to something that is no failed tool call (a repair turning a framework's tool
//! span into a step, a failure repaired) leaves only its cancelling row, newer than its
//! failure, and `FINAL` reads neither; one rewritten and still failed leaves its new row,
//! newer still. The key starts with the minute, so a range reads only its own rows.
//!
//! A database of an earlier version is filled from its stored spans once the view exists (a
//! `Seed`): a failure the view wrote meanwhile is the same row, kept once; an older version
//! of a span's row never replaces a newer one.

use super::{MergeTree, Migration, ReplicaPath, Statement, Table, View};

/// A failed tool span's row, as the view and the seed select it from `{source}` (the spans of
/// the view's insert, or `spans FINAL`).
macro_rules! failed_tool_calls_select {
    ($source:literal) => {
        concat!(
            "SELECT project, toStartOfMinute(start) AS minute, trace_id, span_id,
            {mcp_server} AS mcp_server, tool_name,
            nullIf(attributes['error.type'], '') AS error_type, status_message AS message,
            version * 2 + toUInt64(sign < 0) AS row_version, toUInt8(sign < 0) AS cancelled
        FROM ",
            $source,
            "
        WHERE kind = 'tool' AND status_code = 2"
        )
    };
}

/// Migration 10: see the module's documentation.
pub(crate) const FAILURES: Migration = Migration {
    version: 10,
    statements: &[
        Statement::Table(Table {
            name: "failed_tool_calls",
            columns: "(
            project UInt32,
            minute DateTime('UTC'),
            trace_id FixedString(16),
            span_id FixedString(8),
            mcp_server LowCardinality(Nullable(String)),
            tool_name LowCardinality(Nullable(String)),
            error_type Nullable(String) CODEC(ZSTD(3)),
            message Nullable(String) CODEC(ZSTD(3)),
            row_version UInt64,
            cancelled UInt8
        )",
            engine: MergeTree::Replacing {
                version: Some("row_version, cancelled"),
            },
            clauses: "PARTITION BY toYYYYMM(minute)
        ORDER BY (project, minute, trace_id, span_id)",
            shard_key: "cityHash64(trace_id)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::View(View {
            name: "failed_tool_calls_mv",
            to: "failed_tool_calls",
            from: "spans",
            select: failed_tool_calls_select!("{source}"),
        }),
        Statement::Seed(concat!(
            "INSERT INTO {db}.failed_tool_calls ",
            failed_tool_calls_select!("{db}.spans FINAL")
        )),
    ],
};

/// The data tables it adds (led by `project`).
pub(crate) const DATA_TABLES: [&str; 1] = ["failed_tool_calls"];
