//! People and the audit log on SQLite: tables of the registry file beside projects and keys
//! (`users`, `grants`, `sessions`, `invitations`, `audit`). Foreign keys make a user's roles
//! and sessions go with the user, and a project's roles with the project; an invitation is
//! taken by one `DELETE … RETURNING`, atomic however many processes share the file. Audit
//! entries name their project by id without a foreign key: they outlive it.

use agentrace_store::{
    AccountError, Accounts, Actor, AuditEntry, AuditError, AuditLog, AuditQuery, AuditScope, Grant,
    Invitation, LoginSession, NewUser, OrgRole, ProjectId, ProjectRole, QueryError, SecretHash,
    User, UserId,
};
use rusqlite::{OptionalExtension, Row, ToSql, params};

use super::{SqliteOrganization, extended_code, is_unique_violation, lock, nanos};
use crate::error::DbError;

/// The registry's tables of people and of the audit log.
pub(super) const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS users (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        email         TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL,
        password_hash TEXT,
        subject       TEXT UNIQUE,
        created_ns    INTEGER NOT NULL,
        last_login_ns INTEGER
    );
    CREATE TABLE IF NOT EXISTS grants (
        user    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        project INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        role    TEXT NOT NULL,
        PRIMARY KEY (user, project)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS grants_by_project ON grants (project, user);
    CREATE TABLE IF NOT EXISTS sessions (
        hash       BLOB PRIMARY KEY,
        user       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_ns INTEGER NOT NULL,
        expires_ns INTEGER NOT NULL,
        address    TEXT NOT NULL,
        user_agent TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user, created_ns);
    CREATE TABLE IF NOT EXISTS invitations (
        hash       BLOB PRIMARY KEY,
        email      TEXT NOT NULL,
        role       TEXT NOT NULL,
        grants     TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_ns INTEGER NOT NULL,
        expires_ns INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS audit (
        at_ns      INTEGER NOT NULL,
        id         INTEGER NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id   INTEGER,
        actor_name TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT NOT NULL,
        project    INTEGER,
        address    TEXT,
        status     INTEGER NOT NULL,
        before     TEXT,
        after      TEXT,
        PRIMARY KEY (at_ns, id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS audit_by_project ON audit (project, at_ns, id);
";

fn failed(e: rusqlite::Error) -> AccountError {
    let e = DbError(e);
    if e.is_busy() {
        AccountError::Unavailable(Box::new(e))
    } else {
        AccountError::Failed(Box::new(e))
    }
}

fn audit_failed(e: rusqlite::Error) -> AuditError {
    let e = DbError(e);
    if e.is_busy() {
        AuditError::Unavailable(Box::new(e))
    } else {
        AuditError::Failed(Box::new(e))
    }
}

fn unsigned(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

/// The refusal of a user's unique e-mail or subject, if `e` is one.
fn taken(e: &rusqlite::Error, email: &str, subject: Option<&str>) -> Option<AccountError> {
    if !is_unique_violation(e) {
        return None;
    }
    Some(if e.to_string().contains("users.subject") {
        AccountError::SubjectTaken(subject.unwrap_or_default().to_owned())
    } else {
        AccountError::EmailTaken(email.to_owned())
    })
}

/// A role this build does not know grants the least.
fn org_role(name: &str) -> OrgRole {
    OrgRole::parse(name).unwrap_or(OrgRole::Viewer)
}

fn project_role(name: &str) -> ProjectRole {
    ProjectRole::parse(name).unwrap_or(ProjectRole::None)
}

const USER_COLUMNS: &str =
    "id, email, name, role, password_hash, subject, created_ns, last_login_ns";

fn user_of(row: &Row<'_>) -> rusqlite::Result<User> {
    let mut new = NewUser::new(
        row.get::<_, String>(1)?,
        row.get::<_, String>(2)?,
        org_role(&row.get::<_, String>(3)?),
        unsigned(row.get(6)?),
    );
    new.password_hash = row.get(4)?;
    new.subject = row.get(5)?;
    let mut user = User::stored(UserId(unsigned(row.get(0)?)), &new);
    user.last_login_unix_nano = row.get::<_, Option<i64>>(7)?.map(unsigned);
    Ok(user)
}

fn grant_of(row: &Row<'_>) -> rusqlite::Result<Grant> {
    Ok(Grant {
        user: UserId(unsigned(row.get(0)?)),
        project: ProjectId(row.get(1)?),
        role: project_role(&row.get::<_, String>(2)?),
    })
}

fn hash_of(row: &Row<'_>, i: usize) -> rusqlite::Result<SecretHash> {
    let bytes: Vec<u8> = row.get(i)?;
    Ok(SecretHash(bytes.try_into().unwrap_or([0; 32])))
}

const SESSION_COLUMNS: &str = "hash, user, created_ns, expires_ns, address, user_agent";

fn session_of(row: &Row<'_>) -> rusqlite::Result<LoginSession> {
    Ok(LoginSession::new(
        hash_of(row, 0)?,
        UserId(unsigned(row.get(1)?)),
        (unsigned(row.get(2)?), unsigned(row.get(3)?)),
        row.get::<_, String>(4)?,
        row.get::<_, String>(5)?,
    ))
}

const INVITATION_COLUMNS: &str = "hash, email, role, grants, created_by, created_ns, expires_ns";

fn invitation_of(row: &Row<'_>) -> rusqlite::Result<Invitation> {
    let grants: String = row.get(3)?;
    let grants: Vec<(u32, String)> = serde_json::from_str(&grants).unwrap_or_default();
    let mut invitation = Invitation::new(
        hash_of(row, 0)?,
        row.get::<_, String>(1)?,
        org_role(&row.get::<_, String>(2)?),
        row.get::<_, String>(4)?,
        (unsigned(row.get(5)?), unsigned(row.get(6)?)),
    );
    for (project, role) in grants {
        invitation = invitation.granting(ProjectId(project), project_role(&role));
    }
    Ok(invitation)
}

const AUDIT_COLUMNS: &str = "at_ns, id, actor_kind, actor_id, actor_name, action, target, \
                             project, address, status, before, after";

fn entry_of(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let actor = Actor::new(
        row.get::<_, String>(2)?,
        row.get::<_, Option<i64>>(3)?.map(unsigned),
        row.get::<_, String>(4)?,
    );
    let mut entry = AuditEntry::new(
        unsigned(row.get(1)?),
        unsigned(row.get(0)?),
        actor,
        (row.get::<_, String>(5)?, row.get::<_, String>(6)?),
        row.get(9)?,
    )
    .changing(row.get(10)?, row.get(11)?);
    entry.project = row.get::<_, Option<u32>>(7)?.map(ProjectId);
    entry.address = row.get(8)?;
    Ok(entry)
}

impl SqliteOrganization {
    fn exists(&self, sql: &str, id: i64) -> Result<bool, AccountError> {
        lock(&self.registry)
            .query_row(sql, [id], |r| r.get(0))
            .map_err(failed)
    }
}

impl Accounts for SqliteOrganization {
    fn users(&self) -> Result<Vec<User>, AccountError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .map_err(failed)?;
        let rows = statement.query_map([], user_of).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn user(&self, id: UserId) -> Result<Option<User>, AccountError> {
        lock(&self.registry)
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [nanos(id.0)],
                user_of,
            )
            .optional()
            .map_err(failed)
    }

    fn user_by_email(&self, email: &str) -> Result<Option<User>, AccountError> {
        lock(&self.registry)
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
                [email],
                user_of,
            )
            .optional()
            .map_err(failed)
    }

    fn user_by_subject(&self, subject: &str) -> Result<Option<User>, AccountError> {
        lock(&self.registry)
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE subject = ?1"),
                [subject],
                user_of,
            )
            .optional()
            .map_err(failed)
    }

    fn create_user(&self, user: &NewUser) -> Result<User, AccountError> {
        let conn = lock(&self.registry);
        let inserted = conn.execute(
            "INSERT INTO users (email, name, role, password_hash, subject, created_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                user.email,
                user.name,
                user.role.as_str(),
                user.password_hash,
                user.subject,
                nanos(user.created_unix_nano),
            ],
        );
        if let Err(e) = inserted {
            return Err(
                taken(&e, &user.email, user.subject.as_deref()).unwrap_or_else(|| failed(e))
            );
        }
        let id = unsigned(conn.last_insert_rowid());
        Ok(User::stored(UserId(id), user))
    }

    fn update_user(&self, user: &User) -> Result<(), AccountError> {
        let updated = lock(&self.registry).execute(
            "UPDATE users SET email = ?2, name = ?3, role = ?4, password_hash = ?5,
                 subject = ?6, last_login_ns = ?7
             WHERE id = ?1",
            params![
                nanos(user.id.0),
                user.email,
                user.name,
                user.role.as_str(),
                user.password_hash,
                user.subject,
                user.last_login_unix_nano.map(nanos),
            ],
        );
        match updated {
            Err(e) => {
                Err(taken(&e, &user.email, user.subject.as_deref()).unwrap_or_else(|| failed(e)))
            }
            Ok(0) => Err(AccountError::NoUser(user.id)),
            Ok(_) => Ok(()),
        }
    }

    fn delete_user(&self, id: UserId) -> Result<(), AccountError> {
        // Its roles and sessions go by their foreign keys.
        let deleted = lock(&self.registry)
            .execute("DELETE FROM users WHERE id = ?1", [nanos(id.0)])
            .map_err(failed)?;
        if deleted == 0 {
            Err(AccountError::NoUser(id))
        } else {
            Ok(())
        }
    }

    fn grants(&self, user: UserId) -> Result<Vec<Grant>, AccountError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached(
                "SELECT user, project, role FROM grants WHERE user = ?1 ORDER BY project",
            )
            .map_err(failed)?;
        let rows = statement
            .query_map([nanos(user.0)], grant_of)
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn project_grants(&self, project: ProjectId) -> Result<Vec<Grant>, AccountError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached(
                "SELECT user, project, role FROM grants WHERE project = ?1 ORDER BY user",
            )
            .map_err(failed)?;
        let rows = statement.query_map([project.0], grant_of).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn set_grant(
        &self,
        user: UserId,
        project: ProjectId,
        role: Option<ProjectRole>,
    ) -> Result<(), AccountError> {
        if !self.exists(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
            nanos(user.0),
        )? {
            return Err(AccountError::NoUser(user));
        }
        if !self.exists(
            "SELECT EXISTS (SELECT 1 FROM projects WHERE id = ?1)",
            i64::from(project.0),
        )? {
            return Err(AccountError::NoProject(project));
        }
        let conn = lock(&self.registry);
        match role {
            Some(role) => conn.execute(
                "INSERT INTO grants (user, project, role) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user, project) DO UPDATE SET role = excluded.role",
                params![nanos(user.0), project.0, role.as_str()],
            ),
            None => conn.execute(
                "DELETE FROM grants WHERE user = ?1 AND project = ?2",
                params![nanos(user.0), project.0],
            ),
        }
        .map(drop)
        .map_err(failed)
    }

    fn insert_session(&self, session: &LoginSession) -> Result<(), AccountError> {
        let inserted = lock(&self.registry).execute(
            "INSERT INTO sessions (hash, user, created_ns, expires_ns, address, user_agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                session.hash.0.as_slice(),
                nanos(session.user.0),
                nanos(session.created_unix_nano),
                nanos(session.expires_unix_nano),
                session.address,
                session.user_agent,
            ],
        );
        match inserted {
            Err(e) if extended_code(&e) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                Err(AccountError::NoUser(session.user))
            }
            other => other.map(drop).map_err(failed),
        }
    }

    fn session(&self, hash: &SecretHash) -> Result<Option<LoginSession>, AccountError> {
        lock(&self.registry)
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE hash = ?1"),
                [hash.0.as_slice()],
                session_of,
            )
            .optional()
            .map_err(failed)
    }

    fn sessions(&self, user: UserId) -> Result<Vec<LoginSession>, AccountError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE user = ?1 ORDER BY created_ns DESC"
            ))
            .map_err(failed)?;
        let rows = statement
            .query_map([nanos(user.0)], session_of)
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn delete_session(&self, hash: &SecretHash) -> Result<bool, AccountError> {
        lock(&self.registry)
            .execute("DELETE FROM sessions WHERE hash = ?1", [hash.0.as_slice()])
            .map(|n| n > 0)
            .map_err(failed)
    }

    fn insert_invitation(&self, invitation: &Invitation) -> Result<(), AccountError> {
        let grants: Vec<(u32, &str)> = invitation
            .grants
            .iter()
            .map(|(p, r)| (p.0, r.as_str()))
            .collect();
        let grants =
            serde_json::to_string(&grants).map_err(|e| AccountError::Failed(Box::new(e)))?;
        lock(&self.registry)
            .execute(
                "INSERT INTO invitations (hash, email, role, grants, created_by, created_ns,
                     expires_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    invitation.hash.0.as_slice(),
                    invitation.email,
                    invitation.role.as_str(),
                    grants,
                    invitation.created_by,
                    nanos(invitation.created_unix_nano),
                    nanos(invitation.expires_unix_nano),
                ],
            )
            .map(drop)
            .map_err(failed)
    }

    fn invitations(&self) -> Result<Vec<Invitation>, AccountError> {
        let conn = lock(&self.registry);
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations ORDER BY created_ns DESC"
            ))
            .map_err(failed)?;
        let rows = statement.query_map([], invitation_of).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn take_invitation(
        &self,
        hash: &SecretHash,
        now_unix_nano: u64,
    ) -> Result<Option<Invitation>, AccountError> {
        let taken = lock(&self.registry)
            .query_row(
                &format!("DELETE FROM invitations WHERE hash = ?1 RETURNING {INVITATION_COLUMNS}"),
                [hash.0.as_slice()],
                invitation_of,
            )
            .optional()
            .map_err(failed)?;
        Ok(taken.filter(|i| now_unix_nano < i.expires_unix_nano))
    }

    fn delete_invitation(&self, hash: &SecretHash) -> Result<bool, AccountError> {
        lock(&self.registry)
            .execute(
                "DELETE FROM invitations WHERE hash = ?1",
                [hash.0.as_slice()],
            )
            .map(|n| n > 0)
            .map_err(failed)
    }
}

impl AuditLog for SqliteOrganization {
    fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), AuditError> {
        let mut conn = lock(&self.registry);
        let tx = conn.transaction().map_err(audit_failed)?;
        {
            let mut statement = tx
                .prepare_cached(&format!(
                    "INSERT OR IGNORE INTO audit ({AUDIT_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ))
                .map_err(audit_failed)?;
            for e in entries {
                statement
                    .execute(params![
                        nanos(e.at_unix_nano),
                        nanos(e.id),
                        e.actor.kind,
                        e.actor.id.map(nanos),
                        e.actor.name,
                        e.action,
                        e.target,
                        e.project.map(|p| p.0),
                        e.address,
                        e.status,
                        e.before,
                        e.after,
                    ])
                    .map_err(audit_failed)?;
            }
        }
        tx.commit().map_err(audit_failed)
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, QueryError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();
        // Binds a value; its placeholder.
        let mut param = |value: Box<dyn ToSql>| {
            values.push(value);
            format!("?{}", values.len())
        };
        match query.scope {
            AuditScope::All => {}
            AuditScope::Organization => conditions.push("project IS NULL".to_owned()),
            AuditScope::Project(p) => {
                conditions.push(format!("project = {}", param(Box::new(p.0))))
            }
        }
        if let Some(t) = query.since_unix_nano {
            conditions.push(format!("at_ns >= {}", param(Box::new(nanos(t)))));
        }
        if let Some(t) = query.until_unix_nano {
            conditions.push(format!("at_ns < {}", param(Box::new(nanos(t)))));
        }
        if let Some(prefix) = &query.action_prefix {
            let p = param(Box::new(prefix.clone()));
            conditions.push(format!("substr(action, 1, length({p})) = {p}"));
        }
        if let Some((at, id)) = query.before {
            let (at, id) = (param(Box::new(nanos(at))), param(Box::new(nanos(id))));
            conditions.push(format!("(at_ns, id) < ({at}, {id})"));
        }
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit {} ORDER BY at_ns DESC, id DESC LIMIT {limit}",
            if conditions.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conditions.join(" AND "))
            }
        );
        let query_failed = |e: rusqlite::Error| QueryError::Failed(Box::new(DbError(e)));
        let conn = lock(&self.registry);
        let mut statement = conn.prepare(&sql).map_err(query_failed)?;
        let params: Vec<&dyn ToSql> = values.iter().map(AsRef::as_ref).collect();
        let rows = statement
            .query_map(params.as_slice(), entry_of)
            .map_err(query_failed)?;
        rows.collect::<Result<_, _>>().map_err(query_failed)
    }

    fn expire_audit(&self, unix_nano: u64) -> Result<u64, AuditError> {
        lock(&self.registry)
            .execute("DELETE FROM audit WHERE at_ns < ?1", [nanos(unix_nano)])
            .map(|n| n as u64)
            .map_err(audit_failed)
    }
}
