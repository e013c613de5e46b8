//! What `deploy/` ships, run as a team would run it (docs/deploy.md): the image on a read-only
//! root as a non-root user, stopped by SIGTERM with nothing acknowledged lost; the one-node
//! Compose file under podman-compose; the Kubernetes overlays rendered, validated and checked,
//! and the single-node one played by `podman kube play`, its data kept across a `kube down`.
//! One at a time (nextest's `podman` group): they share Podman's state, and `kube play`
//! publishes the manifest's own ports.

use std::time::{Duration, Instant};

use agentrace_integration::containers::{
    assert_kept, available, command, containers_conf, deploy_tool, image, kustomize,
    kustomize_build, podman, podman_cmd, send_traces, succeeded, wait_ready,
};
use agentrace_integration::process::free_port;
use agentrace_integration::{require, workspace_root};
use base64::Engine as _;

const TOKEN: &str = "deploy-suite-token-0123456789";
/// Spans in each trace sent.
const SPANS: u8 = 5;

/// A name no other run of the suite uses.
fn unique(what: &str) -> String {
    format!("agentrace-test-{what}-{}", std::process::id())
}

/// Removes a container and its volume when dropped, however the test ends.
struct Cleanup(Vec<Vec<String>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = podman_cmd(&args);
        }
    }
}

fn run_container(name: &str, volume: &str, (app, otlp): (u16, u16)) {
    podman(&[
        "run",
        "-d",
        "--name",
        name,
        "--read-only",
        "-v",
        &format!("{volume}:/data"),
        "-p",
        &format!("127.0.0.1:{app}:4319"),
        "-p",
        &format!("127.0.0.1:{otlp}:4318"),
        "-e",
        &format!("AGENTRACE_API_TOKEN={TOKEN}"),
        &image(),
    ]);
}

fn logs(name: &str) -> String {
    let output = podman_cmd(&["logs", name]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_read_only_as_non_root_and_a_sigterm_loses_nothing_acknowledged() {
    if !available() {
        return;
    }
    let (first, second, volume) = (unique("first"), unique("second"), unique("data"));
    let _cleanup = Cleanup(vec![
        vec!["volume".into(), "rm".into(), "-f".into(), volume.clone()],
        vec!["rm".into(), "-f".into(), first.clone()],
        vec!["rm".into(), "-f".into(), second.clone()],
    ]);
    let ports = (free_port(), free_port());
    let (app, otlp) = (
        format!("http://127.0.0.1:{}", ports.0),
        format!("http://127.0.0.1:{}", ports.1),
    );
    run_container(&first, &volume, ports);
    wait_ready(&app, || logs(&first)).await;

    let inspected = podman(&[
        "inspect",
        &first,
        "--format",
        "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}",
    ]);
    assert_eq!(
        inspected.trim(),
        "10001:10001 true",
        "a non-root user, a read-only root"
    );
    let written = podman_cmd(&["exec", &first, "touch", "/usr/local/bin/x"]);
    assert!(
        !written.status.success(),
        "the root file system refuses writes"
    );
    podman(&["healthcheck", "run", &first]);

    // Load under way when SIGTERM comes: what was acknowledged must all be there after.
    let sender = tokio::spawn({
        let otlp = otlp.clone();
        async move { send_traces(&otlp, TOKEN, SPANS, Duration::from_secs(60)).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stopping = Instant::now();
    podman(&["stop", "-t", "30", &first]);
    let stopped_in = stopping.elapsed();
    let acknowledged = sender.await.expect("the sender ends");
    assert!(
        acknowledged.len() > 10,
        "load was acknowledged before the stop: {}",
        acknowledged.len()
    );
    assert!(
        stopped_in < Duration::from_secs(30),
        "it stopped by itself on SIGTERM, not killed after the grace period: {stopped_in:?}"
    );
    let exit = podman(&["inspect", &first, "--format", "{{.State.ExitCode}}"]);
    assert_eq!(exit.trim(), "0", "a clean exit; its log:\n{}", logs(&first));
    let log = logs(&first);
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI codes off a terminal:\n{log}"
    );
    let json_lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        json_lines
            .iter()
            .any(|l| l["fields"]["message"] == "agentrace server stopped"),
        "its log is JSON (AGENTRACE_LOG_FORMAT=json in the image):\n{log}"
    );
    println!(
        "SIGTERM under load: stopped in {stopped_in:?}, {} traces acknowledged",
        acknowledged.len()
    );

    // Another container over the same volume: everything acknowledged is there.
    run_container(&second, &volume, ports);
    wait_ready(&app, || logs(&second)).await;
    assert_kept(&app, TOKEN, &acknowledged, SPANS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compose_file_runs_one_node_whose_volume_outlives_it() {
    if !available() {
        return;
    }
    let compose = deploy_tool("podman-compose");
    if !require(compose.is_file(), "podman-compose (target/deploy-venv)") {
        return;
    }
    let project = Compose {
        tool: compose,
        name: unique("compose"),
        ports: [free_port(), free_port(), free_port()],
    };
    let app = format!("http://127.0.0.1:{}", project.ports[0]);
    let container = format!("{}_agentrace_1", project.name);
    project.run(&["up", "-d"]);
    wait_ready(&app, || logs(&container)).await;
    let otlp = format!("http://127.0.0.1:{}", project.ports[1]);
    let acknowledged = send_traces(&otlp, TOKEN, SPANS, Duration::from_secs(2)).await;
    assert!(!acknowledged.is_empty(), "the node takes OTLP");
    project.run(&["down"]);
    project.run(&["up", "-d"]);
    wait_ready(&app, || logs(&container)).await;
    assert_kept(&app, TOKEN, &acknowledged, SPANS).await;
}

/// The Compose file as a project of podman-compose, taken down with its volume when dropped.
struct Compose {
    tool: std::path::PathBuf,
    name: String,
    /// The host's ports: the app's, OTLP/HTTP's, OTLP/gRPC's.
    ports: [u16; 3],
}

impl Compose {
    /// `podman-compose ARGS` on `deploy/compose/compose.yaml`, which must succeed.
    fn run(&self, args: &[&str]) -> String {
        let file = workspace_root()
            .join("deploy")
            .join("compose")
            .join("compose.yaml");
        let output = std::process::Command::new(&self.tool)
            .arg("-f")
            .arg(file)
            .args(["-p", &self.name])
            .args(args)
            .env("CONTAINERS_CONF", containers_conf())
            .env("AGENTRACE_IMAGE", image())
            .env("AGENTRACE_API_TOKEN", TOKEN)
            .env("APP_PORT", self.ports[0].to_string())
            .env("OTLP_HTTP_PORT", self.ports[1].to_string())
            .env("OTLP_GRPC_PORT", self.ports[2].to_string())
            .output()
            .expect("podman-compose runs");
        succeeded(&format!("podman-compose {}", args.join(" ")), &output)
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(&["down", "-v"])));
    }
}

/// `deploy/kubernetes/<overlay>` rendered by `kustomize`, its image the one under test
/// (through an overlay of it in `dir`).
fn render(kustomize: &std::path::Path, overlay: &str, dir: &std::path::Path) -> String {
    let target = workspace_root()
        .join("deploy")
        .join("kubernetes")
        .join(overlay);
    let target = std::fs::canonicalize(&target).expect("the overlay exists");
    // kustomize takes a relative path to another kustomization only.
    let depth = dir.components().count().saturating_sub(1);
    let relative = format!(
        "{}{}",
        "../".repeat(depth),
        target.display().to_string().trim_start_matches('/')
    );
    let image = image();
    let (name, tag) = image.rsplit_once(':').expect("an image with a tag");
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - {relative}\n\
             images:\n  - name: localhost/agentrace\n    newName: {name}\n    newTag: {tag}\n"
        ),
    )
    .expect("the test's overlay");
    kustomize_build(kustomize, dir)
}

#[test]
fn the_kubernetes_overlays_render_validate_and_pass_checkov() {
    let Some(kustomize) = kustomize() else {
        return;
    };
    let (validate, checkov) = (deploy_tool("kubernetes-validate"), deploy_tool("checkov"));
    if !require(
        validate.is_file() && checkov.is_file(),
        "kubernetes-validate and checkov (target/deploy-venv)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut rendered = Vec::new();
    for overlay in ["single-node", "fleet"] {
        let manifest = kustomize_build(
            &kustomize,
            &workspace_root().join("deploy/kubernetes").join(overlay),
        );
        let path = dir.path().join(format!("{overlay}.yaml"));
        std::fs::write(&path, manifest).expect("the rendered overlay");
        rendered.push(path);
    }
    let files: Vec<&str> = rendered
        .iter()
        .map(|p| p.to_str().expect("UTF-8"))
        .collect();
    // The Kubernetes versions docs/deploy.md states.
    for version in ["1.29.0", "1.33.0", "1.37.0"] {
        let mut args = vec!["--strict", "--quiet", "-k", version];
        args.extend(&files);
        succeeded(
            &format!("kubernetes-validate {version}"),
            &command(&validate, &args),
        );
    }
    let mut args = vec![
        "--quiet",
        "--compact",
        "--skip-download",
        "--framework",
        "kubernetes",
    ];
    for file in &files {
        args.extend(["-f", file]);
    }
    succeeded("checkov on both overlays", &command(&checkov, &args));
    // checkov knows a Dockerfile by its name.
    let dockerfile = dir.path().join("Dockerfile");
    std::fs::copy(
        workspace_root().join("deploy").join("Containerfile"),
        &dockerfile,
    )
    .expect("the Containerfile");
    succeeded(
        "checkov on the Containerfile",
        &command(
            &checkov,
            &[
                "--quiet",
                "--compact",
                "--skip-download",
                "--framework",
                "dockerfile",
                "-f",
                dockerfile.to_str().expect("UTF-8"),
            ],
        ),
    );
}

/// `manifest` as `podman kube play` runs it, first with its claims and then without (played
/// again, a claim is bound already, as in a cluster, and Podman 4.3 refuses to make a claim's
/// volume twice). Podman plays Deployments, not StatefulSets: each StatefulSet is played as a
/// Deployment of the same pod template, replaced by stopping the old pod first as a
/// StatefulSet's pod is, with the claims its `volumeClaimTemplates` make for its first pod
/// (`<template>-<name>-0`, Kubernetes's names).
fn as_podman_plays(manifest: &str) -> (String, String) {
    use serde_json::{Value, json};
    let docs: Vec<Value> = serde_saphyr::from_multiple(manifest).expect("YAML documents");
    let (mut played, mut claims) = (Vec::new(), Vec::new());
    for mut doc in docs {
        if doc["kind"] == "StatefulSet" {
            let name = doc["metadata"]["name"].as_str().expect("a name").to_owned();
            let spec = doc["spec"].as_object_mut().expect("a spec");
            let templates = spec.remove("volumeClaimTemplates");
            spec.remove("serviceName");
            spec.insert("strategy".into(), json!({"type": "Recreate"}));
            for template in templates
                .as_ref()
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let volume = template["metadata"]["name"].as_str().expect("a claim name");
                let claim = format!("{volume}-{name}-0");
                claims.push(json!({
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim},
                    "spec": template["spec"],
                }));
                let pod = &mut doc["spec"]["template"]["spec"];
                if pod.get("volumes").is_none() {
                    pod["volumes"] = json!([]);
                }
                pod["volumes"]
                    .as_array_mut()
                    .expect("volumes")
                    .push(json!({"name": volume, "persistentVolumeClaim": {"claimName": claim}}));
            }
            doc["kind"] = "Deployment".into();
        }
        played.push(doc);
    }
    let again = serde_saphyr::to_string_multiple(&played).expect("YAML");
    played.extend(claims);
    let first = serde_saphyr::to_string_multiple(&played).expect("YAML");
    (first, again)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_node_overlay_plays_and_keeps_its_data_across_kube_down() {
    if !available() {
        return;
    }
    let Some(kustomize) = kustomize() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let manifest = render(&kustomize, "single-node", dir.path());
    assert!(
        manifest.contains("\nkind: StatefulSet\n"),
        "the single node is a StatefulSet:\n{manifest}"
    );
    let (first, second) = as_podman_plays(&manifest);
    let (play, again) = (dir.path().join("play.yaml"), dir.path().join("again.yaml"));
    std::fs::write(&play, first).expect("the manifest");
    std::fs::write(&again, second).expect("the manifest again");
    // The Secret the manifests read the token from; Podman 4.3 keeps it as a JSON map of
    // base64 values.
    let secret = dir.path().join("secret.json");
    std::fs::write(
        &secret,
        format!(
            "{{\"api-token\": \"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode(TOKEN)
        ),
    )
    .expect("the secret");
    let play_path = play.to_str().expect("UTF-8").to_owned();
    let again_path = again.to_str().expect("UTF-8").to_owned();
    let _cleanup = Cleanup(vec![
        vec!["secret".into(), "rm".into(), "agentrace".into()],
        vec![
            "volume".into(),
            "rm".into(),
            "-f".into(),
            "data-agentrace-0".into(),
        ],
        vec!["kube".into(), "down".into(), again_path.clone()],
    ]);
    podman(&[
        "secret",
        "create",
        "agentrace",
        secret.to_str().expect("UTF-8"),
    ]);
    podman(&["kube", "play", &play_path]);
    // The pod publishes the manifest's container ports on the host.
    let (app, otlp) = ("http://127.0.0.1:4319", "http://127.0.0.1:4318");
    let container = "agentrace-pod-0-agentrace";
    wait_ready(app, || logs(container)).await;
    let acknowledged = send_traces(otlp, TOKEN, SPANS, Duration::from_secs(2)).await;
    assert!(!acknowledged.is_empty(), "the pod takes OTLP");
    podman(&["kube", "down", &play_path]);
    podman(&["kube", "play", &again_path]);
    wait_ready(app, || logs(container)).await;
    assert_kept(app, TOKEN, &acknowledged, SPANS).await;
}
