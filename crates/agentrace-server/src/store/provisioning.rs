//! The provisioning folder (`provisioning`): projects' settings declared in files, applied to
//! the store when the server starts — as Grafana provisions its dashboards.
//!
//! ```text
//! projects/                 the folder the configuration names
//!   checkout/               a project (created if missing; the folder's name is its name)
//!     budgets.toml          a setting: `<kind>.toml` or `<kind>.json`, the kind's document
//!     alerts.toml
//!   search/
//!     retention.json
//! ```
//!
//! - Every file is read and checked before anything is written: a bad file stops the start,
//!   naming it, and nothing of the folder is applied.
//! - A setting is written only when its document differs from the stored one, under the name
//!   `file:<path>`: nodes starting together over one store, or a restart, write nothing new.
//! - A provisioned setting is the file's: the API refuses to change it (409 naming the file);
//!   change the file and restart. A file taken out of the folder takes its setting with it
//!   at the next start.

use std::path::{Path, PathBuf};

use agentrace_store::{Organization, ProjectError, ProjectName};

use crate::config::project::{Setting, SettingKind};

/// The prefix of the writer's name a provisioned setting is stored under.
pub const PROVISIONED_BY: &str = "file:";

/// The folder could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// A file or folder could not be read.
    #[error("provisioning: cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file or folder is not what the layout asks for.
    #[error("provisioning: {}: {reason}", path.display())]
    Invalid {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error("provisioning: {0}")]
    Store(#[from] ProjectError),
}

/// One file of the folder, read and checked.
#[derive(Debug)]
struct Provided {
    project: ProjectName,
    kind: SettingKind,
    path: PathBuf,
    /// The document, as JSON text (what the store keeps).
    document: String,
}

/// What [`provision`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// Projects created.
    pub created: Vec<String>,
    /// Settings written (new or changed), as `project/kind`.
    pub written: Vec<String>,
    /// Settings deleted (their file is gone), as `project/kind`.
    pub deleted: Vec<String>,
}

fn invalid(path: &Path, reason: impl Into<String>) -> ProvisionError {
    ProvisionError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, ProvisionError> {
    let read = |source| ProvisionError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    paths.sort();
    Ok(paths)
}

/// Reads and checks every file of `dir`.
fn read_folder(dir: &Path) -> Result<Vec<Provided>, ProvisionError> {
    let mut provided = Vec::new();
    for folder in entries(dir)? {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if !folder.is_dir() {
            return Err(invalid(
                &folder,
                "the folder holds a folder per project, each holding `<kind>.toml` or `<kind>.json`",
            ));
        }
        let project = ProjectName::new(&name).map_err(|e| invalid(&folder, e.to_string()))?;
        for path in entries(&folder)? {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file.starts_with('.') {
                continue;
            }
            let (stem, toml) = match (file.strip_suffix(".toml"), file.strip_suffix(".json")) {
                (Some(stem), _) => (stem, true),
                (_, Some(stem)) => (stem, false),
                _ => {
                    return Err(invalid(
                        &path,
                        "a setting is `<kind>.toml` or `<kind>.json`",
                    ));
                }
            };
            let kind = SettingKind::parse(stem).ok_or_else(|| {
                invalid(
                    &path,
                    format!("no setting kind {stem:?}: one of {}", SettingKind::names()),
                )
            })?;
            let text = std::fs::read_to_string(&path).map_err(|source| ProvisionError::Read {
                path: path.clone(),
                source,
            })?;
            let value: serde_json::Value = if toml {
                toml::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?
            } else {
                serde_json::from_str(&text).map_err(|e| invalid(&path, e.to_string()))?
            };
            Setting::read(kind, value.clone()).map_err(|e| invalid(&path, e))?;
            if provided
                .iter()
                .any(|p: &Provided| p.project == project && p.kind == kind)
            {
                return Err(invalid(&path, format!("a second {kind} file of {project}")));
            }
            provided.push(Provided {
                project: project.clone(),
                kind,
                path,
                document: value.to_string(),
            });
        }
    }
    Ok(provided)
}

/// Applies the folder `dir` to `organization` (see the module's documentation). Blocks.
///
/// # Errors
/// A file or folder cannot be read or used (nothing is applied), or the store failed.
pub fn provision(
    organization: &dyn Organization,
    dir: &Path,
) -> Result<Provisioned, ProvisionError> {
    let provided = read_folder(dir)?;
    let mut done = Provisioned::default();
    // What the folder changed, for the audit log: by the server, from the file.
    let mut audit = Vec::new();
    let by_server = || agentrace_store::Actor::new("server", None, "provisioning");
    let mut projects = organization.projects()?;
    for p in &provided {
        if !projects.iter().any(|known| known.name == p.project) {
            match organization.create_project(&p.project) {
                Ok(created) => {
                    done.created.push(created.name.to_string());
                    audit.push(
                        super::audit_entry(
                            by_server(),
                            ("project.provision", created.name.as_str()),
                            None,
                            201,
                        )
                        .in_project(created.id),
                    );
                    projects.push(created);
                }
                // Another node made it first.
                Err(ProjectError::NameTaken(_)) => projects = organization.projects()?,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let id_of = |name: &ProjectName| projects.iter().find(|p| &p.name == name).map(|p| p.id);
    for p in &provided {
        let Some(project) = id_of(&p.project) else {
            continue;
        };
        let by = format!("{PROVISIONED_BY}{}", p.path.display());
        let stored = organization.setting(project, p.kind.as_str())?;
        if stored
            .as_ref()
            .is_some_and(|s| s.document == p.document && s.updated_by == by)
        {
            continue;
        }
        organization.put_setting(
            project,
            p.kind.as_str(),
            &p.document,
            &by,
            agentrace_core::now_unix_nano(),
        )?;
        done.written.push(format!("{}/{}", p.project, p.kind));
        audit.push(
            super::audit_entry(
                by_server(),
                (
                    "settings.provision",
                    &format!("{}: {}", p.kind, p.path.display()),
                ),
                None,
                200,
            )
            .in_project(project)
            .changing(stored.map(|s| s.document), Some(p.document.clone())),
        );
    }
    // Settings provisioned from a file of this folder that is gone.
    for version in organization.setting_versions()? {
        let Some(stored) = organization.setting(version.project, &version.kind)? else {
            continue;
        };
        let Some(path) = stored.updated_by.strip_prefix(PROVISIONED_BY) else {
            continue;
        };
        let path = Path::new(path);
        if path.starts_with(dir) && !provided.iter().any(|p| p.path == path) {
            organization.delete_setting(version.project, &version.kind)?;
            audit.push(
                super::audit_entry(
                    by_server(),
                    (
                        "settings.unprovision",
                        &format!("{}: {}", version.kind, path.display()),
                    ),
                    None,
                    204,
                )
                .in_project(version.project)
                .changing(Some(stored.document.clone()), None),
            );
            let name = projects
                .iter()
                .find(|p| p.id == version.project)
                .map_or_else(|| version.project.to_string(), |p| p.name.to_string());
            done.deleted.push(format!("{name}/{}", version.kind));
        }
    }
    if let Err(e) = organization.append_audit(&audit) {
        tracing::warn!(error = %e, "the provisioning's changes are not in the audit log");
    }
    Ok(done)
}

/// The file a stored setting was provisioned from, if it was.
pub fn provisioned_from(updated_by: &str) -> Option<&Path> {
    updated_by.strip_prefix(PROVISIONED_BY).map(Path::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrace_sqlite::SqliteOrganization;
    use agentrace_store::AuditLog as _;

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a folder");
        }
        std::fs::write(path, text).expect("a file");
    }

    #[test]
    fn a_folder_creates_its_projects_and_writes_each_setting_once()
    -> Result<(), Box<dyn std::error::Error>> {
        let data = tempfile::tempdir()?;
        let org = SqliteOrganization::open(data.path().join("agentrace.db"))?;
        let dir = tempfile::tempdir()?;
        write(
            &dir.path().join("checkout/budgets.toml"),
            "[[budget]]\nname = \"daily\"\nscope = \"global\"\nperiod = \"day\"\nlimit_usd = 5\n",
        );
        write(
            &dir.path().join("default/retention.json"),
            r#"{"spans": {"max_age": "7d"}}"#,
        );
        let first = provision(&org, dir.path())?;
        assert_eq!(first.created, ["checkout"]);
        assert_eq!(first.written, ["checkout/budgets", "default/retention"]);
        // Again (a restart, or another node): nothing new.
        assert_eq!(provision(&org, dir.path())?, Provisioned::default());
        let checkout = org.project_named("checkout")?.ok_or("checkout")?;
        let stored = org
            .setting(checkout.id, "budgets")?
            .ok_or("checkout's budgets")?;
        assert!(
            stored.document.contains("\"limit_usd\":5"),
            "{}",
            stored.document
        );
        assert!(
            provisioned_from(&stored.updated_by)
                .is_some_and(|p| p.ends_with("checkout/budgets.toml"))
        );
        // A file taken out takes its setting with it; a setting given through the API stays.
        org.put_setting(checkout.id, "capture", "{}", "key 3", 1)?;
        std::fs::remove_file(dir.path().join("default/retention.json"))?;
        let third = provision(&org, dir.path())?;
        assert_eq!(third.deleted, ["default/retention"]);
        assert!(org.setting(checkout.id, "capture")?.is_some());
        // Each change is in the audit log, by the server: the project, both settings, the one
        // taken out (with what it was).
        let audit = org.audit(&agentrace_store::AuditQuery::new(
            agentrace_store::AuditScope::All,
            100,
        ))?;
        let mut actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        actions.sort_unstable();
        assert_eq!(
            actions,
            [
                "project.provision",
                "settings.provision",
                "settings.provision",
                "settings.unprovision"
            ]
        );
        assert!(audit.iter().all(|e| e.actor.kind == "server"));
        let removed = audit
            .iter()
            .find(|e| e.action == "settings.unprovision")
            .ok_or("the removal")?;
        assert_eq!(
            removed.before.as_deref(),
            Some(r#"{"spans":{"max_age":"7d"}}"#)
        );
        Ok(())
    }

    #[test]
    fn a_bad_file_is_named_and_nothing_is_applied() -> Result<(), Box<dyn std::error::Error>> {
        let data = tempfile::tempdir()?;
        let org = SqliteOrganization::open(data.path().join("agentrace.db"))?;
        for (file, text, says) in [
            (
                "alpha/budgets.toml",
                "[[budget]]\nname = 1\n",
                "budgets.toml",
            ),
            ("alpha/weather.toml", "", "no setting kind \"weather\""),
            ("Alpha/budgets.toml", "budget = []\n", "lowercase"),
            ("alpha/budgets.yaml", "", "`<kind>.toml` or `<kind>.json`"),
        ] {
            let dir = tempfile::tempdir()?;
            write(&dir.path().join("beta/capture.json"), r#"{"redact": true}"#);
            write(&dir.path().join(file), text);
            let e = provision(&org, dir.path())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says), "{file}: {e:?} does not say {says:?}");
            assert!(
                org.project_named("beta")?.is_none(),
                "{file}: beta was created"
            );
        }
        Ok(())
    }
}
