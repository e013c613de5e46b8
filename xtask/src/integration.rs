//! `cargo xtask integration`: the real components installed, then the integration suite
//! (with the container image it deploys) and the browser suite, on SQLite and on ClickHouse.

use std::process::Command;

use crate::image::{TEST_IMAGE, build_test_image};
use crate::{BackgroundStep, cargo, has_nextest, root, services::ChdbFixture, step, target_dir};

/// The crate holding the integration suite; `ci`'s unit-test step leaves it to `integration`.
pub(crate) const INTEGRATION_CRATE: &str = "agentrace-integration";

/// Installs the real components, builds the examples the suite drives, runs the suite.
pub(crate) fn integration() -> Result<(), String> {
    install_test_deps()?;
    integration_suite()
}

/// Builds the examples, the `agentrace` binary and the load generator (debug, every feature)
/// into `target/debug`: what the suite drives, what `ci`'s demo runs and what its bench smoke
/// loads the server with (one build for all three).
pub(crate) fn build_examples_and_binary() -> Result<(), String> {
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
        "-p",
        "agentrace-loadgen",
    ]);
    step(
        "build the examples, the agentrace binary and the load generator",
        examples,
    )
}

/// The chdb virtualenv: the ClickHouse crate's own tests and the suite run the engine from it.
pub(crate) fn clickhouse_venv() -> std::path::PathBuf {
    target_dir().join("clickhouse-venv")
}

/// The deployment tests' tools (podman-compose, kubernetes-validate, checkov).
fn deploy_venv() -> std::path::PathBuf {
    target_dir().join("deploy-venv")
}

/// Installs the real components every suite runs against (`scripts/install-test-deps.sh`).
pub(crate) fn install_test_deps() -> Result<(), String> {
    step(INSTALL_TEST_DEPS, install_test_deps_command())
}

/// [`install_test_deps`] started in the background: `ci` builds meanwhile (the installs wait
/// mostly on the network, the builds on the CPU).
pub(crate) fn install_test_deps_in_background() -> Result<BackgroundStep, String> {
    BackgroundStep::start(
        INSTALL_TEST_DEPS,
        "install-test-deps",
        install_test_deps_command(),
    )
}

const INSTALL_TEST_DEPS: &str = "install test dependencies";

/// `scripts/install-test-deps.sh`, its virtualenvs in the target directory.
fn install_test_deps_command() -> Command {
    let mut install = Command::new("bash");
    install
        .arg(root().join("scripts").join("install-test-deps.sh"))
        .env("AGENTRACE_VENV", target_dir().join("integration-venv"))
        .env(
            "AGENTRACE_INSTRUMENTATION_VENVS",
            target_dir().join("instrumentation-venvs"),
        )
        .env(
            "AGENTRACE_FRAMEWORK_VENVS",
            target_dir().join("framework-venvs"),
        )
        .env(
            "AGENTRACE_SCHEMATHESIS_VENV",
            target_dir().join("schemathesis-venv"),
        )
        .env("AGENTRACE_CLICKHOUSE_VENV", clickhouse_venv())
        .env("AGENTRACE_DEPLOY_VENV", deploy_venv())
        .current_dir(root());
    install
}

/// The integration suite, the browser suite and the API tests on ClickHouse, with the
/// components [`install_test_deps`] installed.
pub(crate) fn integration_suite() -> Result<(), String> {
    let venv = target_dir().join("integration-venv");
    let instrumentation_venvs = target_dir().join("instrumentation-venvs");
    let framework_venvs = target_dir().join("framework-venvs");
    let schemathesis_venv = target_dir().join("schemathesis-venv");
    let clickhouse_venv = clickhouse_venv();

    build_examples_and_binary()?;
    build_test_image()?;

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
        .env("AGENTRACE_CLICKHOUSE_VENV", &clickhouse_venv)
        .env("AGENTRACE_DEPLOY_VENV", deploy_venv())
        .env("AGENTRACE_IMAGE", TEST_IMAGE);
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
        "integration: the dashboard's views in headless Chromium on ClickHouse",
        browser_suite(Some(&clickhouse.url)),
    )
}

/// The browser suite's command: all of it on SQLite; on the ClickHouse server at
/// `clickhouse`, the views (every page over what the store answers). The screenshots, the
/// security and the migration tests show what the store does not change (layout, escaping,
/// tokens, an old SQLite file), and the screenshots' demo workload alone would take five
/// minutes on the test engine, which serves one statement at a time.
pub(crate) fn browser_suite(clickhouse: Option<&str>) -> Command {
    let mut browser = Command::new("npm");
    let script = if clickhouse.is_some() {
        ["run", "test:views", "--silent"]
    } else {
        ["run", "test", "--silent"]
    };
    browser
        .args(script)
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
