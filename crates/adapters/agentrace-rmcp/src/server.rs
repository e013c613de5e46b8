//! The MCP server's side: [`TracedServer`].

use std::borrow::Cow;

use agentrace_core::propagation::{self, TraceContext};
use rmcp::ErrorData;
use rmcp::model::{ClientNotification, ClientRequest, ProtocolVersion, ServerConfig, ServerResult};
use rmcp::service::{NotificationContext, RequestContext, RoleServer, Service};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::outcome::{self, Side};

/// An MCP server's handler whose requests are traced: each an `mcp.server` span, the child of
/// the caller's span when the request carries its context in `_meta` (see the crate's docs).
///
/// Serve it as the handler it wraps (`TracedServer::new(handler).serve(transport)`): it is the
/// `Service` rmcp runs, for any transport `serve` takes (stdio, a child process's pipes, any
/// byte stream). rmcp's Streamable HTTP service takes a `ServerHandler`, which this is not.
#[derive(Debug, Clone)]
pub struct TracedServer<S> {
    inner: S,
    /// The server's name, from its `initialize` answer.
    name: String,
}

impl<S: Service<RoleServer>> TracedServer<S> {
    /// Traces the requests `inner` handles.
    pub fn new(inner: S) -> Self {
        let name = inner.get_info().server_info.name;
        Self { inner, name }
    }

    /// The span of `request`, under the caller's span when `context` carries it.
    fn span(&self, request: &ClientRequest, context: &RequestContext<RoleServer>) -> Span {
        let method = request.method();
        let target = match request {
            ClientRequest::CallToolRequest(r) => Some(r.params.name.as_ref()),
            ClientRequest::GetPromptRequest(r) => Some(r.params.name.as_str()),
            _ => None,
        };
        let name = crate::span_name(method, target);
        let span = tracing::info_span!(
            target: "agentrace_rmcp",
            "mcp.server",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            otel.status_message = Empty,
            mcp.method.name = method,
            mcp.resource.uri = Empty,
            jsonrpc.request.id = %context.id,
            gen_ai.operation.name = Empty,
            gen_ai.tool.name = Empty,
            gen_ai.prompt.name = Empty,
            agentrace.mcp.server = self.name.as_str(),
            error.type = Empty,
            rpc.response.status_code = Empty,
        );
        match request {
            ClientRequest::CallToolRequest(r) => {
                span.record("gen_ai.operation.name", "execute_tool");
                span.record("gen_ai.tool.name", r.params.name.as_ref());
            }
            ClientRequest::GetPromptRequest(r) => {
                span.record("gen_ai.prompt.name", r.params.name.as_str());
            }
            ClientRequest::ReadResourceRequest(r) => {
                span.record("mcp.resource.uri", r.params.uri.as_str());
            }
            _ => {}
        }
        // A malformed traceparent is the caller's: the span then stays where it is.
        if let Some(parent) = context
            .meta
            .get_traceparent()
            .and_then(|header| TraceContext::from_traceparent(header).ok())
        {
            propagation::set_parent(&span, parent);
        }
        span
    }
}

impl<S: Service<RoleServer>> Service<RoleServer> for TracedServer<S> {
    async fn handle_request(
        &self,
        request: ClientRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let span = self.span(&request, &context);
        let result = self
            .inner
            .handle_request(request, context)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(ServerResult::CallToolResult(answer)) => outcome::tool_result(&span, answer),
            Ok(_) => {}
            Err(error) => outcome::error_data(&span, error, Side::Server),
        }
        result
    }

    async fn handle_notification(
        &self,
        notification: ClientNotification,
        context: NotificationContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.inner.handle_notification(notification, context).await
    }

    fn get_info(&self) -> ServerConfig {
        self.inner.get_info()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.inner.supported_protocol_versions()
    }
}
