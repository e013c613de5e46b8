//! Which side of an MCP call a span is: what the tree rules read of it
//! ([`SpanShape::mcp`](crate::SpanShape::mcp)) and the completion of calls
//! ([`crate::mcp_calls`]) works from.

use agentrace_core::semconv::{agentrace, gen_ai, mcp};
use agentrace_core::{AttributeValue, SpanRecord, StatusCode};

/// A span's side of an MCP call, as [`complete`](crate::mcp_calls::complete) reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpSide {
    /// The client's: whether it names its server, whether it failed.
    Client {
        /// It names its server (`agentrace.mcp.server`).
        named: bool,
        /// It failed.
        failed: bool,
    },
    /// The server's: whether it reports a tool's failure.
    Server {
        /// Failed with `error.type` `tool_error`.
        tool_error: bool,
    },
}

pub(crate) fn text<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
    span.attributes.get(key).and_then(AttributeValue::as_str)
}

/// The side of an MCP call `span` is (the normalizer's `agentrace.mcp.side`), if any.
pub fn side_of(span: &SpanRecord) -> Option<McpSide> {
    match text(span, agentrace::MCP_SIDE)? {
        "client" => Some(McpSide::Client {
            named: text(span, agentrace::MCP_SERVER).is_some(),
            failed: span.status.code == StatusCode::Error,
        }),
        "server" => Some(McpSide::Server {
            tool_error: reports_tool_error(span),
        }),
        _ => None,
    }
}

pub(crate) fn reports_tool_error(span: &SpanRecord) -> bool {
    span.status.code == StatusCode::Error && text(span, gen_ai::ERROR_TYPE) == Some(mcp::TOOL_ERROR)
}
