//! Schema version 11, the trace list by list time: `trace_list`, keyed by `(project,
//! list_time, trace_id)`, from which the trace list in its own order picks a page by reading
//! its newest (or oldest) rows instead of merging every trace head of the project.
//!
//! A trace's list time is the earliest start among the spans of the write that first brought
//! it (`trace_heads`' `argMin` over `(arrived, start)`): known only once every write of the
//! trace is merged. So `trace_list_mv` keeps, for each insert into `spans` and each trace in
//! it, that insert's candidate, as `trace_heads_mv` does (the same select): a trace has a row
//! for each write, one of which is its list time. A page reads candidates in order and keeps
//! those that are their trace's list time in `trace_heads` (a lookup of those traces by key);
//! a trace's other candidates, and those of traces retention removed, are passed over.
//! Identical candidates (a trace's rewritten spans) are merged away (`ReplacingMergeTree`).
//!
//! A database of an earlier version is filled with each stored trace's list time from
//! `trace_heads` once the view exists (a `Seed`): a candidate the view wrote meanwhile is
//! another row, never a wrong one.

use super::{MergeTree, Migration, ReplicaPath, Statement, Table, View};

/// Migration 11: see the module's documentation.
pub(crate) const TRACE_LIST: Migration = Migration {
    version: 11,
    statements: &[
        Statement::Table(Table {
            name: "trace_list",
            columns: "(
            project UInt32,
            list_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD),
            trace_id FixedString(16)
        )",
            engine: MergeTree::Replacing { version: None },
            clauses: "PARTITION BY toYYYYMM(list_time)
        ORDER BY (project, list_time, trace_id)",
            shard_key: "cityHash64(trace_id)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::View(View {
            name: "trace_list_mv",
            to: "trace_list",
            from: "spans",
            select: "SELECT s.project AS project,
            argMin(s.start, (s.arrived, s.start)) AS list_time, s.trace_id AS trace_id
        FROM {source} AS s
        GROUP BY project, trace_id",
        }),
        Statement::Seed(
            "INSERT INTO {db}.trace_list
        SELECT project, argMinMerge(list_time), trace_id FROM {db}.trace_heads
        GROUP BY project, trace_id",
        ),
    ],
};

/// The data tables it adds (led by `project`).
pub(crate) const DATA_TABLES: [&str; 1] = ["trace_list"];
