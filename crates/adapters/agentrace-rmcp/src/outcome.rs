//! What a request's answer says of the operation, in the conventions' words: `error.type`,
//! `rpc.response.status_code` and a status message.

use agentrace_core::semconv::mcp;
use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::ServiceError;
use tracing::Span;

/// The JSON-RPC codes that are the caller's error, not the server's (the conventions'
/// `mcp.server` status rule): parse error, invalid request, method not found, invalid params
/// (an unknown tool), resource not found.
const CALLERS_CODES: [i32; 5] = [-32700, -32600, -32601, -32602, -32002];

/// Which side records an answer: an error code fails a client span always, a server span
/// unless the caller sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

/// Records a tool's result on `span`: a result that says `isError` is a failed tool, its first
/// text the message.
pub(crate) fn tool_result(span: &Span, result: &CallToolResult) {
    if result.is_error == Some(true) {
        let message = result.content.iter().find_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.as_str()),
            _ => None,
        });
        fail(span, mcp::TOOL_ERROR, message);
    }
}

/// Records a JSON-RPC error answer on `span`.
pub(crate) fn error_data(span: &Span, error: &ErrorData, side: Side) {
    let code = error.code.0.to_string();
    span.record(mcp::RPC_RESPONSE_STATUS_CODE, code.as_str());
    if side == Side::Client || !CALLERS_CODES.contains(&error.code.0) {
        fail(span, &code, Some(&error.message));
    }
}

/// Records a client's failed request on `span`: the server's error, or the transport's.
pub(crate) fn service_error(span: &Span, error: &ServiceError) {
    let kind = match error {
        ServiceError::McpError(data) => return error_data(span, data, Side::Client),
        ServiceError::TransportSend(_) => "transport_send",
        ServiceError::TransportClosed => "transport_closed",
        ServiceError::UnexpectedResponse => "unexpected_response",
        ServiceError::Cancelled { .. } => "cancelled",
        ServiceError::Timeout { .. } => "timeout",
        _ => "_OTHER",
    };
    fail(span, kind, Some(&error.to_string()));
}

fn fail(span: &Span, error_type: &str, message: Option<&str>) {
    span.record("error.type", error_type);
    span.record("otel.status_code", "ERROR");
    if let Some(message) = message {
        span.record("otel.status_message", message);
    }
}
