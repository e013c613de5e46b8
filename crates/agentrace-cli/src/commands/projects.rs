//! `agentrace projects`: a running server's projects and keys, through its API
//! (`/api/v1/projects`, docs/projects.md). What the server refuses is printed with its reason.

use std::io::Write as _;

use serde_json::{Value, json};

use crate::args::{ProjectsCommand, ServerArgs};
use crate::client::{ApiClient, encode};
use crate::error::CliError;

/// Runs `command` against its server, acting on `project` where the API asks for one.
pub(crate) fn run(command: &ProjectsCommand, project: Option<&str>) -> Result<(), CliError> {
    let server: &ServerArgs = match command {
        ProjectsCommand::List(server) => server,
        ProjectsCommand::Create(a) | ProjectsCommand::Delete(a) | ProjectsCommand::Keys(a) => {
            &a.server
        }
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
                let answer = client.get(&format!("{}/keys", path(&a.name))).await?;
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
                        &format!("{}/keys", path(&a.name)),
                        &json!({"scope": a.scope, "name": a.key_name}),
                    )
                    .await?;
                format!(
                    "key {} ({} of {}); its secret, shown this once:\n{}\n",
                    key["id"],
                    a.scope,
                    a.name,
                    key["secret"].as_str().unwrap_or_default()
                )
            }
            ProjectsCommand::RevokeKey(a) => {
                client
                    .delete(&format!("{}/keys/{}", path(&a.name), a.id))
                    .await?;
                format!("revoked key {} of {}\n", a.id, a.name)
            }
        })
    })?;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// One line per item of `list`.
fn lines(list: &Value, line: impl Fn(&Value) -> String) -> String {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|item| line(item) + "\n")
        .collect()
}
