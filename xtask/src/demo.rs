//! `cargo xtask demo`: the README's main job, the simulated workflow and its summary.

use crate::{cargo, root, step};

/// The README's main job: the simulated workflow writes a store, the CLI summarizes it.
pub(crate) fn demo() -> Result<(), String> {
    let data = root().join("target").join("agentrace-demo");
    let _ = std::fs::remove_dir_all(&data);
    let db = data.join("agentrace.db");
    let mut example = cargo();
    example
        .args([
            "run",
            "--quiet",
            "--example",
            "agent_workflow",
            "--",
            "--data-dir",
        ])
        .arg(&data);
    step("demo: simulated multi-agent workflow", example)?;
    let mut summary = cargo();
    summary
        .args([
            "run",
            "--quiet",
            "-p",
            "agentrace-cli",
            "--",
            "summary",
            "--since",
            "1h",
            "--db",
        ])
        .arg(&db);
    step("demo: agentrace summary", summary)
}
