//! MCP across process boundaries (docs/mcp.md): the rmcp example's agent and the MCP server it
//! starts — two processes, traced with `agentrace-rmcp` — form one trace, in the SQLite file
//! both write and in a real `agentrace serve` both export to over OTLP; each tool call counts
//! once, with the latency its caller saw, and a failing tool is a `tool_error`.
//!
//! The same with the official MCP Python SDK from PyPI (`tests/integration/python/mcp_app.py`:
//! an agent and an MCP server in two processes, over stdio and over streamable HTTP), traced
//! by what exists for it: mcp 2's own OpenTelemetry with `openinference-instrumentation-mcp`,
//! and mcp 1 with OpenLLMetry's `opentelemetry-instrumentation-mcp`. Each process exports on
//! its own; the server's side completes the client's (its name, a tool's failure), so that the
//! tools are under their server in tool health, each call once.

use agentrace_store::Analytics;
use agentrace_store::TraceReader;
use std::collections::BTreeSet;
use std::time::Duration;

use agentrace_core::semconv::{agentrace, gen_ai, mcp};
use agentrace_core::{SpanKind, SpanRecord, StatusCode};
use agentrace_integration::process::{ServeProcess, serve_binary};
use agentrace_integration::serve::{
    api, dump, get_json, installed, run_python, start, trace_spans,
};
use agentrace_integration::{
    eventually, example_binary, instrumentation_python, require, workspace_root,
};
use agentrace_sqlite::{SpanFilter, SpanQuery, SqliteStore};
use agentrace_store::TimeRange;
use serde_json::Value;

/// Generous: a bound on a hung process, not a performance figure.
const PATIENCE: Duration = Duration::from_secs(120);

/// The spans of the agent's trace: the agent, and for `tools/list` and each of two tool calls
/// the client's span and the server's under it.
const SPANS: usize = 7;

#[tokio::test]
async fn the_rmcp_example_is_one_trace_across_its_two_processes() {
    let Some(example) = example_binary("mcp_tools") else {
        require(
            false,
            "the mcp_tools example (cargo build --examples --all-features)",
        );
        return;
    };
    let Some(bin) = serve_binary() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let serve_dir = dir.path().join("serve");
    std::fs::create_dir_all(&serve_dir).expect("the server's directory");
    let server = ServeProcess::start(&bin, &serve_dir, &[], None).await;
    let db = dir.path().join("mcp.db");

    let mut command = tokio::process::Command::new(&example);
    command
        .arg("--db")
        .arg(&db)
        .arg("--endpoint")
        .arg(format!("http://127.0.0.1:{}", server.otlp_http))
        .current_dir(dir.path())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") || key.starts_with("AGENTRACE_") {
            command.env_remove(key);
        }
    }
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the example finishes")
        .expect("the example starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "mcp_tools failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let trace = stdout
        .lines()
        .find_map(|l| l.strip_prefix("trace "))
        .expect("the example prints its trace")
        .trim()
        .to_owned();

    // The SQLite file both processes wrote.
    let store = SqliteStore::open(&db).expect("the example's store opens");
    let spans = store
        .spans(&SpanQuery::new(SpanFilter::new()))
        .expect("the spans read")
        .spans;
    // rmcp's handshake bypasses the client's peer: the server's `initialize` has no caller's
    // context, and is a trace of its own.
    let (spans, others): (Vec<SpanRecord>, Vec<SpanRecord>) = spans
        .into_iter()
        .partition(|s| s.trace_id.to_string() == trace);
    assert_eq!(spans.len(), SPANS, "one trace: {spans:#?}");
    let initialize = side(&others, "initialize", "server");
    assert_eq!(initialize.kind, SpanKind::Mcp);
    assert_eq!(others.len(), 1, "{others:#?}");
    let services: BTreeSet<&str> = spans
        .iter()
        .map(|s| s.resource.service_name.as_str())
        .collect();
    assert_eq!(services, BTreeSet::from(["mcp-agent", "weather-mcp"]));
    for tool in ["forecast", "outage"] {
        let name = format!("tools/call {tool}");
        let client = side(&spans, &name, "client");
        let server = side(&spans, &name, "server");
        assert_eq!(client.kind, SpanKind::Tool, "{name}");
        assert_eq!(client.resource.service_name, "mcp-agent");
        assert_eq!(server.kind, SpanKind::Mcp, "{name}");
        assert_eq!(server.resource.service_name, "weather-mcp");
        assert_eq!(server.parent_span_id, Some(client.span_id), "{name}");
        for span in [client, server] {
            assert_eq!(text(span, agentrace::MCP_SERVER), Some("weather"), "{name}");
        }
    }
    let outage = side(&spans, "tools/call outage", "client");
    assert_eq!(outage.status.code, StatusCode::Error);
    assert_eq!(text(outage, gen_ai::ERROR_TYPE), Some(mcp::TOOL_ERROR));

    let tools = store
        .tools(TimeRange::default(), 5, None)
        .expect("the tools read")
        .tools;
    let calls: Vec<(Option<&str>, u64, u64)> = tools
        .iter()
        .map(|t| (t.tool.as_deref(), t.calls, t.errors))
        .collect();
    assert_eq!(
        calls,
        vec![(Some("forecast"), 1, 0), (Some("outage"), 1, 1)],
        "each call once, not once a side"
    );
    let caller = side(&spans, "tools/call forecast", "client").duration_ns() as f64;
    let p50 = tools[0].duration.p50_ns as f64;
    assert!(
        (p50 - caller).abs() <= caller * 0.05,
        "the latency the caller saw ({caller} ns), not the server's: {p50} ns"
    );

    // The same trace in `agentrace serve`.
    eventually(
        "the server stores the trace's seven spans",
        || async {
            let (_, body) = server.get(&format!("/api/v1/traces/{trace}")).await;
            serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|tree| tree["nodes"].as_array().map(Vec::len))
                == Some(SPANS)
        },
        || server.log_text(),
    )
    .await;
    let (_, body) = server.get("/api/v1/tools?from=-1h").await;
    let tools: Value = serde_json::from_str(&body).expect("/tools is JSON");
    let served: Vec<(String, u64, u64)> = tools["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| {
                    (
                        t["tool"].as_str().unwrap_or_default().to_owned(),
                        t["calls"].as_u64().unwrap_or_default(),
                        t["errors"].as_u64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        served,
        vec![("forecast".to_owned(), 1, 0), ("outage".to_owned(), 1, 1)],
        "{tools}"
    );
    server.stop().await;
}

fn text<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
    span.attributes.get(key).and_then(|v| v.as_str())
}

fn side<'a>(spans: &'a [SpanRecord], name: &str, side: &str) -> &'a SpanRecord {
    spans
        .iter()
        .find(|s| s.name == name && text(s, agentrace::MCP_SIDE) == Some(side))
        .unwrap_or_else(|| panic!("the {side} span {name:?} in {spans:#?}"))
}

/// How the Python agent reaches its MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// The agent starts the server as its child process.
    Stdio,
    /// The server listens on a port of its own (`/mcp`).
    StreamableHttp,
}

/// The Python MCP server over streamable HTTP, on a free port; interrupted (so that it exports
/// what it traced) by [`HttpServer::stop`].
struct HttpServer {
    child: tokio::process::Child,
    url: String,
}

impl HttpServer {
    async fn start(python: &std::path::Path, endpoint: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = tokio::process::Command::new(python)
            .arg(workspace_root().join("tests/integration/python/mcp_app.py"))
            .args(["server", "--transport", "http", "--endpoint", endpoint])
            .args(["--port", &port.to_string()])
            .kill_on_drop(true)
            .spawn()
            .expect("the MCP server starts");
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(started.elapsed() < PATIENCE, "the MCP server listens");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }

    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let interrupted = tokio::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await
                .is_ok_and(|s| s.success());
            assert!(interrupted, "the MCP server interrupted");
        }
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the MCP server stops")
            .expect("its status");
        assert!(status.success() || status.code().is_none(), "{status}");
    }
}

/// The Python agent and MCP server of the virtualenv `venv` over `transport`, exporting to a
/// fresh `agentrace serve`: one trace across the two processes, the server's spans under the
/// client's calls, and in tool health each call once under its server, the failing tool a
/// `tool_error`.
async fn python_sdk(venv: &str, transport: Transport) {
    let Some(python) = installed(
        instrumentation_python(venv),
        &format!("the {venv} virtualenv (scripts/install-test-deps.sh)"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = start(dir.path()).await;
    let endpoint = format!("http://{}", server.otlp_http_addr());
    let http = match transport {
        Transport::Stdio => None,
        Transport::StreamableHttp => Some(HttpServer::start(&python, &endpoint).await),
    };
    let mut args = vec!["agent", "--endpoint", endpoint.as_str()];
    match &http {
        None => args.extend(["--transport", "stdio"]),
        Some(h) => args.extend(["--transport", "http", "--url", h.url.as_str()]),
    }
    let report = run_python(&python, "mcp_app.py", &args).await;
    assert_eq!(report["outage_failed"], true, "{report}");
    assert_eq!(report["forecasts"].as_array().map(Vec::len), Some(2));
    if let Some(h) = http {
        h.stop().await;
    }
    let trace = report["trace_id"].as_str().expect("a trace id").to_owned();

    // One trace: the server's process exported its side of every request under the client's.
    let served = |spans: &[SpanRecord]| {
        spans
            .iter()
            .filter(|s| text(s, agentrace::MCP_SIDE) == Some("server"))
            .count()
    };
    eventually(
        "the server's side of the three tool calls and the resource read, in the agent's trace",
        || async { served(&trace_spans(&server, &trace).await) >= 4 },
        String::new,
    )
    .await;
    let spans = trace_spans(&server, &trace).await;
    let what = format!("{venv} over {transport:?}:\n{}", dump(&spans));
    for s in spans
        .iter()
        .filter(|s| &*s.resource.service_name == "weather-mcp")
    {
        assert_eq!(
            text(s, agentrace::MCP_SERVER),
            Some("weather-mcp"),
            "{what}"
        );
        assert!(
            s.parent_span_id.is_some(),
            "under the client's span: {what}"
        );
    }
    let calls: Vec<&SpanRecord> = spans.iter().filter(|s| s.kind == SpanKind::Tool).collect();
    assert_eq!(calls.len(), 3, "a tool span per call, the client's: {what}");
    assert!(
        spans.iter().any(|s| s.kind == SpanKind::Agent),
        "the agent's span: {what}"
    );

    // Tool health: each tool under its server, each call once, the failure a tool error.
    let health = || async {
        let (_, tools) = get_json(&api(&server, "/tools?from=-1h")).await;
        let rows: Vec<(String, String, u64, u64)> = tools["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                let field = |k: &str| t[k].as_str().unwrap_or("-").to_owned();
                (
                    field("mcp_server"),
                    field("tool"),
                    t["calls"].as_u64().unwrap_or(0),
                    t["errors"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        (rows, tools)
    };
    let want = vec![
        ("weather-mcp".to_owned(), "forecast".to_owned(), 2, 0),
        ("weather-mcp".to_owned(), "outage".to_owned(), 1, 1),
    ];
    eventually(
        "the tools under their server, each call once",
        || async { health().await.0 == want },
        String::new,
    )
    .await;
    let (_, tools) = health().await;
    let outage = &tools["tools"][1];
    assert_eq!(
        outage["error_types"][0]["error_type"], "tool_error",
        "{tools}"
    );
    assert_eq!(outage["error_types"][0]["count"], 1, "{tools}");
    server.shutdown().await.expect("the server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_python_sdk_2_over_stdio_is_one_trace_with_its_tools_under_their_server() {
    python_sdk("mcp_sdk", Transport::Stdio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_python_sdk_2_over_streamable_http_is_one_trace_with_its_tools_under_their_server()
{
    python_sdk("mcp_sdk", Transport::StreamableHttp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_python_sdk_1_traced_by_openllmetry_over_stdio_is_one_trace() {
    python_sdk("mcp_openllmetry", Transport::Stdio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_python_sdk_1_traced_by_openllmetry_over_streamable_http_is_one_trace() {
    python_sdk("mcp_openllmetry", Transport::StreamableHttp).await;
}
