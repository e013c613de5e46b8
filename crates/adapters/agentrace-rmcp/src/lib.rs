//! # agentrace-rmcp
//!
//! The agentrace adapter for [rmcp](https://docs.rs/rmcp), the official Rust SDK of the Model
//! Context Protocol. An agent reaches its tools through an MCP client; the tools run in an MCP
//! server, often another process. This crate traces both sides as the OpenTelemetry GenAI
//! conventions describe them, and joins them into one trace:
//!
//! - [`TracedPeer`] wraps the client's `Peer<RoleClient>`: each `tools/call`, `tools/list`,
//!   `resources/read` and `prompts/get` is an `mcp.client` span (`tools/call get-weather`, kind
//!   client) under the caller's span, and the trace context travels in the request's
//!   `params._meta` (`traceparent`, the key the MCP specification reserves for it).
//! - [`TracedServer`] wraps the server's handler: each request it handles is an `mcp.server`
//!   span (kind server), a child of the caller's span in the other process when the request
//!   carries its context.
//!
//! Both write `mcp.method.name`, `gen_ai.tool.name` (`gen_ai.operation.name = execute_tool`),
//! `gen_ai.prompt.name`, `mcp.resource.uri`, `jsonrpc.request.id` (the server's),
//! `mcp.protocol.version`, `error.type` — `tool_error` when the tool failed (its result says
//! `isError`), the JSON-RPC code or the failure otherwise — and `agentrace.mcp.server`, the MCP
//! server's name from its `initialize` answer. agentrace reads them as every other MCP
//! instrumentation's (docs/conventions.md, "MCP"): the caller's `tools/call` is the tool call,
//! counted once; the server's side of it is kept beside it, under it.
//!
//! ## Turning it on
//!
//! ```no_run
//! use agentrace_rmcp::{TracedPeer, TracedServer};
//! use rmcp::model::CallToolRequestParams;
//! use rmcp::ServiceExt;
//! # async fn run(
//! #     handler: impl rmcp::ServerHandler,
//! #     server_io: tokio::io::DuplexStream,
//! #     client_io: tokio::io::DuplexStream,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! // The MCP server: its handler, traced (over stdio: `.serve(rmcp::transport::stdio())`).
//! tokio::spawn(async move {
//!     let server = TracedServer::new(handler).serve(server_io).await?;
//!     server.waiting().await?;
//!     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
//! });
//!
//! // The agent: its client, traced.
//! let client = ().serve(client_io).await?;
//! let tools = TracedPeer::new(client.peer().clone());
//! let answer = tools.call_tool(CallToolRequestParams::new("get-weather")).await?;
//! # let _ = answer; Ok(()) }
//! ```
//!
//! Spans are recorded by `agentrace::init()` (or any `tracing` subscriber with the agentrace
//! layer) in each process; the MCP server process names itself by its service name. rmcp's own
//! `serve_inner` span lasts a whole connection; filter it out (`rmcp=warn`) to keep traces to
//! the calls.

mod client;
mod outcome;
mod server;

pub use client::TracedPeer;
pub use server::TracedServer;

/// The conventions' span name of an MCP operation: `{method} {target}` (`tools/call
/// get-weather`), or the method alone when it has no tool or prompt.
fn span_name(method: &str, target: Option<&str>) -> String {
    match target {
        Some(target) => format!("{method} {target}"),
        None => method.to_owned(),
    }
}
