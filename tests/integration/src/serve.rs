//! `agentrace serve` for the suite's tests: started on free ports over a temporary store, read
//! through its REST API as a user would, fed by client scripts of `tests/integration/python`
//! and `tests/integration/node`.

use std::path::Path;
use std::time::Duration;

use agentrace_core::SpanRecord;
use agentrace_server::{RunningServer, Server, ServerConfig};
use serde_json::Value as Json;

use crate::{require, workspace_root};

/// A bound on a hung client, not a performance figure.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Starts a server over a store in `dir`, on free ports, with small body limits.
///
/// # Panics
/// When it does not start.
pub async fn start(dir: &Path) -> RunningServer {
    let mut config = ServerConfig::new(dir).with_any_free_ports();
    config.limits.max_body_bytes = 1 << 20;
    config.limits.max_decompressed_bytes = 4 << 20;
    Server::start(config).await.expect("the server starts")
}

/// The URL of an API `path` (`/traces/…`).
pub fn api(server: &RunningServer, path: &str) -> String {
    format!("http://{}/api/v1{path}", server.app_addr())
}

/// GETs `url`: its status and JSON body (`null` if it is not JSON).
///
/// # Panics
/// When the server does not answer.
pub async fn get_json(url: &str) -> (u16, Json) {
    let response = reqwest::get(url).await.expect("the API answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Json::Null))
}

/// The one group of `GET /api/v1/cost?group_by={group_by}&service={service}`: a service whose
/// spend must all fall in one group (one agent, one session…).
///
/// # Panics
/// When the answer is not 200 or has another number of groups than one.
pub async fn one_cost_group(server: &RunningServer, group_by: &str, service: &str) -> Json {
    let (status, cost) = get_json(&api(
        server,
        &format!("/cost?group_by={group_by}&service={service}"),
    ))
    .await;
    assert_eq!(status, 200, "{cost}");
    let rows = cost["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{service}: all spend in one group: {cost}");
    rows[0].clone()
}

/// The spans of a trace, through `GET /api/v1/traces/{id}`.
///
/// # Panics
/// When the trace is not found.
pub async fn trace_spans(server: &RunningServer, trace_id: &str) -> Vec<SpanRecord> {
    trace_spans_as(server, trace_id, None).await
}

/// [`trace_spans`] of a server with an API token, sending `token`.
///
/// # Panics
/// When the trace is not found.
pub async fn trace_spans_as(
    server: &RunningServer,
    trace_id: &str,
    token: Option<&str>,
) -> Vec<SpanRecord> {
    let mut request = reqwest::Client::new().get(api(server, &format!("/traces/{trace_id}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let tree: Json = response.json().await.unwrap_or(Json::Null);
    assert_eq!(status, 200, "trace {trace_id}: {tree}");
    tree["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| serde_json::from_value(node["span"].clone()).expect("a span record"))
        .collect()
}

/// `spans`, one a line, for a failure message.
pub fn dump(spans: &[SpanRecord]) -> String {
    spans
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that `span` is attributed as `want` (a client script's report) says: its `agent`,
/// `session` and `user`.
///
/// # Panics
/// When one differs.
pub fn assert_attributed(span: &SpanRecord, want: &Json, what: &str) {
    assert_eq!(span.agent_name.as_deref(), want["agent"].as_str(), "{what}");
    assert_eq!(
        span.session_id.as_deref(),
        want["session"].as_str(),
        "{what}"
    );
    assert_eq!(span.user_id.as_deref(), want["user"].as_str(), "{what}");
}

/// `python`, if it exists; `None` (the test returns) only when it is missing and CI is not
/// set.
pub fn installed(python: Option<std::path::PathBuf>, what: &str) -> Option<std::path::PathBuf> {
    require(python.is_some(), what).then_some(python).flatten()
}

/// The server's OTLP endpoints as a Python exporter takes them, by protocol.
pub fn python_endpoints(server: &RunningServer) -> [(&'static str, String); 2] {
    [
        ("grpc", format!("http://{}", server.otlp_grpc_addr())),
        (
            "http/protobuf",
            format!("http://{}", server.otlp_http_addr()),
        ),
    ]
}

/// Runs a client script of `tests/integration/python` with `args` and returns the JSON report
/// it prints last (instrumentations may print banners before it).
///
/// # Panics
/// When the script fails, hangs past [`PATIENCE`] or prints no JSON.
pub async fn run_python(python: &Path, script: &str, args: &[&str]) -> Json {
    let path = workspace_root()
        .join("tests/integration/python")
        .join(script);
    run_client(python, &path, args).await
}

/// Runs a script of `tests/integration/node` with the Node.js `node` ([`crate::node_client`])
/// and `args`, and returns the JSON report it prints last.
///
/// # Panics
/// When the script fails, hangs past [`PATIENCE`] or prints no JSON.
pub async fn run_node(node: &Path, script: &str, args: &[&str]) -> Json {
    run_client(node, &crate::node_suite().join(script), args).await
}

/// Runs `script` with the interpreter `program` and `args`; the JSON report printed last.
async fn run_client(program: &Path, script: &Path, args: &[&str]) -> Json {
    let output = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new(program)
            .arg(script)
            .args(args)
            .output(),
    )
    .await
    .expect("the client finishes")
    .expect("the client starts");
    let script = script.display();
    assert!(
        output.status.success(),
        "{script} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str(report).unwrap_or_else(|e| {
        panic!(
            "{script} {args:?} printed no report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
