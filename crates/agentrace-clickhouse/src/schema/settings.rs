//! Schema version 7, projects' settings: a document per project and kind (budgets, alert
//! rules, retention…), kept in the registry beside `projects` (`crate::organization`).
//!
//! A `ReplacingMergeTree` on `(project, kind)` versioned by `revision`, the write's time: a
//! write is a newer row, a deletion a newer row marked `deleted`. A deleted project's settings
//! are read no more (reads keep the live projects' only).

use super::{MergeTree, Migration, ReplicaPath, Statement, Table};

/// Migration 7: see the module's documentation.
pub(crate) const SETTINGS: Migration = Migration {
    version: 7,
    statements: &[Statement::Table(Table {
        name: "project_settings",
        columns: "(
            project UInt32,
            kind LowCardinality(String),
            document String,
            revision UInt64,
            updated_by String,
            deleted UInt8
        )",
        engine: MergeTree::Replacing {
            version: Some("revision"),
        },
        clauses: "ORDER BY (project, kind)",
        shard_key: "project",
        replica_path: ReplicaPath::Uuid,
    })],
};
