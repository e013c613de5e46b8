//! Single sign-on's configuration (`sso`: a TOML file, docs/access.md): the OpenID provider,
//! this server as its client, and how the groups the provider says a person is in become their
//! roles — read and checked at start, so that a mistake is an error naming it, not a failed
//! login later.
//!
//! ```toml
//! issuer = "https://idp.example.com"
//! client_id = "agentrace"
//! client_secret_env = "AGENTRACE_SSO_CLIENT_SECRET"
//! redirect_url = "https://agentrace.example.com/api/v1/auth/sso/callback"
//! groups_claim = "groups"             # a dotted path: "realm_access.roles"
//! allowed_groups = ["eng", "ops"]     # none: anyone the provider signs in
//! [organization_roles]                # a group's organization role: the highest applies
//! platform = "admin"
//! eng = "member"
//! [project_roles.ops]                 # a group's roles in named projects
//! billing = "viewer"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use agentrace_store::{OrgRole, ProjectRole};
use serde::Deserialize;

/// The file's document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoConfig {
    /// The provider's issuer: discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// The environment variable holding the client secret (none: a public client, PKCE only).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Where the provider sends the browser back: this server's
    /// `/api/v1/auth/sso/callback`, as browsers reach it.
    pub redirect_url: String,
    /// The scopes asked for (`openid` always).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Where the ID token holds the person's groups: a claim's name, or a dotted path into
    /// nested claims (`realm_access.roles`). A list of strings, or one string.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Who may sign in: a person in one of these groups (none listed: anyone the provider
    /// signs in). Anyone else is refused with a page saying so.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Whether a person's roles follow their groups at every login (else only at their first).
    #[serde(default = "yes")]
    pub sync_roles: bool,
    /// Whether a person the server does not know yet is made at their first login (else an
    /// admin invites them first, and single sign-on only signs them in).
    #[serde(default = "yes")]
    pub provisioning: bool,
    /// The organization role of a person none of whose groups has one.
    #[serde(default = "default_role")]
    pub default_role: String,
    /// Each group's organization role; a person's is the highest of their groups'.
    #[serde(default)]
    pub organization_roles: BTreeMap<String, String>,
    /// Each group's roles in projects, by project name; a person's in a project is the
    /// highest their groups give there.
    #[serde(default)]
    pub project_roles: BTreeMap<String, BTreeMap<String, String>>,
    /// The login page's button.
    #[serde(default = "default_label")]
    pub label: String,
}

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn yes() -> bool {
    true
}

fn default_role() -> String {
    "viewer".into()
}

fn default_label() -> String {
    "Sign in with single sign-on".into()
}

/// Roles a person's groups give them: their organization role, and their roles in projects by
/// project name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedRoles {
    /// The organization role.
    pub role: OrgRole,
    /// Roles in projects, by project name.
    pub projects: BTreeMap<String, ProjectRole>,
}

fn org_role(name: &str, at: &str) -> Result<OrgRole, String> {
    OrgRole::parse(name)
        .ok_or_else(|| format!("{at}: {name:?} is not a role: owner, admin, member or viewer"))
}

fn project_role(name: &str, at: &str) -> Result<ProjectRole, String> {
    ProjectRole::parse(name).ok_or_else(|| {
        format!("{at}: {name:?} is not a project role: admin, member, viewer or none")
    })
}

impl SsoConfig {
    /// Reads and checks the file at `path`.
    ///
    /// # Errors
    /// What is wrong with it, naming it.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let config: Self = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config
            .check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// Whether every value can be used.
    fn check(&self) -> Result<(), String> {
        for (what, url) in [
            ("issuer", &self.issuer),
            ("redirect_url", &self.redirect_url),
        ] {
            let parsed = url::Url::parse(url).map_err(|e| format!("{what}: {url:?}: {e}"))?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err(format!("{what}: {url:?} is not an http(s) URL"));
            }
        }
        if self.client_id.is_empty() {
            return Err("client_id is empty".into());
        }
        if !self.redirect_url.ends_with("/api/v1/auth/sso/callback") {
            return Err(format!(
                "redirect_url: {:?} must be this server's /api/v1/auth/sso/callback",
                self.redirect_url
            ));
        }
        org_role(&self.default_role, "default_role")?;
        for (group, role) in &self.organization_roles {
            org_role(role, &format!("organization_roles.{group}"))?;
        }
        for (group, projects) in &self.project_roles {
            for (project, role) in projects {
                project_role(role, &format!("project_roles.{group}.{project}"))?;
            }
        }
        Ok(())
    }

    /// Whether a person in `groups` may sign in.
    pub fn allows(&self, groups: &[String]) -> bool {
        self.allowed_groups.is_empty() || groups.iter().any(|g| self.allowed_groups.contains(g))
    }

    /// The roles `groups` give (the configuration was checked: a role that is none is
    /// skipped).
    pub fn roles_of(&self, groups: &[String]) -> MappedRoles {
        let mapped = groups
            .iter()
            .filter_map(|g| self.organization_roles.get(g))
            .filter_map(|r| OrgRole::parse(r))
            .max();
        let role = mapped
            .or_else(|| OrgRole::parse(&self.default_role))
            .unwrap_or(OrgRole::Viewer);
        let mut projects: BTreeMap<String, ProjectRole> = BTreeMap::new();
        for group in groups {
            for (project, r) in self.project_roles.get(group).into_iter().flatten() {
                let Some(r) = ProjectRole::parse(r) else {
                    continue;
                };
                let entry = projects.entry(project.clone()).or_insert(r);
                *entry = (*entry).max(r);
            }
        }
        MappedRoles { role, projects }
    }
}

/// The groups at `path` (dotted) in the claims `claims`: a list of strings, or one string.
pub fn groups_at(claims: &serde_json::Value, path: &str) -> Vec<String> {
    let found = path
        .split('.')
        .try_fold(claims, |value, key| value.get(key));
    match found {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<SsoConfig, String> {
        let config: SsoConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check().map(|()| config)
    }

    const BASE: &str = r#"
        issuer = "http://127.0.0.1:9000"
        client_id = "agentrace"
        redirect_url = "http://127.0.0.1:4319/api/v1/auth/sso/callback"
    "#;

    #[test]
    fn groups_map_to_the_highest_role_they_give() -> Result<(), String> {
        let c = config(&format!(
            "{BASE}allowed_groups = [\"eng\", \"ops\"]\n\
             [organization_roles]\nplatform = \"admin\"\neng = \"member\"\n\
             [project_roles.ops]\nbilling = \"viewer\"\n\
             [project_roles.eng]\nbilling = \"admin\"\nsecret = \"none\"\n"
        ))?;
        let groups = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(c.allows(&groups(&["ops"])) && !c.allows(&groups(&["sales"])));
        let eng_and_ops = c.roles_of(&groups(&["ops", "eng"]));
        assert_eq!(eng_and_ops.role, OrgRole::Member);
        assert_eq!(
            eng_and_ops.projects,
            BTreeMap::from([
                ("billing".into(), ProjectRole::Admin),
                ("secret".into(), ProjectRole::None)
            ])
        );
        assert_eq!(
            c.roles_of(&groups(&["eng", "platform"])).role,
            OrgRole::Admin
        );
        assert_eq!(
            c.roles_of(&groups(&["ops"])).role,
            OrgRole::Viewer,
            "the default"
        );
        Ok(())
    }

    #[test]
    fn a_mistake_is_named() {
        for (bad, says) in [
            (format!("{BASE}default_role = \"boss\""), "default_role"),
            (
                format!("{BASE}[organization_roles]\neng = \"root\""),
                "organization_roles.eng",
            ),
            (
                format!("{BASE}[project_roles.eng]\nalpha = \"owner\""),
                "project_roles.eng.alpha",
            ),
            (
                BASE.replace("/api/v1/auth/sso/callback", "/cb"),
                "redirect_url",
            ),
            (format!("{BASE}colour = \"blue\""), "colour"),
        ] {
            let e = config(&bad).err().unwrap_or_default();
            assert!(e.contains(says), "{says}: {e}");
        }
    }

    #[test]
    fn groups_are_found_at_a_dotted_path() {
        let claims = serde_json::json!({"groups": ["a", "b"], "realm_access": {"roles": ["x"]}, "team": "t"});
        assert_eq!(groups_at(&claims, "groups"), ["a", "b"]);
        assert_eq!(groups_at(&claims, "realm_access.roles"), ["x"]);
        assert_eq!(groups_at(&claims, "team"), ["t"]);
        assert!(groups_at(&claims, "missing.path").is_empty());
    }
}
