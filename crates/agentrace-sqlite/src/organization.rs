//! Projects on SQLite: a file per project, and a small registry file of projects and keys (and
//! of people and the audit log, `accounts`).
//!
//! ```text
//! agentrace.db                the `default` project (a store written before projects, as it was)
//! agentrace.projects.db       the registry: projects (id, name, file), keys (digests only),
//!                             users, their roles, sessions, invitations, the audit log
//! agentrace.projects/7.db     the project of id 7, and so on
//! ```
//!
//! Why a file per project rather than a project column leading every index: isolation is the
//! file system's, not a `WHERE` clause every query must remember; a small project's queries
//! walk its own B-trees, however large the others are; deleting a project unlinks its files
//! at once; each project has its own writer, so projects write in parallel; and a store
//! written before projects is the `default` project without moving a byte. What it costs: a
//! project's store holds a writer, a checkpointing thread and up to four readers while open,
//! so the organization keeps at most [`OrganizationOptions::max_open`] stores open, closing
//! the least recently used (a closed project reopens in about a millisecond).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agentrace_store::{
    DEFAULT_PROJECT, KeyHash, KeyId, KeyOwner, KeyScope, NewKey, Organization, Project,
    ProjectError, ProjectId, ProjectName, ProjectSetting, SettingVersion, Store, StoredKey,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::{DbError, OpenError};

mod accounts;
use crate::store::{SqliteStore, StoreOptions};

/// Project stores kept open by default ([`OrganizationOptions::max_open`]).
pub const DEFAULT_MAX_OPEN_PROJECTS: usize = 64;

/// How an organization is opened ([`SqliteOrganization::open_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrganizationOptions {
    /// How each project's store is opened.
    pub store: StoreOptions,
    /// Project stores kept open at once (at least 1); the least recently used closes first.
    pub max_open: usize,
}

impl Default for OrganizationOptions {
    fn default() -> Self {
        Self {
            store: StoreOptions::default(),
            max_open: DEFAULT_MAX_OPEN_PROJECTS,
        }
    }
}

impl OrganizationOptions {
    /// Sets [`store`](Self::store).
    #[must_use]
    pub fn store(mut self, options: StoreOptions) -> Self {
        self.store = options;
        self
    }

    /// Sets [`max_open`](Self::max_open).
    #[must_use]
    pub fn max_open(mut self, stores: usize) -> Self {
        self.max_open = stores.max(1);
        self
    }
}

/// The projects of a deployment on SQLite: the main file is the `default` project, each other
/// project a file of its own (see the module's documentation).
pub struct SqliteOrganization {
    main: PathBuf,
    registry: Mutex<Connection>,
    open: Mutex<OpenStores>,
    options: OrganizationOptions,
}

impl std::fmt::Debug for SqliteOrganization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOrganization")
            .field("main", &self.main)
            .finish_non_exhaustive()
    }
}

/// The stores open now, each with the tick it was last handed out at.
#[derive(Default)]
struct OpenStores {
    stores: HashMap<ProjectId, (Arc<SqliteStore>, u64)>,
    tick: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failed(e: rusqlite::Error) -> ProjectError {
    let e = DbError(e);
    if e.is_busy() {
        ProjectError::Unavailable(Box::new(e))
    } else {
        ProjectError::Failed(Box::new(e))
    }
}

const REGISTRY_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS projects (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT NOT NULL UNIQUE,
        file       TEXT NOT NULL,
        created_ns INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS keys (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        project      INTEGER REFERENCES projects(id) ON DELETE CASCADE,
        scope        TEXT NOT NULL,
        name         TEXT NOT NULL,
        creator      TEXT NOT NULL,
        created_ns   INTEGER NOT NULL,
        expires_ns   INTEGER,
        last_used_ns INTEGER,
        hash         BLOB NOT NULL UNIQUE
    );
    CREATE INDEX IF NOT EXISTS keys_by_project ON keys (project, id);
    CREATE TABLE IF NOT EXISTS settings (
        project    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        document   TEXT NOT NULL,
        revision   INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (project, kind)
    ) WITHOUT ROWID;
";

impl SqliteOrganization {
    /// Opens the organization whose `default` project is the store at `main` (created if
    /// missing), with its registry beside it (`<main>.projects.db`, created on first open
    /// with the `default` project in it).
    pub fn open(main: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(main, OrganizationOptions::default())
    }

    /// Opens the organization as [`open`](Self::open) does, with `options`.
    pub fn open_with(
        main: impl AsRef<Path>,
        options: OrganizationOptions,
    ) -> Result<Self, OpenError> {
        let main = main.as_ref().to_owned();
        let registry_path = main.with_extension("projects.db");
        let err = |e: rusqlite::Error| OpenError::Open {
            path: registry_path.clone(),
            source: DbError(e),
        };
        let conn = Connection::open_with_flags(
            &registry_path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        conn.execute_batch(REGISTRY_SCHEMA).map_err(err)?;
        conn.execute_batch(accounts::SCHEMA).map_err(err)?;
        let main_name = main
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A store written before projects: everything it holds is the `default` project's.
        conn.execute(
            "INSERT INTO projects (name, file, created_ns)
             SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM projects)",
            params![DEFAULT_PROJECT, main_name, now_ns()],
        )
        .map_err(err)?;
        // The main file is opened (created, migrated) now, so that a file that is no store
        // fails the open, not the first request.
        let main_project: Option<u32> = conn
            .query_row(
                "SELECT id FROM projects WHERE file = ?1",
                [&main_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        let mut open = OpenStores::default();
        if let Some(id) = main_project {
            let store = SqliteStore::open_with(&main, &options.store)?;
            open.stores.insert(ProjectId(id), (Arc::new(store), 0));
        }
        let organization = Self {
            main,
            registry: Mutex::new(conn),
            open: Mutex::new(open),
            options,
        };
        organization.sweep_deleted_files();
        Ok(organization)
    }

    /// The directory of the project files.
    fn projects_dir(&self) -> PathBuf {
        self.main.with_extension("projects")
    }

    /// The file of the project `id`, if it exists.
    fn file_of(&self, id: ProjectId) -> Result<PathBuf, ProjectError> {
        let file: Option<String> = lock(&self.registry)
            .query_row("SELECT file FROM projects WHERE id = ?1", [id.0], |r| {
                r.get(0)
            })
            .optional()
            .map_err(failed)?;
        let file = file.ok_or(ProjectError::NoProject(id))?;
        Ok(self.main.with_file_name(file))
    }

    fn open_store(&self, id: ProjectId) -> Result<Arc<SqliteStore>, ProjectError> {
        let mut open = lock(&self.open);
        open.tick += 1;
        let tick = open.tick;
        if let Some((store, used)) = open.stores.get_mut(&id) {
            *used = tick;
            return Ok(store.clone());
        }
        let path = self.file_of(id)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ProjectError::Failed(Box::new(e)))?;
        }
        let store = Arc::new(
            SqliteStore::open_with(&path, &self.options.store)
                .map_err(|e| ProjectError::Failed(Box::new(e)))?,
        );
        while open.stores.len() >= self.options.max_open {
            let Some(oldest) = open
                .stores
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            // Whoever still holds it keeps using it; it closes when the last holder drops it.
            open.stores.remove(&oldest);
        }
        open.stores.insert(id, (store.clone(), tick));
        Ok(store)
    }

    /// Removes the files of projects deleted while a file could not be removed.
    fn sweep_deleted_files(&self) {
        let Ok(entries) = std::fs::read_dir(self.projects_dir()) else {
            return;
        };
        let Ok(projects) = self.projects() else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let id = name
                .split('.')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .map(ProjectId);
            if id.is_some_and(|id| !projects.iter().any(|p| p.id == id)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn project_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
    let name: String = row.get(1)?;
    let created: i64 = row.get(2)?;
    // Names are checked before they are stored; one that is not was edited by hand.
    let name = ProjectName::new(&name).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Project::new(
        ProjectId(row.get(0)?),
        name,
        u64::try_from(created).unwrap_or(0),
    ))
}

const KEY_COLUMNS: &str = "id, project, scope, name, creator, created_ns, expires_ns, last_used_ns";

fn key_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    let scope: String = row.get(2)?;
    let unsigned = |t: i64| u64::try_from(t).unwrap_or(0);
    let id: i64 = row.get(0)?;
    let mut new = NewKey::new(
        row.get::<_, Option<u32>>(1)?.map(ProjectId),
        // A scope this build does not know grants the least.
        KeyScope::parse(&scope).unwrap_or(KeyScope::Ingest),
        row.get::<_, String>(3)?,
        row.get::<_, String>(4)?,
        KeyHash([0; 32]),
        unsigned(row.get(5)?),
    );
    new.expires_unix_nano = row.get::<_, Option<i64>>(6)?.map(unsigned);
    let mut key = StoredKey::stored(KeyId(unsigned(id)), &new);
    key.last_used_unix_nano = row.get::<_, Option<i64>>(7)?.map(unsigned);
    Ok(key)
}

fn nanos(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Whether `e` is a `UNIQUE` constraint's refusal.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    extended_code(e) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Whether `e` is a foreign key's refusal (a key of a project that is gone).
fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    extended_code(e) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn extended_code(e: &rusqlite::Error) -> Option<std::ffi::c_int> {
    match e {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    }
}

impl Organization for SqliteOrganization {
    fn projects(&self) -> Result<Vec<Project>, ProjectError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached("SELECT id, name, created_ns FROM projects ORDER BY id")
            .map_err(failed)?;
        let rows = statement.query_map([], project_of).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn create_project(&self, name: &ProjectName) -> Result<Project, ProjectError> {
        let conn = lock(&self.registry);
        let created = now_ns();
        let inserted = conn.execute(
            "INSERT INTO projects (name, file, created_ns) VALUES (?1, '', ?2)",
            params![name.as_str(), created],
        );
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(ProjectError::NameTaken(name.to_string()));
            }
            other => other.map_err(failed)?,
        };
        let id = u32::try_from(conn.last_insert_rowid())
            .map_err(|e| ProjectError::Failed(Box::new(e)))?;
        let projects_dir =
            Path::new(self.main.file_name().unwrap_or_default()).with_extension("projects");
        let file = projects_dir.join(format!("{id}.db"));
        conn.execute(
            "UPDATE projects SET file = ?1 WHERE id = ?2",
            params![file.to_string_lossy(), id],
        )
        .map_err(failed)?;
        Ok(Project::new(
            ProjectId(id),
            name.clone(),
            u64::try_from(created).unwrap_or(0),
        ))
    }

    fn rename_project(&self, id: ProjectId, name: &ProjectName) -> Result<Project, ProjectError> {
        let conn = lock(&self.registry);
        let renamed = conn.execute(
            "UPDATE projects SET name = ?1 WHERE id = ?2",
            params![name.as_str(), id.0],
        );
        match renamed {
            Err(e) if is_unique_violation(&e) => Err(ProjectError::NameTaken(name.to_string())),
            Err(e) => Err(failed(e)),
            Ok(0) => Err(ProjectError::NoProject(id)),
            Ok(_) => conn
                .query_row(
                    "SELECT id, name, created_ns FROM projects WHERE id = ?1",
                    [id.0],
                    project_of,
                )
                .map_err(failed),
        }
    }

    fn delete_project(&self, id: ProjectId) -> Result<(), ProjectError> {
        let path = self.file_of(id)?;
        {
            let mut conn = lock(&self.registry);
            let tx = conn.transaction().map_err(failed)?;
            let others: i64 = tx
                .query_row(
                    "SELECT count(*) FROM projects WHERE id != ?1",
                    [id.0],
                    |r| r.get(0),
                )
                .map_err(failed)?;
            if others == 0 {
                let name: String = tx
                    .query_row("SELECT name FROM projects WHERE id = ?1", [id.0], |r| {
                        r.get(0)
                    })
                    .map_err(failed)?;
                return Err(ProjectError::LastProject(name));
            }
            // Its keys first, in the same transaction: from the commit on, none works.
            tx.execute("DELETE FROM keys WHERE project = ?1", [id.0])
                .map_err(failed)?;
            tx.execute("DELETE FROM settings WHERE project = ?1", [id.0])
                .map_err(failed)?;
            tx.execute("DELETE FROM projects WHERE id = ?1", [id.0])
                .map_err(failed)?;
            tx.commit().map_err(failed)?;
        }
        if let Some((store, _)) = lock(&self.open).stores.remove(&id) {
            // Refuses later writes of whoever still holds it.
            store.refuse_writes();
        }
        for suffix in ["", "-wal", "-shm"] {
            match std::fs::remove_file(sibling(&path, suffix)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    // Swept at the next open.
                    return Err(ProjectError::Failed(Box::new(e)));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn store(&self, id: ProjectId) -> Result<Arc<dyn Store>, ProjectError> {
        Ok(self.open_store(id)?)
    }

    fn insert_key(&self, key: &NewKey) -> Result<StoredKey, ProjectError> {
        let conn = lock(&self.registry);
        let inserted = conn.execute(
            "INSERT INTO keys (project, scope, name, creator, created_ns, expires_ns, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                key.project.map(|p| p.0),
                key.scope.as_str(),
                key.name,
                key.creator,
                nanos(key.created_unix_nano),
                key.expires_unix_nano.map(nanos),
                key.hash.0.as_slice(),
            ],
        );
        match inserted {
            Err(e) if is_foreign_key_violation(&e) => {
                Err(ProjectError::NoProject(key.project.unwrap_or(ProjectId(0))))
            }
            Err(e) => Err(failed(e)),
            Ok(_) => {
                let id = u64::try_from(conn.last_insert_rowid())
                    .map_err(|e| ProjectError::Failed(Box::new(e)))?;
                Ok(StoredKey::stored(KeyId(id), key))
            }
        }
    }

    fn keys(&self, owner: KeyOwner) -> Result<Vec<StoredKey>, ProjectError> {
        let conn = lock(&self.registry);
        let (sql, project) = match owner {
            KeyOwner::Organization => (
                format!("SELECT {KEY_COLUMNS} FROM keys WHERE project IS NULL ORDER BY id"),
                None,
            ),
            KeyOwner::Project(p) => (
                format!("SELECT {KEY_COLUMNS} FROM keys WHERE project = ?1 ORDER BY id"),
                Some(p.0),
            ),
        };
        let mut statement = conn.prepare_cached(&sql).map_err(failed)?;
        let rows = match project {
            Some(p) => statement.query_map([p], key_of),
            None => statement.query_map([], key_of),
        }
        .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn revoke_key(&self, id: KeyId) -> Result<(), ProjectError> {
        let deleted = lock(&self.registry)
            .execute("DELETE FROM keys WHERE id = ?1", [nanos(id.0)])
            .map_err(failed)?;
        if deleted == 0 {
            Err(ProjectError::NoKey(id))
        } else {
            Ok(())
        }
    }

    fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<StoredKey>, ProjectError> {
        let conn = lock(&self.registry);
        conn.query_row(
            &format!("SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?1"),
            [hash.0.as_slice()],
            key_of,
        )
        .optional()
        .map_err(failed)
    }

    fn note_key_uses(&self, uses: &[(KeyId, u64)]) -> Result<(), ProjectError> {
        let mut conn = lock(&self.registry);
        let tx = conn.transaction().map_err(failed)?;
        {
            let mut statement = tx
                .prepare_cached(
                    "UPDATE keys SET last_used_ns = ?2
                     WHERE id = ?1 AND (last_used_ns IS NULL OR last_used_ns < ?2)",
                )
                .map_err(failed)?;
            for (id, at) in uses {
                statement
                    .execute(params![nanos(id.0), nanos(*at)])
                    .map_err(failed)?;
            }
        }
        tx.commit().map_err(failed)
    }

    fn put_setting(
        &self,
        project: ProjectId,
        kind: &str,
        document: &str,
        updated_by: &str,
        now: u64,
    ) -> Result<ProjectSetting, ProjectError> {
        let mut conn = lock(&self.registry);
        let tx = conn.transaction().map_err(failed)?;
        let previous: Option<i64> = tx
            .query_row(
                "SELECT revision FROM settings WHERE project = ?1 AND kind = ?2",
                params![project.0, kind],
                |r| r.get(0),
            )
            .optional()
            .map_err(failed)?;
        let revision =
            ProjectSetting::next_revision(previous.map(|p| u64::try_from(p).unwrap_or(0)), now);
        let written = tx.execute(
            "INSERT INTO settings (project, kind, document, revision, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (project, kind) DO UPDATE SET
                 document = excluded.document, revision = excluded.revision,
                 updated_by = excluded.updated_by",
            params![project.0, kind, document, nanos(revision), updated_by],
        );
        match written {
            Err(e) if is_foreign_key_violation(&e) => Err(ProjectError::NoProject(project)),
            Err(e) => Err(failed(e)),
            Ok(_) => {
                tx.commit().map_err(failed)?;
                Ok(ProjectSetting::new(
                    project, kind, document, revision, updated_by,
                ))
            }
        }
    }

    fn setting(
        &self,
        project: ProjectId,
        kind: &str,
    ) -> Result<Option<ProjectSetting>, ProjectError> {
        lock(&self.registry)
            .query_row(
                "SELECT document, revision, updated_by FROM settings
                 WHERE project = ?1 AND kind = ?2",
                params![project.0, kind],
                |r| {
                    Ok(ProjectSetting::new(
                        project,
                        kind,
                        r.get::<_, String>(0)?,
                        u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(failed)
    }

    fn setting_versions(&self) -> Result<Vec<SettingVersion>, ProjectError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached("SELECT project, kind, revision FROM settings ORDER BY project, kind")
            .map_err(failed)?;
        let rows = statement
            .query_map([], |r| {
                Ok(SettingVersion {
                    project: ProjectId(r.get(0)?),
                    kind: r.get(1)?,
                    revision: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn delete_setting(&self, project: ProjectId, kind: &str) -> Result<bool, ProjectError> {
        let deleted = lock(&self.registry)
            .execute(
                "DELETE FROM settings WHERE project = ?1 AND kind = ?2",
                params![project.0, kind],
            )
            .map_err(failed)?;
        Ok(deleted > 0)
    }
}
