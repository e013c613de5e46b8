//! The people of a deployment ([`Accounts`]): users with their organization role and their
//! roles in projects, their login sessions, and the invitations that make new users. What a
//! role may do, how a password is hashed and how a session is proven are the server's; a store
//! keeps the rows, finds them, and makes an invitation usable once.

use std::fmt;

use crate::error::BoxError;
use crate::projects::ProjectId;

/// A user's identity: it never changes, whatever the user's e-mail or roles become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a user may do across the organization. Each role may do what the ones after it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrgRole {
    /// Read, in every project.
    Viewer,
    /// Read, annotate, score and check budgets, in every project.
    Member,
    /// Everything in every project; projects, keys and users (but owners).
    Admin,
    /// Everything, owners included.
    Owner,
}

/// What a user may do in one project, overriding their organization role there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProjectRole {
    /// Nothing: the project is not theirs to see.
    None,
    /// Read.
    Viewer,
    /// Read, annotate, score and check budgets.
    Member,
    /// Everything in the project: its settings and keys.
    Admin,
}

/// Names for roles, as the API, the configuration and the stores spell them.
macro_rules! named {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Every role, narrowest first.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// Its name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),*
                }
            }

            /// The role named `name`.
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|r| r.as_str() == name)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(OrgRole { Viewer => "viewer", Member => "member", Admin => "admin", Owner => "owner" });
named!(ProjectRole { None => "none", Viewer => "viewer", Member => "member", Admin => "admin" });

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewUser {
    /// Their e-mail address, as the server normalized it (unique).
    pub email: String,
    /// What they are called.
    pub name: String,
    /// Their organization role.
    pub role: OrgRole,
    /// Their password's hash (a PHC string), if they log in with one.
    pub password_hash: Option<String>,
    /// Who single sign-on says they are (`<issuer> <subject>`), if they came that way (unique).
    pub subject: Option<String>,
    /// When they were created.
    pub created_unix_nano: u64,
}

impl NewUser {
    /// `email`, called `name`, of `role`, created at `created_unix_nano`, with neither a
    /// password nor a single sign-on subject.
    pub fn new(
        email: impl Into<String>,
        name: impl Into<String>,
        role: OrgRole,
        created_unix_nano: u64,
    ) -> Self {
        Self {
            email: email.into(),
            name: name.into(),
            role,
            password_hash: None,
            subject: None,
            created_unix_nano,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    /// Their identity.
    pub id: UserId,
    /// Their e-mail address (unique).
    pub email: String,
    /// What they are called.
    pub name: String,
    /// Their organization role.
    pub role: OrgRole,
    /// Their password's hash, if they log in with one.
    pub password_hash: Option<String>,
    /// Who single sign-on says they are, if they came that way (unique).
    pub subject: Option<String>,
    /// When they were created.
    pub created_unix_nano: u64,
    /// When they last logged in, if ever.
    pub last_login_unix_nano: Option<u64>,
}

impl User {
    /// `new` stored as `id`, never logged in.
    pub fn stored(id: UserId, new: &NewUser) -> Self {
        Self {
            id,
            email: new.email.clone(),
            name: new.name.clone(),
            role: new.role,
            password_hash: new.password_hash.clone(),
            subject: new.subject.clone(),
            created_unix_nano: new.created_unix_nano,
            last_login_unix_nano: None,
        }
    }
}

/// A user's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// The user.
    pub user: UserId,
    /// The project.
    pub project: ProjectId,
    /// Their role there.
    pub role: ProjectRole,
}

/// The digest a session or an invitation is found by (SHA-256 of its secret, computed by the
/// server): a store never sees the secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(…)")
    }
}

/// A login session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginSession {
    /// The digest of its secret (the cookie).
    pub hash: SecretHash,
    /// Whose it is.
    pub user: UserId,
    /// When it began.
    pub created_unix_nano: u64,
    /// When it ends.
    pub expires_unix_nano: u64,
    /// The address it began from.
    pub address: String,
    /// The browser it began in (its `User-Agent`, cut).
    pub user_agent: String,
}

impl LoginSession {
    /// A session of `user` found by `hash`, from `created_unix_nano` to `expires_unix_nano`,
    /// begun from `address` in `user_agent`.
    pub fn new(
        hash: SecretHash,
        user: UserId,
        (created_unix_nano, expires_unix_nano): (u64, u64),
        address: impl Into<String>,
        user_agent: impl Into<String>,
    ) -> Self {
        Self {
            hash,
            user,
            created_unix_nano,
            expires_unix_nano,
            address: address.into(),
            user_agent: user_agent.into(),
        }
    }

    /// Whether it is live at `now_unix_nano`.
    pub fn is_live(&self, now_unix_nano: u64) -> bool {
        now_unix_nano < self.expires_unix_nano
    }
}

/// An invitation: whoever holds its link becomes a user with these roles, once, before it
/// expires.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invitation {
    /// The digest of its secret (the link's token).
    pub hash: SecretHash,
    /// The e-mail address of the user it makes.
    pub email: String,
    /// Their organization role.
    pub role: OrgRole,
    /// Their roles in projects.
    pub grants: Vec<(ProjectId, ProjectRole)>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_unix_nano: u64,
    /// When its link stops working.
    pub expires_unix_nano: u64,
}

impl Invitation {
    /// An invitation found by `hash` of `email` to `role`, made by `created_by`, from
    /// `created_unix_nano` to `expires_unix_nano`, granting nothing in projects.
    pub fn new(
        hash: SecretHash,
        email: impl Into<String>,
        role: OrgRole,
        created_by: impl Into<String>,
        (created_unix_nano, expires_unix_nano): (u64, u64),
    ) -> Self {
        Self {
            hash,
            email: email.into(),
            role,
            grants: Vec::new(),
            created_by: created_by.into(),
            created_unix_nano,
            expires_unix_nano,
        }
    }

    /// Granting `role` in `project` too.
    #[must_use]
    pub fn granting(mut self, project: ProjectId, role: ProjectRole) -> Self {
        self.grants.push((project, role));
        self
    }
}

/// An operation on people failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Another user has the e-mail address.
    #[error("a user with the e-mail address {0:?} exists")]
    EmailTaken(String),
    /// Another user came from the same single sign-on subject.
    #[error("a user signed on as {0:?} exists")]
    SubjectTaken(String),
    /// No such user.
    #[error("no user {0}")]
    NoUser(UserId),
    /// No such project.
    #[error("no project {0}")]
    NoProject(ProjectId),
    /// The store cannot answer now but may soon.
    #[error("the store is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The store failed.
    #[error("the store failed: {0}")]
    Failed(#[source] BoxError),
}

impl From<crate::ProjectError> for AccountError {
    fn from(e: crate::ProjectError) -> Self {
        match e {
            crate::ProjectError::NoProject(p) => Self::NoProject(p),
            crate::ProjectError::Unavailable(e) => Self::Unavailable(e),
            other => Self::Failed(Box::new(other)),
        }
    }
}

/// The people of a deployment: users, their roles in projects, their sessions, invitations.
///
/// # Contract (checked by `conformance::accounts`)
/// - E-mail addresses are unique ([`AccountError::EmailTaken`]), and so are single sign-on
///   subjects ([`AccountError::SubjectTaken`]); ids are never reused.
/// - A user has at most one role in a project; setting one replaces it, `None` removes it. A
///   deleted user's roles in projects and sessions go with them; a deleted project's roles
///   go with it.
/// - A session is found by its digest until deleted (expiry is the caller's to check); a
///   user's sessions are listed by start, newest first.
/// - An invitation is taken once: [`take_invitation`](Self::take_invitation) answers it to the
///   first caller and removes it, even when two nodes take it at the same moment; an expired
///   one is removed and answered to nobody.
///
/// Every method blocks, as the store traits' do.
pub trait Accounts: Send + Sync {
    /// Every user, by id.
    fn users(&self) -> Result<Vec<User>, AccountError>;

    /// The user `id`.
    fn user(&self, id: UserId) -> Result<Option<User>, AccountError>;

    /// The user with the e-mail address `email` (as stored: the caller normalizes).
    fn user_by_email(&self, email: &str) -> Result<Option<User>, AccountError>;

    /// The user single sign-on knows as `subject`.
    fn user_by_subject(&self, subject: &str) -> Result<Option<User>, AccountError>;

    /// Creates `user`.
    fn create_user(&self, user: &NewUser) -> Result<User, AccountError>;

    /// Writes `user` over the stored user of its id (its e-mail, name, role, password hash,
    /// subject and last login).
    fn update_user(&self, user: &User) -> Result<(), AccountError>;

    /// Deletes the user `id`, their roles in projects and their sessions.
    fn delete_user(&self, id: UserId) -> Result<(), AccountError>;

    /// The roles in projects of `user`, by project.
    fn grants(&self, user: UserId) -> Result<Vec<Grant>, AccountError>;

    /// Every user's roles in `project`, by user.
    fn project_grants(&self, project: ProjectId) -> Result<Vec<Grant>, AccountError>;

    /// Gives `user` `role` in `project` (`None`: their organization role applies there again).
    fn set_grant(
        &self,
        user: UserId,
        project: ProjectId,
        role: Option<ProjectRole>,
    ) -> Result<(), AccountError>;

    /// Stores `session`.
    fn insert_session(&self, session: &LoginSession) -> Result<(), AccountError>;

    /// The session whose secret has the digest `hash`.
    fn session(&self, hash: &SecretHash) -> Result<Option<LoginSession>, AccountError>;

    /// The sessions of `user`, newest first.
    fn sessions(&self, user: UserId) -> Result<Vec<LoginSession>, AccountError>;

    /// Ends the session `hash`; whether there was one.
    fn delete_session(&self, hash: &SecretHash) -> Result<bool, AccountError>;

    /// Stores `invitation`.
    fn insert_invitation(&self, invitation: &Invitation) -> Result<(), AccountError>;

    /// The invitations not yet taken, newest first (expired ones included until taken or
    /// deleted).
    fn invitations(&self) -> Result<Vec<Invitation>, AccountError>;

    /// The invitation `hash`, removed: answered once, and only while live at `now_unix_nano`.
    fn take_invitation(
        &self,
        hash: &SecretHash,
        now_unix_nano: u64,
    ) -> Result<Option<Invitation>, AccountError>;

    /// Deletes the invitation `hash`; whether there was one.
    fn delete_invitation(&self, hash: &SecretHash) -> Result<bool, AccountError>;
}
