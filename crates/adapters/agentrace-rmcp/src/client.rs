//! The caller's side: [`TracedPeer`].

use std::future::Future;

use agentrace_core::propagation;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, GetPromptResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResult,
    RequestParamsMeta,
};
use rmcp::service::{Peer, RoleClient, ServiceError};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::outcome;

/// An MCP client's peer whose requests are traced: each an `mcp.client` span under the
/// caller's, its trace context sent in `params._meta` (see the crate's docs).
///
/// Cheap to clone, as the `Peer` it wraps; the untraced peer stays at hand ([`peer`](Self::peer)).
#[derive(Debug, Clone)]
pub struct TracedPeer {
    peer: Peer<RoleClient>,
}

impl TracedPeer {
    /// Traces the requests made through `peer` (a running client's `peer()`).
    pub const fn new(peer: Peer<RoleClient>) -> Self {
        Self { peer }
    }

    /// The peer, untraced.
    pub const fn peer(&self) -> &Peer<RoleClient> {
        &self.peer
    }

    /// `tools/call`: calls a tool. A result that says `isError` is a failed tool call
    /// (`error.type = tool_error`) and is returned as it came.
    ///
    /// # Errors
    /// As `Peer::call_tool`: the server's JSON-RPC error, the transport's failure.
    pub async fn call_tool(
        &self,
        mut params: CallToolRequestParams,
    ) -> Result<CallToolResult, ServiceError> {
        let span = self.span("tools/call", Some(&params.name));
        span.record("gen_ai.operation.name", "execute_tool");
        span.record("gen_ai.tool.name", params.name.as_ref());
        carry_context(&span, &mut params);
        let result = self.run(&span, self.peer.call_tool(params)).await;
        if let Ok(answer) = &result {
            outcome::tool_result(&span, answer);
        }
        result
    }

    /// `tools/list`: the server's tools (a page of them).
    ///
    /// # Errors
    /// As `Peer::list_tools`.
    pub async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
    ) -> Result<ListToolsResult, ServiceError> {
        let span = self.span("tools/list", None);
        let mut params = params.unwrap_or_default();
        carry_context(&span, &mut params);
        self.run(&span, self.peer.list_tools(Some(params))).await
    }

    /// `resources/read`: reads a resource.
    ///
    /// # Errors
    /// As `Peer::read_resource`.
    pub async fn read_resource(
        &self,
        mut params: ReadResourceRequestParams,
    ) -> Result<ReadResourceResult, ServiceError> {
        let span = self.span("resources/read", None);
        span.record("mcp.resource.uri", params.uri.as_str());
        carry_context(&span, &mut params);
        self.run(&span, self.peer.read_resource(params)).await
    }

    /// `prompts/get`: gets a prompt.
    ///
    /// # Errors
    /// As `Peer::get_prompt`.
    pub async fn get_prompt(
        &self,
        mut params: GetPromptRequestParams,
    ) -> Result<GetPromptResult, ServiceError> {
        let span = self.span("prompts/get", Some(&params.name));
        span.record("gen_ai.prompt.name", params.name.as_str());
        carry_context(&span, &mut params);
        self.run(&span, self.peer.get_prompt(params)).await
    }

    /// The span of a request of `method` (on `target`, a tool or prompt), under the current
    /// span, naming the server when it named itself.
    fn span(&self, method: &'static str, target: Option<&str>) -> Span {
        let name = crate::span_name(method, target);
        let span = tracing::info_span!(
            target: "agentrace_rmcp",
            "mcp.client",
            otel.name = name,
            otel.kind = "client",
            otel.status_code = Empty,
            otel.status_message = Empty,
            mcp.method.name = method,
            mcp.protocol.version = Empty,
            mcp.resource.uri = Empty,
            gen_ai.operation.name = Empty,
            gen_ai.tool.name = Empty,
            gen_ai.prompt.name = Empty,
            agentrace.mcp.server = Empty,
            error.type = Empty,
            rpc.response.status_code = Empty,
        );
        if let Some(info) = self.peer.peer_info() {
            if let Some(server) = &info.server_info {
                span.record("agentrace.mcp.server", server.name.as_str());
            }
            span.record("mcp.protocol.version", info.protocol_version.as_str());
        }
        span
    }

    /// Runs `request` in `span`, recording how it failed.
    async fn run<T>(
        &self,
        span: &Span,
        request: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let result = request.instrument(span.clone()).await;
        if let Err(error) = &result {
            outcome::service_error(span, error);
        }
        result
    }
}

/// Sends `span`'s trace context in the request's `_meta` (W3C `traceparent`), so that the
/// server's span joins the trace under it.
fn carry_context(span: &Span, params: &mut impl RequestParamsMeta) {
    if let Some(traceparent) = propagation::inject(span) {
        params.set_traceparent(&traceparent);
    }
}
