//! People and the audit log on ClickHouse (schema version 8, `crate::schema`): users, their
//! roles in projects, sessions and invitations as versioned rows of the registry, what must
//! be checked first (an e-mail free, an invitation not yet taken) checked and written under
//! the registry's lock; the audit log appended, listed newest first, expired by lightweight
//! deletes.

use agentrace_core::now_unix_nano;
use agentrace_store::{
    AccountError, Accounts, Actor, AuditEntry, AuditError, AuditLog, AuditQuery, AuditScope, Grant,
    Invitation, LoginSession, NewUser, OrgRole, ProjectId, ProjectRole, QueryError, SecretHash,
    User, UserId,
};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use super::ClickHouseOrganization;
use crate::error;
use crate::sql;
use crate::write::ns;

/// The live users, as a subquery.
const LIVE_USERS: &str = "(SELECT id FROM users FINAL WHERE deleted = 0)";
/// The live projects, as a subquery.
const LIVE_PROJECTS: &str = "(SELECT id FROM projects FINAL WHERE deleted = 0)";

fn unsigned(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// A version newer than `previous`, and now.
fn next_version(previous: u64) -> u64 {
    now_unix_nano().max(previous.saturating_add(1))
}

/// A row of `users`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct UserRow {
    id: u64,
    email: String,
    name: String,
    role: String,
    password_hash: Option<String>,
    subject: Option<String>,
    created: i64,
    last_login: Option<i64>,
    deleted: u8,
    version: u64,
}

impl UserRow {
    fn of(user: &User, version: u64) -> Self {
        Self {
            id: user.id.0,
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role.as_str().to_owned(),
            password_hash: user.password_hash.clone(),
            subject: user.subject.clone(),
            created: ns(user.created_unix_nano),
            last_login: user.last_login_unix_nano.map(ns),
            deleted: 0,
            version,
        }
    }

    fn user(self) -> User {
        let mut new = NewUser::new(
            self.email,
            self.name,
            // A role this build does not know grants the least.
            OrgRole::parse(&self.role).unwrap_or(OrgRole::Viewer),
            unsigned(self.created),
        );
        new.password_hash = self.password_hash;
        new.subject = self.subject;
        let mut user = User::stored(UserId(self.id), &new);
        user.last_login_unix_nano = self.last_login.map(unsigned);
        user
    }
}

/// A row of `user_grants`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct GrantRow {
    user: u64,
    project: u32,
    role: String,
    deleted: u8,
    version: u64,
}

impl GrantRow {
    fn grant(self) -> Grant {
        Grant {
            user: UserId(self.user),
            project: ProjectId(self.project),
            role: ProjectRole::parse(&self.role).unwrap_or(ProjectRole::None),
        }
    }
}

/// A row of `login_sessions`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct SessionRow {
    hash: [u8; 32],
    user: u64,
    created: i64,
    expires: i64,
    address: String,
    user_agent: String,
    deleted: u8,
    version: u64,
}

impl SessionRow {
    fn session(self) -> LoginSession {
        LoginSession::new(
            SecretHash(self.hash),
            UserId(self.user),
            (unsigned(self.created), unsigned(self.expires)),
            self.address,
            self.user_agent,
        )
    }
}

/// A row of `invitations`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct InvitationRow {
    hash: [u8; 32],
    email: String,
    role: String,
    grants: String,
    created_by: String,
    created: i64,
    expires: i64,
    taken: u8,
    version: u64,
}

impl InvitationRow {
    fn invitation(self) -> Invitation {
        let grants: Vec<(u32, String)> = serde_json::from_str(&self.grants).unwrap_or_default();
        let mut invitation = Invitation::new(
            SecretHash(self.hash),
            self.email,
            OrgRole::parse(&self.role).unwrap_or(OrgRole::Viewer),
            self.created_by,
            (unsigned(self.created), unsigned(self.expires)),
        );
        for (project, role) in grants {
            invitation = invitation.granting(
                ProjectId(project),
                ProjectRole::parse(&role).unwrap_or(ProjectRole::None),
            );
        }
        invitation
    }
}

/// A row of `audit_log`.
#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct AuditRow {
    at: i64,
    id: u64,
    actor_kind: String,
    actor_id: Option<u64>,
    actor_name: String,
    action: String,
    target: String,
    project: Option<u32>,
    address: Option<String>,
    status: u16,
    before: Option<String>,
    after: Option<String>,
}

impl AuditRow {
    fn of(e: &AuditEntry) -> Self {
        Self {
            at: ns(e.at_unix_nano),
            id: e.id,
            actor_kind: e.actor.kind.clone(),
            actor_id: e.actor.id,
            actor_name: e.actor.name.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            project: e.project.map(|p| p.0),
            address: e.address.clone(),
            status: e.status,
            before: e.before.clone(),
            after: e.after.clone(),
        }
    }

    fn entry(self) -> AuditEntry {
        let mut entry = AuditEntry::new(
            self.id,
            unsigned(self.at),
            Actor::new(self.actor_kind, self.actor_id, self.actor_name),
            (self.action, self.target),
            self.status,
        )
        .changing(self.before, self.after);
        entry.project = self.project.map(ProjectId);
        entry.address = self.address;
        entry
    }
}

impl ClickHouseOrganization {
    /// The newest live rows of `table` that `condition` selects, ordered by `order`.
    async fn rows<R>(
        &self,
        table: &str,
        condition: &str,
        order: &str,
    ) -> Result<Vec<R>, AccountError>
    where
        R: clickhouse::RowOwned + clickhouse::RowRead,
    {
        self.store
            .client()
            .query(&format!(
                "SELECT ?fields FROM {table} FINAL WHERE {condition} ORDER BY {order}"
            ))
            .fetch_all()
            .await
            .map_err(error::account)
    }

    /// The live users `condition` selects (binding `bind`, if given), by id.
    async fn users_where(
        &self,
        condition: &str,
        bind: Option<&str>,
    ) -> Result<Vec<UserRow>, AccountError> {
        let mut query = self.store.client().query(&format!(
            "SELECT ?fields FROM users FINAL WHERE deleted = 0 AND {condition} ORDER BY id"
        ));
        if let Some(value) = bind {
            query = query.bind(value);
        }
        query.fetch_all().await.map_err(error::account)
    }

    async fn live_user(&self, id: UserId) -> Result<UserRow, AccountError> {
        self.users_where(&format!("id = {id}"), None)
            .await?
            .pop()
            .ok_or(AccountError::NoUser(id))
    }

    /// Refuses `user`'s e-mail or subject if another live user (than `except`) has it.
    async fn check_unique(
        &self,
        email: &str,
        subject: Option<&str>,
        except: Option<UserId>,
    ) -> Result<(), AccountError> {
        let other = |rows: &[UserRow]| rows.iter().any(|r| Some(UserId(r.id)) != except);
        if other(&self.users_where("email = ?", Some(email)).await?) {
            return Err(AccountError::EmailTaken(email.to_owned()));
        }
        if let Some(subject) = subject
            && other(&self.users_where("subject = ?", Some(subject)).await?)
        {
            return Err(AccountError::SubjectTaken(subject.to_owned()));
        }
        Ok(())
    }

    async fn grants_where(&self, condition: &str, order: &str) -> Result<Vec<Grant>, AccountError> {
        let rows: Vec<GrantRow> = self
            .rows(
                "user_grants",
                &format!(
                    "deleted = 0 AND {condition} AND user IN {LIVE_USERS} \
                     AND project IN {LIVE_PROJECTS}"
                ),
                order,
            )
            .await?;
        Ok(rows.into_iter().map(GrantRow::grant).collect())
    }

    async fn live_sessions(&self, condition: &str) -> Result<Vec<SessionRow>, AccountError> {
        self.rows(
            "login_sessions",
            &format!("deleted = 0 AND {condition} AND user IN {LIVE_USERS}"),
            "created DESC",
        )
        .await
    }

    async fn live_invitation(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<InvitationRow>, AccountError> {
        Ok(self
            .rows(
                "invitations",
                &format!("taken = 0 AND hash = {}", sql::bytes_literal(&hash.0)),
                "hash",
            )
            .await?
            .pop())
    }
}

impl Accounts for ClickHouseOrganization {
    fn users(&self) -> Result<Vec<User>, AccountError> {
        self.store.block_on(async {
            Ok(self
                .users_where("1", None)
                .await?
                .into_iter()
                .map(UserRow::user)
                .collect())
        })
    }

    fn user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        self.store.block_on(async {
            Ok(self
                .users_where(&format!("id = {id}"), None)
                .await?
                .pop()
                .map(UserRow::user))
        })
    }

    fn user_by_email(&self, email: &str) -> Result<Option<User>, AccountError> {
        self.store.block_on(async {
            Ok(self
                .users_where("email = ?", Some(email))
                .await?
                .pop()
                .map(UserRow::user))
        })
    }

    fn user_by_subject(&self, subject: &str) -> Result<Option<User>, AccountError> {
        self.store.block_on(async {
            Ok(self
                .users_where("subject = ?", Some(subject))
                .await?
                .pop()
                .map(UserRow::user))
        })
    }

    fn create_user(&self, user: &NewUser) -> Result<User, AccountError> {
        self.store.block_on(self.locked(async || {
            self.check_unique(&user.email, user.subject.as_deref(), None)
                .await?;
            // Over every row, the deleted included: an id is never given again.
            let last: u64 = self
                .store
                .client()
                .query("SELECT max(id) FROM users")
                .fetch_one()
                .await
                .map_err(error::account)?;
            let stored = User::stored(UserId(last + 1), user);
            self.insert("users", &[UserRow::of(&stored, now_unix_nano())])
                .await?;
            Ok(stored)
        }))
    }

    fn update_user(&self, user: &User) -> Result<(), AccountError> {
        self.store.block_on(self.locked(async || {
            let row = self.live_user(user.id).await?;
            self.check_unique(&user.email, user.subject.as_deref(), Some(user.id))
                .await?;
            let updated = UserRow {
                created: row.created,
                ..UserRow::of(user, next_version(row.version))
            };
            Ok(self.insert("users", &[updated]).await?)
        }))
    }

    fn delete_user(&self, id: UserId) -> Result<(), AccountError> {
        self.store.block_on(self.locked(async || {
            let row = self.live_user(id).await?;
            let deleted = UserRow {
                deleted: 1,
                version: next_version(row.version),
                ..row
            };
            // Their roles and sessions are read no more (reads keep live users').
            Ok(self.insert("users", &[deleted]).await?)
        }))
    }

    fn grants(&self, user: UserId) -> Result<Vec<Grant>, AccountError> {
        self.store
            .block_on(self.grants_where(&format!("user = {user}"), "project"))
    }

    fn project_grants(&self, project: ProjectId) -> Result<Vec<Grant>, AccountError> {
        self.store
            .block_on(self.grants_where(&format!("project = {project}"), "user"))
    }

    fn set_grant(
        &self,
        user: UserId,
        project: ProjectId,
        role: Option<ProjectRole>,
    ) -> Result<(), AccountError> {
        self.store.block_on(self.locked(async || {
            self.live_user(user).await?;
            self.live(project).await?;
            let previous: u64 = self
                .store
                .client()
                .query(&format!(
                    "SELECT max(version) FROM user_grants WHERE user = {user} AND project = {project}"
                ))
                .fetch_one()
                .await
                .map_err(error::account)?;
            let row = GrantRow {
                user: user.0,
                project: project.0,
                role: role.unwrap_or(ProjectRole::None).as_str().to_owned(),
                deleted: u8::from(role.is_none()),
                version: next_version(previous),
            };
            Ok(self.insert("user_grants", &[row]).await?)
        }))
    }

    fn insert_session(&self, session: &LoginSession) -> Result<(), AccountError> {
        self.store.block_on(async {
            self.live_user(session.user).await?;
            let row = SessionRow {
                hash: session.hash.0,
                user: session.user.0,
                created: ns(session.created_unix_nano),
                expires: ns(session.expires_unix_nano),
                address: session.address.clone(),
                user_agent: session.user_agent.clone(),
                deleted: 0,
                version: now_unix_nano(),
            };
            Ok(self.insert("login_sessions", &[row]).await?)
        })
    }

    fn session(&self, hash: &SecretHash) -> Result<Option<LoginSession>, AccountError> {
        self.store.block_on(async {
            Ok(self
                .live_sessions(&format!("hash = {}", sql::bytes_literal(&hash.0)))
                .await?
                .pop()
                .map(SessionRow::session))
        })
    }

    fn sessions(&self, user: UserId) -> Result<Vec<LoginSession>, AccountError> {
        self.store.block_on(async {
            Ok(self
                .live_sessions(&format!("user = {user}"))
                .await?
                .into_iter()
                .map(SessionRow::session)
                .collect())
        })
    }

    fn delete_session(&self, hash: &SecretHash) -> Result<bool, AccountError> {
        self.store.block_on(async {
            let Some(row) = self
                .live_sessions(&format!("hash = {}", sql::bytes_literal(&hash.0)))
                .await?
                .pop()
            else {
                return Ok(false);
            };
            let ended = SessionRow {
                deleted: 1,
                version: next_version(row.version),
                ..row
            };
            self.insert("login_sessions", &[ended]).await?;
            Ok(true)
        })
    }

    fn insert_invitation(&self, invitation: &Invitation) -> Result<(), AccountError> {
        let grants: Vec<(u32, &str)> = invitation
            .grants
            .iter()
            .map(|(p, r)| (p.0, r.as_str()))
            .collect();
        let row = InvitationRow {
            hash: invitation.hash.0,
            email: invitation.email.clone(),
            role: invitation.role.as_str().to_owned(),
            grants: serde_json::to_string(&grants)
                .map_err(|e| AccountError::Failed(Box::new(e)))?,
            created_by: invitation.created_by.clone(),
            created: ns(invitation.created_unix_nano),
            expires: ns(invitation.expires_unix_nano),
            taken: 0,
            version: now_unix_nano(),
        };
        self.store
            .block_on(async { Ok(self.insert("invitations", &[row]).await?) })
    }

    fn invitations(&self) -> Result<Vec<Invitation>, AccountError> {
        self.store.block_on(async {
            let rows: Vec<InvitationRow> = self
                .rows("invitations", "taken = 0", "created DESC")
                .await?;
            Ok(rows.into_iter().map(InvitationRow::invitation).collect())
        })
    }

    fn take_invitation(
        &self,
        hash: &SecretHash,
        now_unix_nano: u64,
    ) -> Result<Option<Invitation>, AccountError> {
        self.store.block_on(self.locked(async || {
            let Some(row) = self.live_invitation(hash).await? else {
                return Ok(None);
            };
            let taken = InvitationRow {
                taken: 1,
                version: next_version(row.version),
                ..row.clone()
            };
            self.insert("invitations", &[taken]).await?;
            let invitation = row.invitation();
            Ok((now_unix_nano < invitation.expires_unix_nano).then_some(invitation))
        }))
    }

    fn delete_invitation(&self, hash: &SecretHash) -> Result<bool, AccountError> {
        self.store.block_on(self.locked(async || {
            let Some(row) = self.live_invitation(hash).await? else {
                return Ok(false);
            };
            let taken = InvitationRow {
                taken: 1,
                version: next_version(row.version),
                ..row
            };
            self.insert("invitations", &[taken]).await?;
            Ok(true)
        }))
    }
}

impl AuditLog for ClickHouseOrganization {
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), AuditError> {
        let rows: Vec<AuditRow> = entries.iter().map(AuditRow::of).collect();
        self.store.block_on(async {
            self.insert("audit_log", &rows).await.map_err(|e| match e {
                agentrace_store::ProjectError::Unavailable(e) => AuditError::Unavailable(e),
                other => AuditError::Failed(Box::new(other)),
            })
        })
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, QueryError> {
        let mut conditions = vec!["1".to_owned()];
        match query.scope {
            AuditScope::All => {}
            AuditScope::Organization => conditions.push("project IS NULL".to_owned()),
            AuditScope::Project(p) => conditions.push(format!("project = {p}")),
        }
        let at = "toUnixTimestamp64Nano(at)";
        if let Some(t) = query.since_unix_nano {
            conditions.push(format!("{at} >= {t}"));
        }
        if let Some(t) = query.until_unix_nano {
            conditions.push(format!("{at} < {t}"));
        }
        if query.action_prefix.is_some() {
            conditions.push("startsWith(action, ?)".to_owned());
        }
        if let Some((t, id)) = query.before {
            conditions.push(format!("({at}, id) < ({t}, {id})"));
        }
        let mut select = self.store.client().query(&format!(
            "SELECT ?fields FROM audit_log FINAL WHERE {} ORDER BY at DESC, id DESC LIMIT {}",
            conditions.join(" AND "),
            query.limit
        ));
        if let Some(prefix) = &query.action_prefix {
            select = select.bind(prefix.as_str());
        }
        self.store.block_on(async {
            let rows: Vec<AuditRow> = select.fetch_all().await.map_err(error::query)?;
            Ok(rows.into_iter().map(AuditRow::entry).collect())
        })
    }

    fn expire_audit(&self, unix_nano: u64) -> Result<u64, AuditError> {
        let condition = format!("toUnixTimestamp64Nano(at) < {unix_nano}");
        self.store.block_on(async {
            let client = self.store.client();
            let expired: u64 = client
                .query(&format!(
                    "SELECT count() FROM audit_log FINAL WHERE {condition}"
                ))
                .fetch_one()
                .await
                .map_err(error::audit)?;
            if expired > 0 {
                client
                    .query(&format!(
                        "DELETE FROM {} WHERE {condition}",
                        self.store.layout().target("audit_log")
                    ))
                    .execute()
                    .await
                    .map_err(error::audit)?;
            }
            Ok(expired)
        })
    }
}
