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
//! - Codecs: `Delta` + `ZSTD` for times, `ZSTD(1)` for text.
//! - `events` is a `ReplacingMergeTree` on a key hashed from the whole event (`event_key`, the
//!   first 8 bytes of the SHA-256 of its JSON, computed by the writer, which skips the keys
//!   already stored): the same event delivered twice is stored once.
//! - `trace_heads` holds each trace's list time (the earliest start among the spans of the
//!   write that first brought it; the smallest if two nodes both did), so that a trace keeps
//!   its place in the list as more of its spans arrive.
//! - `span_rollups`: counts, tokens, costs and a duration histogram per minute and dimension
//!   (kind, service, provider, models, agent, framework, tool, operation, billable), kept by a
//!   materialized view over `spans` (`span_rollups_mv`). A span rewritten later (its
//!   attribution completed, repriced, repaired) is written with a cancelling row (`sign` -1,
//!   its old values) before its new one, so that the view's sums stay exact; reads of `spans`
//!   take the newest version, which is never a cancelling row.
//! - `metric_points`: received metrics summed per series and minute by each write, summed
//!   again at read time (a counter's increments add up, a gauge keeps its latest value).
//! - `alert_notifications`: the alert history, as the engine wrote it.
//! - `node_heartbeats`: when each node of a fleet was last alive (kept a day); spans and events
//!   carry the node that first stored them and when (`node`, `arrived`), so that each node
//!   learns what the others stored.

/// One migration: the schema version it brings the database to, and its statements (with
/// placeholders: see [`statement`]).
pub(crate) struct Migration {
    pub(crate) version: u32,
    pub(crate) statements: &'static [&'static str],
}

/// Records which migrations a database has.
pub(crate) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS {db}.agentrace_migrations \
     (version UInt32, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) \
     ENGINE = MergeTree ORDER BY version";

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    statements: &[
        "CREATE TABLE IF NOT EXISTS {db}.spans (
            trace_id FixedString(16),
            span_id FixedString(8),
            parent_span_id Nullable(FixedString(8)),
            name String CODEC(ZSTD(1)),
            kind LowCardinality(String),
            start DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
            end DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
            status_code UInt8,
            status_message Nullable(String) CODEC(ZSTD(1)),
            service_name LowCardinality(String),
            resource_attributes String CODEC(ZSTD(1)),
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
            session_id Nullable(String) CODEC(ZSTD(1)),
            user_id Nullable(String) CODEC(ZSTD(1)),
            correlation_id Nullable(String) CODEC(ZSTD(1)),
            agent_name LowCardinality(Nullable(String)),
            agent_id Nullable(String) CODEC(ZSTD(1)),
            tool_name LowCardinality(Nullable(String)),
            tool_call_id Nullable(String) CODEC(ZSTD(1)),
            framework LowCardinality(Nullable(String)),
            attributes Map(String, String) CODEC(ZSTD(1)),
            events String CODEC(ZSTD(1)),
            version UInt64,
            node LowCardinality(String),
            arrived DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
            sign Int8,
            INDEX trace_id_bloom trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
            INDEX arrived_minmax arrived TYPE minmax GRANULARITY 1
        )
        ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMM(start)
        ORDER BY (toDate(start), trace_id, span_id)",
        "CREATE TABLE IF NOT EXISTS {db}.events (
            time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
            level LowCardinality(String),
            kind LowCardinality(String),
            message String CODEC(ZSTD(1)),
            service_name LowCardinality(String),
            resource_attributes String CODEC(ZSTD(1)),
            trace_id Nullable(FixedString(16)),
            span_id Nullable(FixedString(8)),
            session_id Nullable(String) CODEC(ZSTD(1)),
            correlation_id Nullable(String) CODEC(ZSTD(1)),
            agent_id Nullable(String) CODEC(ZSTD(1)),
            framework LowCardinality(Nullable(String)),
            scope LowCardinality(Nullable(String)),
            attributes Map(String, String) CODEC(ZSTD(1)),
            node LowCardinality(String),
            arrived DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
            event_key UInt64
        )
        ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(time)
        ORDER BY (toDate(time), service_name, time, event_key)",
        "CREATE TABLE IF NOT EXISTS {db}.trace_heads (
            trace_id FixedString(16),
            list_time SimpleAggregateFunction(min, DateTime64(9, 'UTC'))
        )
        ENGINE = AggregatingMergeTree
        ORDER BY trace_id",
        "CREATE TABLE IF NOT EXISTS {db}.metric_points (
            name LowCardinality(String),
            kind LowCardinality(String),
            unit LowCardinality(Nullable(String)),
            labels String CODEC(ZSTD(1)),
            bucket DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
            count UInt64,
            sum Float64,
            min Float64,
            max Float64,
            last Float64,
            last_time DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))
        )
        ENGINE = MergeTree
        PARTITION BY toYYYYMM(bucket)
        ORDER BY (name, bucket)",
        "CREATE TABLE IF NOT EXISTS {db}.span_rollups (
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
        )
        ENGINE = AggregatingMergeTree
        PARTITION BY toYYYYMM(minute)
        ORDER BY (minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, tool_name, operation)
        SETTINGS allow_nullable_key = 1",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.span_rollups_mv TO {db}.span_rollups AS
        SELECT toStartOfMinute(start) AS minute,
            toUInt8(cost_total IS NOT NULL OR (aggregate = 0
                AND (kind IN ('llm', 'embedding') OR input_tokens <> 0 OR output_tokens <> 0)))
                AS billable,
            kind, service_name, provider, request_model, response_model, agent_name, framework,
            tool_name, operation,
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
        FROM {db}.spans
        GROUP BY minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, tool_name, operation",
        "CREATE TABLE IF NOT EXISTS {db}.node_heartbeats (
            node String,
            at DateTime64(9, 'UTC')
        )
        ENGINE = MergeTree
        ORDER BY (at, node)
        TTL toDateTime(at) + INTERVAL 1 DAY",
        "CREATE TABLE IF NOT EXISTS {db}.alert_notifications (
            time DateTime64(9, 'UTC'),
            alert String,
            rule LowCardinality(String),
            state LowCardinality(String),
            previous LowCardinality(String),
            reason LowCardinality(String),
            body String CODEC(ZSTD(1))
        )
        ENGINE = MergeTree
        ORDER BY (time, alert)",
    ],
}];

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

/// A statement with its placeholders filled: `{db}`, `{unpriced}`, `{duration_bucket}`.
pub(crate) fn statement(sql: &str, database: &str) -> String {
    sql.replace("{db}", database)
        .replace("{unpriced}", UNPRICED_SQL)
        .replace("{duration_bucket}", DURATION_BUCKET_SQL)
}

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;
