//! A database brought to this build's schema when a store opens: the migrations it lacks
//! ([`schema::missing`]), in order, each recorded in `agentrace_migrations` once its
//! statements ran. Every statement but a seed of sums (below) is idempotent, so that nodes
//! starting together agree, and a node that stopped half-way is finished by the next to start.
//!
//! A rebuild ([`Statement::Rebuild`], version 6 over an older database) copies every data
//! table, and a seed of sums ([`Statement::SeedSums`]) would count twice if two nodes ran it,
//! so a database missing either is migrated by one node at a time ([`Lock`]
//! `agentrace_migrating`, with a heartbeat; the others wait, and take over from a node silent
//! for [`STALE`]). Each table is rebuilt so that it is whole at every moment and the steps
//! can be repeated:
//!
//! 1. a table of the new shape is made under a name of this node's own (`<table>__v6_<node>`;
//!    one left by an earlier try is dropped first), and every row of the old one copied into
//!    it, in project 1 (`INSERT … SELECT 1, …`), the views dropped before (none copies twice);
//! 2. the copy holds at least as many rows as the old table (but those the copy's TTL drops as
//!    they are inserted: `past_changes` older than a day), or rows were written meanwhile (a
//!    node of the release before still writing): then the open fails, saying so, and nothing
//!    is swapped;
//! 3. `EXCHANGE TABLES` swaps the two atomically: readers see the old table or the whole new
//!    one; the old one is then dropped. A table that has `project` is rebuilt already.
//!
//! Then the views are made again over the new tables. On a cluster the same steps run
//! `ON CLUSTER` on the local tables, the copy going through `Distributed` tables (each row to
//! the shard its sharding key names, as before), and each `Distributed` table gets the
//! `project` column.

use std::time::Duration;

use clickhouse::Client;

use crate::error::OpenError;
use crate::lock::Lock;
use crate::schema::{
    self, Layout, MIGRATIONS_TABLE, Migration, SCHEMA_VERSION, Statement, Table, create_database,
};

/// How long a node rebuilding may be silent before another takes over.
const STALE: Duration = Duration::from_secs(60);

/// How often a node rebuilding says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// How often a node waiting for another's rebuild looks again.
const WAIT: Duration = Duration::from_secs(1);

/// Where migrations run: the client, the server's URL (for errors), the database, its layout,
/// and the node running them.
pub(crate) struct Migrator<'a> {
    pub(crate) client: &'a Client,
    pub(crate) url: &'a str,
    pub(crate) database: &'a str,
    pub(crate) layout: &'a Layout,
    pub(crate) node: &'a str,
}

/// Aborts the heartbeat task when dropped (the open done, failed or given up).
struct Beating(tokio::task::JoinHandle<()>);

impl Drop for Beating {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Migrator<'_> {
    fn server(&self) -> impl Fn(clickhouse::error::Error) -> OpenError + '_ {
        |source| OpenError::Server {
            url: self.url.to_owned(),
            source,
        }
    }

    async fn run(&self, sql: &str) -> Result<(), OpenError> {
        self.client
            .query(sql)
            .execute()
            .await
            .map_err(self.server())
    }

    /// Makes the database if missing and applies the migrations it lacks.
    pub(crate) async fn migrate(&self) -> Result<(), OpenError> {
        self.run(&create_database(self.database, self.layout))
            .await?;
        for sql in MIGRATIONS_TABLE.render(self.database, self.layout) {
            self.run(&sql).await?;
        }
        let lock = Lock::new(
            self.client,
            self.database,
            self.layout,
            "agentrace_migrating",
        );
        loop {
            let found = self.version().await?;
            // A database with data, not yet rebuilt for projects, or missing sums to seed.
            let alone = found > 0 && schema::missing(found).any(Migration::runs_alone);
            if !alone {
                return self.apply(found).await;
            }
            if !lock
                .try_acquire(self.node, STALE)
                .await
                .map_err(self.server())?
            {
                tokio::time::sleep(WAIT).await;
                continue;
            }
            let beating = {
                let (client, database, layout, node) = (
                    self.client.clone(),
                    self.database.to_owned(),
                    self.layout.clone(),
                    self.node.to_owned(),
                );
                Beating(tokio::spawn(async move {
                    let lock = Lock::new(&client, &database, &layout, "agentrace_migrating");
                    loop {
                        tokio::time::sleep(HEARTBEAT).await;
                        // A missed heartbeat only lets another node take over sooner.
                        let _ = lock.heartbeat(&node).await;
                    }
                }))
            };
            let applied = async {
                self.drop_stages().await?;
                // Another node may have finished while this one waited.
                let found = self.version().await?;
                self.apply(found).await
            }
            .await;
            drop(beating);
            lock.release().await.map_err(self.server())?;
            return applied;
        }
    }

    /// The newest migration the database has; a database of a newer build is refused.
    async fn version(&self) -> Result<u32, OpenError> {
        let database = self.database;
        let found: u32 = self
            .client
            .query(&format!(
                "SELECT max(version) FROM {database}.agentrace_migrations"
            ))
            .fetch_one()
            .await
            .map_err(self.server())?;
        if found > SCHEMA_VERSION {
            return Err(OpenError::TooNew {
                database: database.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(found)
    }

    /// Applies the migrations a database at `found` lacks.
    async fn apply(&self, found: u32) -> Result<(), OpenError> {
        for migration in schema::missing(found) {
            self.apply_one(migration).await?;
        }
        Ok(())
    }

    async fn apply_one(&self, migration: &Migration) -> Result<(), OpenError> {
        for statement in migration.statements {
            match statement {
                Statement::Rebuild(table) => self.rebuild(table).await?,
                other => {
                    for sql in other.render(self.database, self.layout) {
                        self.run(&sql).await?;
                    }
                }
            }
        }
        self.client
            .query(&format!(
                "INSERT INTO {}.agentrace_migrations (version) VALUES (?)",
                self.database
            ))
            .bind(migration.version)
            .execute()
            .await
            .map_err(self.server())
    }

    /// Makes `table`, or rebuilds it from an older shape (see the module's documentation).
    async fn rebuild(&self, table: &Table) -> Result<(), OpenError> {
        let (database, layout) = (self.database, self.layout);
        let local = layout.local(table.name);
        let columns: Vec<String> = self
            .client
            .query("SELECT name FROM system.columns WHERE database = ? AND table = ? ORDER BY position")
            .bind(database)
            .bind(&local)
            .fetch_all()
            .await
            .map_err(self.server())?;
        if columns.is_empty() {
            for sql in table.render(table.name, database, layout) {
                self.run(&sql).await?;
            }
            return Ok(());
        }
        if !columns.iter().any(|c| c == "project") {
            let stage = format!("{}__v6_{}", table.name, self.node);
            let plan = Plan::of(table, &columns, &stage, database, layout);
            for sql in plan.drop_stage.iter().chain(&plan.create_stage) {
                self.run(sql).await?;
            }
            self.run(&plan.copy).await?;
            let (before, copied): (u64, u64) = self
                .client
                .query(&plan.counts)
                .fetch_one()
                .await
                .map_err(self.server())?;
            if before > copied {
                for sql in &plan.drop_stage {
                    self.run(sql).await?;
                }
                return Err(OpenError::WrittenWhileRebuilt(table.name.to_owned()));
            }
            self.run(&plan.exchange).await?;
            for sql in &plan.drop_stage {
                self.run(sql).await?;
            }
        }
        if let Some(sql) = distributed_project(table.name, database, layout) {
            self.run(&sql).await?;
        }
        Ok(())
    }

    /// Drops the tables `names` (on a cluster, their `Distributed` tables and local tables).
    async fn drop_tables(&self, names: &[String]) -> Result<(), OpenError> {
        for name in names {
            for sql in drop_table(name, self.database, self.layout) {
                self.run(&sql).await?;
            }
        }
        Ok(())
    }
    /// Drops the copies that nodes which stopped while rebuilding left.
    async fn drop_stages(&self) -> Result<(), OpenError> {
        let left: Vec<String> = self
            .client
            .query(
                "SELECT name FROM system.tables WHERE database = ? \
                 AND match(name, '__v6_[0-9a-f]{12}')",
            )
            .bind(self.database)
            .fetch_all()
            .await
            .map_err(self.server())?;
        self.drop_tables(&left).await
    }
}

/// The statements of a table's rebuild through its copy `stage` (see the module's
/// documentation).
struct Plan {
    /// Drop the copy (before it is made, and once swapped out, holding the old rows).
    drop_stage: Vec<String>,
    /// Make the copy, of the new shape.
    create_stage: Vec<String>,
    /// Copy every row of the old table into it, in the `default` project.
    copy: String,
    /// The rows of the old table the copy keeps (those its TTL would not drop as they are
    /// inserted: `past_changes` keeps a day), and the rows of the copy.
    counts: String,
    /// Swap the two.
    exchange: String,
}

impl Plan {
    /// The rebuild of `table`, whose columns are now `columns`, through `stage`, on
    /// `database` laid out as `layout`.
    fn of(table: &Table, columns: &[String], stage: &str, database: &str, layout: &Layout) -> Self {
        let listed = columns
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let name = table.name;
        let kept = table.clauses.split_once("TTL ").map_or_else(
            || "1".to_owned(),
            |(_, ttl)| format!("{} > now()", ttl.trim()),
        );
        Self {
            drop_stage: drop_table(stage, database, layout),
            create_stage: table.render(stage, database, layout),
            // Every row as it is: not merged on the way (`optimize_on_insert` would replace
            // the older versions of a span among those copied together). On a cluster, from
            // `Distributed` table to `Distributed` table: each row to the shard it was on.
            copy: format!(
                "INSERT INTO {database}.{stage} (`project`, {listed}) \
                 SELECT {}, {listed} FROM {database}.{name} SETTINGS optimize_on_insert = 0",
                schema::DEFAULT_PROJECT_ID,
            ),
            counts: format!(
                "SELECT toUInt64(ifNull((SELECT count() FROM {database}.{name} WHERE {kept}), 0)), \
                 toUInt64(ifNull((SELECT count() FROM {database}.{stage}), 0))"
            ),
            exchange: format!(
                "EXCHANGE TABLES {database}.{} AND {database}.{}{}",
                layout.local(name),
                layout.local(stage),
                layout.on_cluster()
            ),
        }
    }
}

/// On a cluster, the `Distributed` table `name` over rebuilt local tables gets `project`.
fn distributed_project(name: &str, database: &str, layout: &Layout) -> Option<String> {
    matches!(layout, Layout::Cluster(_)).then(|| {
        format!(
            "ALTER TABLE {database}.{name}{} ADD COLUMN IF NOT EXISTS project UInt32 DEFAULT {} FIRST",
            layout.on_cluster(),
            schema::DEFAULT_PROJECT_ID
        )
    })
}

/// Drops the table `name` (on a cluster, its `Distributed` table and its local tables).
fn drop_table(name: &str, database: &str, layout: &Layout) -> Vec<String> {
    let mut names = vec![name.to_owned()];
    if matches!(layout, Layout::Cluster(_)) {
        names.push(layout.local(name));
    }
    names
        .into_iter()
        .map(|name| {
            format!(
                "DROP TABLE IF EXISTS {database}.{name}{} SYNC",
                layout.on_cluster()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rebuild of `spans` on `layout`, every statement in order.
    fn spans_rebuild(layout: &Layout) -> Vec<String> {
        let Some(spans) = schema::migrations()
            .flat_map(|m| m.statements)
            .find_map(|s| match s {
                Statement::Rebuild(t) if t.name == "spans" => Some(t),
                _ => None,
            })
        else {
            panic!("version 6 rebuilds spans")
        };
        let columns = ["trace_id".to_owned(), "end".to_owned()];
        let plan = Plan::of(spans, &columns, "spans__v6_0123456789ab", "db", layout);
        let mut sql = plan.drop_stage.clone();
        sql.extend(plan.create_stage);
        sql.extend([plan.copy, plan.counts, plan.exchange]);
        sql.extend(plan.drop_stage);
        sql.extend(distributed_project("spans", "db", layout));
        sql
    }

    #[test]
    fn one_server_copies_into_a_table_of_its_own_and_swaps_it_in() {
        let sql = spans_rebuild(&Layout::Single);
        assert_eq!(sql.len(), 6);
        assert_eq!(
            sql[0],
            "DROP TABLE IF EXISTS db.spans__v6_0123456789ab SYNC"
        );
        assert!(sql[1].starts_with("CREATE TABLE IF NOT EXISTS db.spans__v6_0123456789ab (\n"));
        assert!(sql[1].contains("ORDER BY (project, toDate(start), trace_id, span_id)"));
        assert_eq!(
            sql[2],
            "INSERT INTO db.spans__v6_0123456789ab (`project`, `trace_id`, `end`) \
             SELECT 1, `trace_id`, `end` FROM db.spans SETTINGS optimize_on_insert = 0"
        );
        assert_eq!(
            sql[4],
            "EXCHANGE TABLES db.spans AND db.spans__v6_0123456789ab"
        );
    }

    /// On a cluster: the copy made `ON CLUSTER` (replicated, by its UUID, with a
    /// `Distributed` table over it), filled through the `Distributed` tables, the local tables
    /// swapped `ON CLUSTER`, the `Distributed` table given `project`.
    #[test]
    fn a_cluster_swaps_its_local_tables_on_every_server() {
        let sql = spans_rebuild(&Layout::Cluster("prod".into()));
        let on = " ON CLUSTER 'prod'";
        assert_eq!(
            &sql[..2],
            [
                format!("DROP TABLE IF EXISTS db.spans__v6_0123456789ab{on} SYNC"),
                format!("DROP TABLE IF EXISTS db.spans__v6_0123456789ab_local{on} SYNC"),
            ]
        );
        assert!(sql[2].starts_with(&format!(
            "CREATE TABLE IF NOT EXISTS db.spans__v6_0123456789ab_local{on} ("
        )));
        assert!(
            sql[2].contains("ReplicatedReplacingMergeTree('/clickhouse/tables/{uuid}/{shard}'")
        );
        assert!(sql[3].ends_with(
            "ENGINE = Distributed('prod', 'db', 'spans__v6_0123456789ab_local', cityHash64(trace_id))"
        ));
        assert!(sql[4].starts_with("INSERT INTO db.spans__v6_0123456789ab ("));
        assert!(sql[4].contains(" FROM db.spans SETTINGS"));
        assert_eq!(
            sql[6],
            format!("EXCHANGE TABLES db.spans_local AND db.spans__v6_0123456789ab_local{on}")
        );
        assert_eq!(
            sql[9],
            format!(
                "ALTER TABLE db.spans{on} ADD COLUMN IF NOT EXISTS project UInt32 DEFAULT 1 FIRST"
            )
        );
    }

    /// ClickHouse's own parser reads every statement of a rebuild on a cluster, the views'
    /// drops included (no cluster runs on the fixture: chdb has no Keeper).
    #[cfg(feature = "testing")]
    #[test]
    fn a_cluster_rebuild_is_valid_clickhouse_sql() {
        let Some(python) = crate::testing::python() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temp dir: {e}"));
        let server = crate::testing::ChdbServer::start(&python, dir.path());
        let client = Client::default().with_url(server.url());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a runtime: {e}"));
        let layout = Layout::Cluster("prod".into());
        let mut sql = spans_rebuild(&layout);
        sql.extend(Statement::DropView("span_rollups_mv").render("db", &layout));
        for statement in sql {
            let formatted: String = runtime
                .block_on(
                    client
                        .query("SELECT formatQuerySingleLine(?)")
                        .bind(statement.as_str())
                        .fetch_one(),
                )
                .unwrap_or_else(|e| panic!("ClickHouse parses {statement}: {e}"));
            // Rows go through the `Distributed` tables; every change of a table is every
            // server's.
            let rows = formatted.starts_with("INSERT") || formatted.starts_with("SELECT");
            assert!(rows || formatted.contains("ON CLUSTER prod"), "{formatted}");
        }
    }
}
