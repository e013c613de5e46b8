//! A lock the nodes of a fleet share through their database: a table that one node at a time
//! can make. `CREATE TABLE` without `IF NOT EXISTS` succeeds for one node and fails for the
//! others (`TABLE_ALREADY_EXISTS`; on a cluster, the `ON CLUSTER` queue orders the nodes'
//! statements); dropping the table releases it. Its holder writes heartbeats into it, so that
//! a lock left by a node that died is taken over once it has been silent for a while.
//!
//! What it guards is kept safe without it (a rebuild's copies are each node's own; a
//! registry's rows are checked before they are written), so the one race it leaves — two
//! nodes taking over the same silent lock within the same instant — costs work done twice or
//! a name checked by both, never data.

use std::time::Duration;

use clickhouse::Client;

use crate::error;
use crate::schema::Layout;

/// A lock named by its table.
pub(crate) struct Lock<'a> {
    client: &'a Client,
    database: &'a str,
    layout: &'a Layout,
    name: &'static str,
}

impl<'a> Lock<'a> {
    /// The lock `name` of `database` (on the database laid out as `layout`).
    pub(crate) fn new(
        client: &'a Client,
        database: &'a str,
        layout: &'a Layout,
        name: &'static str,
    ) -> Self {
        Self {
            client,
            database,
            layout,
            name,
        }
    }

    /// Takes the lock for `node` if it is free, or was left silent longer than `stale` (then
    /// it is dropped, and the next try may take it): whether this node holds it now.
    pub(crate) async fn try_acquire(
        &self,
        node: &str,
        stale: Duration,
    ) -> Result<bool, clickhouse::error::Error> {
        let (database, name) = (self.database, self.name);
        let created = self
            .client
            .query(&format!(
                "CREATE TABLE {database}.{name}{} (node String, at DateTime64(3, 'UTC')) \
                 ENGINE = Log",
                self.layout.on_cluster()
            ))
            .execute()
            .await;
        match created {
            Ok(()) => {
                self.heartbeat(node).await?;
                Ok(true)
            }
            Err(e) if error::is_already_there(&e) => {
                match self.silent_for().await {
                    Ok(silent) if silent > stale => self.release().await?,
                    // Released meanwhile: the next try may take it.
                    Err(e) if error::is_unknown_table(&e) => {}
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Takes the lock, trying every `poll` (see [`try_acquire`](Self::try_acquire)), for as
    /// long as the caller waits.
    pub(crate) async fn acquire(
        &self,
        node: &str,
        stale: Duration,
        poll: Duration,
    ) -> Result<(), clickhouse::error::Error> {
        while !self.try_acquire(node, stale).await? {
            tokio::time::sleep(poll).await;
        }
        Ok(())
    }

    /// Says that `node`, holding the lock, is alive.
    pub(crate) async fn heartbeat(&self, node: &str) -> Result<(), clickhouse::error::Error> {
        self.client
            .query(&format!(
                "INSERT INTO {}.{} (node, at) VALUES (?, now64(3))",
                self.database, self.name
            ))
            .bind(node)
            .execute()
            .await
    }

    /// Releases the lock (whoever holds it).
    pub(crate) async fn release(&self) -> Result<(), clickhouse::error::Error> {
        self.client
            .query(&format!(
                "DROP TABLE IF EXISTS {}.{}{} SYNC",
                self.database,
                self.name,
                self.layout.on_cluster()
            ))
            .execute()
            .await
    }

    /// How long its holder has been silent: since its last heartbeat, or since the lock was
    /// made, by the server's clock.
    async fn silent_for(&self) -> Result<Duration, clickhouse::error::Error> {
        let (database, name) = (self.database, self.name);
        let beats = match self.layout {
            Layout::Single => format!("{database}.{name}"),
            Layout::Cluster(c) => format!("clusterAllReplicas('{c}', {database}.{name})"),
        };
        let seconds: i64 = self
            .client
            .query(&format!(
                "SELECT toInt64(ifNull(dateDiff('second', greatest((SELECT max(at) FROM {beats}), \
                 (SELECT toDateTime64(max(metadata_modification_time), 3, 'UTC') \
                  FROM system.tables WHERE database = '{database}' AND name = '{name}')), \
                 now64(3)), 0))"
            ))
            .fetch_one()
            .await?;
        Ok(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
    }
}
