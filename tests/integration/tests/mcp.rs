//! MCP across process boundaries (docs/mcp.md): the rmcp example's agent and the MCP server it
//! starts — two processes, traced with `agentrace-rmcp` — form one trace, in the SQLite file
//! both write and in a real `agentrace serve` both export to over OTLP; each tool call counts
//! once, with the latency its caller saw, and a failing tool is a `tool_error`.

use std::collections::BTreeSet;
use std::time::Duration;

use agentrace_core::semconv::{agentrace, gen_ai, mcp};
use agentrace_core::{SpanKind, SpanRecord, StatusCode};
use agentrace_integration::process::{ServeProcess, serve_binary};
use agentrace_integration::{eventually, example_binary, require};
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
