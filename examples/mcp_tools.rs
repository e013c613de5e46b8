//! An agent and the MCP server it calls, in two processes, traced into one trace with the rmcp
//! adapter: the agent's calls are `mcp.client` spans, the server's handlers `mcp.server` spans
//! under them (the trace context travels in each request's `params._meta`).
//!
//! ```text
//! cargo run --example mcp_tools --features rmcp
//! cargo run -p agentrace-cli -- traces list --db agentrace-data/mcp-tools.db
//! cargo run --example mcp_tools --features rmcp,otlp -- --endpoint http://127.0.0.1:4318
//! ```
//!
//! The agent starts this same program as its MCP server (`mcp_tools serve`), speaking MCP over
//! the child's stdin and stdout. Both processes write their spans to
//! `agentrace-data/mcp-tools.db` (`--db` to change it), and with the `otlp` feature and
//! `--endpoint`, also to an OTLP receiver such as `agentrace serve`. The agent lists the
//! server's tools, asks for a forecast, and calls a tool that fails: a `tool_error`.

use agentrace::rmcp::{TracedPeer, TracedServer};
use agentrace::spans;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use tracing::Instrument;

#[path = "support/mod.rs"]
mod support;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let db = support::flag("db").unwrap_or_else(|| "agentrace-data/mcp-tools.db".to_owned());
    if std::env::args().nth(1).as_deref() == Some("serve") {
        mcp_server(&db).await
    } else {
        agent(&db).await
    }
}

/// agentrace on for `service`, into the SQLite file `db` (and the OTLP endpoint, if given).
fn telemetry(service: &str, db: &str) -> Result<agentrace::TelemetryGuard, Error> {
    // rmcp's connection-long span is not a call.
    let builder = agentrace::init()
        .service_name(service)
        .sqlite(db)
        .filter("info,rmcp=warn");
    #[cfg(feature = "otlp")]
    let builder = match support::flag("endpoint") {
        Some(endpoint) => builder.sink(
            agentrace::otlp::OtlpSink::builder()
                .with_endpoint(endpoint)
                .build()?,
        ),
        None => builder,
    };
    Ok(builder.install()?)
}

/// The agent: starts the MCP server, calls its tools under an agent span.
async fn agent(db: &str) -> Result<(), Error> {
    let guard = telemetry("mcp-agent", db)?;
    let program = std::env::current_exe()?;
    let forwarded: Vec<String> = std::env::args().skip(1).collect();
    let server = TokioChildProcess::new(tokio::process::Command::new(program).configure(|cmd| {
        cmd.arg("serve").args(&forwarded);
    }))?;
    let agent = spans::agent("forecaster");
    spans::set_session(&agent, "mcp-example");
    let trace = async {
        let client = ().serve(server).await?;
        let tools = TracedPeer::new(client.peer().clone());
        let listed = tools.list_tools(None).await?;
        println!(
            "tools: {}",
            listed
                .tools
                .iter()
                .map(|t| t.name.as_ref())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let forecast = tools.call_tool(ask("forecast", "Lisbon")).await?;
        println!("forecast: {}", text_of(&forecast));
        let outage = tools.call_tool(ask("outage", "Atlantis")).await?;
        println!("outage (a tool error): {}", text_of(&outage));
        let trace = agentrace::propagation::current().map(|c| c.trace_id.to_string());
        // Closing the client ends the server (its stdin closes), which flushes its spans.
        client.cancel().await?;
        Ok::<_, Error>(trace)
    }
    .instrument(agent)
    .await?;
    guard.shutdown()?;
    if let Some(trace) = trace {
        println!("trace {trace}");
    }
    println!("wrote {db}");
    Ok(())
}

fn ask(tool: &str, city: &str) -> CallToolRequestParams {
    let arguments = serde_json::json!({ "city": city });
    CallToolRequestParams::new(tool.to_owned())
        .with_arguments(arguments.as_object().cloned().unwrap_or_default())
}

fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|block| match block {
            rmcp::model::ContentBlock::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect()
}

/// The MCP server process: its tools, served over stdio, traced.
async fn mcp_server(db: &str) -> Result<(), Error> {
    let guard = telemetry("weather-mcp", db)?;
    let running = TracedServer::new(Weather)
        .serve(rmcp::transport::stdio())
        .await?;
    running.waiting().await?;
    guard.shutdown()?;
    Ok(())
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

/// A weather MCP server: a tool that answers and one whose station is down.
#[derive(Debug, Clone)]
struct Weather;

#[tool_router]
impl Weather {
    #[tool(description = "Tomorrow's weather in a city")]
    fn forecast(&self, Parameters(City { city }): Parameters<City>) -> String {
        format!("sunny and 24 °C in {city}")
    }

    #[tool(description = "The weather from a station that is down")]
    fn outage(&self, Parameters(City { city }): Parameters<City>) -> Result<String, String> {
        Err(format!("the station of {city} does not answer"))
    }
}

#[tool_handler(name = "weather", version = "1.0.0")]
impl ServerHandler for Weather {}
