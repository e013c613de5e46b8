//! Who is asking ([`Principal`]): a credential — a configured token, a stored key — or a
//! person signed in ([`Person`]), and what they may do in the project a request acts on.
//!
//! A key has one scope wherever it may act. A person has an organization role and, per
//! project, a role that overrides it there (docs/access.md):
//!
//! | organization role | in a project without a role of its own | organization-wide |
//! |---|---|---|
//! | `owner` | `admin` | projects, keys, users (owners too), the audit log, the server's counters |
//! | `admin` | `admin` | the same, but owners' accounts |
//! | `member` | `write` (read, annotate, scores, budget checks) | — |
//! | `viewer` | `read` | — |
//!
//! A project role of `admin`, `member`, `viewer` gives `admin`, `write`, `read` there; `none`
//! hides the project (its calls answer 404, as for a project that does not exist).

use std::sync::Arc;

use agentrace_store::{
    Actor, KeyId, KeyScope, OrgRole, ProjectId, ProjectRole, StoredKey, User, UserId,
};

/// A person signed in: their account as it was read, with their roles in projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their id.
    pub id: UserId,
    /// Their e-mail address.
    pub email: String,
    /// Their organization role.
    pub role: OrgRole,
    /// Their roles in projects (overriding `role` there).
    pub grants: Vec<(ProjectId, ProjectRole)>,
}

impl Person {
    /// `user` with their roles in projects.
    pub fn of(user: &User, grants: Vec<(ProjectId, ProjectRole)>) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            role: user.role,
            grants,
        }
    }

    /// What they may do in `project`; `None`: nothing, it is hidden from them.
    pub fn scope_in(&self, project: ProjectId) -> Option<KeyScope> {
        let role = self
            .grants
            .iter()
            .find(|(p, _)| *p == project)
            .map(|(_, r)| *r);
        match role {
            Some(role) => project_scope(role),
            None => Some(organization_scope(self.role)),
        }
    }
}

/// The scope a project role gives in its project; `None`: the project is hidden.
pub fn project_scope(role: ProjectRole) -> Option<KeyScope> {
    match role {
        ProjectRole::None => None,
        ProjectRole::Viewer => Some(KeyScope::Read),
        ProjectRole::Member => Some(KeyScope::Write),
        ProjectRole::Admin => Some(KeyScope::Admin),
    }
}

/// The scope an organization role gives in a project without a role of its own.
pub fn organization_scope(role: OrgRole) -> KeyScope {
    match role {
        OrgRole::Viewer => KeyScope::Read,
        OrgRole::Member => KeyScope::Write,
        OrgRole::Admin | OrgRole::Owner => KeyScope::Admin,
    }
}

/// Who is asking: what they may do, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// What it may do (a person's: in the project the request acts on, once resolved).
    pub scope: KeyScope,
    /// The one project it may act on; `None`: any (an organization key or token, a person).
    pub project: Option<ProjectId>,
    /// The key presented, if it was one of the stored keys.
    pub key: Option<KeyId>,
    /// The key's name, if it was one.
    pub key_name: Option<String>,
    /// The person signed in, if it is one.
    pub person: Option<Arc<Person>>,
}

impl Principal {
    /// An organization credential of `scope` (the configured tokens, an open server).
    pub fn organization(scope: KeyScope) -> Self {
        Self {
            scope,
            project: None,
            key: None,
            key_name: None,
            person: None,
        }
    }

    /// The principal of a stored key.
    pub fn of_key(key: &StoredKey) -> Self {
        Self {
            scope: key.scope,
            project: key.project,
            key: Some(key.id),
            key_name: Some(key.name.clone()),
            person: None,
        }
    }

    /// A person signed in, of their organization role's scope until a project is chosen.
    pub fn of_person(person: Arc<Person>) -> Self {
        Self {
            scope: organization_scope(person.role),
            project: None,
            key: None,
            key_name: None,
            person: Some(person),
        }
    }

    /// Whether it may act on `project` at all (a project hidden from it is as one that does
    /// not exist).
    pub fn may_see(&self, project: ProjectId) -> bool {
        match &self.person {
            Some(person) => person.scope_in(project).is_some(),
            None => self.project.is_none_or(|own| own == project),
        }
    }

    /// The principal acting on `project`: a person's scope there; `None` if hidden from it.
    pub fn in_project(&self, project: ProjectId) -> Option<Self> {
        if !self.may_see(project) {
            return None;
        }
        let scope = match &self.person {
            Some(person) => person.scope_in(project)?,
            None => self.scope,
        };
        Some(Self {
            scope,
            ..self.clone()
        })
    }

    /// Whether it may manage the organization: projects, organization keys, users, the audit
    /// log (an organization credential of scope `admin`, or an owner or admin).
    pub fn is_organization_admin(&self) -> bool {
        match &self.person {
            Some(person) => person.role >= OrgRole::Admin,
            None => self.project.is_none() && self.scope == KeyScope::Admin,
        }
    }

    /// Whether it speaks for the whole organization (sees the server's own counters): an
    /// organization credential, or an owner or admin.
    pub fn is_organization_wide(&self) -> bool {
        match &self.person {
            Some(person) => person.role >= OrgRole::Admin,
            None => self.project.is_none(),
        }
    }

    /// Who it is, as the audit log and a key's creator name it.
    pub fn actor(&self) -> Actor {
        match (&self.person, self.key) {
            (Some(person), _) => Actor::new("user", Some(person.id.0), person.email.clone()),
            (None, Some(key)) => Actor::new(
                "key",
                Some(key.0),
                self.key_name.clone().unwrap_or_default(),
            ),
            (None, None) => Actor::new(
                "token",
                None,
                match self.scope {
                    KeyScope::Read => "read_token",
                    _ => "api_token",
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: OrgRole, grants: Vec<(ProjectId, ProjectRole)>) -> Principal {
        Principal::of_person(Arc::new(Person {
            id: UserId(1),
            email: "ada@example.com".into(),
            role,
            grants,
        }))
    }

    #[test]
    fn a_project_role_overrides_the_organization_role_there_only() {
        let (alpha, beta) = (ProjectId(2), ProjectId(3));
        let viewer = person(OrgRole::Viewer, vec![(alpha, ProjectRole::Admin)]);
        assert_eq!(
            viewer.in_project(alpha).map(|p| p.scope),
            Some(KeyScope::Admin)
        );
        assert_eq!(
            viewer.in_project(beta).map(|p| p.scope),
            Some(KeyScope::Read)
        );
        assert!(
            !viewer.is_organization_admin(),
            "a project's admin is not the organization's"
        );
        let hidden = person(OrgRole::Admin, vec![(beta, ProjectRole::None)]);
        assert!(!hidden.may_see(beta));
        assert_eq!(hidden.in_project(beta), None);
        assert_eq!(
            hidden.in_project(alpha).map(|p| p.scope),
            Some(KeyScope::Admin)
        );
        assert!(hidden.is_organization_admin());
        let member = person(OrgRole::Member, Vec::new());
        assert_eq!(
            member.in_project(alpha).map(|p| p.scope),
            Some(KeyScope::Write)
        );
        assert!(!member.is_organization_wide());
    }

    #[test]
    fn credentials_keep_their_scope_and_project() {
        let token = Principal::organization(KeyScope::Admin);
        assert!(token.is_organization_admin() && token.is_organization_wide());
        assert_eq!(token.actor(), Actor::new("token", None, "api_token"));
        let mut key = Principal::organization(KeyScope::Admin);
        key.project = Some(ProjectId(2));
        key.key = Some(KeyId(7));
        assert!(!key.is_organization_admin());
        assert_eq!(key.in_project(ProjectId(3)), None);
        assert_eq!(
            key.in_project(ProjectId(2)).map(|p| p.scope),
            Some(KeyScope::Admin)
        );
    }
}
