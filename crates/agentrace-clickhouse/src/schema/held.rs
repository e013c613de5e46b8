//! Schema version 9, the journal of held spans (`crate::held::journal`): each span a node
//! holds awaiting its parent, so that what a node keeps beyond its answer is in ClickHouse and
//! the fleet takes it over when the node dies.
//!
//! A `ReplacingMergeTree` on `(node, project, trace_id, span_id)` versioned by `version`: a
//! span held is a row with its record; written, a newer row marked `released` (no record).
//! Partitioned by day, rows kept a day: a node gone is taken over within seconds by the
//! fleet's leader (its beat), and a day covers a fleet without a leader for that long. The
//! node leads the key: the leader reads a node gone's rows only.

use super::{MergeTree, Migration, ReplicaPath, Statement, Table};

/// Migration 9: see the module's documentation.
pub(crate) const HELD: Migration = Migration {
    version: 9,
    statements: &[Statement::Table(Table {
        name: "held_spans",
        columns: "(
            node String,
            project UInt32,
            trace_id FixedString(16),
            span_id FixedString(8),
            held_at DateTime64(9, 'UTC') CODEC(Delta, ZSTD),
            record String CODEC(ZSTD(3)),
            released UInt8,
            version UInt64
        )",
        engine: MergeTree::Replacing {
            version: Some("version"),
        },
        clauses: "PARTITION BY toYYYYMMDD(held_at)
        ORDER BY (node, project, trace_id, span_id)
        TTL toDateTime(held_at) + INTERVAL 1 DAY",
        shard_key: "cityHash64(node)",
        replica_path: ReplicaPath::Uuid,
    })],
};
