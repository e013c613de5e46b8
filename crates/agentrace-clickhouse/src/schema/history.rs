//! The schema of the releases before projects (versions 1 to 5), as their migrations made it:
//! what a database written by them holds, upgraded by the migrations it lacks before the
//! rebuild of version 6 ([`super::projects`]). Frozen: these statements ran on databases that
//! exist, and an upgrade's test makes a database of version 5 from them.

use super::{AddColumn, MergeTree, Migration, ReplicaPath, Statement, Table, View};

/// The rollups' sorting key up to `operation`, the dimensions of schema version 1.
macro_rules! rollups_key {
    () => {
        "minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, tool_name, operation"
    };
}

/// The migrations of the releases before projects (versions 1 to 5), oldest first: a database
/// one of them made is brought to version 5 by those it lacks, then rebuilt by
/// [`projects::PROJECTS`](super::projects::PROJECTS). Kept as they ran, never changed.
pub(crate) const HISTORY: &[Migration] = &[
    Migration {
        version: 1,
        statements: &[
            Statement::Table(Table {
                name: "spans",
                columns: "(
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
        ORDER BY (toDate(start), trace_id, span_id)",
                shard_key: "cityHash64(trace_id)",
                replica_path: ReplicaPath::Named,
            }),
            Statement::Table(Table {
                name: "events",
                columns: "(
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
        ORDER BY (toDate(time), service_name, time, event_key)",
                shard_key: "event_key",
                replica_path: ReplicaPath::Named,
            }),
            Statement::Table(Table {
                name: "trace_heads",
                columns: "(
            trace_id FixedString(16),
            list_time AggregateFunction(argMin, DateTime64(9, 'UTC'),
                Tuple(DateTime64(9, 'UTC'), DateTime64(9, 'UTC'))),
            start SimpleAggregateFunction(min, DateTime64(9, 'UTC'))
        )",
                engine: MergeTree::Aggregating,
                clauses: "ORDER BY trace_id",
                shard_key: "cityHash64(trace_id)",
                replica_path: ReplicaPath::Named,
            }),
            Statement::View(View {
                name: "trace_heads_mv",
                to: "trace_heads",
                from: "spans",
                select: "SELECT s.trace_id AS trace_id,
            argMinState(s.start, (s.arrived, s.start)) AS list_time, min(s.start) AS start
        FROM {source} AS s
        GROUP BY trace_id",
            }),
            Statement::Table(Table {
                name: "metric_points",
                columns: "(
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
        ORDER BY (name, bucket)",
                shard_key: "rand()",
                replica_path: ReplicaPath::Named,
            }),
            Statement::Table(Table {
                name: "span_rollups",
                columns: "(
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
        ORDER BY (",
                    rollups_key!(),
                    ")
        SETTINGS allow_nullable_key = 1"
                ),
                shard_key: "rand()",
                replica_path: ReplicaPath::Named,
            }),
            Statement::View(View {
                name: "span_rollups_mv",
                to: "span_rollups",
                from: "spans",
                select: rollups_select!("", "tool_name, operation", "tool_name, operation"),
            }),
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
            Statement::Table(Table {
                name: "alert_notifications",
                columns: "(
            time DateTime64(9, 'UTC'),
            alert String,
            rule LowCardinality(String),
            state LowCardinality(String),
            previous LowCardinality(String),
            reason LowCardinality(String),
            body String CODEC(ZSTD(3))
        )",
                engine: MergeTree::Plain,
                clauses: "ORDER BY (time, alert)",
                shard_key: "rand()",
                replica_path: ReplicaPath::Named,
            }),
        ],
    },
    Migration {
        version: 2,
        statements: &[Statement::Table(Table {
            name: "scores",
            columns: "(
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
            clauses: "ORDER BY id",
            shard_key: "cityHash64(id)",
            replica_path: ReplicaPath::Named,
        })],
    },
    Migration {
        version: 3,
        statements: &[Statement::Table(Table {
            name: "evaluator_rules",
            columns: "(
            name String,
            definition String CODEC(ZSTD(3)),
            updated DateTime64(9, 'UTC'),
            version UInt64,
            deleted UInt8
        )",
            engine: MergeTree::Replacing {
                version: Some("version, deleted"),
            },
            clauses: "ORDER BY name",
            shard_key: "cityHash64(name)",
            replica_path: ReplicaPath::Named,
        })],
    },
    Migration {
        version: 4,
        statements: &[
            Statement::AddColumn(AddColumn {
                table: "span_rollups",
                column: "mcp_server LowCardinality(Nullable(String))",
                order_by: Some(concat!("(", rollups_key!(), ", mcp_server)")),
            }),
            Statement::ViewQuery(View {
                name: "span_rollups_mv",
                to: "span_rollups",
                from: "spans",
                select: rollups_select!(
                    "",
                    "tool_name, operation, {mcp_server} AS mcp_server",
                    "tool_name, operation, mcp_server"
                ),
            }),
        ],
    },
    Migration {
        version: 5,
        statements: &[
            Statement::Table(Table {
                name: "past_changes",
                columns: "(
            at DateTime64(9, 'UTC'),
            from_time DateTime64(9, 'UTC'),
            to_time DateTime64(9, 'UTC'),
            traces Array(FixedString(16)),
            trace_count UInt64
        )",
                engine: MergeTree::Plain,
                clauses: "ORDER BY at
        TTL toDateTime(at) + INTERVAL 1 DAY",
                shard_key: "rand()",
                replica_path: ReplicaPath::Named,
            }),
            Statement::View(View {
                name: "past_changes_spans_mv",
                to: "past_changes",
                from: "spans",
                select: "SELECT now64(9) AS at, min(start) AS from_time, max(end) AS to_time,
            groupUniqArray({past_traces})(trace_id) AS traces,
            uniqExact(trace_id) AS trace_count
        FROM {source}
        WHERE start < now64(9) - INTERVAL {past_seconds} SECOND
        HAVING count() > 0",
            }),
            Statement::View(View {
                name: "past_changes_scores_mv",
                to: "past_changes",
                from: "scores",
                select: "SELECT now64(9) AS at, min(time) AS from_time, max(time) AS to_time,
            CAST([], 'Array(FixedString(16))') AS traces, toUInt64(0) AS trace_count
        FROM {source}
        WHERE time < now64(9) - INTERVAL {past_seconds} SECOND
        HAVING count() > 0",
            }),
        ],
    },
];
