//! The audit log ([`AuditLog`]): who changed what, when, from where — every change made
//! through the API and every sensitive read, appended by the server and never edited. What is
//! an action and how an entry is worded are the server's; a store appends, lists newest first
//! and expires by age.

use crate::error::{BoxError, QueryError};
use crate::projects::ProjectId;

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actor {
    /// `user`, `key`, `token` (a configured token) or `server` (the server itself: provisioning,
    /// retention).
    pub kind: String,
    /// The user's or key's id, if any.
    pub id: Option<u64>,
    /// The user's e-mail address, the key's name, the token's (`api_token`, `read_token`).
    pub name: String,
}

impl Actor {
    /// An actor of `kind` (`user`, `key`, `token`, `server`) with `id`, named `name`.
    pub fn new(kind: impl Into<String>, id: Option<u64>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id,
            name: name.into(),
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Its identity, drawn at random by the server: what tells apart two entries of the same
    /// nanosecond (and orders them).
    pub id: u64,
    /// When, in Unix nanoseconds.
    pub at_unix_nano: u64,
    /// Who.
    pub actor: Actor,
    /// What: `project.create`, `settings.put`, `login.failed`, …
    pub action: String,
    /// On what: a path, a project's name, a user's e-mail address.
    pub target: String,
    /// The project it concerns; `None`: the organization.
    pub project: Option<ProjectId>,
    /// The address the request came from.
    pub address: Option<String>,
    /// The HTTP status answered (a refusal is an entry too).
    pub status: u16,
    /// What was there before a change (a document, a role), if it is kept.
    pub before: Option<String>,
    /// What there is after it.
    pub after: Option<String>,
}

impl AuditEntry {
    /// `actor` did `action` on `target` at `at_unix_nano`, answered `status`; an entry of the
    /// organization, from no known address, keeping nothing of before or after.
    pub fn new(
        id: u64,
        at_unix_nano: u64,
        actor: Actor,
        (action, target): (impl Into<String>, impl Into<String>),
        status: u16,
    ) -> Self {
        Self {
            id,
            at_unix_nano,
            actor,
            action: action.into(),
            target: target.into(),
            project: None,
            address: None,
            status,
            before: None,
            after: None,
        }
    }

    /// Concerning `project`.
    #[must_use]
    pub fn in_project(mut self, project: ProjectId) -> Self {
        self.project = Some(project);
        self
    }

    /// From `address`.
    #[must_use]
    pub fn from_address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// Keeping what was there before and what is there after.
    #[must_use]
    pub fn changing(mut self, before: Option<String>, after: Option<String>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    /// Every entry.
    All,
    /// The organization's own (no project).
    Organization,
    /// One project's.
    Project(ProjectId),
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Whose entries.
    pub scope: AuditScope,
    /// Entries at or after this time.
    pub since_unix_nano: Option<u64>,
    /// Entries before this time.
    pub until_unix_nano: Option<u64>,
    /// Entries whose action starts with this (`settings.`, `login`).
    pub action_prefix: Option<String>,
    /// Entries older than this one (the last of the previous page: its time and id).
    pub before: Option<(u64, u64)>,
    /// At most this many.
    pub limit: usize,
}

impl AuditQuery {
    /// The newest `limit` entries of `scope`.
    pub fn new(scope: AuditScope, limit: usize) -> Self {
        Self {
            scope,
            since_unix_nano: None,
            until_unix_nano: None,
            action_prefix: None,
            before: None,
            limit,
        }
    }

    /// Whether `entry` is one this query lists (past its page's cursor aside).
    pub fn selects(&self, entry: &AuditEntry) -> bool {
        let scoped = match self.scope {
            AuditScope::All => true,
            AuditScope::Organization => entry.project.is_none(),
            AuditScope::Project(p) => entry.project == Some(p),
        };
        scoped
            && self.since_unix_nano.is_none_or(|t| entry.at_unix_nano >= t)
            && self.until_unix_nano.is_none_or(|t| entry.at_unix_nano < t)
            && self
                .action_prefix
                .as_deref()
                .is_none_or(|p| entry.action.starts_with(p))
            && self
                .before
                .is_none_or(|cursor| (entry.at_unix_nano, entry.id) < cursor)
    }
}

/// Appending to the audit log failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The store cannot answer now but may soon.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store failed.
    #[error("the store failed: {0}")]
    Failed(#[source] BoxError),
}

/// The audit log: appended to, read newest first, expired by age. There is no way to change
/// or delete an entry but expiry.
///
/// # Contract (checked by `conformance::accounts`)
/// - Entries are listed newest first (by time, then id, both descending), a page at a time:
///   the last entry of a page is the next page's `before`; an entry appended twice (the same
///   id and time) is listed once.
/// - [`AuditScope::Project`] lists that project's entries only, [`AuditScope::Organization`]
///   those of no project.
/// - [`expire_audit`](Self::expire_audit) removes the entries older than a time, and only
///   those.
///
/// Every method blocks, as the store traits' do.
pub trait AuditLog: Send + Sync {
    /// Appends `entries`.
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), AuditError>;

    /// The entries `query` selects, newest first.
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, QueryError>;

    /// Removes the entries from before `unix_nano`; how many.
    fn expire_audit(&self, unix_nano: u64) -> Result<u64, AuditError>;
}
