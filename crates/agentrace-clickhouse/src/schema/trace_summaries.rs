//! Schema version 12, the trace summaries: `trace_summaries`, one row a trace once merged
//! (`AggregatingMergeTree` keyed by `(project, trace_id)`), kept by a materialized view over
//! `spans`, from which the sessions, the users, a session's page and the trace lists that
//! filter on summaries alone are read without reading spans (`crate::read::traces`'
//! `kept_sums_sql`): a read takes the merged rows (`FINAL`, merging in key order), no
//! grouping by trace.
//!
//! Each insert into `spans` adds, for each trace in it, its spans' counts and sums times their
//! `sign`: a rewrite's cancelling row takes its old version's figures out, exactly as in
//! `span_rollups`. The bounds (`min(start)`, `max(end)`) are a rewrite's old and new rows', the
//! same span's times.
//!
//! The list time (`trace_heads`' `argMin(start, (arrived, start))`) is the low 64 bits of
//! `list_key`, the least `arrived ‖ start` (nanoseconds) of the trace's rows, so that a list
//! picked from the summaries is in the list's own order without the heads.
//!
//! The trace's session, agent and user are each a **pick**: the greatest of the strings
//! `rank ‖ value` over the spans' new rows naming one, where `rank` is 16 big-endian bytes
//! ordering the spans as the head is chosen (roots first, then the earlier start) and, of one
//! span's versions, the newer first; the value is read after it. So the pick is the head's
//! value when the head names one, else the first span's (roots first, then by start) that
//! does: a plain `max` of strings, cheap to merge and to read, where `argMin` states of tuples
//! cost seconds over a million traces (measured: docs/benchmark-notebook.md §12.2). A state
//! cannot forget a version; a rewrite never changes a span's start, and the newer version
//! ranks first. A detached root re-attached by a repair keeps its old row's rank, and its
//! primary root ranks before it (it starts first: `agentrace_ingest::orphans`), but for a
//! tie of starts, where the newer row of the two wins.
//!
//! A trace leaves the summaries with its earliest span (age retention: the TTL of `start`, as
//! the trace heads have; by size: before the spans the delete takes, where the heads stay
//! until the trace's last span goes), so that no summary counts spans no longer stored.
//!
//! A database of an earlier version is filled from its stored spans once the view exists (a
//! [`Statement::SeedSums`], run by one node): spans written while it runs may be counted
//! twice (by the view and the seed), so a fleet is upgraded with its writers stopped
//! (`docs/scale-out.md`).

use super::{MergeTree, Migration, ReplicaPath, Statement, Table, View};

/// The pick of `$column` (a `Nullable` text column of a span): `rank ‖ value` of a new row
/// naming one (`rank`: the bits of `(is not a root, start, newer version first)` inverted,
/// big-endian, so that the greatest string is the least rank), else `''`.
macro_rules! pick {
    ($column:literal) => {
        concat!(
            "max(if(sign > 0 AND isNotNull(",
            $column,
            "), concat(reverse(reinterpret(bitNot(bitOr(
                bitShiftLeft(toUInt128(isNotNull(parent_span_id)), 127), bitOr(
                bitShiftLeft(toUInt128(greatest(toUnixTimestamp64Nano(s.start), 0)), 63),
                toUInt128(bitAnd(bitNot(version), 9223372036854775807))))), 'FixedString(16)')),
                assumeNotNull(CAST(",
            $column,
            " AS Nullable(String)))), ''))"
        )
    };
}

/// A trace's summary row, as the view and the seed select it from `$source` (the spans of the
/// view's insert, or `spans FINAL`, as `s`: `start` and `end` are also the results' names).
macro_rules! trace_summaries_select {
    ($source:literal) => {
        concat!(
            "SELECT project, trace_id, min(s.start) AS start, max(s.end) AS end,
            min(bitOr(bitShiftLeft(toUInt128(greatest(toUnixTimestamp64Nano(arrived), 0)), 64),
                toUInt128(greatest(toUnixTimestamp64Nano(s.start), 0)))) AS list_key,
            sum(toInt64(sign)) AS t_spans,
            sum(toInt64(sign) * (status_code = 2)) AS t_errors,
            sum(toInt64(sign) * (aggregate = 0) * toInt64(input_tokens)) AS t_input,
            sum(toInt64(sign) * (aggregate = 0) * toInt64(output_tokens)) AS t_output,
            sum(toInt64(sign) * (aggregate = 0) * toInt64(cache_read_tokens)) AS t_cache_read,
            sum(toInt64(sign) * (aggregate = 0) * toInt64(cache_write_tokens)) AS t_cache_write,
            sum(toInt64(sign) * (aggregate = 0) * toInt64(ifNull(reasoning_tokens, 0)))
                AS t_reasoning,
            sum(toInt64(sign) * (aggregate = 0) * isNotNull(cost_total)
                * toInt64(toDecimal128(ifNull(cost_total, 0), 9) * 1000000000)) AS t_cost_nanos,
            sum(toInt64(sign) * (aggregate = 0) * isNotNull(cost_total)) AS t_priced,
            sum(toInt64(sign) * {unpriced}) AS t_unpriced,
            ",
            pick!("session_id"),
            " AS session_pick,
            ",
            pick!("agent_name"),
            " AS agent_pick,
            ",
            pick!("user_id"),
            " AS user_pick
        FROM ",
            $source,
            "
        GROUP BY project, trace_id"
        )
    };
}

/// Migration 12: see the module's documentation.
pub(crate) const TRACE_SUMMARIES: Migration = Migration {
    version: 12,
    statements: &[
        Statement::Table(Table {
            name: "trace_summaries",
            columns: "(
            project UInt32,
            trace_id FixedString(16),
            start SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
            end SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
            list_key SimpleAggregateFunction(min, UInt128),
            t_spans SimpleAggregateFunction(sum, Int64),
            t_errors SimpleAggregateFunction(sum, Int64),
            t_input SimpleAggregateFunction(sum, Int64),
            t_output SimpleAggregateFunction(sum, Int64),
            t_cache_read SimpleAggregateFunction(sum, Int64),
            t_cache_write SimpleAggregateFunction(sum, Int64),
            t_reasoning SimpleAggregateFunction(sum, Int64),
            t_cost_nanos SimpleAggregateFunction(sum, Int64),
            t_priced SimpleAggregateFunction(sum, Int64),
            t_unpriced SimpleAggregateFunction(sum, Int64),
            session_pick SimpleAggregateFunction(max, String) CODEC(ZSTD(3)),
            agent_pick SimpleAggregateFunction(max, String) CODEC(ZSTD(3)),
            user_pick SimpleAggregateFunction(max, String) CODEC(ZSTD(3))
        )",
            engine: MergeTree::Aggregating,
            clauses: "ORDER BY (project, trace_id)",
            shard_key: "cityHash64(trace_id)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::View(View {
            name: "trace_summaries_mv",
            to: "trace_summaries",
            from: "spans",
            select: trace_summaries_select!("{source} AS s"),
        }),
        Statement::SeedSums(concat!(
            "INSERT INTO {db}.trace_summaries ",
            trace_summaries_select!("{db}.spans AS s FINAL")
        )),
    ],
};

/// The data tables it adds (led by `project`).
pub(crate) const DATA_TABLES: [&str; 1] = ["trace_summaries"];
