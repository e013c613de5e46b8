//! An rmcp client and server, both traced, talking over a real byte stream: what agentrace
//! records of each side, and that they form one trace.

use agentrace_core::semconv::{agentrace, gen_ai, mcp};
use agentrace_core::testing::MemorySink;
use agentrace_core::{AgentraceLayer, Pipeline, Resource, SpanKind, SpanRecord, StatusCode};
use agentrace_rmcp::{TracedPeer, TracedServer};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolRequestParams;
use rmcp::{ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use tracing::Instrument;
use tracing_subscriber::prelude::*;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

/// A weather MCP server: a tool that answers and one that fails.
#[derive(Debug, Clone)]
struct Weather;

#[tool_router]
impl Weather {
    #[tool(description = "Tomorrow's weather in a city")]
    fn forecast(&self, Parameters(City { city }): Parameters<City>) -> String {
        format!("sunny in {city}")
    }

    #[tool(description = "Always fails")]
    fn outage(&self, Parameters(City { city }): Parameters<City>) -> Result<String, String> {
        Err(format!("no station in {city}"))
    }
}

#[tool_handler(name = "weather", version = "1.0.0")]
impl ServerHandler for Weather {}

/// A call of `tool` for `city`.
fn call(tool: &str, city: &str) -> CallToolRequestParams {
    let arguments = serde_json::json!({ "city": city });
    CallToolRequestParams::new(tool.to_owned())
        .with_arguments(arguments.as_object().cloned().unwrap_or_default())
}

/// Runs an agent that calls the traced server through a traced client, and returns every span
/// agentrace recorded.
async fn agent_run() -> Vec<SpanRecord> {
    let memory = MemorySink::new();
    let pipeline = Pipeline::builder()
        .with_sink(memory.clone())
        .build()
        .expect("the pipeline starts");
    let subscriber = tracing_subscriber::registry().with(AgentraceLayer::new(
        pipeline.clone(),
        Resource::new("mcp-test"),
    ));
    // The test's runtime has one thread: the server's and the client's tasks see it too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let running = TracedServer::new(Weather)
            .serve(server_io)
            .await
            .expect("the server starts");
        running.waiting().await.expect("the server ends")
    });
    let agent = tracing::info_span!(
        "invoke_agent forecaster",
        gen_ai.operation.name = "invoke_agent"
    );
    async {
        let client = ().serve(client_io).await.expect("the client connects");
        let tools = TracedPeer::new(client.peer().clone());
        let listed = tools.list_tools(None).await.expect("the tools are listed");
        assert_eq!(listed.tools.len(), 2);
        let sunny = tools
            .call_tool(call("forecast", "Lisbon"))
            .await
            .expect("an answer");
        assert_ne!(sunny.is_error, Some(true));
        let failed = tools
            .call_tool(call("outage", "Atlantis"))
            .await
            .expect("an answer");
        assert_eq!(failed.is_error, Some(true));
        tools
            .call_tool(call("no-such-tool", "Nowhere"))
            .await
            .expect_err("no such tool");
        client.cancel().await.expect("the client closes");
    }
    .instrument(agent)
    .await;
    server.await.expect("the server's task ends");
    pipeline.flush().expect("the pipeline flushes");
    memory.spans()
}

fn attribute<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
    span.attributes.get(key).and_then(|v| v.as_str())
}

fn side<'a>(spans: &'a [SpanRecord], name: &str, side: &str) -> &'a SpanRecord {
    spans
        .iter()
        .find(|s| s.name == name && attribute(s, agentrace::MCP_SIDE) == Some(side))
        .unwrap_or_else(|| panic!("the {side} span {name:?} in {spans:#?}"))
}

#[tokio::test]
async fn each_call_is_a_client_span_with_the_server_span_under_it_in_one_trace() {
    let spans = agent_run().await;
    let agent = spans
        .iter()
        .find(|s| s.name == "invoke_agent forecaster")
        .expect("the agent span");

    let client = side(&spans, "tools/call forecast", "client");
    let server = side(&spans, "tools/call forecast", "server");
    assert_eq!(client.kind, SpanKind::Tool, "the call as its caller saw it");
    assert_eq!(client.tool_name.as_deref(), Some("forecast"));
    assert_eq!(client.parent_span_id, Some(agent.span_id));
    assert_eq!(attribute(client, agentrace::MCP_SERVER), Some("weather"));
    assert_eq!(attribute(client, mcp::METHOD_NAME), Some("tools/call"));
    assert_eq!(
        server.kind,
        SpanKind::Mcp,
        "the server's side, counted once"
    );
    assert_eq!(server.tool_name.as_deref(), Some("forecast"));
    assert_eq!(server.trace_id, agent.trace_id, "one trace");
    assert_eq!(
        server.parent_span_id,
        Some(client.span_id),
        "the server's span under the call, by the context in _meta"
    );
    assert_eq!(attribute(server, agentrace::MCP_SERVER), Some("weather"));
    assert!(attribute(server, mcp::JSONRPC_REQUEST_ID).is_some());
    assert_eq!(client.status.code, StatusCode::Unset);
    assert_eq!(server.status.code, StatusCode::Unset);

    // Another method: an MCP operation on both sides.
    let client = side(&spans, "tools/list", "client");
    let server = side(&spans, "tools/list", "server");
    assert_eq!(client.kind, SpanKind::Mcp);
    assert_eq!(server.kind, SpanKind::Mcp);
    assert_eq!(server.parent_span_id, Some(client.span_id));
}

#[tokio::test]
async fn a_failing_tool_is_a_tool_error_and_an_unknown_tool_the_callers() {
    let spans = agent_run().await;
    for side_name in ["client", "server"] {
        let failed = side(&spans, "tools/call outage", side_name);
        assert_eq!(failed.status.code, StatusCode::Error, "{side_name}");
        assert_eq!(
            attribute(failed, gen_ai::ERROR_TYPE),
            Some(mcp::TOOL_ERROR),
            "{side_name}"
        );
        assert_eq!(
            failed.status.message.as_deref(),
            Some("no station in Atlantis"),
            "{side_name}"
        );
    }
    // An unknown tool: JSON-RPC -32602, the caller's error: it fails the call, not the server.
    let client = side(&spans, "tools/call no-such-tool", "client");
    assert_eq!(client.status.code, StatusCode::Error);
    assert_eq!(attribute(client, gen_ai::ERROR_TYPE), Some("-32602"));
    let server = side(&spans, "tools/call no-such-tool", "server");
    assert_eq!(
        attribute(server, mcp::RPC_RESPONSE_STATUS_CODE),
        Some("-32602")
    );
    assert_eq!(attribute(server, gen_ai::ERROR_TYPE), None);
    assert_ne!(server.status.code, StatusCode::Error);
}
