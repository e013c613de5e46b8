//! agentrace's build tasks, in the style of rust-analyzer's xtask: plain Rust, no dependencies,
//! run through the `cargo xtask` alias from anywhere in the workspace.
//!
//! - `cargo xtask ci`: formatting, clippy with `-D warnings` (with every feature, then the
//!   facade and the core with no default features and with each feature alone), every test with
//!   every feature (nextest when installed, else `cargo test`), doc tests, docs without broken
//!   links, the demo, then `integration` and `bench smoke`. What `.ci/run` calls.
//! - `cargo xtask bench [NAME…]`: the criterion benchmarks (release); names as in `benches/`.
//!   `bench ingest` runs `agentrace serve` (release) under `agentrace-loadgen` in another
//!   process: sustained spans/s, visibility latency, server RSS, query latency at 1M spans,
//!   with each trace whole in a request, then with its agent span in a later request than its
//!   calls (children first), checking that every call is attributed to its agent, then a
//!   sustained run of 5 minutes at the maximum rate: the write-ahead log's peak and the
//!   database's bytes per span. `bench ingest --store clickhouse [--nodes N]`: the same (but
//!   the sustained run) on N nodes sharing a ClickHouse store (the chdb fixture), the requests
//!   of 64 clients (4 on SQLite) spread over them; server CPU per span and compressed bytes per span, and those bytes under
//!   the column codecs the schema's were chosen over.
//!   `bench dashboard` loads the same server, then measures every view of the dashboard in
//!   headless Chromium (render times, the API calls each makes, bytes, heap). `bench projects`
//!   measures what projects cost: ingest into a project with its key against the previous
//!   release built from its commit, a small project's dashboard calls beside a large one, and
//!   1,000 projects on a node (`bench/projects.rs`). `bench content`: long agent runs with
//!   their content (whole histories, then deltas): bytes a span sent and stored, the rate, and
//!   search latency (`bench/content.rs`). `bench smoke`
//!   runs every benchmark at a size of seconds on the debug build (figures meaningless, a
//!   broken benchmark fails): `ci` ends with it.
//! - `cargo xtask integration`: the backends against real parts (a real Prometheus server, OTLP
//!   receivers over gRPC and HTTP, the Jaeger preset), then the dashboard in Debian's headless
//!   Chromium (`tests/browser`). Installs what it needs first with
//!   `scripts/install-test-deps.sh`; with `CI=true` a missing component fails the suite.
//!   `ci` ends with it.
//! - `cargo xtask image`: the container image the deployment tests run,
//!   `localhost/agentrace:ci`, from `target/debug/agentrace` (`deploy/Containerfile`'s runtime
//!   stage on a Debian base made with `mmdebstrap` when Podman lacks it); `integration` builds
//!   it before its suite.
//! - `cargo xtask fuzz [--dev] [SECONDS] [TARGET…]`: the fuzz targets of `fuzz/` (every decoder and
//!   parser that takes outside input), each run for SECONDS (default 60) from its committed seed
//!   corpus with libFuzzer; installs cargo-fuzz first if it is missing. A crash fails the task
//!   and leaves its input in `fuzz/artifacts/`. Built optimized; `--dev` builds them
//!   unoptimized, faster to build and slower to run: `ci` runs such a short pass.
//! - `cargo xtask demo`: the README's main job: the simulated multi-agent workflow, then
//!   `agentrace summary` on the store it wrote.
//! - `cargo xtask dashboard [vendor | check]`: the dashboard's front end
//!   (`crates/agentrace-server/dashboard`): `vendor` fetches its libraries from npm at the
//!   versions pinned in `vendor.json`; `check` (what `ci` runs) verifies the vendored files
//!   against their npm packages, installs the front end's development tools (`npm ci` there,
//!   when its `node_modules` is missing or stale), type-checks its JSDoc with TypeScript
//!   (`tsc --noEmit`), lints it with ESLint, and runs its unit tests with `node --test`.

mod bench;
mod ci;
mod dashboard;
mod demo;
mod fuzz;
mod image;
mod integration;
mod services;
mod step_times;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::ci(),
        Some("bench") => bench::bench(&args[1..]),
        Some("demo") => demo::demo(),
        Some("integration") => integration::integration(),
        Some("image") => image::build_test_image(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("dashboard") => dashboard::dashboard(args.get(1).map_or("check", String::as_str)),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | integration | image | fuzz [--dev] [SECONDS] [TARGET…] | bench [smoke | layer|sinks|cost|metrics|ingest|dashboard|projects|content…] [--store sqlite|clickhouse] [--nodes N] | demo | dashboard [vendor|check]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: from `CARGO_MANIFEST_DIR` as `cargo run` sets it (a build shared
/// between checkouts still works in the right one), else as compiled.
pub(crate) fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Where cargo builds: `CARGO_TARGET_DIR` (relative to the root) or `target/`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root().join("target"), |d| root().join(d))
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a step, printing its name, command and duration; fails on a non-zero exit.
pub(crate) fn step(name: &str, cmd: Command) -> Result<(), String> {
    step_with(name, cmd, |cmd| cmd.status())
}

/// [`step`], with `run` starting `cmd` and waiting for it (to read its output on the way).
pub(crate) fn step_with(
    name: &str,
    mut cmd: Command,
    run: impl FnOnce(&mut Command) -> std::io::Result<std::process::ExitStatus>,
) -> Result<(), String> {
    println!("\n==> {name}: {cmd:?}");
    let started = Instant::now();
    let status = run(&mut cmd).map_err(|e| format!("{name}: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    println!("<== {name}: {status} in {seconds:.1}s");
    step_times::record(name, seconds, status.success());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

/// A step started in the background ([`BackgroundStep::start`]), its output kept in a log
/// file, while the steps in front of it run; [`BackgroundStep::finish`] waits for it, prints
/// its output and records its time (from its start).
pub(crate) struct BackgroundStep {
    name: String,
    /// `None` once waited for.
    child: Option<std::process::Child>,
    log: PathBuf,
    started: Instant,
}

impl BackgroundStep {
    /// Starts `cmd`, its stdout and stderr into `target/<log_name>.log`.
    pub(crate) fn start(name: &str, log_name: &str, mut cmd: Command) -> Result<Self, String> {
        let log = target_dir().join(format!("{log_name}.log"));
        let output = std::fs::create_dir_all(target_dir())
            .and_then(|()| std::fs::File::create(&log))
            .and_then(|file| Ok((file.try_clone()?, file)))
            .map_err(|e| format!("{name}: {}: {e}", log.display()))?;
        println!(
            "\n==> {name} (in the background, output in {}): {cmd:?}",
            log.display()
        );
        let child = cmd
            .stdout(output.0)
            .stderr(output.1)
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log,
            started: Instant::now(),
        })
    }

    /// Waits for the step, prints its output, and fails on a non-zero exit.
    pub(crate) fn finish(mut self) -> Result<(), String> {
        let name = self.name.clone();
        let Some(mut child) = self.child.take() else {
            return Err(format!("{name}: waited for twice"));
        };
        let status = child.wait().map_err(|e| format!("{name}: {e}"))?;
        let seconds = self.started.elapsed().as_secs_f64();
        println!("\n==> {name}: its output ({})", self.log.display());
        print!("{}", std::fs::read_to_string(&self.log).unwrap_or_default());
        println!("<== {name}: {status} in {seconds:.1}s (in the background)");
        step_times::record_background(&name, seconds, status.success());
        if status.success() {
            Ok(())
        } else {
            Err(format!("{name} failed ({status})"))
        }
    }
}

/// A step left behind by a failing step in front of it is stopped.
impl Drop for BackgroundStep {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, skipping build output,
/// dependencies and vendored code.
pub(crate) fn files(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "node_modules" | "vendor" | ".git") {
                files(&path, suffix, out);
            }
        } else if name.ends_with(suffix) {
            out.push(path);
        }
    }
}

/// Whether cargo-nextest is installed (the tests run with it, else with `cargo test`).
pub(crate) fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
