//! agentrace's build tasks, in the style of rust-analyzer's xtask: plain Rust, no dependencies,
//! run through the `cargo xtask` alias from anywhere in the workspace.
//!
//! - `cargo xtask ci`: formatting, clippy with `-D warnings` (with every feature, then the
//!   facade and the core with no default features and with each feature alone), every test with
//!   every feature (nextest when installed, else `cargo test`), doc tests, docs without broken
//!   links, the demo, then `integration`. What `.ci/run` calls.
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
//!   headless Chromium (render times, the API calls each makes, bytes, heap).
//! - `cargo xtask integration`: the backends against real parts (a real Prometheus server, OTLP
//!   receivers over gRPC and HTTP, the Jaeger preset), then the dashboard in Debian's headless
//!   Chromium (`tests/browser`). Installs what it needs first with
//!   `scripts/install-test-deps.sh`; with `CI=true` a missing component fails the suite.
//!   `ci` ends with it.
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

#[cfg(test)]
mod tidy;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(&args[1..]),
        Some("demo") => demo(),
        Some("integration") => integration(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("dashboard") => dashboard(args.get(1).map_or("check", String::as_str)),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | integration | fuzz [--dev] [SECONDS] [TARGET…] | bench [layer|sinks|cost|metrics|ingest|dashboard…] [--store sqlite|clickhouse] [--nodes N] | demo | dashboard [vendor|check]>"
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
fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Where cargo builds: `CARGO_TARGET_DIR` (relative to the root) or `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| root().join("target"), |d| root().join(d))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a step, printing its name, command and duration; fails on a non-zero exit.
fn step(name: &str, mut cmd: Command) -> Result<(), String> {
    println!("\n==> {name}: {cmd:?}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: could not start: {e}"))?;
    println!(
        "<== {name}: {status} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ci() -> Result<(), String> {
    let started = Instant::now();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    step("format", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    step("clippy", clippy)?;
    each_feature_alone()?;

    let mut tests = cargo();
    if has_nextest() {
        tests.args([
            "nextest",
            "run",
            "--workspace",
            "--exclude",
            INTEGRATION_CRATE,
            "--all-features",
            "--profile",
            "ci",
        ]);
    } else {
        println!("cargo-nextest is not installed; running the tests with cargo test");
        tests.args([
            "test",
            "--workspace",
            "--exclude",
            INTEGRATION_CRATE,
            "--all-features",
            "--lib",
            "--bins",
            "--tests",
            "--examples",
        ]);
    }
    step("tests", tests)?;

    let mut doc = cargo();
    doc.args(["test", "--workspace", "--all-features", "--doc"]);
    step("doc tests", doc)?;

    // As docs.rs builds them: every feature, `--cfg docsrs` (each item marked with the
    // features it needs, through the nightly `doc_cfg`, which RUSTC_BOOTSTRAP lets through).
    let mut docs = cargo();
    docs.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings")
        .env("RUSTC_BOOTSTRAP", "1");
    step(
        "docs as docs.rs builds them (broken links are errors)",
        docs,
    )?;

    dashboard("check")?;
    demo()?;
    fuzz(&["--dev".to_owned(), CI_FUZZ_SECONDS.to_string()])?;
    integration()?;
    println!(
        "\nci: all steps passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Seconds each fuzz target runs in `ci`.
const CI_FUZZ_SECONDS: u32 = 15;

/// The cargo-fuzz this project pins.
const CARGO_FUZZ: &str = "0.13.2";

/// The fuzz targets: every `fuzz/fuzz_targets/*.rs`.
fn fuzz_targets() -> Result<Vec<String>, String> {
    let dir = root().join("fuzz").join("fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    targets.sort();
    Ok(targets)
}

/// `cargo fuzz` in `fuzz/`, built without a sanitizer so that the stable toolchain builds it
/// (`RUSTC_BOOTSTRAP` lets cargo-fuzz's instrumentation flags through), into the shared target
/// directory.
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz")
        .args(args)
        .current_dir(root().join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir().join("fuzz"));
    cmd
}

/// Each fuzz target (or those named) for `seconds` from its seed corpus; new inputs go to a
/// scratch corpus, so the committed one changes only by hand. Built optimized with debug
/// assertions; `--dev` first builds them unoptimized instead (`ci`'s short pass: the release
/// build took 702 s of a fresh-clone CI run, for 15 s of fuzzing per target).
fn fuzz(args: &[String]) -> Result<(), String> {
    let (profile, args): (&[&str], &[String]) = match args.split_first() {
        Some((first, rest)) if first == "--dev" => (&["--dev"], rest),
        _ => (&["-O", "--debug-assertions"], args),
    };
    let seconds: u32 = match args.first() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("fuzz: {s:?} is not a number of seconds"))?,
        None => 60,
    };
    let all = fuzz_targets()?;
    let named: Vec<String> = args.iter().skip(1).cloned().collect();
    if let Some(unknown) = named.iter().find(|t| !all.contains(t)) {
        return Err(format!(
            "fuzz: no target {unknown:?}; the targets: {}",
            all.join(", ")
        ));
    }
    let targets = if named.is_empty() { all } else { named };
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ));
    if !installed {
        let mut install = cargo();
        install.args(["install", "--locked", "cargo-fuzz", "--version", CARGO_FUZZ]);
        step("fuzz: install cargo-fuzz", install)?;
    }
    let build = [&["build", "--sanitizer", "none"], profile].concat();
    step("fuzz: build the targets", cargo_fuzz(&build))?;
    for target in targets {
        let scratch = target_dir().join("fuzz-corpus").join(&target);
        std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        let seeds = root().join("fuzz").join("corpus").join(&target);
        let (scratch, seeds) = (scratch.display().to_string(), seeds.display().to_string());
        let time = format!("-max_total_time={seconds}");
        step(
            &format!("fuzz: {target} for {seconds} s"),
            cargo_fuzz(
                &[
                    &["run", "--sanitizer", "none"],
                    profile,
                    &[
                        &target,
                        &scratch,
                        &seeds,
                        "--",
                        &time,
                        "-rss_limit_mb=4096",
                        "-print_final_stats=1",
                    ],
                ]
                .concat(),
            ),
        )?;
    }
    Ok(())
}

/// The dashboard's front end, inside the server crate.
fn dashboard_dir() -> PathBuf {
    root()
        .join("crates")
        .join("agentrace-server")
        .join("dashboard")
}

/// `node` with `args`, in `dir`.
fn node(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.args(args).current_dir(dir);
    cmd
}

/// `npm` with `args`, in `dir`.
fn npm(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("npm");
    cmd.args(args).current_dir(dir);
    cmd
}

/// The front end's development tools (TypeScript, ESLint: its `package.json`), installed with
/// `npm ci` unless `node_modules` holds what `package-lock.json` pins (the stamp
/// `scripts/install-test-deps.sh` leaves beside the other npm suites). Whether they are there:
/// an install that fails (no registry) skips the type check and the lint with a warning, and
/// fails the task with `CI=true`.
fn dashboard_tools(dir: &Path) -> Result<bool, String> {
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
fn dashboard(what: &str) -> Result<(), String> {
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

/// The packages whose features are built one at a time, and their manifests.
const FEATURE_PACKAGES: [(&str, &str); 2] = [
    ("agentrace", "Cargo.toml"),
    ("agentrace-core", "crates/agentrace-core/Cargo.toml"),
];

/// The features a manifest declares, `default` left out.
fn features_of(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .skip_while(|line| line.trim() != "[features]")
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty() && !name.starts_with('#') && *name != "default")
        .map(str::to_owned)
        .collect()
}

/// Clippy on the facade and the core with no default features, then with each feature alone:
/// what a user who picks features gets must build, warning-free.
fn each_feature_alone() -> Result<(), String> {
    for (package, manifest) in FEATURE_PACKAGES {
        let manifest = std::fs::read_to_string(root().join(manifest))
            .map_err(|e| format!("reading {manifest}: {e}"))?;
        let features = features_of(&manifest);
        if features.is_empty() {
            return Err(format!(
                "{package} declares no features: is its manifest read right?"
            ));
        }
        for feature in std::iter::once(None).chain(features.iter().map(Some)) {
            let mut clippy = cargo();
            clippy.args(["clippy", "-p", package, "--no-default-features"]);
            if let Some(feature) = feature {
                clippy.args(["--features", feature]);
            }
            clippy.args(["--", "-D", "warnings"]);
            let name = format!(
                "clippy {package} with {}",
                feature.map_or("no features".to_owned(), |f| format!("only {f}"))
            );
            step(&name, clippy)?;
        }
    }
    Ok(())
}

/// The crate holding the integration suite; `ci`'s unit-test step leaves it to `integration`.
const INTEGRATION_CRATE: &str = "agentrace-integration";

/// Installs the real components, builds the examples the suite drives, runs the suite.
fn integration() -> Result<(), String> {
    let venv = target_dir().join("integration-venv");
    let instrumentation_venvs = target_dir().join("instrumentation-venvs");
    let framework_venvs = target_dir().join("framework-venvs");
    let schemathesis_venv = target_dir().join("schemathesis-venv");
    let clickhouse_venv = target_dir().join("clickhouse-venv");
    let mut install = Command::new("bash");
    install
        .arg(root().join("scripts").join("install-test-deps.sh"))
        .env("AGENTRACE_VENV", &venv)
        .env("AGENTRACE_INSTRUMENTATION_VENVS", &instrumentation_venvs)
        .env("AGENTRACE_FRAMEWORK_VENVS", &framework_venvs)
        .env("AGENTRACE_SCHEMATHESIS_VENV", &schemathesis_venv)
        .env("AGENTRACE_CLICKHOUSE_VENV", &clickhouse_venv)
        .current_dir(root());
    step("integration: install test dependencies", install)?;

    let mut examples = cargo();
    examples.args([
        "build",
        "--examples",
        "--bins",
        "--all-features",
        "-p",
        "agentrace",
        "-p",
        "agentrace-cli",
    ]);
    step(
        "integration: build the examples and the agentrace binary",
        examples,
    )?;

    let examples_dir = target_dir().join("debug").join("examples");
    let mut suite = cargo();
    if has_nextest() {
        suite.args([
            "nextest",
            "run",
            "-p",
            INTEGRATION_CRATE,
            "--all-features",
            "--profile",
            "ci",
        ]);
    } else {
        suite.args(["test", "-p", INTEGRATION_CRATE, "--all-features"]);
    }
    suite
        .env(
            "AGENTRACE_BIN",
            target_dir().join("debug").join("agentrace"),
        )
        .env("AGENTRACE_EXAMPLES_DIR", examples_dir)
        .env("AGENTRACE_PYTHON", venv.join("bin").join("python"))
        .env("AGENTRACE_INSTRUMENTATION_VENVS", instrumentation_venvs)
        .env("AGENTRACE_FRAMEWORK_VENVS", framework_venvs)
        .env("AGENTRACE_SCHEMATHESIS_VENV", schemathesis_venv)
        .env("AGENTRACE_CLICKHOUSE_VENV", &clickhouse_venv);
    step("integration: the suite", suite)?;

    step(
        "integration: the dashboard in headless Chromium (tests/browser)",
        browser_suite(None),
    )?;

    // The same API tests and dashboard on a ClickHouse store: the real engine (chdb) behind
    // ClickHouse's HTTP interface, each test on a database of its own, opened as `serve` opens
    // it (the server's `clickhouse` feature: `--all-features`, as the tests above built it).
    let clickhouse = ChdbFixture::start(&clickhouse_venv)?;
    let mut api = cargo();
    if has_nextest() {
        api.args([
            "nextest",
            "run",
            "-p",
            "agentrace-server",
            "--test",
            "api",
            "--all-features",
            "--profile",
            "ci",
        ]);
    } else {
        api.args([
            "test",
            "-p",
            "agentrace-server",
            "--test",
            "api",
            "--all-features",
        ]);
    }
    api.env("AGENTRACE_TEST_CLICKHOUSE", &clickhouse.url);
    step("integration: the server's API tests on ClickHouse", api)?;
    step(
        "integration: the dashboard in headless Chromium on ClickHouse",
        browser_suite(Some(&clickhouse.url)),
    )
}

/// The browser suite's command: on SQLite, or on the ClickHouse server at `clickhouse`.
fn browser_suite(clickhouse: Option<&str>) -> Command {
    let mut browser = Command::new("npm");
    browser
        .args(["test", "--silent"])
        .current_dir(root().join("tests").join("browser"))
        .env(
            "AGENTRACE_BIN",
            target_dir().join("debug").join("agentrace"),
        )
        .env(
            "AGENTRACE_SCREENSHOTS",
            target_dir().join("dashboard-screenshots"),
        );
    if let Some(url) = clickhouse {
        browser.env("AGENTRACE_TEST_CLICKHOUSE", url);
    }
    browser
}

/// The chdb fixture (`tests/integration/python/clickhouse/chdb_http.py`) serving ClickHouse's
/// HTTP interface on a free port, over a data directory in the target dir; stopped on drop.
struct ChdbFixture {
    child: std::process::Child,
    url: String,
}

impl ChdbFixture {
    fn start(venv: &Path) -> Result<Self, String> {
        use std::io::{BufRead, BufReader};
        let data = target_dir().join("chdb-fixture-data");
        let _ = std::fs::remove_dir_all(&data);
        let mut child = Command::new(venv.join("bin").join("python"))
            .arg(root().join("tests/integration/python/clickhouse/chdb_http.py"))
            .arg("--data")
            .arg(&data)
            .args(["--port", "0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the chdb fixture: {e}"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the chdb fixture has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("the chdb fixture did not start: {e}"))?;
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the chdb fixture did not start: {line:?}"))?
            .to_owned();
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for ChdbFixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench(args: &[String]) -> Result<(), String> {
    let (store, names) = bench_store(args)?;
    let names: Vec<&str> = if names.is_empty() {
        vec!["layer", "sinks", "cost", "metrics"]
    } else {
        names
    };
    for name in names {
        if name == "ingest" {
            bench_ingest(&store)?;
            continue;
        }
        if name == "dashboard" {
            bench_dashboard(store)?;
            continue;
        }
        let mut cmd = cargo();
        cmd.args(["bench", "--all-features", "--bench", name]);
        step(&format!("bench {name}"), cmd)?;
    }
    println!(
        "\nCriterion reports are in target/criterion/; record the figures in docs/benchmarks.md."
    );
    Ok(())
}

/// A free loopback port (bound, read, released).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Whether `GET path` on the loopback port answers 200 (plain HTTP/1.0, no dependencies).
fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    if write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// The store `bench ingest` runs on: `--store sqlite` (the default) or `--store clickhouse`
/// (the chdb fixture) with `--nodes N` servers sharing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BenchStore {
    Sqlite,
    ClickHouse { nodes: usize },
}

/// `bench`'s flags (`--store`, `--nodes`) and the benchmarks named.
fn bench_store(args: &[String]) -> Result<(BenchStore, Vec<&str>), String> {
    let (mut store, mut nodes, mut names) = ("sqlite", 1usize, Vec::new());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--store" => store = it.next().ok_or("--store needs sqlite or clickhouse")?,
            "--nodes" => {
                nodes = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 1)
                    .ok_or("--nodes needs a number of servers")?;
            }
            name => names.push(name),
        }
    }
    match (store, nodes) {
        ("sqlite", 1) => Ok((BenchStore::Sqlite, names)),
        ("sqlite", _) => Err("--nodes: several servers share a ClickHouse store only".into()),
        ("clickhouse", nodes) => Ok((BenchStore::ClickHouse { nodes }, names)),
        (other, _) => Err(format!("--store {other}: expected sqlite or clickhouse")),
    }
}

/// Release `agentrace serve` nodes on free ports, over a fresh data directory each and their
/// store: a SQLite file of the one node, or a fresh ClickHouse database on the chdb fixture.
struct BenchServer {
    nodes: Vec<BenchNode>,
    /// The load generator's clients, each with one request in flight.
    clients: usize,
    data: PathBuf,
    _clickhouse: Option<ChdbFixture>,
}

/// One node of a [`BenchServer`].
struct BenchNode {
    child: std::process::Child,
    http: u16,
    app: u16,
}

impl Drop for BenchNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BenchServer {
    /// Builds the server and the load generator (release), starts the nodes in
    /// `target/bench-<name>` (`serve_args` added to each command line), waits until each is
    /// ready.
    fn start(name: &str, store: BenchStore, serve_args: &[&OsStr]) -> Result<Self, String> {
        let mut build = cargo();
        build.args([
            "build",
            "--release",
            "-p",
            "agentrace-cli",
            "-p",
            "agentrace-loadgen",
        ]);
        step(
            &format!("bench {name}: build the server and the load generator"),
            build,
        )?;
        let data = target_dir().join(format!("bench-{name}"));
        let _ = std::fs::remove_dir_all(&data);
        let (clickhouse, nodes) = match store {
            BenchStore::Sqlite => (None, 1),
            BenchStore::ClickHouse { nodes } => {
                let venv = target_dir().join("clickhouse-venv");
                if !venv.join("bin").join("python").is_file() {
                    return Err(format!(
                        "no chdb virtualenv at {}: run scripts/install-test-deps.sh",
                        venv.display()
                    ));
                }
                (Some(ChdbFixture::start(&venv)?), nodes)
            }
        };
        let mut started_nodes = Vec::new();
        for n in 0..nodes {
            let dir = data.join(format!("node-{n}"));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let store = clickhouse
                .as_ref()
                .map(|c| format!("clickhouse://{}/bench", c.url.trim_start_matches("http://")));
            started_nodes.push(BenchNode::start(&dir, store.as_deref(), serve_args)?);
        }
        Ok(Self {
            nodes: started_nodes,
            clients: match store {
                // Four saturate a SQLite node.
                BenchStore::Sqlite => 4,
                // A node answers once ClickHouse has the rows, tens of milliseconds a write:
                // four requests in flight measure that wait, not the rate. 64 fill the group
                // commits as a fleet of exporters would (two nodes on the fixture: 7.8 k
                // spans/s from 4 clients, 16.7 k from 16, 32.4 k from 64; docs/benchmarks.md §9).
                BenchStore::ClickHouse { .. } => 64,
            },
            data,
            _clickhouse: clickhouse,
        })
    }

    /// The load generator into it: `load` is how much (`--spans N` or `--duration SECONDS`),
    /// each trace whole in a request or (`children-first`) its agent span in a later request;
    /// the requests spread over the nodes, the API read on the first.
    fn load(&self, name: &str, order: &str, load: [&str; 2]) -> Result<(), String> {
        warn_if_busy();
        let list = |f: &dyn Fn(&BenchNode) -> String| {
            self.nodes.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let mut cmd = Command::new(target_dir().join("release").join("agentrace-loadgen"));
        cmd.args([
            "--endpoint",
            &list(&|n| format!("http://127.0.0.1:{}", n.http)),
        ])
        .args(["--api", &format!("http://127.0.0.1:{}", self.nodes[0].app)])
        .args(load)
        .args(["--order", order])
        .args(["--concurrency", &self.clients.to_string()])
        .args(["--server-pid", &list(&|n| n.child.id().to_string())]);
        step(&format!("bench {name}: load, traces {order}"), cmd)
    }

    /// A graceful stop (SIGTERM), as an operator would.
    fn stop(mut self) {
        for node in &mut self.nodes {
            let _ = Command::new("kill")
                .args(["-TERM", &node.child.id().to_string()])
                .status();
            let _ = node.child.wait();
        }
        println!(
            "\nRecord the figures in docs/benchmarks.md; the servers' logs are in {}.",
            self.data.display()
        );
    }
}

impl BenchNode {
    /// A release `agentrace serve` over `dir` (its log in `dir/server.log`) and `store` if
    /// given, once ready.
    fn start(dir: &Path, store: Option<&str>, serve_args: &[&OsStr]) -> Result<Self, String> {
        let (http, grpc, app) = (free_port()?, free_port()?, free_port()?);
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut serve = Command::new(target_dir().join("release").join("agentrace"));
        serve
            .arg("serve")
            .arg("--data-dir")
            .arg(dir)
            .args(["--otlp-http-port", &http.to_string()])
            .args(["--otlp-grpc-port", &grpc.to_string()])
            .args(["--app-port", &app.to_string()]);
        if let Some(store) = store {
            serve.args(["--store", store]);
        }
        serve.args(serve_args);
        let child = serve
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let mut node = Self { child, http, app };
        let started = Instant::now();
        while !http_ok(app, "/readyz") {
            if started.elapsed() > std::time::Duration::from_secs(60)
                || matches!(node.child.try_wait(), Ok(Some(_)))
            {
                return Err(format!(
                    "the server did not become ready; see {}",
                    dir.join("server.log").display()
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(node)
    }
}

/// Warns when something else keeps the CPUs busy while the server waits for its load: on this
/// 2-vCPU VM even processes at `nice 19` (a fuzzer) took a quarter of the ingest rate, so
/// figures measured beside them are not comparable.
fn warn_if_busy() {
    fn ticks() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
        let total: u64 = fields.iter().take(8).sum();
        let idle = fields.get(3)? + fields.get(4)?;
        Some((total, idle))
    }
    let Some((total0, idle0)) = ticks() else {
        return;
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let Some((total1, idle1)) = ticks() else {
        return;
    };
    let total = total1.saturating_sub(total0).max(1);
    let busy = total.saturating_sub(idle1.saturating_sub(idle0)) as f64 / total as f64;
    if busy > 0.1 {
        println!(
            "warning: the CPUs were {:.0} % busy before the load (other processes); \
             these figures are not comparable with an idle machine's",
            busy * 100.0
        );
    }
}

/// `AGENTRACE_BENCH_SPANS`, default a million.
fn bench_spans() -> String {
    std::env::var("AGENTRACE_BENCH_SPANS").unwrap_or_else(|_| "1000000".into())
}

/// `agentrace serve` (release, SQLite in a fresh directory) under the load generator, three
/// times, each on a fresh server: `AGENTRACE_BENCH_SPANS` spans (default a million) with each
/// trace whole in one request; as many with each trace's agent span after its calls, in a later
/// request; and traces whole for `AGENTRACE_BENCH_SECONDS` (default 300) at the maximum rate,
/// the sustained run that shows the write-ahead log's peak and the database's bytes per span.
/// On ClickHouse (`--store clickhouse [--nodes N]`, N nodes on the chdb fixture) the first two
/// (a ClickHouse store has no write-ahead log of agentrace's), and after the first the bytes a
/// span of its spans under other column codecs (`benches/clickhouse_codecs.py`).
fn bench_ingest(store: &BenchStore) -> Result<(), String> {
    let spans = bench_spans();
    let seconds = std::env::var("AGENTRACE_BENCH_SECONDS").unwrap_or_else(|_| "300".into());
    for (name, order, load) in [
        ("ingest", "whole", ["--spans", spans.as_str()]),
        (
            "ingest-children-first",
            "children-first",
            ["--spans", spans.as_str()],
        ),
        (
            "ingest-sustained",
            "whole",
            ["--duration", seconds.as_str()],
        ),
    ] {
        if name == "ingest-sustained" && *store != BenchStore::Sqlite {
            continue;
        }
        let server = BenchServer::start(name, *store, &[])?;
        let result = server.load(name, order, load);
        server.stop();
        result?;
        if name == "ingest" && *store != BenchStore::Sqlite {
            // The spans just stored, under each codec the schema's were chosen over.
            let mut codecs = Command::new(target_dir().join("clickhouse-venv/bin/python"));
            codecs
                .arg(root().join("benches/clickhouse_codecs.py"))
                .arg(target_dir().join("chdb-fixture-data"));
            step("bench ingest: the spans table's column codecs", codecs)?;
        }
    }
    Ok(())
}

/// The dashboard in headless Chromium over a release server holding the load generator's
/// million spans and a 10,000-span trace (`tests/browser/bench/dashboard.mjs`), on the store
/// `store` names.
fn bench_dashboard(store: BenchStore) -> Result<(), String> {
    let mut install = Command::new("bash");
    install
        .arg(root().join("scripts").join("install-test-deps.sh"))
        .env("AGENTRACE_VENV", target_dir().join("integration-venv"))
        .current_dir(root());
    step(
        "bench dashboard: install Chromium and the browser suite",
        install,
    )?;
    let spans = bench_spans();
    // Alert rules, as a team runs them: the Alerts page has alerts to show.
    let alerts = root().join("benches").join("dashboard-alerts.toml");
    let server = BenchServer::start(
        "dashboard",
        store,
        &[OsStr::new("--alerts"), alerts.as_os_str()],
    )?;
    let result = server
        .load("dashboard", "whole", ["--spans", spans.as_str()])
        .and_then(|()| {
            let mut measure = Command::new("node");
            measure
                .arg("bench/dashboard.mjs")
                .args([
                    "--app",
                    &format!("http://127.0.0.1:{}", server.nodes[0].app),
                ])
                .args([
                    "--otlp",
                    &format!("http://127.0.0.1:{}", server.nodes[0].http),
                ])
                .current_dir(root().join("tests").join("browser"));
            step("bench dashboard: every view in headless Chromium", measure)
        });
    server.stop();
    result
}

/// The README's main job: the simulated workflow writes a store, the CLI summarizes it.
fn demo() -> Result<(), String> {
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

#[test]
fn features_of_reads_the_features_table() {
    let manifest = "[package]\nname = \"x\"\n\n[features]\ndefault = [\"a\"]\n## A.\na = [\"dep:y\"]\nb = []\n\n[dependencies]\nc = \"1\"\n";
    assert_eq!(features_of(manifest), ["a", "b"]);
    let facade = std::fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default();
    assert!(features_of(&facade).contains(&"tiktoken".to_owned()));
}
