//! The tables, and the versioned migrations that make them: applied in order when a store is
//! opened, each once (`agentrace_migrations` records them), every statement idempotent so that
//! nodes starting together on one database agree.
//!
//! Designed for ClickHouse, not copied from the SQLite schema:
//! - `spans` is a `ReplacingMergeTree`: a span delivered again (an exporter's retry) or
//!   rewritten later (late attribution, repricing) is a new row with a newer `version`, and
//!   reads take the newest (`FINAL`); nothing is updated in place.
//! - Ordered by `(toDate(start), trace_id, span_id)`: a day's spans together, a trace's spans
//!   together within it, the replacing key unique per span; partitioned by month, so that
//!   retention drops whole partitions. A bloom filter on `trace_id` finds a trace across days.
//! - Typed columns for what the API filters and sums: `LowCardinality` dimensions, `UInt64`
//!   token counts (`Nullable` for reasoning, which may be unknown), `Decimal64(9)` dollars
//!   (nano-dollars, as agentrace counts them), `DateTime64(9)` times; the rest of a span's
//!   attributes in a `Map(String, String)` of JSON values, span events as JSON text.
//! - Codecs: `Delta` + `ZSTD` for times, `ZSTD(3)` for text.
//! - `events` is a `ReplacingMergeTree` on a key hashed from the whole event (`event_key`, the
//!   first 8 bytes of the SHA-256 of its JSON, computed by the writer, which skips the keys
//!   already stored): the same event delivered twice is stored once.
//! - `trace_heads`, kept by a materialized view over `spans` (`trace_heads_mv`), holds each
//!   trace's list time (the earliest start among the spans of the write that first brought it,
//!   the one with the earliest `arrived`; a rewrite keeps its span's), so that a trace keeps
//!   its place in the list as more of its spans arrive, and its start (the earliest of its
//!   spans): one small row a trace, from which the trace list picks its page before it reads
//!   any span.
//! - `span_rollups`: counts, tokens, costs and a duration histogram per minute and dimension
//!   (kind, service, provider, models, agent, framework, tool, operation, billable, and from
//!   version 4 the MCP server, added to the sorting key and the view's query in place: `ADD
//!   COLUMN … MODIFY ORDER BY`, `MODIFY QUERY`, so that no insert meets the view missing), kept
//!   by a materialized view over `spans` (`span_rollups_mv`). A span rewritten later (its
//!   attribution completed, repriced, repaired) is written with a cancelling row (`sign` -1,
//!   its old version and counted values, without its events and resource, and of its
//!   attributes only those the views read, the MCP server) before its new one, in one insert,
//!   so that the view's sums stay exact; reads of `spans` take the newest version, which is
//!   never a cancelling row.
//! - `metric_points`: received metrics summed per series and minute by each write, summed
//!   again at read time (a counter's increments add up, a gauge keeps its latest value).
//! - `alert_notifications`: the alert history, as the engine wrote it.
//! - `scores` (version 2): scores of traces, spans and sessions, a `ReplacingMergeTree` on the
//!   score's id (its idempotency key): a score written again is a newer version of its row, a
//!   deleted one a newer version marked `deleted`.
//! - `evaluator_rules` (version 3): the evaluator rules given through the API, a
//!   `ReplacingMergeTree` on the rule's name (deleted as scores are), read by every node.
//! - `node_heartbeats`: when each node of a fleet was last alive (kept a day); spans and events
//!   carry the node that first stored them and when (`node`, `arrived`), so that each node
//!   learns what the others stored.
//! - `past_changes` (version 5): a row for each insert into `spans` or `scores` holding rows
//!   older than `agentrace_store::PAST`, written by two materialized views, and one for each
//!   purge by size (kept a day): what counts kept by the hour must read again (`past`).

/// The select of `span_rollups_mv` keeping the rollups' dimensions up to `tool_name`, then
/// `$select` (the later dimensions, as selected) grouped by `$group` (the same, by name).
macro_rules! rollups_select {
    ($select:literal, $group:literal) => {
        concat!(
            "SELECT toStartOfMinute(start) AS minute,
            toUInt8(cost_total IS NOT NULL OR (aggregate = 0
                AND (kind IN ('llm', 'embedding') OR input_tokens <> 0 OR output_tokens <> 0)))
                AS billable,
            kind, service_name, provider, request_model, response_model, agent_name, framework,
            ",
            $select,
            ",
            sum(toInt64(sign)) AS r_spans,
            sum(toInt64(sign) * (status_code = 2)) AS r_errors,
            sum(toInt64(sign) * toInt64(input_tokens)) AS r_input,
            sum(toInt64(sign) * toInt64(output_tokens)) AS r_output,
            sum(toInt64(sign) * toInt64(cache_read_tokens)) AS r_cache_read,
            sum(toInt64(sign) * toInt64(cache_write_tokens)) AS r_cache_write,
            sum(toInt64(sign) * toInt64(cache_write_1h_tokens)) AS r_cache_write_1h,
            sum(toInt64(sign) * toInt64(ifNull(reasoning_tokens, 0))) AS r_reasoning,
            sum(toInt64(sign) * toInt64(toDecimal128(ifNull(cost_total, 0), 9) * 1000000000))
                AS r_cost_nanos,
            sum(toInt64(sign) * isNotNull(cost_total)) AS r_priced,
            sum(toInt64(sign) * {unpriced}) AS r_unpriced,
            sum(toInt64(sign) * {unpriced} * toInt64(input_tokens)) AS r_u_input,
            sum(toInt64(sign) * {unpriced} * toInt64(output_tokens)) AS r_u_output,
            sum(toInt64(sign) * {unpriced} * toInt64(cache_read_tokens)) AS r_u_cache_read,
            sum(toInt64(sign) * {unpriced} * toInt64(cache_write_tokens)) AS r_u_cache_write,
            sum(toInt64(sign) * {unpriced} * toInt64(cache_write_1h_tokens)) AS r_u_cache_write_1h,
            sum(toInt64(sign) * {unpriced} * toInt64(ifNull(reasoning_tokens, 0))) AS r_u_reasoning,
            sumMapState([{duration_bucket}], [toInt64(sign)]) AS r_durations
        FROM {source}
        GROUP BY minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, ",
            $group
        )
    };
}

/// How many of the traces of a write to the past `past_changes` lists (their starts are looked
/// up when all are listed; with more, every earlier count may have changed):
/// `{past_traces}` in a statement.
pub(crate) const PAST_TRACES: u64 = 256;

/// One migration: the schema version it brings the database to, and its statements.
pub(crate) struct Migration {
    pub(crate) version: u32,
    pub(crate) statements: &'static [Statement],
}

/// A statement of a migration, rendered for a single server or a cluster ([`Layout`]).
pub(crate) enum Statement {
    /// A table.
    Table(Table),
    /// A materialized view from one table into another.
    View(View),
    /// A column added to a table (and to its sorting key, which it then ends).
    AddColumn(AddColumn),
    /// A materialized view's select replaced, atomically (`MODIFY QUERY`).
    ViewQuery(View),
}

/// A column added to a table; with `order_by`, the table's new sorting key (the old one and
/// the column: `ADD COLUMN` and `MODIFY ORDER BY` in one statement, as ClickHouse requires).
pub(crate) struct AddColumn {
    pub(crate) table: &'static str,
    /// `name Type`.
    pub(crate) column: &'static str,
    pub(crate) order_by: Option<&'static str>,
}

/// A table: its columns, engine, clauses (partition, order, TTL, settings) and, on a cluster,
/// how its rows are sharded.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    /// `( … )`, with indexes.
    pub(crate) columns: &'static str,
    pub(crate) engine: MergeTree,
    pub(crate) clauses: &'static str,
    /// The `Distributed` table's sharding key: what must meet on one shard does (a trace's
    /// spans and head, for `FINAL` and the list; an event's copies).
    pub(crate) shard_key: &'static str,
}

/// A table's engine, of the MergeTree family; on a cluster, its replicated form.
pub(crate) enum MergeTree {
    Plain,
    Replacing { version: Option<&'static str> },
    Aggregating,
}

/// A materialized view: `select` (its source written `{source}`) over `from`, into `to`.
pub(crate) struct View {
    pub(crate) name: &'static str,
    pub(crate) to: &'static str,
    pub(crate) from: &'static str,
    pub(crate) select: &'static str,
}

/// Records which migrations a database has.
pub(crate) const MIGRATIONS_TABLE: Statement = Statement::Table(Table {
    name: "agentrace_migrations",
    columns: "(version UInt32, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))",
    engine: MergeTree::Plain,
    clauses: "ORDER BY version",
    shard_key: "rand()",
});

/// The rollups' sorting key up to `operation`, the dimensions of schema version 1.
macro_rules! rollups_key {
    () => {
        "minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, tool_name, operation"
    };
}

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
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
            }),
            Statement::View(View {
                name: "span_rollups_mv",
                to: "span_rollups",
                from: "spans",
                select: rollups_select!("tool_name, operation", "tool_name, operation"),
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

/// A span billable but without a price (mirrors `agentrace_store::is_unpriced`), as 0 or 1:
/// `{unpriced}` in a statement.
pub(crate) const UNPRICED_SQL: &str = "(cost_total IS NULL AND aggregate = 0 \
     AND (kind IN ('llm', 'embedding') OR input_tokens <> 0 OR output_tokens <> 0))";

/// A span's duration bucket (`agentrace_store::series::duration_bucket`, log-linear: exact
/// below 32 ns, then 16 per power of two): `{duration_bucket}` in a statement.
pub(crate) const DURATION_BUCKET_SQL: &str = "toUInt16(if(\
     toUInt64(greatest(toUnixTimestamp64Nano(end) - toUnixTimestamp64Nano(start), 0)) < 32, \
     toUInt64(greatest(toUnixTimestamp64Nano(end) - toUnixTimestamp64Nano(start), 0)), \
     (toUInt64(log2(toUnixTimestamp64Nano(end) - toUnixTimestamp64Nano(start))) - 3) * 16 \
     + bitShiftRight(toUInt64(toUnixTimestamp64Nano(end) - toUnixTimestamp64Nano(start)), \
       toUInt64(log2(toUnixTimestamp64Nano(end) - toUnixTimestamp64Nano(start))) - 4) - 16))";

/// A span's MCP server (`agentrace.mcp.server`, a JSON string in `attributes`), else NULL:
/// `{mcp_server}` in a statement.
pub(crate) const MCP_SERVER_SQL: &str = "if(JSONType(attributes['agentrace.mcp.server']) = 'String', \
     JSONExtractString(attributes['agentrace.mcp.server']), NULL)";

/// The attributes the views read: what a cancelling row keeps of its span's.
pub(crate) const VIEW_ATTRIBUTES: [&str; 1] = ["agentrace.mcp.server"];

/// A statement with its placeholders filled: `{db}`, `{unpriced}`, `{duration_bucket}`,
/// `{mcp_server}`, `{past_seconds}` ([`agentrace_store::PAST`]), `{past_traces}`
/// ([`PAST_TRACES`]).
pub(crate) fn statement(sql: &str, database: &str) -> String {
    sql.replace("{db}", database)
        .replace(
            "{past_seconds}",
            &agentrace_store::PAST.as_secs().to_string(),
        )
        .replace("{past_traces}", &PAST_TRACES.to_string())
        .replace("{unpriced}", UNPRICED_SQL)
        .replace("{mcp_server}", MCP_SERVER_SQL)
        .replace("{duration_bucket}", DURATION_BUCKET_SQL)
}

/// Where a database's tables live: on one server (or several behind one address sharing its
/// disks), or on every node of a ClickHouse cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// Plain MergeTree tables on one server.
    #[default]
    Single,
    /// On every node of the cluster of this name (as the servers' `remote_servers` name it):
    /// each table as a replicated table `<name>_local` on every shard (its replicas kept by
    /// ClickHouse Keeper, under `/clickhouse/tables/{shard}/<database>/<name>`) and a
    /// `Distributed` table `<name>` over them, which agentrace reads and writes (inserts wait
    /// until every shard has its rows: `insert_distributed_sync`). Changes to a table
    /// (retention's deletes and TTLs) go to the local tables, `ON CLUSTER`.
    Cluster(String),
}

impl Layout {
    /// A cluster name agentrace puts into statements: letters, digits, `_`, `-`, `.`.
    pub fn is_valid_cluster_name(name: &str) -> bool {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    }

    /// `ON CLUSTER '…'` on a cluster, nothing on one server.
    fn on_cluster(&self) -> String {
        match self {
            Self::Single => String::new(),
            Self::Cluster(c) => format!(" ON CLUSTER '{c}'"),
        }
    }

    /// The table holding `name`'s rows on each server: `name`, or `name_local` on a cluster.
    pub(crate) fn local(&self, name: &str) -> String {
        match self {
            Self::Single => name.to_owned(),
            Self::Cluster(_) => format!("{name}_local"),
        }
    }

    /// What a statement changing `name` (`ALTER`, `DELETE`) names: its local tables, on every
    /// node.
    pub(crate) fn target(&self, name: &str) -> String {
        format!("{}{}", self.local(name), self.on_cluster())
    }

    /// `system.parts` of every server holding the tables.
    pub(crate) fn parts(&self) -> String {
        match self {
            Self::Single => "system.parts".to_owned(),
            Self::Cluster(c) => format!("clusterAllReplicas('{c}', system.parts)"),
        }
    }
}

impl MergeTree {
    /// The engine clause: plain, or replicated under `path`.
    fn render(&self, replicated: Option<&str>) -> String {
        let (family, version) = match self {
            Self::Plain => ("MergeTree", None),
            Self::Replacing { version } => ("ReplacingMergeTree", *version),
            Self::Aggregating => ("AggregatingMergeTree", None),
        };
        let mut arguments: Vec<String> = Vec::new();
        if let Some(path) = replicated {
            arguments.push(format!("'{path}'"));
            arguments.push("'{replica}'".to_owned());
        }
        arguments.extend(version.map(str::to_owned));
        let prefix = if replicated.is_some() {
            "Replicated"
        } else {
            ""
        };
        if arguments.is_empty() {
            format!("{prefix}{family}")
        } else {
            format!("{prefix}{family}({})", arguments.join(", "))
        }
    }
}

impl Statement {
    /// Its SQL on `database` laid out as `layout`: one statement on one server; a table is two
    /// on a cluster (its local tables, then the `Distributed` table over them).
    pub(crate) fn render(&self, database: &str, layout: &Layout) -> Vec<String> {
        let on = layout.on_cluster();
        let sql = match (self, layout) {
            (Self::Table(t), Layout::Single) => vec![format!(
                "CREATE TABLE IF NOT EXISTS {database}.{name} {columns}\nENGINE = {engine}\n{clauses}",
                name = t.name,
                columns = t.columns,
                engine = t.engine.render(None),
                clauses = t.clauses,
            )],
            (Self::Table(t), Layout::Cluster(cluster)) => {
                let local = layout.local(t.name);
                let path = format!("/clickhouse/tables/{{shard}}/{database}/{}", t.name);
                vec![
                    format!(
                        "CREATE TABLE IF NOT EXISTS {database}.{local}{on} {columns}\nENGINE = {engine}\n{clauses}",
                        columns = t.columns,
                        engine = t.engine.render(Some(&path)),
                        clauses = t.clauses,
                    ),
                    format!(
                        "CREATE TABLE IF NOT EXISTS {database}.{name}{on} AS {database}.{local}\n\
                         ENGINE = Distributed('{cluster}', '{database}', '{local}', {key})",
                        name = t.name,
                        key = t.shard_key,
                    ),
                ]
            }
            (Self::View(v), _) => vec![format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{name}{on} TO {database}.{to} AS {select}",
                name = v.name,
                to = layout.local(v.to),
                select = v.select(database, layout),
            )],
            (Self::ViewQuery(v), _) => vec![format!(
                "ALTER TABLE {database}.{name}{on} MODIFY QUERY {select}",
                name = v.name,
                select = v.select(database, layout),
            )],
            (Self::AddColumn(a), _) => {
                let add = format!("ADD COLUMN IF NOT EXISTS {}", a.column);
                let keyed = match a.order_by {
                    Some(key) => format!("{add}, MODIFY ORDER BY {key}"),
                    None => add.clone(),
                };
                let mut sql = vec![format!(
                    "ALTER TABLE {database}.{}{on} {keyed}",
                    layout.local(a.table)
                )];
                if matches!(layout, Layout::Cluster(_)) {
                    // The `Distributed` table over them has no sorting key.
                    sql.push(format!("ALTER TABLE {database}.{}{on} {add}", a.table));
                }
                sql
            }
        };
        sql.into_iter().map(|s| statement(&s, database)).collect()
    }
}

impl View {
    /// Its select over `database`'s source table laid out as `layout`.
    fn select(&self, database: &str, layout: &Layout) -> String {
        self.select.replace(
            "{source}",
            &format!("{database}.{}", layout.local(self.from)),
        )
    }
}

/// `CREATE DATABASE` for `database` laid out as `layout`.
pub(crate) fn create_database(database: &str, layout: &Layout) -> String {
    format!(
        "CREATE DATABASE IF NOT EXISTS {database}{}",
        layout.on_cluster()
    )
}

/// Every statement that makes this build's schema on `database` laid out as `layout`, in
/// order: the database, the migrations' record, each migration's statements. What
/// [`ClickHouseStore::open_on`](crate::ClickHouseStore::open_on) runs (each migration once);
/// for a cluster, what `docs/clickhouse-cluster.sql` shows.
pub fn create_statements(database: &str, layout: &Layout) -> Vec<String> {
    statements_until(database, layout, SCHEMA_VERSION)
}

/// The statements of [`create_statements`] up to schema version `version`: an older build's
/// schema, on which to test an upgrade (the caller records the versions in
/// `agentrace_migrations`).
pub fn statements_until(database: &str, layout: &Layout, version: u32) -> Vec<String> {
    std::iter::once(create_database(database, layout))
        .chain(MIGRATIONS_TABLE.render(database, layout))
        .chain(
            MIGRATIONS
                .iter()
                .filter(|m| m.version <= version)
                .flat_map(|m| m.statements.iter().flat_map(|s| s.render(database, layout))),
        )
        .collect()
}

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_gets_plain_tables_and_a_view_over_them() {
        let sql = create_statements("db", &Layout::Single);
        assert_eq!(sql[0], "CREATE DATABASE IF NOT EXISTS db");
        let spans = sql
            .iter()
            .find(|s| s.starts_with("CREATE TABLE IF NOT EXISTS db.spans "))
            .expect("the spans table");
        assert!(spans.contains("ENGINE = ReplacingMergeTree(version)\nPARTITION BY"));
        let views: Vec<&String> = sql.iter().filter(|s| s.contains("VIEW")).collect();
        assert_eq!(
            views.len(),
            4,
            "the rollups', the trace heads' and the changes of the past"
        );
        for (view, (into, from)) in views.iter().zip([
            ("trace_heads", "spans"),
            ("span_rollups", "spans"),
            ("past_changes", "spans"),
            ("past_changes", "scores"),
        ]) {
            assert!(view.contains(&format!("TO db.{into} AS SELECT")), "{view}");
            assert!(
                view.contains(&format!("FROM db.{from}\n"))
                    || view.contains(&format!("FROM db.{from} AS s\n")),
                "{view}"
            );
        }
        assert!(
            !sql.iter().any(|s| s.contains("{")),
            "every placeholder filled"
        );
    }

    #[test]
    fn a_cluster_gets_replicated_local_tables_distributed_tables_over_them_and_local_views() {
        let layout = Layout::Cluster("prod".into());
        let sql = create_statements("db", &layout);
        assert_eq!(sql[0], "CREATE DATABASE IF NOT EXISTS db ON CLUSTER 'prod'");
        let tables = sql.iter().filter(|s| s.starts_with("CREATE TABLE")).count();
        // Each table twice: the migrations' record and eleven of the schema's.
        assert_eq!(tables, 2 * 11);
        for s in sql.iter().filter(|s| s.starts_with("CREATE TABLE")) {
            assert!(s.contains(" ON CLUSTER 'prod' "), "{s}");
            if s.contains("_local ON CLUSTER") {
                assert!(s.contains("ENGINE = Replicated"), "{s}");
                assert!(s.contains("('/clickhouse/tables/{shard}/db/"), "{s}");
            } else {
                assert!(s.contains("ENGINE = Distributed('prod', 'db', '"), "{s}");
            }
        }
        let spans = sql
            .iter()
            .find(|s| s.starts_with("CREATE TABLE IF NOT EXISTS db.spans_local "))
            .expect("the local spans table");
        assert!(spans.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/spans', \
             '{replica}', version)"
        ));
        assert!(sql.iter().any(|s| {
            s.ends_with("ENGINE = Distributed('prod', 'db', 'spans_local', cityHash64(trace_id))")
        }));
        let views: Vec<&String> = sql.iter().filter(|s| s.contains("VIEW")).collect();
        assert_eq!(views.len(), 4);
        for (view, (into, from)) in views.iter().zip([
            ("trace_heads", "spans"),
            ("span_rollups", "spans"),
            ("past_changes", "spans"),
            ("past_changes", "scores"),
        ]) {
            assert!(
                view.contains(&format!("ON CLUSTER 'prod' TO db.{into}_local AS")),
                "{view}"
            );
            assert!(
                view.contains(&format!("FROM db.{from}_local\n"))
                    || view.contains(&format!("FROM db.{from}_local AS s\n")),
                "{view}"
            );
        }
        assert_eq!(layout.target("spans"), "spans_local ON CLUSTER 'prod'");
        assert_eq!(layout.parts(), "clusterAllReplicas('prod', system.parts)");
    }

    #[test]
    fn cluster_names_are_checked_before_they_go_into_statements() {
        assert!(Layout::is_valid_cluster_name("prod-eu.1_a"));
        for bad in ["", "a'b", "a b", "a;DROP"] {
            assert!(!Layout::is_valid_cluster_name(bad), "{bad}");
        }
    }

    /// docs/clickhouse-cluster.sql is what this build makes on a cluster (`UPDATE_DOCS=1`
    /// rewrites it).
    #[test]
    fn the_documented_cluster_schema_is_this_builds() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/clickhouse-cluster.sql");
        let sql = create_statements("agentrace", &Layout::Cluster("agentrace".into()));
        let text = format!(
            "-- The ClickHouse schema of agentrace (schema version {SCHEMA_VERSION}) on a cluster named\n\
             -- `agentrace`, database `agentrace`: what `agentrace serve --store\n\
             -- 'clickhouse://HOST/agentrace?cluster=agentrace'` runs when it starts (each statement\n\
             -- idempotent). Generated by agentrace-clickhouse's tests; see docs/scale-out.md.\n\n{};\n",
            sql.join(";\n\n")
        );
        if agentrace_core::env::process("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &text).expect("docs/clickhouse-cluster.sql written");
        }
        let documented = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            documented == text,
            "docs/clickhouse-cluster.sql is stale: UPDATE_DOCS=1 cargo test -p agentrace-clickhouse"
        );
    }
}
