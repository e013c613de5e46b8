//! MCP calls seen from both sides: what the server's side of a call tells its client's.
//!
//! An MCP call traced in two processes is two spans: the client's (`mcp.client`, a `tools/call`
//! tool call or another MCP operation) and, under it once the trace context travelled in
//! `params._meta`, the server's (`mcp.server`). The client's span often lacks what the server's
//! knows: the server (the Python SDK's client spans carry no `server.address`, nor does a stdio
//! transport have one) and a tool's failure (a result with `isError` is a JSON-RPC success: the
//! SDK's client span stays OK, the server's says `error.type` `tool_error`). The rule, the same
//! for every instrumentation: **a client-side MCP span takes from the server-side span beneath
//! it the server's name when it names none, and the tool's failure (`tool_error`, with the
//! server's message) when it records none.** Beneath it: its child, or a descendant through at
//! most [`MAX_BETWEEN`] spans of no side (OpenLLMetry's client writes the request in a
//! transport span of its own, under which the server's response goes). Nothing else moves,
//! nothing is overwritten, and
//! the call stays one call (the client's: its latency is the caller's; the server's span keeps
//! its own time, an MCP operation of its own kind).
//!
//! A framework may report the call once more, around the MCP client's: its own `execute_tool`
//! span (an agent's tool that calls an MCP server). **A tool span of no MCP side with the
//! client side of a `tools/call` of the same tool beneath it (its child, or through at most
//! [`MAX_BETWEEN`] spans of no side) is the same call**: it becomes a step of kind `chain`,
//! marked [`agentrace::MCP_WRAPPER`], so that the call counts once, as the MCP client's tool
//! call (named by its server).
//!
//! [`crate::Ingestor::traces`] applies [`complete`] and [`unwrap`] to the spans of each
//! request; the server applies them to a stored trace whose pieces arrived in different
//! requests (each process exports its own), planning from [`SpanShape`]s with [`incomplete`].

use std::collections::HashMap;

use agentrace_core::normalize::{mark_mcp_wrapper, mcp_client_tool_call, wraps_mcp_call};
use agentrace_core::semconv::{agentrace, gen_ai, mcp};
use agentrace_core::{SpanId, SpanKind, SpanRecord, SpanStatus, TraceId};

use crate::shape::SpanShape;

pub use crate::mcp_side::{McpSide, side_of};
use crate::mcp_side::{reports_tool_error, text};

pub use agentrace_core::normalize::MCP_MAX_BETWEEN as MAX_BETWEEN;

/// The client side of the call whose server side is `server`: the nearest ancestor with a
/// side, through at most [`MAX_BETWEEN`] without one, if that ancestor is a client side.
fn caller(
    server: usize,
    parent_of: impl Fn(usize) -> Option<usize>,
    side_of: impl Fn(usize) -> Option<McpSide>,
) -> Option<usize> {
    let mut at = server;
    for _ in 0..=MAX_BETWEEN {
        at = parent_of(at).filter(|&p| p != server)?;
        match side_of(at) {
            Some(McpSide::Client { .. }) => return Some(at),
            Some(McpSide::Server { .. }) => return None,
            None => {}
        }
    }
    None
}

/// Whether the server's side `server` has something for its client's side `client`.
fn completes(client: McpSide, server: McpSide) -> bool {
    match (client, server) {
        (McpSide::Client { named, failed }, McpSide::Server { tool_error }) => {
            !named || (tool_error && !failed)
        }
        _ => false,
    }
}

/// The nearest ancestor of `inner` (through at most [`MAX_BETWEEN`] spans of no side) if it is
/// a tool span of no side: the framework's span around an MCP client's tool call.
fn wrapper(
    inner: usize,
    parent_of: impl Fn(usize) -> Option<usize>,
    plain_tool: impl Fn(usize) -> bool,
    side_of: impl Fn(usize) -> Option<McpSide>,
) -> Option<usize> {
    let mut at = inner;
    for _ in 0..=MAX_BETWEEN {
        at = parent_of(at).filter(|&p| p != inner)?;
        if plain_tool(at) {
            return Some(at);
        }
        if side_of(at).is_some() {
            return None;
        }
    }
    None
}

/// Whether [`complete`] or [`unwrap`] may change one of these spans (of one trace): what the
/// server plans from without reading the trace back (a wrapper's tool name is checked then).
pub fn incomplete(spans: &[SpanShape]) -> bool {
    let index: HashMap<SpanId, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    let parent_of = |i: usize| index.get(&spans[i].parent_span_id?).copied();
    let plain_tool = |i: usize| spans[i].tool && spans[i].mcp.is_none();
    spans.iter().enumerate().any(|(i, s)| match s.mcp {
        Some(server @ McpSide::Server { .. }) => caller(i, parent_of, |j| spans[j].mcp)
            .and_then(|c| spans[c].mcp)
            .is_some_and(|client| completes(client, server)),
        Some(McpSide::Client { .. }) if s.tool => {
            wrapper(i, parent_of, plain_tool, |j| spans[j].mcp).is_some()
        }
        _ => false,
    })
}

/// What [`complete`] and [`unwrap`] walk: each span's parent (as an index) and side.
struct Links {
    parents: Vec<Option<usize>>,
    sides: Vec<Option<McpSide>>,
}

impl Links {
    /// The links of `spans` (of any traces); `None` when no span is a side of an MCP call, as
    /// in most requests, which then cost a look at each span's attributes and nothing more.
    fn of(spans: &[SpanRecord]) -> Option<Self> {
        let sides: Vec<Option<McpSide>> = spans.iter().map(side_of).collect();
        if sides.iter().all(Option::is_none) {
            return None;
        }
        let index: HashMap<(TraceId, SpanId), usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| ((s.trace_id, s.span_id), i))
            .collect();
        let parents = spans
            .iter()
            .map(|s| index.get(&(s.trace_id, s.parent_span_id?)).copied())
            .collect();
        Some(Self { parents, sides })
    }
}

/// Re-kinds every framework tool span of `spans` wrapping an MCP client's call of the same
/// tool, as the module says; returns the spans changed, in input order.
pub fn unwrap(spans: &mut [SpanRecord]) -> Vec<SpanId> {
    let Some(Links { parents, sides }) = Links::of(spans) else {
        return Vec::new();
    };
    let parent_of = |i: usize| parents[i];
    let plain_tool = |i: usize| spans[i].kind == SpanKind::Tool && sides[i].is_none();
    let mut wrappers: Vec<usize> = (0..spans.len())
        .filter_map(|i| {
            let tool = mcp_client_tool_call(&spans[i])?;
            let w = wrapper(i, parent_of, plain_tool, |j| sides[j])?;
            wraps_mcp_call(&spans[w], tool).then_some(w)
        })
        .collect();
    wrappers.sort_unstable();
    wrappers.dedup();
    wrappers
        .into_iter()
        .map(|w| {
            mark_mcp_wrapper(&mut spans[w]);
            spans[w].span_id
        })
        .collect()
}

/// Completes every client-side MCP span of `spans` (of any traces) from the server-side span
/// beneath it, as the module says; returns the spans changed, in input order.
pub fn complete(spans: &mut [SpanRecord]) -> Vec<SpanId> {
    let Some(Links { parents, sides }) = Links::of(spans) else {
        return Vec::new();
    };
    let parent_of = |i: usize| parents[i];
    // (client, server) index pairs, by client.
    let mut pairs: Vec<(usize, usize)> = (0..spans.len())
        .filter(|&i| matches!(sides[i], Some(McpSide::Server { .. })))
        .filter_map(|i| Some((caller(i, parent_of, |j| sides[j])?, i)))
        .collect();
    pairs.sort_unstable();
    let mut changed = Vec::new();
    for (c, s) in pairs {
        let (Some(client), Some(server)) = (side_of(&spans[c]), side_of(&spans[s])) else {
            continue;
        };
        if !completes(client, server) {
            continue;
        }
        let (name, failure) = {
            let served = &spans[s];
            (
                text(served, agentrace::MCP_SERVER).map(str::to_owned),
                reports_tool_error(served).then(|| served.status.message.clone()),
            )
        };
        let call = &mut spans[c];
        if let (McpSide::Client { named: false, .. }, Some(name)) = (client, name) {
            call.attributes.insert(agentrace::MCP_SERVER, name);
        }
        if let (McpSide::Client { failed: false, .. }, Some(message)) = (client, failure) {
            call.status = SpanStatus::error(message.unwrap_or_else(|| mcp::TOOL_ERROR.to_owned()));
            call.attributes.insert(gen_ai::ERROR_TYPE, mcp::TOOL_ERROR);
        }
        changed.push(call.span_id);
    }
    changed
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use agentrace_core::{Resource, SpanKind};

    use super::*;
    use agentrace_core::{AttributeValue, StatusCode};

    fn span(id: u8, parent: Option<u8>, side: &str, service: &str) -> SpanRecord {
        let sid = |n: u8| SpanId::from_bytes([n; 8]);
        let mut s = SpanRecord::new(
            TraceId::from_bytes([7; 16]),
            sid(id),
            "tools/call forecast",
            10,
            20,
            Arc::new(Resource::new(service)),
        );
        s.parent_span_id = parent.map(sid);
        s.kind = SpanKind::Tool;
        s.attributes.insert(agentrace::MCP_SIDE, side.to_owned());
        s
    }

    fn server(id: u8, parent: u8) -> SpanRecord {
        let mut s = span(id, Some(parent), "server", "weather-mcp");
        s.kind = SpanKind::Mcp;
        s.attributes.insert(agentrace::MCP_SERVER, "weather-mcp");
        s
    }

    fn failed(mut s: SpanRecord) -> SpanRecord {
        s.status = SpanStatus::error("the weather service is down");
        s.attributes.insert(gen_ai::ERROR_TYPE, mcp::TOOL_ERROR);
        s
    }

    #[test]
    fn a_client_span_takes_its_servers_name_and_its_tools_failure() {
        let mut spans = vec![
            failed(server(2, 1)),
            span(1, None, "client", "agent"),
            span(3, None, "client", "agent"),
            server(4, 3),
        ];
        let shapes: Vec<SpanShape> = spans.iter().map(|s| SpanShape::of(s, 0)).collect();
        assert!(incomplete(&shapes));
        assert_eq!(
            complete(&mut spans),
            vec![SpanId::from_bytes([1; 8]), SpanId::from_bytes([3; 8])]
        );
        let call = &spans[1];
        assert_eq!(text(call, agentrace::MCP_SERVER), Some("weather-mcp"));
        assert_eq!(call.status.code, StatusCode::Error);
        assert_eq!(
            call.status.message.as_deref(),
            Some("the weather service is down")
        );
        assert_eq!(text(call, gen_ai::ERROR_TYPE), Some(mcp::TOOL_ERROR));
        assert_eq!(
            spans[2].status.code,
            StatusCode::Unset,
            "a success stays one"
        );
        assert_eq!(text(&spans[2], agentrace::MCP_SERVER), Some("weather-mcp"));
        let shapes: Vec<SpanShape> = spans.iter().map(|s| SpanShape::of(s, 0)).collect();
        assert!(!incomplete(&shapes), "done once");
        assert!(complete(&mut spans).is_empty());
    }

    #[test]
    fn what_the_client_says_is_never_overwritten() {
        let mut named = span(1, None, "client", "agent");
        named
            .attributes
            .insert(agentrace::MCP_SERVER, "localhost:8000");
        named.status = SpanStatus::error("timed out");
        let mut spans = vec![named, failed(server(2, 1))];
        assert!(complete(&mut spans).is_empty());
        assert_eq!(
            text(&spans[0], agentrace::MCP_SERVER),
            Some("localhost:8000")
        );
        assert_eq!(spans[0].status.message.as_deref(), Some("timed out"));
    }

    #[test]
    fn the_server_side_may_be_under_a_transport_span_of_the_client() {
        // OpenLLMetry: `outage.tool` → the client's `ResponseStreamWriter` → the server's.
        let mut writer = span(2, Some(1), "client", "agent");
        writer.attributes.remove(agentrace::MCP_SIDE);
        let mut spans = vec![span(1, None, "client", "agent"), writer, server(3, 2)];
        let shapes: Vec<SpanShape> = spans.iter().map(|s| SpanShape::of(s, 0)).collect();
        assert!(incomplete(&shapes));
        assert_eq!(complete(&mut spans), vec![SpanId::from_bytes([1; 8])]);
        // Not through more than MAX_BETWEEN spans, nor past another server side.
        let between = |id: u8, parent: u8| {
            let mut s = span(id, Some(parent), "client", "agent");
            s.attributes.remove(agentrace::MCP_SIDE);
            s
        };
        let mut far = vec![
            span(1, None, "client", "agent"),
            between(2, 1),
            between(3, 2),
            between(4, 3),
            server(5, 4),
        ];
        assert!(complete(&mut far).is_empty());
        let mut nested = vec![span(1, None, "client", "agent"), server(2, 1), server(3, 2)];
        assert_eq!(complete(&mut nested), vec![SpanId::from_bytes([1; 8])]);
    }

    #[test]
    fn a_frameworks_tool_span_around_an_mcp_clients_call_of_it_is_the_same_call() {
        let tool = |id: u8, parent: Option<u8>, name: &str| {
            let mut s = span(id, parent, "client", "agent");
            s.attributes.remove(agentrace::MCP_SIDE);
            s.tool_name = Some(name.into());
            s
        };
        let client = |id: u8, parent: u8, name: &str| {
            let mut s = span(id, Some(parent), "client", "agent");
            s.tool_name = Some(name.into());
            s
        };
        let mut spans = vec![
            tool(1, None, "forecast"),
            client(2, 1, "forecast"),
            tool(3, None, "search"),
            client(4, 3, "fetch"),
            tool(5, None, "local"),
        ];
        let shapes: Vec<SpanShape> = spans.iter().map(|s| SpanShape::of(s, 0)).collect();
        assert!(incomplete(&shapes));
        assert_eq!(unwrap(&mut spans), vec![SpanId::from_bytes([1; 8])]);
        assert_eq!(spans[0].kind, SpanKind::Chain);
        assert_eq!(
            spans[0].attributes.get(agentrace::MCP_WRAPPER),
            Some(&AttributeValue::Bool(true))
        );
        assert_eq!(
            spans[1].kind,
            SpanKind::Tool,
            "the MCP client's call stays the call"
        );
        assert_eq!(
            spans[2].kind,
            SpanKind::Tool,
            "another tool's call is its own"
        );
        assert_eq!(spans[4].kind, SpanKind::Tool);
        assert!(unwrap(&mut spans).is_empty(), "done once");
    }

    #[test]
    fn only_a_server_side_beneath_a_client_side_counts() {
        // A server span under a plain tool span, a client under a client, a lone server.
        let mut plain = span(1, None, "client", "agent");
        plain.attributes.remove(agentrace::MCP_SIDE);
        let mut spans = vec![
            plain,
            server(2, 1),
            span(3, None, "client", "agent"),
            span(4, Some(3), "client", "agent"),
            server(5, 9),
        ];
        let shapes: Vec<SpanShape> = spans.iter().map(|s| SpanShape::of(s, 0)).collect();
        assert!(!incomplete(&shapes));
        assert!(complete(&mut spans).is_empty());
    }
}
