//! `agentrace projects`: a running server's projects, their keys and settings, through its API
//! (`/api/v1/projects`, `/api/v1/settings`, docs/projects.md). What the server refuses is
//! printed with its reason.

use std::io::Write as _;

use serde_json::{Value, json};

use crate::args::{KeyOwnerArgs, ProjectsCommand, ServerArgs};
use crate::client::{ApiClient, encode};
use crate::error::CliError;

/// Runs `command` against its server, acting on `project` where the API asks for one.
pub(crate) fn run(command: &ProjectsCommand, project: Option<&str>) -> Result<(), CliError> {
    let server: &ServerArgs = match command {
        ProjectsCommand::List(server) | ProjectsCommand::Settings(server) => server,
        ProjectsCommand::Setting(a) | ProjectsCommand::Unset(a) => &a.server,
        ProjectsCommand::Set(a) => &a.server,
        ProjectsCommand::Create(a) | ProjectsCommand::Delete(a) => &a.server,
        ProjectsCommand::Keys(a) => &a.server,
        ProjectsCommand::Rename(a) => &a.server,
        ProjectsCommand::CreateKey(a) => &a.server,
        ProjectsCommand::RevokeKey(a) => &a.server,
    };
    let client = ApiClient::new(server, project)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(async {
        let path = |name: &str| format!("/projects/{}", encode(name));
        Ok::<_, CliError>(match command {
            ProjectsCommand::List(_) => {
                let answer = client.get("/projects").await?;
                lines(&answer["projects"], |p| {
                    format!("{}\t{}", p["id"], p["name"].as_str().unwrap_or_default())
                })
            }
            ProjectsCommand::Create(a) => {
                let p = client.post("/projects", &json!({"name": a.name})).await?;
                format!("created project {} (id {})\n", a.name, p["id"])
            }
            ProjectsCommand::Rename(a) => {
                client
                    .patch(&path(&a.name), &json!({"name": a.new_name}))
                    .await?;
                format!("renamed project {} to {}\n", a.name, a.new_name)
            }
            ProjectsCommand::Delete(a) => {
                client.delete(&path(&a.name)).await?;
                format!("deleted project {} with its data and keys\n", a.name)
            }
            ProjectsCommand::Keys(a) => {
                let answer = client.get(&keys_path(&a.owner)).await?;
                lines(&answer["keys"], |k| {
                    format!(
                        "{}\t{}\t{}\tcreated by {}",
                        k["id"],
                        k["scope"].as_str().unwrap_or_default(),
                        k["name"].as_str().unwrap_or_default(),
                        k["creator"].as_str().unwrap_or_default()
                    )
                })
            }
            ProjectsCommand::CreateKey(a) => {
                let key = client
                    .post(
                        &keys_path(&a.owner),
                        &json!({"scope": a.scope, "name": a.key_name}),
                    )
                    .await?;
                format!(
                    "key {} ({} of {}); its secret, shown this once:\n{}\n",
                    key["id"],
                    a.scope,
                    owner(&a.owner),
                    key["secret"].as_str().unwrap_or_default()
                )
            }
            ProjectsCommand::RevokeKey(a) => {
                client
                    .delete(&format!("{}/{}", keys_path(&a.owner), a.id))
                    .await?;
                format!("revoked key {} of {}\n", a.id, owner(&a.owner))
            }
            ProjectsCommand::Settings(_) => {
                let answer = client.get("/settings").await?;
                lines(&answer["settings"], setting_line)
            }
            ProjectsCommand::Setting(a) => {
                let setting = client.get(&setting_path(&a.kind)).await?;
                match &setting["document"] {
                    Value::Null => format!("{} is not set: the server's applies\n", a.kind),
                    document => serde_json::to_string_pretty(document)? + "\n",
                }
            }
            ProjectsCommand::Set(a) => {
                let document = read_document(&a.file)?;
                let setting = client.put(&setting_path(&a.kind), &document).await?;
                format!("set {} (revision {})\n", a.kind, setting["revision"])
            }
            ProjectsCommand::Unset(a) => {
                client.delete(&setting_path(&a.kind)).await?;
                format!("unset {}: the server's applies\n", a.kind)
            }
        })
    })?;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// The API's path of the keys of `owner`.
fn keys_path(owner: &KeyOwnerArgs) -> String {
    match &owner.name {
        Some(name) if !owner.organization => format!("/projects/{}/keys", encode(name)),
        _ => "/keys".to_owned(),
    }
}

/// Whose keys, as a sentence names them.
fn owner(owner: &KeyOwnerArgs) -> String {
    match &owner.name {
        Some(name) if !owner.organization => name.clone(),
        _ => "the organization".to_owned(),
    }
}

/// One line per item of `list`.
fn lines(list: &Value, line: impl Fn(&Value) -> String) -> String {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|item| line(item) + "\n")
        .collect()
}

fn setting_path(kind: &str) -> String {
    format!("/settings/{}", encode(kind))
}

/// A setting's line: its kind, and who set it when, or that the server's applies.
fn setting_line(s: &Value) -> String {
    let kind = s["kind"].as_str().unwrap_or_default();
    match (&s["provided_by_file"], &s["revision"]) {
        (Value::String(file), _) => format!("{kind}\tfrom {file}"),
        (_, Value::Number(revision)) => format!(
            "{kind}\tset by {} (revision {revision})",
            s["updated_by"].as_str().unwrap_or_default()
        ),
        _ => format!("{kind}\tthe server's"),
    }
}

/// The document of a setting file: TOML when it ends in `.toml`, else JSON.
fn read_document(path: &std::path::Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)?;
    let toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let parsed = if toml {
        toml::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}
