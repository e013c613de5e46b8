//! Schema version 6, projects: every table of the schema as this build makes it, each data
//! table led by its `project`. A database without any migration gets these tables at once; a
//! database of versions 1 to 5 gets each data table rebuilt ([`Statement::Rebuild`]: copied
//! into a table of this shape under `project` 1, the `default` project, then swapped in) and
//! its views made again over the new tables.
//!
//! `project UInt32 DEFAULT 1`: every row this build writes names its project; a node of the
//! release before, still writing while the fleet is upgraded, writes into the `default`
//! project, where everything it wrote before is.

use super::{MergeTree, Migration, ReplicaPath, Statement, Table, View};

/// The rollups' sorting key after `project`: their dimensions.
macro_rules! rollups_key {
    () => {
        "minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, tool_name, operation, mcp_server"
    };
}

/// The views of the schema before projects, dropped before their tables are rebuilt (a view
/// follows its source table's name: it would feed the old rows' new table from the old
/// shape) and made again over the new tables, under the same names.
const VIEWS_BEFORE: [&str; 4] = [
    "trace_heads_mv",
    "span_rollups_mv",
    "past_changes_spans_mv",
    "past_changes_scores_mv",
];

/// Migration 6: see the module's documentation. Its statements, in order: the old views
/// dropped, each data table rebuilt (or made), the fleet's and the registry's tables, the
/// views, the `default` project.
pub(crate) const PROJECTS: Migration = Migration {
    version: 6,
    statements: &[
        Statement::DropView(VIEWS_BEFORE[0]),
        Statement::DropView(VIEWS_BEFORE[1]),
        Statement::DropView(VIEWS_BEFORE[2]),
        Statement::DropView(VIEWS_BEFORE[3]),
        Statement::Rebuild(Table {
            name: "spans",
            columns: "(
            project UInt32 DEFAULT 1,
            trace_id FixedString(16),
            span_id FixedString(8),
            parent_span_id Nullable(FixedString(8)),
            name String CODEC(ZSTD(3)),
            kind LowCardinality(String),
            start DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3)),
            end DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3)),
            status_code UInt8,
            status_message Nullable(String) CODEC(ZSTD(3)),
            service_name LowCardinality(String),
            resource_attributes String CODEC(ZSTD(3)),
            scope LowCardinality(Nullable(String)),
            operation LowCardinality(Nullable(String)),
            provider LowCardinality(Nullable(String)),
            request_model LowCardinality(Nullable(String)),
            response_model LowCardinality(Nullable(String)),
            input_tokens UInt64,
            output_tokens UInt64,
            cache_read_tokens UInt64,
            cache_write_tokens UInt64,
            cache_write_1h_tokens UInt64,
            reasoning_tokens Nullable(UInt64),
            cost_input Nullable(Decimal64(9)),
            cost_cache_read Nullable(Decimal64(9)),
            cost_cache_write Nullable(Decimal64(9)),
            cost_output Nullable(Decimal64(9)),
            cost_total Nullable(Decimal64(9)),
            aggregate UInt8,
            session_id Nullable(String) CODEC(ZSTD(3)),
            user_id Nullable(String) CODEC(ZSTD(3)),
            correlation_id Nullable(String) CODEC(ZSTD(3)),
            agent_name LowCardinality(Nullable(String)),
            agent_id Nullable(String) CODEC(ZSTD(3)),
            tool_name LowCardinality(Nullable(String)),
            tool_call_id Nullable(String) CODEC(ZSTD(3)),
            framework LowCardinality(Nullable(String)),
            attributes Map(String, String) CODEC(ZSTD(3)),
            events String CODEC(ZSTD(3)),
            version UInt64,
            node LowCardinality(String),
            arrived DateTime64(9, 'UTC') CODEC(ZSTD(3)),
            sign Int8,
            INDEX trace_id_bloom trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
            INDEX arrived_minmax arrived TYPE minmax GRANULARITY 1
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "PARTITION BY toYYYYMM(start)
        ORDER BY (project, toDate(start), trace_id, span_id)",
            shard_key: "cityHash64(trace_id)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "events",
            columns: "(
            project UInt32 DEFAULT 1,
            time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3)),
            level LowCardinality(String),
            kind LowCardinality(String),
            message String CODEC(ZSTD(3)),
            service_name LowCardinality(String),
            resource_attributes String CODEC(ZSTD(3)),
            trace_id Nullable(FixedString(16)),
            span_id Nullable(FixedString(8)),
            session_id Nullable(String) CODEC(ZSTD(3)),
            correlation_id Nullable(String) CODEC(ZSTD(3)),
            agent_id Nullable(String) CODEC(ZSTD(3)),
            framework LowCardinality(Nullable(String)),
            scope LowCardinality(Nullable(String)),
            attributes Map(String, String) CODEC(ZSTD(3)),
            node LowCardinality(String),
            arrived DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3)),
            event_key UInt64
        )",
            engine: MergeTree::Replacing { version: None },
            clauses: "PARTITION BY toYYYYMM(time)
        ORDER BY (project, toDate(time), service_name, time, event_key)",
            shard_key: "event_key",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "trace_heads",
            columns: "(
            project UInt32 DEFAULT 1,
            trace_id FixedString(16),
            list_time AggregateFunction(argMin, DateTime64(9, 'UTC'),
                Tuple(DateTime64(9, 'UTC'), DateTime64(9, 'UTC'))),
            start SimpleAggregateFunction(min, DateTime64(9, 'UTC'))
        )",
            engine: MergeTree::Aggregating,
            clauses: "ORDER BY (project, trace_id)",
            shard_key: "cityHash64(trace_id)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "metric_points",
            columns: "(
            project UInt32 DEFAULT 1,
            name LowCardinality(String),
            kind LowCardinality(String),
            unit LowCardinality(Nullable(String)),
            labels String CODEC(ZSTD(3)),
            bucket DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3)),
            count UInt64,
            sum Float64,
            min Float64,
            max Float64,
            last Float64,
            last_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3))
        )",
            engine: MergeTree::Plain,
            clauses: "PARTITION BY toYYYYMM(bucket)
        ORDER BY (project, name, bucket)",
            shard_key: "rand()",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "span_rollups",
            columns: "(
            project UInt32 DEFAULT 1,
            minute DateTime('UTC'),
            billable UInt8,
            kind LowCardinality(String),
            service_name LowCardinality(String),
            provider LowCardinality(Nullable(String)),
            request_model LowCardinality(Nullable(String)),
            response_model LowCardinality(Nullable(String)),
            agent_name LowCardinality(Nullable(String)),
            framework LowCardinality(Nullable(String)),
            tool_name LowCardinality(Nullable(String)),
            operation LowCardinality(Nullable(String)),
            mcp_server LowCardinality(Nullable(String)),
            r_spans SimpleAggregateFunction(sum, Int64),
            r_errors SimpleAggregateFunction(sum, Int64),
            r_input SimpleAggregateFunction(sum, Int64),
            r_output SimpleAggregateFunction(sum, Int64),
            r_cache_read SimpleAggregateFunction(sum, Int64),
            r_cache_write SimpleAggregateFunction(sum, Int64),
            r_cache_write_1h SimpleAggregateFunction(sum, Int64),
            r_reasoning SimpleAggregateFunction(sum, Int64),
            r_cost_nanos SimpleAggregateFunction(sum, Int64),
            r_priced SimpleAggregateFunction(sum, Int64),
            r_unpriced SimpleAggregateFunction(sum, Int64),
            r_u_input SimpleAggregateFunction(sum, Int64),
            r_u_output SimpleAggregateFunction(sum, Int64),
            r_u_cache_read SimpleAggregateFunction(sum, Int64),
            r_u_cache_write SimpleAggregateFunction(sum, Int64),
            r_u_cache_write_1h SimpleAggregateFunction(sum, Int64),
            r_u_reasoning SimpleAggregateFunction(sum, Int64),
            r_durations AggregateFunction(sumMap, Array(UInt16), Array(Int64))
        )",
            engine: MergeTree::Aggregating,
            clauses: concat!(
                "PARTITION BY toYYYYMM(minute)
        ORDER BY (project, ",
                rollups_key!(),
                ")
        SETTINGS allow_nullable_key = 1"
            ),
            shard_key: "rand()",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "alert_notifications",
            columns: "(
            project UInt32 DEFAULT 1,
            time DateTime64(9, 'UTC'),
            alert String,
            rule LowCardinality(String),
            state LowCardinality(String),
            previous LowCardinality(String),
            reason LowCardinality(String),
            body String CODEC(ZSTD(3))
        )",
            engine: MergeTree::Plain,
            clauses: "ORDER BY (project, time, alert)",
            shard_key: "rand()",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "scores",
            columns: "(
            project UInt32 DEFAULT 1,
            id String,
            time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(3)),
            trace_id Nullable(FixedString(16)),
            span_id Nullable(FixedString(8)),
            session_id Nullable(String) CODEC(ZSTD(3)),
            name LowCardinality(String),
            kind LowCardinality(String),
            value Nullable(Float64),
            label Nullable(String) CODEC(ZSTD(3)),
            explanation Nullable(String) CODEC(ZSTD(3)),
            source LowCardinality(String),
            annotator LowCardinality(String),
            author Nullable(String) CODEC(ZSTD(3)),
            metadata String CODEC(ZSTD(3)),
            version UInt64,
            deleted UInt8
        )",
            engine: MergeTree::Replacing {
                version: Some("version, deleted"),
            },
            clauses: "ORDER BY (project, id)",
            shard_key: "cityHash64(id)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "evaluator_rules",
            columns: "(
            project UInt32 DEFAULT 1,
            name String,
            definition String CODEC(ZSTD(3)),
            updated DateTime64(9, 'UTC'),
            version UInt64,
            deleted UInt8
        )",
            engine: MergeTree::Replacing {
                version: Some("version, deleted"),
            },
            clauses: "ORDER BY (project, name)",
            shard_key: "cityHash64(name)",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Rebuild(Table {
            name: "past_changes",
            columns: "(
            project UInt32 DEFAULT 1,
            at DateTime64(9, 'UTC'),
            from_time DateTime64(9, 'UTC'),
            to_time DateTime64(9, 'UTC'),
            traces Array(FixedString(16)),
            trace_count UInt64
        )",
            engine: MergeTree::Plain,
            clauses: "ORDER BY (project, at)
        TTL toDateTime(at) + INTERVAL 1 DAY",
            shard_key: "rand()",
            replica_path: ReplicaPath::Uuid,
        }),
        // The fleet's: no project (as before; made here for a database made at version 6).
        Statement::Table(Table {
            name: "node_heartbeats",
            columns: "(
            node String,
            at DateTime64(9, 'UTC')
        )",
            engine: MergeTree::Plain,
            clauses: "ORDER BY (at, node)
        TTL toDateTime(at) + INTERVAL 1 DAY",
            shard_key: "rand()",
            replica_path: ReplicaPath::Named,
        }),
        // The registry, the organization's (`crate::organization`): a newer version of a row
        // replaces it; a deleted project or a revoked key stays, marked, so that its id is
        // never given again.
        Statement::Table(Table {
            name: "projects",
            columns: "(
            id UInt32,
            name String,
            created DateTime64(9, 'UTC'),
            deleted UInt8,
            purged UInt8,
            version UInt64
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "ORDER BY id",
            shard_key: "id",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Table(Table {
            name: "project_keys",
            columns: "(
            id UInt64,
            project Nullable(UInt32),
            scope LowCardinality(String),
            name String,
            creator String,
            created DateTime64(9, 'UTC'),
            expires Nullable(DateTime64(9, 'UTC')),
            hash FixedString(32),
            revoked UInt8,
            version UInt64,
            INDEX hash_bloom hash TYPE bloom_filter(0.01) GRANULARITY 1
        )",
            engine: MergeTree::Replacing {
                version: Some("version"),
            },
            clauses: "ORDER BY id",
            shard_key: "id",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::Table(Table {
            name: "key_uses",
            columns: "(
            id UInt64,
            last_used SimpleAggregateFunction(max, DateTime64(9, 'UTC'))
        )",
            engine: MergeTree::Aggregating,
            clauses: "ORDER BY id",
            shard_key: "id",
            replica_path: ReplicaPath::Uuid,
        }),
        Statement::View(View {
            name: "trace_heads_mv",
            to: "trace_heads",
            from: "spans",
            select: "SELECT s.project AS project, s.trace_id AS trace_id,
            argMinState(s.start, (s.arrived, s.start)) AS list_time, min(s.start) AS start
        FROM {source} AS s
        GROUP BY project, trace_id",
        }),
        Statement::View(View {
            name: "span_rollups_mv",
            to: "span_rollups",
            from: "spans",
            select: rollups_select!(
                "project, ",
                "tool_name, operation, {mcp_server} AS mcp_server",
                "tool_name, operation, mcp_server"
            ),
        }),
        Statement::View(View {
            name: "past_changes_spans_mv",
            to: "past_changes",
            from: "spans",
            select: "SELECT project, now64(9) AS at, min(start) AS from_time, max(end) AS to_time,
            groupUniqArray({past_traces})(trace_id) AS traces,
            uniqExact(trace_id) AS trace_count
        FROM {source}
        WHERE start < now64(9) - INTERVAL {past_seconds} SECOND
        GROUP BY project",
        }),
        Statement::View(View {
            name: "past_changes_scores_mv",
            to: "past_changes",
            from: "scores",
            select: "SELECT project, now64(9) AS at, min(time) AS from_time, max(time) AS to_time,
            CAST([], 'Array(FixedString(16))') AS traces, toUInt64(0) AS trace_count
        FROM {source}
        WHERE time < now64(9) - INTERVAL {past_seconds} SECOND
        GROUP BY project",
        }),
        // What a database held before projects is the `default` project's, id 1 (two nodes
        // making it together write the same row: one is kept).
        Statement::Seed(
            "INSERT INTO {db}.projects (id, name, created, deleted, purged, version)
        SELECT 1, 'default', now64(9), 0, 0, 1 WHERE (SELECT count() FROM {db}.projects) = 0",
        ),
    ],
};
