//! Projects and keys: one deployment serves many teams, and none sees another's data.
//!
//! ```text
//! Organization ── projects ── each project's Store (spans, events, scores, rollups, rules …)
//!       └─ keys: of the organization (admin, read, ingest) or of one project (ingest, read, write, admin)
//! ```
//!
//! An [`Organization`] keeps the registry of projects and their keys, and hands out each
//! project's [`Store`]: everything the server stores or reads goes through the store of one
//! project, so nothing (attribution, rollups, alerts, budgets, judges, retention) can cross
//! projects. How a store keeps projects apart is its own: the SQLite store keeps a file per
//! project, the ClickHouse store leads every table's key with the project.

use std::fmt;
use std::sync::Arc;

use crate::error::BoxError;
use crate::{Accounts, AuditLog, Store};

/// The name of the project that holds what a store held before it had projects.
pub const DEFAULT_PROJECT: &str = "default";

/// The longest project name.
pub const MAX_PROJECT_NAME: usize = 64;

/// The rule a project name follows, as errors state it.
pub const PROJECT_NAME_RULE: &str =
    "1 to 64 lowercase letters, digits and '-', starting with a letter or a digit";

/// A project's identity: it never changes, whatever the project is renamed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectId(pub u32);

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A project name: a slug ([`PROJECT_NAME_RULE`]), what URLs, headers and keys name a
/// project by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

impl ProjectName {
    /// `name` if it follows [`PROJECT_NAME_RULE`].
    ///
    /// # Errors
    /// [`InvalidProjectName`] saying the rule.
    pub fn new(name: &str) -> Result<Self, InvalidProjectName> {
        let slug = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let valid = !name.is_empty()
            && name.len() <= MAX_PROJECT_NAME
            && name.chars().all(slug)
            && !name.starts_with('-');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidProjectName(name.chars().take(80).collect()))
        }
    }

    /// The `default` project's name.
    pub fn default_project() -> Self {
        Self(DEFAULT_PROJECT.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name that breaks [`PROJECT_NAME_RULE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is no project name: a project name is {PROJECT_NAME_RULE}")]
pub struct InvalidProjectName(pub String);

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Project {
    /// Its identity.
    pub id: ProjectId,
    /// Its name now.
    pub name: ProjectName,
    /// When it was created.
    pub created_unix_nano: u64,
}

impl Project {
    /// The project `id` named `name`, created at `created_unix_nano`.
    pub fn new(id: ProjectId, name: ProjectName, created_unix_nano: u64) -> Self {
        Self {
            id,
            name,
            created_unix_nano,
        }
    }
}

/// What a key may do. Each scope may do what the ones before it may, but `ingest`, which
/// may only send telemetry: a key baked into an application reads nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    /// Send telemetry, nothing else.
    Ingest,
    /// Read everything of its project(s).
    Read,
    /// Read, and write what is not configuration: annotations, scores, budget checks.
    Write,
    /// Everything, the configuration and the keys included.
    Admin,
}

impl KeyScope {
    /// Every scope, narrowest first.
    pub const ALL: [Self; 4] = [Self::Ingest, Self::Read, Self::Write, Self::Admin];

    /// Its name, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether a key of this scope may do what `needed` allows.
    pub fn allows(self, needed: Self) -> bool {
        match (self, needed) {
            (Self::Ingest, Self::Ingest) | (Self::Admin, _) => true,
            (Self::Ingest, _) | (_, Self::Ingest) => false,
            (have, needed) => have >= needed,
        }
    }
}

impl fmt::Display for KeyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The digest a key is found by (SHA-256 of its secret, computed by the server): a store
/// never sees a secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(…)")
    }
}

/// A key to store: what it may do, where, and the digest of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewKey {
    /// Its project; `None`: a key of the organization.
    pub project: Option<ProjectId>,
    /// What it may do.
    pub scope: KeyScope,
    /// What its creator called it.
    pub name: String,
    /// Who created it.
    pub creator: String,
    /// When it stops working, if ever.
    pub expires_unix_nano: Option<u64>,
    /// The digest of its secret.
    pub hash: KeyHash,
    /// When it was created.
    pub created_unix_nano: u64,
}

impl NewKey {
    /// A key of `scope` in `project` (`None`: the organization's), named `name`, whose secret
    /// has the digest `hash`, created now by `creator`, never expiring.
    pub fn new(
        project: Option<ProjectId>,
        scope: KeyScope,
        name: impl Into<String>,
        creator: impl Into<String>,
        hash: KeyHash,
        created_unix_nano: u64,
    ) -> Self {
        Self {
            project,
            scope,
            name: name.into(),
            creator: creator.into(),
            expires_unix_nano: None,
            hash,
            created_unix_nano,
        }
    }

    /// Expiring at `unix_nano`.
    #[must_use]
    pub fn expiring(mut self, unix_nano: u64) -> Self {
        self.expires_unix_nano = Some(unix_nano);
        self
    }
}

/// A stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredKey {
    /// Its identity.
    pub id: KeyId,
    /// Its project; `None`: a key of the organization.
    pub project: Option<ProjectId>,
    /// What it may do.
    pub scope: KeyScope,
    /// What its creator called it.
    pub name: String,
    /// Who created it.
    pub creator: String,
    /// When it was created.
    pub created_unix_nano: u64,
    /// When it stops working, if ever.
    pub expires_unix_nano: Option<u64>,
    /// When it was last presented, as far as the nodes have told the store.
    pub last_used_unix_nano: Option<u64>,
}

impl StoredKey {
    /// The key `new` stored as `id`, never used.
    pub fn stored(id: KeyId, new: &NewKey) -> Self {
        Self {
            id,
            project: new.project,
            scope: new.scope,
            name: new.name.clone(),
            creator: new.creator.clone(),
            created_unix_nano: new.created_unix_nano,
            expires_unix_nano: new.expires_unix_nano,
            last_used_unix_nano: None,
        }
    }

    /// Whether it works at `now_unix_nano` (not expired).
    pub fn is_live(&self, now_unix_nano: u64) -> bool {
        self.expires_unix_nano.is_none_or(|t| now_unix_nano < t)
    }
}

/// Which keys to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    /// The organization's.
    Organization,
    /// Those of one project.
    Project(ProjectId),
}

/// A project's setting: one document of one kind (its budgets, its alert rules, its
/// retention…). What the kinds are and how their documents read is the server's; a store keeps
/// the text as given and never reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectSetting {
    /// The project.
    pub project: ProjectId,
    /// The kind (`budgets`, `alerts`, …).
    pub kind: String,
    /// The document.
    pub document: String,
    /// When it was last written, in Unix nanoseconds: also its version, which only grows (a
    /// write in the same nanosecond as the one it replaces, or on a clock behind it, gets the
    /// next nanosecond).
    pub revision: u64,
    /// Who wrote it (a key's name, `file:<path>` for a provisioned document).
    pub updated_by: String,
}

impl ProjectSetting {
    /// The setting `kind` of `project`, at `revision`.
    pub fn new(
        project: ProjectId,
        kind: impl Into<String>,
        document: impl Into<String>,
        revision: u64,
        updated_by: impl Into<String>,
    ) -> Self {
        Self {
            project,
            kind: kind.into(),
            document: document.into(),
            revision,
            updated_by: updated_by.into(),
        }
    }

    /// The revision that replaces `previous` when written at `now` (Unix nanoseconds).
    pub fn next_revision(previous: Option<u64>, now: u64) -> u64 {
        previous.map_or(now, |p| now.max(p.saturating_add(1)))
    }
}

/// Which version of each setting a store holds: what a node compares with what it runs on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SettingVersion {
    /// The project.
    pub project: ProjectId,
    /// The kind.
    pub kind: String,
    /// [`ProjectSetting::revision`].
    pub revision: u64,
}

/// An operation on projects or keys failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// The name breaks the rule.
    #[error(transparent)]
    InvalidName(#[from] InvalidProjectName),
    /// Another project has the name.
    #[error("a project named {0:?} exists")]
    NameTaken(String),
    /// No such project.
    #[error("no project {0}")]
    NoProject(ProjectId),
    /// The only project cannot be deleted.
    #[error("{0:?} is the only project: create another before deleting it")]
    LastProject(String),
    /// No such key.
    #[error("no key {0}")]
    NoKey(KeyId),
    /// The store cannot answer now but may soon.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store failed.
    #[error("the store failed: {0}")]
    Failed(#[source] BoxError),
}

/// The projects of a deployment, their keys, and the way to each project's [`Store`].
///
/// # Contract (checked by `conformance::projects`)
/// - A fresh organization holds one project, [`DEFAULT_PROJECT`]; a store written before it
///   had projects opens with everything it held in that project, unchanged.
/// - Names are unique ([`ProjectError::NameTaken`]); a project keeps its id when renamed;
///   ids are never reused.
/// - [`store`](Self::store) of two projects are two stores that share nothing: what is
///   written to one is never read from the other, the same trace id in both is two traces,
///   and retention, repairs, rollups and scores of one never touch the other.
/// - [`delete_project`](Self::delete_project) removes the project, its data and its keys;
///   the last project is never deleted ([`ProjectError::LastProject`]).
/// - A key is found by the digest of its secret until it is revoked (or its project
///   deleted); expiry is the caller's to check ([`StoredKey::is_live`]).
/// - A project's settings are one document per kind: a write replaces the kind's document
///   and its revision only grows; [`setting_versions`](Self::setting_versions) lists every
///   project's, and a deleted setting (or project) is listed no more.
///
/// An organization also keeps its people ([`Accounts`]) and its audit log ([`AuditLog`]).
///
/// Every method blocks, as the store traits' do.
pub trait Organization: Accounts + AuditLog + fmt::Debug + Send + Sync + 'static {
    /// Every project, by id.
    fn projects(&self) -> Result<Vec<Project>, ProjectError>;

    /// Creates the project `name`.
    fn create_project(&self, name: &ProjectName) -> Result<Project, ProjectError>;

    /// Renames the project `id` to `name`.
    fn rename_project(&self, id: ProjectId, name: &ProjectName) -> Result<Project, ProjectError>;

    /// Deletes the project `id`: its data, then its keys and its entry.
    fn delete_project(&self, id: ProjectId) -> Result<(), ProjectError>;

    /// The store of the project `id`: everything written to or read from it is that
    /// project's.
    fn store(&self, id: ProjectId) -> Result<Arc<dyn Store>, ProjectError>;

    /// Stores `key`.
    fn insert_key(&self, key: &NewKey) -> Result<StoredKey, ProjectError>;

    /// The keys of `owner`, by id.
    fn keys(&self, owner: KeyOwner) -> Result<Vec<StoredKey>, ProjectError>;

    /// Revokes the key `id`: it is found no more.
    fn revoke_key(&self, id: KeyId) -> Result<(), ProjectError>;

    /// The key whose secret has the digest `hash`.
    fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<StoredKey>, ProjectError>;

    /// Notes when keys were last presented (`(key, unix_nano)`; a key gone is skipped, a
    /// time older than the one noted leaves it).
    fn note_key_uses(&self, uses: &[(KeyId, u64)]) -> Result<(), ProjectError>;

    /// Writes the setting `kind` of `project` (replacing the one it has) as `updated_by` at
    /// `now` (Unix nanoseconds); returns it with its revision.
    fn put_setting(
        &self,
        project: ProjectId,
        kind: &str,
        document: &str,
        updated_by: &str,
        now: u64,
    ) -> Result<ProjectSetting, ProjectError>;

    /// The setting `kind` of `project`, if it has one.
    fn setting(
        &self,
        project: ProjectId,
        kind: &str,
    ) -> Result<Option<ProjectSetting>, ProjectError>;

    /// Every project's settings' versions, by project and kind.
    fn setting_versions(&self) -> Result<Vec<SettingVersion>, ProjectError>;

    /// Deletes the setting `kind` of `project`; whether it had one.
    fn delete_setting(&self, project: ProjectId, kind: &str) -> Result<bool, ProjectError>;

    /// The project named `name`.
    fn project_named(&self, name: &str) -> Result<Option<Project>, ProjectError> {
        Ok(self
            .projects()?
            .into_iter()
            .find(|p| p.name.as_str() == name))
    }
}
