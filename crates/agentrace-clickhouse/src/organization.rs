//! Projects on ClickHouse: [`ClickHouseOrganization`], the registry of projects and keys in
//! the database every node of a fleet shares, and each project's store.
//!
//! - **Kept apart by the key.** Every data table leads its sorting key with `project` (see
//!   [`schema`](crate::schema)); a project's store is the database's store scoped to the
//!   project (a clone sharing the client, the runtime and the spans held): its reads begin
//!   `WHERE project = <id>`, its rows name it. A store per project would cost a database of
//!   tables, views and parts per project, each merged on its own; one key costs a column that
//!   compresses to nothing, and a project's queries still read only its own granules.
//! - **The registry.** `projects` and `project_keys` are `ReplacingMergeTree`s on the id: a
//!   change is a newer version of the row; a deleted project and a revoked key stay, marked,
//!   so that an id (`max(id) + 1`) is never given again; `key_uses` keeps each key's latest
//!   use (`max`). What must be checked before it is written (a name free, a project alive, an
//!   id unused) is checked and written under the registry's lock (a table one node at a time
//!   makes, `crate::lock`): nodes creating projects together take turns.
//! - **Settings.** `project_settings` holds a document per project and kind, a newer
//!   revision replacing it (a deletion is a newer row, marked), written under the registry's
//!   lock so that two nodes writing one setting give it two revisions; a deleted project's
//!   settings are read no more.
//! - **People and the audit log** (`accounts`): users, roles, sessions and invitations as
//!   versioned rows of the registry; the audit log appended and expired by age.
//! - **Deleting a project.** Under the lock its entry is marked deleted and its keys revoked:
//!   from then on no key finds it and no store of it is handed out. Then its rows are deleted
//!   from every data table by lightweight deletes (`DELETE FROM … WHERE project = <id>`,
//!   reading only the project's granules, answered once done), and the entry marked purged.
//!   Meanwhile readers of other projects see nothing of it (their reads never name it);
//!   its rows disappear part by part, their bytes freed by the next merges. A node that stops
//!   half-way leaves the entry deleted but not purged: [`ClickHouseOrganization::open`] purges
//!   it again. Stores of it handed out on this node refuse writes; on another node, a store
//!   handed out within the last ten seconds (`CHECKED_FOR`) may still write a batch, into rows no project
//!   reads (its id is never given again), expired with their table's age.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_core::now_unix_nano;
use agentrace_store::{
    KeyHash, KeyId, KeyOwner, KeyScope, NewKey, Organization, Project, ProjectError, ProjectId,
    ProjectName, ProjectSetting, SettingVersion, Store, StoredKey, WriteError,
};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::error;
use crate::lock::Lock;
use crate::schema::data_tables;
use crate::sql;
use crate::store::ClickHouseStore;
use crate::write::ns;

mod accounts;

/// How long a project found alive is taken to be, before [`store`](Organization::store)
/// looks it up again: the longest another node's deletion goes unseen here.
const CHECKED_FOR: Duration = Duration::from_secs(10);

/// The registry's lock: how long its holder may be silent, how often a waiter tries.
const REGISTRY_LOCK: &str = "agentrace_registry_lock";
const REGISTRY_STALE: Duration = Duration::from_secs(30);
const REGISTRY_POLL: Duration = Duration::from_millis(20);

/// A row of `projects`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct ProjectRow {
    id: u32,
    name: String,
    created: i64,
    deleted: u8,
    purged: u8,
    version: u64,
}

impl ProjectRow {
    fn project(&self) -> Result<Project, ProjectError> {
        // Names are checked before they are stored; one that is not was written by hand.
        let name = ProjectName::new(&self.name).map_err(|e| ProjectError::Failed(Box::new(e)))?;
        Ok(Project::new(
            ProjectId(self.id),
            name,
            u64::try_from(self.created).unwrap_or(0),
        ))
    }

    /// The row's next version: newer than its own, and now.
    fn next(&self) -> Self {
        Self {
            version: now_unix_nano().max(self.version.saturating_add(1)),
            ..self.clone()
        }
    }
}

/// A row of `project_keys`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct KeyRow {
    id: u64,
    project: Option<u32>,
    scope: String,
    name: String,
    creator: String,
    created: i64,
    expires: Option<i64>,
    hash: [u8; 32],
    revoked: u8,
    version: u64,
}

/// A row of `project_settings`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct SettingRow {
    project: u32,
    kind: String,
    document: String,
    revision: u64,
    updated_by: String,
    deleted: u8,
}

/// A key as listed: its row's fields but the digest, and its last use.
#[derive(Debug, Row, Deserialize)]
struct ListedKey {
    id: u64,
    project: Option<u32>,
    scope: String,
    name: String,
    creator: String,
    created: i64,
    expires: Option<i64>,
    last_used: Option<i64>,
}

impl ListedKey {
    fn key(self) -> StoredKey {
        let unsigned = |t: i64| u64::try_from(t).unwrap_or(0);
        let mut new = NewKey::new(
            self.project.map(ProjectId),
            // A scope this build does not know grants the least.
            KeyScope::parse(&self.scope).unwrap_or(KeyScope::Ingest),
            self.name,
            self.creator,
            KeyHash([0; 32]),
            unsigned(self.created),
        );
        new.expires_unix_nano = self.expires.map(unsigned);
        let mut key = StoredKey::stored(KeyId(self.id), &new);
        key.last_used_unix_nano = self.last_used.map(unsigned);
        key
    }
}

/// The projects of a ClickHouse database, their keys, and each project's store (see the
/// module's documentation). Every node of a fleet opens its own over the shared database.
pub struct ClickHouseOrganization {
    /// The `default` project's store, whose clones are the others'.
    store: ClickHouseStore,
    /// The stores handed out, each with when its project was last found alive.
    handed: Mutex<HashMap<ProjectId, (Arc<ClickHouseStore>, Instant)>>,
}

impl fmt::Debug for ClickHouseOrganization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseOrganization")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl ClickHouseOrganization {
    /// The organization of the database `store` opened (its migrations made the registry,
    /// with the `default` project, id 1, holding what the database held before projects).
    /// Purges the data of projects whose deletion a node left half-done. Blocks: call it off
    /// async threads.
    ///
    /// # Errors
    /// [`ProjectError::Unavailable`] or [`ProjectError::Failed`] when ClickHouse does not
    /// answer or fails.
    pub fn open(store: ClickHouseStore) -> Result<Self, ProjectError> {
        let organization = Self {
            store,
            handed: Mutex::new(HashMap::new()),
        };
        organization.block_on(async {
            let unpurged: Vec<ProjectRow> = organization
                .project_rows("deleted = 1 AND purged = 0")
                .await?;
            for row in unpurged {
                organization.purge(&row).await?;
            }
            Ok(())
        })?;
        Ok(organization)
    }

    fn block_on<T>(
        &self,
        future: impl Future<Output = Result<T, ProjectError>>,
    ) -> Result<T, ProjectError> {
        self.store.block_on(future)
    }

    fn handed(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ProjectId, (Arc<ClickHouseStore>, Instant)>> {
        self.handed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` holding the registry's lock (released after, whatever `f` returned; a call
    /// given up half-way leaves it to go stale).
    async fn locked<T, E: From<ProjectError>>(
        &self,
        f: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let lock = Lock::new(
            self.store.client(),
            self.store.database(),
            self.store.layout(),
            REGISTRY_LOCK,
        );
        lock.acquire(self.store.node_id(), REGISTRY_STALE, REGISTRY_POLL)
            .await
            .map_err(|e| E::from(error::project(e)))?;
        let result = f().await;
        lock.release()
            .await
            .map_err(|e| E::from(error::project(e)))?;
        result
    }

    /// The newest version of each project's row that `condition` selects, by id.
    async fn project_rows(&self, condition: &str) -> Result<Vec<ProjectRow>, ProjectError> {
        self.store
            .client()
            .query(&format!(
                "SELECT ?fields FROM projects FINAL WHERE {condition} ORDER BY id"
            ))
            .fetch_all()
            .await
            .map_err(error::project)
    }

    /// The live project `id`'s row.
    async fn live(&self, id: ProjectId) -> Result<ProjectRow, ProjectError> {
        self.project_rows(&format!("deleted = 0 AND id = {id}"))
            .await?
            .pop()
            .ok_or(ProjectError::NoProject(id))
    }

    /// Refuses `name` if a live project other than `except` has it.
    async fn check_free(
        &self,
        name: &ProjectName,
        except: Option<ProjectId>,
    ) -> Result<(), ProjectError> {
        let holders: Vec<u32> = self
            .store
            .client()
            .query("SELECT id FROM projects FINAL WHERE deleted = 0 AND name = ?")
            .bind(name.as_str())
            .fetch_all()
            .await
            .map_err(error::project)?;
        if holders.iter().any(|id| Some(ProjectId(*id)) != except) {
            return Err(ProjectError::NameTaken(name.to_string()));
        }
        Ok(())
    }

    async fn insert<R>(&self, table: &str, rows: &[R]) -> Result<(), ProjectError>
    where
        R: Row + Serialize + Send + Sync,
        for<'a> R: clickhouse::RowWrite<Value<'a> = R>,
    {
        self.store
            .insert_rows(table, rows.iter())
            .await
            .map_err(|e| match e {
                WriteError::Unavailable(e) => ProjectError::Unavailable(e),
                other => ProjectError::Failed(Box::new(other)),
            })
    }

    /// Deletes the rows of the project of `row` (deleted already) from every data table, then
    /// marks it purged.
    async fn purge(&self, row: &ProjectRow) -> Result<(), ProjectError> {
        let layout = self.store.layout();
        for table in data_tables() {
            self.store
                .client()
                .query(&format!(
                    "DELETE FROM {} WHERE project = {}",
                    layout.target(table),
                    row.id
                ))
                .execute()
                .await
                .map_err(error::project)?;
        }
        let purged = ProjectRow {
            purged: 1,
            ..row.next()
        };
        self.insert("projects", &[purged]).await
    }

    /// The keys `condition` selects (live ones), with their last use, by id.
    async fn listed_keys(&self, condition: &str) -> Result<Vec<StoredKey>, ProjectError> {
        let rows: Vec<ListedKey> = self
            .store
            .client()
            .query(&format!(
                "SELECT k.id AS id, k.project AS project, CAST(k.scope AS String) AS scope, \
                 k.name AS name, k.creator AS creator, k.created AS created, \
                 k.expires AS expires, if(u.n > 0, u.last, NULL) AS last_used \
                 FROM (SELECT * FROM project_keys FINAL WHERE revoked = 0 AND {condition}) AS k \
                 LEFT JOIN (SELECT id, max(last_used) AS last, count() AS n FROM key_uses \
                 GROUP BY id) AS u ON u.id = k.id ORDER BY id"
            ))
            .fetch_all()
            .await
            .map_err(error::project)?;
        Ok(rows.into_iter().map(ListedKey::key).collect())
    }

    /// The newest row of the setting `kind` of `project`, deleted or not.
    async fn setting_row(
        &self,
        project: ProjectId,
        kind: &str,
    ) -> Result<Option<SettingRow>, ProjectError> {
        Ok(self
            .store
            .client()
            .query(&format!(
                "SELECT ?fields FROM project_settings FINAL WHERE project = {project} AND kind = ?"
            ))
            .bind(kind)
            .fetch_all::<SettingRow>()
            .await
            .map_err(error::project)?
            .pop())
    }
}

impl Organization for ClickHouseOrganization {
    fn projects(&self) -> Result<Vec<Project>, ProjectError> {
        self.block_on(async {
            self.project_rows("deleted = 0")
                .await?
                .iter()
                .map(ProjectRow::project)
                .collect()
        })
    }

    fn create_project(&self, name: &ProjectName) -> Result<Project, ProjectError> {
        self.block_on(self.locked(async || {
            self.check_free(name, None).await?;
            // Over every row, the deleted included: an id is never given again.
            let last: u32 = self
                .store
                .client()
                .query("SELECT max(id) FROM projects")
                .fetch_one()
                .await
                .map_err(error::project)?;
            let id = last
                .checked_add(1)
                .ok_or_else(|| ProjectError::Failed("every project id is taken".into()))?;
            let now = now_unix_nano();
            let row = ProjectRow {
                id,
                name: name.as_str().to_owned(),
                created: ns(now),
                deleted: 0,
                purged: 0,
                version: now,
            };
            self.insert("projects", std::slice::from_ref(&row)).await?;
            row.project()
        }))
    }

    fn rename_project(&self, id: ProjectId, name: &ProjectName) -> Result<Project, ProjectError> {
        self.block_on(self.locked(async || {
            let row = self.live(id).await?;
            self.check_free(name, Some(id)).await?;
            let renamed = ProjectRow {
                name: name.as_str().to_owned(),
                ..row.next()
            };
            self.insert("projects", std::slice::from_ref(&renamed))
                .await?;
            renamed.project()
        }))
    }

    fn delete_project(&self, id: ProjectId) -> Result<(), ProjectError> {
        let deleted = self.block_on(self.locked(async || {
            let live = self.project_rows("deleted = 0").await?;
            let row = live
                .iter()
                .find(|p| p.id == id.0)
                .ok_or(ProjectError::NoProject(id))?;
            if live.len() == 1 {
                return Err(ProjectError::LastProject(row.name.clone()));
            }
            let keys: Vec<KeyRow> = self
                .store
                .client()
                .query(&format!(
                    "SELECT ?fields FROM project_keys FINAL WHERE revoked = 0 AND project = {id}"
                ))
                .fetch_all()
                .await
                .map_err(error::project)?;
            let revoked: Vec<KeyRow> = keys.into_iter().map(revoked).collect();
            self.insert("project_keys", &revoked).await?;
            let deleted = ProjectRow {
                deleted: 1,
                ..row.next()
            };
            self.insert("projects", std::slice::from_ref(&deleted))
                .await?;
            Ok(deleted)
        }))?;
        self.store.refuse_writes_of(id);
        self.handed().remove(&id);
        self.block_on(self.purge(&deleted))
    }

    /// A store handed out before is handed again while ClickHouse does not answer (its own
    /// calls then fail retryably), so that an outage does not turn into "no such project".
    fn store(&self, id: ProjectId) -> Result<Arc<dyn Store>, ProjectError> {
        let handed = {
            let mut handed = self.handed();
            let entry = handed.get_mut(&id);
            match entry {
                Some((store, checked)) if checked.elapsed() < CHECKED_FOR => {
                    return Ok(store.clone());
                }
                // This call checks the project again; the calls meanwhile (many, on a busy
                // node) take the store as checked instead of each asking ClickHouse. A project
                // deleted meanwhile is refused on the next call.
                Some((store, checked)) => {
                    *checked = Instant::now();
                    Some((store.clone(), *checked))
                }
                None => None,
            }
        };
        match (self.block_on(self.live(id)), handed) {
            (Ok(_), _) => {}
            (Err(ProjectError::Unavailable(_)), Some((store, _))) => return Ok(store),
            (Err(e), _) => {
                self.handed().remove(&id);
                return Err(e);
            }
        }
        let store = Arc::new(self.store.in_project(id));
        self.handed().insert(id, (store.clone(), Instant::now()));
        Ok(store)
    }

    fn insert_key(&self, key: &NewKey) -> Result<StoredKey, ProjectError> {
        self.block_on(self.locked(async || {
            if let Some(project) = key.project {
                self.live(project).await?;
            }
            let (last, same): (u64, u64) = self
                .store
                .client()
                .query(&format!(
                    "SELECT toUInt64(ifNull((SELECT max(id) FROM project_keys), 0)), \
                     toUInt64(ifNull((SELECT count() FROM project_keys FINAL \
                      WHERE revoked = 0 AND hash = {}), 0))",
                    sql::bytes_literal(&key.hash.0)
                ))
                .fetch_one()
                .await
                .map_err(error::project)?;
            if same > 0 {
                return Err(ProjectError::Failed(
                    "a key with the same digest is stored".into(),
                ));
            }
            let id = last + 1;
            let row = KeyRow {
                id,
                project: key.project.map(|p| p.0),
                scope: key.scope.as_str().to_owned(),
                name: key.name.clone(),
                creator: key.creator.clone(),
                created: ns(key.created_unix_nano),
                expires: key.expires_unix_nano.map(ns),
                hash: key.hash.0,
                revoked: 0,
                version: now_unix_nano(),
            };
            self.insert("project_keys", &[row]).await?;
            Ok(StoredKey::stored(KeyId(id), key))
        }))
    }

    fn keys(&self, owner: KeyOwner) -> Result<Vec<StoredKey>, ProjectError> {
        let condition = match owner {
            KeyOwner::Organization => "project IS NULL".to_owned(),
            KeyOwner::Project(p) => format!("project = {p}"),
        };
        self.block_on(self.listed_keys(&condition))
    }

    fn revoke_key(&self, id: KeyId) -> Result<(), ProjectError> {
        self.block_on(async {
            let rows: Vec<KeyRow> = self
                .store
                .client()
                .query(&format!(
                    "SELECT ?fields FROM project_keys FINAL WHERE revoked = 0 AND id = {id}"
                ))
                .fetch_all()
                .await
                .map_err(error::project)?;
            let Some(row) = rows.into_iter().next() else {
                return Err(ProjectError::NoKey(id));
            };
            self.insert("project_keys", &[revoked(row)]).await
        })
    }

    fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<StoredKey>, ProjectError> {
        let condition = format!("hash = {}", sql::bytes_literal(&hash.0));
        self.block_on(async { Ok(self.listed_keys(&condition).await?.pop()) })
    }

    fn put_setting(
        &self,
        project: ProjectId,
        kind: &str,
        document: &str,
        updated_by: &str,
        now: u64,
    ) -> Result<ProjectSetting, ProjectError> {
        let row = self
            .put_setting_row(project, kind, (document, updated_by, false), now)?
            .ok_or_else(|| ProjectError::Failed("the setting was not written".into()))?;
        Ok(ProjectSetting::new(
            project,
            kind,
            row.document,
            row.revision,
            row.updated_by,
        ))
    }

    fn setting(
        &self,
        project: ProjectId,
        kind: &str,
    ) -> Result<Option<ProjectSetting>, ProjectError> {
        self.block_on(async {
            if self.live(project).await.is_err() {
                return Ok(None);
            }
            Ok(self
                .setting_row(project, kind)
                .await?
                .filter(|r| r.deleted == 0)
                .map(|r| ProjectSetting::new(project, kind, r.document, r.revision, r.updated_by)))
        })
    }

    fn setting_versions(&self) -> Result<Vec<SettingVersion>, ProjectError> {
        self.block_on(async {
            // Two reads, not `IN (SELECT …)`: on a cluster both tables are distributed, and a
            // distributed subquery of a distributed query is refused.
            let live: Vec<u32> = self
                .project_rows("deleted = 0")
                .await?
                .iter()
                .map(|p| p.id)
                .collect();
            let rows: Vec<(u32, String, u64)> = self
                .store
                .client()
                .query(
                    "SELECT project, CAST(kind AS String), revision FROM project_settings FINAL \
                     WHERE deleted = 0 ORDER BY project, kind",
                )
                .fetch_all()
                .await
                .map_err(error::project)?;
            Ok(rows
                .into_iter()
                .filter(|(project, _, _)| live.contains(project))
                .map(|(project, kind, revision)| SettingVersion {
                    project: ProjectId(project),
                    kind,
                    revision,
                })
                .collect())
        })
    }

    fn delete_setting(&self, project: ProjectId, kind: &str) -> Result<bool, ProjectError> {
        match self.put_setting_row(project, kind, ("", "", true), now_unix_nano()) {
            Ok(row) => Ok(row.is_some()),
            Err(ProjectError::NoProject(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn note_key_uses(&self, uses: &[(KeyId, u64)]) -> Result<(), ProjectError> {
        if uses.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = uses.iter().map(|(id, _)| id.to_string()).collect();
        self.block_on(async {
            let live: Vec<u64> = self
                .store
                .client()
                .query(&format!(
                    "SELECT id FROM project_keys FINAL WHERE revoked = 0 AND id IN ({})",
                    ids.join(", ")
                ))
                .fetch_all()
                .await
                .map_err(error::project)?;
            let rows: Vec<String> = uses
                .iter()
                .filter(|(id, _)| live.contains(&id.0))
                .map(|(id, at)| format!("({id}, {})", sql::time(*at)))
                .collect();
            if rows.is_empty() {
                return Ok(());
            }
            self.store
                .client()
                .query(&format!(
                    "INSERT INTO key_uses (id, last_used) VALUES {}",
                    rows.join(", ")
                ))
                .execute()
                .await
                .map_err(error::project)
        })
    }
}

impl ClickHouseOrganization {
    fn put_setting_row(
        &self,
        project: ProjectId,
        kind: &str,
        (document, updated_by, deleted): (&str, &str, bool),
        now: u64,
    ) -> Result<Option<SettingRow>, ProjectError> {
        // Under the registry's lock: two nodes writing one setting get two revisions.
        self.block_on(self.locked(async || {
            self.live(project).await?;
            let previous = self.setting_row(project, kind).await?;
            if deleted && previous.as_ref().is_none_or(|p| p.deleted == 1) {
                return Ok(None);
            }
            let row = SettingRow {
                project: project.0,
                kind: kind.to_owned(),
                document: document.to_owned(),
                revision: ProjectSetting::next_revision(previous.map(|p| p.revision), now),
                updated_by: updated_by.to_owned(),
                deleted: u8::from(deleted),
            };
            self.insert("project_settings", std::slice::from_ref(&row))
                .await?;
            Ok(Some(row))
        }))
    }
}

/// `row`'s next version, revoked.
fn revoked(row: KeyRow) -> KeyRow {
    KeyRow {
        revoked: 1,
        version: now_unix_nano().max(row.version.saturating_add(1)),
        ..row
    }
}
