//! Who may call each route of the API: one table ([`access`]) that the credentials' checks and
//! the handlers' follow, that docs/access.md shows ([`markdown_table`], a test holds them equal)
//! and that a test checks against a running server, route by route, role by role
//! (tests/server/access.rs).

use agentrace_store::{KeyScope, OrgRole, ProjectRole};

use super::routes;

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A credential of this scope in the request's project (a person: their role's scope
    /// there).
    Scope(KeyScope),
    /// The organization's admin: an owner or admin, the `api_token`, an organization key of
    /// scope `admin`.
    OrganizationAdmin,
    /// The admin of the project the path names (its keys).
    ProjectAdmin,
    /// A person signed in (their own sessions and password).
    Person,
}

/// Who calls, as the table tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A person of an organization role (no role of their own in the project).
    Person(OrgRole),
    /// A person whose organization role is `viewer` and whose role in the project is this one
    /// (a project role overrides the organization's there; `none` hides the project: it
    /// answers as one that does not exist).
    ProjectPerson(ProjectRole),
    /// The configured `api_token`.
    ApiToken,
    /// The configured `read_token`.
    ReadToken,
    /// A key of the organization, of this scope (automation, a gateway for many teams).
    OrganizationKey(KeyScope),
    /// A key of the request's project, of this scope.
    ProjectKey(KeyScope),
}

impl Caller {
    /// Every caller the table has a column for.
    pub const ALL: [Self; 17] = [
        Self::Person(OrgRole::Owner),
        Self::Person(OrgRole::Admin),
        Self::Person(OrgRole::Member),
        Self::Person(OrgRole::Viewer),
        Self::ProjectPerson(ProjectRole::Admin),
        Self::ProjectPerson(ProjectRole::Member),
        Self::ProjectPerson(ProjectRole::Viewer),
        Self::ApiToken,
        Self::ReadToken,
        Self::OrganizationKey(KeyScope::Admin),
        Self::OrganizationKey(KeyScope::Write),
        Self::OrganizationKey(KeyScope::Read),
        Self::OrganizationKey(KeyScope::Ingest),
        Self::ProjectKey(KeyScope::Admin),
        Self::ProjectKey(KeyScope::Write),
        Self::ProjectKey(KeyScope::Read),
        Self::ProjectKey(KeyScope::Ingest),
    ];

    /// Its column's heading.
    pub fn heading(self) -> String {
        match self {
            Self::Person(role) => role.to_string(),
            Self::ProjectPerson(role) => format!("project {role}"),
            Self::ApiToken => "`api_token`".into(),
            Self::ReadToken => "`read_token`".into(),
            Self::OrganizationKey(scope) => format!("org {scope} key"),
            Self::ProjectKey(scope) => format!("{scope} key"),
        }
    }

    fn scope(self) -> KeyScope {
        match self {
            Self::Person(role) => crate::store::principal::organization_scope(role),
            Self::ProjectPerson(role) => {
                crate::store::principal::project_scope(role).unwrap_or(KeyScope::Ingest)
            }
            Self::ApiToken => KeyScope::Admin,
            Self::ReadToken => KeyScope::Read,
            Self::OrganizationKey(scope) | Self::ProjectKey(scope) => scope,
        }
    }
}

impl Access {
    /// Whether `caller` may call a route of this access (in their own project).
    pub fn allows(self, caller: Caller) -> bool {
        match self {
            Self::Scope(needed) => caller.scope().allows(needed),
            Self::OrganizationAdmin => matches!(
                caller,
                Caller::ApiToken
                    | Caller::OrganizationKey(KeyScope::Admin)
                    | Caller::Person(OrgRole::Owner | OrgRole::Admin)
            ),
            Self::ProjectAdmin => caller.scope() == KeyScope::Admin,
            Self::Person => matches!(caller, Caller::Person(_) | Caller::ProjectPerson(_)),
        }
    }

    /// In words, as the table shows it.
    fn words(self) -> String {
        match self {
            Self::Scope(scope) => format!("`{scope}`"),
            Self::OrganizationAdmin => "the organization's admin".into(),
            Self::ProjectAdmin => "the project's admin".into(),
            Self::Person => "a person signed in".into(),
        }
    }
}

/// What the route `path` (under the API's prefix) answering `method` needs.
pub fn access(method: &str, path: &str) -> Option<Access> {
    let (_, _, _, scope) = routes()
        .into_iter()
        .find(|(p, m, _, _)| *p == path && *m == method)?;
    let organization = path.starts_with("/people")
        || path == "/audit"
        || path.starts_with("/keys")
        || (path.starts_with("/projects") && !path.contains("/keys") && method != "get");
    Some(if organization {
        Access::OrganizationAdmin
    } else if path.starts_with("/projects/{name}/keys") {
        Access::ProjectAdmin
    } else if path.starts_with("/me/") && !(path == "/me/sessions" && method == "get") {
        Access::Person
    } else {
        Access::Scope(scope)
    })
}

/// The table of docs/access.md: each route, what it needs, and who may call it.
pub fn markdown_table() -> String {
    let mut out = String::from("| route | needs |");
    for caller in Caller::ALL {
        out.push_str(&format!(" {} |", caller.heading()));
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(Caller::ALL.len()));
    out.push('\n');
    for (path, method, _, _) in routes() {
        let Some(access) = access(method, path) else {
            continue;
        };
        out.push_str(&format!(
            "| `{} {path}` | {} |",
            method.to_uppercase(),
            access.words()
        ));
        for caller in Caller::ALL {
            out.push_str(if access.allows(caller) {
                " ✓ |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_access_md_shows_the_table() -> Result<(), std::io::Error> {
        let docs = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/access.md"),
        )?;
        let table = markdown_table();
        assert!(
            docs.contains(&table),
            "docs/access.md's table of routes differs from the server's; it should read:\n{table}"
        );
        Ok(())
    }

    #[test]
    fn every_route_has_an_access() {
        for (path, method, _, _) in routes() {
            assert!(access(method, path).is_some(), "{method} {path}");
        }
        assert_eq!(
            access("post", "/people/invitations"),
            Some(Access::OrganizationAdmin)
        );
        assert_eq!(
            access("get", "/projects"),
            Some(Access::Scope(KeyScope::Read))
        );
        assert_eq!(
            access("delete", "/projects/{name}/keys/{id}"),
            Some(Access::ProjectAdmin)
        );
        assert_eq!(
            access("get", "/me/sessions"),
            Some(Access::Scope(KeyScope::Read))
        );
        assert_eq!(access("post", "/me/password"), Some(Access::Person));
    }
}
