//! The Model Context Protocol (docs/conventions.md, "MCP"): an agent's MCP client calls a method of an MCP
//! server in another process, and either side may report it.
//!
//! Recognized from every instrumentation that reports MCP, each written the conventions' way
//! (`mcp.method.name`, [`agentrace::MCP_SIDE`], [`agentrace::MCP_SERVER`]) so that what
//! follows reads one spelling:
//!
//! | emitter | its spans |
//! |---|---|
//! | OTel GenAI conventions (`mcp.client`, `mcp.server`), agentrace's `rmcp` adapter | `mcp.method.name`; the side from the span kind (`CLIENT`, `SERVER`) |
//! | the MCP Python SDK 2 | the same; its client spans are named `MCP send {method} {target}` |
//! | OpenLLMetry (`opentelemetry-instrumentation-mcp`) | `{tool}.tool` for a tool call, `{method}.mcp` for the other methods (the client's); on the server, only its transport's `ResponseStreamWriter` spans, the one writing a response (`mcp.response.value`) its side of the call |
//!
//! A `tools/call` is a tool call ([`SpanKind::Tool`], named by `gen_ai.tool.name` or the span
//! name's target); every other method is an MCP operation ([`SpanKind::Mcp`]). So is the server
//! side of a tool call whose caller was traced (it has a parent: the context travels in
//! `params._meta`): its caller reports the call, so that one call counts once in every total,
//! with the latency its caller saw; the server's own time stays on its span, under the
//! caller's. A server span without a parent is the only report of its call: a tool call.

use crate::model::{AttributeValue, SpanKind, SpanRecord, Text};
use crate::semconv::{agentrace, mcp, otel};

use super::text;

/// Which side reported an MCP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The caller (the agent's MCP client).
    Client,
    /// The MCP server's handler.
    Server,
}

impl Side {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

/// An MCP operation as one span reports it.
#[derive(Debug, PartialEq, Eq)]
struct Operation {
    method: String,
    side: Side,
    /// The tool or prompt the span's name gives after the method.
    target: Option<String>,
}

/// Recognizes `record` as an MCP operation, if it is one, and writes it the conventions' way.
pub(crate) fn apply(record: &mut SpanRecord) {
    let Some(op) = recognize(record) else {
        return;
    };
    if text(record, mcp::METHOD_NAME).is_none() && !op.method.is_empty() {
        record
            .attributes
            .insert(mcp::METHOD_NAME, AttributeValue::from(op.method.as_str()));
    }
    record
        .attributes
        .insert(agentrace::MCP_SIDE, AttributeValue::from(op.side.as_str()));
    if let Some(server) = server_of(record, op.side) {
        record
            .attributes
            .insert(agentrace::MCP_SERVER, AttributeValue::from(server));
    }
    if op.method == mcp::TOOLS_CALL {
        if record.operation.is_none() {
            record.operation = Some(Text::from("execute_tool"));
        }
        if record.tool_name.is_none() {
            record.tool_name = op.target.filter(|t| !t.is_empty()).map(Text::from);
        }
        let reported_by_its_caller = op.side == Side::Server && record.parent_span_id.is_some();
        record.kind = if reported_by_its_caller {
            SpanKind::Mcp
        } else {
            SpanKind::Tool
        };
    } else if !matches!(record.kind, SpanKind::Agent | SpanKind::Llm) {
        record.kind = SpanKind::Mcp;
    }
}

/// The MCP operation `record` reports, from whichever instrumentation reported it.
fn recognize(record: &SpanRecord) -> Option<Operation> {
    let name = record.name.as_str();
    if let Some(method) = text(record, mcp::METHOD_NAME).filter(|m| !m.is_empty()) {
        let (side, rest) = match name.strip_prefix(mcp::SDK_CLIENT_PREFIX) {
            Some(rest) => (Side::Client, rest),
            None => (side_of_kind(record), name),
        };
        let target = rest
            .strip_prefix(method)
            .and_then(|t| t.strip_prefix(' '))
            .map(|t| t.trim().to_owned());
        return Some(Operation {
            method: method.to_owned(),
            side,
            target,
        });
    }
    // OpenLLMetry's scope is its module's name: `opentelemetry.instrumentation.mcp[.…]`.
    let traceloop = record.scope.as_deref().is_some_and(|scope| {
        scope
            .strip_prefix(mcp::TRACELOOP_SCOPE)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    });
    if !traceloop {
        return None;
    }
    // A response written by the server's transport is the server's side of a call (which
    // method, it does not say).
    if name == mcp::TRACELOOP_WRITER && record.attributes.get(mcp::TRACELOOP_RESPONSE).is_some() {
        return Some(Operation {
            method: String::new(),
            side: Side::Server,
            target: None,
        });
    }
    // OpenLLMetry names a tool call `{tool}.tool` and another request `{method}.mcp`; its
    // other transport spans (the client's requests written, …) are no operation.
    if let Some(tool) = name.strip_suffix(".tool") {
        let tool = tool.strip_prefix(mcp::TOOLS_CALL).map_or(tool, |_| "");
        return Some(Operation {
            method: mcp::TOOLS_CALL.to_owned(),
            side: Side::Client,
            target: Some(tool.to_owned()),
        });
    }
    name.strip_suffix(".mcp")
        .filter(|method| !method.is_empty())
        .map(|method| Operation {
            method: method.to_owned(),
            side: Side::Client,
            target: None,
        })
}

/// The side by the OpenTelemetry span kind: a server span is the handler; any other (client,
/// or a kind left out) the caller.
fn side_of_kind(record: &SpanRecord) -> Side {
    match text(record, otel::KIND) {
        Some(kind) if kind.eq_ignore_ascii_case("server") => Side::Server,
        _ => Side::Client,
    }
}

/// The MCP server an operation went to: the server side is it (its service); the client side
/// names it by address when it has one (HTTP), and an instrumentation may name it outright.
fn server_of(record: &SpanRecord, side: Side) -> Option<String> {
    if let Some(named) = text(record, agentrace::MCP_SERVER).filter(|s| !s.is_empty()) {
        return Some(named.to_owned());
    }
    match side {
        Side::Server => Some(record.resource.service_name.to_string()),
        Side::Client => {
            let address = text(record, otel::SERVER_ADDRESS).filter(|a| !a.is_empty())?;
            Some(match record.attributes.get(otel::SERVER_PORT) {
                Some(port) => format!("{address}:{port}"),
                None => address.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::normalize::dialect::normalize_span;
    use crate::semconv::{gen_ai, traceloop};
    use crate::{Resource, SpanId, StatusCode, TraceId};

    /// A span named `name` of the service `service`, with `attributes`, under a parent if
    /// `parented`, normalized as OTLP ingest does.
    fn normalized(
        service: &str,
        name: &str,
        parented: bool,
        attributes: &[(&'static str, &str)],
    ) -> SpanRecord {
        let mut span = SpanRecord::new(
            TraceId::from_bytes([7; 16]),
            SpanId::from_bytes([2; 8]),
            name,
            0,
            10,
            Arc::new(Resource::new(service)),
        );
        if parented {
            span.parent_span_id = Some(SpanId::from_bytes([1; 8]));
        }
        for (key, value) in attributes {
            span.attributes.insert(*key, *value);
        }
        normalize_span(&mut span, None);
        span
    }

    fn attribute<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
        text(span, key)
    }

    #[test]
    fn a_conventions_tool_call_is_a_tool_call_on_the_client_and_an_mcp_operation_on_the_server() {
        let call = [
            (mcp::METHOD_NAME, "tools/call"),
            (gen_ai::OPERATION_NAME, "execute_tool"),
            (gen_ai::TOOL_NAME, "get-weather"),
            (mcp::JSONRPC_REQUEST_ID, "3"),
        ];
        let mut client_attributes = call.to_vec();
        client_attributes.extend([
            (otel::KIND, "client"),
            (otel::SERVER_ADDRESS, "weather.internal"),
        ]);
        let client = normalized("agent", "tools/call get-weather", true, &client_attributes);
        assert_eq!(client.kind, SpanKind::Tool);
        assert_eq!(client.tool_name.as_deref(), Some("get-weather"));
        assert_eq!(attribute(&client, agentrace::MCP_SIDE), Some("client"));
        assert_eq!(
            attribute(&client, agentrace::MCP_SERVER),
            Some("weather.internal")
        );

        let mut server_attributes = call.to_vec();
        server_attributes.push((otel::KIND, "server"));
        let server = normalized(
            "weather-mcp",
            "tools/call get-weather",
            true,
            &server_attributes,
        );
        assert_eq!(server.kind, SpanKind::Mcp, "its caller reports the call");
        assert_eq!(server.tool_name.as_deref(), Some("get-weather"));
        assert_eq!(attribute(&server, agentrace::MCP_SIDE), Some("server"));
        assert_eq!(
            attribute(&server, agentrace::MCP_SERVER),
            Some("weather-mcp")
        );

        let alone = normalized(
            "weather-mcp",
            "tools/call get-weather",
            false,
            &server_attributes,
        );
        assert_eq!(
            alone.kind,
            SpanKind::Tool,
            "no caller was traced: the only report"
        );
    }

    #[test]
    fn the_tool_comes_from_the_span_name_when_the_attribute_is_left_out() {
        let server = normalized(
            "files-mcp",
            "tools/call read_file",
            false,
            &[(mcp::METHOD_NAME, "tools/call"), (otel::KIND, "server")],
        );
        assert_eq!(server.tool_name.as_deref(), Some("read_file"));
        assert_eq!(server.operation.as_deref(), Some("execute_tool"));
        // The MCP Python SDK 2's client spans.
        let client = normalized(
            "agent",
            "MCP send tools/call read_file",
            true,
            &[
                (mcp::METHOD_NAME, "tools/call"),
                (otel::KIND, "client"),
                (mcp::JSONRPC_REQUEST_ID, "1"),
            ],
        );
        assert_eq!(client.kind, SpanKind::Tool);
        assert_eq!(client.tool_name.as_deref(), Some("read_file"));
        assert_eq!(attribute(&client, agentrace::MCP_SIDE), Some("client"));
        assert_eq!(attribute(&client, agentrace::MCP_SERVER), None);
    }

    #[test]
    fn other_methods_are_mcp_operations_of_their_own_kind() {
        for method in [
            "resources/read",
            "prompts/get",
            "tools/list",
            "initialize",
            "server/discover",
            "subscriptions/listen",
        ] {
            let span = normalized(
                "agent",
                method,
                true,
                &[(mcp::METHOD_NAME, method), (otel::KIND, "client")],
            );
            assert_eq!(span.kind, SpanKind::Mcp, "{method}");
            assert_eq!(span.tool_name, None, "{method}");
        }
    }

    #[test]
    fn a_tool_error_fails_the_call_and_says_so() {
        let span = normalized(
            "agent",
            "tools/call fail",
            true,
            &[
                (mcp::METHOD_NAME, "tools/call"),
                (otel::KIND, "client"),
                (gen_ai::ERROR_TYPE, mcp::TOOL_ERROR),
            ],
        );
        assert_eq!(span.status.code, StatusCode::Error);
        assert_eq!(attribute(&span, gen_ai::ERROR_TYPE), Some("tool_error"));
    }

    #[test]
    fn openllmetry_names_its_mcp_spans_by_tool_and_method() {
        let on = |service: &str, name: &str, attributes: &[(&'static str, &str)]| {
            let mut span = SpanRecord::new(
                TraceId::from_bytes([7; 16]),
                SpanId::from_bytes([2; 8]),
                name,
                0,
                10,
                Arc::new(Resource::new(service)),
            );
            // Its scope is its module's name.
            span.scope = Some(format!("{}.instrumentation", mcp::TRACELOOP_SCOPE).into());
            for (key, value) in attributes {
                span.attributes.insert(*key, *value);
            }
            normalize_span(&mut span, None);
            span
        };
        let scoped =
            |name: &str, attributes: &[(&'static str, &str)]| on("agent", name, attributes);
        let tool = scoped(
            "add.tool",
            &[
                (traceloop::SPAN_KIND, "tool"),
                (traceloop::ENTITY_NAME, "add"),
            ],
        );
        assert_eq!(tool.kind, SpanKind::Tool);
        assert_eq!(tool.tool_name.as_deref(), Some("add"));
        assert_eq!(attribute(&tool, mcp::METHOD_NAME), Some("tools/call"));
        assert_eq!(attribute(&tool, agentrace::MCP_SIDE), Some("client"));
        let list = scoped("tools/list.mcp", &[]);
        assert_eq!(list.kind, SpanKind::Mcp);
        assert_eq!(attribute(&list, mcp::METHOD_NAME), Some("tools/list"));
        let writer = scoped("ResponseStreamWriter", &[("mcp.request.id", "2")]);
        assert_eq!(writer.kind, SpanKind::Other);
        assert_eq!(attribute(&writer, mcp::METHOD_NAME), None);
        // The server's transport writing its response: the server's side of the call.
        let response = on(
            "weather-mcp",
            "ResponseStreamWriter",
            &[("mcp.request.id", "2"), (mcp::TRACELOOP_RESPONSE, "{}")],
        );
        assert_eq!(response.kind, SpanKind::Mcp);
        assert_eq!(attribute(&response, agentrace::MCP_SIDE), Some("server"));
        assert_eq!(
            attribute(&response, agentrace::MCP_SERVER),
            Some("weather-mcp")
        );
        assert_eq!(attribute(&response, mcp::METHOD_NAME), None);
        let elsewhere = {
            let mut s = SpanRecord::new(
                TraceId::from_bytes([7; 16]),
                SpanId::from_bytes([2; 8]),
                "add.tool",
                0,
                10,
                Arc::new(Resource::new("agent")),
            );
            s.scope = Some(format!("{}x", mcp::TRACELOOP_SCOPE).into());
            normalize_span(&mut s, None);
            s
        };
        assert_eq!(
            attribute(&elsewhere, agentrace::MCP_SIDE),
            None,
            "another scope"
        );
        // The same names from another scope are no MCP spans.
        let other = normalized("agent", "search.tool", true, &[]);
        assert_eq!(attribute(&other, mcp::METHOD_NAME), None);
    }
}
