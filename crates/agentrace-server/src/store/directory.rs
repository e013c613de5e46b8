//! Who is asking, and which project they act on: keys found by the digest of their secret,
//! projects by name, both cached for [`CACHE_TTL`] so that a request does not wait for the
//! store, and both answered from the store the whole fleet shares.
//!
//! A key revoked or a project deleted on another node stops working here within
//! [`CACHE_TTL`]; on the node that did it, at once (its cache is cleared). The store is read
//! once for many: the requests that find an entry missing or expired at the same moment (64
//! in flight when a key's entry expires) wait for one read instead of each making its own,
//! which on a busy node turned every expiry into a stall (measured: −11 % ingest on the chdb
//! fixture, docs/benchmark-notebook.md §11). While the store
//! does not answer, what was cached keeps being used (a request then fails, or succeeds, on
//! the store's own account, as before projects): an outage of the store never turns every
//! request into a refusal of its credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use agentrace_store::{
    AccountError, DEFAULT_PROJECT, KeyHash, KeyId, LoginSession, Project, ProjectError, ProjectId,
    SecretHash, StoredKey,
};
use sha2::{Digest, Sha256};

pub use super::principal::{Person, Principal};
use super::{SharedOrganization, SharedStore};

/// How long a key or a project is trusted from the cache: the bound on how long a key
/// revoked (or a project deleted) on another node keeps working here.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries the key cache holds at most (unknown secrets included, so that guessing cannot
/// grow it without bound); beyond, it starts over.
const MAX_CACHED_KEYS: usize = 10_000;

/// How a key's secret starts: so that a leaked one is recognized by secret scanners.
pub const KEY_PREFIX: &str = "agt_";

/// A request's project could not be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectRefusal {
    /// The key belongs to another project.
    #[error("this key belongs to project {key_project:?}; it may not act on project {asked:?}")]
    OtherProject {
        /// The key's project.
        key_project: String,
        /// The project asked for.
        asked: String,
    },
    /// No project has that name.
    #[error("no project named {0:?}")]
    NoProject(String),
    /// The key's project is gone.
    #[error("the key's project (id {0}) no longer exists")]
    KeyProjectGone(ProjectId),
    /// The store did not answer.
    #[error("the projects could not be read: {0}")]
    Store(String),
}

/// The digest a key is stored under.
pub(crate) fn key_hash(secret: &[u8]) -> KeyHash {
    KeyHash(Sha256::digest(secret).into())
}

/// A new key's secret (`agt_` and 43 characters of base64url: 256 random bits) and its
/// digest.
pub(crate) fn new_secret() -> Result<(String, KeyHash), getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let secret = format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = key_hash(secret.as_bytes());
    Ok((secret, hash))
}

/// Keys and projects, cached; the stores of projects.
#[derive(Debug)]
pub struct Directory {
    organization: SharedOrganization,
    keys: Cache<KeyHash, Option<StoredKey>>,
    projects: Mutex<Option<(Instant, Arc<[Project]>)>>,
    /// People's login sessions by the digest of their cookie, with their person.
    sessions: Cache<SecretHash, Option<SignedIn>>,
    /// Held while the store is read for a key or the projects: those who wait for it find
    /// what it read in the cache.
    reading: tokio::sync::Mutex<()>,
    /// When each key was last presented, since the last [`take_uses`](Self::take_uses).
    uses: Mutex<HashMap<KeyId, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the store answered for each key (a key's digest, a session's), trusted for
/// [`CACHE_TTL`]; at most [`MAX_CACHED_KEYS`] answers.
#[derive(Debug)]
struct Cache<K, V>(Mutex<HashMap<K, (Instant, V)>>);

impl<K: std::hash::Hash + Eq + Copy, V: Clone + Send + 'static> Cache<K, V> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn fresh(&self, key: &K) -> Option<V> {
        lock(&self.0)
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, value)| value.clone())
    }

    /// The answer for `key`: the cached one while fresh, else `read` from the store, by one
    /// request at a time under `reading` (those who waited find it cached). While the store
    /// is unavailable, the answer cached before, however old.
    async fn get(
        &self,
        key: K,
        reading: &tokio::sync::Mutex<()>,
        read: impl FnOnce() -> Result<V, ProjectError> + Send + 'static,
    ) -> Result<V, ProjectError> {
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let _reading = reading.lock().await;
        // Read meanwhile by the request this one waited for.
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let stale = lock(&self.0).get(&key).map(|(_, value)| value.clone());
        match blocking(read).await {
            Ok(value) => {
                let mut cached = lock(&self.0);
                if cached.len() >= MAX_CACHED_KEYS {
                    cached.clear();
                }
                cached.insert(key, (Instant::now(), value.clone()));
                Ok(value)
            }
            Err(ProjectError::Unavailable(e)) => stale.ok_or(ProjectError::Unavailable(e)),
            Err(e) => Err(e),
        }
    }

    fn clear(&self) {
        lock(&self.0).clear();
    }
}

impl Directory {
    /// The directory of `organization`.
    pub fn new(organization: SharedOrganization) -> Self {
        Self {
            organization,
            keys: Cache::new(),
            projects: Mutex::new(None),
            sessions: Cache::new(),
            reading: tokio::sync::Mutex::new(()),
            uses: Mutex::new(HashMap::new()),
        }
    }

    /// The organization.
    pub fn organization(&self) -> &SharedOrganization {
        &self.organization
    }

    /// The principal of the stored key whose secret is `secret`, if one is live; notes its use.
    pub async fn principal_of_key(&self, secret: &[u8]) -> Result<Option<Principal>, ProjectError> {
        let hash = key_hash(secret);
        let organization = self.organization.clone();
        let key = self
            .keys
            .get(hash, &self.reading, move || organization.key_by_hash(&hash))
            .await?;
        Ok(self.used(key))
    }

    /// The principal of `key` if it is live, its use noted.
    fn used(&self, key: Option<StoredKey>) -> Option<Principal> {
        let now = agentrace_core::now_unix_nano();
        key.filter(|k| k.is_live(now)).map(|k| {
            lock(&self.uses).insert(k.id, now);
            Principal::of_key(&k)
        })
    }

    /// The person signed in with the session whose cookie has the digest `hash`, and the
    /// session, while it is live: a session ended, expired, or whose person was removed (or
    /// their roles changed) is known as such here within [`CACHE_TTL`].
    pub async fn person_of_session(
        &self,
        hash: SecretHash,
    ) -> Result<Option<(LoginSession, Principal)>, ProjectError> {
        let organization = self.organization.clone();
        let found = self
            .sessions
            .get(hash, &self.reading, move || {
                signed_in(&*organization, &hash)
            })
            .await?;
        let now = agentrace_core::now_unix_nano();
        Ok(found
            .filter(|(session, _)| session.is_live(now))
            .map(|(session, person)| (session, Principal::of_person(person))))
    }

    /// Every project, from the cache when it is fresh.
    pub async fn projects(&self) -> Result<Arc<[Project]>, ProjectError> {
        let fresh = || {
            lock(&self.projects)
                .as_ref()
                .filter(|(at, _)| at.elapsed() < CACHE_TTL)
                .map(|(_, projects)| projects.clone())
        };
        if let Some(projects) = fresh() {
            return Ok(projects);
        }
        self.read_projects(Instant::now()).await
    }

    /// Every project, read from the store after `since` (the cache refreshed; while the store
    /// does not answer, what is cached): what a request waited for, if it was read since.
    async fn read_projects(&self, since: Instant) -> Result<Arc<[Project]>, ProjectError> {
        let _reading = self.reading.lock().await;
        if let Some((at, projects)) = &*lock(&self.projects)
            && *at >= since
        {
            return Ok(projects.clone());
        }
        let organization = self.organization.clone();
        match blocking(move || organization.projects()).await {
            Ok(projects) => {
                let projects: Arc<[Project]> = projects.into();
                *lock(&self.projects) = Some((Instant::now(), projects.clone()));
                Ok(projects)
            }
            Err(ProjectError::Unavailable(e)) => match &*lock(&self.projects) {
                Some((_, stale)) => Ok(stale.clone()),
                None => Err(ProjectError::Unavailable(e)),
            },
            Err(e) => Err(e),
        }
    }

    /// Forgets what is cached: after this node changed projects or keys.
    pub fn forget(&self) {
        self.keys.clear();
        self.sessions.clear();
        *lock(&self.projects) = None;
    }

    /// The project `principal` acts on: the one its key belongs to, else the one `asked`
    /// names (the `x-agentrace-project` header), else `default` (or the first project, if `default`
    /// was deleted). A project the cache does not know (made on another node since it was
    /// read) is looked up in the store before it is refused.
    pub async fn project_for(
        &self,
        principal: &Principal,
        asked: Option<&str>,
    ) -> Result<Project, ProjectRefusal> {
        let store = |e: ProjectError| ProjectRefusal::Store(e.to_string());
        let asking = Instant::now();
        let cached = self.projects().await.map_err(store)?;
        match self.resolve(&cached, principal, asked) {
            Err(ProjectRefusal::NoProject(_) | ProjectRefusal::KeyProjectGone(_)) => {
                let read = self.read_projects(asking).await.map_err(store)?;
                self.resolve(&read, principal, asked)
            }
            resolved => resolved,
        }
    }

    /// [`project_for`](Self::project_for) among `projects`.
    fn resolve(
        &self,
        projects: &[Project],
        principal: &Principal,
        asked: Option<&str>,
    ) -> Result<Project, ProjectRefusal> {
        let named = |name: &str| projects.iter().find(|p| p.name.as_str() == name);
        match (principal.project, asked) {
            (Some(own), asked) => {
                let project = projects
                    .iter()
                    .find(|p| p.id == own)
                    .ok_or(ProjectRefusal::KeyProjectGone(own))?;
                match asked {
                    Some(asked) if asked != project.name.as_str() => {
                        Err(ProjectRefusal::OtherProject {
                            key_project: project.name.to_string(),
                            asked: asked.to_owned(),
                        })
                    }
                    _ => Ok(project.clone()),
                }
            }
            // A project hidden from a person is as one that does not exist.
            (None, Some(asked)) => named(asked)
                .filter(|p| principal.may_see(p.id))
                .cloned()
                .ok_or_else(|| ProjectRefusal::NoProject(asked.to_owned())),
            (None, None) => named(DEFAULT_PROJECT)
                .filter(|p| principal.may_see(p.id))
                .or_else(|| projects.iter().find(|p| principal.may_see(p.id)))
                .cloned()
                .ok_or_else(|| ProjectRefusal::NoProject(DEFAULT_PROJECT.to_owned())),
        }
    }

    /// The store of the project `id`.
    pub async fn store(&self, id: ProjectId) -> Result<SharedStore, ProjectError> {
        let organization = self.organization.clone();
        blocking(move || organization.store(id)).await
    }

    /// The keys presented since the last call, with when each was last.
    pub fn take_uses(&self) -> Vec<(KeyId, u64)> {
        lock(&self.uses).drain().collect()
    }
}

/// A live session and its person, as a node caches them.
type SignedIn = (LoginSession, Arc<Person>);

/// The session `hash` and its person, read from the store.
fn signed_in(
    organization: &dyn agentrace_store::Organization,
    hash: &SecretHash,
) -> Result<Option<SignedIn>, ProjectError> {
    let read = || -> Result<Option<SignedIn>, AccountError> {
        let Some(session) = organization.session(hash)? else {
            return Ok(None);
        };
        let Some(user) = organization.user(session.user)? else {
            return Ok(None);
        };
        let grants = organization
            .grants(user.id)?
            .into_iter()
            .map(|g| (g.project, g.role))
            .collect();
        Ok(Some((session, Arc::new(Person::of(&user, grants)))))
    };
    read().map_err(account_error)
}

/// An error of people's accounts, as the directory reports store failures.
pub(crate) fn account_error(e: AccountError) -> ProjectError {
    match e {
        AccountError::Unavailable(e) => ProjectError::Unavailable(e),
        other => ProjectError::Failed(Box::new(other)),
    }
}

/// Runs a blocking call of the organization on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProjectError> + Send + 'static,
) -> Result<T, ProjectError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ProjectError::Failed(Box::new(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() -> Result<(), getrandom::Error> {
        let (a, hash_a) = new_secret()?;
        let (b, _) = new_secret()?;
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(key_hash(a.as_bytes()), hash_a);
        Ok(())
    }
}
