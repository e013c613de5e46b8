//! `cargo xtask demo`: the README's library demo, the simulated workflow and its summary.

use std::process::Command;

use crate::integration::build_examples_and_binary;
use crate::{root, step, target_dir};

/// The README's library demo: the simulated workflow writes a store, the CLI summarizes it.
/// Run from the build the integration suite drives (debug, every feature), so that `ci`
/// compiles it once (the default features would be a build of their own, three minutes on
/// the CI machine; `ci`'s clippy steps check each feature alone).
pub(crate) fn demo() -> Result<(), String> {
    build_examples_and_binary()?;
    let data = root().join("target").join("agentrace-demo");
    let _ = std::fs::remove_dir_all(&data);
    let db = data.join("agentrace.db");
    let debug = target_dir().join("debug");
    let mut example = Command::new(debug.join("examples").join("agent_workflow"));
    example.current_dir(root()).arg("--data-dir").arg(&data);
    step("demo: simulated multi-agent workflow", example)?;
    let mut summary = Command::new(debug.join("agentrace"));
    summary
        .current_dir(root())
        .args(["summary", "--since", "1h", "--db"])
        .arg(&db);
    step("demo: agentrace summary", summary)
}
