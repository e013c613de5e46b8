//! `cargo xtask dashboard`: the front end's vendored libraries, type check, lint and unit tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, step};

/// The dashboard's front end, inside the server crate.
pub(crate) fn dashboard_dir() -> PathBuf {
    root()
        .join("crates")
        .join("agentrace-server")
        .join("dashboard")
}

/// `node` with `args`, in `dir`.
pub(crate) fn node(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.args(args).current_dir(dir);
    cmd
}

/// `npm` with `args`, in `dir`.
pub(crate) fn npm(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(args).current_dir(dir);
    cmd
}

/// The front end's development tools (TypeScript, ESLint: its `package.json`), installed with
/// `npm ci` unless `node_modules` holds what `package-lock.json` pins (the stamp
/// `scripts/install-test-deps.sh` leaves beside the other npm suites). Whether they are there:
/// an install that fails (no registry) skips the type check and the lint with a warning, and
/// fails the task with `CI=true`.
pub(crate) fn dashboard_tools(dir: &Path) -> Result<bool, String> {
    let lock = dir.join("package-lock.json");
    let stamp = dir.join("node_modules").join(".installed-lock.json");
    let pinned = std::fs::read(&lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    if std::fs::read(&stamp).is_ok_and(|installed| installed == pinned) {
        return Ok(true);
    }
    let install = npm(dir, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
    match step("dashboard: install TypeScript and ESLint (npm ci)", install) {
        Ok(()) => {
            std::fs::write(&stamp, &pinned).map_err(|e| format!("{}: {e}", stamp.display()))?;
            Ok(true)
        }
        Err(e) if std::env::var("CI").is_ok_and(|ci| ci == "true") => Err(e),
        Err(e) => {
            println!("{e}: the type check and the lint are skipped (with CI=true, this fails)");
            Ok(false)
        }
    }
}

/// `vendor`: fetch the front end's libraries from npm; `check`: compare the vendored files with
/// their npm packages, type-check and lint the front end, and run its unit tests.
pub(crate) fn dashboard(what: &str) -> Result<(), String> {
    let dir = dashboard_dir();
    match what {
        "vendor" => step(
            "dashboard: vendor libraries from npm",
            node(&dir, &["tools/vendor.mjs"]),
        ),
        "check" => {
            step(
                "dashboard: vendored libraries match their npm packages",
                node(&dir, &["tools/vendor.mjs", "--check"]),
            )?;
            if dashboard_tools(&dir)? {
                step(
                    "dashboard: JSDoc types (tsc --noEmit)",
                    npm(&dir, &["run", "--silent", "typecheck"]),
                )?;
                step(
                    "dashboard: lint (ESLint)",
                    npm(&dir, &["run", "--silent", "lint"]),
                )?;
            }
            step(
                "dashboard: front-end unit tests",
                node(&dir, &["--test", "tests/"]),
            )
        }
        other => Err(format!(
            "dashboard: unknown task {other:?}; expected vendor or check"
        )),
    }
}
