//! The tables, and the versioned migrations that make them: applied in order when a store is
//! opened, each once (`agentrace_migrations` records them), every statement idempotent so that
//! nodes starting together on one database agree (`crate::migrate`). A new database gets
//! this build's tables from version 6 (`projects`) on, then what later versions add
//! (`settings`, version 7); the migrations before it (`history`) bring a database of an older
//! release to version 5, which version 6 rebuilds.
//!
//! ## Projects
//!
//! Many teams share one database, none seeing another's data, so every data table (`spans`,
//! `events`, `trace_heads`, `span_rollups`, `metric_points`, `alert_notifications`, `scores`,
//! `evaluator_rules`, `past_changes`, from version 10 `failed_tool_calls`, from 11 `trace_list`,
//! from 12 `trace_summaries`) has a `project UInt32` column that leads its sorting key (`ORDER BY
//! (project, …)`), and the views carry it through (the rollups, the trace heads and summaries are
//! grouped by it). A store is one project's: every read begins `WHERE project = <id>` (the primary
//! index then reads only that project's granules, however large the others are), every row it
//! writes names it. The same trace id in two projects is two traces: two keys. `node_heartbeats` is
//! the fleet's and the registry (`projects`, `project_keys`, `key_uses`) the organization's: no
//! project; `held_spans` (version 9) is keyed by the node first, then the project.
//!
//! Partitions stay monthly (`toYYYYMM(start)`), not by project: a thousand projects by a few
//! years of months would be tens of thousands of partitions, each at least a part, where
//! ClickHouse wants hundreds (every part costs merges, file handles and the planning of every
//! query), and small projects would leave tiny parts. A project's rows are deleted by
//! lightweight deletes on the leading column instead (retention by size, a project deleted),
//! which read only the project's granules; the TTL of age retention is a table's, the same
//! for every project; a month's partition is still dropped whole when every project's rows in
//! it have expired.
//!
//! Designed for ClickHouse, not copied from the SQLite schema:
//! - `spans` is a `ReplacingMergeTree`: a span delivered again (an exporter's retry) or
//!   rewritten later (late attribution, repricing) is a new row with a newer `version`, and
//!   reads take the newest (`FINAL`); nothing is updated in place.
//! - Ordered by `(project, toDate(start), trace_id, span_id)`: a project's spans together, a
//!   day's together within it, a trace's spans together within that, the replacing key unique
//!   per span; partitioned by month, so that retention drops whole partitions. A bloom filter
//!   on `trace_id` finds a trace across days.
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
//! - `failed_tool_calls` (version 10): each failed tool span's tool, error type and message,
//!   kept by a materialized view over `spans`, keyed by minute and span, a rewrite's
//!   cancelling row forgetting it (`failures`): the tools' top errors without reading spans.
//! - `trace_list` (version 11): each write's candidate for the list time of each trace in it,
//!   keyed by list time (`trace_list`): the trace list's page read in order, each candidate
//!   checked against `trace_heads`.
//! - `trace_summaries` (version 12): each trace's counts, sums, bounds and head, kept by a
//!   materialized view over `spans` as aggregate states (`trace_summaries`): the sessions and
//!   users summed from one small row a trace.
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

/// The select of `span_rollups_mv` keeping `$lead` (`project, ` from version 6 on, else
/// nothing), the rollups' dimensions up to `tool_name`, then `$select` (the later dimensions,
/// as selected) grouped by `$group` (the same, by name).
macro_rules! rollups_select {
    ($lead:literal, $select:literal, $group:literal) => {
        concat!(
            "SELECT ",
            $lead,
            "toStartOfMinute(start) AS minute,
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
        GROUP BY ",
            $lead,
            "minute, billable, kind, service_name, provider, request_model, response_model,
            agent_name, framework, ",
            $group
        )
    };
}

mod accounts;
mod failures;
mod held;
mod history;
mod projects;
mod settings;
mod trace_list;
mod trace_summaries;

/// How many of the traces of a write to the past `past_changes` lists (their starts are looked
/// up when all are listed; with more, every earlier count may have changed):
/// `{past_traces}` in a statement.
pub(crate) const PAST_TRACES: u64 = 256;

/// One migration: the schema version it brings the database to, and its statements.
pub(crate) struct Migration {
    pub(crate) version: u32,
    pub(crate) statements: &'static [Statement],
}

impl Migration {
    /// Whether it must run on one node at a time: it rebuilds tables or adds up rows.
    pub(crate) fn runs_alone(&self) -> bool {
        self.statements
            .iter()
            .any(|s| matches!(s, Statement::Rebuild(_) | Statement::SeedSums(_)))
    }
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
    /// A materialized view dropped, if it exists.
    DropView(&'static str),
    /// A table made as it is given, if it does not exist; if it exists in another shape
    /// (without `project`), rebuilt: its rows copied into a table of the new shape, which is
    /// then swapped in (`crate::migrate`). Rendered as a [`Table`](Self::Table).
    Rebuild(Table),
    /// Rows written once (an `INSERT` of `{db}`'s tables, guarded by its own `WHERE`).
    Seed(&'static str),
    /// Rows added to sums (an `INSERT` into an aggregating table: run twice, it counts
    /// twice), run by one node, under the migration lock, once (`crate::migrate`).
    SeedSums(&'static str),
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
    /// Where its replicas meet in ClickHouse Keeper, on a cluster.
    pub(crate) replica_path: ReplicaPath,
}

/// Where a replicated table's replicas meet in ClickHouse Keeper.
#[derive(Clone, Copy)]
pub(crate) enum ReplicaPath {
    /// `/clickhouse/tables/{shard}/<database>/<table>`: the tables of versions 1 to 5.
    Named,
    /// `/clickhouse/tables/{uuid}/{shard}`: from version 6 on. A table keeps its UUID (and
    /// so its path) when it is renamed or swapped, as a rebuilt table is; `ON CLUSTER` gives
    /// it the same UUID on every server.
    Uuid,
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
    replica_path: ReplicaPath::Named,
});

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
    pub(crate) fn on_cluster(&self) -> String {
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

impl Table {
    /// Its SQL, named `name`, on `database` laid out as `layout`: one statement on one
    /// server; two on a cluster (its local tables, then the `Distributed` table over them).
    pub(crate) fn render(&self, name: &str, database: &str, layout: &Layout) -> Vec<String> {
        let on = layout.on_cluster();
        match layout {
            Layout::Single => vec![format!(
                "CREATE TABLE IF NOT EXISTS {database}.{name} {columns}\nENGINE = {engine}\n{clauses}",
                columns = self.columns,
                engine = self.engine.render(None),
                clauses = self.clauses,
            )],
            Layout::Cluster(cluster) => {
                let local = layout.local(name);
                let path = match self.replica_path {
                    ReplicaPath::Named => format!("/clickhouse/tables/{{shard}}/{database}/{name}"),
                    ReplicaPath::Uuid => "/clickhouse/tables/{uuid}/{shard}".to_owned(),
                };
                vec![
                    format!(
                        "CREATE TABLE IF NOT EXISTS {database}.{local}{on} {columns}\nENGINE = {engine}\n{clauses}",
                        columns = self.columns,
                        engine = self.engine.render(Some(&path)),
                        clauses = self.clauses,
                    ),
                    format!(
                        "CREATE TABLE IF NOT EXISTS {database}.{name}{on} AS {database}.{local}\n\
                         ENGINE = Distributed('{cluster}', '{database}', '{local}', {key})",
                        key = self.shard_key,
                    ),
                ]
            }
        }
    }
}

impl Statement {
    /// Its SQL on `database` laid out as `layout` (a table's: [`Table::render`]; a rebuild's,
    /// the table it makes in a database without it).
    pub(crate) fn render(&self, database: &str, layout: &Layout) -> Vec<String> {
        let on = layout.on_cluster();
        let sql = match self {
            Self::Table(t) | Self::Rebuild(t) => t.render(t.name, database, layout),
            Self::View(v) => vec![format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{name}{on} TO {database}.{to} AS {select}",
                name = v.name,
                to = layout.local(v.to),
                select = v.select(database, layout),
            )],
            Self::ViewQuery(v) => vec![format!(
                "ALTER TABLE {database}.{name}{on} MODIFY QUERY {select}",
                name = v.name,
                select = v.select(database, layout),
            )],
            Self::AddColumn(a) => {
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
            Self::DropView(name) => vec![format!("DROP VIEW IF EXISTS {database}.{name}{on}")],
            Self::Seed(sql) | Self::SeedSums(sql) => vec![(*sql).to_owned()],
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

/// Every migration, oldest first: those of the releases before projects, projects', then
/// those after.
pub(crate) fn migrations() -> impl Iterator<Item = &'static Migration> {
    history::HISTORY.iter().chain([
        &projects::PROJECTS,
        &settings::SETTINGS,
        &accounts::ACCOUNTS,
        &held::HELD,
        &failures::FAILURES,
        &trace_list::TRACE_LIST,
        &trace_summaries::TRACE_SUMMARIES,
    ])
}

/// The migration a database without any begins at: it makes every table, so those before
/// it are for the databases they made.
pub(crate) const BASELINE: u32 = projects::PROJECTS.version;

/// The migrations a database at `version` lacks, in order (from the [`BASELINE`] for a
/// database without any).
pub(crate) fn missing(version: u32) -> impl Iterator<Item = &'static Migration> {
    migrations().filter(move |m| m.version > version && (version > 0 || m.version >= BASELINE))
}

/// Every statement that makes this build's schema on a new database `database` laid out as
/// `layout`, in order: the database, the migrations' record, each migration's statements from
/// the baseline, version 6 (a rebuild is the table it makes; no rows). What
/// [`ClickHouseStore::open_on`](crate::ClickHouseStore::open_on) runs on a new database;
/// for a cluster, what `docs/clickhouse-cluster.sql` shows.
pub fn create_statements(database: &str, layout: &Layout) -> Vec<String> {
    statements_until(database, layout, SCHEMA_VERSION)
}

/// The statements that make schema version `version` on a new database: from the
/// baseline (version 6) for this version or a later one; below it, an older build's schema (the
/// migrations of the releases before projects, as they ran), on which to test an upgrade
/// (the caller records the versions in `agentrace_migrations`).
pub fn statements_until(database: &str, layout: &Layout, version: u32) -> Vec<String> {
    let from = if version >= BASELINE { BASELINE } else { 1 };
    std::iter::once(create_database(database, layout))
        .chain(MIGRATIONS_TABLE.render(database, layout))
        .chain(
            migrations()
                .filter(|m| (from..=version).contains(&m.version))
                .flat_map(|m| {
                    // A new database has none of the views the baseline drops; rows are no
                    // schema (the `default` project is written by the first open).
                    m.statements.iter().filter(move |s| match s {
                        Statement::DropView(_) => m.version != BASELINE,
                        Statement::Seed(_) | Statement::SeedSums(_) => false,
                        _ => true,
                    })
                })
                .flat_map(|s| s.render(database, layout)),
        )
        .collect()
}

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = trace_summaries::TRACE_SUMMARIES.version;

/// The project of everything a database held before projects, and of a store opened without
/// one: `default`.
pub(crate) const DEFAULT_PROJECT_ID: u32 = 1;

/// The tables holding projects' data (led by `project`): those version 6 rebuilds and those
/// later versions add.
pub(crate) fn data_tables() -> impl Iterator<Item = &'static str> {
    projects::PROJECTS
        .statements
        .iter()
        .filter_map(|s| match s {
            Statement::Rebuild(t) => Some(t.name),
            _ => None,
        })
        .chain(failures::DATA_TABLES)
        .chain(trace_list::DATA_TABLES)
        .chain(trace_summaries::DATA_TABLES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The views, in the order they are made: the table each writes to, and its source.
    const VIEWS: [(&str, &str); 7] = [
        ("trace_heads", "spans"),
        ("span_rollups", "spans"),
        ("past_changes", "spans"),
        ("past_changes", "scores"),
        ("failed_tool_calls", "spans"),
        ("trace_list", "spans"),
        ("trace_summaries", "spans"),
    ];

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
            7,
            "the rollups', the trace heads', the changes of the past, the failed tool calls', \
             the trace list's and the trace summaries'"
        );
        for (view, (into, from)) in views.iter().zip(VIEWS) {
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
        // Each table twice: the migrations' record and twenty-three of the schema's (twelve of
        // projects' data, the fleet's heartbeats and held spans, four of the registry, five of
        // people and the audit log).
        assert_eq!(tables, 2 * 24);
        for s in sql.iter().filter(|s| s.starts_with("CREATE TABLE")) {
            assert!(s.contains(" ON CLUSTER 'prod' "), "{s}");
            if s.contains("_local ON CLUSTER") {
                assert!(s.contains("ENGINE = Replicated"), "{s}");
                let named = ["agentrace_migrations", "node_heartbeats"]
                    .iter()
                    .any(|t| s.contains(&format!("db.{t}_local ")));
                assert!(
                    s.contains(if named {
                        "('/clickhouse/tables/{shard}/db/"
                    } else {
                        "('/clickhouse/tables/{uuid}/{shard}', '{replica}'"
                    }),
                    "{s}"
                );
            } else {
                assert!(s.contains("ENGINE = Distributed('prod', 'db', '"), "{s}");
            }
        }
        let spans = sql
            .iter()
            .find(|s| s.starts_with("CREATE TABLE IF NOT EXISTS db.spans_local "))
            .expect("the local spans table");
        assert!(spans.contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}', \
             '{replica}', version)\nPARTITION BY toYYYYMM(start)\n        \
             ORDER BY (project, toDate(start), trace_id, span_id)"
        ));
        assert!(sql.iter().any(|s| {
            s.ends_with("ENGINE = Distributed('prod', 'db', 'spans_local', cityHash64(trace_id))")
        }));
        let views: Vec<&String> = sql.iter().filter(|s| s.contains("VIEW")).collect();
        assert_eq!(views.len(), 7);
        for (view, (into, from)) in views.iter().zip(VIEWS) {
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
