//! What `deploy/` ships, run as a team would run it (docs/deploy.md): the image on a read-only
//! root as a non-root user, stopped by SIGTERM with nothing acknowledged lost; the one-node
//! Compose file under podman-compose; the Kubernetes overlays rendered, validated and checked,
//! and the single-node one played by `podman kube play`, its data kept across a `kube down`;
//! the fleet Compose file's nodes as containers on the ClickHouse fixture behind nginx with the
//! fleet's configuration, one killed and removed for good and one cut off from ClickHouse,
//! nothing acknowledged lost.
//! One at a time (nextest's `podman` group): they share Podman's state, and `kube play`
//! publishes the manifest's own ports.

use std::time::{Duration, Instant};

use agentrace_clickhouse::testing::ChdbServer;
use agentrace_integration::containers::{
    FleetNode, assert_kept, available, command, containers_conf, deploy_tool, fleet_node,
    host_address, image, in_network_of, kustomize, kustomize_build, podman, podman_cmd,
    send_traces, succeeded, wait_ready,
};
use agentrace_integration::load::{FleetLoad, assert_attributed};
use agentrace_integration::nginx::{self, Nginx, Upstream};
use agentrace_integration::process::free_port;
use agentrace_integration::{eventually, require, workspace_root};
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

/// The logs of containers `names`, one after the other.
fn logs_of(names: &[String]) -> String {
    names
        .iter()
        .map(|n| logs(n))
        .collect::<Vec<_>>()
        .join("\n----\n")
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

/// Calls in each children-first trace of the fleet's load, under its agent span.
const CALLS: u8 = 3;

/// A node of the fleet's Compose file run as container `name` on the ClickHouse fixture at
/// `clickhouse` (the address and port containers reach it at), its ports published on
/// loopback.
fn run_fleet_node(name: &str, node: &FleetNode, ports: Upstream, clickhouse: (&str, u16)) {
    let mut args: Vec<String> = vec!["run".into(), "-d".into(), "--name".into(), name.into()];
    if node.read_only {
        args.push("--read-only".into());
    }
    for path in &node.tmpfs {
        args.extend(["--tmpfs".into(), path.clone()]);
    }
    let (host, port) = clickhouse;
    args.extend(["--add-host".into(), format!("clickhouse:{host}")]);
    for (published, inside) in [
        (ports.otlp_http, 4318),
        (ports.otlp_grpc, 4317),
        (ports.app, 4319),
    ] {
        args.extend(["-p".into(), format!("127.0.0.1:{published}:{inside}")]);
    }
    for (key, value) in &node.environment {
        // The fixture listens on a port of its own, not ClickHouse's 8123.
        let value = value.replace("@clickhouse:8123/", &format!("@clickhouse:{port}/"));
        args.extend(["-e".into(), format!("{key}={value}")]);
    }
    args.push(image());
    podman(&args.iter().map(String::as_str).collect::<Vec<_>>());
}

/// `GET path` on the app at `port` of loopback with the token: its status and JSON.
async fn get_json(client: &reqwest::Client, port: u16, path: &str) -> (u16, serde_json::Value) {
    let Ok(answer) = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(15))
        .send()
        .await
    else {
        return (0, serde_json::Value::Null);
    };
    let code = answer.status().as_u16();
    (code, answer.json().await.unwrap_or(serde_json::Value::Null))
}

/// The index among `apps` (app ports) of the one leader, once the nodes agree that `alive`
/// nodes are alive and one of them leads.
async fn one_leader(client: &reqwest::Client, apps: &[u16], alive: u64) -> Option<usize> {
    let mut leaders = Vec::new();
    for (i, port) in apps.iter().enumerate() {
        let (code, status) = get_json(client, *port, "/api/v1/status").await;
        if code != 200 || status["fleet"]["nodes"].as_u64() != Some(alive) {
            return None;
        }
        if status["fleet"]["leader"] == true {
            leaders.push(i);
        }
    }
    match leaders[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// Three nodes of the fleet's Compose file (its environment, read-only root, `/data` in
/// memory) as containers on the ClickHouse fixture, behind nginx with the fleet's
/// configuration, children-first load over OTLP/HTTP and gRPC: the leader killed with
/// SIGKILL and removed with its volume, never to come back; another node cut off from
/// ClickHouse in its own network namespace (it refuses retryably and `/readyz` says why)
/// and recovering by itself when the network returns. Every acknowledged span is stored, every
/// call attributed to its agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_containers_loses_nothing_when_a_node_is_killed_or_cut_off() {
    if !available() {
        return;
    }
    let Some(python) = agentrace_clickhouse::testing::python() else {
        return;
    };
    let Some(nginx_bin) = nginx::binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    // Listening beyond loopback: the containers reach it through Podman's network.
    let chdb = ChdbServer::start_at(&python, &dir.path().join("clickhouse"), ("0.0.0.0", 0));
    let host = host_address();
    let node = fleet_node(
        "agentrace-1",
        &[
            ("AGENTRACE_API_TOKEN", TOKEN),
            ("CLICKHOUSE_PASSWORD", "fixture-password"),
        ],
    );
    let mut names: Vec<String> = (1..=3).map(|i| unique(&format!("fleet-{i}"))).collect();
    let _cleanup = Cleanup(
        names
            .iter()
            .map(|n| vec!["rm".into(), "-f".into(), "-v".into(), n.clone()])
            .collect(),
    );
    let ports: Vec<Upstream> = names
        .iter()
        .map(|_| Upstream {
            otlp_http: free_port(),
            otlp_grpc: free_port(),
            app: free_port(),
        })
        .collect();
    for (name, ports) in names.iter().zip(&ports) {
        run_fleet_node(name, &node, *ports, (&host, chdb.port()));
    }
    let first_names = names.clone();
    let all_logs = || logs_of(&first_names);
    for ports in &ports {
        wait_ready(&format!("http://127.0.0.1:{}", ports.app), all_logs).await;
    }
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).expect("a directory");
    let balancer = Nginx::start(&nginx_bin, &nginx_dir, &ports);
    let client = reqwest::Client::new();
    let mut apps: Vec<u16> = ports.iter().map(|p| p.app).collect();
    let leader = wait_for_leader(&client, &apps, 3, &all_logs).await;

    // Load: children-first traces over OTLP/HTTP and gRPC through nginx.
    let load = FleetLoad::start(
        4,
        (balancer.http_port, balancer.grpc_port),
        Some(TOKEN),
        CALLS,
    );
    let count = || load.acknowledged();
    eventually(
        "every node takes a part of the load",
        || async {
            let mut all = count() >= 20;
            for port in &apps {
                let (_, status) = get_json(&client, *port, "/api/v1/status").await;
                all &= status["spans"]["accepted"].as_u64().unwrap_or(0) > 0;
            }
            all
        },
        || balancer.log_text(),
    )
    .await;

    // The leader killed, and removed with its volume: it never comes back.
    let killed = names.remove(leader);
    apps.remove(leader);
    podman(&["kill", "-s", "KILL", &killed]);
    podman(&["rm", "-v", &killed]);
    let killed_at = Instant::now();
    let at_kill = count();
    let survivors_logs = || logs_of(&names);
    let new_leader = wait_for_leader(&client, &apps, 2, &survivors_logs).await;
    let takeover = killed_at.elapsed();
    eventually(
        "load goes on after the kill",
        || async { count() >= at_kill + 20 },
        survivors_logs,
    )
    .await;

    // The other survivor cut off from ClickHouse in its network namespace: it refuses
    // retryably, /readyz says why; then it recovers by itself.
    let cut = 1 - new_leader;
    let (cut_name, cut_app, cut_otlp) =
        (names[cut].clone(), apps[cut], ports_of(&ports, apps[cut]));
    let port = chdb.port().to_string();
    let rule = [
        "OUTPUT",
        "-p",
        "tcp",
        "-d",
        host.as_str(),
        "--dport",
        port.as_str(),
        "-j",
        "DROP",
    ];
    let mut add = vec!["iptables", "-I"];
    add.extend(rule);
    in_network_of(&cut_name, &add);
    let cut_at = Instant::now();
    let refused = post_status(&client, cut_otlp).await;
    assert_eq!(
        refused, 503,
        "cut off, it refuses OTLP with the retryable status"
    );
    let refused_after = cut_at.elapsed();
    let (code, ready) = get_json(&client, cut_app, "/readyz").await;
    assert_eq!(code, 503, "/readyz: not ready while cut off: {ready}");
    let reason = ready["reason"].as_str().unwrap_or_default().to_owned();
    assert!(!reason.is_empty(), "/readyz says why: {ready}");
    let mut delete = vec!["iptables", "-D"];
    delete.extend(rule);
    in_network_of(&cut_name, &delete);
    let healed_at = Instant::now();
    eventually(
        "the cut-off node is ready again by itself",
        || async { get_json(&client, cut_app, "/readyz").await.0 == 200 },
        || logs(&cut_name),
    )
    .await;
    let recovered_after = healed_at.elapsed();
    let at_heal = count();
    eventually(
        "load goes on after the cut",
        || async { count() >= at_heal + 20 },
        survivors_logs,
    )
    .await;

    let (acknowledged, retries) = load.stop().await;
    let app = balancer.app_port;
    let spans_of = |trace| {
        let client = &client;
        async move {
            let path = format!("/api/v1/traces/{trace}");
            let (_, tree) = get_json(client, app, &path).await;
            tree["nodes"]
                .as_array()
                .map(|n| n.iter().map(|n| n["span"].clone()).collect())
                .unwrap_or_default()
        }
    };
    assert_attributed(&acknowledged, CALLS, spans_of, survivors_logs).await;
    let taken_over: u64 = names
        .iter()
        .flat_map(|n| {
            logs(n)
                .lines()
                .filter(|l| l.contains("took over the spans held by nodes gone"))
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|l| l["fields"]["spans"].as_u64())
                .collect::<Vec<u64>>()
        })
        .sum();
    println!(
        "container fleet: {} traces acknowledged ({} retries); leader killed and removed, \
         another leading after {} ms, {taken_over} held spans taken over; a node cut off from \
         ClickHouse refused OTLP with 503 after {} ms (/readyz: {reason}), ready again {} ms \
         after the network returned",
        acknowledged.len(),
        retries,
        takeover.as_millis(),
        refused_after.as_millis(),
        recovered_after.as_millis(),
    );
}

/// The OTLP/HTTP port of the node whose app port is `app`.
fn ports_of(ports: &[Upstream], app: u16) -> u16 {
    ports
        .iter()
        .find(|p| p.app == app)
        .map_or(0, |p| p.otlp_http)
}

/// The status a node's OTLP/HTTP port at `port` answers a small trace with (0: none).
async fn post_status(client: &reqwest::Client, port: u16) -> u16 {
    let (_, body) = agentrace_integration::load::trace_request(9, 0, 1, 0);
    client
        .post(format!("http://127.0.0.1:{port}/v1/traces"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// Waits until the nodes at `apps` agree that `alive` are alive and on one leader: its index.
///
/// # Panics
/// If they do not within [`PATIENCE`](agentrace_integration::PATIENCE).
async fn wait_for_leader(
    client: &reqwest::Client,
    apps: &[u16],
    alive: u64,
    logs: &dyn Fn() -> String,
) -> usize {
    let started = Instant::now();
    loop {
        if let Some(leader) = one_leader(client, apps, alive).await {
            return leader;
        }
        assert!(
            started.elapsed() < agentrace_integration::PATIENCE,
            "{alive} nodes agree on a leader; their logs:\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The fleet's Compose file renders (`podman-compose config`): ClickHouse and nginx by their
/// official images, three nodes on it, nginx with the fleet's configuration in front.
#[test]
fn the_fleet_compose_file_renders_three_nodes_behind_nginx_on_clickhouse() {
    let compose = deploy_tool("podman-compose");
    if !require(compose.is_file(), "podman-compose (target/deploy-venv)") {
        return;
    }
    let path = agentrace_integration::containers::fleet_compose();
    let output = std::process::Command::new(&compose)
        .arg("-f")
        .arg(&path)
        .arg("config")
        .env("CONTAINERS_CONF", containers_conf())
        .env("AGENTRACE_API_TOKEN", TOKEN)
        .env("CLICKHOUSE_PASSWORD", "a-password")
        .output()
        .expect("podman-compose runs");
    let rendered = succeeded("podman-compose config", &output);
    let config: serde_json::Value = serde_saphyr::from_str(&rendered).expect("YAML");
    let services = &config["services"];
    assert!(
        services["clickhouse"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("docker.io/clickhouse/clickhouse-server:")),
        "{rendered}"
    );
    assert!(
        services["nginx"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("docker.io/library/nginx:")),
        "{rendered}"
    );
    for node in ["agentrace-1", "agentrace-2", "agentrace-3"] {
        let store = services[node]["environment"]["AGENTRACE_STORE"]
            .as_str()
            .unwrap_or_default();
        assert!(
            store.starts_with("clickhouse://agentrace:a-password@clickhouse:8123/agentrace"),
            "{node}: {rendered}"
        );
        assert_eq!(services[node]["read_only"], true, "{node}: {rendered}");
    }
    let mounted = services["nginx"]["volumes"].to_string();
    assert!(mounted.contains("nginx.conf"), "{rendered}");
}
